//! What the emulator's tests share: a client, a login by hand, request
//! bodies, and a reader of event streams.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test; not every test file uses every helper"
)]

use fakegpt_upstream::Emulator;
use serde_json::{json, Value};

/// Sends `request` and parses its JSON answer.
pub async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

/// A client that does not follow redirects.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Logs in by hand; returns the session cookie and the access token.
pub async fn login(emulator: &Emulator) -> (String, String) {
    login_as(emulator, "shared-account-2", "abcdefghij").await
}

/// Logs in by hand to `account` with `password`; returns the session
/// cookie and the access token.
pub async fn login_as(emulator: &Emulator, account: &str, password: &str) -> (String, String) {
    let client = client();
    let response = client
        .post(format!("{}/auth/login", emulator.url()))
        .form(&[("token_key", account), ("session_password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["location"], "/");
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("Path=/"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let session: Value = json_of(
        client
            .get(format!("{}/api/auth/session", emulator.url()))
            .header("cookie", &cookie),
    )
    .await;
    let token = session["accessToken"].as_str().unwrap().to_owned();
    (cookie, token)
}

/// A conversation body asking about `prompt`, as gpt4free's client sends it.
pub fn body(prompt: &str) -> Value {
    json!({
        "action": "next",
        "messages": [{"id": "1", "author": {"role": "user"},
                      "content": {"content_type": "text", "parts": [prompt]}, "metadata": {}}],
        "parent_message_id": "2", "model": "text-davinci-002-render-sha",
        "plugin_ids": [], "timezone_offset_min": -120, "suggestions": [],
        "history_and_training_disabled": true, "arkose_token": "", "force_paragen": false
    })
}

/// The same body, asking for the delta encoding as newer clients do.
pub fn body_v1(prompt: &str) -> Value {
    let mut body = body(prompt);
    body["supported_encodings"] = json!(["v1"]);
    body
}

/// A logged-in session with an emulator.
pub struct Session {
    pub url: String,
    pub cookie: String,
    pub token: String,
}

impl Session {
    /// Logs in to `emulator`.
    pub async fn new(emulator: &Emulator) -> Session {
        Session::as_owner(emulator, "shared-account-2", "abcdefghij").await
    }

    /// Logs in to `emulator` on `account` with `password`.
    pub async fn as_owner(emulator: &Emulator, account: &str, password: &str) -> Session {
        let (cookie, token) = login_as(emulator, account, password).await;
        Session {
            url: emulator.url(),
            cookie,
            token,
        }
    }

    /// A conversation request with `body`.
    pub fn conversation(&self, body: &Value) -> reqwest::RequestBuilder {
        client()
            .post(format!("{}/api/conversation", self.url))
            .header("x-authorization", format!("Bearer {}", self.token))
            .header("cookie", &self.cookie)
            .json(body)
    }

    /// The whole answer to `body`, as text.
    pub async fn text(&self, body: &Value) -> String {
        let response = self.conversation(body).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }
}

/// One SSE event: its `event:` field, if any, and its data lines joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub event: Option<String>,
    pub data: String,
}

impl Frame {
    /// The data as JSON, if it is.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.data).ok()
    }
}

/// The events of an SSE body (LF or CRLF), comments and other fields left
/// out, as a browser's EventSource reads them.
pub fn frames(text: &str) -> Vec<Frame> {
    let mut frames = Vec::new();
    let (mut event, mut data): (Option<String>, Option<String>) = (None, None);
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            if let Some(data) = data.take() {
                frames.push(Frame {
                    event: event.take(),
                    data,
                });
            }
            event = None;
        } else if let Some(value) = line.strip_prefix("event: ") {
            event = Some(value.to_owned());
        } else if let Some(value) = line.strip_prefix("data: ") {
            data = Some(match data {
                Some(before) => format!("{before}\n{value}"),
                None => value.to_owned(),
            });
        }
    }
    frames
}
