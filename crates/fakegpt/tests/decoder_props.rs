//! Property tests of the event-stream decoder.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

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
