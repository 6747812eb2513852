//! Both event-stream dialects against the emulator over loopback HTTP: the
//! same answer served cumulatively and delta-encoded decodes to the same
//! text, reasoning stays apart, the finish reason and in-stream errors
//! come through typed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

use std::time::Duration;

use fakegpt::{
    ChatRequest, Chunk, Dialect, ErrorKind, FakeGpt, FinishReason, Message, RetryPolicy,
};
use fakegpt_upstream::{reasoning_for, Config, Dialect as Served, Emulator, Fault};

const PROMPT: &str = "Tell me about «dialects» — \"both\" of them \\ please 👋";

async fn emulator(config: Config) -> Emulator {
    Emulator::start(Config {
        event_delay: Duration::ZERO,
        ..config
    })
    .await
    .expect("emulator starts")
}

fn provider(upstream: &Emulator, dialect: Dialect) -> FakeGpt {
    FakeGpt::builder()
        .base_url(upstream.url())
        .dialect(dialect)
        .retry(RetryPolicy::NONE)
        .build()
        .expect("a provider")
}

fn request() -> ChatRequest {
    ChatRequest::new("gpt-3.5-turbo", vec![Message::user(PROMPT)])
}

/// Everything an answer hands out: its text, its reasoning, the number of
/// text chunks, how it ended, and the error that ended it if one did.
#[derive(Debug, Default)]
struct Received {
    text: String,
    reasoning: String,
    text_chunks: usize,
    finish: Option<FinishReason>,
    error: Option<fakegpt::Error>,
}

async fn receive(provider: &FakeGpt) -> Received {
    let mut got = Received::default();
    let mut answer = match provider.chat(request()).await {
        Ok(answer) => answer,
        Err(err) => {
            got.error = Some(err);
            return got;
        }
    };
    while let Some(chunk) = answer.next_chunk().await {
        match chunk {
            Ok(Chunk::Text(text)) => {
                got.text.push_str(&text);
                got.text_chunks += 1;
            }
            Ok(Chunk::Reasoning(text)) => got.reasoning.push_str(&text),
            Ok(other) => panic!("unexpected {other:?}"),
            Err(err) => {
                got.error = Some(err);
                break;
            }
        }
    }
    got.finish = answer.finish_reason();
    got
}

/// The `supported_encodings` the emulator saw in the last conversation.
fn offered(upstream: &Emulator) -> serde_json::Value {
    let recorded = upstream.state().recorded();
    let last = recorded
        .iter()
        .rev()
        .find(|r| r.target.starts_with("/api/conversation"))
        .expect("a conversation was sent");
    let body: serde_json::Value = serde_json::from_slice(&last.body).unwrap();
    body["supported_encodings"].clone()
}

#[tokio::test]
async fn the_same_answer_decodes_alike_in_both_dialects_whatever_the_framing() {
    for (crlf, split_writes, noise, chars_per_event) in [
        (false, false, false, 4),
        (true, false, true, 1),
        (false, true, true, 7),
        (true, true, false, 3),
    ] {
        let framing = Config {
            crlf,
            split_writes,
            noise,
            chars_per_event,
            reply_chars: 300,
            ..Config::default()
        };
        let legacy = emulator(framing.clone()).await;
        let v1 = emulator(Config {
            dialect: Served::V1,
            reasoning: true,
            ..framing.clone()
        })
        .await;
        let expected = legacy.reply_for(PROMPT);
        let a = receive(&provider(&legacy, Dialect::Legacy)).await;
        let b = receive(&provider(&v1, Dialect::V1)).await;
        let label =
            format!("crlf {crlf}, split {split_writes}, noise {noise}, step {chars_per_event}");
        assert!(
            a.error.is_none() && b.error.is_none(),
            "{label}: {a:?} {b:?}"
        );
        assert_eq!(a.text, expected, "{label}: legacy");
        assert_eq!(b.text, expected, "{label}: v1");
        assert_eq!(a.finish, Some(FinishReason::Stop), "{label}");
        assert_eq!(b.finish, Some(FinishReason::Stop), "{label}");
        assert!(b.text_chunks > 1, "{label}: streamed in steps");
        assert_eq!(a.reasoning, "", "{label}");
        assert_eq!(
            b.reasoning,
            reasoning_for(PROMPT),
            "{label}: reasoning apart"
        );
        assert_eq!(
            offered(&legacy),
            serde_json::Value::Null,
            "legacy offers nothing"
        );
        assert_eq!(offered(&v1), serde_json::json!(["v1"]));
    }
}

#[tokio::test]
async fn the_dialect_is_recognised_from_the_stream_whatever_was_asked() {
    // Asked for legacy, served v1; asked for v1, served legacy; and an
    // emulator that answers as asked.
    for (served, asked) in [
        (Served::V1, Dialect::Legacy),
        (Served::Legacy, Dialect::V1),
        (Served::Auto, Dialect::V1),
        (Served::Auto, Dialect::Legacy),
    ] {
        let upstream = emulator(Config {
            dialect: served,
            ..Config::default()
        })
        .await;
        let got = receive(&provider(&upstream, asked)).await;
        assert!(got.error.is_none(), "{served:?} {asked:?}: {:?}", got.error);
        assert_eq!(got.text, upstream.reply_for(PROMPT), "{served:?} {asked:?}");
    }
}

#[tokio::test]
async fn max_tokens_ends_the_answer_with_length_in_both_dialects() {
    for served in [Served::Legacy, Served::V1] {
        let upstream = emulator(Config {
            dialect: served,
            finish_after: Some(25),
            ..Config::default()
        })
        .await;
        let got = receive(&provider(&upstream, Dialect::V1)).await;
        assert!(got.error.is_none(), "{served:?}: {:?}", got.error);
        let expected: String = upstream.reply_for(PROMPT).chars().take(25).collect();
        assert_eq!(got.text, expected, "{served:?}");
        assert_eq!(got.finish, Some(FinishReason::Length), "{served:?}");
    }
}

#[tokio::test]
async fn errors_inside_the_stream_are_typed_after_the_text_before_them() {
    for served in [Served::Legacy, Served::V1] {
        for (fault, kind) in [
            (
                Fault::StreamError { after_events: 3 },
                ErrorKind::UpstreamStatus,
            ),
            (Fault::Moderation, ErrorKind::Rejected),
        ] {
            let upstream = emulator(Config {
                dialect: served,
                chars_per_event: 2,
                ..Config::default()
            })
            .await;
            upstream.inject(fault, 1);
            let got = receive(&provider(&upstream, Dialect::V1)).await;
            let err = got
                .error
                .unwrap_or_else(|| panic!("{served:?} {fault:?}: no error"));
            assert_eq!(err.kind(), kind, "{served:?} {fault:?}: {err}");
            let reply = upstream.reply_for(PROMPT);
            assert!(
                !got.text.is_empty() && reply.starts_with(&got.text),
                "{served:?} {fault:?}: {:?}",
                got.text
            );
            if fault == Fault::Moderation {
                assert!(err.message().contains("moderation"), "{err}");
            } else {
                assert!(err.message().contains("Something went wrong"), "{err}");
            }
        }
    }
}

#[tokio::test]
async fn a_delta_encoded_answer_that_stops_short_is_an_error() {
    let upstream = emulator(Config {
        dialect: Served::V1,
        chars_per_event: 2,
        ..Config::default()
    })
    .await;
    upstream.inject(Fault::Incomplete { after_events: 4 }, 1);
    let got = receive(&provider(&upstream, Dialect::V1)).await;
    let err = got.error.expect("an error");
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert!(
        err.message()
            .contains("ended before the answer was complete"),
        "{err}"
    );
    assert_eq!(
        got.text,
        upstream
            .reply_for(PROMPT)
            .chars()
            .take(8)
            .collect::<String>()
    );
}

#[tokio::test]
async fn reasoning_counts_as_the_first_byte_and_comes_before_the_text() {
    // The reasoning comes at once; the answer's first frame 400 ms later,
    // past a first-byte timeout of 150 ms.
    let upstream = Emulator::start(Config {
        dialect: Served::V1,
        reasoning: true,
        event_delay: Duration::from_millis(400),
        reply_chars: 0,
        chars_per_event: 400,
        ..Config::default()
    })
    .await
    .expect("emulator starts");
    let provider = FakeGpt::builder()
        .base_url(upstream.url())
        .dialect(Dialect::V1)
        .retry(RetryPolicy::NONE)
        .timeouts(fakegpt::Timeouts {
            first_byte: Some(Duration::from_millis(150)),
            ..fakegpt::Timeouts::default()
        })
        .build()
        .expect("a provider");
    let got = receive(&provider).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    assert_eq!(got.reasoning, reasoning_for(PROMPT));
    assert_eq!(got.text, upstream.reply_for(PROMPT));
}
