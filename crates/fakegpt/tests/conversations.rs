//! Conversations kept on the upstream, against the emulator over loopback:
//! continued turns send only the new message (the emulator's reply says
//! which turn it answered, and quotes the prompt it got), a history that
//! differs starts a new conversation, an unknown conversation or parent
//! falls back once without repeating text, the conversation's account is
//! logged back into, cut answers are continued and stitched, and an answer
//! can be asked again.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

use fakegpt::{
    format_prompt, ChatRequest, Conversation, Dialect, FakeGpt, FinishReason, Message, RetryPolicy,
};
use fakegpt_upstream::{reply_in_turn, Account, Config, Emulator};

fn config(dialect: fakegpt_upstream::Dialect) -> Config {
    Config {
        accounts: vec![Account::new("acct-a", 0), Account::new("acct-b", 5)],
        reply_chars: 60,
        chars_per_event: 7,
        dialect,
        ..Config::default()
    }
}

fn provider(emulator: &Emulator, dialect: Dialect) -> FakeGpt {
    FakeGpt::builder()
        .base_url(emulator.url())
        .dialect(dialect)
        .retry(RetryPolicy::NONE)
        .build()
        .unwrap()
}

/// What one answer came to.
struct Said {
    text: String,
    handle: Option<Conversation>,
    finish: Option<FinishReason>,
}

async fn ask(provider: &FakeGpt, request: ChatRequest) -> Said {
    let mut answer = provider.chat(request).await.unwrap();
    let text = answer.read_text().await.unwrap();
    Said {
        text,
        handle: answer.conversation().cloned(),
        finish: answer.finish_reason(),
    }
}

fn request(messages: &[Message]) -> ChatRequest {
    ChatRequest::new("gpt-3.5-turbo", messages.to_vec())
}

/// A handle with one field changed, as a forged or stale one would be.
fn altered(handle: &Conversation, field: &str, value: &str) -> Conversation {
    let mut json = serde_json::to_value(handle).unwrap();
    json[field] = serde_json::Value::from(value);
    serde_json::from_value(json).unwrap()
}

const DIALECTS: [(fakegpt_upstream::Dialect, Dialect); 2] = [
    (fakegpt_upstream::Dialect::Legacy, Dialect::Legacy),
    (fakegpt_upstream::Dialect::V1, Dialect::V1),
];

#[tokio::test]
async fn five_turns_continue_on_the_upstream_in_both_dialects() {
    for (served, asked) in DIALECTS {
        let emulator = Emulator::start(config(served)).await.unwrap();
        let cfg = emulator.state().config();
        let provider = provider(&emulator, asked);
        let mut messages = vec![
            Message::system("Be brief."),
            Message::user("First question"),
        ];
        let first = ask(&provider, request(&messages).kept()).await;
        // The first turn sends the whole history, flattened.
        assert_eq!(
            first.text,
            reply_in_turn(&cfg, &format_prompt(&messages), 1, 0)
        );
        let mut handle = first
            .handle
            .expect("a kept conversation reports its handle");
        assert_eq!(handle.turns(), 1);
        assert_eq!(handle.account(), "acct-a");
        let id = handle.id().to_owned();
        messages.push(Message::assistant(first.text));
        for turn in 2..=5u32 {
            let question = format!("Question number {turn}");
            messages.push(Message::user(question.as_str()));
            let said = ask(&provider, request(&messages).continuing(handle.clone())).await;
            // Only the new message went: the emulator quotes it, as turn N.
            assert_eq!(
                said.text,
                reply_in_turn(&cfg, &question, turn, 0),
                "{served:?}"
            );
            handle = said.handle.unwrap();
            assert_eq!((handle.id(), handle.turns()), (id.as_str(), turn));
            messages.push(Message::assistant(said.text));
            assert_eq!(handle.history(), fakegpt::HistoryHash::of(&messages));
        }
        let counters = emulator.counters();
        assert_eq!((counters.kept, counters.continued), (1, 4), "{served:?}");
        assert_eq!(counters.refused, 0);
        assert_eq!(provider.logins(), 1);
    }
}

#[tokio::test]
async fn a_history_that_differs_starts_a_new_conversation() {
    let emulator = Emulator::start(config(fakegpt_upstream::Dialect::Legacy))
        .await
        .unwrap();
    let cfg = emulator.state().config();
    let provider = provider(&emulator, Dialect::Legacy);
    let mut messages = vec![Message::system("Be brief."), Message::user("One")];
    let first = ask(&provider, request(&messages).kept()).await;
    messages.push(Message::assistant(first.text.as_str()));
    messages.push(Message::user("Two"));
    let second = ask(
        &provider,
        request(&messages).continuing(first.handle.unwrap()),
    )
    .await;
    let handle = second.handle.unwrap();
    messages.push(Message::assistant(second.text.as_str()));

    let mut edited = messages.clone();
    edited[1] = Message::user("One, edited");
    let mut dropped = messages.clone();
    dropped.drain(1..3);
    let mut system = messages.clone();
    system[0] = Message::system("Be verbose.");
    let mut answer_changed = messages.clone();
    answer_changed[4] = Message::assistant("Something I never said.");
    for (name, mut history) in [
        ("edited", edited),
        ("dropped", dropped),
        ("system", system),
        ("answer", answer_changed),
    ] {
        history.push(Message::user("Three"));
        let said = ask(&provider, request(&history).continuing(handle.clone())).await;
        assert_eq!(
            said.text,
            reply_in_turn(&cfg, &format_prompt(&history), 1, 0),
            "{name}"
        );
        let fresh = said.handle.unwrap();
        assert_ne!(fresh.id(), handle.id(), "{name}");
        assert_eq!(fresh.turns(), 1);
    }
    // The unchanged history still continues.
    messages.push(Message::user("Three"));
    let said = ask(&provider, request(&messages).continuing(handle.clone())).await;
    assert_eq!(said.text, reply_in_turn(&cfg, "Three", 3, 0));
    let counters = emulator.counters();
    assert_eq!((counters.kept, counters.continued), (5, 2));
}

#[tokio::test]
async fn an_unknown_conversation_or_parent_falls_back_once_without_repeating_text() {
    let emulator = Emulator::start(config(fakegpt_upstream::Dialect::Legacy))
        .await
        .unwrap();
    let cfg = emulator.state().config();
    let provider = provider(&emulator, Dialect::Legacy);
    let mut messages = vec![Message::user("Start")];
    let first = ask(&provider, request(&messages).kept()).await;
    let handle = first.handle.unwrap();
    messages.push(Message::assistant(first.text));
    messages.push(Message::user("Go on"));
    let unknown = altered(&handle, "id", "00000000-0000-4000-8000-000000000000");
    let orphan = altered(&handle, "message", "not-a-message-of-it");
    let other_password = altered(&handle, "password", "someoneelse");
    for (name, stale, refused) in [
        ("404", unknown, 1),
        ("400", orphan, 2),
        ("password", other_password, 3),
    ] {
        let said = ask(&provider, request(&messages).continuing(stale)).await;
        // The whole answer of the new conversation, once.
        assert_eq!(
            said.text,
            reply_in_turn(&cfg, &format_prompt(&messages), 1, 0),
            "{name}"
        );
        let fresh = said.handle.unwrap();
        assert_ne!(fresh.id(), handle.id());
        assert_eq!(emulator.counters().refused, refused, "{name}");
        // And the new handle continues.
        let mut next = messages.clone();
        next.push(Message::assistant(said.text));
        next.push(Message::user("And then?"));
        let again = ask(&provider, request(&next).continuing(fresh)).await;
        assert_eq!(again.text, reply_in_turn(&cfg, "And then?", 2, 0), "{name}");
    }
}

#[tokio::test]
async fn a_conversation_is_asked_on_its_own_account_and_password() {
    let emulator = Emulator::start(config(fakegpt_upstream::Dialect::Legacy))
        .await
        .unwrap();
    let cfg = emulator.state().config();
    let first_provider = provider(&emulator, Dialect::Legacy);
    let mut messages = vec![Message::user("Where do I live?")];
    let first = ask(&first_provider, request(&messages).kept()).await;
    let handle = first.handle.unwrap();
    assert_eq!(handle.account(), "acct-a");
    messages.push(Message::assistant(first.text));

    // Another process, whose session is on the other account.
    emulator.state().update_config(|c| {
        c.accounts = vec![Account::new("acct-a", 9), Account::new("acct-b", 0)];
    });
    let other = provider(&emulator, Dialect::Legacy);
    ask(&other, request(&[Message::user("warm up")])).await;
    assert_eq!(other.logins(), 1);
    let mut next = messages.clone();
    next.push(Message::user("Still there?"));
    let said = ask(&other, request(&next).continuing(handle.clone())).await;
    assert_eq!(said.text, reply_in_turn(&cfg, "Still there?", 2, 0));
    assert_eq!(
        other.logins(),
        2,
        "logged back into the conversation's account"
    );
    let moved = said.handle.unwrap();
    assert_eq!((moved.id(), moved.account()), (handle.id(), "acct-a"));
    // Its session is there now: the next turn needs no login.
    next.push(Message::assistant(said.text));
    next.push(Message::user("Third"));
    let third = ask(&other, request(&next).continuing(moved.clone())).await;
    assert_eq!(third.text, reply_in_turn(&cfg, "Third", 3, 0));
    assert_eq!(other.logins(), 2);

    // An account the upstream no longer lists: a new conversation elsewhere.
    emulator
        .state()
        .update_config(|c| c.accounts = vec![Account::new("acct-b", 0)]);
    let gone = provider(&emulator, Dialect::Legacy);
    let said = ask(&gone, request(&next).continuing(moved)).await;
    assert_eq!(said.text, reply_in_turn(&cfg, &format_prompt(&next), 1, 0));
    assert_eq!(said.handle.unwrap().account(), "acct-b");
}

#[tokio::test]
async fn a_cut_answer_is_continued_and_stitched_up_to_the_bound() {
    let mut cfg = config(fakegpt_upstream::Dialect::Legacy);
    cfg.reply_chars = 200;
    cfg.finish_after = Some(45);
    for (served, asked) in DIALECTS {
        cfg.dialect = served;
        let emulator = Emulator::start(cfg.clone()).await.unwrap();
        let provider = provider(&emulator, asked);
        let messages = [Message::user("Tell me everything")];
        let whole = reply_in_turn(&cfg, "Tell me everything", 1, 0);
        let pieces = whole.chars().count().div_ceil(45);
        assert!(pieces >= 4, "{pieces}");

        let said = ask(&provider, request(&messages).kept().auto_continue(10)).await;
        assert_eq!(said.text, whole, "{served:?}");
        assert_eq!(said.finish, Some(FinishReason::Stop));
        assert_eq!(emulator.counters().continuations, pieces as u64 - 1);
        // The handle covers the whole answer: the next turn continues.
        let handle = said.handle.unwrap();
        let mut next = messages.to_vec();
        next.push(Message::assistant(said.text));
        assert_eq!(handle.history(), fakegpt::HistoryHash::of(&next));

        // Bounded: two continuations, then the cut shows as `length`.
        let said = ask(&provider, request(&messages).kept().auto_continue(2)).await;
        assert_eq!(said.text, whole.chars().take(45 * 3).collect::<String>());
        assert_eq!(said.finish, Some(FinishReason::Length));
        // Not asked for, or a temporary chat: no continuation.
        for request in [
            request(&messages).kept(),
            request(&messages).auto_continue(5),
        ] {
            let said = ask(&provider, request).await;
            assert_eq!(said.text, whole.chars().take(45).collect::<String>());
            assert_eq!(said.finish, Some(FinishReason::Length));
        }
        assert_eq!(emulator.counters().continuations, pieces as u64 - 1 + 2);
    }
}

#[tokio::test]
async fn an_answer_is_asked_again_and_the_conversation_goes_on_from_it() {
    let emulator = Emulator::start(config(fakegpt_upstream::Dialect::V1))
        .await
        .unwrap();
    let cfg = emulator.state().config();
    let provider = provider(&emulator, Dialect::V1);
    let mut messages = vec![Message::user("Pick a number")];
    let first = ask(&provider, request(&messages).kept()).await;
    let handle = first.handle.unwrap();
    for variant in 1..=2 {
        let again = ask(&provider, request(&messages).regenerating(handle.clone())).await;
        assert_eq!(again.text, reply_in_turn(&cfg, "Pick a number", 1, variant));
        let regenerated = again.handle.unwrap();
        assert_eq!(regenerated.id(), handle.id());
        assert_eq!(regenerated.asked(), handle.asked());
        if variant == 2 {
            messages.push(Message::assistant(again.text));
            messages.push(Message::user("Why that one?"));
            let next = ask(&provider, request(&messages).continuing(regenerated)).await;
            assert_eq!(next.text, reply_in_turn(&cfg, "Why that one?", 2, 0));
        }
    }
    // Messages that are not the conversation's: a new one.
    let other = [Message::user("Something else")];
    let said = ask(&provider, request(&other).regenerating(handle)).await;
    assert_eq!(said.text, reply_in_turn(&cfg, "Something else", 1, 0));
    let counters = emulator.counters();
    assert_eq!(
        (counters.variants, counters.continued, counters.kept),
        (2, 1, 2)
    );
}

#[tokio::test]
async fn by_default_nothing_is_kept() {
    let emulator = Emulator::start(config(fakegpt_upstream::Dialect::Legacy))
        .await
        .unwrap();
    let provider = provider(&emulator, Dialect::Legacy);
    let messages = [
        Message::user("Hi"),
        Message::assistant("Hello"),
        Message::user("Bye"),
    ];
    let said = ask(&provider, request(&messages)).await;
    assert_eq!(said.text, emulator.reply_for(&format_prompt(&messages)));
    assert!(said.handle.is_none());
    assert_eq!(emulator.counters().kept, 0);
}

#[tokio::test]
async fn after_another_login_took_the_session_the_conversations_account_is_logged_back_into() {
    let mut cfg = config(fakegpt_upstream::Dialect::Legacy);
    // Every token serves one conversation request, then is refused (401).
    cfg.token_expires_after = Some(1);
    let emulator = Emulator::start(cfg.clone()).await.unwrap();
    let provider = provider(&emulator, Dialect::Legacy);
    let mut messages = vec![Message::user("Remember me")];
    let first = ask(&provider, request(&messages).kept()).await;
    let handle = first.handle.unwrap();
    assert_eq!(handle.account(), "acct-a");
    messages.push(Message::assistant(first.text));

    // The token expires; the login that replaces it lands on the other account.
    emulator.state().update_config(|c| {
        c.accounts = vec![Account::new("acct-a", 9), Account::new("acct-b", 0)];
    });
    let other = ask(&provider, request(&[Message::user("Anything")])).await;
    assert!(other.handle.is_none());
    assert_eq!(provider.logins(), 2);

    messages.push(Message::user("Do you?"));
    let said = ask(&provider, request(&messages).continuing(handle.clone())).await;
    assert_eq!(said.text, reply_in_turn(&cfg, "Do you?", 2, 0));
    assert_eq!(provider.logins(), 3, "logged back into acct-a");
    assert_eq!(said.handle.unwrap().account(), "acct-a");
    assert_eq!(emulator.counters().continued, 1);
}
