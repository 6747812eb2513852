//! Property tests of the delta-encoded ("v1") decoder: whatever the frame
//! shapes, the side events between them, the line endings and the cuts of
//! the bytes, the answer text is exactly the appended pieces, and nothing
//! else (the user's echo, hidden messages, reasoning, preambles, tool
//! calls, text appended to metadata) ever reaches it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

use fakegpt::decode::Decoder;
use proptest::prelude::*;
use serde_json::{json, Value};

fn delta(data: Value) -> String {
    format!("event: delta\ndata: {data}\n\n")
}

fn unnamed(data: Value) -> String {
    format!("data: {data}\n\n")
}

fn add(c: u64, message: Value) -> String {
    delta(json!({"p": "", "o": "add", "c": c,
                 "v": {"message": message, "conversation_id": "conv", "error": null}}))
}

fn message(role: &str, extra: Value) -> Value {
    let mut message = json!({"id": format!("m-{role}"), "author": {"role": role},
        "content": {"content_type": "text", "parts": []}, "status": "in_progress",
        "metadata": {}, "recipient": "all"});
    for (k, v) in extra.as_object().unwrap() {
        message[k] = v.clone();
    }
    message
}

/// Side events and noise that may come anywhere, also after the end.
fn side(kind: u8) -> String {
    match kind % 7 {
        0 => ": ping\n\n".into(),
        1 => unnamed(json!({"type": "title_generation", "title": "NOT THE ANSWER"})),
        2 => unnamed(json!({"type": "server_ste_metadata", "metadata": {"x": "NOT"}})),
        3 => "event: ping\ndata: {}\n\n".into(),
        4 => unnamed(json!({"type": "conversation_detail_metadata", "limits": []})),
        5 => "id: 7\nretry: 1000\n\n".into(),
        _ => unnamed(
            json!({"type": "moderation", "moderation_response": {"flagged": false, "blocked": false}}),
        ),
    }
}

/// A turn whose answer is `pieces`, each sent in the frame shape its
/// `shape` picks, with `sides` side events put before the frame of the
/// same index (and the rest at the end, after `[DONE]` too).
fn turn(pieces: &[(String, u8)], sides: &[(usize, u8)], thoughts: &[String]) -> String {
    let mut frames: Vec<String> = vec!["event: delta_encoding\ndata: \"v1\"\n\n".into()];
    frames.push(add(
        0,
        message(
            "system",
            json!({"content": {"content_type": "text", "parts": ["HIDDEN"]},
        "metadata": {"is_visually_hidden_from_conversation": true}}),
        ),
    ));
    frames.push(add(
        1,
        message(
            "user",
            json!({"content": {"content_type": "text", "parts": ["ECHO"]}}),
        ),
    ));
    frames.push(add(
        2,
        message(
            "assistant",
            json!({"content": {"content_type": "thoughts", "thoughts": []}}),
        ),
    ));
    frames.push(delta(json!({"p": "/message/content/thoughts", "o": "append", "v": [{"summary": "s", "content": ""}]})));
    for (i, thought) in thoughts.iter().enumerate() {
        frames.push(if i == 0 {
            delta(json!({"p": "/message/content/thoughts/0/content", "o": "append", "v": thought}))
        } else {
            delta(json!({"v": thought}))
        });
    }
    frames.push(add(
        3,
        message("assistant", json!({"channel": "commentary"})),
    ));
    frames.push(delta(
        json!({"p": "/message/content/parts/0", "o": "append", "v": "PREAMBLE"}),
    ));
    frames.push(add(
        4,
        message(
            "assistant",
            json!({"recipient": "python",
        "content": {"content_type": "code", "text": ""}}),
        ),
    ));
    frames.push(delta(
        json!({"p": "/message/content/text", "o": "append", "v": "TOOL"}),
    ));
    frames.push(add(5, message("assistant", json!({}))));
    let mut sticky_is_text = false;
    for (piece, shape) in pieces {
        let text_frame = json!({"p": "/message/content/parts/0", "o": "append", "v": piece});
        frames.push(match shape % 6 {
            // Shorthand, when the sticky path is the text's.
            0 | 1 if sticky_is_text => delta(json!({"v": piece})),
            // With c, repeating the current document.
            2 => delta(json!({"p": "/message/content/parts/0", "o": "append", "v": piece, "c": 5})),
            // A patch, then a bare batch.
            3 => {
                sticky_is_text = false;
                delta(json!({"p": "", "o": "patch", "v": [{"p": "/message/metadata", "o": "append", "v": {"k": 1}}]}))
                    + &delta(json!({"v": [{"p": "/message/content/parts/0", "o": "append", "v": piece}]}))
            }
            // A detour: text appended to a metadata path by shorthand.
            4 => {
                sticky_is_text = true;
                delta(json!({"p": "/message/metadata/note", "o": "append", "v": "NOT"}))
                    + &delta(json!({"v": "ANSWER"}))
                    + &delta(text_frame)
            }
            _ => {
                sticky_is_text = true;
                delta(text_frame)
            }
        });
        if shape % 6 == 3 {
            continue;
        }
        sticky_is_text = true;
    }
    frames.push(delta(json!({"p": "", "o": "patch", "v": [
        {"p": "/message/status", "o": "replace", "v": "finished_successfully"},
        {"p": "/message/end_turn", "o": "replace", "v": true}]})));
    frames.push(unnamed(json!({"type": "message_stream_complete"})));
    frames.push("data: [DONE]\n\n".into());
    let mut out = String::new();
    let mut at = 0;
    let mut sides: Vec<(usize, u8)> = sides.to_vec();
    sides.sort_unstable();
    for (i, frame) in frames.iter().enumerate() {
        while at < sides.len() && sides[at].0 % (frames.len() + 2) <= i {
            out.push_str(&side(sides[at].1));
            at += 1;
        }
        out.push_str(frame);
    }
    for (_, kind) in &sides[at..] {
        out.push_str(&side(*kind));
    }
    out
}

/// Feeds `bytes` cut at `cuts`: (text, reasoning).
fn decode(bytes: &[u8], cuts: &[usize]) -> (String, String) {
    let mut decoder = Decoder::new(1 << 20);
    let (mut text, mut reasoning) = (String::new(), String::new());
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort_unstable();
    points.push(bytes.len());
    let mut at = 0;
    for point in points {
        text.push_str(&decoder.feed(&bytes[at..point]).unwrap());
        reasoning.push_str(&decoder.take_reasoning());
        at = point;
    }
    text.push_str(&decoder.finish().unwrap());
    reasoning.push_str(&decoder.take_reasoning());
    (text, reasoning)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_shapes_sides_and_cuts_give_exactly_the_answer(
        pieces in proptest::collection::vec(("[a-z é\"\\\\\\n😀中\t]{1,6}", 0u8..6), 1..20),
        sides in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..12),
        thoughts in proptest::collection::vec("[a-z .]{1,8}", 0..4),
        crlf in any::<bool>(),
        cuts in proptest::collection::vec(any::<usize>(), 0..30),
    ) {
        let mut body = turn(&pieces, &sides, &thoughts);
        if crlf {
            body = body.replace('\n', "\r\n");
        }
        let (text, reasoning) = decode(body.as_bytes(), &cuts);
        let expected: String = pieces.iter().map(|(p, _)| p.as_str()).collect();
        prop_assert_eq!(text, expected);
        prop_assert_eq!(reasoning, thoughts.concat());
    }

    #[test]
    fn arbitrary_frames_never_panic(
        frames in proptest::collection::vec(("[a-z/0-9~\\-]{0,12}", 0u8..8, "[a-z\"{}\\[\\]:,0-9 ]{0,16}", proptest::option::of(0u64..4)), 0..40),
    ) {
        let ops = ["add", "append", "replace", "patch", "truncate", "remove", "x", ""];
        let mut body = String::from("event: delta_encoding\ndata: \"v1\"\n\n");
        for (path, op, raw, c) in frames {
            let value: Value = serde_json::from_str(&raw).unwrap_or(Value::String(raw));
            let mut frame = json!({"p": format!("/{path}"), "o": ops[op as usize], "v": value});
            if let Some(c) = c {
                frame["c"] = json!(c);
            }
            body.push_str(&delta(frame));
        }
        let mut decoder = Decoder::new(1 << 16).with_max_answer(1 << 12);
        let _ = decoder.feed(body.as_bytes());
        let _ = decoder.finish();
    }
}
