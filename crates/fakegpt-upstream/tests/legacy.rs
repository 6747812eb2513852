//! The legacy dialect: unchanged by default, fresh times on request, the
//! new faults, cut answers, and pacing below a millisecond (both dialects).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

mod common;

use std::time::{Duration, Instant};

use common::{body, body_v1, frames, Session};
use fakegpt_upstream::{Config, Dialect, Emulator, Fault};
use futures_util::StreamExt;
use serde_json::{json, Value};

async fn start(config: Config) -> (Emulator, Session) {
    let emulator = Emulator::start(config).await.unwrap();
    let session = Session::new(&emulator).await;
    (emulator, session)
}

/// The `next` events of a legacy body, parsed.
fn next_events(text: &str) -> Vec<Value> {
    frames(text)
        .iter()
        .filter_map(common::Frame::json)
        .filter(|v| v["message"]["metadata"]["message_type"] == "next")
        .collect()
}

/// One event exactly as the emulator wrote them before the v1 dialect
/// (kept here, verbatim, to hold the legacy output to it).
fn old_event(
    message_id: &str,
    conversation_id: &str,
    text: &str,
    last: bool,
    kind: &str,
) -> String {
    json!({
        "message": {
            "id": message_id,
            "author": {"role": "assistant", "name": null, "metadata": {}},
            "create_time": 1_700_000_000.0,
            "update_time": null,
            "content": {"content_type": "text", "parts": [text]},
            "status": if last { "finished_successfully" } else { "in_progress" },
            "end_turn": if last { json!(true) } else { json!(null) },
            "weight": 1.0,
            "metadata": {
                "message_type": kind,
                "model_slug": "text-davinci-002-render-sha",
                "finish_details": if last { json!({"type": "stop", "stop_tokens": [100260]}) } else { json!(null) },
            },
            "recipient": "all"
        },
        "conversation_id": conversation_id,
        "error": null
    })
    .to_string()
}

#[tokio::test]
async fn legacy_output_is_byte_for_byte_what_it_was() {
    let prompt = "Unchanged «please» \"quoted\"";
    let (emulator, session) = start(Config {
        dialect: Dialect::Legacy,
        noise: true,
        crlf: true,
        chars_per_event: 7,
        ..Config::default()
    })
    .await;
    // Asking for v1 changes nothing in the legacy dialect.
    let text = session.text(&body_v1(prompt)).await;
    let first = &next_events(&text)[0];
    let (mid, cid) = (
        first["message"]["id"].as_str().unwrap(),
        first["conversation_id"].as_str().unwrap(),
    );
    let reply = emulator.reply_for(prompt);
    let ends: Vec<usize> = reply
        .char_indices()
        .map(|(i, c)| i + c.len_utf8())
        .collect();
    let total = ends.len().div_ceil(7);
    let eol = "\r\n";
    let mut expected =
        format!(": keep-alive{eol}event: message{eol}id: 0{eol}retry: 1000{eol}{eol}");
    for n in 0..total {
        let end = ends[((n + 1) * 7).min(ends.len()) - 1];
        let noise = old_event(mid, cid, "moderation noise", false, "variant");
        expected.push_str(&format!(": ping {n}{eol}{eol}data: {noise}{eol}{eol}"));
        let event = old_event(mid, cid, &reply[..end], n + 1 == total, "next");
        expected.push_str(&format!("data: {event}{eol}{eol}"));
    }
    expected.push_str(&format!("data: [DONE]{eol}{eol}"));
    assert_eq!(text, expected);
}

#[tokio::test]
async fn fresh_times_are_send_times_before_content() {
    let (_emulator, session) = start(Config {
        fresh_times: true,
        noise: true,
        chars_per_event: 2,
        ..Config::default()
    })
    .await;
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let text = session.text(&body("what time is it")).await;
    let mut times = Vec::new();
    for frame in frames(&text).iter().filter(|f| f.data.starts_with('{')) {
        let (time, content) = (
            frame.data.find("\"create_time\"").unwrap(),
            frame.data.find("\"content\"").unwrap(),
        );
        assert!(time < content, "create_time comes first: {}", frame.data);
        let value = frame.json().unwrap();
        let raw = value["message"]["create_time"].to_string();
        let decimals = raw.split_once('.').map_or(0, |(_, f)| f.len());
        assert!(decimals <= 6, "microseconds: {raw}");
        times.push(value["message"]["create_time"].as_f64().unwrap());
    }
    assert!(times.len() > 10);
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    assert!(times[0] >= started - 1.0);

    let (_emulator, session) = start(Config::default()).await;
    let text = session.text(&body("what time is it")).await;
    assert!(next_events(&text)
        .iter()
        .all(|e| e["message"]["create_time"] == json!(1_700_000_000.0)));
}

#[tokio::test]
async fn legacy_faults_and_cut_answers() {
    let prompt = "faulty";
    let (emulator, session) = start(Config::default()).await;
    let reply = emulator.reply_for(prompt);
    let part = |n: usize| -> String { reply.chars().take(n * 4).collect() };

    emulator.inject(Fault::StreamError { after_events: 2 }, 1);
    let text = session.text(&body(prompt)).await;
    let events = next_events(&text);
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["message"]["content"]["parts"][0], part(2));
    let all = frames(&text);
    let error = all[all.len() - 2].json().unwrap();
    assert_eq!(
        all[all.len() - 2].data,
        format!(
            "{{\"message\":null,\"conversation_id\":{},\"error\":\"Something went wrong while generating the response.\"}}",
            events[0]["conversation_id"]
        )
    );
    assert!(error["message"].is_null());
    assert_eq!(all.last().unwrap().data, "[DONE]");

    emulator.inject(Fault::Moderation, 1);
    let text = session.text(&body(prompt)).await;
    let events = next_events(&text);
    assert_eq!(events.len(), 1);
    let all = frames(&text);
    let moderation = all[all.len() - 2].json().unwrap();
    assert_eq!(moderation["type"], "moderation");
    assert_eq!(moderation["message_id"], events[0]["message"]["id"]);
    assert_eq!(moderation["moderation_response"]["flagged"], true);
    assert!(moderation["moderation_response"]["moderation_id"]
        .as_str()
        .unwrap()
        .starts_with("modr-"));
    assert_eq!(all.last().unwrap().data, "[DONE]");

    emulator.inject(Fault::Incomplete { after_events: 3 }, 1);
    let text = session.text(&body(prompt)).await;
    let events = next_events(&text);
    assert_eq!(events.len(), 3);
    assert_eq!(events[2]["message"]["content"]["parts"][0], part(3));
    assert_eq!(events[2]["message"]["status"], "in_progress");
    assert!(!text.contains("[DONE]"));

    emulator
        .state()
        .update_config(|c| c.finish_after = Some(10));
    let text = session.text(&body(prompt)).await;
    let last = next_events(&text).pop().unwrap();
    let cut: String = reply.chars().take(10).collect();
    assert_eq!(last["message"]["content"]["parts"][0], cut);
    assert_eq!(
        last["message"]["metadata"]["finish_details"],
        json!({"type": "max_tokens"})
    );
    emulator
        .state()
        .update_config(|c| c.finish_after = Some(100_000));
    let text = session.text(&body(prompt)).await;
    let last = next_events(&text).pop().unwrap();
    assert_eq!(last["message"]["content"]["parts"][0], reply.as_str());
    assert_eq!(
        last["message"]["metadata"]["finish_details"]["type"],
        "stop"
    );
}

#[tokio::test]
async fn sub_millisecond_delays_trickle_events_out() {
    for dialect in [Dialect::Legacy, Dialect::V1] {
        let (emulator, session) = start(Config {
            dialect,
            event_delay: Duration::from_micros(200),
            chars_per_event: 1,
            reply_chars: 200,
            ..Config::default()
        })
        .await;
        let events = emulator.reply_for("pace me").chars().count();
        assert!(events >= 200);
        let started = Instant::now();
        let response = session.conversation(&body("pace me")).send().await.unwrap();
        let mut stream = response.bytes_stream();
        let mut chunks = 0;
        let mut received = Vec::new();
        while let Some(chunk) = stream.next().await {
            received.extend_from_slice(&chunk.unwrap());
            chunks += 1;
        }
        let elapsed = started.elapsed();
        assert!(
            elapsed >= Duration::from_millis(40),
            "{dialect}: 200 events at 0.2 ms take 40 ms at least, not {elapsed:?}"
        );
        assert!(
            chunks * 2 >= events,
            "{dialect}: {chunks} chunks for {events} events"
        );
        assert!(String::from_utf8(received)
            .unwrap()
            .ends_with("data: [DONE]\n\n"));
    }
}
