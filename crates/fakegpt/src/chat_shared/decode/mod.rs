//! The event-stream decoder: bytes in arbitrary chunks → server-sent events
//! → their `data:` payloads → the new answer text (and, apart, reasoning).
//!
//! Both dialects are recognised from the stream itself, whatever the
//! request asked: the legacy one (each event repeats the whole answer so
//! far; [`DeltaTracker`] and the `fast` path turn it into new text) and
//! the delta-encoded one (`v1`), which announces itself with `event:
//! delta_encoding` (or, failing that, starts with `delta` frames). Errors the
//! upstream reports inside the stream (`failure`) end it with a typed
//! error.
//!
//! [`Decoder`] is plain synchronous state that knows nothing of HTTP;
//! [`decode`] wraps it as a `Stream` adapter over any stream of byte chunks.

mod delta;
mod events;
mod failure;
mod fast;
mod stream;
mod v1;

use bytes::Bytes;
use futures_util::Stream;

pub use delta::DeltaTracker;
pub use events::{parse_payload, Ids, Line};

use super::step::Step;
use crate::answer::{Chunk, FinishReason};
use crate::error::{Error, ErrorKind};
use crate::sse::{EventSplitter, TooLong};

/// The default bound on one event: 16 MiB, far above any real event
/// (a 100,000-character answer is about 500 KB of JSON).
pub const DEFAULT_MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// The default bound on one answer: 4 MiB of text.
pub const DEFAULT_MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// Incremental decoder of the conversation event stream.
#[derive(Debug)]
pub struct Decoder {
    events: EventSplitter,
    state: State,
}

/// Everything but the event splitter, so that its callback can borrow it.
#[derive(Debug)]
struct State {
    tracker: DeltaTracker,
    fast: fast::Cumulative,
    /// The delta-encoded turn, once the stream said it is one.
    v1: Option<Box<v1::Turn>>,
    done: bool,
    max_answer: usize,
    finish: Option<FinishReason>,
    /// Reasoning decoded and not yet taken.
    reasoning: String,
    /// An error the stream reported, or a bound it broke.
    failed: Option<Error>,
    /// Whether that error is a broken bound, which takes back the text of
    /// the chunk it came in (rather than handing it out first).
    over_limit: bool,
    /// Where a legacy answer lives, read from its first text event.
    ids: Option<events::Ids>,
}

impl Decoder {
    /// A decoder that refuses events longer than `max_event` bytes.
    pub fn new(max_event: usize) -> Self {
        Decoder {
            events: EventSplitter::new(max_event),
            state: State {
                tracker: DeltaTracker::new(),
                fast: fast::Cumulative::default(),
                v1: None,
                done: false,
                max_answer: DEFAULT_MAX_ANSWER_BYTES,
                finish: None,
                reasoning: String::new(),
                failed: None,
                over_limit: false,
                ids: None,
            },
        }
    }

    /// Refuses answers longer than `max` bytes (default 4 MiB).
    pub fn with_max_answer(mut self, max: usize) -> Self {
        self.state.max_answer = max;
        self
    }

    /// Feeds one chunk of the body and returns the new answer text it
    /// completes (often empty). After `data: [DONE]` everything is ignored.
    /// An error the stream reports, or a broken bound, is returned once
    /// and ends the stream.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<String, Error> {
        let mut out = String::new();
        if self.state.done {
            self.state.failure()?;
            return Ok(out);
        }
        let Decoder { events, state } = self;
        events
            .feed(chunk, |event| state.event(event.name, event.data, &mut out))
            .map_err(too_long)?;
        if state.failed.is_some() {
            // The text before the failure goes out first; the error comes
            // with the next call (or `finish`).
            state.done = true;
            if out.is_empty() || state.over_limit {
                state.failure()?;
            }
        }
        Ok(out)
    }

    /// Ends the body: decodes an event the body ended inside (a last line
    /// with no line ending, or no blank line after it) and returns its new
    /// text. Fails with [`ErrorKind::NoValidResponse`] when the whole
    /// stream carried no answer text, and when a delta-encoded answer ends
    /// before it says it is complete.
    pub fn finish(&mut self) -> Result<String, Error> {
        let mut out = String::new();
        if !self.state.done {
            let Decoder { events, state } = self;
            events
                .finish(|event| state.event(event.name, event.data, &mut out))
                .map_err(too_long)?;
        }
        self.state.failure()?;
        self.state.done = true;
        if !self.state.yielded_any() {
            return Err(no_valid_response());
        }
        if self.state.v1.as_ref().is_some_and(|turn| !turn.complete()) {
            return Err(Step::Conversation
                .protocol("the answer stream ended before the answer was complete"));
        }
        Ok(out)
    }

    /// Takes the reasoning decoded since the last call (often empty): text
    /// the model thought before answering, never part of the answer.
    pub fn take_reasoning(&mut self) -> String {
        std::mem::take(&mut self.state.reasoning)
    }

    /// Why the answer ended, as its last event says, if it does.
    pub fn finish_reason(&self) -> Option<FinishReason> {
        match &self.state.v1 {
            Some(turn) => turn.finish_reason(),
            None => self.state.finish,
        }
    }

    /// Whether `data: [DONE]` has been seen, or the stream failed.
    pub fn is_done(&self) -> bool {
        self.state.done
    }

    /// Where the answer lives: the conversation's id and the answer
    /// message's id, as the stream names them (so far as seen). A request
    /// that continues the conversation names them.
    pub fn ids(&self) -> events::Ids {
        match &self.state.v1 {
            Some(turn) => turn.ids(),
            None => self.state.ids.clone().unwrap_or_default(),
        }
    }

    /// Whether the stream is delta-encoded (so far as seen).
    pub fn is_delta_encoded(&self) -> bool {
        self.state.v1.is_some()
    }

    /// How many legacy events had their whole answer string read, rather
    /// than only what they add (one per answer when the fast path holds).
    pub fn rescans(&self) -> u64 {
        self.state.fast.rescans()
    }
}

impl State {
    fn yielded_any(&self) -> bool {
        match &self.v1 {
            Some(turn) => turn.answer_len() > 0,
            None => self.tracker.yielded_any(),
        }
    }

    fn failure(&mut self) -> Result<(), Error> {
        match self.failed.take() {
            Some(err) => {
                self.done = true;
                Err(err)
            }
            None => Ok(()),
        }
    }

    /// One event; returns whether to read on.
    fn event(&mut self, name: &[u8], data: &[u8], out: &mut String) -> bool {
        if self.done {
            return false;
        }
        if self.v1.is_none()
            && (name == b"delta_encoding" || (name == b"delta" && !self.tracker.yielded_any()))
        {
            let max_stored = self.max_answer.saturating_mul(4);
            self.v1 = Some(Box::new(v1::Turn::new(max_stored)));
        }
        let go_on = match &mut self.v1 {
            Some(turn) => {
                let mut sink = v1::Sink {
                    text: out,
                    reasoning: &mut self.reasoning,
                };
                match turn.event(name, data, &mut sink) {
                    Ok(v1::Flow::Continue) => true,
                    Ok(v1::Flow::Done) => {
                        self.done = true;
                        false
                    }
                    Err(err) => {
                        self.failed = Some(err);
                        false
                    }
                }
            }
            None => self.legacy(data, out),
        };
        go_on && self.within_bounds()
    }

    /// One event of the legacy dialect: `[DONE]` ends the stream; other
    /// payloads go to the fast path, and to the full parser when it
    /// declines.
    fn legacy(&mut self, payload: &[u8], out: &mut String) -> bool {
        if payload.len() > 64 {
            if let Some(reason) = self.fast.handle(payload, &mut self.tracker, out) {
                self.finish = reason;
                if self.ids.is_none() {
                    self.ids = Some(events::ids(payload));
                }
                return true;
            }
        }
        match events::parse_event(payload) {
            (Line::Done, _) => {
                self.done = true;
                false
            }
            (Line::Text(text), reason) => {
                if self.ids.is_none() {
                    self.ids = Some(events::ids(payload));
                }
                self.tracker.push(&text, out);
                self.fast.forget();
                self.finish = reason;
                true
            }
            (Line::Skip, _) => match reported(payload) {
                Some(err) => {
                    self.failed = Some(err);
                    false
                }
                None => true,
            },
        }
    }

    fn within_bounds(&mut self) -> bool {
        let len = match &self.v1 {
            Some(turn) => turn.answer_len() + turn.reasoning_len(),
            None => self.tracker.reference_len(),
        };
        if len > self.max_answer && self.failed.is_none() {
            self.over_limit = true;
            self.failed = Some(Step::Conversation.protocol(format!(
                "the answer is longer than the limit of {} bytes",
                self.max_answer
            )));
        }
        self.failed.is_none()
    }
}

/// The error a legacy event without answer text reports, if any: only
/// payloads that mention one are parsed again.
fn reported(payload: &[u8]) -> Option<Error> {
    use memchr::memmem::Finder;
    use std::sync::LazyLock;
    static ERROR: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"error"));
    static MODERATION: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"moderation"));
    if ERROR.find(payload).is_none() && MODERATION.find(payload).is_none() {
        return None;
    }
    let value = serde_json::from_slice::<serde_json::Value>(payload).ok()?;
    failure::reported(&value)
}

fn too_long(err: TooLong) -> Error {
    Step::Conversation.protocol(format!(
        "an event is longer than the limit of {} bytes",
        err.max
    ))
}

/// The stream carried no answer text ("No valid response", as the original
/// provider put it).
pub fn no_valid_response() -> Error {
    Step::Conversation.error(ErrorKind::NoValidResponse, "No valid response")
}

/// Adapts a stream of body chunks into a stream of new answer text (and
/// reasoning, as [`Chunk::Reasoning`]), ended by the finish reason when the
/// events give one.
///
/// Empty deltas are not yielded; the stream ends after `data: [DONE]` or the
/// end of the body, and yields [`ErrorKind::NoValidResponse`] if no answer
/// text came at all. An error from the body is passed on and ends the
/// stream.
pub fn decode<S>(body: S, decoder: Decoder) -> impl Stream<Item = Result<Chunk, Error>> + Send
where
    S: Stream<Item = Result<Bytes, Error>> + Send,
{
    decode_reporting(body, decoder, |_| {})
}

/// [`decode`], calling `report` with where the answer lives once the
/// stream has ended well, before its finish reason is yielded.
pub fn decode_reporting<S, R>(
    body: S,
    decoder: Decoder,
    report: R,
) -> impl Stream<Item = Result<Chunk, Error>> + Send
where
    S: Stream<Item = Result<Bytes, Error>> + Send,
    R: FnOnce(Ids) + Send,
{
    stream::Decoding::new(body, decoder, report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn event(text: &str) -> String {
        let payload = serde_json::json!({
            "message": {"content": {"content_type": "text", "parts": [text]},
                        "metadata": {"message_type": "next"}}
        });
        format!("data: {payload}\n\n")
    }

    fn stream_bytes(answer: &str, step: usize) -> Vec<u8> {
        let chars: Vec<char> = answer.chars().collect();
        let mut body = String::from(": comment\n\n");
        let mut n = 0;
        while n < chars.len() {
            n = (n + step).min(chars.len());
            body.push_str(&event(&chars[..n].iter().collect::<String>()));
            body.push_str("data: {\"message\": {\"content\": {\"parts\": [\"noise\"]}, \"metadata\": {\"message_type\": \"variant\"}}}\n\n");
        }
        body.push_str("data: [DONE]\n\n");
        body.into_bytes()
    }

    #[test]
    fn every_two_way_cut_gives_the_same_text() {
        let answer = "Привет, 世界! 👋 \"q\" \\ done";
        let body = stream_bytes(answer, 3);
        for cut in 0..=body.len() {
            let mut decoder = Decoder::new(1 << 20);
            let mut text = decoder.feed(&body[..cut]).unwrap();
            text.push_str(&decoder.feed(&body[cut..]).unwrap());
            text.push_str(&decoder.finish().unwrap());
            assert_eq!(text, answer, "cut at {cut}");
        }
    }

    #[test]
    fn done_stops_decoding_and_missing_text_fails() {
        let mut decoder = Decoder::new(1024);
        let mut text = decoder.feed(event("ab").as_bytes()).unwrap();
        text.push_str(&decoder.feed(b"data: [DONE]\n\n").unwrap());
        assert!(decoder.is_done());
        text.push_str(&decoder.feed(event("abcdef").as_bytes()).unwrap());
        assert_eq!(text, "ab");

        let mut empty = Decoder::new(1024);
        empty.feed(b": nothing\ndata: [DONE]\n\n").unwrap();
        let err = empty.finish().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NoValidResponse);
        assert_eq!(err.message(), "No valid response");
    }

    #[test]
    fn a_last_line_without_newline_still_counts() {
        let mut decoder = Decoder::new(1024);
        let line = event("tail");
        let trimmed = line.trim_end();
        assert_eq!(decoder.feed(trimmed.as_bytes()).unwrap(), "");
        assert_eq!(decoder.finish().unwrap(), "tail");
    }

    #[test]
    fn the_last_event_gives_the_finish_reason_on_either_path() {
        let answer = "a long enough answer to take the fast path";
        let mut body = stream_bytes(answer, 5);
        let last = event(answer).replace(
            r#""message_type":"next""#,
            r#""message_type":"next","finish_details":{"type":"max_tokens"}"#,
        );
        let at = body.len() - b"data: [DONE]\n\n".len();
        body.splice(at..at, last.bytes());
        for chunk in [1, 7, body.len()] {
            let mut decoder = Decoder::new(1 << 20);
            let mut text = String::new();
            for piece in body.chunks(chunk) {
                text.push_str(&decoder.feed(piece).unwrap());
            }
            text.push_str(&decoder.finish().unwrap());
            assert_eq!(text, answer);
            assert_eq!(decoder.finish_reason(), Some(FinishReason::Length));
        }
    }

    #[test]
    fn a_legacy_error_event_ends_the_answer_after_its_text() {
        let body = format!(
            "{}data: {}\n\ndata: [DONE]\n\n",
            event("partial"),
            r#"{"message": null, "conversation_id": "c", "error": "Something went wrong."}"#
        );
        let mut decoder = Decoder::new(1024);
        assert_eq!(decoder.feed(body.as_bytes()).unwrap(), "partial");
        assert!(decoder.is_done());
        let err = decoder.finish().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UpstreamStatus);
        assert!(err.message().contains("Something went wrong."), "{err}");
        // Events that carry `"error": null` are quiet.
        let mut quiet = Decoder::new(1024);
        let noise = r#"{"message": {"content": {"parts": ["x"]}, "metadata": {"message_type": "variant"}}, "error": null}"#;
        quiet.feed(format!("data: {noise}\n\n").as_bytes()).unwrap();
        assert_eq!(quiet.feed(event("fine").as_bytes()).unwrap(), "fine");
    }

    #[test]
    fn an_oversized_answer_is_an_error() {
        let mut decoder = Decoder::new(1 << 20).with_max_answer(10);
        assert_eq!(
            decoder.feed(event("0123456789").as_bytes()).unwrap(),
            "0123456789"
        );
        let err = decoder.feed(event("0123456789X").as_bytes()).unwrap_err();
        assert!(
            err.to_string()
                .contains("answer is longer than the limit of 10 bytes"),
            "{err}"
        );
    }

    #[test]
    fn an_oversized_line_is_an_error() {
        let mut decoder = Decoder::new(64);
        let err = decoder
            .feed(event(&"x".repeat(100)).as_bytes())
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("longer than the limit of 64 bytes"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn the_stream_adapter_yields_non_empty_deltas() {
        let body = stream_bytes("one two three", 2);
        let chunks: Vec<Result<Bytes, Error>> = body
            .chunks(7)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let chunks: Vec<Chunk> = decode(futures_util::stream::iter(chunks), Decoder::new(1024))
            .map(|d| d.unwrap())
            .collect()
            .await;
        let deltas: Vec<&str> = chunks
            .iter()
            .filter_map(|c| match c {
                Chunk::Text(text) => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert!(deltas.iter().all(|d| !d.is_empty()));
        assert_eq!(deltas.concat(), "one two three");
    }
}
