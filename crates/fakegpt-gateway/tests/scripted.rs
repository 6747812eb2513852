//! The gateway over a provider that is not FakeGpt: a scripted one, to show
//! that the gateway needs nothing of FakeGpt — its models, its errors'
//! kinds and its finish reasons all come through the `Provider` trait.
//!
//! Nothing here needs the network, so the router is called in-process
//! (`tower`'s `oneshot`); the socket, streaming to a real client and
//! cancellation are covered against the emulator in `api.rs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request};
use axum::Router;
use fakegpt::{
    Answer, BoxFuture, ChatRequest, Chunk, Counter, Error, ErrorKind, FinishReason, Provider,
};
use fakegpt_gateway::GatewayConfig;
use serde_json::{json, Value};
use tower::ServiceExt;

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

fn gateway(config: GatewayConfig) -> Router {
    fakegpt_gateway::router(Arc::new(Scripted), config).unwrap()
}

/// A request for the router: `body`, if any, as JSON.
fn request(method: Method, path: &str, body: Option<Value>) -> axum::http::request::Builder {
    let request = Request::builder().method(method).uri(path);
    match body {
        Some(_) => request.header("content-type", "application/json"),
        None => request,
    }
}

/// One request through the router; the response and its whole body.
async fn send(gw: &Router, request: Request<Body>) -> (axum::http::response::Parts, String) {
    let response = gw.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    (parts, String::from_utf8(bytes.to_vec()).unwrap())
}

async fn call(gw: &Router, method: Method, path: &str, body: Option<Value>) -> (u16, String) {
    let json = body.as_ref().map(Value::to_string);
    let request = request(method, path, body)
        .body(json.map_or_else(Body::empty, Body::from))
        .unwrap();
    let (parts, body) = send(gw, request).await;
    (parts.status.as_u16(), body)
}

async fn post(gw: &Router, body: Value) -> (u16, String) {
    call(gw, Method::POST, "/v1/chat/completions", Some(body)).await
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
    let gw = gateway(config);
    let (status, list) = call(&gw, Method::GET, "/v1/models", None).await;
    assert_eq!(status, 200, "{list}");
    let list: Value = serde_json::from_str(&list).unwrap();
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
    let refused = fakegpt_gateway::router(Arc::new(Scripted), bad)
        .err()
        .unwrap();
    assert!(refused.to_string().contains("echo-1"), "{refused}");
}

#[tokio::test]
async fn every_error_kind_has_its_status_and_no_context_leaks() {
    let gw = gateway(GatewayConfig::default());
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
    let gw = gateway(GatewayConfig::default());
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

    let (status, metrics) = call(&gw, Method::GET, "/metrics", None).await;
    assert_eq!(status, 200);
    assert!(metrics.contains("fakegpt_scripted_calls 7"), "{metrics}");
}

#[tokio::test]
async fn api_keys_are_required_when_configured() {
    let config = GatewayConfig::builder()
        .api_key("sk-first")
        .api_key("sk-second")
        .build()
        .unwrap();
    let gw = gateway(config);
    let with_key = |key: Option<&str>, path: &str| {
        let body = chat("echo-1", "x", false);
        let mut request = request(Method::POST, path, Some(body.clone()));
        if let Some(key) = key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        request.body(Body::from(body.to_string())).unwrap()
    };
    for key in [None, Some("sk-wrong"), Some("sk-first-but-longer")] {
        let (parts, body) = send(&gw, with_key(key, "/v1/chat/completions")).await;
        assert_eq!(parts.status, 401, "{key:?}");
        let error: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["error"]["code"], "invalid_api_key");
        assert!(!body.contains("sk-first"), "keys never echoed: {body}");
    }
    let (status, _) = call(&gw, Method::GET, "/v1/models", None).await;
    assert_eq!(status, 401);
    let (parts, _) = send(&gw, with_key(Some("sk-second"), "/v1/chat/completions")).await;
    assert_eq!(parts.status, 200);
    let (status, _) = call(&gw, Method::GET, "/healthz", None).await;
    assert_eq!(status, 200, "probes need no key");
}

#[tokio::test]
async fn cors_is_off_by_default_and_configurable() {
    let preflight = || {
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/v1/chat/completions")
            .header("origin", "https://app.example")
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .body(Body::empty())
            .unwrap()
    };
    let (off, _) = send(&gateway(GatewayConfig::default()), preflight()).await;
    assert!(!off.headers.contains_key("access-control-allow-origin"));
    let config = GatewayConfig::builder()
        .cors_origin("https://app.example")
        .build()
        .unwrap();
    let (on, _) = send(&gateway(config), preflight()).await;
    assert_eq!(
        on.headers["access-control-allow-origin"],
        "https://app.example"
    );
    let (other, _) = send(
        &gateway(
            GatewayConfig::builder()
                .cors_origin("https://elsewhere.example")
                .build()
                .unwrap(),
        ),
        preflight(),
    )
    .await;
    assert!(
        !other.headers.contains_key("access-control-allow-origin"),
        "only the configured origin"
    );
}
