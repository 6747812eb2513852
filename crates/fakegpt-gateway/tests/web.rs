//! The chat page's routes over loopback HTTP: what is served, with which
//! headers (the Content-Security-Policy, ETags and `304`s), that the page
//! stays public while the API behind it asks for a key, that `web(false)`
//! turns it off, and that the embedded files keep to the rules that make
//! the policy hold (no inline script, no HTML built from strings).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

use std::sync::Arc;

use fakegpt::{FakeGpt, Provider};
use fakegpt_gateway::{GatewayConfig, Running};
use fakegpt_upstream::{Config, Emulator};
use reqwest::header;

async fn gateway(config: GatewayConfig) -> (Emulator, Running) {
    let emulator = Emulator::start(Config::default()).await.unwrap();
    let provider: Arc<dyn Provider> =
        Arc::new(FakeGpt::builder().base_url(emulator.url()).build().unwrap());
    let running = Running::start(provider, config).await.unwrap();
    (emulator, running)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

#[tokio::test]
async fn the_page_is_served_with_a_strict_policy_and_revalidates() {
    let (_emulator, gateway) = gateway(GatewayConfig::default()).await;
    let client = client();
    let page = client.get(&gateway.url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(directive), "{directive} in {policy}");
    }
    assert!(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"));
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let html = page.text().await.unwrap();
    assert!(html.contains("/assets/app.js"), "{html}");

    let etag = headers[header::ETAG].to_str().unwrap().to_owned();
    let again = client
        .get(&gateway.url)
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()[header::ETAG].to_str().unwrap(), etag);
    assert!(again.bytes().await.unwrap().is_empty());
    let stale = client
        .get(&gateway.url)
        .header(header::IF_NONE_MATCH, "\"not-it\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 200);
}

#[tokio::test]
async fn every_asset_the_page_loads_is_served_and_nothing_else() {
    let (_emulator, gateway) = gateway(GatewayConfig::default()).await;
    let client = client();
    let html = client
        .get(&gateway.url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // What the page links, then what each script imports, transitively.
    let mut pending: Vec<String> = html
        .split("/assets/")
        .skip(1)
        .filter_map(|rest| rest.split(['"', '\'']).next())
        .map(str::to_owned)
        .collect();
    assert!(pending.iter().any(|n| n == "app.js") && pending.iter().any(|n| n == "app.css"));
    let mut seen = std::collections::BTreeSet::new();
    while let Some(name) = pending.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let response = client
            .get(format!("{}/assets/{name}", gateway.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{name}");
        let kind = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let expected = match name.rsplit('.').next() {
            Some("js") => "text/javascript",
            Some("css") => "text/css",
            Some("svg") => "image/svg+xml",
            other => panic!("unexpected asset kind {other:?}"),
        };
        assert!(kind.starts_with(expected), "{name}: {kind}");
        let text = response.text().await.unwrap();
        if expected == "text/javascript" {
            for import in text.split(" from './").skip(1) {
                pending.push(import.split('\'').next().unwrap().to_owned());
            }
        }
    }
    assert!(seen.len() >= 5, "{seen:?}");
    for missing in [
        "/assets/nope.js",
        "/assets/index.html",
        "/assets/../Cargo.toml",
    ] {
        let response = client
            .get(format!("{}{missing}", gateway.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{missing}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["error"]["message"].is_string(), "{body}");
    }
    let head = client.head(&gateway.url).send().await.unwrap();
    assert_eq!(head.status(), 200);
}

#[tokio::test]
async fn the_page_is_public_but_the_api_behind_it_asks_for_a_key() {
    let config = GatewayConfig::builder().api_key("sk-page").build().unwrap();
    let (_emulator, gateway) = gateway(config).await;
    let client = client();
    let page = client.get(&gateway.url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let models = client
        .get(format!("{}/v1/models", gateway.url))
        .send()
        .await
        .unwrap();
    assert_eq!(models.status(), 401);
}

#[tokio::test]
async fn without_the_page_slash_is_not_found() {
    let config = GatewayConfig::builder().web(false).build().unwrap();
    assert!(!config.serves_page());
    let (_emulator, gateway) = gateway(config).await;
    let client = client();
    for path in ["/", "/assets/app.js"] {
        let response = client
            .get(format!("{}{path}", gateway.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    let models = client
        .get(format!("{}/v1/models", gateway.url))
        .send()
        .await
        .unwrap();
    assert_eq!(models.status(), 200);
}

/// The policy forbids inline script, and the page must not build HTML from
/// strings (model output would become markup): the embedded files are
/// checked for the ways either could creep in.
#[test]
fn the_page_files_keep_to_the_policy() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        match path.extension().and_then(|e| e.to_str()) {
            Some("js") => {
                for banned in [
                    "innerHTML",
                    "outerHTML",
                    "insertAdjacentHTML",
                    "document.write",
                    "DOMParser",
                    "eval(",
                    "new Function",
                    "createContextualFragment",
                ] {
                    assert!(!text.contains(banned), "{name} uses {banned}");
                }
                checked += 1;
            }
            Some("html") => {
                let lower = text.to_ascii_lowercase();
                let scripts = lower.matches("<script").count();
                let sourced = lower
                    .matches("<script type=\"module\" src=\"/assets/")
                    .count();
                assert_eq!(scripts, sourced, "{name}: every script comes from /assets/");
                assert!(!lower.contains(" style="), "{name}: no inline styles");
                assert!(!lower.contains("<style"), "{name}: no inline styles");
                assert!(
                    !lower.contains(" onclick=") && !lower.contains(" onload="),
                    "{name}: no inline handlers"
                );
                assert!(
                    !lower.contains("http://") && !lower.contains("https://"),
                    "{name}: nothing from elsewhere"
                );
                checked += 1;
            }
            _ => {}
        }
    }
    assert!(
        checked >= 2,
        "the page's files were found in {}",
        dir.display()
    );
}
