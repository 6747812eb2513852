//! The emulator's endpoints, spoken to by hand over loopback HTTP.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

mod common;

use common::{body, client, json_of, login};
use fakegpt_upstream::{Config, Emulator, Fault};
use serde_json::{json, Value};

#[tokio::test]
async fn loads_list_the_accounts() {
    let emulator = Emulator::start(Config::default()).await.unwrap();
    let loads: Value =
        json_of(client().get(format!("{}/api/loads?t=1700000000", emulator.url()))).await;
    assert_eq!(loads["loads"].as_array().unwrap().len(), 4);
    assert_eq!(
        loads["loads"][1],
        json!({"token_id": "shared-account-2", "count": 0})
    );
    emulator.inject(Fault::EmptyLoads, 1);
    let empty: Value = json_of(client().get(format!("{}/api/loads", emulator.url()))).await;
    assert_eq!(empty, json!({"loads": []}));
}

#[tokio::test]
async fn logins_need_a_known_token_key_and_a_form() {
    let emulator = Emulator::start(Config::default()).await.unwrap();
    let url = format!("{}/auth/login", emulator.url());
    let unknown = client()
        .post(&url)
        .form(&[("token_key", "nope"), ("session_password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 401);
    let json_body = client()
        .post(&url)
        .json(&json!({"token_key": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_body.status(), 415);
    let session: Value =
        json_of(client().get(format!("{}/api/auth/session", emulator.url()))).await;
    assert_eq!(session, json!({}), "no cookie, no token");
    assert_eq!(emulator.counters().logins, 0);
}

#[tokio::test]
async fn conversations_check_token_cookie_and_body() {
    let emulator = Emulator::start(Config::default()).await.unwrap();
    let (cookie, token) = login(&emulator).await;
    let url = format!("{}/api/conversation", emulator.url());
    let post = |auth: Option<String>, cookie: Option<String>, body: String| {
        let mut request = client()
            .post(&url)
            .header("content-type", "application/json")
            .body(body);
        if let Some(auth) = auth {
            request = request.header("x-authorization", auth);
        }
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send()
    };
    let good = body("hello").to_string();
    let bearer = format!("Bearer {token}");

    let no_token = post(None, Some(cookie.clone()), good.clone())
        .await
        .unwrap();
    assert_eq!(no_token.status(), 401);
    assert!(no_token.json::<Value>().await.unwrap()["detail"].is_string());
    let no_cookie = post(Some(bearer.clone()), None, good.clone())
        .await
        .unwrap();
    assert_eq!(no_cookie.status(), 401);
    let malformed = post(
        Some(bearer.clone()),
        Some(cookie.clone()),
        "{\"action\":".into(),
    )
    .await
    .unwrap();
    assert_eq!(malformed.status(), 400);
    assert!(malformed.json::<Value>().await.unwrap()["detail"]
        .as_str()
        .unwrap()
        .contains("malformed"));

    let ok = post(Some(bearer), Some(cookie), good).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert!(ok.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let text = ok.text().await.unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"));
    let last_event = text.lines().rfind(|l| l.starts_with("data: {")).unwrap();
    let event: Value = serde_json::from_str(&last_event["data: ".len()..]).unwrap();
    assert_eq!(
        event["message"]["content"]["parts"][0],
        emulator.reply_for("hello")
    );
    assert_eq!(event["message"]["status"], "finished_successfully");
    let counters = emulator.counters();
    assert_eq!(
        (
            counters.conversations,
            counters.unauthorized,
            counters.completed
        ),
        (1, 2, 1)
    );
}

#[tokio::test]
async fn tokens_expire_after_the_configured_conversations() {
    let emulator = Emulator::start(Config {
        token_expires_after: Some(1),
        ..Config::default()
    })
    .await
    .unwrap();
    let (cookie, token) = login(&emulator).await;
    let send = || conversation(&emulator, &cookie, &token).send();
    assert_eq!(send().await.unwrap().status(), 200);
    let expired = send().await.unwrap();
    assert_eq!(expired.status(), 401);
    assert_eq!(
        expired.json::<Value>().await.unwrap()["detail"]["code"],
        "token_expired"
    );
}

/// A conversation request with the session from [`login`].
fn conversation(emulator: &Emulator, cookie: &str, token: &str) -> reqwest::RequestBuilder {
    client()
        .post(format!("{}/api/conversation", emulator.url()))
        .header("x-authorization", format!("Bearer {token}"))
        .header("cookie", cookie)
        .json(&body("x"))
}

#[tokio::test]
async fn faults_answer_as_configured() {
    let emulator = Emulator::start(Config::default()).await.unwrap();
    let (cookie, token) = login(&emulator).await;
    let send = || conversation(&emulator, &cookie, &token).send();
    emulator.inject(Fault::TooManyRequests { retry_after: 9 }, 1);
    emulator.inject(Fault::HtmlForbidden, 1);
    let busy = send().await.unwrap();
    assert_eq!(busy.status(), 429);
    assert_eq!(busy.headers()["retry-after"], "9");
    let html = send().await.unwrap();
    assert_eq!(html.status(), 403);
    assert!(html
        .text()
        .await
        .unwrap()
        .contains("<title>Just a moment...</title>"));
    assert_eq!(send().await.unwrap().status(), 200, "faults are used up");
    assert_eq!(emulator.counters().faults, 2);
}

#[tokio::test]
async fn answers_are_compressed_when_asked_and_configured() {
    let emulator = Emulator::start(Config {
        compress: true,
        reply_chars: 3_000,
        ..Config::default()
    })
    .await
    .unwrap();
    let (cookie, token) = login(&emulator).await;
    let raw = reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .no_zstd()
        .build()
        .unwrap();
    let mut sizes = Vec::new();
    for encoding in ["identity", "gzip", "br", "zstd"] {
        let response = raw
            .post(format!("{}/api/conversation", emulator.url()))
            .header("x-authorization", format!("Bearer {token}"))
            .header("cookie", &cookie)
            .header("accept-encoding", encoding)
            .json(&body("squeeze"))
            .send()
            .await
            .unwrap();
        let used = response
            .headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(
            used.as_deref(),
            (encoding != "identity").then_some(encoding)
        );
        sizes.push(response.bytes().await.unwrap().len());
    }
    // A cumulative stream shrinks by far more than ordinary text does.
    assert!(sizes[1..].iter().all(|s| s * 20 < sizes[0]), "{sizes:?}");
}

#[tokio::test]
async fn counters_are_served_as_json_and_replies_come_in_each_kind() {
    use fakegpt_upstream::Replies;
    let emulator = Emulator::start(Config {
        replies: Replies::Markdown,
        ..Config::default()
    })
    .await
    .unwrap();
    let counters = format!("{}/_emulator/counters", emulator.url());
    let before: Value = json_of(client().get(&counters)).await;
    assert_eq!(before["conversations"], 0);
    let session = common::Session::new(&emulator).await;
    let text = session.text(&body("render me")).await;
    let after: Value = json_of(client().get(&counters)).await;
    assert_eq!(after["conversations"], 1);
    assert_eq!(after["completed"], 1);
    assert_eq!(after["cancelled"], 0);
    assert_eq!(after["logins"], 1);
    let markdown = emulator.reply_for("render me");
    assert!(markdown.contains("```"), "{markdown}");
    let last = common::frames(&text)
        .iter()
        .filter_map(common::Frame::json)
        .filter_map(|event| {
            event["message"]["content"]["parts"][0]
                .as_str()
                .map(str::to_owned)
        })
        .next_back()
        .unwrap();
    assert_eq!(last, markdown);
    for kind in Replies::ALL {
        assert_eq!(kind.name().parse::<Replies>(), Ok(kind));
    }
    assert!("html".parse::<Replies>().is_err());
}
