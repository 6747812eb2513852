//! The delta-encoded ("v1") dialect, read back by a small reference
//! interpreter that rebuilds every message document of the turn.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

mod common;

use common::{body, body_v1, frames, Frame, Session};
use fakegpt_upstream::{reasoning_for, Config, Dialect, Emulator, Fault};
use serde_json::{json, Value};

/// The documents of a turn, rebuilt frame by frame.
#[derive(Debug, Default)]
struct Turn {
    /// The documents by `c`.
    docs: Vec<Value>,
    /// The document frames without `c` apply to.
    current: usize,
    /// The last frame's path and operation (a frame without them repeats them).
    sticky: (String, String),
    /// Delta frames read.
    deltas: usize,
    /// Delta frames that named no path (`{"v": …}`).
    shorthand: usize,
    /// Delta frames that repeated `c` for a document already started.
    repeated_c: usize,
    /// Bare batches: `{"v": [...]}` after a patch.
    batches: usize,
}

/// The value at `path` (a JSON pointer) in `root`, created (null) if missing.
fn slot<'a>(root: &'a mut Value, path: &str) -> &'a mut Value {
    let mut at = root;
    for token in path.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        at = match at {
            Value::Array(list) => {
                let index: usize = token.parse().unwrap();
                assert!(index <= list.len(), "{path}: index {index} skips ahead");
                if index == list.len() {
                    list.push(Value::Null);
                }
                &mut list[index]
            }
            other => {
                if other.is_null() {
                    *other = json!({});
                }
                other
                    .as_object_mut()
                    .unwrap_or_else(|| panic!("{path}: {token} is not in an object"))
                    .entry(token)
                    .or_insert(Value::Null)
            }
        };
    }
    at
}

/// Applies one operation with an absolute path to `doc`.
fn apply(doc: &mut Value, p: &str, o: &str, v: &Value) {
    match o {
        "add" | "replace" => *slot(doc, p) = v.clone(),
        "append" => {
            let target = slot(doc, p);
            match (target, v) {
                (t @ Value::Null, v) => *t = v.clone(),
                (Value::String(s), Value::String(more)) => s.push_str(more),
                (Value::Array(list), Value::Array(more)) => list.extend(more.iter().cloned()),
                (Value::Object(map), Value::Object(more)) => {
                    map.extend(more.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                (t, v) => panic!("cannot append {v} to {t} at {p}"),
            }
        }
        "patch" => {
            for op in v.as_array().unwrap() {
                let (p, o) = (op["p"].as_str().unwrap(), op["o"].as_str().unwrap());
                assert_ne!(o, "patch", "patches do not nest");
                apply(doc, p, o, &op["v"]);
            }
        }
        other => panic!("unexpected operation {other}"),
    }
}

impl Turn {
    fn delta(&mut self, frame: &Value) {
        self.deltas += 1;
        let p = frame.get("p").and_then(Value::as_str);
        let o = frame.get("o").and_then(Value::as_str);
        if p.is_none() && o.is_none() {
            self.shorthand += 1;
            if self.sticky.1 == "patch" {
                self.batches += 1;
            }
        }
        let p = p.map_or_else(|| self.sticky.0.clone(), str::to_owned);
        let o = o.map_or_else(|| self.sticky.1.clone(), str::to_owned);
        self.sticky = (p.clone(), o.clone());
        let v = &frame["v"];
        if let Some(c) = frame.get("c").and_then(Value::as_u64) {
            let c = usize::try_from(c).unwrap();
            if p.is_empty() && o == "add" {
                assert_eq!(c, self.docs.len(), "documents are numbered in order");
                self.docs.push(v.clone());
                self.current = c;
                return;
            }
            assert!(c < self.docs.len(), "c {c} names no document");
            self.repeated_c += 1;
            self.current = c;
        }
        let doc = self
            .docs
            .get_mut(self.current)
            .expect("a document to patch");
        apply(doc, &p, &o, v);
    }

    /// The documents whose `message` matches `check`.
    fn find(&self, check: impl Fn(&Value) -> bool) -> Vec<&Value> {
        self.docs
            .iter()
            .filter(|d| !d["message"].is_null() && check(&d["message"]))
            .collect()
    }

    /// The answer documents, as the protocol defines answer text.
    fn answers(&self) -> Vec<&Value> {
        self.find(|m| {
            m["author"]["role"] == "assistant"
                && m["recipient"] == "all"
                && m["content"]["content_type"] == "text"
                && m["metadata"]["is_visually_hidden_from_conversation"] != true
                && m["channel"] != "commentary"
                && m["metadata"]["is_thinking_preamble_message"] != true
        })
    }

    /// The one answer's text.
    fn answer_text(&self) -> String {
        let answers = self.answers();
        assert_eq!(answers.len(), 1, "one answer document: {:?}", self.docs);
        answers[0]["message"]["content"]["parts"][0]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// A v1 stream read back: its frames and the documents they build.
struct Read {
    frames: Vec<Frame>,
    turn: Turn,
    /// The side events' types, in order.
    sides: Vec<String>,
}

/// Reads a v1 body: frames that are not JSON are skipped, as a client must.
fn read_v1(text: &str) -> Read {
    let frames = frames(text);
    let mut turn = Turn::default();
    let mut sides = Vec::new();
    for frame in &frames {
        let Some(value) = frame.json() else { continue };
        match frame.event.as_deref() {
            Some("delta") => turn.delta(&value),
            Some(_) => {}
            None => {
                if let Some(kind) = value["type"].as_str() {
                    sides.push(kind.to_owned());
                }
            }
        }
    }
    Read {
        frames,
        turn,
        sides,
    }
}

/// Checks the shape of a whole v1 turn and returns it.
fn check_whole(text: &str, prompt: &str, reply: &str, reasoning: bool) -> Read {
    let read = read_v1(text);
    let frames = &read.frames;
    assert_eq!(
        frames[0],
        Frame {
            event: Some("delta_encoding".into()),
            data: "\"v1\"".into()
        }
    );
    assert_eq!(frames.last().unwrap().data, "[DONE]");
    let complete = frames
        .iter()
        .rposition(|f| f.data.contains("\"message_stream_complete\""))
        .expect("message_stream_complete");
    assert!(
        frames[complete..].iter().all(|f| f.event.is_none()),
        "only side events after message_stream_complete"
    );
    assert_eq!(
        &read.sides[read.sides.len() - 3..],
        [
            "message_stream_complete",
            "title_generation",
            "conversation_detail_metadata"
        ]
    );
    assert_eq!(
        read.sides[..2],
        ["resume_conversation_token", "input_message"]
    );
    let turn = &read.turn;
    assert_eq!(turn.answer_text(), reply);
    let answer = &turn.answers()[0]["message"];
    assert_eq!(answer["status"], "finished_successfully");
    assert_eq!(answer["end_turn"], true);
    assert_eq!(answer["channel"], "final");
    assert_eq!(answer["metadata"]["finish_details"]["type"], "stop");
    assert_eq!(answer["metadata"]["is_complete"], true);

    let system = turn.find(|m| m["author"]["role"] == "system");
    assert_eq!(system.len(), 1);
    assert_eq!(
        system[0]["message"]["metadata"]["is_visually_hidden_from_conversation"],
        true
    );
    let user = turn.find(|m| m["author"]["role"] == "user");
    assert_eq!(user.len(), 1);
    assert_eq!(user[0]["message"]["content"]["parts"], json!([prompt]));
    assert_eq!(turn.docs[0]["message"]["author"]["role"], "system");
    assert_eq!(turn.docs[1]["message"]["author"]["role"], "user");

    let thoughts = turn.find(|m| m["content"]["content_type"] == "thoughts");
    let preambles = turn.find(|m| m["channel"] == "commentary");
    let tools = turn.find(|m| m["recipient"] != "all");
    if reasoning {
        assert_eq!(turn.docs.len(), 6);
        assert_eq!(
            thoughts[0]["message"]["content"]["thoughts"][0]["content"],
            reasoning_for(prompt)
        );
        assert_eq!(thoughts[0]["message"]["status"], "finished_successfully");
        let preamble = &preambles[0]["message"];
        assert_eq!(preamble["metadata"]["is_thinking_preamble_message"], true);
        assert_eq!(
            preamble["content"]["parts"][0],
            "Let me look that up first."
        );
        let tool = &tools[0]["message"];
        assert_eq!(tool["recipient"], "browser");
        assert_eq!(tool["content"]["content_type"], "code");
        assert!(tool["content"]["text"]
            .as_str()
            .unwrap()
            .starts_with("search("));
    } else {
        assert_eq!(turn.docs.len(), 3);
        assert!(thoughts.is_empty() && preambles.is_empty() && tools.is_empty());
    }
    read
}

async fn start(config: Config) -> (Emulator, Session) {
    let emulator = Emulator::start(config).await.unwrap();
    let session = Session::new(&emulator).await;
    (emulator, session)
}

fn v1(config: Config) -> Config {
    Config {
        dialect: Dialect::V1,
        ..config
    }
}

#[tokio::test]
async fn a_v1_turn_rebuilds_into_its_documents() {
    let prompt = "What is the capital of France? «Ünïcödé» \"quoted\"";
    for reasoning in [false, true] {
        let (emulator, session) = start(v1(Config {
            reasoning,
            reply_chars: 600,
            ..Config::default()
        }))
        .await;
        let text = session.text(&body(prompt)).await;
        let read = check_whole(&text, prompt, &emulator.reply_for(prompt), reasoning);
        let turn = &read.turn;
        // The detours are there: text to metadata, patches, batches, c.
        let answer = &turn.answers()[0]["message"];
        let hint = answer["metadata"]["title_hint"].as_str().unwrap();
        assert!(hint.starts_with("A title hint") && hint.replace("A title hint", "").is_empty());
        assert_eq!(answer["metadata"]["citations"], json!([]));
        assert!(turn.batches > 0 && turn.repeated_c > 0, "{turn:?}");
        assert!(
            turn.shorthand * 2 > turn.deltas,
            "mostly shorthand: {turn:?}"
        );
        assert_eq!(emulator.counters().completed, 1);
    }
}

#[tokio::test]
async fn v1_survives_crlf_split_writes_and_noise() {
    let prompt = "Tell me a joke 👋";
    let (emulator, session) = start(v1(Config {
        reasoning: true,
        crlf: true,
        split_writes: true,
        noise: true,
        chars_per_event: 3,
        reply_chars: 300,
        ..Config::default()
    }))
    .await;
    let text = session.text(&body(prompt)).await;
    assert!(!text.replace("\r\n", "").contains('\n'), "CRLF only");
    let read = check_whole(&text, prompt, &emulator.reply_for(prompt), true);
    assert!(text.contains(": ping"));
    assert!(read.sides.iter().any(|s| s == "message_marker"));
}

#[tokio::test]
async fn auto_speaks_v1_only_when_asked() {
    let speaks_v1 = |text: &str| text.starts_with("event: delta_encoding\ndata: \"v1\"\n\n");
    let (_auto, session) = start(Config {
        dialect: Dialect::Auto,
        ..Config::default()
    })
    .await;
    assert!(speaks_v1(&session.text(&body_v1("a")).await));
    assert!(!speaks_v1(&session.text(&body("a")).await));
    let mut other = body("a");
    other["supported_encodings"] = json!(["v2"]);
    assert!(!speaks_v1(&session.text(&other).await));

    let (_v1, session) = start(v1(Config::default())).await;
    assert!(
        speaks_v1(&session.text(&body("a")).await),
        "v1 whatever asked"
    );
    let (_legacy, session) = start(Config::default()).await;
    let text = session.text(&body_v1("a")).await;
    assert!(text.starts_with("data: {\"conversation_id\""), "{text}");
}

#[tokio::test]
async fn stamps_and_cut_answers_in_v1() {
    let prompt = "stamp me";
    let (emulator, session) = start(v1(Config {
        stamp: true,
        chars_per_event: 10,
        ..Config::default()
    }))
    .await;
    let read = read_v1(&session.text(&body(prompt)).await);
    let answer = read.turn.answer_text();
    let events = emulator.reply_for(prompt).chars().count().div_ceil(10);
    let stamps: Vec<&str> = answer.split_inclusive('>').collect();
    assert_eq!(stamps.len(), events, "{answer}");
    assert!(stamps.iter().all(|s| s.starts_with("<t:")));

    let (emulator, session) = start(v1(Config {
        finish_after: Some(10),
        ..Config::default()
    }))
    .await;
    let read = read_v1(&session.text(&body(prompt)).await);
    let reply: String = emulator.reply_for(prompt).chars().take(10).collect();
    assert_eq!(read.turn.answer_text(), reply);
    let answer = &read.turn.answers()[0]["message"];
    assert_eq!(
        answer["metadata"]["finish_details"],
        json!({"type": "max_tokens"})
    );
    assert_eq!(answer["status"], "finished_successfully");
}

/// The answer's first `events` pieces.
fn first_pieces(reply: &str, events: usize) -> String {
    reply.chars().take(events * 4).collect()
}

#[tokio::test]
async fn v1_faults_do_what_they_say() {
    let prompt = "faulty";
    let (emulator, session) = start(v1(Config::default())).await;
    let reply = emulator.reply_for(prompt);

    emulator.inject(Fault::StreamError { after_events: 2 }, 1);
    let read = read_v1(&session.text(&body(prompt)).await);
    assert_eq!(read.turn.answer_text(), first_pieces(&reply, 2));
    let last = read.turn.docs.last().unwrap();
    assert!(last["message"].is_null());
    assert_eq!(
        last["error"],
        "Something went wrong while generating the response."
    );
    assert_eq!(last["error_code"], "internal_error");
    assert_eq!(read.frames.last().unwrap().data, "[DONE]");
    assert!(!read.sides.contains(&"message_stream_complete".to_owned()));

    emulator.inject(Fault::Moderation, 1);
    let read = read_v1(&session.text(&body(prompt)).await);
    assert_eq!(read.turn.answer_text(), first_pieces(&reply, 1));
    let moderation = read
        .frames
        .iter()
        .filter_map(Frame::json)
        .find(|v| v["type"] == "moderation")
        .unwrap();
    assert_eq!(moderation["moderation_response"]["blocked"], true);
    assert_eq!(
        moderation["message_id"],
        read.turn.answers()[0]["message"]["id"]
    );
    assert_eq!(read.frames.last().unwrap().data, "[DONE]");

    let before = emulator.counters();
    emulator.inject(Fault::Incomplete { after_events: 3 }, 1);
    let text = session.text(&body(prompt)).await;
    let read = read_v1(&text);
    assert_eq!(read.turn.answer_text(), first_pieces(&reply, 3));
    assert_eq!(read.turn.answers()[0]["message"]["status"], "in_progress");
    assert!(!text.contains("[DONE]") && !text.contains("message_stream_complete"));
    let after = emulator.counters();
    assert_eq!(after.completed, before.completed, "not through [DONE]");
    assert_eq!(after.cancelled, before.cancelled, "nor abandoned");

    emulator.inject(Fault::NoValidEvent, 1);
    let read = read_v1(&session.text(&body(prompt)).await);
    assert!(read.turn.answers().is_empty(), "no answer text at all");
    assert_eq!(read.frames.last().unwrap().data, "[DONE]");

    emulator.inject(Fault::GarbageLines, 1);
    emulator.inject(Fault::OversizedLine { bytes: 5000 }, 1);
    for _ in 0..2 {
        let text = session.text(&body(prompt)).await;
        assert!(text.contains("not json at all") || text.contains(&"x".repeat(5000)));
        check_whole(&text, prompt, &reply, false);
    }
}

#[tokio::test]
async fn v1_disconnects_and_stalls_mid_answer() {
    let prompt = "cut me off";
    let (emulator, session) = start(v1(Config::default())).await;
    emulator.inject(Fault::DisconnectMidStream { after_events: 2 }, 1);
    let response = session.conversation(&body(prompt)).send().await.unwrap();
    let mut received = Vec::new();
    let mut stream = response.bytes_stream();
    let mut failed = false;
    while let Some(chunk) = futures_util::StreamExt::next(&mut stream).await {
        match chunk {
            Ok(chunk) => received.extend_from_slice(&chunk),
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed, "the body ends in an error");
    let text = String::from_utf8(received).unwrap();
    let read = read_v1(&text);
    assert_eq!(
        read.turn.answer_text(),
        first_pieces(&emulator.reply_for(prompt), 2)
    );

    emulator.inject(Fault::StallMidStream { after_events: 1 }, 1);
    let response = session.conversation(&body(prompt)).send().await.unwrap();
    let mut stream = response.bytes_stream();
    let mut received = Vec::new();
    while let Ok(Some(Ok(chunk))) = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        futures_util::StreamExt::next(&mut stream),
    )
    .await
    {
        received.extend_from_slice(&chunk);
    }
    drop(stream);
    let read = read_v1(&String::from_utf8(received).unwrap());
    assert_eq!(
        read.turn.answer_text(),
        first_pieces(&emulator.reply_for(prompt), 1)
    );
    for _ in 0..100 {
        if emulator.counters().cancelled == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(emulator.counters().cancelled, 2, "both abandoned");
    assert_eq!(emulator.counters().active_streams, 0);
}
