//! 200 concurrent streams through the gateway while faults are injected:
//! every success is byte-identical to the expected reply, every failure is
//! clean, and nothing leaks (in-flight gauge, upstream streams, file
//! descriptors). Loopback only, bounded in count and time.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use fakegpt::{FakeGpt, Provider, RetryPolicy};
use fakegpt_gateway::{GatewayConfig, Running};
use fakegpt_upstream::{Config, Emulator, Fault};
use serde_json::{json, Value};

const STREAMS: usize = 200;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// What one request ended as.
enum Outcome {
    Complete,
    CleanFailure,
}

async fn one(client: &reqwest::Client, url: &str, i: usize, expected: String) -> Outcome {
    let stream = i.is_multiple_of(2);
    let body = json!({"model": "gpt-3.5-turbo", "stream": stream, "messages": [{"role": "user", "content": format!("load {i}")}]});
    let response = client
        .post(format!("{url}/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    if status != 200 {
        let error: Value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("OpenAI error JSON: {text}"));
        assert!(error["error"]["message"].is_string(), "{text}");
        assert!(matches!(status, 429 | 502 | 504), "{status}: {text}");
        return Outcome::CleanFailure;
    }
    if !stream {
        let completion: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            completion["choices"][0]["message"]["content"],
            expected.as_str()
        );
        return Outcome::Complete;
    }
    let events = common::sse_data(&text);
    assert_eq!(
        events.last(),
        Some(&"[DONE]".to_owned()),
        "every stream ends with [DONE]"
    );
    let mut content = String::new();
    let mut failed = false;
    for event in &events[..events.len() - 1] {
        let value: Value = serde_json::from_str(event).unwrap();
        if value.get("error").is_some() {
            failed = true;
            continue;
        }
        if let Some(delta) = value["choices"][0]["delta"]["content"].as_str() {
            content.push_str(delta);
        }
    }
    if failed {
        assert!(
            expected.starts_with(&content),
            "what was sent before the failure is a prefix"
        );
        Outcome::CleanFailure
    } else {
        assert_eq!(content, expected, "byte-identical");
        Outcome::Complete
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_streams_under_faults_end_cleanly_and_leak_nothing() {
    let upstream = Emulator::start(Config {
        reply_chars: 300,
        chars_per_event: 20,
        event_delay: Duration::from_millis(2),
        ..Config::default()
    })
    .await
    .unwrap();
    let provider: Arc<dyn Provider> = Arc::new(
        FakeGpt::builder()
            .base_url(upstream.url())
            .pool_idle_timeout(Duration::from_millis(300))
            .login_backoff(Duration::from_millis(50), Duration::from_millis(200))
            .retry(RetryPolicy {
                base_delay: Duration::from_millis(5),
                ..RetryPolicy::default()
            })
            .timeouts(fakegpt::Timeouts {
                idle: Some(Duration::from_secs(5)),
                ..fakegpt::Timeouts::default()
            })
            .build()
            .unwrap(),
    );
    let config = GatewayConfig::default();
    let gateway = Running::start(provider, config).await.unwrap();
    let (url, state) = (gateway.url.clone(), Arc::clone(&gateway.state));
    let baseline = open_fds();

    for (fault, times) in [
        (Fault::ServerError, 30),
        (Fault::TooManyRequests { retry_after: 0 }, 20),
        (Fault::DisconnectMidStream { after_events: 3 }, 20),
        (Fault::DisconnectMidStream { after_events: 0 }, 10),
        (Fault::HtmlForbidden, 10),
        (Fault::NoValidEvent, 10),
        (Fault::GarbageLines, 10),
    ] {
        upstream.inject(fault, times);
    }
    let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sampler = {
        let peak = Arc::clone(&peak);
        tokio::spawn(async move {
            loop {
                peak.fetch_max(open_fds(), std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let client = reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..STREAMS)
        .map(|i| {
            let (client, url) = (client.clone(), url.clone());
            let expected = upstream.reply_for(&format!("load {i}"));
            tokio::spawn(async move { one(&client, &url, i, expected).await })
        })
        .collect();
    let run = async {
        let mut complete = 0;
        for task in tasks {
            if let Outcome::Complete = task.await.unwrap() {
                complete += 1;
            }
        }
        complete
    };
    let complete = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("bounded in time");
    sampler.abort();
    assert!(complete >= STREAMS / 2, "most requests succeed: {complete}");
    let peak = peak.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        peak > baseline + 50,
        "the load opened connections: peak {peak}, baseline {baseline}"
    );
    assert!(upstream.counters().faults > 0);
    drop(client);

    // Nothing is left behind.
    let mut settled = false;
    for _ in 0..100 {
        let counters = upstream.counters();
        if state.metrics.in_flight_streams.get() == 0
            && counters.active_streams == 0
            && open_fds() <= baseline
        {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        settled,
        "in flight {}, upstream streams {}, fds {} (baseline {baseline})",
        state.metrics.in_flight_streams.get(),
        upstream.counters().active_streams,
        open_fds()
    );
    assert_eq!(
        state.permits.available_permits(),
        state.config.max_concurrency()
    );
}
