//! Property tests of the event-stream decoder.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

#[path = "support/sse_reference.rs"]
mod sse_reference;

use fakegpt::decode::{Decoder, DeltaTracker};
use proptest::prelude::*;

/// One `next` event carrying `text`, as the upstream sends it.
fn event(text: &str, eol: &str) -> String {
    let payload = serde_json::json!({
        "message": {"id": "m", "author": {"role": "assistant"},
                    "content": {"content_type": "text", "parts": [text]},
                    "status": "in_progress", "end_turn": null,
                    "metadata": {"message_type": "next", "model_slug": "x"}},
        "conversation_id": "c", "error": null
    });
    format!("data: {payload}{eol}{eol}")
}

/// A body whose events grow `answer` by `step` characters at a time.
fn body(answer: &str, step: usize, crlf: bool, noise: bool) -> Vec<u8> {
    let eol = if crlf { "\r\n" } else { "\n" };
    let chars: Vec<char> = answer.chars().collect();
    let mut out = String::new();
    let mut n = 0;
    while n < chars.len() {
        n = (n + step).min(chars.len());
        if noise {
            out.push_str(&format!(": ping{eol}event: x{eol}data: not json{eol}{eol}"));
            out.push_str(&event("other", eol).replace("\"next\"", "\"variant\""));
        }
        out.push_str(&event(&chars[..n].iter().collect::<String>(), eol));
    }
    out.push_str(&format!("data: [DONE]{eol}{eol}"));
    out.into_bytes()
}

/// Feeds `bytes` cut at `cuts` and returns the deltas.
fn decode(bytes: &[u8], cuts: &[usize]) -> Result<Vec<String>, fakegpt::Error> {
    let mut decoder = Decoder::new(1 << 20);
    let mut at = 0;
    let mut deltas = Vec::new();
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort_unstable();
    points.push(bytes.len());
    for point in points {
        deltas.push(decoder.feed(&bytes[at..point])?);
        at = point;
    }
    deltas.push(decoder.finish()?);
    Ok(deltas.into_iter().filter(|d| !d.is_empty()).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_split_yields_the_answer(
        answer in "\\PC{1,60}|[\"\\\\\\n\\t é😀中]{1,40}",
        step in 1usize..8,
        crlf in any::<bool>(),
        noise in any::<bool>(),
        cuts in proptest::collection::vec(any::<usize>(), 0..40),
    ) {
        let bytes = body(&answer, step, crlf, noise);
        let whole = decode(&bytes, &[]).unwrap().concat();
        prop_assert_eq!(&whole, &answer);
        let split = decode(&bytes, &cuts).unwrap().concat();
        prop_assert_eq!(split, answer);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        cuts in proptest::collection::vec(any::<usize>(), 0..20),
    ) {
        let _ = decode(&bytes, &cuts);
    }

    #[test]
    fn arbitrary_data_lines_never_panic(
        lines in proptest::collection::vec("data: \\{\"message\": \\{\"content\": \\{\"parts\": \\[\"[^\"]{0,8}\"\\]\\}, \"metadata\": \\{\"message_type\": \"(next|x)\"\\}\\}\\}|data: .{0,20}|.{0,20}", 0..30),
        cuts in proptest::collection::vec(any::<usize>(), 0..20),
    ) {
        let bytes = lines.join("\n").into_bytes();
        let _ = decode(&bytes, &cuts);
    }

    #[test]
    fn prefix_extensions_concatenate_to_the_last_text(
        pieces in proptest::collection::vec("\\PC{0,6}", 1..20),
    ) {
        let mut tracker = DeltaTracker::new();
        let mut cumulative = String::new();
        let mut out = String::new();
        for piece in &pieces {
            cumulative.push_str(piece);
            tracker.push(&cumulative, &mut out);
        }
        prop_assert_eq!(out, cumulative);
    }

    #[test]
    fn divergent_revisions_yield_whole_character_suffixes(
        events in proptest::collection::vec("[aé😀b]{0,8}", 1..20),
    ) {
        let mut tracker = DeltaTracker::new();
        for text in &events {
            let mut delta = String::new();
            tracker.push(text, &mut delta);
            // What is yielded is always the tail of this event, starting on a
            // character boundary of it.
            prop_assert!(text.ends_with(&delta));
            prop_assert!(text.is_char_boundary(text.len() - delta.len()));
        }
    }
}

/// JSON string content as Python's `json.dumps` writes it (ASCII only).
fn python_escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// One event in one of several styles the upstream might use. `seq`
/// changes per event (as timestamps do); `decoy` is text put under other
/// `"parts"` keys, which must never be taken for the answer.
fn styled_event(
    text: &str,
    style: u8,
    message_type: &str,
    last: bool,
    seq: usize,
    decoy: &str,
) -> String {
    let status = if last {
        "finished_successfully"
    } else {
        "in_progress"
    };
    let text_json = serde_json::to_string(text).unwrap();
    let decoy_json = serde_json::to_string(decoy).unwrap();
    match style % 8 {
        // Compact, as serde writes it (the emulator).
        0 => serde_json::json!({
            "message": {"id": "m", "author": {"role": "assistant"},
                        "content": {"content_type": "text", "parts": [text]},
                        "status": status, "metadata": {"message_type": message_type}},
            "conversation_id": "c", "error": null
        })
        .to_string(),
        // Python's json.dumps: spaces, ASCII-only escapes.
        1 => format!(
            r#"{{"message": {{"id": "m", "content": {{"content_type": "text", "parts": ["{}"]}}, "status": "{status}", "metadata": {{"message_type": "{message_type}"}}}}, "error": null}}"#,
            python_escape(text)
        ),
        // Another key order: metadata before content.
        2 => format!(
            r#"{{"message":{{"metadata":{{"message_type":"{message_type}"}},"content":{{"parts":[{text_json}]}}}}}}"#,
        ),
        // A decoy "parts" in the metadata, before the content.
        3 => format!(
            r#"{{"message":{{"metadata":{{"message_type":"{message_type}","parts":[{decoy_json}]}},"content":{{"parts":[{text_json}]}}}}}}"#,
        ),
        // A decoy "parts" nested in the author, and the content's own parts
        // after its other fields.
        4 => format!(
            r#"{{"message":{{"author":{{"role":"assistant","metadata":{{"parts":[{decoy_json}]}}}},"content":{{"content_type":"text","parts":[{text_json}],"parts_count":1}},"metadata":{{"message_type":"{message_type}"}}}}}}"#,
        ),
        // A field that changes per event before the answer (a timestamp, as
        // real upstreams send), and another one after it.
        5 => format!(
            r#"{{"message":{{"id":"m","create_time":{}.{seq},"content":{{"content_type":"text","parts":[{text_json}]}},"status":"{status}","metadata":{{"message_type":"{message_type}","seq":{seq}}}}},"conversation_id":"c"}}"#,
            1_700_000_000 + seq
        ),
        // Timestamps that change per event, sometimes into numbers JSON
        // does not allow (which makes the event unreadable, as the full
        // parser says), sometimes into a literal.
        6 => {
            let created = match seq % 4 {
                0 => format!("{}.{seq}.{seq}", 1_700_000_000 + seq),
                1 => format!("0{seq}"),
                2 => "tru5".to_owned(),
                _ => format!("{}.{seq}e-{seq}", 1_700_000_000 + seq),
            };
            format!(
                r#"{{"message":{{"id":"m","create_time":{created},"content":{{"content_type":"text","parts":[{text_json}]}},"status":"{status}","metadata":{{"message_type":"{message_type}","n":-{seq}}}}},"conversation_id":"c"}}"#
            )
        }
        // The answer's parts holding more than one element, and a decoy in
        // a later, top-level "parts".
        _ => format!(
            r#"{{"message":{{"content":{{"parts":[{text_json},{decoy_json}]}},"metadata":{{"message_type":"{message_type}"}}}},"parts":[{decoy_json}]}}"#,
        ),
    }
}

/// The reference decoder: the full parser on every event, no fast path.
fn reference_deltas(body: &[u8]) -> String {
    let mut tracker = DeltaTracker::new();
    let mut out = String::new();
    for data in sse_reference::naive_events(body) {
        match fakegpt::decode::parse_payload(&data) {
            fakegpt::decode::Line::Done => break,
            fakegpt::decode::Line::Text(text) => tracker.push(&text, &mut out),
            fakegpt::decode::Line::Skip => {}
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The fast path never changes what comes out, whatever the event
    /// styles, revisions, repeats and noise.
    #[test]
    fn the_fast_path_matches_the_full_parser(
        steps in proptest::collection::vec((0u8..6, "[a-z é\"\\\\\\n😀中\t]{0,12}", 0u8..8), 1..25),
        decoy in "[a-z\"]{0,6}",
        cuts in proptest::collection::vec(any::<usize>(), 0..30),
    ) {
        let mut body = String::new();
        let mut text = String::new();
        for (i, (action, piece, style)) in steps.iter().enumerate() {
            // The decoy extends the answer so far, to tempt the fast path
            // into taking it for the answer.
            let decoy = format!("{text}{decoy}");
            match action {
                // Grow the answer (most events).
                0..=2 => text.push_str(piece),
                // Revise it.
                3 => text = format!("{piece}{}", text.chars().skip(1).collect::<String>()),
                // Repeat an older, shorter text.
                4 => {
                    let keep = text.chars().count() / 2;
                    let stale: String = text.chars().take(keep).collect();
                    body.push_str(&format!("data: {}\n\n", styled_event(&stale, *style, "next", false, i, &decoy)));
                    continue;
                }
                // Noise: another message type, a comment, junk.
                _ => {
                    body.push_str(&format!("data: {}\n\n: ping\n\ndata: {{junk\n\n", styled_event(piece, *style, "variant", false, i, &decoy)));
                    continue;
                }
            }
            let last = i + 1 == steps.len();
            body.push_str(&format!("data: {}\n\n", styled_event(&text, *style, "next", last, i, &decoy)));
        }
        body.push_str("data: [DONE]\n\n");
        let expected = reference_deltas(body.as_bytes());
        let got = match decode(body.as_bytes(), &cuts) {
            Ok(deltas) => deltas.concat(),
            Err(err) if err.kind() == fakegpt::ErrorKind::NoValidResponse => String::new(),
            Err(other) => panic!("{other}"),
        };
        prop_assert_eq!(got, expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A stream that only grows, with timestamps before and after the
    /// answer that change in every event, in any read sizes: the fast path
    /// reads the whole answer string once, then only what each event adds.
    #[test]
    fn changing_fields_around_the_answer_keep_the_fast_path(
        pieces in proptest::collection::vec("[a-z é\"\\\\\\n😀中\t]{1,12}", 2..30),
        cuts in proptest::collection::vec(any::<usize>(), 0..30),
    ) {
        let mut body = String::new();
        let mut text = String::new();
        for (i, piece) in pieces.iter().enumerate() {
            text.push_str(piece);
            // Long enough for the fast path, which skips tiny payloads.
            let padded = format!("{:>70}{text}", "");
            body.push_str(&format!("data: {}\n\n", styled_event(&padded, 5, "next", false, i, "")));
        }
        body.push_str("data: [DONE]\n\n");
        let bytes = body.as_bytes();
        let mut decoder = Decoder::new(1 << 20);
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        points.sort_unstable();
        points.push(bytes.len());
        let (mut at, mut got) = (0, String::new());
        for point in points {
            got.push_str(&decoder.feed(&bytes[at..point]).unwrap());
            at = point;
        }
        got.push_str(&decoder.finish().unwrap());
        prop_assert_eq!(got, format!("{:>70}{text}", ""));
        prop_assert_eq!(decoder.rescans(), 1);
    }
}
