//! The conversation index: in memory, and in a real `redis-server` shared
//! by two instances, so that a conversation kept through one continues
//! through the other; entries expire and stay bounded; a Redis that is
//! gone fails calls with a typed error, quickly.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

use std::time::{Duration, Instant};

use fakegpt::{ChatRequest, Conversation, FakeGpt, HistoryHash, Message, Store};
use fakegpt_upstream::{reply_in_turn, Config, Emulator};

#[path = "support/redis_server.rs"]
mod redis_server;

use redis_server::RedisServer;

fn provider(emulator: &Emulator, store: &Store) -> FakeGpt {
    FakeGpt::builder()
        .base_url(emulator.url())
        .store(store.clone())
        .build()
        .unwrap()
}

/// Asks `messages` in `mode`; the text and the handle.
async fn ask(provider: &FakeGpt, request: ChatRequest) -> (String, Conversation) {
    let mut answer = provider.chat(request).await.unwrap();
    let text = answer.read_text().await.unwrap();
    (text, answer.conversation().cloned().unwrap())
}

#[tokio::test]
async fn two_instances_on_one_redis_continue_each_others_conversations() {
    let redis = RedisServer::start();
    let emulator = Emulator::start(Config::default()).await.unwrap();
    let cfg = emulator.state().config();
    let store = Store::Redis {
        url: redis.url(),
        prefix: "test:".into(),
    };
    let ttl = Duration::from_secs(600);
    let (one, two) = (provider(&emulator, &store), provider(&emulator, &store));
    let index_one = store.conversation_index(&emulator.url(), ttl, 100).unwrap();
    let index_two = store.conversation_index(&emulator.url(), ttl, 100).unwrap();

    let mut messages = vec![Message::system("Short answers."), Message::user("Hello")];
    let request = ChatRequest::new("", messages.clone()).kept();
    let (text, handle) = ask(&one, request).await;
    index_one.keep(&handle).await.unwrap();
    messages.push(Message::assistant(text));
    // The other instance finds it by the history alone, and continues it.
    let found = index_two
        .find(HistoryHash::of(&messages))
        .await
        .unwrap()
        .expect("kept through the other instance");
    assert_eq!(found, handle);
    messages.push(Message::user("And you?"));
    let (text, next) = ask(
        &two,
        ChatRequest::new("", messages.clone()).continuing(found),
    )
    .await;
    assert_eq!(text, reply_in_turn(&cfg, "And you?", 2, 0));
    assert_eq!(next.id(), handle.id());
    assert_eq!(emulator.counters().continued, 1);
    // A history it has not seen finds nothing.
    messages[0] = Message::system("Long answers.");
    assert!(index_two
        .find(HistoryHash::of(&messages))
        .await
        .unwrap()
        .is_none());
    // The entry is private data: its session password is in it, as documented.
    let keys = redis.command("KEYS test:*conversation:*").unwrap();
    assert!(keys.contains("conversation:"), "{keys}");
}

#[tokio::test]
async fn redis_entries_expire_and_stay_bounded_and_a_lost_redis_is_an_error() {
    let mut redis = RedisServer::start();
    let emulator = Emulator::start(Config::default()).await.unwrap();
    let store = Store::Redis {
        url: redis.url(),
        prefix: "bound:".into(),
    };
    let provider = provider(&emulator, &store);
    let mut handles = Vec::new();
    for i in 0..5 {
        let request = ChatRequest::new("", vec![Message::user(format!("question {i}"))]).kept();
        handles.push(ask(&provider, request).await.1);
    }
    let bounded = store
        .conversation_index(&emulator.url(), Duration::from_secs(600), 3)
        .unwrap();
    for handle in &handles {
        bounded.keep(handle).await.unwrap();
    }
    assert_eq!(bounded.len().await.unwrap(), 3);
    for (i, handle) in handles.iter().enumerate() {
        let found = bounded.find(handle.history()).await.unwrap();
        assert_eq!(found.is_some(), i >= 2, "entry {i}");
    }

    let short = store
        .conversation_index(&emulator.url(), Duration::from_secs(1), 10)
        .unwrap();
    short.keep(&handles[0]).await.unwrap();
    assert!(short.find(handles[0].history()).await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert!(short.find(handles[0].history()).await.unwrap().is_none());

    redis.kill();
    let started = Instant::now();
    let err = bounded.find(handles[4].history()).await.unwrap_err();
    assert!(
        matches!(
            err.kind(),
            fakegpt::ErrorKind::Connect | fakegpt::ErrorKind::Timeout
        ),
        "{err}"
    );
    assert!(bounded.keep(&handles[4]).await.is_err());
    assert!(started.elapsed() < Duration::from_secs(10));
}
