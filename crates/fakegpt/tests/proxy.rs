//! Requests through real loopback proxies: every byte must go through them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

mod support;

use fakegpt::{ChatRequest, Error, ErrorKind, FakeGpt, Message};
use fakegpt_upstream::{Config, Emulator};
use futures_util::StreamExt;

async fn ask(provider: &FakeGpt, prompt: &str, proxy: Option<String>) -> Result<String, Error> {
    let mut request = ChatRequest::new("gpt-3.5-turbo", vec![Message::user(prompt)]);
    request.options.proxy = proxy;
    let mut stream = provider.chat(request).await?;
    let mut text = String::new();
    while let Some(chunk) = stream.next().await {
        text.push_str(&chunk?);
    }
    Ok(text)
}

#[tokio::test]
async fn an_http_proxy_carries_the_whole_flow() {
    let upstream = Emulator::start(Config::default()).await.unwrap();
    let proxy = support::http_proxy().await;
    let provider = FakeGpt::new(&upstream.url()).unwrap();
    let url = format!("http://user:s3cret@{}", proxy.addr);
    let text = ask(&provider, "via http", Some(url)).await.unwrap();
    assert_eq!(text, upstream.reply_for("via http"));
    assert!(proxy.tally.connections() >= 1);
    let targets = proxy.tally.targets();
    assert!(
        targets[0].starts_with(&format!("GET {}/api/loads?t=", upstream.url())),
        "{targets:?}"
    );
    // Everything the emulator sent came through the proxy.
    assert!(
        proxy.tally.bytes() as usize > text.len() * 2,
        "{} bytes",
        proxy.tally.bytes()
    );
    let credentials = proxy.tally.credentials.lock().unwrap().clone();
    assert_eq!(credentials[0], "Basic dXNlcjpzM2NyZXQ=");
}

#[tokio::test]
async fn a_socks5_proxy_carries_the_whole_flow() {
    let upstream = Emulator::start(Config::default()).await.unwrap();
    let proxy = support::socks5_proxy(None).await;
    let provider = FakeGpt::new(&upstream.url()).unwrap();
    let text = ask(
        &provider,
        "via socks",
        Some(format!("socks5://{}", proxy.addr)),
    )
    .await
    .unwrap();
    assert_eq!(text, upstream.reply_for("via socks"));
    assert_eq!(proxy.tally.targets()[0], upstream.addr().to_string());
    assert!(proxy.tally.bytes() as usize > text.len() * 2);
}

#[tokio::test]
async fn socks5h_resolves_names_at_the_proxy_and_passes_credentials() {
    let upstream = Emulator::start(Config::default()).await.unwrap();
    let proxy = support::socks5_proxy(Some(("alice", "wonder"))).await;
    let provider = FakeGpt::new(&upstream.localhost_url()).unwrap();
    let url = format!("socks5h://alice:wonder@{}", proxy.addr);
    let text = ask(&provider, "by name", Some(url)).await.unwrap();
    assert_eq!(text, upstream.reply_for("by name"));
    assert_eq!(
        proxy.tally.targets()[0],
        format!("localhost:{}", upstream.addr().port())
    );
    assert_eq!(proxy.tally.credentials.lock().unwrap()[0], "alice");
}

#[tokio::test]
async fn requests_without_a_proxy_do_not_touch_it_and_a_dead_proxy_is_an_error() {
    let upstream = Emulator::start(Config::default()).await.unwrap();
    let proxy = support::http_proxy().await;
    let provider = FakeGpt::new(&upstream.url()).unwrap();
    ask(&provider, "direct", None).await.unwrap();
    assert_eq!(proxy.tally.connections(), 0);

    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("socks5://user:hunter2@{}", dead.local_addr().unwrap());
    drop(dead);
    let fresh = FakeGpt::new(&upstream.url()).unwrap();
    let err = ask(&fresh, "x", Some(dead_url)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[tokio::test]
async fn malformed_proxy_urls_are_clear_errors() {
    let provider = FakeGpt::new("http://127.0.0.1:9").unwrap();
    for bad in [
        "not a url",
        "ftp://host:1",
        "socks4://host:1",
        "http://:8080",
        "http://user:pw@",
    ] {
        let err = ask(&provider, "x", Some(bad.into())).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{bad}: {err}");
        assert!(!err.to_string().contains(":pw@"), "{err}");
    }
}

#[tokio::test]
async fn an_https_upstream_is_reached_through_an_http_connect_tunnel() {
    let upstream = Emulator::start_tls(Config::default()).await.unwrap();
    let proxy = support::http_proxy().await;
    let provider = FakeGpt::builder()
        .base_url(upstream.localhost_url())
        .add_root_certificate_pem(upstream.certificate_pem().unwrap())
        .build()
        .unwrap();
    let text = ask(
        &provider,
        "tunnelled",
        Some(format!("http://{}", proxy.addr)),
    )
    .await
    .unwrap();
    assert_eq!(text, upstream.reply_for("tunnelled"));
    let targets = proxy.tally.targets();
    let tunnel = format!("CONNECT localhost:{} HTTP/1.1", upstream.addr().port());
    assert!(
        !targets.is_empty() && targets.iter().all(|t| *t == tunnel),
        "{targets:?}"
    );
    // The proxy relayed the TLS bytes but could not read them.
    assert!(proxy.tally.bytes() as usize > text.len() * 2);
    assert_eq!(upstream.counters().completed, 1);
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_clear_error() {
    let upstream = Emulator::start_tls(Config::default()).await.unwrap();
    let provider = FakeGpt::new(&upstream.url()).unwrap();
    let err = ask(&provider, "x", None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    let bad = FakeGpt::builder()
        .add_root_certificate_pem("not a pem")
        .build();
    assert_eq!(bad.map(|_| ()).unwrap_err().kind(), ErrorKind::Config);
}
