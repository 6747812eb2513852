//! The whole FakeGpt flow against the emulator over loopback HTTP.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

use std::sync::Arc;
use std::time::Duration;

use fakegpt::{
    ChatRequest, Error, ErrorKind, FakeGpt, Message, RetryPolicy, TimeoutKind, Timeouts,
};
use fakegpt_upstream::{Config, Emulator, Fault};
use futures_util::StreamExt;

async fn emulator(config: Config) -> Emulator {
    Emulator::start(config).await.expect("emulator starts")
}

/// An emulator and a provider with default settings talking to it.
async fn upstream_and_provider(config: Config) -> (Emulator, FakeGpt) {
    let upstream = emulator(config).await;
    let provider = FakeGpt::new(&upstream.url()).expect("a provider");
    (upstream, provider)
}

fn request(prompt: &str) -> ChatRequest {
    ChatRequest::new("gpt-3.5-turbo", vec![Message::user(prompt)])
}

/// The FakeGpt step an error names in its context (`loads`, `login`, …).
fn step(err: &Error) -> &str {
    err.context()
        .and_then(|c| c.split(' ').next())
        .unwrap_or_default()
}

async fn collect(provider: &FakeGpt, request: ChatRequest) -> Result<Vec<String>, Error> {
    let mut stream = provider.chat(request).await?;
    let mut chunks = Vec::new();
    while let Some(chunk) = stream.next().await {
        chunks.push(chunk?);
    }
    Ok(chunks)
}

#[tokio::test]
async fn the_full_flow_streams_the_reply() {
    let (upstream, provider) = upstream_and_provider(Config::default()).await;
    let chunks = collect(&provider, request("Tell me a joke."))
        .await
        .unwrap();
    assert!(chunks.len() > 5, "streamed in pieces: {chunks:?}");
    assert!(chunks.iter().all(|c| !c.is_empty()));
    assert_eq!(chunks.concat(), upstream.reply_for("Tell me a joke."));
    let counters = upstream.counters();
    assert_eq!(
        (
            counters.loads,
            counters.logins,
            counters.sessions_with_cookie
        ),
        (1, 1, 1)
    );
    assert_eq!((counters.conversations, counters.completed), (1, 1));

    // The session is reused: no second login.
    let again = collect(&provider, request("And another one"))
        .await
        .unwrap();
    assert_eq!(again.concat(), upstream.reply_for("And another one"));
    assert_eq!(upstream.counters().logins, 1);
    assert_eq!(provider.logins(), 1);
}

#[tokio::test]
async fn histories_are_sent_as_one_formatted_prompt() {
    let (upstream, provider) = upstream_and_provider(Config::default()).await;
    let messages = vec![Message::system("Be brief."), Message::user("Привет 👋")];
    let prompt = fakegpt::format_prompt(&messages);
    let text = collect(&provider, ChatRequest::new("gpt-3.5-turbo", messages))
        .await
        .unwrap();
    assert_eq!(text.concat(), upstream.reply_for(&prompt));
    assert!(upstream
        .reply_for(&prompt)
        .contains("System: Be brief.\nUser: Привет 👋"));
}

#[tokio::test]
async fn chunking_crlf_and_noise_do_not_change_the_text() {
    for (seed, chars_per_event) in [(1, 1), (2, 3), (3, 7), (4, 50)] {
        let upstream = emulator(Config {
            split_writes: true,
            crlf: seed % 2 == 0,
            noise: true,
            chars_per_event,
            seed,
            reply_chars: 250,
            ..Config::default()
        })
        .await;
        let provider = FakeGpt::new(&upstream.url()).unwrap();
        let text = collect(&provider, request("split me"))
            .await
            .unwrap()
            .concat();
        assert_eq!(text, upstream.reply_for("split me"), "seed {seed}");
    }
}

#[tokio::test]
async fn fifty_concurrent_first_requests_log_in_once() {
    let (upstream, provider) = upstream_and_provider(Config::default()).await;
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let provider = provider.clone();
            tokio::spawn(async move { collect(&provider, request(&format!("question {i}"))).await })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        let text = task.await.unwrap().unwrap().concat();
        assert_eq!(text, upstream.reply_for(&format!("question {i}")));
    }
    let counters = upstream.counters();
    assert_eq!(counters.logins, 1, "{counters:?}");
    assert_eq!(counters.loads, 1);
    assert_eq!(counters.conversations, 50);
}

#[tokio::test]
async fn an_expired_token_is_renewed_once_and_the_request_retried() {
    let (upstream, provider) = upstream_and_provider(Config {
        token_expires_after: Some(2),
        ..Config::default()
    })
    .await;
    for i in 0..5 {
        let prompt = format!("q{i}");
        let text = collect(&provider, request(&prompt)).await.unwrap().concat();
        assert_eq!(text, upstream.reply_for(&prompt));
    }
    let counters = upstream.counters();
    // Tokens last two conversations: logins before the 1st, 3rd and 5th.
    assert_eq!(counters.logins, 3, "{counters:?}");
    assert_eq!(counters.unauthorized, 2);
}

#[tokio::test]
async fn a_token_rejected_twice_is_an_error_not_a_loop() {
    let (upstream, provider) = upstream_and_provider(Config {
        token_expires_after: Some(0),
        ..Config::default()
    })
    .await;
    let err = collect(&provider, request("x")).await.unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
    assert_eq!(step(&err), "conversation");
    assert!(err.to_string().contains("token_expired"), "{err}");
    assert_eq!(upstream.counters().logins, 2);
}

#[tokio::test]
async fn every_login_step_failure_is_named() {
    // A refused login is tried with up to three accounts, so it must fail three times.
    let cases: Vec<(Fault, u64, &str, &str)> = vec![
        (Fault::EmptyLoads, 1, "loads", "no shared accounts"),
        (
            Fault::LoadsMissingField,
            1,
            "loads",
            "expected JSON with a \"loads\" list",
        ),
        (Fault::LoginRejected, 3, "login", "HTTP 401"),
        (Fault::LoginBusy { retry_after: 4 }, 3, "login", "HTTP 429"),
        (Fault::SessionWithoutToken, 1, "session", "no accessToken"),
    ];
    for (fault, times, expected, needle) in cases {
        let upstream = emulator(Config::default()).await;
        upstream.inject(fault, times);
        let provider = FakeGpt::builder()
            .base_url(upstream.url())
            .login_backoff(Duration::ZERO, Duration::ZERO)
            .build()
            .unwrap();
        let err = collect(&provider, request("x").retry(RetryPolicy::NONE))
            .await
            .unwrap_err();
        assert_eq!(step(&err), expected, "{fault:?}: {err}");
        assert!(err.to_string().contains(needle), "{fault:?}: {err}");
        // The next request logs in anew and succeeds.
        let text = collect(&provider, request("x")).await.unwrap().concat();
        assert_eq!(text, upstream.reply_for("x"), "{fault:?}");
    }
}

#[tokio::test]
async fn conversation_failures_are_clean_errors() {
    let (upstream, provider) = upstream_and_provider(Config::default()).await;
    let request = |prompt: &str| request(prompt).retry(RetryPolicy::NONE);

    upstream.inject(Fault::TooManyRequests { retry_after: 7 }, 1);
    let err = collect(&provider, request("x")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
    assert_eq!(
        (err.status(), err.retry_after()),
        (Some(429), Some(Duration::from_secs(7)))
    );

    upstream.inject(Fault::ServerError, 1);
    let err = collect(&provider, request("x")).await.unwrap_err();
    assert_eq!(err.status(), Some(500));

    upstream.inject(Fault::HtmlForbidden, 2);
    let err = collect(&provider, request("x")).await.unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert!(
        err.to_string()
            .contains("an HTML page titled \"Just a moment...\""),
        "{err}"
    );
    assert!(!err.to_string().contains("<html"), "{err}");

    upstream.inject(Fault::WrongContentType, 1);
    let err = collect(&provider, request("x")).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("expected an event stream, got HTTP 200 application/json"),
        "{err}"
    );

    upstream.inject(Fault::NoValidEvent, 1);
    let err = collect(&provider, request("x")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoValidResponse);
    assert_eq!(err.message(), "No valid response");

    upstream.inject(Fault::GarbageLines, 1);
    let text = collect(&provider, request("x")).await.unwrap().concat();
    assert_eq!(text, upstream.reply_for("x"));
}

#[tokio::test]
async fn a_disconnect_mid_stream_ends_with_an_error_after_the_text_so_far() {
    let (upstream, provider) = upstream_and_provider(Config::default()).await;
    upstream.inject(Fault::DisconnectMidStream { after_events: 3 }, 1);
    let mut stream = provider.chat(request("x")).await.unwrap();
    let mut text = String::new();
    let mut failure = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(chunk) => text.push_str(&chunk),
            Err(err) => failure = Some(err),
        }
    }
    assert!(upstream.reply_for("x").starts_with(&text) && !text.is_empty());
    let failure = failure.expect("an error after the partial text");
    assert_eq!(
        (failure.kind(), step(&failure)),
        (ErrorKind::Connect, "conversation"),
        "{failure}"
    );
}

#[tokio::test]
async fn a_stall_ends_with_an_idle_timeout() {
    let (upstream, provider) = upstream_and_provider(Config::default()).await;
    upstream.inject(Fault::StallMidStream { after_events: 2 }, 1);
    let timeouts = fakegpt::Timeouts {
        idle: Some(std::time::Duration::from_millis(300)),
        ..fakegpt::Timeouts::default()
    };
    let result = collect(&provider, request("x").timeouts(timeouts)).await;
    let err = result.unwrap_err();
    assert_eq!(err.timeout_kind(), Some(TimeoutKind::Idle), "{err}");
}

#[tokio::test]
async fn an_answer_paced_within_the_idle_timeout_outlasts_it() {
    // 40 events 25 ms apart: a second in all, over three idle timeouts,
    // with no wait longer than one.
    let (upstream, provider) = upstream_and_provider(Config {
        event_delay: std::time::Duration::from_millis(25),
        reply_chars: 160,
        ..Config::default()
    })
    .await;
    let timeouts = fakegpt::Timeouts {
        idle: Some(std::time::Duration::from_millis(300)),
        ..fakegpt::Timeouts::default()
    };
    let started = std::time::Instant::now();
    let text = collect(&provider, request("x").timeouts(timeouts))
        .await
        .expect("no timeout")
        .concat();
    assert!(started.elapsed() > std::time::Duration::from_millis(600));
    assert_eq!(text, upstream.reply_for("x"));
}

#[tokio::test]
async fn dropping_the_stream_cancels_the_request() {
    let (upstream, provider) = upstream_and_provider(Config {
        event_delay: std::time::Duration::from_millis(20),
        reply_chars: 2_000,
        ..Config::default()
    })
    .await;
    let mut stream = provider.chat(request("long")).await.unwrap();
    assert!(stream.next().await.unwrap().is_ok());
    assert_eq!(upstream.counters().active_streams, 1);
    drop(stream);
    // The emulator notices within a few of its event delays.
    for _ in 0..200 {
        if upstream.counters().cancelled == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let counters = upstream.counters();
    assert_eq!(
        (
            counters.cancelled,
            counters.completed,
            counters.active_streams
        ),
        (1, 0, 0)
    );
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let provider = FakeGpt::new(&url).unwrap();
    let err = collect(&provider, request("x")).await.unwrap_err();
    assert_eq!(
        (err.kind(), step(&err)),
        (ErrorKind::Connect, "loads"),
        "{err}"
    );
    assert!(!err.to_string().contains(&url), "no URL noise: {err}");
}

#[test]
fn the_blocking_client_works_without_a_runtime() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let upstream = runtime.block_on(emulator(Config::default()));
    let provider = Arc::new(FakeGpt::new(&upstream.url()).unwrap());
    let client = fakegpt::blocking::Client::new(provider).unwrap();
    let threads: Vec<_> = (0..3)
        .map(|i| {
            let client = client.clone();
            std::thread::spawn(move || client.chat_text(request(&format!("b{i}"))).unwrap())
        })
        .collect();
    for (i, thread) in threads.into_iter().enumerate() {
        assert_eq!(thread.join().unwrap(), upstream.reply_for(&format!("b{i}")));
    }
    // Inside a runtime it refuses instead of panicking.
    let inside = runtime.block_on(async { client.chat_text(request("x")).err() });
    assert_eq!(inside.map(|e| e.kind()), Some(ErrorKind::Config));
}

#[tokio::test]
async fn requests_carry_browser_headers_and_the_exact_body() {
    let (upstream, provider) = upstream_and_provider(Config::default()).await;
    collect(&provider, request("Hello, how are you?"))
        .await
        .unwrap();
    let recorded = upstream.state().recorded();
    let targets: Vec<_> = recorded
        .iter()
        .map(|r| format!("{} {}", r.method, r.target))
        .collect();
    assert_eq!(targets.len(), 5, "{targets:?}");
    assert!(targets[0].starts_with("GET /api/loads?t="), "{targets:?}");
    let t: u64 = targets[0]["GET /api/loads?t=".len()..].parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now.abs_diff(t) < 60, "unix seconds");
    assert_eq!(
        &targets[1..],
        [
            "POST /auth/login",
            "GET /",
            "GET /api/auth/session",
            "POST /api/conversation"
        ]
    );
    for request in &recorded {
        assert_eq!(request.header("accept-language"), Some("en-US"));
        assert!(request
            .header("user-agent")
            .unwrap()
            .contains("Chrome/117.0.0.0"));
        assert_eq!(
            request.header("referer"),
            Some(format!("{}/?v=2", upstream.url()).as_str())
        );
        assert_eq!(request.header("sec-ch-ua-platform"), Some("\"Linux\""));
        assert_eq!(request.header("sec-ch-ua-mobile"), Some("?0"));
        assert!(request
            .header("sec-ch-ua")
            .unwrap()
            .contains("\"Chromium\";v=\"117\""));
    }
    let login = &recorded[1];
    assert_eq!(
        login.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let conversation = &recorded[4];
    assert_eq!(conversation.header("accept"), Some("text/event-stream"));
    assert_eq!(
        conversation.header("content-type"),
        Some("application/json")
    );
    assert!(conversation
        .header("x-authorization")
        .unwrap()
        .starts_with("Bearer eyJ"));
    assert!(conversation
        .header("cookie")
        .unwrap()
        .contains("chat_shared_session="));
    let body: serde_json::Value = serde_json::from_slice(&conversation.body).unwrap();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 10, "{keys:?}");
    assert_eq!(
        body["messages"][0]["content"]["parts"][0],
        "Hello, how are you?"
    );
    assert_eq!(body["model"], "text-davinci-002-render-sha");
    assert_eq!(body["timezone_offset_min"], -120);
    assert_eq!(body["history_and_training_disabled"], true);
}

#[tokio::test]
async fn transient_failures_before_any_text_are_retried() {
    let (upstream, provider) = upstream_and_provider(Config::default()).await;
    let quick = RetryPolicy {
        base_delay: Duration::from_millis(10),
        ..RetryPolicy::default()
    };
    for fault in [
        Fault::ServerError,
        Fault::TooManyRequests { retry_after: 0 },
        Fault::DisconnectMidStream { after_events: 0 },
    ] {
        upstream.inject(fault, 2);
        let text = collect(&provider, request("again").retry(quick))
            .await
            .unwrap()
            .concat();
        assert_eq!(text, upstream.reply_for("again"), "{fault:?}");
    }
    assert_eq!(upstream.counters().faults, 6);

    // Spent attempts give the last failure; a Retry-After over the cap fails at once.
    upstream.inject(Fault::ServerError, 3);
    let err = collect(&provider, request("x").retry(quick))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    upstream.inject(Fault::TooManyRequests { retry_after: 3600 }, 1);
    let err = collect(&provider, request("x").retry(quick))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert_eq!(upstream.counters().faults, 10);
}

#[tokio::test]
async fn nothing_is_retried_once_text_was_yielded() {
    let (upstream, provider) = upstream_and_provider(Config::default()).await;
    upstream.inject(Fault::DisconnectMidStream { after_events: 2 }, 1);
    let mut stream = provider.chat(request("once")).await.unwrap();
    let mut text = String::new();
    let mut failed = false;
    while let Some(item) = stream.next().await {
        match item {
            Ok(chunk) => text.push_str(&chunk),
            Err(_) => failed = true,
        }
    }
    assert!(failed);
    assert!(
        upstream.reply_for("once").starts_with(&text),
        "no duplicated text: {text:?}"
    );
    assert_eq!(upstream.counters().conversations, 1);
}

#[tokio::test]
async fn a_refused_account_cools_down_and_another_is_used() {
    let (upstream, provider) = upstream_and_provider(Config::default()).await;
    upstream.inject(Fault::LoginRejected, 1);
    let text = collect(&provider, request("x")).await.unwrap().concat();
    assert_eq!(text, upstream.reply_for("x"));
    let keys: Vec<String> = upstream
        .state()
        .recorded()
        .iter()
        .filter(|r| r.target == "/auth/login")
        .map(|r| {
            String::from_utf8_lossy(&r.body)
                .split('&')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        keys.len(),
        2,
        "the refused account and then another: {keys:?}"
    );
    assert_ne!(keys[0], keys[1]);
    assert!(
        keys.iter()
            .all(|k| k.starts_with("token_key=shared-account-")),
        "{keys:?}"
    );
}

#[tokio::test]
async fn failed_logins_hold_back_the_next_one() {
    let upstream = emulator(Config::default()).await;
    let provider = FakeGpt::builder()
        .base_url(upstream.url())
        .login_backoff(Duration::from_millis(400), Duration::from_secs(5))
        .build()
        .unwrap();
    upstream.inject(Fault::EmptyLoads, 1);
    let first = collect(&provider, request("x")).await.unwrap_err();
    let second = collect(&provider, request("x")).await.unwrap_err();
    for err in [first, second] {
        assert_eq!(err.kind(), ErrorKind::Rejected, "{err}");
        assert!(err.to_string().contains("no shared accounts"), "{err}");
    }
    assert_eq!(
        upstream.counters().loads,
        1,
        "the second request did not hit the upstream"
    );
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert!(collect(&provider, request("x")).await.is_ok());
}

#[tokio::test]
async fn answers_over_the_limit_fail_cleanly() {
    let upstream = emulator(Config {
        reply_chars: 2_000,
        chars_per_event: 50,
        ..Config::default()
    })
    .await;
    let provider = FakeGpt::builder()
        .base_url(upstream.url())
        .max_answer_bytes(500)
        .build()
        .unwrap();
    let mut stream = provider.chat(request("big")).await.unwrap();
    let mut text = String::new();
    let mut failure = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(chunk) => text.push_str(&chunk),
            Err(err) => failure = Some(err),
        }
    }
    assert!(text.len() <= 500);
    let failure = failure.unwrap().to_string();
    assert!(
        failure.contains("answer is longer than the limit of 500 bytes"),
        "{failure}"
    );
}

#[tokio::test]
async fn the_first_text_has_its_own_time_limit() {
    let (upstream, provider) = upstream_and_provider(Config::default()).await;
    upstream.inject(Fault::NoValidEvent, 1);
    let _ = collect(&provider, request("warm up")).await;
    upstream.inject(Fault::StallMidStream { after_events: 0 }, 1);
    let timeouts = Timeouts {
        first_byte: Some(Duration::from_millis(300)),
        idle: Some(Duration::from_secs(30)),
        ..Timeouts::default()
    };
    let err = collect(&provider, request("x").timeouts(timeouts))
        .await
        .unwrap_err();
    assert_eq!(err.timeout_kind(), Some(TimeoutKind::FirstByte), "{err}");
}

#[tokio::test]
async fn compressed_answers_are_asked_for_and_decoded() {
    let (upstream, provider) = upstream_and_provider(Config {
        compress: true,
        reply_chars: 3_000,
        ..Config::default()
    })
    .await;
    let text = collect(&provider, request("squeeze"))
        .await
        .unwrap()
        .concat();
    assert_eq!(text, upstream.reply_for("squeeze"));
    let recorded = upstream.state().recorded();
    let asked = recorded
        .last()
        .unwrap()
        .header("accept-encoding")
        .unwrap()
        .to_owned();
    for encoding in ["gzip", "br", "zstd"] {
        assert!(asked.contains(encoding), "{asked}");
    }
}
