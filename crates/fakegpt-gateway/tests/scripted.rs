//! The gateway over a provider that is not FakeGpt: a scripted one, to show
//! that the gateway needs nothing of FakeGpt — its models, its errors'
//! kinds and its finish reasons all come through the `Provider` trait.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

use std::sync::Arc;
use std::time::Duration;

use fakegpt::{
    Answer, BoxFuture, ChatRequest, Chunk, Counter, Error, ErrorKind, FinishReason, Provider,
};
use fakegpt_gateway::{GatewayConfig, Running};
use serde_json::{json, Value};

/// Answers by the last message's text: `fail:KIND` fails before any text,
/// `cut` fails after some, `long` ends at the length limit; anything else
/// is echoed back in three chunks.
struct Scripted;

impl Provider for Scripted {
    fn name(&self) -> &str {
        "Scripted"
    }

    fn models(&self) -> Vec<String> {
        vec!["echo-1".into(), "echo-1-mini".into()]
    }

    fn chat(&self, request: ChatRequest) -> BoxFuture<Result<Answer, Error>> {
        Box::pin(async move {
            let last = request
                .messages
                .last()
                .map(|m| m.content.text().into_owned())
                .unwrap_or_default();
            let kind = match last.as_str() {
                "fail:timeout" => Some(ErrorKind::Timeout),
                "fail:rate" => Some(ErrorKind::RateLimited),
                "fail:rejected" => Some(ErrorKind::Rejected),
                "fail:invalid" => Some(ErrorKind::InvalidRequest),
                "fail:config" => Some(ErrorKind::Config),
                "fail:cancelled" => Some(ErrorKind::Cancelled),
                _ => None,
            };
            if let Some(kind) = kind {
                let err = Error::new(kind, format!("scripted {kind:?}"))
                    .with_context("secret step (POST /internal)")
                    .with_retry_after(Duration::from_secs(2));
                return Err(err);
            }
            let rest: Vec<Result<Chunk, Error>> = match last.as_str() {
                "cut" => vec![
                    Ok(Chunk::Text(" more".into())),
                    Err(Error::new(ErrorKind::Connect, "scripted break")),
                ],
                "long" => vec![
                    Ok(Chunk::Text(" and on".into())),
                    Ok(Chunk::Finish(FinishReason::Length)),
                ],
                _ => vec![
                    Ok(Chunk::Text(format!(" {last}"))),
                    Ok(Chunk::Text(".".into())),
                ],
            };
            Ok(Answer::new(
                format!("[{}]", request.model),
                futures_util::stream::iter(rest),
            ))
        })
    }

    fn counters(&self) -> Vec<Counter> {
        vec![Counter {
            name: "scripted_calls",
            help: "Calls the script saw",
            value: 7,
        }]
    }
}

async fn gateway(config: GatewayConfig) -> Running {
    Running::start(Arc::new(Scripted), config).await.unwrap()
}

async fn post(gw: &Running, body: Value) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", gw.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn chat(model: &str, text: &str, stream: bool) -> Value {
    json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": text}]})
}

#[tokio::test]
async fn models_come_from_the_provider_with_aliases() {
    let config = GatewayConfig::builder()
        .model_alias("gpt-4o-mini", "echo-1-mini")
        .build()
        .unwrap();
    let gw = gateway(config).await;
    let list: Value = reqwest::get(format!("{}/v1/models", gw.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["echo-1", "echo-1-mini", "gpt-4o-mini"]);
    let (status, body) = post(&gw, chat("gpt-4o-mini", "hi", false)).await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["model"], "gpt-4o-mini");
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "[echo-1-mini] hi."
    );
    assert_eq!(answer["choices"][0]["finish_reason"], "stop");
    let (status, _) = post(&gw, chat("gpt-3.5-turbo", "hi", false)).await;
    assert_eq!(status, 404, "FakeGpt's models are not assumed");

    let bad = GatewayConfig::builder()
        .model_alias("x", "gpt-3.5-turbo")
        .build()
        .unwrap();
    let refused = Running::start(Arc::new(Scripted), bad).await.err().unwrap();
    assert!(refused.to_string().contains("echo-1"), "{refused}");
}

#[tokio::test]
async fn every_error_kind_has_its_status_and_no_context_leaks() {
    let gw = gateway(GatewayConfig::default()).await;
    for (text, status, code) in [
        ("fail:timeout", 504, "upstream_timeout"),
        ("fail:rate", 429, "upstream_rate_limited"),
        ("fail:rejected", 502, "upstream_rejected"),
        ("fail:invalid", 400, ""),
        ("fail:config", 500, "gateway_misconfigured"),
        ("fail:cancelled", 503, ""),
    ] {
        for stream in [false, true] {
            let (got, body) = post(&gw, chat("echo-1", text, stream)).await;
            assert_eq!(got, status, "{text}, stream {stream}: {body}");
            let error: Value = serde_json::from_str(&body).unwrap();
            if !code.is_empty() {
                assert_eq!(error["error"]["code"], code, "{text}");
            }
            assert!(body.contains("scripted"), "{body}");
            assert!(
                !body.contains("/internal") && !body.contains("secret step"),
                "{body}"
            );
        }
    }
}

#[tokio::test]
async fn finish_reasons_and_failures_after_text_reach_the_client() {
    let gw = gateway(GatewayConfig::default()).await;
    let (status, body) = post(&gw, chat("echo-1", "long", false)).await;
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "[echo-1] and on"
    );
    assert_eq!(answer["choices"][0]["finish_reason"], "length");

    let (status, body) = post(&gw, chat("echo-1", "long", true)).await;
    assert_eq!(status, 200);
    assert!(body.contains(r#""finish_reason":"length""#), "{body}");
    assert!(body.ends_with("data: [DONE]\n\n"));

    let (status, body) = post(&gw, chat("echo-1", "cut", true)).await;
    assert_eq!(status, 200, "text went out before the failure");
    assert!(
        body.contains("[echo-1]") && body.contains("scripted break"),
        "{body}"
    );
    assert!(body.ends_with("data: [DONE]\n\n"));
    let (status, body) = post(&gw, chat("echo-1", "cut", false)).await;
    assert_eq!(status, 502, "{body}");

    let metrics = reqwest::get(format!("{}/metrics", gw.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("fakegpt_scripted_calls 7"), "{metrics}");
}
