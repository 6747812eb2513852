//! `max_tokens` and `stop` over loopback, the gateway in front of the
//! emulator: the answer is cut at exactly its first `max_tokens` tokens
//! (counted here with `tiktoken-rs`, not the gateway's own encoding) with
//! `finish_reason: "length"`, or before the first stop sequence with
//! `stop`, streamed or whole, with `usage` counting the text sent; stop
//! sequences that span the upstream's events are found; bad `stop` values
//! are 400s naming `stop`; a cut cancels the upstream's stream instead of
//! reading it to its end; reasoning is neither counted nor searched.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

mod common;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fakegpt::Dialect;
use fakegpt_upstream::{reasoning_for, Config, Dialect as Served};
use serde_json::{json, Value};
use tiktoken_rs::CoreBPE;

const PROMPT: &str = "Cut me «short», please 👋";

use common::Gateway;

impl Gateway {
    /// Small events (3 characters each): every sequence of more than 3
    /// characters spans events.
    async fn small_events() -> Gateway {
        Self::start(
            Config {
                chars_per_event: 3,
                reply_chars: 400,
                ..Config::default()
            },
            Dialect::Legacy,
        )
        .await
    }

    /// Posts a chat request for `PROMPT` with `extra` merged in: the
    /// status and the body.
    async fn ask(&self, extra: &Value) -> (u16, Value) {
        let (status, body) = self.ask_raw(extra).await;
        (status, serde_json::from_str(&body).unwrap())
    }

    async fn ask_raw(&self, extra: &Value) -> (u16, String) {
        let mut body =
            json!({"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": PROMPT}]});
        for (key, value) in extra.as_object().unwrap() {
            body[key] = value.clone();
        }
        let response = reqwest::Client::new()
            .post(format!("{}/v1/chat/completions", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// A streamed answer to `PROMPT` with `extra` merged in.
    async fn stream(&self, extra: &Value) -> Streamed {
        let mut extra = extra.clone();
        extra["stream"] = json!(true);
        extra["stream_options"] = json!({"include_usage": true});
        let (status, body) = self.ask_raw(&extra).await;
        assert_eq!(status, 200, "{body}");
        streamed(&body)
    }

    fn reply(&self) -> String {
        self.upstream.reply_for(PROMPT)
    }
}

fn reference() -> &'static CoreBPE {
    static REFERENCE: OnceLock<CoreBPE> = OnceLock::new();
    REFERENCE.get_or_init(|| tiktoken_rs::cl100k_base().unwrap())
}

fn count(text: &str) -> u64 {
    reference().encode_with_special_tokens(text).len() as u64
}

/// The first `n` tokens of `text`, ending before a character they split.
fn first_tokens(text: &str, n: usize) -> String {
    let tokens = reference().encode_with_special_tokens(text);
    let bytes = reference()
        .decode_bytes(&tokens[..n.min(tokens.len())])
        .unwrap();
    let valid = match std::str::from_utf8(&bytes) {
        Ok(_) => bytes.len(),
        Err(err) => err.valid_up_to(),
    };
    String::from_utf8(bytes[..valid].to_vec()).unwrap()
}

/// A streamed answer, taken apart.
#[derive(Debug, Default)]
struct Streamed {
    /// The content deltas after the role chunk.
    content: Vec<String>,
    /// The reasoning deltas.
    reasoning: String,
    /// Every finish reason sent.
    finish: Vec<String>,
    /// The usage chunk's usage.
    usage: Option<Value>,
}

impl Streamed {
    fn content(&self) -> String {
        self.content.concat()
    }
}

/// Reads a streamed body, checking its shape: the role first, the finish
/// reason in the last chunk with a choice, then the usage chunk, then
/// `[DONE]`, and no error event.
fn streamed(body: &str) -> Streamed {
    let events = common::sse_data(body);
    let (last, chunks) = events.split_last().unwrap();
    assert_eq!(last, "[DONE]", "{body}");
    let mut got = Streamed::default();
    for (i, event) in chunks.iter().enumerate() {
        let chunk: Value = serde_json::from_str(event).unwrap();
        assert!(chunk.get("error").is_none(), "{event}");
        assert_eq!(chunk["object"], "chat.completion.chunk");
        if i + 1 == chunks.len() {
            assert_eq!(chunk["choices"], json!([]), "the usage chunk is last");
            got.usage = Some(chunk["usage"].clone());
            continue;
        }
        assert!(got.finish.is_empty(), "nothing after the finish reason");
        let choice = &chunk["choices"][0];
        let delta = &choice["delta"];
        if i == 0 {
            assert_eq!(delta["role"], "assistant", "{event}");
            continue;
        }
        if let Some(text) = delta.get("content").and_then(Value::as_str) {
            got.content.push(text.to_owned());
        }
        if let Some(text) = delta.get("reasoning_content").and_then(Value::as_str) {
            got.reasoning.push_str(text);
        }
        if let Some(finish) = choice["finish_reason"].as_str() {
            got.finish.push(finish.to_owned());
        }
    }
    got
}

/// Checks a whole answer: its text, finish reason, and usage counting
/// the text.
fn assert_whole(completion: &Value, text: &str, finish: &str, context: &str) {
    let choice = &completion["choices"][0];
    assert_eq!(choice["message"]["content"], text, "{context}");
    assert_eq!(choice["finish_reason"], finish, "{context}");
    let usage = &completion["usage"];
    assert_eq!(usage["completion_tokens"], count(text), "{context}");
    assert_eq!(
        usage["total_tokens"].as_u64().unwrap(),
        usage["prompt_tokens"].as_u64().unwrap() + count(text),
        "{context}"
    );
}

/// Checks a streamed answer the same way.
fn assert_streamed(got: &Streamed, text: &str, finish: &str, context: &str) {
    assert_eq!(got.content(), text, "{context}");
    assert!(got.content.iter().all(|c| !c.is_empty()), "{context}");
    assert_eq!(got.finish, [finish], "{context}");
    let usage = got.usage.as_ref().unwrap();
    assert_eq!(usage["completion_tokens"], count(text), "{context}");
}

#[tokio::test]
async fn max_tokens_cuts_a_whole_answer_at_exactly_that_many_tokens() {
    let gw = Gateway::small_events().await;
    let reply = gw.reply();
    let (status, completion) = gw.ask(&json!({})).await;
    assert_eq!(status, 200);
    assert_whole(&completion, &reply, "stop", "no limit");
    let total = count(&reply) as usize;
    assert!(total > 100, "a long enough reply: {total} tokens");
    // Every limit up to past the end, emoji split into several tokens and
    // all.
    for max in 1..=total + 2 {
        let expected = first_tokens(&reply, max);
        let finish = if max < total { "length" } else { "stop" };
        let field = if max % 2 == 0 {
            "max_tokens"
        } else {
            "max_completion_tokens"
        };
        let (status, completion) = gw.ask(&json!({ field: max })).await;
        assert_eq!(status, 200, "{completion}");
        assert_whole(&completion, &expected, finish, &format!("{field} {max}"));
        assert!(count(&expected) <= max as u64);
    }
}

#[tokio::test]
async fn max_tokens_cuts_a_streamed_answer_at_exactly_that_many_tokens() {
    let gw = Gateway::small_events().await;
    let reply = gw.reply();
    let plain = gw.stream(&json!({})).await;
    assert_streamed(&plain, &reply, "stop", "no limit");
    assert!(plain.content.len() > 50, "the answer comes in small steps");
    let total = count(&reply) as usize;
    let mut limits = vec![1, 2, 3, 5, 8, 13, 21, 34, 55, 89];
    limits.extend([total - 1, total, total + 1]);
    for max in limits {
        let expected = first_tokens(&reply, max);
        let finish = if max < total { "length" } else { "stop" };
        let got = gw.stream(&json!({ "max_tokens": max })).await;
        assert_streamed(&got, &expected, finish, &format!("max_tokens {max}"));
    }
}

#[tokio::test]
async fn stop_sequences_end_the_answer_before_them() {
    let gw = Gateway::small_events().await;
    let reply = gw.reply();
    let before = |s: &str| reply[..reply.find(s).unwrap()].to_owned();
    let last_two = &reply[reply.char_indices().rev().nth(1).unwrap().0..];
    // Sequences longer than an event (3 characters), so each spans events.
    let cases = [
        (json!("», please"), before("», please")),
        (json!(["nowhere to be seen", "please"]), before("please")),
        // The first sequence completed wins, not the first to start.
        (json!(["said: «Cut me", "Cut"]), before("Cut")),
        (json!(["You said: X", "said:"]), before("said:")),
        (json!(["Привет! Это", "x² ≤"]), before("Привет! Это")),
        (json!(["👋🌍", "🎉 — and"]), before("👋🌍")),
        // Never completed: all of it, what was held back released at the end.
        (json!(["nowhere to be seen"]), reply.clone()),
        (json!([format!("{last_two}!")]), reply.clone()),
        (json!(null), reply.clone()),
        (json!([]), reply.clone()),
    ];
    assert!(
        reply.find("Привет! Это") < reply.find("x² ≤") && reply.contains("👋🌍"),
        "{reply}"
    );
    for (stop, expected) in cases {
        let (status, completion) = gw.ask(&json!({ "stop": stop })).await;
        assert_eq!(status, 200, "{completion}");
        let context = format!("stop {stop}");
        assert_whole(&completion, &expected, "stop", &context);
        let got = gw.stream(&json!({ "stop": stop })).await;
        assert_streamed(&got, &expected, "stop", &context);
    }
}

#[tokio::test]
async fn stop_and_max_tokens_together() {
    let gw = Gateway::small_events().await;
    let reply = gw.reply();
    let at = reply.find("please").unwrap();
    let before = &reply[..at];
    let tokens = count(before) as usize;
    // The limit applies to the answer the stop sequence ends.
    for (max, expected, finish) in [
        (tokens + 5, before.to_owned(), "stop"),
        (tokens, before.to_owned(), "stop"),
        (tokens - 2, first_tokens(before, tokens - 2), "length"),
    ] {
        let extra = json!({"max_tokens": max, "stop": "please"});
        let (_, completion) = gw.ask(&extra).await;
        assert_whole(&completion, &expected, finish, &format!("{extra}"));
        let got = gw.stream(&extra).await;
        assert_streamed(&got, &expected, finish, &format!("{extra}"));
    }
}

#[tokio::test]
async fn bad_stop_values_and_both_limits_are_400() {
    let gw = Gateway::small_events().await;
    let cases = [
        (json!({"stop": ["a", "b", "c", "d", "e"]}), "stop"),
        (json!({"stop": ""}), "stop"),
        (json!({"stop": ["a", ""]}), "stop"),
        (json!({"stop": ["a", 7]}), "stop"),
        (json!({"stop": 7}), "stop"),
        (json!({"stop": {"a": "b"}}), "stop"),
        (
            json!({"max_tokens": 5, "max_completion_tokens": 9}),
            "max_tokens",
        ),
        (json!({"max_tokens": 0}), "max_tokens"),
        (
            json!({"max_completion_tokens": -3}),
            "max_completion_tokens",
        ),
    ];
    for (extra, param) in cases {
        for stream in [false, true] {
            let mut extra = extra.clone();
            extra["stream"] = json!(stream);
            let (status, body) = gw.ask(&extra).await;
            assert_eq!(status, 400, "{extra}: {body}");
            let error = &body["error"];
            assert_eq!(error["param"], param, "{extra}: {body}");
            assert_eq!(error["type"], "invalid_request_error", "{body}");
            assert!(error["message"].as_str().unwrap().len() > 10, "{body}");
            assert!(error.get("code").is_some(), "{body}");
        }
    }
    assert_eq!(gw.upstream.counters().conversations, 0, "nothing asked");
}

/// Waits for the emulator to see its one stream cancelled.
async fn assert_cancelled(gw: &Gateway, context: &str) {
    let mut counters = gw.upstream.counters();
    for _ in 0..300 {
        counters = gw.upstream.counters();
        if counters.cancelled == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        (
            counters.cancelled,
            counters.completed,
            counters.active_streams
        ),
        (1, 0, 0),
        "{context}"
    );
}

#[tokio::test]
async fn a_cut_early_in_a_long_answer_cancels_the_upstream_stream() {
    // 40,000 characters, 4 an event, one event a millisecond: 10 s to read
    // to the end.
    let long = Config {
        reply_chars: 40_000,
        event_delay: Duration::from_millis(1),
        ..Config::default()
    };
    let cases = [
        json!({"max_tokens": 5}),
        json!({"max_tokens": 5, "stream": true}),
        json!({"stop": "please"}),
        json!({"stop": ["please"], "stream": true}),
    ];
    for extra in cases {
        let gw = Gateway::start(long.clone(), Dialect::Legacy).await;
        let started = Instant::now();
        let (status, body) = gw.ask_raw(&extra).await;
        assert_eq!(status, 200, "{body}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{extra}: answered in {:?}",
            started.elapsed()
        );
        assert!(
            body.contains("\"finish_reason\":\"length\"")
                || body.contains("\"finish_reason\":\"stop\""),
            "{body}"
        );
        assert_cancelled(&gw, &extra.to_string()).await;
    }
}

#[tokio::test]
async fn reasoning_is_neither_counted_nor_searched() {
    let gw = Gateway::start(
        Config {
            dialect: Served::V1,
            reasoning: true,
            chars_per_event: 3,
            ..Config::default()
        },
        Dialect::V1,
    )
    .await;
    let reply = gw.reply();
    let reasoning = reasoning_for(PROMPT);
    // In the reasoning only.
    let thought = "Then answer";
    assert!(reasoning.contains(thought) && !reply.contains(thought));
    for (extra, text, finish) in [
        (json!({"max_tokens": 3}), first_tokens(&reply, 3), "length"),
        (json!({"stop": thought}), reply.clone(), "stop"),
    ] {
        let mut extra = extra.clone();
        extra["include_reasoning"] = json!(true);
        let (_, completion) = gw.ask(&extra).await;
        assert_whole(&completion, &text, finish, &extra.to_string());
        assert_eq!(
            completion["choices"][0]["message"]["reasoning_content"],
            reasoning
        );
        let got = gw.stream(&extra).await;
        assert_streamed(&got, &text, finish, &extra.to_string());
        assert_eq!(got.reasoning, reasoning);
    }
}
