//! The fast path for cumulative events: most of each event repeats the
//! previous one, so only the part that is new is unescaped and copied.
//!
//! For an event whose answer string starts with the raw (still escaped)
//! bytes of the previous accepted event's string, one `memcmp` proves the
//! prefix unchanged; only the bytes after it are scanned, checked and
//! unescaped. The JSON around the string is checked by parsing it with the
//! string emptied (a few hundred bytes), or skipped when it is byte for
//! byte the previous event's, which was checked. Anything unusual — other
//! key orders, revisions, invalid escapes — makes [`Cumulative::handle`]
//! answer `false`, and the caller uses the full parser instead, so results
//! never differ from it.

use std::borrow::Cow;

use memchr::memmem;

use super::delta::DeltaTracker;
use super::events::{parse_event, Line};
use crate::answer::FinishReason;

/// What the fast path remembers of the last event whose text is the
/// tracker's reference.
#[derive(Debug, Default)]
pub struct Cumulative {
    /// That event's `data:` payload.
    prev: Vec<u8>,
    /// Where its answer string's content starts and ends in `prev`.
    raw: (usize, usize),
    /// Whether `prev` holds such an event.
    known: bool,
    /// Why that event says the answer ended, if it does.
    finish: Option<FinishReason>,
}

impl Cumulative {
    /// Forgets the previous event (after the full parser took over).
    pub fn forget(&mut self) {
        self.known = false;
    }

    /// Handles one `data:` payload if it can: appends the new text to `out`
    /// and updates `tracker`, as the full parser followed by
    /// [`DeltaTracker::push`] would, and returns the event's finish reason
    /// (`Some(None)` when it gives none). Returns `None` to leave the
    /// payload to the full parser.
    pub fn handle(
        &mut self,
        payload: &[u8],
        tracker: &mut DeltaTracker,
        out: &mut String,
    ) -> Option<Option<FinishReason>> {
        let (prev_start, prev_end) = self.raw;
        // Where the answer string starts: as in the previous event when the
        // bytes before it are the same, else found afresh.
        let same_head = self.known
            && payload.len() > prev_start
            && payload[..prev_start] == self.prev[..prev_start];
        let start = if same_head {
            prev_start
        } else {
            parts_string(payload)?
        };
        // Whether the string extends the previous one, raw byte for raw byte.
        let prev_raw = &self.prev[prev_start..prev_end];
        let extends = same_head && payload[start..].starts_with(prev_raw);
        let scan_from = if extends {
            start + prev_raw.len()
        } else {
            start
        };
        let end = string_end(payload, scan_from)?;
        let same_tail = same_head && payload[end..] == self.prev[prev_end..];
        let finish = if same_tail {
            self.finish
        } else {
            skeleton_is_next(payload, start, end)?
        };
        if extends {
            let new = unescape(&payload[scan_from..end])?;
            if !new.is_empty() {
                tracker.extend(&new, out);
                self.remember(payload, start, end, finish);
            }
            return Some(finish);
        }
        let text = unescape(&payload[start..end])?;
        tracker.push(&text, out);
        if tracker.reference() == text {
            self.remember(payload, start, end, finish);
        }
        Some(finish)
    }

    fn remember(&mut self, payload: &[u8], start: usize, end: usize, finish: Option<FinishReason>) {
        self.prev.clear();
        self.prev.extend_from_slice(payload);
        self.raw = (start, end);
        self.known = true;
        self.finish = finish;
    }
}

/// Where the content of `"parts": ["…` starts, if the payload has it.
fn parts_string(payload: &[u8]) -> Option<usize> {
    let key = memmem::find(payload, b"\"parts\"")? + b"\"parts\"".len();
    let mut i = skip_ws(payload, key);
    (payload.get(i) == Some(&b':')).then_some(())?;
    i = skip_ws(payload, i + 1);
    (payload.get(i) == Some(&b'[')).then_some(())?;
    i = skip_ws(payload, i + 1);
    (payload.get(i) == Some(&b'"')).then_some(i + 1)
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while bytes
        .get(i)
        .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
    {
        i += 1;
    }
    i
}

/// The index of the quote closing a JSON string whose content continues
/// at `from` (a point between escapes).
fn string_end(bytes: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let at = from + memchr::memchr2(b'"', b'\\', bytes.get(from..)?)?;
        if bytes[at] == b'"' {
            return Some(at);
        }
        from = at + 2;
    }
}

/// Whether the payload with the string at `start..end` emptied is a
/// well-formed `next` event whose first part is that very string; if so,
/// the event's finish reason.
///
/// Emptying is not enough: another `"parts"` key (say in the metadata) may
/// hold the string found, while the answer's own first part is already
/// empty. So the full parser must also place the answer's first part at
/// `start`: an empty string is always borrowed from the input, and its
/// address says where it is. (An owned string, if the parser ever made
/// one, declines the fast path.)
fn skeleton_is_next(payload: &[u8], start: usize, end: usize) -> Option<Option<FinishReason>> {
    let mut skeleton = Vec::with_capacity(start + payload.len() - end);
    skeleton.extend_from_slice(&payload[..start]);
    skeleton.extend_from_slice(&payload[end..]);
    let at = skeleton.as_ptr().wrapping_add(start);
    match parse_event(&skeleton) {
        (Line::Text(Cow::Borrowed(text)), finish)
            if text.is_empty() && std::ptr::eq(text.as_ptr(), at) =>
        {
            Some(finish)
        }
        _ => None,
    }
}

/// The text of raw JSON string content, or `None` if it is not valid JSON
/// string content (bad escape, raw control character, bad UTF-8).
pub fn unescape(raw: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(raw).ok()?;
    if !raw.contains(&b'\\') {
        return (!raw.iter().any(|b| *b < 0x20)).then(|| text.to_owned());
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        let plain = &rest[..at];
        if plain.bytes().any(|b| b < 0x20) {
            return None;
        }
        out.push_str(plain);
        // Every valid escape is one ASCII byte after the backslash; checking
        // that first keeps the slice below on a character boundary.
        let escape = rest.as_bytes().get(at + 1).filter(|b| b.is_ascii())?;
        rest = &rest[at + 2..];
        match escape {
            b'"' => out.push('"'),
            b'\\' => out.push('\\'),
            b'/' => out.push('/'),
            b'b' => out.push('\u{8}'),
            b'f' => out.push('\u{c}'),
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'u' => {
                let (c, used) = unicode_escape(rest)?;
                out.push(c);
                rest = &rest[used..];
            }
            _ => return None,
        }
    }
    if rest.bytes().any(|b| b < 0x20) {
        return None;
    }
    out.push_str(rest);
    Some(out)
}

/// Decodes the `XXXX` after `\u` (and a low surrogate's `\uXXXX` after a
/// high one); returns the character and the bytes used.
fn unicode_escape(rest: &str) -> Option<(char, usize)> {
    let hex = |s: &str| -> Option<u32> {
        u32::from_str_radix(s.get(..4)?, 16)
            .ok()
            .filter(|_| s.is_char_boundary(4))
    };
    let first = hex(rest)?;
    match first {
        0xD800..=0xDBFF => {
            let low = rest.get(4..)?.strip_prefix("\\u").and_then(hex)?;
            if !(0xDC00..=0xDFFF).contains(&low) {
                return None;
            }
            let c = char::from_u32(0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00))?;
            Some((c, 10))
        }
        0xDC00..=0xDFFF => None,
        _ => Some((char::from_u32(first)?, 4)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat_shared::decode::events::parse_payload;

    #[test]
    fn unescape_matches_serde() {
        for raw in [
            r#"plain"#,
            r#"q \" b \\ s \/ \b\f\n\r\t"#,
            r#"\u00e9 \ud83d\ude00 \u4f60"#,
            "raw é 😀",
        ] {
            let expected: String = serde_json::from_str(&format!("\"{raw}\"")).unwrap();
            assert_eq!(
                unescape(raw.as_bytes()).as_deref(),
                Some(expected.as_str()),
                "{raw}"
            );
        }
        for bad in [
            "\\é",
            r#"\x"#,
            r#"\u12"#,
            r#"\ud83d"#,
            r#"\udc00"#,
            "tab\there",
            r#"end\"#,
        ] {
            assert_eq!(unescape(bad.as_bytes()), None, "{bad:?}");
            assert!(
                serde_json::from_str::<String>(&format!("\"{bad}\"")).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn strings_end_at_the_first_unescaped_quote() {
        let bytes = br#"ab\"c\\" rest"#;
        assert_eq!(string_end(bytes, 0), Some(7));
        assert_eq!(string_end(br#"abc\"#, 0), None);
    }

    /// Every `next` payload of `bodies` through the decoder (fast path
    /// first) and through the full parser alone.
    fn both_ways(bodies: &[&str]) -> (String, String) {
        let (mut fast, mut full) = (Cumulative::default(), DeltaTracker::new());
        let mut tracker = DeltaTracker::new();
        let (mut got, mut expected) = (String::new(), String::new());
        for body in bodies {
            if fast
                .handle(body.as_bytes(), &mut tracker, &mut got)
                .is_none()
            {
                if let Line::Text(text) = parse_payload(body.as_bytes()) {
                    tracker.push(&text, &mut got);
                }
                fast.forget();
            }
            if let Line::Text(text) = parse_payload(body.as_bytes()) {
                full.push(&text, &mut expected);
            }
        }
        (got, expected)
    }

    /// The fast path is an optimisation nobody would notice losing, since
    /// the full parser gives the same text: so check that it does apply to
    /// a stream as the upstream sends it (fields that change per event, an
    /// escaped answer, key orders serde sorts).
    #[test]
    fn the_fast_path_takes_a_realistic_stream() {
        let answer = "Привет, \"мир\" \\ 👋 tab\tend. ".repeat(8);
        let chars: Vec<char> = answer.chars().collect();
        let (mut fast, mut tracker, mut out) =
            (Cumulative::default(), DeltaTracker::new(), String::new());
        let mut taken = 0;
        let mut events = 0;
        for (i, n) in (3..=chars.len()).step_by(3).enumerate() {
            let text: String = chars[..n].iter().collect();
            let body = serde_json::json!({
                "message": {
                    "id": "m", "author": {"role": "assistant", "name": null},
                    "create_time": 1_700_000_000.0 + i as f64,
                    "content": {"content_type": "text", "parts": [text]},
                    "status": "in_progress",
                    "metadata": {"message_type": "next", "finish_details": null}
                },
                "conversation_id": "c", "error": null
            })
            .to_string();
            events += 1;
            if fast
                .handle(body.as_bytes(), &mut tracker, &mut out)
                .is_some()
            {
                taken += 1;
            } else {
                let Line::Text(text) = parse_payload(body.as_bytes()) else {
                    panic!("not an answer event: {body}");
                };
                tracker.push(&text, &mut out);
                fast.forget();
            }
        }
        assert_eq!(out, chars[..chars.len() / 3 * 3].iter().collect::<String>());
        assert_eq!(
            taken,
            events,
            "the fast path declined {} of {events} events",
            events - taken
        );
    }

    #[test]
    fn a_parts_key_outside_the_content_is_not_the_answer() {
        let decoy = r#"{"message":{"metadata":{"message_type":"next","parts":["X"]},"content":{"parts":[""]}}}"#;
        let (got, expected) = both_ways(&[decoy]);
        assert_eq!((got.as_str(), expected.as_str()), ("", ""));
        // Also when the decoy follows a real event the fast path remembered.
        let real = r#"{"message":{"metadata":{"message_type":"next","parts":["X"]},"content":{"parts":["Hello"]}}}"#;
        let grown = r#"{"message":{"metadata":{"message_type":"next","parts":["XY"]},"content":{"parts":["Hello"]}}}"#;
        let (got, expected) = both_ways(&[real, grown, decoy]);
        assert_eq!(got, expected);
        assert_eq!(got, "Hello");
    }

    #[test]
    fn the_parts_string_is_found_with_or_without_spaces() {
        let compact = br#"{"message":{"content":{"content_type":"text","parts":["hi"]}}}"#;
        assert_eq!(&compact[parts_string(compact).unwrap()..][..2], b"hi");
        let spaced = br#"{"message": {"content": {"parts" : [ "hi"]}}}"#;
        assert_eq!(&spaced[parts_string(spaced).unwrap()..][..2], b"hi");
        assert_eq!(parts_string(br#"{"parts": [1]}"#), None);
    }
}
