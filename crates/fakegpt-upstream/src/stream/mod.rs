//! The conversation's event stream, in either dialect (cumulative legacy
//! events or delta-encoded `v1` frames), with the pacing, noise, chunking
//! and faults the configuration asks for.
//!
//! A [`Script`] says what to send, step by step, whatever the dialect; a
//! [`script::Speaker`] writes each step in its dialect; [`body`] sends the
//! steps.

mod legacy;
mod pace;
mod script;
mod v1;
mod wire;

use std::sync::Arc;

use bytes::Bytes;
use futures_util::Stream;
use rand::{Rng, SeedableRng};

use crate::config::Config;
use crate::fault::Fault;
use crate::state::{Count, State};
use script::{Ids, Script, Step};

pub(crate) use script::Answer;

/// What a stream should do wrong, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamFault {
    None,
    Disconnect(usize),
    Stall(usize),
    NoValidEvent,
    Garbage,
    Oversized(usize),
    Error(usize),
    Moderation,
    Incomplete(usize),
}

impl StreamFault {
    pub(crate) fn from_fault(fault: Option<&Fault>) -> StreamFault {
        match fault {
            Some(Fault::DisconnectMidStream { after_events }) => {
                StreamFault::Disconnect(*after_events)
            }
            Some(Fault::StallMidStream { after_events }) => StreamFault::Stall(*after_events),
            Some(Fault::NoValidEvent) => StreamFault::NoValidEvent,
            Some(Fault::GarbageLines) => StreamFault::Garbage,
            Some(Fault::OversizedLine { bytes }) => StreamFault::Oversized(*bytes),
            Some(Fault::StreamError { after_events }) => StreamFault::Error(*after_events),
            Some(Fault::Moderation) => StreamFault::Moderation,
            Some(Fault::Incomplete { after_events }) => StreamFault::Incomplete(*after_events),
            _ => StreamFault::None,
        }
    }
}

/// The connection was dropped on purpose (the disconnect fault).
#[derive(Debug)]
pub(crate) struct Disconnect;

impl std::fmt::Display for Disconnect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}

impl std::error::Error for Disconnect {}

/// Counts the stream as cancelled if it is dropped before it ends.
struct Guard {
    state: Arc<State>,
    finished: bool,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.finished {
            self.state.bump(Count::Cancelled);
        }
        self.state.stream_ended();
    }
}

/// The body of a successful conversation giving `answer`.
pub(crate) fn body(
    state: Arc<State>,
    config: Config,
    answer: Answer,
    fault: StreamFault,
) -> impl Stream<Item = Result<Bytes, Disconnect>> + Send {
    let ids = Ids {
        message: answer.message_id.clone(),
        conversation: answer.conversation_id.clone(),
    };
    let mut script = Script::new(&config, answer, ids, fault);
    let mut pacer = pace::Pacer::new(config.event_delay);
    let split_writes = config.split_writes;
    state.stream_started();
    let mut guard = Guard {
        state,
        finished: false,
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(config.seed);
    async_stream::stream! {
        loop {
            match script.next() {
                Step::Write(frames) => {
                    let done = frames.done.then(|| frames.done_frame());
                    for frame in frames.list {
                        if split_writes {
                            let bytes = frame.into_bytes();
                            let mut at = 0;
                            while at < bytes.len() {
                                let len = rng.random_range(1..=7).min(bytes.len() - at);
                                yield Ok(Bytes::copy_from_slice(&bytes[at..at + len]));
                                at += len;
                                tokio::task::yield_now().await;
                            }
                        } else {
                            yield Ok(Bytes::from(frame));
                        }
                    }
                    if let Some(done) = done {
                        yield Ok(Bytes::from(done));
                    }
                }
                Step::Wait(n) => pacer.wait(n).await,
                Step::Disconnect => {
                    // Let what was sent reach the client before the drop.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    yield Err(Disconnect);
                    return;
                }
                Step::Stall => std::future::pending::<()>().await,
                Step::End { completed } => {
                    guard.finished = true;
                    if completed {
                        guard.state.bump(Count::Completed);
                    }
                    break;
                }
            }
        }
        drop(guard);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use wire::stamp;

    /// A legacy answer giving `reply`.
    fn legacy(reply: &str) -> Answer {
        Answer {
            prompt: "prompt".into(),
            reply: reply.into(),
            conversation_id: "conversation-1".into(),
            message_id: "message-1".into(),
            model: "text-davinci-002-render-sha".into(),
            user_message_id: "user-1".into(),
            v1: false,
        }
    }

    #[tokio::test]
    async fn events_are_cumulative_whole_characters() {
        let state = State::new(Config::default());
        let config = Config {
            chars_per_event: 3,
            split_writes: true,
            noise: true,
            crlf: true,
            ..Config::default()
        };
        let reply = "Привет 👋 \"x\"".to_string();
        let chunks: Vec<Bytes> = body(state.clone(), config, legacy(&reply), StreamFault::None)
            .map(|c| c.unwrap())
            .collect()
            .await;
        let bytes: Vec<u8> = chunks.concat();
        let text = String::from_utf8(bytes).unwrap();
        let mut last = String::new();
        for line in text.split("\r\n").filter_map(|l| l.strip_prefix("data: ")) {
            let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
                assert_eq!(line, "[DONE]");
                continue;
            };
            if value["message"]["metadata"]["message_type"] == "next" {
                let part = value["message"]["content"]["parts"][0]
                    .as_str()
                    .unwrap()
                    .to_owned();
                assert!(part.starts_with(&last));
                last = part;
            }
        }
        assert_eq!(last, reply);
        assert_eq!(state.counters().completed, 1);
        assert_eq!(state.counters().active_streams, 0);
    }

    #[tokio::test]
    async fn stamped_events_add_one_send_time_each() {
        let state = State::new(Config::default());
        let config = Config {
            chars_per_event: 2,
            stamp: true,
            event_delay: std::time::Duration::from_millis(1),
            ..Config::default()
        };
        let before = stamp();
        let chunks: Vec<Bytes> = body(state, config, legacy("abcdef"), StreamFault::None)
            .map(|c| c.unwrap())
            .collect()
            .await;
        let after = stamp();
        let text = String::from_utf8(chunks.concat()).unwrap();
        let mut parts = Vec::new();
        for line in text.split('\n').filter_map(|l| l.strip_prefix("data: {")) {
            let value: serde_json::Value = serde_json::from_str(&format!("{{{line}")).unwrap();
            parts.push(
                value["message"]["content"]["parts"][0]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        // Three events for six characters at two a time, each one stamp longer.
        assert_eq!(parts.len(), 3);
        let micros = |stamp: &str| -> u128 {
            stamp
                .trim_start_matches("<t:")
                .trim_end_matches('>')
                .parse()
                .unwrap()
        };
        let stamps: Vec<u128> = parts[2].split_inclusive('>').map(micros).collect();
        assert_eq!(stamps.len(), 3);
        assert!(parts[1].starts_with(&parts[0]) && parts[2].starts_with(&parts[1]));
        assert!(micros(&before) <= stamps[0]);
        assert!(stamps.windows(2).all(|w| w[0] <= w[1]));
        assert!(stamps[2] <= micros(&after));
    }
}
