//! Native conversations through the gateway, over loopback against the
//! emulator: clients send the whole history every time, and a history the
//! gateway answered before continues on the upstream with the new message
//! only (the emulator answers "(turn N)" and quotes just that message);
//! an edited, shortened or re-prompted history, an answer cut by
//! `max_tokens`, or a forged conversation header starts a new
//! conversation; two gateways sharing a real Redis continue each other's
//! conversations; with the switch off nothing is kept.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

mod common;

#[path = "../../fakegpt/tests/support/redis_server.rs"]
mod redis_server;

use std::sync::Arc;
use std::time::Duration;

use fakegpt::{format_prompt, FakeGpt, Message, Provider, RetryPolicy, Store};
use fakegpt_gateway::{GatewayConfig, Running};
use fakegpt_upstream::{reply_in_turn, Config, Emulator};
use serde_json::{json, Value};

/// A gateway in front of `upstream`, keeping its session and conversation
/// index in `store` (native conversations when `native`).
async fn gateway(upstream: &Emulator, store: &Store, native: bool) -> Running {
    let provider = FakeGpt::builder()
        .base_url(upstream.url())
        .store(store.clone())
        .retry(RetryPolicy::NONE)
        .build()
        .unwrap();
    let mut config = GatewayConfig::builder();
    if native {
        let index = store
            .conversation_index(&upstream.url(), Duration::from_secs(3600), 1000)
            .unwrap();
        config = config.native_conversations(index);
    }
    let provider: Arc<dyn Provider> = Arc::new(provider);
    Running::start(provider, config.build().unwrap())
        .await
        .unwrap()
}

/// What one answer came to: its text, finish reason and conversation
/// header.
struct Said {
    text: String,
    finish: String,
    header: Option<String>,
}

/// Posts `messages` (with `extra` merged in), streamed or not.
async fn chat(gateway: &Running, messages: &[Value], stream: bool, extra: Value) -> Said {
    chat_with(gateway, messages, stream, extra, None).await
}

async fn chat_with(
    gateway: &Running,
    messages: &[Value],
    stream: bool,
    extra: Value,
    header: Option<&str>,
) -> Said {
    let mut body = json!({"model": "gpt-3.5-turbo", "messages": messages, "stream": stream});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let mut request = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", gateway.url))
        .json(&body);
    if let Some(header) = header {
        request = request.header("x-fakegpt-conversation", header);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let header = response
        .headers()
        .get("x-fakegpt-conversation")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.text().await.unwrap();
    if !stream {
        let body: Value = serde_json::from_str(&body).unwrap();
        let choice = &body["choices"][0];
        return Said {
            text: choice["message"]["content"].as_str().unwrap().to_owned(),
            finish: choice["finish_reason"].as_str().unwrap().to_owned(),
            header,
        };
    }
    let (mut text, mut finish) = (String::new(), String::new());
    for data in common::sse_data(&body) {
        if data == "[DONE]" {
            break;
        }
        let chunk: Value = serde_json::from_str(&data).unwrap();
        let choice = &chunk["choices"][0];
        text.push_str(choice["delta"]["content"].as_str().unwrap_or_default());
        if let Some(reason) = choice["finish_reason"].as_str() {
            reason.clone_into(&mut finish);
        }
    }
    Said {
        text,
        finish,
        header,
    }
}

fn user(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

fn assistant(text: &str) -> Value {
    json!({"role": "assistant", "content": text})
}

fn system(text: &str) -> Value {
    json!({"role": "system", "content": text})
}

/// The library's messages for `history`, to know the flattened prompt.
fn flattened(history: &[Value]) -> String {
    let messages: Vec<Message> = history
        .iter()
        .map(|m| Message::new(m["role"].as_str().unwrap(), m["content"].as_str().unwrap()))
        .collect();
    format_prompt(&messages)
}

#[tokio::test]
async fn whole_histories_continue_on_the_upstream_streamed_or_not() {
    let upstream = Emulator::start(Config::default()).await.unwrap();
    let cfg = upstream.state().config();
    let gateway = gateway(&upstream, &Store::Memory, true).await;
    let mut history = vec![system("Be brief."), user("Hello there")];
    let first = chat(&gateway, &history, false, json!({})).await;
    assert_eq!(first.text, reply_in_turn(&cfg, &flattened(&history), 1, 0));
    let id = first.header.expect("the new conversation's id");
    history.push(assistant(&first.text));
    for turn in 2..=5u32 {
        let question = format!("Question {turn}?");
        history.push(user(&question));
        let said = chat(&gateway, &history, turn % 2 == 0, json!({})).await;
        assert_eq!(
            said.text,
            reply_in_turn(&cfg, &question, turn, 0),
            "turn {turn}"
        );
        assert_eq!(said.finish, "stop");
        assert_eq!(said.header.as_deref(), Some(id.as_str()), "turn {turn}");
        history.push(assistant(&said.text));
    }
    let counters = upstream.counters();
    assert_eq!((counters.kept, counters.continued), (1, 4));
}

#[tokio::test]
async fn any_other_history_or_a_forged_header_starts_a_new_conversation() {
    let upstream = Emulator::start(Config::default()).await.unwrap();
    let cfg = upstream.state().config();
    let gateway = gateway(&upstream, &Store::Memory, true).await;
    let mut history = vec![system("Be brief."), user("One")];
    let first = chat(&gateway, &history, false, json!({})).await;
    let id = first.header.unwrap();
    history.push(assistant(&first.text));
    history.push(user("Two"));
    let second = chat(&gateway, &history, true, json!({})).await;
    history.push(assistant(&second.text));

    let mut edited = history.clone();
    edited[1] = user("One, but edited");
    let mut dropped = history.clone();
    dropped.drain(1..3);
    let mut reprompted = history.clone();
    reprompted[0] = system("Be thorough.");
    let forged = vec![user("Never asked before")];
    for (name, mut asked) in [
        ("edited", edited),
        ("dropped", dropped),
        ("system", reprompted),
        ("forged", forged),
    ] {
        asked.push(user("Three"));
        let said = chat_with(&gateway, &asked, false, json!({}), Some(&id)).await;
        assert_eq!(
            said.text,
            reply_in_turn(&cfg, &flattened(&asked), 1, 0),
            "{name}"
        );
        assert_ne!(said.header.as_deref(), Some(id.as_str()), "{name}");
    }
    // The true history still continues, header or not.
    history.push(user("Three"));
    let said = chat(&gateway, &history, true, json!({})).await;
    assert_eq!(said.text, reply_in_turn(&cfg, "Three", 3, 0));
    let counters = upstream.counters();
    assert_eq!((counters.kept, counters.continued), (5, 2));
}

#[tokio::test]
async fn an_answer_cut_by_max_tokens_is_followed_by_a_new_conversation() {
    let upstream = Emulator::start(Config::default()).await.unwrap();
    let cfg = upstream.state().config();
    let gateway = gateway(&upstream, &Store::Memory, true).await;
    let mut history = vec![user("Say a lot")];
    let cut = chat(&gateway, &history, true, json!({"max_tokens": 5})).await;
    assert_eq!(cut.finish, "length");
    history.push(assistant(&cut.text));
    history.push(user("Go on"));
    // What the client holds is not what the upstream's conversation holds.
    let said = chat(&gateway, &history, false, json!({})).await;
    assert_eq!(said.text, reply_in_turn(&cfg, &flattened(&history), 1, 0));
    assert_eq!(upstream.counters().continued, 0);
}

#[tokio::test]
async fn two_gateways_on_one_redis_continue_each_others_conversations() {
    let mut redis = redis_server::RedisServer::start();
    let upstream = Emulator::start(Config::default()).await.unwrap();
    let cfg = upstream.state().config();
    let store = Store::Redis {
        url: redis.url(),
        prefix: "gw:".into(),
    };
    let (one, two) = (
        gateway(&upstream, &store, true).await,
        gateway(&upstream, &store, true).await,
    );
    let mut history = vec![user("Started on one")];
    let first = chat(&one, &history, true, json!({})).await;
    history.push(assistant(&first.text));
    for (turn, gateway) in [(2, &two), (3, &one), (4, &two)] {
        let question = format!("Turn {turn}, on another instance");
        history.push(user(&question));
        let said = chat(gateway, &history, turn == 3, json!({})).await;
        assert_eq!(said.text, reply_in_turn(&cfg, &question, turn, 0));
        history.push(assistant(&said.text));
    }
    assert_eq!(upstream.counters().continued, 3);

    // A Redis that is gone degrades the service: new conversations.
    redis.kill();
    history.push(user("Still answered?"));
    let said = chat(&one, &history, false, json!({})).await;
    assert_eq!(said.text, reply_in_turn(&cfg, &flattened(&history), 1, 0));
}

#[tokio::test]
async fn with_the_switch_off_nothing_is_kept() {
    let upstream = Emulator::start(Config::default()).await.unwrap();
    let gateway = gateway(&upstream, &Store::Memory, false).await;
    let mut history = vec![user("Hi")];
    let first = chat(&gateway, &history, false, json!({})).await;
    assert!(first.header.is_none());
    history.push(assistant(&first.text));
    history.push(user("Again"));
    let said = chat(&gateway, &history, true, json!({})).await;
    assert_eq!(said.text, upstream.reply_for(&flattened(&history)));
    let counters = upstream.counters();
    assert_eq!(
        (counters.kept, counters.continued, counters.conversations),
        (0, 0, 2)
    );
}
