//! Secrets never leak: whatever fails, the access token, the session
//! cookie, the session password and the API key appear in no response,
//! log line (at every level, from every crate), metric or error message —
//! with the session kept in memory, in a file and in Redis (whose key
//! names hold none either).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fakegpt::{FakeGpt, Provider, Store};
use fakegpt_gateway::{GatewayConfig, Running};
use fakegpt_upstream::{Config, Emulator, Fault};
use serde_json::json;

/// Everything every crate logs, at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const API_KEY: &str = "sk-gateway-secret-4242";

#[path = "../../fakegpt/tests/support/redis_server.rs"]
mod redis_server;

/// Runs every failure through a gateway whose provider keeps its session
/// in `store`; what clients saw, and the secrets the emulator handed out.
async fn exercise(store: &Store) -> (String, Vec<String>) {
    let upstream = Emulator::start(Config {
        token_expires_after: Some(2),
        ..Config::default()
    })
    .await
    .unwrap();
    let provider: Arc<dyn Provider> = Arc::new(
        FakeGpt::builder()
            .base_url(upstream.url())
            .store(store.clone())
            .login_backoff(Duration::ZERO, Duration::ZERO)
            .retry(fakegpt::RetryPolicy::NONE)
            .timeouts(fakegpt::Timeouts {
                idle: Some(Duration::from_millis(300)),
                ..fakegpt::Timeouts::default()
            })
            .build()
            .unwrap(),
    );
    let mut config = GatewayConfig::builder()
        .api_key(API_KEY)
        .key_rate_limit(1000);
    if let Some(fleet) = store.fleet().unwrap() {
        config = config.fleet(fleet).max_concurrency_global(100);
    }
    let config = config.build().unwrap();
    let gateway = Running::start(provider, config).await.unwrap();
    let url = gateway.url.clone();

    let client = reqwest::Client::new();
    let mut seen = String::new();
    let faults: Vec<Option<Fault>> = vec![
        None,
        Some(Fault::ServerError),
        Some(Fault::HtmlForbidden),
        Some(Fault::TooManyRequests { retry_after: 1 }),
        Some(Fault::DisconnectMidStream { after_events: 2 }),
        Some(Fault::StallMidStream { after_events: 1 }),
        Some(Fault::NoValidEvent),
        Some(Fault::GarbageLines),
        Some(Fault::WrongContentType),
        Some(Fault::OversizedLine {
            bytes: 20 * 1024 * 1024,
        }),
        None,
        None,
    ];
    for (i, fault) in faults.into_iter().enumerate() {
        if let Some(fault) = fault {
            upstream.inject(fault, 2);
        }
        for stream in [false, true] {
            let body = json!({"model": "gpt-3.5-turbo", "stream": stream, "messages": [{"role": "user", "content": format!("q{i}")}]});
            let response = client
                .post(format!("{url}/v1/chat/completions"))
                .bearer_auth(API_KEY)
                .json(&body)
                .send()
                .await
                .unwrap();
            seen.push_str(&format!("{:?}\n", response.headers()));
            seen.push_str(&response.text().await.unwrap_or_default());
        }
        upstream.state().clear_faults();
    }
    // Login failures, after the token is revoked.
    for fault in [
        Fault::LoginRejected,
        Fault::SessionWithoutToken,
        Fault::LoadsMissingField,
    ] {
        upstream.state().revoke_tokens();
        upstream.inject(fault, 3);
        let response = client
            .post(format!("{url}/v1/chat/completions"))
            .bearer_auth(API_KEY)
            .json(&json!({"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": "login"}]}))
            .send()
            .await
            .unwrap();
        seen.push_str(&response.text().await.unwrap());
        upstream.state().clear_faults();
    }
    for (path, key) in [
        ("/v1/models", "sk-wrong-guess"),
        ("/readyz", ""),
        ("/metrics", ""),
        ("/healthz", ""),
    ] {
        let response = client
            .get(format!("{url}{path}"))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        seen.push_str(&response.text().await.unwrap());
    }

    // What the store tells about itself.
    seen.push_str(&format!(
        "{store} {store:?} {:?}\n",
        store.summary(&upstream.url()).await
    ));

    // What the emulator knows to be secret.
    let mut secrets = vec![API_KEY.to_owned()];
    for request in upstream.state().recorded() {
        if let Some(token) = request
            .header("x-authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            secrets.push(token.to_owned());
        }
        if let Some(cookie) = request.header("cookie") {
            for pair in cookie.split(';') {
                if let Some((_, value)) = pair.trim().split_once('=') {
                    secrets.push(value.to_owned());
                }
            }
        }
        if request.target == "/auth/login" {
            let body = String::from_utf8_lossy(&request.body).into_owned();
            for pair in body.split('&') {
                if let Some(password) = pair.strip_prefix("session_password=") {
                    secrets.push(password.to_owned());
                }
            }
        }
    }
    secrets.sort();
    secrets.dedup();
    let counters = upstream.counters();
    assert!(
        counters.logins >= 4,
        "several logins happened: {counters:?}"
    );
    // A token and a cookie per login at least (the session password is
    // reused at the next login on the same account).
    assert!(
        secrets.len() > counters.logins as usize,
        "tokens, cookies, passwords: {} for {} logins",
        secrets.len(),
        counters.logins
    );

    (seen, secrets)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_appears_anywhere_whatever_fails() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let dir = std::env::temp_dir().join(format!("fakegpt-secrets-{}", std::process::id()));
    let redis = redis_server::RedisServer::start();
    let mut seen = String::new();
    let mut secrets = Vec::new();
    for store in [
        Store::Memory,
        Store::File { dir: dir.clone() },
        redis.url().parse().unwrap(),
    ] {
        let (shown, handed_out) = exercise(&store).await;
        seen.push_str(&shown);
        secrets.extend(handed_out);
    }
    // Redis holds secrets in its values (it must be private), never in its
    // key names: those show in monitoring tools.
    seen.push_str(&redis.command("KEYS *").unwrap());
    let _ = std::fs::remove_dir_all(&dir);

    let logs = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        logs.len() > 10_000,
        "trace logs were captured ({} bytes)",
        logs.len()
    );
    for secret in &secrets {
        assert!(secret.len() >= 10, "a real secret: {secret:?}");
        assert!(
            !seen.contains(secret.as_str()),
            "{secret} leaked into a response"
        );
        let line = logs.lines().find(|l| l.contains(secret.as_str()));
        assert!(line.is_none(), "{secret} leaked into the logs: {line:?}");
    }
}
