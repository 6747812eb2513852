//! What the gateway's integration tests share.

use fakegpt::sse::EventSplitter;

/// The data of every event of an event-stream body, read with the same
/// server-sent events parser as the library's (which follows the standard,
/// so a body that only looks right, say events without the blank line,
/// does not pass).
pub fn sse_data(body: &str) -> Vec<String> {
    let mut splitter = EventSplitter::new(1 << 20);
    let mut data = Vec::new();
    let mut push = |event: fakegpt::sse::Event<'_>| {
        data.push(String::from_utf8(event.data.to_vec()).expect("UTF-8 event data"));
        true
    };
    splitter
        .feed(body.as_bytes(), &mut push)
        .expect("events of sane size");
    splitter.finish(&mut push).expect("events of sane size");
    data
}
