//! The fault-injection suite: one test per fault of the emulator, each
//! checking the three layers — what the library returns, what `fakegpt
//! chat` prints and exits with, and what the gateway answers. Retries are
//! turned off so that each fault shows itself; loopback only.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use fakegpt::{ChatRequest, FakeGpt, Message, Provider, RetryPolicy, Timeouts};
use fakegpt_gateway::{GatewayConfig, Running};
use fakegpt_upstream::{Config, Emulator, Fault};
use futures_util::StreamExt;

const PROMPT: &str = "fault?";

/// What a layer should show.
#[derive(Clone, Copy)]
enum Expect {
    /// The whole reply.
    Reply,
    /// Some text, then an error containing this.
    PartialThen(&'static str),
    /// An error containing this, before any text.
    Error(&'static str),
}

fn timeouts() -> Timeouts {
    Timeouts {
        first_byte: Some(Duration::from_millis(500)),
        idle: Some(Duration::from_millis(500)),
        ..Timeouts::default()
    }
}

async fn fresh(fault: &Fault, times: u64) -> Emulator {
    let emulator = Emulator::start(Config::default()).await.unwrap();
    emulator.inject(*fault, times);
    emulator
}

async fn library(fault: &Fault, times: u64, expect: Expect) {
    let upstream = fresh(fault, times).await;
    let provider = FakeGpt::new(&upstream.url()).unwrap();
    let request = ChatRequest::new("gpt-3.5-turbo", vec![Message::user(PROMPT)])
        .timeouts(timeouts())
        .retry(RetryPolicy::NONE);
    let (mut text, mut error) = (String::new(), None);
    match provider.chat(request).await {
        Err(err) => error = Some(err.to_string()),
        Ok(mut stream) => {
            while let Some(item) = stream.next().await {
                match item {
                    Ok(chunk) => text.push_str(&chunk),
                    Err(err) => error = Some(err.to_string()),
                }
            }
        }
    }
    let reply = upstream.reply_for(PROMPT);
    match expect {
        Expect::Reply => assert_eq!(
            (text.as_str(), error),
            (reply.as_str(), None),
            "library, {fault:?}"
        ),
        Expect::PartialThen(needle) => {
            assert!(
                !text.is_empty() && reply.starts_with(&text),
                "library, {fault:?}: {text:?}"
            );
            assert!(error.unwrap().contains(needle), "library, {fault:?}");
        }
        Expect::Error(needle) => {
            assert_eq!(text, "", "library, {fault:?}");
            let error = error.unwrap();
            assert!(error.contains(needle), "library, {fault:?}: {error}");
        }
    }
}

fn cli(fault: &Fault, times: u64, expect: Expect) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let upstream = runtime.block_on(fresh(fault, times));
    let mut child = Command::new(env!("CARGO_BIN_EXE_fakegpt"))
        .args(["chat", "--base-url", &upstream.url(), "--max-attempts", "1"])
        .args([
            "--first-byte-timeout",
            "0.5",
            "--idle-timeout",
            "0.5",
            PROMPT,
        ])
        .env_remove("FAKEGPT_LOG")
        .env("FAKEGPT_CONFIG", "/dev/null")
        // Each fault on a fresh session, and nothing written to the user's
        // state directory.
        .env("FAKEGPT_STORE", "memory")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(60));
        let _ = Command::new("kill").args(["-9", &pid]).status();
    });
    let stdout_pipe = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout_pipe).unwrap());
    let output = child.wait_with_output().unwrap();
    let stdout = reader.join().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let reply = upstream.reply_for(PROMPT);
    match expect {
        Expect::Reply => {
            assert!(output.status.success(), "cli, {fault:?}: {stderr}");
            assert_eq!(stdout, format!("{reply}\n"), "cli, {fault:?}");
        }
        Expect::PartialThen(needle) | Expect::Error(needle) => {
            assert_eq!(output.status.code(), Some(1), "cli, {fault:?}: {stderr}");
            assert_eq!(
                stderr.lines().count(),
                1,
                "cli, {fault:?}: one line: {stderr}"
            );
            assert!(
                stderr.contains(needle) && stderr.contains("(hint: "),
                "cli, {fault:?}: {stderr}"
            );
            let partial = stdout.strip_suffix('\n').unwrap_or(&stdout);
            assert!(reply.starts_with(partial), "cli, {fault:?}: {stdout:?}");
            assert_eq!(
                partial.is_empty(),
                matches!(expect, Expect::Error(_)),
                "cli, {fault:?}: {stdout:?}"
            );
        }
    }
}

async fn gateway(fault: &Fault, times: u64, expect: Expect, status: u16) {
    for stream in [false, true] {
        let upstream = fresh(fault, times).await;
        let provider: Arc<dyn Provider> = Arc::new(
            FakeGpt::builder()
                .base_url(upstream.url())
                .retry(RetryPolicy::NONE)
                .timeouts(timeouts())
                .build()
                .unwrap(),
        );
        let gateway = Running::start(provider, GatewayConfig::default())
            .await
            .unwrap();
        let url = gateway.url.clone();
        let body = serde_json::json!({"model": "gpt-3.5-turbo", "stream": stream, "messages": [{"role": "user", "content": PROMPT}]});
        let response = reqwest::Client::new()
            .post(format!("{url}/v1/chat/completions"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let got = response.status().as_u16();
        let text = response.text().await.unwrap();
        let (expected_status, needle) = match expect {
            Expect::Reply => (200, None),
            // A failure after text: a stream ends with an error event; a
            // whole answer, having sent nothing, gets a real status.
            Expect::PartialThen(needle) if stream => (200, Some(needle)),
            Expect::PartialThen(needle) | Expect::Error(needle) => (status, Some(needle)),
        };
        assert_eq!(
            got, expected_status,
            "gateway, {fault:?}, stream {stream}: {text}"
        );
        match needle {
            None => assert!(text.contains("\"finish_reason\":\"stop\"")),
            Some(needle) => {
                assert!(
                    text.contains("\"error\":{") && text.contains(needle),
                    "gateway, {fault:?}: {text}"
                );
                assert!(
                    !text.contains("<html") && !text.contains("eyJ"),
                    "gateway, {fault:?}: {text}"
                );
            }
        }
    }
}

fn suite(fault: Fault, times: u64, expect: Expect, status: u16) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(library(&fault, times, expect));
    runtime.block_on(gateway(&fault, times, expect, status));
    drop(runtime);
    cli(&fault, times, expect);
}

const ALWAYS: u64 = u64::MAX;

#[test]
fn empty_loads() {
    suite(
        Fault::EmptyLoads,
        ALWAYS,
        Expect::Error("no shared accounts"),
        502,
    );
}

#[test]
fn loads_without_the_loads_field() {
    suite(
        Fault::LoadsMissingField,
        ALWAYS,
        Expect::Error("expected JSON with a"),
        502,
    );
}

#[test]
fn every_login_refused() {
    suite(
        Fault::LoginRejected,
        ALWAYS,
        Expect::Error("upstream answered HTTP 401"),
        502,
    );
}

#[test]
fn one_account_refusing_the_login() {
    suite(Fault::LoginRejected, 1, Expect::Reply, 200);
}

#[test]
fn every_account_busy_at_login() {
    suite(
        Fault::LoginBusy { retry_after: 2 },
        ALWAYS,
        Expect::Error("HTTP 429"),
        429,
    );
}

#[test]
fn a_session_without_a_token() {
    suite(
        Fault::SessionWithoutToken,
        ALWAYS,
        Expect::Error("no accessToken"),
        502,
    );
}

#[test]
fn too_many_requests() {
    suite(
        Fault::TooManyRequests { retry_after: 3 },
        ALWAYS,
        Expect::Error("upstream answered HTTP 429"),
        429,
    );
}

#[test]
fn server_error() {
    suite(
        Fault::ServerError,
        ALWAYS,
        Expect::Error("upstream answered HTTP 500"),
        502,
    );
}

#[test]
fn html_403_page() {
    suite(
        Fault::HtmlForbidden,
        ALWAYS,
        Expect::Error("an HTML page titled"),
        502,
    );
}

#[test]
fn html_403_once_is_healed_by_a_new_login() {
    suite(Fault::HtmlForbidden, 1, Expect::Reply, 200);
}

#[test]
fn wrong_content_type() {
    suite(
        Fault::WrongContentType,
        ALWAYS,
        Expect::Error("expected an event stream"),
        502,
    );
}

#[test]
fn reset_before_any_text() {
    suite(
        Fault::DisconnectMidStream { after_events: 0 },
        ALWAYS,
        Expect::Error("broke off"),
        502,
    );
}

#[test]
fn reset_mid_stream() {
    suite(
        Fault::DisconnectMidStream { after_events: 3 },
        ALWAYS,
        Expect::PartialThen("broke off"),
        502,
    );
}

#[test]
fn stall_before_any_text() {
    suite(
        Fault::StallMidStream { after_events: 0 },
        ALWAYS,
        Expect::Error("first-byte timeout"),
        504,
    );
}

#[test]
fn stall_mid_stream() {
    suite(
        Fault::StallMidStream { after_events: 3 },
        ALWAYS,
        Expect::PartialThen("idle timeout"),
        504,
    );
}

#[test]
fn no_valid_event() {
    suite(
        Fault::NoValidEvent,
        ALWAYS,
        Expect::Error("No valid response"),
        502,
    );
}

#[test]
fn garbage_lines_are_skipped() {
    suite(Fault::GarbageLines, ALWAYS, Expect::Reply, 200);
}

#[test]
fn an_oversized_line() {
    suite(
        Fault::OversizedLine {
            bytes: 17 * 1024 * 1024,
        },
        ALWAYS,
        Expect::Error("longer than the limit of 16777216 bytes"),
        502,
    );
}
