//! The gateway over a real loopback socket, in front of the emulator.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use fakegpt::{FakeGpt, FakeGptBuilder, Provider, Timeouts};
use fakegpt_gateway::openai::{ChatCompletion, ChatCompletionChunk};
use fakegpt_gateway::{AppState, GatewayConfig, Running};
use fakegpt_upstream::{Config, Emulator, Fault};
use futures_util::StreamExt;
use serde_json::{json, Value};

struct Gateway {
    url: String,
    upstream: Emulator,
    state: Arc<AppState>,
    running: Running,
}

impl Gateway {
    async fn start(upstream_config: Config, config: GatewayConfig) -> Gateway {
        Self::start_with(upstream_config, config, |provider| provider).await
    }

    /// A gateway whose provider's settings `tune` adjusts.
    async fn start_with(
        upstream_config: Config,
        config: GatewayConfig,
        tune: impl FnOnce(FakeGptBuilder) -> FakeGptBuilder,
    ) -> Gateway {
        let upstream = Emulator::start(upstream_config).await.unwrap();
        let provider: Arc<dyn Provider> = Arc::new(
            tune(
                FakeGpt::builder()
                    .base_url(upstream.url())
                    .login_backoff(Duration::from_millis(100), Duration::from_millis(100)),
            )
            .build()
            .unwrap(),
        );
        let running = Running::start(provider, config).await.unwrap();
        Gateway {
            url: running.url.clone(),
            state: Arc::clone(&running.state),
            upstream,
            running,
        }
    }

    async fn plain() -> Gateway {
        Self::start(Config::default(), GatewayConfig::default()).await
    }

    fn post(&self, body: Value) -> reqwest::RequestBuilder {
        reqwest::Client::new()
            .post(format!("{}/v1/chat/completions", self.url))
            .json(&body)
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new().get(format!("{}{path}", self.url))
    }
}

/// Sends `request` and parses its JSON answer.
async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

fn chat(prompt: &str) -> Value {
    json!({"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": prompt}]})
}

fn streaming(prompt: &str) -> Value {
    json!({"model": "gpt-3.5-turbo", "stream": true, "messages": [{"role": "user", "content": prompt}]})
}

/// The `data:` payloads of an event-stream body.
fn events(body: &str) -> Vec<String> {
    common::sse_data(body)
}

async fn error_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    let error = body["error"].clone();
    for key in ["message", "type", "param", "code"] {
        assert!(error.get(key).is_some(), "OpenAI error shape: {body}");
    }
    (status, error)
}

#[tokio::test]
async fn a_whole_answer_is_a_chat_completion() {
    let gw = Gateway::plain().await;
    let response = gw.post(chat("Hello there")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    let completion: ChatCompletion = response.json().await.unwrap();
    assert!(completion.id.starts_with("chatcmpl-"));
    assert_eq!(completion.object, "chat.completion");
    assert_eq!(completion.model, "gpt-3.5-turbo");
    assert_eq!(completion.choices.len(), 1);
    let choice = &completion.choices[0];
    assert_eq!(
        (choice.message.role.as_str(), choice.finish_reason.as_str()),
        ("assistant", "stop")
    );
    assert_eq!(choice.message.content, gw.upstream.reply_for("Hello there"));
    let usage = completion.usage;
    assert_eq!(
        usage.prompt_tokens,
        fakegpt_gateway::tokens::prompt(&[fakegpt::Message::user("Hello there")], &[None])
    );
    assert_eq!(
        usage.completion_tokens,
        fakegpt_gateway::tokens::count(&choice.message.content)
    );
    assert!(usage.completion_tokens > 10);
    assert_eq!(
        usage.total_tokens,
        usage.prompt_tokens + usage.completion_tokens
    );
}

#[tokio::test]
async fn a_streamed_answer_is_chunks_then_done() {
    let gw = Gateway::plain().await;
    let mut body = streaming("stream me");
    body["stream_options"] = json!({"include_usage": true});
    let response = gw.post(body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/event-stream; charset=utf-8"
    );
    assert_eq!(response.headers()["x-accel-buffering"], "no");
    let text = response.text().await.unwrap();
    let events = events(&text);
    assert_eq!(events.last().unwrap(), "[DONE]");
    let chunks: Vec<ChatCompletionChunk> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert_eq!(
        chunks[0].choices[0].delta.role.as_deref(),
        Some("assistant")
    );
    assert!(chunks
        .iter()
        .all(|c| c.id == chunks[0].id && c.object == "chat.completion.chunk"));
    let content: String = chunks
        .iter()
        .flat_map(|c| c.choices.iter())
        .filter_map(|c| c.delta.content.clone())
        .collect();
    assert_eq!(content, gw.upstream.reply_for("stream me"));
    assert!(chunks.len() > 10, "streamed in pieces");
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish.choices[0].finish_reason.as_deref(), Some("stop"));
    let usage_chunk: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
    assert_eq!(usage_chunk["choices"], json!([]));
    assert_eq!(
        usage_chunk["usage"]["completion_tokens"],
        fakegpt_gateway::tokens::count(&content)
    );
    let middle: Value = serde_json::from_str(&events[1]).unwrap();
    assert_eq!(
        middle["usage"],
        Value::Null,
        "usage is null until the last chunk"
    );
    assert_eq!(gw.state.metrics.in_flight_streams.get(), 0);
}

#[tokio::test]
async fn invalid_requests_are_400_naming_the_field() {
    let gw = Gateway::plain().await;
    let bad_json = gw
        .post(json!(null))
        .body("{\"model\": ")
        .send()
        .await
        .unwrap();
    let (status, error) = error_of(bad_json).await;
    assert_eq!(
        (status, error["type"].as_str()),
        (400, Some("invalid_request_error"))
    );
    let cases = [
        (
            json!({"model": "gpt-3.5-turbo", "n": 2, "messages": [{"role": "user", "content": "x"}]}),
            "n",
        ),
        (
            json!({"model": "gpt-3.5-turbo", "tools": [{"type": "function", "function": {"name": "f"}}], "messages": [{"role": "user", "content": "x"}]}),
            "tools",
        ),
        (
            json!({"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}]}),
            "messages[0].content[0].type",
        ),
        (
            json!({"model": "gpt-3.5-turbo", "messages": "hi"}),
            "messages",
        ),
    ];
    for (body, param) in cases {
        let (status, error) = error_of(gw.post(body).send().await.unwrap()).await;
        assert_eq!(
            (status, error["param"].as_str()),
            (400, Some(param)),
            "{error}"
        );
    }
    assert_eq!(
        gw.upstream.counters().conversations,
        0,
        "nothing reached the upstream"
    );
}

#[tokio::test]
async fn unknown_models_routes_and_methods() {
    let gw = Gateway::plain().await;
    let mut body = chat("x");
    body["model"] = json!("gpt-4");
    let (status, error) = error_of(gw.post(body).send().await.unwrap()).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (404, Some("model_not_found"))
    );
    let (status, _) = error_of(gw.get("/v1/engines").send().await.unwrap()).await;
    assert_eq!(status, 404);
    let (status, _) = error_of(gw.get("/v1/models/gpt-4").send().await.unwrap()).await;
    assert_eq!(status, 404);
    let (status, _) = error_of(gw.get("/v1/chat/completions").send().await.unwrap()).await;
    assert_eq!(status, 405);

    let models: Value = json_of(gw.get("/v1/models")).await;
    assert_eq!(models["object"], "list");
    assert_eq!(models["data"][0]["id"], "gpt-3.5-turbo");
    assert_eq!(models["data"][0]["object"], "model");
    let one: Value = json_of(gw.get("/v1/models/gpt-3.5-turbo-0125")).await;
    assert_eq!(one["id"], "gpt-3.5-turbo-0125");
    // An alias reaches the provider's model.
    let mut alias = chat("alias");
    alias["model"] = json!("gpt-3.5-turbo-0125");
    let completion: ChatCompletion = gw.post(alias).send().await.unwrap().json().await.unwrap();
    assert_eq!(completion.model, "gpt-3.5-turbo-0125");
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let config = GatewayConfig::builder()
        .max_body_bytes(4096)
        .build()
        .unwrap();
    let gw = Gateway::start(Config::default(), config).await;
    let (status, error) = error_of(gw.post(chat(&"x".repeat(5000))).send().await.unwrap()).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (413, Some("request_too_large"))
    );
    // Without a Content-Length (chunked), the limit holds too.
    let chunks = futures_util::stream::iter(
        (0..10).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b' '; 1000]))),
    );
    let chunked = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", gw.url))
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(chunked.status(), 413);
}

#[tokio::test]
async fn requests_over_the_concurrency_limit_are_429() {
    let upstream = Config {
        event_delay: Duration::from_millis(30),
        ..Config::default()
    };
    let config = GatewayConfig::builder().max_concurrency(1).build().unwrap();
    let gw = Gateway::start(upstream, config).await;
    let first = gw.post(streaming("slow")).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let (status, error) = error_of(gw.post(chat("second")).send().await.unwrap()).await;
    assert_eq!(
        (status, error["type"].as_str()),
        (429, Some("rate_limit_error"))
    );
    let text = first.text().await.unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"));
    assert_eq!(
        gw.post(chat("third")).send().await.unwrap().status(),
        200,
        "the permit came back"
    );
}

#[tokio::test]
async fn upstream_failures_before_output_get_real_statuses() {
    let gw = Gateway::start_with(Config::default(), GatewayConfig::default(), |provider| {
        provider
            .timeouts(Timeouts {
                idle: Some(Duration::from_millis(300)),
                ..Timeouts::default()
            })
            // Retries would hide the faults; they have a test of their own.
            .retry(fakegpt::RetryPolicy::NONE)
    })
    .await;
    let cases: Vec<(Fault, u16, &str)> = vec![
        (Fault::ServerError, 502, "HTTP 500"),
        (Fault::HtmlForbidden, 502, "an HTML page titled"),
        (Fault::NoValidEvent, 502, "No valid response"),
        (
            Fault::StallMidStream { after_events: 0 },
            504,
            "idle timeout",
        ),
        (Fault::TooManyRequests { retry_after: 9 }, 429, "HTTP 429"),
    ];
    for (fault, status, needle) in cases {
        for body in [chat("x"), streaming("x")] {
            // HTML 403 is retried once after a fresh login, so it must fail twice.
            gw.upstream.state().clear_faults();
            gw.upstream.inject(fault, 2);
            let response = gw.post(body).send().await.unwrap();
            let retry_after = response.headers().get("retry-after").cloned();
            let (got, error) = error_of(response).await;
            let message = error["message"].as_str().unwrap();
            assert_eq!(got, status, "{fault:?}: {message}");
            assert!(message.contains(needle), "{fault:?}: {message}");
            assert!(
                !message.contains("<html") && !message.contains("eyJ"),
                "{message}"
            );
            if status == 429 {
                assert_eq!(retry_after.unwrap(), "9");
            }
        }
        gw.upstream.state().clear_faults();
    }
}

#[tokio::test]
async fn transient_upstream_failures_are_retried_unseen() {
    let gw = Gateway::plain().await;
    gw.upstream.inject(Fault::ServerError, 1);
    gw.upstream
        .inject(Fault::TooManyRequests { retry_after: 0 }, 1);
    let completion: ChatCompletion = gw
        .post(chat("retry"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        completion.choices[0].message.content,
        gw.upstream.reply_for("retry")
    );
    assert_eq!(gw.upstream.counters().faults, 2);
}

#[tokio::test]
async fn a_failed_login_is_502_without_naming_upstream_endpoints() {
    for body in [chat("x"), streaming("x")] {
        let gw = Gateway::plain().await;
        gw.upstream.inject(Fault::EmptyLoads, 1);
        let (status, error) = error_of(gw.post(body).send().await.unwrap()).await;
        let message = error["message"].as_str().unwrap();
        assert_eq!(
            (status, error["code"].as_str()),
            (502, Some("upstream_rejected")),
            "{message}"
        );
        assert!(message.contains("no shared accounts"), "{message}");
        assert!(!message.contains("/api/"), "{message}");
    }
}

#[tokio::test]
async fn a_failure_after_output_ends_the_stream_with_an_error_event() {
    let gw = Gateway::plain().await;
    gw.upstream
        .inject(Fault::DisconnectMidStream { after_events: 3 }, 1);
    let response = gw.post(streaming("cut")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let events = events(&response.text().await.unwrap());
    assert_eq!(events.last().unwrap(), "[DONE]");
    let error: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
    assert_eq!(error["error"]["type"], "server_error");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("broke off"),
        "{error}"
    );
    let sent: String = events[..events.len() - 2]
        .iter()
        .map(|e| serde_json::from_str::<ChatCompletionChunk>(e).unwrap())
        .filter_map(|c| c.choices[0].delta.content.clone())
        .collect();
    assert!(!sent.is_empty() && gw.upstream.reply_for("cut").starts_with(&sent));
}

#[tokio::test]
async fn a_client_that_leaves_cancels_the_upstream_request() {
    let upstream = Config {
        event_delay: Duration::from_millis(20),
        reply_chars: 3000,
        ..Config::default()
    };
    let gw = Gateway::start(upstream, GatewayConfig::default()).await;
    let response = gw.post(streaming("leave")).send().await.unwrap();
    let mut body = response.bytes_stream();
    body.next().await.unwrap().unwrap();
    assert_eq!(gw.state.metrics.in_flight_streams.get(), 1);
    drop(body);
    let mut counters = gw.upstream.counters();
    for _ in 0..300 {
        counters = gw.upstream.counters();
        if counters.cancelled == 1 && gw.state.metrics.in_flight_streams.get() == 0 {
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
        (1, 0, 0)
    );
    assert_eq!(gw.state.metrics.in_flight_streams.get(), 0);
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let gw = Gateway::plain().await;
    assert_eq!(gw.get("/healthz").send().await.unwrap().status(), 200);
    gw.upstream.inject(Fault::EmptyLoads, 1);
    let not_ready = gw.get("/readyz").send().await.unwrap();
    assert_eq!(not_ready.status(), 503);
    let reason: Value = not_ready.json().await.unwrap();
    assert!(reason["reason"]
        .as_str()
        .unwrap()
        .contains("no shared accounts"));
    // Failed logins hold back the next one for a moment.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(gw.get("/readyz").send().await.unwrap().status(), 200);
    gw.post(chat("count me")).send().await.unwrap();
    let metrics = gw
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "fakegpt_http_requests_total{route=\"/v1/chat/completions\",method=\"POST\",status=\"200\"} 1",
        "fakegpt_http_requests_total{route=\"/readyz\",method=\"GET\",status=\"503\"} 1",
        "fakegpt_in_flight_streams 0",
        "fakegpt_upstream_first_byte_seconds_count 1",
        "fakegpt_upstream_total_seconds_count 1",
        "fakegpt_gateway_overhead_seconds_count 1",
        "fakegpt_upstream_logins 1",
    ] {
        assert!(metrics.contains(needle), "{needle} in\n{metrics}");
    }
    assert!(!metrics.contains("count me"), "no message contents");
}

#[tokio::test]
async fn no_request_field_or_header_changes_the_upstream() {
    let gw = Gateway::plain().await;
    let decoy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let decoy_url = format!("http://{}", decoy.local_addr().unwrap());
    decoy.set_nonblocking(true).unwrap();
    let mut body = chat("where do I go");
    body["base_url"] = json!(decoy_url);
    body["proxy"] = json!(decoy_url);
    body["api_base"] = json!(decoy_url);
    let response = gw
        .post(body)
        .header("x-forwarded-host", decoy.local_addr().unwrap().to_string())
        .header("x-base-url", &decoy_url)
        .header("x-proxy", &decoy_url)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(gw.upstream.counters().conversations, 1);
    assert!(decoy.accept().is_err(), "nothing connected to the decoy");
}

#[tokio::test]
async fn shutdown_finishes_streams_in_flight_and_refuses_new_connections() {
    let upstream = Config {
        event_delay: Duration::from_millis(10),
        reply_chars: 400,
        ..Config::default()
    };
    let mut gw = Gateway::start(upstream, GatewayConfig::default()).await;
    let response = gw.post(streaming("finish me")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    gw.running.begin_shutdown();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!gw.state.accepting.load(std::sync::atomic::Ordering::SeqCst));
    let refused = reqwest::Client::new()
        .get(format!("{}/healthz", gw.url))
        .send()
        .await;
    assert!(refused.is_err(), "new connections are refused");
    let text = response.text().await.unwrap();
    assert!(
        text.ends_with("data: [DONE]\n\n"),
        "the stream in flight finished"
    );
    let served = tokio::time::timeout(Duration::from_secs(10), gw.running.shutdown())
        .await
        .unwrap();
    assert!(served.is_ok());
}

#[tokio::test]
async fn shutdown_cuts_streams_still_running_after_the_grace_period() {
    let upstream = Config {
        event_delay: Duration::from_millis(50),
        reply_chars: 2_000,
        ..Config::default()
    };
    let config = GatewayConfig::builder()
        .shutdown_grace(Duration::from_millis(300))
        .build()
        .unwrap();
    let gw = Gateway::start(upstream, config).await;
    let response = gw.post(streaming("too long")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let served = tokio::time::timeout(Duration::from_secs(10), gw.running.shutdown())
        .await
        .unwrap();
    assert!(
        served.is_ok(),
        "serve returns once the grace period is over"
    );
    let events = events(&response.text().await.unwrap());
    assert_eq!(events.last().unwrap(), "[DONE]");
    let error: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("shut down"),
        "{error}"
    );
    assert!(
        events.len() < 100,
        "cut short, not finished: {} events",
        events.len()
    );
}

#[tokio::test]
async fn slow_bodies_get_408_and_huge_headers_are_refused() {
    let config = GatewayConfig::builder()
        .body_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let gw = Gateway::start(Config::default(), config).await;
    let trickle = futures_util::stream::unfold(0, |n| async move {
        if n == 50 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        Some((
            Ok::<_, std::io::Error>(bytes::Bytes::from_static(b" ")),
            n + 1,
        ))
    });
    let slow = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", gw.url))
        .body(reqwest::Body::wrap_stream(trickle))
        .send()
        .await
        .unwrap();
    let (status, error) = error_of(slow).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (408, Some("request_timeout"))
    );

    let huge = gw
        .post(chat("x"))
        .header("x-padding", "a".repeat(1 << 20))
        .send()
        .await;
    match huge {
        Ok(response) => assert_eq!(response.status(), 431),
        Err(err) => assert!(
            err.is_request() || err.is_connect() || err.is_body(),
            "{err}"
        ),
    }
    assert_eq!(gw.upstream.counters().conversations, 0);
}
