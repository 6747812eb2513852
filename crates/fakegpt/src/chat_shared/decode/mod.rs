//! The event-stream decoder: bytes in arbitrary chunks → server-sent events
//! → their `data:` payloads → cumulative text → the new text.
//!
//! [`Decoder`] is plain synchronous state that knows nothing of HTTP;
//! [`decode`] wraps it as a `Stream` adapter over any stream of byte chunks.

mod delta;
mod events;
mod fast;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

pub use delta::DeltaTracker;
pub use events::{parse_payload, Line};

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
    tracker: DeltaTracker,
    fast: fast::Cumulative,
    done: bool,
    max_answer: usize,
    finish: Option<FinishReason>,
}

impl Decoder {
    /// A decoder that refuses events longer than `max_event` bytes.
    pub fn new(max_event: usize) -> Self {
        Decoder {
            events: EventSplitter::new(max_event),
            tracker: DeltaTracker::new(),
            fast: fast::Cumulative::default(),
            done: false,
            max_answer: DEFAULT_MAX_ANSWER_BYTES,
            finish: None,
        }
    }

    /// Refuses answers longer than `max` bytes (default 4 MiB).
    pub fn with_max_answer(mut self, max: usize) -> Self {
        self.max_answer = max;
        self
    }

    /// Feeds one chunk of the body and returns the new answer text it
    /// completes (often empty). After `data: [DONE]` everything is ignored.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<String, Error> {
        let mut out = String::new();
        if self.done {
            return Ok(out);
        }
        let Decoder {
            events,
            tracker,
            fast,
            done,
            max_answer,
            finish,
        } = self;
        let max_answer = *max_answer;
        events
            .feed(chunk, |event| {
                Self::event(tracker, fast, done, finish, event.data, &mut out)
                    && tracker.reference_len() <= max_answer
            })
            .map_err(too_long)?;
        self.check_answer_size()?;
        Ok(out)
    }

    fn check_answer_size(&self) -> Result<(), Error> {
        if self.tracker.reference_len() > self.max_answer {
            return Err(Step::Conversation.protocol(format!(
                "the answer is longer than the limit of {} bytes",
                self.max_answer
            )));
        }
        Ok(())
    }

    /// Ends the body: decodes an event the body ended inside (a last line
    /// with no line ending, or no blank line after it) and returns its new
    /// text. Fails with [`ErrorKind::NoValidResponse`] when
    /// the whole stream carried no answer text.
    pub fn finish(&mut self) -> Result<String, Error> {
        let mut out = String::new();
        if !self.done {
            let Decoder {
                events,
                tracker,
                fast,
                done,
                finish,
                ..
            } = self;
            events
                .finish(|event| Self::event(tracker, fast, done, finish, event.data, &mut out))
                .map_err(too_long)?;
        }
        self.done = true;
        self.check_answer_size()?;
        if self.tracker.yielded_any() {
            Ok(out)
        } else {
            Err(no_valid_response())
        }
    }

    /// Why the answer ended, as its last event says, if it does.
    pub fn finish_reason(&self) -> Option<FinishReason> {
        self.finish
    }

    /// Whether `data: [DONE]` has been seen.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// One event's data: `[DONE]` ends the stream; other payloads go to
    /// the fast path, and to the full parser when it declines.
    fn event(
        tracker: &mut DeltaTracker,
        fast: &mut fast::Cumulative,
        done: &mut bool,
        finish: &mut Option<FinishReason>,
        payload: &[u8],
        out: &mut String,
    ) -> bool {
        if payload.len() > 64 {
            if let Some(reason) = fast.handle(payload, tracker, out) {
                *finish = reason;
                return true;
            }
        }
        match events::parse_event(payload) {
            (Line::Done, _) => {
                *done = true;
                false
            }
            (Line::Text(text), reason) => {
                tracker.push(&text, out);
                fast.forget();
                *finish = reason;
                true
            }
            (Line::Skip, _) => true,
        }
    }
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

/// Adapts a stream of body chunks into a stream of new answer text, ended
/// by the finish reason when the events give one.
///
/// Empty deltas are not yielded; the stream ends after `data: [DONE]` or the
/// end of the body, and yields [`ErrorKind::NoValidResponse`] if no answer
/// text came at all. An error from the body is passed on and ends the
/// stream.
pub fn decode<S>(body: S, mut decoder: Decoder) -> impl Stream<Item = Result<Chunk, Error>> + Send
where
    S: Stream<Item = Result<Bytes, Error>> + Send,
{
    async_stream::try_stream! {
        futures_util::pin_mut!(body);
        while let Some(chunk) = body.next().await {
            let text = decoder.feed(&chunk?)?;
            if !text.is_empty() {
                yield Chunk::Text(text);
            }
            if decoder.is_done() {
                break;
            }
        }
        let text = decoder.finish()?;
        if !text.is_empty() {
            yield Chunk::Text(text);
        }
        if let Some(reason) = decoder.finish_reason() {
            yield Chunk::Finish(reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                Chunk::Finish(_) => None,
            })
            .collect();
        assert!(deltas.iter().all(|d| !d.is_empty()));
        assert_eq!(deltas.concat(), "one two three");
    }
}
