//! The conversation's event stream: cumulative `next` events, with the
//! noise, chunking and faults the configuration asks for.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::Stream;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::config::Config;
use crate::fault::Fault;
use crate::state::{Count, State};

/// What a stream should do wrong, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamFault {
    None,
    Disconnect(usize),
    Stall(usize),
    NoValidEvent,
    Garbage,
    Oversized(usize),
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

/// One JSON event carrying the answer so far.
fn event(
    message_id: &str,
    conversation_id: &str,
    text: &str,
    last: bool,
    message_type: &str,
) -> String {
    json!({
        "message": {
            "id": message_id,
            "author": {"role": "assistant", "name": null, "metadata": {}},
            "create_time": 1_700_000_000.0,
            "update_time": null,
            "content": {"content_type": "text", "parts": [text]},
            "status": if last { "finished_successfully" } else { "in_progress" },
            "end_turn": if last { json!(true) } else { json!(null) },
            "weight": 1.0,
            "metadata": {
                "message_type": message_type,
                "model_slug": "text-davinci-002-render-sha",
                "finish_details": if last { json!({"type": "stop", "stop_tokens": [100260]}) } else { json!(null) },
            },
            "recipient": "all"
        },
        "conversation_id": conversation_id,
        "error": null
    })
    .to_string()
}

/// The time now as a stamp: `<t:MICROSECONDS>` since the Unix epoch.
pub(crate) fn stamp() -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or_default();
    format!("<t:{micros}>")
}

/// The body of a successful conversation answering with `reply`.
pub(crate) fn body(
    state: Arc<State>,
    config: Config,
    reply: String,
    fault: StreamFault,
) -> impl Stream<Item = Result<Bytes, Disconnect>> + Send {
    let eol = if config.crlf { "\r\n" } else { "\n" };
    let step = config.chars_per_event.max(1);
    let message_id = uuid::Uuid::new_v4().to_string();
    let conversation_id = uuid::Uuid::new_v4().to_string();
    state.stream_started();
    let mut guard = Guard {
        state,
        finished: false,
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(config.seed);
    async_stream::stream! {
        let mut pieces: Vec<String> = Vec::new();
        let mut stamps = String::new();
        // Where each character ends, so each event is a whole-character prefix.
        let ends: Vec<usize> = reply.char_indices().map(|(i, c)| i + c.len_utf8()).collect();
        let total_events = ends.len().div_ceil(step);
        if let StreamFault::Oversized(bytes) = fault {
            pieces.push(format!("data: {}{eol}{eol}", "x".repeat(bytes)));
        }
        if config.noise {
            pieces.push(format!(": keep-alive{eol}event: message{eol}id: 0{eol}retry: 1000{eol}{eol}"));
        }
        for n in 0..total_events {
            match fault {
                StreamFault::Disconnect(after) if n >= after => {
                    // Let what was sent reach the client before the drop.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    yield Err(Disconnect);
                    return;
                }
                StreamFault::Stall(after) if n >= after => {
                    std::future::pending::<()>().await;
                }
                _ => {}
            }
            if !config.event_delay.is_zero() {
                tokio::time::sleep(config.event_delay).await;
            }
            let end = ends[((n + 1) * step).min(ends.len()) - 1];
            let last = n + 1 == total_events;
            if config.stamp {
                stamps.push_str(&stamp());
            }
            let text = if config.stamp { &stamps } else { &reply[..end] };
            if config.noise || fault == StreamFault::NoValidEvent {
                pieces.push(format!(": ping {n}{eol}{eol}"));
                let other = event(&message_id, &conversation_id, "moderation noise", false, "variant");
                pieces.push(format!("data: {other}{eol}{eol}"));
            }
            if fault == StreamFault::Garbage {
                pieces.push(format!("data: {{\"message\": {{\"content\": {eol}data: not json at all{eol}{eol}"));
            }
            if fault != StreamFault::NoValidEvent {
                let payload = event(&message_id, &conversation_id, text, last, "next");
                pieces.push(format!("data: {payload}{eol}{eol}"));
            }
            for piece in pieces.drain(..) {
                if config.split_writes {
                    let bytes = piece.into_bytes();
                    let mut at = 0;
                    while at < bytes.len() {
                        let len = rng.random_range(1..=7).min(bytes.len() - at);
                        yield Ok(Bytes::copy_from_slice(&bytes[at..at + len]));
                        at += len;
                        tokio::task::yield_now().await;
                    }
                } else {
                    yield Ok(Bytes::from(piece));
                }
            }
        }
        yield Ok(Bytes::from(format!("data: [DONE]{eol}{eol}")));
        guard.finished = true;
        guard.state.bump(Count::Completed);
        drop(guard);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

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
        let chunks: Vec<Bytes> = body(state.clone(), config, reply.clone(), StreamFault::None)
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
        let chunks: Vec<Bytes> = body(state, config, "abcdef".into(), StreamFault::None)
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
