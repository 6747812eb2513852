//! The gateway in front of an emulator that speaks the delta-encoded `v1`
//! dialect, over loopback: reasoning reaches a client as
//! `reasoning_content` only when it sets `include_reasoning`, never mixed
//! into `content`; an answer cut at its token limit finishes with
//! `length`; errors the upstream reports inside its stream end a streamed
//! answer with an error event after the text before them, and fail a whole
//! answer with a real status.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

mod common;

use std::time::Duration;

use fakegpt::Dialect;
use fakegpt_upstream::{reasoning_for, Config, Dialect as Served, Fault};
use serde_json::{json, Value};

const PROMPT: &str = "Think first: «why» is the sky \"blue\" \\ here? 🌤";

use common::Gateway;

impl Gateway {
    /// Both, the emulator sending its events without delay.
    async fn quick(config: Config, dialect: Dialect) -> Gateway {
        let config = Config {
            event_delay: Duration::ZERO,
            ..config
        };
        Gateway::start(config, dialect).await
    }

    /// The emulator in `v1` with reasoning on, the provider asking for `v1`.
    async fn thinking() -> Gateway {
        Self::quick(
            Config {
                dialect: Served::V1,
                reasoning: true,
                chars_per_event: 3,
                ..Config::default()
            },
            Dialect::V1,
        )
        .await
    }

    /// Posts a chat request for `PROMPT` with `extra` fields merged in;
    /// the status and the raw body.
    async fn ask(&self, extra: Value) -> (u16, String) {
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

    fn reply(&self) -> String {
        self.upstream.reply_for(PROMPT)
    }
}

/// A streamed answer, taken apart.
#[derive(Debug, Default)]
struct Streamed {
    /// Every `content` delta, in order (the role chunk's empty one left out).
    content: Vec<String>,
    /// Every `reasoning_content` delta, in order.
    reasoning: Vec<String>,
    /// For each chunk with a choice after the role chunk: whether it
    /// carried reasoning (`true`) or content (`false`); chunks with neither
    /// are left out.
    order: Vec<bool>,
    /// The finish reasons sent.
    finish: Vec<String>,
    /// The error event, if one ended the stream.
    error: Option<Value>,
    /// Whether `data: [DONE]` came last.
    done: bool,
}

impl Streamed {
    fn content(&self) -> String {
        self.content.concat()
    }

    fn reasoning(&self) -> String {
        self.reasoning.concat()
    }
}

/// Takes a streamed answer's body apart, checking the chunk shape as it
/// goes: the role first (alone), no chunk with both content and
/// reasoning, nothing after an error event but `[DONE]`.
fn streamed(body: &str) -> Streamed {
    let events = common::sse_data(body);
    let mut got = Streamed::default();
    let (last, chunks) = events.split_last().expect("events");
    got.done = last == "[DONE]";
    assert!(got.done, "the stream ends with [DONE]: {body}");
    for (i, event) in chunks.iter().enumerate() {
        let value: Value = serde_json::from_str(event).unwrap();
        assert!(got.error.is_none(), "nothing but [DONE] after the error");
        if value.get("error").is_some() {
            got.error = Some(value["error"].clone());
            continue;
        }
        assert_eq!(value["object"], "chat.completion.chunk", "{event}");
        let delta = &value["choices"][0]["delta"];
        if i == 0 {
            assert_eq!(delta["role"], "assistant", "the role comes first: {event}");
            assert_eq!(delta["content"], "", "{event}");
            assert!(delta.get("reasoning_content").is_none(), "{event}");
            continue;
        }
        assert!(delta.get("role").is_none(), "the role once: {event}");
        let content = delta.get("content").and_then(Value::as_str);
        let reasoning = delta.get("reasoning_content").and_then(Value::as_str);
        match (content, reasoning) {
            (Some(_), Some(_)) => panic!("a chunk with both content and reasoning: {event}"),
            (Some(text), None) => {
                got.content.push(text.to_owned());
                got.order.push(false);
            }
            (None, Some(text)) => {
                got.reasoning.push(text.to_owned());
                got.order.push(true);
            }
            (None, None) => {}
        }
        if let Some(finish) = value["choices"][0]["finish_reason"].as_str() {
            got.finish.push(finish.to_owned());
        }
    }
    got
}

#[tokio::test]
async fn streamed_reasoning_comes_apart_and_first_only_when_asked() {
    let gw = Gateway::thinking().await;
    let (status, body) = gw
        .ask(json!({"stream": true, "include_reasoning": true}))
        .await;
    assert_eq!(status, 200, "{body}");
    let got = streamed(&body);
    assert_eq!(got.error, None);
    assert_eq!(got.reasoning(), reasoning_for(PROMPT));
    assert_eq!(got.content(), gw.reply(), "content is the answer exactly");
    assert!(got.content.len() > 1, "the answer streams in steps");
    assert!(got.content.iter().all(|c| !c.is_empty()), "{got:?}");
    let first_content = got.order.iter().position(|&r| !r).unwrap();
    assert!(first_content > 0, "some reasoning is sent: {got:?}");
    assert!(
        got.order[first_content..].iter().all(|&r| !r),
        "every reasoning chunk comes before the first content chunk: {:?}",
        got.order
    );
    assert_eq!(got.finish, ["stop"]);

    let (status, body) = gw.ask(json!({"stream": true})).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        !body.contains("reasoning_content") && !body.contains("Thinking about"),
        "no reasoning unless asked: {body}"
    );
    let got = streamed(&body);
    assert_eq!(
        (got.content(), got.finish),
        (gw.reply(), vec!["stop".into()])
    );

    let (status, body) = gw
        .ask(json!({"stream": true, "include_reasoning": false}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains("reasoning_content"), "{body}");
}

#[tokio::test]
async fn a_whole_answer_carries_its_reasoning_only_when_asked() {
    let gw = Gateway::thinking().await;
    let (status, body) = gw.ask(json!({"include_reasoning": true})).await;
    assert_eq!(status, 200, "{body}");
    let completion: Value = serde_json::from_str(&body).unwrap();
    let message = &completion["choices"][0]["message"];
    assert_eq!(message["content"], gw.reply());
    assert_eq!(message["reasoning_content"], reasoning_for(PROMPT));
    assert_eq!(completion["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        completion["usage"]["completion_tokens"],
        fakegpt_gateway::tokens::count(&gw.reply()),
        "usage counts the answer, not the reasoning"
    );

    for extra in [json!({}), json!({"include_reasoning": false})] {
        let (status, body) = gw.ask(extra.clone()).await;
        assert_eq!(status, 200, "{extra}: {body}");
        assert!(
            !body.contains("reasoning_content") && !body.contains("Thinking about"),
            "{extra}: {body}"
        );
        let completion: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(completion["choices"][0]["message"]["content"], gw.reply());
    }
}

#[tokio::test]
async fn an_answer_without_reasoning_has_no_reasoning_content_even_when_asked() {
    // A legacy upstream has no reasoning to give.
    let gw = Gateway::quick(Config::default(), Dialect::Legacy).await;
    let (status, body) = gw.ask(json!({"include_reasoning": true})).await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains("reasoning_content"), "{body}");
    let (status, body) = gw
        .ask(json!({"stream": true, "include_reasoning": true}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains("reasoning_content"), "{body}");
    assert_eq!(streamed(&body).content(), gw.reply());
}

#[tokio::test]
async fn include_reasoning_must_be_a_boolean() {
    let gw = Gateway::thinking().await;
    let (status, body) = gw.ask(json!({"include_reasoning": "yes"})).await;
    assert_eq!(status, 400, "{body}");
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["type"], "invalid_request_error", "{body}");
    assert_eq!(error["error"]["param"], "include_reasoning", "{body}");
}

#[tokio::test]
async fn an_answer_cut_at_its_token_limit_finishes_with_length() {
    for served in [Served::V1, Served::Legacy] {
        let gw = Gateway::quick(
            Config {
                dialect: served,
                reasoning: served == Served::V1,
                finish_after: Some(30),
                ..Config::default()
            },
            Dialect::V1,
        )
        .await;
        let cut: String = gw.reply().chars().take(30).collect();

        let (status, body) = gw.ask(json!({"stream": true})).await;
        assert_eq!(status, 200, "{served:?}: {body}");
        let got = streamed(&body);
        assert_eq!(got.error, None, "{served:?}");
        assert_eq!(got.content(), cut, "{served:?}");
        assert_eq!(got.finish, ["length"], "{served:?}: {body}");

        let (status, body) = gw.ask(json!({})).await;
        assert_eq!(status, 200, "{served:?}: {body}");
        let completion: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            completion["choices"][0]["message"]["content"], cut,
            "{served:?}"
        );
        assert_eq!(
            completion["choices"][0]["finish_reason"], "length",
            "{served:?}"
        );
    }
}

/// Checks a gateway error object: OpenAI's shape, a server error with
/// `code`, a message holding `needle`, nothing of the upstream's insides.
fn check_error(error: &Value, code: &str, needle: &str, label: &str) {
    for key in ["message", "type", "param", "code"] {
        assert!(
            error.get(key).is_some(),
            "{label}: OpenAI error shape: {error}"
        );
    }
    assert_eq!(error["code"], code, "{label}: {error}");
    assert_eq!(error["type"], "server_error", "{label}: {error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains(needle), "{label}: {message}");
    assert!(!message.contains("/api/"), "{label}: {message}");
}

#[tokio::test]
async fn errors_inside_the_upstream_stream_follow_the_text_before_them() {
    const STREAM_ERROR: &str = "Something went wrong while generating the response.";
    for served in [Served::V1, Served::Legacy] {
        for (fault, code, needle) in [
            (
                Fault::StreamError { after_events: 3 },
                "upstream_error",
                STREAM_ERROR,
            ),
            (Fault::Moderation, "upstream_rejected", "moderation"),
        ] {
            let label = format!("{served:?} {fault:?}");
            let gw = Gateway::quick(
                Config {
                    dialect: served,
                    reasoning: served == Served::V1,
                    chars_per_event: 2,
                    ..Config::default()
                },
                Dialect::V1,
            )
            .await;

            gw.upstream.inject(fault, 1);
            let (status, body) = gw
                .ask(json!({"stream": true, "include_reasoning": true}))
                .await;
            assert_eq!(status, 200, "{label}: output began: {body}");
            let got = streamed(&body);
            let partial = got.content();
            assert!(
                !partial.is_empty() && partial.len() < gw.reply().len(),
                "{label}: some of the text: {partial:?}"
            );
            assert!(gw.reply().starts_with(&partial), "{label}: {partial:?}");
            if fault == (Fault::StreamError { after_events: 3 }) {
                assert_eq!(
                    partial,
                    gw.reply().chars().take(6).collect::<String>(),
                    "{label}: the text of the events before the error"
                );
            }
            assert!(got.finish.is_empty(), "{label}: no finish reason: {body}");
            let error = got
                .error
                .unwrap_or_else(|| panic!("{label}: an error event: {body}"));
            check_error(&error, code, needle, &label);
            assert!(body.trim_end().ends_with("data: [DONE]"), "{label}: {body}");

            gw.upstream.inject(fault, 1);
            let (status, body) = gw.ask(json!({})).await;
            assert_eq!(status, 502, "{label}: {body}");
            let error: Value = serde_json::from_str(&body).unwrap();
            check_error(&error["error"], code, needle, &label);
            assert!(
                !body.contains("choices") && !body.contains("You said"),
                "{label}: {body}"
            );

            // The fault was for one request each: the next is whole.
            let (status, body) = gw.ask(json!({})).await;
            assert_eq!(status, 200, "{label}: {body}");
        }
    }
}
