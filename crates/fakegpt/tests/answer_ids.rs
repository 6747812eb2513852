//! The decoder names where an answer lives (its conversation's id and its
//! message's id) in both dialects, whatever the framing and however the
//! bytes are cut — proved by continuing the conversation with those ids:
//! the emulator accepts a continuation only with the right ones.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

use fakegpt::decode::{Decoder, Ids};
use fakegpt_upstream::{reply_in_turn, Config, Dialect, Emulator};
use serde_json::{json, Value};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

/// Logs in by hand: the session cookie and the access token.
async fn login(emulator: &Emulator) -> (String, String) {
    let response = client()
        .post(format!("{}/auth/login", emulator.url()))
        .form(&[
            ("token_key", "shared-account-1"),
            ("session_password", "pw-1"),
        ])
        .send()
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let session = client()
        .get(format!("{}/api/auth/session", emulator.url()))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let session: Value = serde_json::from_slice(&session).unwrap();
    (cookie, session["accessToken"].as_str().unwrap().to_owned())
}

/// A kept turn's body: a new conversation, or one continued after `parent`.
fn body(prompt: &str, parent: &str, conversation: Option<&str>, v1: bool) -> Value {
    let mut body = json!({
        "action": "next",
        "messages": [{"id": uuid_like(prompt), "author": {"role": "user"},
                      "content": {"content_type": "text", "parts": [prompt]}, "metadata": {}}],
        "parent_message_id": parent, "model": "text-davinci-002-render-sha",
        "history_and_training_disabled": false
    });
    if let Some(id) = conversation {
        body["conversation_id"] = json!(id);
    }
    if v1 {
        body["supported_encodings"] = json!(["v1"]);
    }
    body
}

fn uuid_like(seed: &str) -> String {
    format!("user-{}", seed.len())
}

/// Decodes the answer to `body`, feeding the bytes cut every `cut` bytes:
/// the text and the ids.
async fn decode(
    emulator: &Emulator,
    session: &(String, String),
    body: &Value,
    cut: usize,
) -> (String, Ids) {
    let response = client()
        .post(format!("{}/api/conversation", emulator.url()))
        .header("cookie", &session.0)
        .header("x-authorization", format!("Bearer {}", session.1))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(body).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let bytes = response.bytes().await.unwrap();
    let mut decoder = Decoder::new(1 << 20);
    let mut text = String::new();
    for piece in bytes.chunks(cut) {
        text.push_str(&decoder.feed(piece).unwrap());
    }
    text.push_str(&decoder.finish().unwrap());
    (text, decoder.ids())
}

#[tokio::test]
async fn the_ids_an_answer_names_continue_its_conversation() {
    type Framing = (&'static str, fn(&mut Config));
    let framings: [Framing; 4] = [
        ("plain", |_| {}),
        ("crlf and noise", |c| {
            c.crlf = true;
            c.noise = true;
        }),
        ("fresh times", |c| c.fresh_times = true),
        ("reasoning", |c| c.reasoning = true),
    ];
    for dialect in [Dialect::Legacy, Dialect::V1] {
        for (name, framing) in framings {
            let mut config = Config {
                dialect: Dialect::Auto,
                chars_per_event: 3,
                ..Config::default()
            };
            framing(&mut config);
            let emulator = Emulator::start(config.clone()).await.unwrap();
            let session = login(&emulator).await;
            let v1 = dialect == Dialect::V1;
            for cut in [1, 7, 4096] {
                let case = format!("{dialect} {name}, cut {cut}");
                let (first, ids) =
                    decode(&emulator, &session, &body("Hello", "root", None, v1), cut).await;
                assert_eq!(first, reply_in_turn(&config, "Hello", 1, 0), "{case}");
                let conversation = ids.conversation.expect(&case);
                let parent = ids.message.expect(&case);
                let next = body("And then?", &parent, Some(&conversation), v1);
                let (second, again) = decode(&emulator, &session, &next, cut).await;
                assert_eq!(second, reply_in_turn(&config, "And then?", 2, 0), "{case}");
                assert_eq!(
                    again.conversation.as_deref(),
                    Some(conversation.as_str()),
                    "{case}"
                );
                assert_ne!(again.message.as_deref(), Some(parent.as_str()), "{case}");
            }
            assert_eq!(emulator.counters().continued, 3, "{dialect} {name}");
        }
    }
}

#[test]
fn a_stream_without_ids_names_none() {
    let mut decoder = Decoder::new(1 << 20);
    let event =
        r#"data: {"message":{"content":{"parts":["hi"]},"metadata":{"message_type":"next"}}}"#;
    decoder
        .feed(format!("{event}\n\ndata: [DONE]\n\n").as_bytes())
        .unwrap();
    assert_eq!(decoder.ids(), Ids::default());
}
