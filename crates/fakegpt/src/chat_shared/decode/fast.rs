//! The fast path for cumulative events: most of each event repeats the
//! previous one, so only the part that is new is unescaped and copied.
//!
//! For an event whose answer string starts with the raw (still escaped)
//! bytes of the previous accepted event's string, one `memcmp` proves the
//! prefix unchanged; only the bytes after it are scanned, checked and
//! unescaped. The string is found where it was in the previous event when
//! the bytes before it are the same, else afresh (a timestamp, an id or a
//! key order that changes between events moves it, and must not cost a
//! rescan of the whole answer). The JSON around the string is checked by
//! parsing it with the string emptied (a few hundred bytes), or skipped
//! when it is byte for byte the previous event's, which was checked.
//! Anything unusual — a `parts` key before the answer's, revisions,
//! invalid escapes — makes [`Cumulative::handle`] answer `None`, and the
//! caller uses the full parser instead, so results never differ from it.

use std::borrow::Cow;

use memchr::memmem;

use super::delta::DeltaTracker;
use super::events::{parse_event, Line};
use crate::answer::FinishReason;

/// What the fast path remembers of the last event whose text is the
/// tracker's reference, in three parts so that an event which only adds
/// text costs a copy of what it adds, not of the whole event.
#[derive(Debug, Default)]
pub struct Cumulative {
    /// That event's bytes before its answer string's content.
    head: Vec<u8>,
    /// The answer string's content, still escaped.
    raw: Vec<u8>,
    /// The bytes after it, from the closing quote.
    tail: Vec<u8>,
    /// Whether the fields above hold such an event.
    known: bool,
    /// Why that event says the answer ended, if it does.
    finish: Option<FinishReason>,
    /// Events whose whole string was unescaped (not just what is new).
    rescans: u64,
}

impl Cumulative {
    /// How many events had their whole answer string unescaped, rather
    /// than only what they add: one per answer when all goes well.
    pub fn rescans(&self) -> u64 {
        self.rescans
    }

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
        // Where the answer string starts: as in the previous event when the
        // bytes before it are the same, else found afresh.
        let same_head = self.known && payload.starts_with(&self.head);
        let start = if same_head {
            self.head.len()
        } else {
            parts_string(payload)?
        };
        // Whether the string extends the previous one, raw byte for raw byte
        // (the previous string ends between escapes, so the rest starts
        // between escapes too).
        let extends = self.known && payload[start..].starts_with(&self.raw);
        let scan_from = if extends {
            start + self.raw.len()
        } else {
            start
        };
        let end = string_end(payload, scan_from)?;
        let same_tail = same_head && payload[end..] == self.tail[..];
        // Around the string, the event is the previous one's, or differs
        // from it only in numbers (timestamps): then it is as well formed,
        // and says what it said. Else the parser checks it.
        let finish = if same_tail
            || (self.known
                && numbers_differ_only(&self.head, &payload[..start], false)
                && numbers_differ_only(&self.tail, &payload[end..], true))
        {
            self.finish
        } else {
            skeleton_is_next(payload, start, end)?
        };
        if extends {
            let new = unescape(&payload[scan_from..end])?;
            if !new.is_empty() {
                tracker.extend(&new, out);
                if !same_head {
                    replace(&mut self.head, &payload[..start]);
                }
                self.raw.extend_from_slice(&payload[scan_from..end]);
                if !same_tail {
                    replace(&mut self.tail, &payload[end..]);
                }
                self.finish = finish;
            }
            return Some(finish);
        }
        let text = unescape(&payload[start..end])?;
        self.rescans += 1;
        tracker.push(&text, out);
        if tracker.reference() == text {
            replace(&mut self.head, &payload[..start]);
            replace(&mut self.raw, &payload[start..end]);
            replace(&mut self.tail, &payload[end..]);
            self.known = true;
            self.finish = finish;
        }
        Some(finish)
    }
}

fn replace(buffer: &mut Vec<u8>, bytes: &[u8]) {
    buffer.clear();
    buffer.extend_from_slice(bytes);
}

/// Whether `new` is `old` (JSON text that parsed, cut anywhere) with only
/// number tokens outside strings changed, each still a valid JSON number.
/// `in_string` says whether the text starts inside a string. Strings,
/// keys, literals and punctuation must be equal byte for byte, so the two
/// have the same structure and the same strings.
fn numbers_differ_only(old: &[u8], new: &[u8], mut in_string: bool) -> bool {
    let number = |b: u8| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E');
    let (mut i, mut j) = (0, 0);
    while i < old.len() && j < new.len() {
        let (a, b) = (old[i], new[j]);
        if in_string {
            if a != b {
                return false;
            }
            match a {
                b'\\' => {
                    // The escaped byte must be equal too.
                    if old.get(i + 1) != new.get(j + 1) {
                        return false;
                    }
                    i += 2;
                    j += 2;
                }
                b'"' => {
                    in_string = false;
                    i += 1;
                    j += 1;
                }
                _ => {
                    i += 1;
                    j += 1;
                }
            }
            continue;
        }
        let starts_number = |c: u8| c.is_ascii_digit() || c == b'-';
        if starts_number(a) && starts_number(b) {
            let run = |bytes: &[u8], from: usize| {
                from + bytes[from..].iter().take_while(|&&c| number(c)).count()
            };
            let (old_end, new_end) = (run(old, i), run(new, j));
            if old[i..old_end] != new[j..new_end] && !is_json_number(&new[j..new_end]) {
                return false;
            }
            i = old_end;
            j = new_end;
            continue;
        }
        if a != b {
            return false;
        }
        in_string = a == b'"';
        i += 1;
        j += 1;
    }
    i == old.len() && j == new.len()
}

/// JSON's number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn is_json_number(text: &[u8]) -> bool {
    let digits = |mut i: usize| {
        let from = i;
        while text.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        (i > from).then_some(i)
    };
    let mut i = usize::from(text.first() == Some(&b'-'));
    i = match text.get(i) {
        Some(b'0') => i + 1,
        Some(b'1'..=b'9') => match digits(i) {
            Some(end) => end,
            None => return false,
        },
        _ => return false,
    };
    if text.get(i) == Some(&b'.') {
        i = match digits(i + 1) {
            Some(end) => end,
            None => return false,
        };
    }
    if matches!(text.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(text.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        i = match digits(i) {
            Some(end) => end,
            None => return false,
        };
    }
    i == text.len()
}

/// Where the content of `"parts": ["…` starts, if the payload has it.
fn parts_string(payload: &[u8]) -> Option<usize> {
    static PARTS: std::sync::LazyLock<memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memmem::Finder::new(b"\"parts\""));
    let key = PARTS.find(payload)? + b"\"parts\"".len();
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
    fn only_valid_numbers_outside_strings_may_differ() {
        let old = br#"{"id":"m-1","t":1700000000.5,"n":-2,"ok":true,"s":"a\"1","parts":[""#;
        for new in [
            &br#"{"id":"m-1","t":1700000001.25,"n":-2,"ok":true,"s":"a\"1","parts":[""#[..],
            br#"{"id":"m-1","t":17e3,"n":0,"ok":true,"s":"a\"1","parts":[""#,
            br#"{"id":"m-1","t":-0.5E+2,"n":12,"ok":true,"s":"a\"1","parts":[""#,
        ] {
            assert!(
                numbers_differ_only(old, new, false),
                "{}",
                String::from_utf8_lossy(new)
            );
        }
        for new in [
            // A string, a key or a literal changed.
            &br#"{"id":"m-2","t":1700000000.5,"n":-2,"ok":true,"s":"a\"1","parts":[""#[..],
            br#"{"id":"m-1","u":1700000000.5,"n":-2,"ok":true,"s":"a\"1","parts":[""#,
            br#"{"id":"m-1","t":1700000000.5,"n":-2,"ok":fals,"s":"a\"1","parts":[""#,
            br#"{"id":"m-1","t":1700000000.5,"n":-2,"ok":tru5,"s":"a\"1","parts":[""#,
            br#"{"id":"m-1","t":1700000000.5,"n":-2,"ok":true,"s":"a\"2","parts":[""#,
            // Numbers JSON does not allow.
            br#"{"id":"m-1","t":1.2.3,"n":-2,"ok":true,"s":"a\"1","parts":[""#,
            br#"{"id":"m-1","t":01,"n":-2,"ok":true,"s":"a\"1","parts":[""#,
            br#"{"id":"m-1","t":1.,"n":-2,"ok":true,"s":"a\"1","parts":[""#,
            br#"{"id":"m-1","t":1e,"n":--2,"ok":true,"s":"a\"1","parts":[""#,
            // Longer or shorter.
            br#"{"id":"m-1","t":1700000000.5,"n":-2,"ok":true,"s":"a\"1","parts":["#,
        ] {
            assert!(
                !numbers_differ_only(old, new, false),
                "{}",
                String::from_utf8_lossy(new)
            );
        }
        // A tail starts inside the answer string, at its closing quote.
        assert!(numbers_differ_only(br#""],"x":1}"#, br#""],"x":22}"#, true));
        assert!(!numbers_differ_only(
            br#""],"x":"1"}"#,
            br#""],"x":"22"}"#,
            true
        ));
        for (text, valid) in [
            ("0", true),
            ("-0.0e-0", true),
            ("12", true),
            ("", false),
            ("-", false),
            ("1e+", false),
            ("+1", false),
        ] {
            assert_eq!(is_json_number(text.as_bytes()), valid, "{text}");
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
            // Written out by hand: `json!` would sort the keys and put the
            // timestamps after `content`, where they cost nothing.
            let body = format!(
                r#"{{"message": {{"id": "m-{i}", "author": {{"role": "assistant", "name": null}}, "create_time": {created}, "content": {{"content_type": "text", "parts": [{text}]}}, "status": "in_progress", "update_time": {updated}, "metadata": {{"message_type": "next", "finish_details": null}}}}, "conversation_id": "c", "error": null}}"#,
                created = 1_700_000_000.123_456 + i as f64 * 0.000_317,
                text = serde_json::Value::from(text),
                updated = 1_700_000_001.0 + i as f64,
            );
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
        // A timestamp before the string and one after it change in every
        // event; still only the first event's string is read whole.
        assert_eq!(fast.rescans(), 1);
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
