//! The event-stream decoder on arbitrary bytes cut at arbitrary places:
//! it must never panic, never grow past its bounds, and whatever it yields
//! must be text the stream carried.
#![no_main]

use fakegpt::decode::Decoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte chooses the chunk size; the rest is the body.
    let Some((&cut, body)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(cut % 64) + 1;
    let mut decoder = Decoder::new(4096).with_max_answer(8192);
    let mut text = String::new();
    for piece in body.chunks(chunk) {
        match decoder.feed(piece) {
            Ok(delta) => text.push_str(&delta),
            Err(_) => return,
        }
    }
    if let Ok(delta) = decoder.finish() {
        text.push_str(&delta);
    }
    assert!(text.len() <= 8192);
});
