//! The decoder (its event splitter and fast path) against a plain reading
//! of the events and the full parser alone, on arbitrary event bytes cut
//! at arbitrary places: both must yield the same text. The seed corpus holds realistic cumulative streams, so mutations
//! stay close to what the fast path sees.
#![no_main]

use fakegpt::decode::{parse_payload, Decoder, DeltaTracker, Line};
use libfuzzer_sys::fuzz_target;

#[path = "../../crates/fakegpt/tests/support/sse_reference.rs"]
mod sse_reference;

/// The reference: each event through the full parser, no fast path.
fn reference(body: &[u8]) -> String {
    let mut tracker = DeltaTracker::new();
    let mut out = String::new();
    for data in sse_reference::naive_events(body) {
        match parse_payload(&data) {
            Line::Done => break,
            Line::Text(text) => tracker.push(&text, &mut out),
            Line::Skip => {}
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    // The first byte chooses the chunk size; the rest is the body.
    let Some((&cut, body)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(cut % 64) + 1;
    let mut decoder = Decoder::new(1 << 20).with_max_answer(1 << 20);
    let mut text = String::new();
    for piece in body.chunks(chunk) {
        match decoder.feed(piece) {
            Ok(delta) => text.push_str(&delta),
            Err(_) => return,
        }
        if decoder.is_done() {
            break;
        }
    }
    if let Ok(delta) = decoder.finish() {
        text.push_str(&delta);
    }
    assert_eq!(text, reference(body));
});
