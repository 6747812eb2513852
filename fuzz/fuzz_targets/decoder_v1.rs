//! The delta-encoded ("v1") decoder on arbitrary frames cut at arbitrary
//! places: it must never panic, never grow past its bounds, and the text
//! it yields must not depend on where the bytes were cut.
#![no_main]

use fakegpt::decode::Decoder;
use libfuzzer_sys::fuzz_target;

const HEADER: &[u8] = b"event: delta_encoding\ndata: \"v1\"\n\n";
const MAX_ANSWER: usize = 8192;

/// The text and reasoning `body` decodes to, fed `chunk` bytes at a time;
/// `None` when the stream fails.
fn decode(body: &[u8], chunk: usize) -> Option<(String, String)> {
    let mut decoder = Decoder::new(4096).with_max_answer(MAX_ANSWER);
    let (mut text, mut reasoning) = (String::new(), String::new());
    for piece in [HEADER, body].concat().chunks(chunk) {
        text.push_str(&decoder.feed(piece).ok()?);
        reasoning.push_str(&decoder.take_reasoning());
        assert!(text.len() <= MAX_ANSWER && reasoning.len() <= MAX_ANSWER);
    }
    let last = decoder.finish();
    reasoning.push_str(&decoder.take_reasoning());
    text.push_str(&last.ok()?);
    Some((text, reasoning))
}

fuzz_target!(|data: &[u8]| {
    // The first byte chooses the chunk size; the rest is the body.
    let Some((&cut, body)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(cut % 64) + 1;
    let whole = decode(body, usize::MAX);
    let cut = decode(body, chunk);
    if let (Some(whole), Some(cut)) = (whole, cut) {
        assert_eq!(whole, cut);
    }
});
