//! Conversations the emulator keeps, per account and session password:
//! continued with only the new message, cut answers continued, answers
//! asked for again, and refused (`404`, `400`) as the real service does.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

mod common;

use common::{body, frames, Session};
use fakegpt_upstream::{reply_in_turn, Config, Emulator};
use serde_json::{json, Value};

/// What a legacy answer stream ended on: the text, the conversation id,
/// the answer's message id and its finish type.
struct Ended {
    text: String,
    conversation: String,
    message: String,
    finish: String,
}

async fn ask(session: &Session, body: &Value) -> Result<Ended, (u16, Value)> {
    let response = session.conversation(body).send().await.unwrap();
    let status = response.status().as_u16();
    if status != 200 {
        return Err((status, response.json().await.unwrap()));
    }
    let text = response.text().await.unwrap();
    let last = frames(&text)
        .iter()
        .filter_map(common::Frame::json)
        .rfind(|e| e["message"]["metadata"]["message_type"] == "next")
        .expect("an answer event");
    Ok(Ended {
        text: last["message"]["content"]["parts"][0]
            .as_str()
            .unwrap()
            .to_owned(),
        conversation: last["conversation_id"].as_str().unwrap().to_owned(),
        message: last["message"]["id"].as_str().unwrap().to_owned(),
        finish: last["message"]["metadata"]["finish_details"]["type"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    })
}

/// A request that keeps the conversation (`history_and_training_disabled:
/// false`), continuing `conversation` after `parent` when given.
fn kept(prompt: &str, user_id: &str, parent: &str, conversation: Option<&str>) -> Value {
    let mut body = body(prompt);
    body["history_and_training_disabled"] = json!(false);
    body["messages"][0]["id"] = json!(user_id);
    body["parent_message_id"] = json!(parent);
    if let Some(id) = conversation {
        body["conversation_id"] = json!(id);
    }
    body
}

#[tokio::test]
async fn a_kept_conversation_continues_with_only_the_new_message() {
    let emulator = Emulator::start(Config::default()).await.unwrap();
    let config = emulator.state().config();
    let session = Session::new(&emulator).await;
    let first = ask(&session, &kept("Hello", "u1", "root", None))
        .await
        .unwrap();
    assert_eq!(first.text, reply_in_turn(&config, "Hello", 1, 0));
    assert_eq!(
        first.text,
        emulator.reply_for("Hello"),
        "turn 1 answers as a temporary chat"
    );
    let mut parent = first.message;
    for turn in 2..=5 {
        let prompt = format!("Question {turn}");
        let next = ask(
            &session,
            &kept(
                &prompt,
                &format!("u{turn}"),
                &parent,
                Some(&first.conversation),
            ),
        )
        .await
        .unwrap();
        assert_eq!(next.conversation, first.conversation);
        assert_eq!(next.text, reply_in_turn(&config, &prompt, turn, 0));
        assert!(next
            .text
            .starts_with(&format!("(turn {turn}) You said: «{prompt}»")));
        parent = next.message;
    }
    let counters = emulator.counters();
    assert_eq!(
        (counters.kept, counters.continued, counters.refused),
        (1, 4, 0)
    );
}

#[tokio::test]
async fn temporary_unknown_and_foreign_conversations_are_not_found() {
    let emulator = Emulator::start(Config::default()).await.unwrap();
    let session = Session::new(&emulator).await;
    let temporary = ask(&session, &body("Not kept")).await.unwrap();
    let not_found = |result: Result<Ended, (u16, Value)>| {
        let (status, detail) = result.err().expect("refused");
        assert_eq!(status, 404, "{detail}");
        assert_eq!(detail["detail"], "Conversation not found");
    };
    not_found(
        ask(
            &session,
            &kept(
                "again",
                "u2",
                &temporary.message,
                Some(&temporary.conversation),
            ),
        )
        .await,
    );
    not_found(ask(&session, &kept("again", "u2", "p", Some("no-such-id"))).await);

    let mine = ask(&session, &kept("Mine", "u1", "root", None))
        .await
        .unwrap();
    let follow_up = kept("again", "u2", &mine.message, Some(&mine.conversation));
    let other_account = Session::as_owner(&emulator, "shared-account-3", "abcdefghij").await;
    not_found(ask(&other_account, &follow_up).await);
    let other_password = Session::as_owner(&emulator, "shared-account-2", "another-one").await;
    not_found(ask(&other_password, &follow_up).await);
    // The same account and password, logged in again, see it.
    let again = Session::new(&emulator).await;
    assert!(ask(&again, &follow_up).await.is_ok());

    let (status, detail) = ask(
        &again,
        &kept("x", "u3", "not-a-parent", Some(&mine.conversation)),
    )
    .await
    .err()
    .unwrap();
    assert_eq!(status, 400);
    assert_eq!(
        detail["detail"],
        "Parent message not found in this conversation"
    );
    assert_eq!(emulator.counters().refused, 5);
}

#[tokio::test]
async fn a_cut_answer_is_continued_where_it_stopped() {
    let emulator = Emulator::start(Config {
        finish_after: Some(25),
        ..Config::default()
    })
    .await
    .unwrap();
    let config = emulator.state().config();
    let whole = reply_in_turn(&config, "Long one", 1, 0);
    let session = Session::new(&emulator).await;
    let first = ask(&session, &kept("Long one", "u1", "root", None))
        .await
        .unwrap();
    assert_eq!(first.finish, "max_tokens");
    let mut stitched = first.text.clone();
    let go_on = json!({
        "action": "continue", "messages": [], "conversation_id": first.conversation,
        "parent_message_id": first.message, "model": "text-davinci-002-render-sha",
        "history_and_training_disabled": false
    });
    let mut rounds = 0;
    loop {
        let more = ask(&session, &go_on).await.unwrap();
        assert_eq!(more.message, first.message, "the same message goes on");
        stitched.push_str(&more.text);
        rounds += 1;
        if more.finish != "max_tokens" {
            break;
        }
        assert!(rounds < 100);
    }
    assert_eq!(stitched, whole);
    assert_eq!(emulator.counters().continuations, rounds);
    let (status, _) = ask(&session, &go_on).await.err().expect("nothing left");
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_variant_answers_the_same_message_again() {
    let emulator = Emulator::start(Config::default()).await.unwrap();
    let config = emulator.state().config();
    let session = Session::new(&emulator).await;
    let first = ask(&session, &kept("Pick one", "u1", "root", None))
        .await
        .unwrap();
    let mut again = kept("Pick one", "u1", "root", Some(&first.conversation));
    again["action"] = json!("variant");
    let second = ask(&session, &again).await.unwrap();
    assert_ne!(second.message, first.message);
    assert_eq!(second.text, reply_in_turn(&config, "Pick one", 1, 1));
    assert!(second.text.starts_with("(variant 1) "));
    let third = ask(&session, &again).await.unwrap();
    assert_eq!(third.text, reply_in_turn(&config, "Pick one", 1, 2));
    // The conversation goes on from the variant chosen.
    let next = ask(
        &session,
        &kept("Next", "u2", &third.message, Some(&first.conversation)),
    )
    .await
    .unwrap();
    assert_eq!(next.text, reply_in_turn(&config, "Next", 2, 0));
    let mut wrong_parent = again.clone();
    wrong_parent["parent_message_id"] = json!(first.message);
    assert_eq!(ask(&session, &wrong_parent).await.err().unwrap().0, 400);
    assert_eq!(emulator.counters().variants, 2);
}
