//! A reader for the flat frames most of a delta-encoded answer is made of
//! (`{"v": "more text"}`, `{"p": "/message/content/parts/0", "o":
//! "append", "v": "text"}`, `{"v": "text", "c": 2}`), without the JSON
//! parser: a frame of a few bytes costs a scan, not a parse.
//!
//! It reads a frame only when it is sure to read what the parser would;
//! anything else (other members, nested values, escapes, `null`, numbers
//! that are not small whole ones, a member given twice, malformed JSON) is
//! left to the parser.

/// A frame whose members are all plain: `p`, `o` and `v` strings without
/// escapes, `c` a whole number.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Flat<'a> {
    /// The path.
    pub p: Option<&'a str>,
    /// The operation.
    pub o: Option<&'a str>,
    /// The value, a string.
    pub v: Option<&'a str>,
    /// The message document.
    pub c: Option<u64>,
}

/// Reads `data` as a flat frame, or `None` to leave it to the parser.
pub fn read(data: &[u8]) -> Option<Flat<'_>> {
    let mut frame = Flat::default();
    let mut rest = skip_ws(skip_ws(data).strip_prefix(b"{")?);
    loop {
        let (key, after) = raw_string(rest)?;
        rest = skip_ws(skip_ws(after).strip_prefix(b":")?);
        if key == b"c" {
            let (n, after) = number(rest)?;
            if frame.c.replace(n).is_some() {
                return None;
            }
            rest = after;
        } else {
            let slot = match key {
                b"p" => &mut frame.p,
                b"o" => &mut frame.o,
                b"v" => &mut frame.v,
                _ => return None,
            };
            let (text, after) = string(rest)?;
            if slot.replace(text).is_some() {
                return None;
            }
            rest = after;
        }
        rest = skip_ws(rest);
        match rest.split_first()? {
            (b',', after) => rest = skip_ws(after),
            (b'}', after) => {
                rest = after;
                break;
            }
            _ => return None,
        }
    }
    skip_ws(rest).is_empty().then_some(frame)
}

/// A string without escapes or control characters at the start of
/// `bytes`, and what follows it.
fn string(bytes: &[u8]) -> Option<(&str, &[u8])> {
    let (raw, after) = raw_string(bytes)?;
    Some((std::str::from_utf8(raw).ok()?, after))
}

/// The bytes of a string without escapes or control characters at the
/// start of `bytes` (not yet checked to be UTF-8: a key is only compared
/// with ASCII names), and what follows it.
fn raw_string(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let raw = bytes.strip_prefix(b"\"")?;
    let end = memchr::memchr2(b'"', b'\\', raw)?;
    if raw[end] != b'"' || raw[..end].iter().any(|&b| b < 0x20) {
        return None;
    }
    Some((&raw[..end], &raw[end + 1..]))
}

/// A whole number (JSON's grammar: no sign, no leading zero) that fits a
/// `u64`, and what follows it.
fn number(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || (digits > 1 && bytes[0] == b'0') {
        return None;
    }
    if matches!(bytes.get(digits), Some(b'.' | b'e' | b'E')) {
        return None;
    }
    let n = std::str::from_utf8(&bytes[..digits]).ok()?.parse().ok()?;
    Some((n, &bytes[digits..]))
}

fn skip_ws(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the JSON parser reads from `data` as a frame of plain members,
    /// if it reads one.
    fn parsed(data: &[u8]) -> Option<Flat<'static>> {
        #[derive(serde::Deserialize)]
        struct Frame {
            p: Option<String>,
            o: Option<String>,
            v: Option<serde_json::Value>,
            c: Option<u64>,
        }
        let frame: Frame = serde_json::from_slice(data).ok()?;
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        let v = match frame.v {
            None => None,
            Some(serde_json::Value::String(s)) => Some(leak(s)),
            Some(_) => return None,
        };
        Some(Flat {
            p: frame.p.map(leak),
            o: frame.o.map(leak),
            v,
            c: frame.c,
        })
    }

    #[test]
    fn plain_frames_are_read_and_the_rest_left_to_the_parser() {
        let read_as = |data: &[u8], p, o, v, c| {
            assert_eq!(
                read(data),
                Some(Flat { p, o, v, c }),
                "{}",
                String::from_utf8_lossy(data)
            );
        };
        read_as(br#"{"v":"abc"}"#, None, None, Some("abc"), None);
        read_as(
            r#" { "v" : "é 👋" } "#.as_bytes(),
            None,
            None,
            Some("é 👋"),
            None,
        );
        read_as(br#"{"v":""}"#, None, None, Some(""), None);
        read_as(br#"{"v":"abc","c":12}"#, None, None, Some("abc"), Some(12));
        read_as(
            br#"{"c":0,"o":"append","p":"/message/content/parts/0","v":"x"}"#,
            Some("/message/content/parts/0"),
            Some("append"),
            Some("x"),
            Some(0),
        );
        for declined in [
            &br#"{"v":"a\"b"}"#[..],
            br#"{"v":"a\nb"}"#,
            br#"{"v":["abc"]}"#,
            br#"{"v":{"a":1}}"#,
            br#"{"v":null}"#,
            br#"{"v":"abc"}x"#,
            br#"{"v":"a","v":"b"}"#,
            br#"{"v":"a","x":"b"}"#,
            br#"{"\u0076":"a"}"#,
            br#"{"v":"a","c":01}"#,
            br#"{"v":"a","c":1.0}"#,
            br#"{"v":"a","c":-1}"#,
            br#"{"v":"a","c":99999999999999999999}"#,
            br#"{"v":"a",}"#,
            br#"{}"#,
            br#"{"v" "a"}"#,
            b"{\"v\":\"tab\there\"}",
            b"{\"v\":\"\xff\"}",
        ] {
            assert_eq!(
                read(declined),
                None,
                "{}",
                String::from_utf8_lossy(declined)
            );
        }
    }

    /// Bytes that look like frames: members from a small alphabet of
    /// names and values, some malformed.
    fn framelike() -> impl Strategy<Value = Vec<u8>> {
        let name = prop::sample::select(vec!["p", "o", "v", "c", "x", "\\u0076"]);
        let value = prop::sample::select(vec![
            "\"a\"",
            "\"/message/content/parts/0\"",
            "\"append\"",
            "\"é👋\"",
            "\"\"",
            "\"a\\\"b\"",
            "0",
            "7",
            "01",
            "-1",
            "1.5",
            "1e3",
            "null",
            "[\"a\"]",
            "{}",
            "18446744073709551616",
        ]);
        let ws = prop::sample::select(vec!["", " ", "\t", "\r\n"]);
        let member = (name, ws.clone(), value, ws.clone())
            .prop_map(|(n, w1, v, w2)| format!("\"{n}\"{w1}:{w2}{v}"));
        (prop::collection::vec(member, 0..5), ws, any::<bool>()).prop_map(|(members, w, broken)| {
            let mut text = format!("{{{w}{}}}", members.join(","));
            if broken {
                text.pop();
            }
            text.into_bytes()
        })
    }

    proptest! {
        #[test]
        fn what_it_reads_the_parser_reads_alike(data in framelike()) {
            if let Some(flat) = read(&data) {
                prop_assert_eq!(Some(flat), parsed(&data));
            }
        }
    }
}
