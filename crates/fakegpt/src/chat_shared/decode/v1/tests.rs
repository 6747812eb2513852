use serde_json::json;

use super::super::Decoder;
use crate::answer::FinishReason;
use crate::error::ErrorKind;

/// An SSE frame: `event: delta` with `data`, or an unnamed one.
fn delta(data: serde_json::Value) -> String {
    format!("event: delta\ndata: {data}\n\n")
}

fn side(data: serde_json::Value) -> String {
    format!("data: {data}\n\n")
}

fn add(c: u64, message: serde_json::Value) -> String {
    delta(json!({"p": "", "o": "add", "c": c,
                 "v": {"message": message, "conversation_id": "conv", "error": null}}))
}

fn assistant(extra: serde_json::Value) -> serde_json::Value {
    let mut message = json!({
        "id": "m", "author": {"role": "assistant", "name": null, "metadata": {}},
        "content": {"content_type": "text", "parts": []},
        "status": "in_progress", "end_turn": null, "weight": 1.0,
        "metadata": {}, "recipient": "all", "channel": null
    });
    if let (Some(base), Some(extra)) = (message.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    message
}

/// A turn as a real backend sends it: hidden system message, the user's
/// message echoed, reasoning, a preamble, a tool call, then the answer in
/// every frame shape, side events before and after.
fn realistic(answer: &[&str]) -> String {
    let mut s = String::from("event: delta_encoding\ndata: \"v1\"\n\n");
    s += &side(json!({"type": "resume_conversation_token", "token": "t"}));
    s += &add(
        0,
        json!({"id": "s", "author": {"role": "system"},
        "content": {"content_type": "text", "parts": ["SYSTEM SECRET"]},
        "metadata": {"is_visually_hidden_from_conversation": true}, "recipient": "all"}),
    );
    s += &side(json!({"type": "input_message", "input_message": {"content": {"parts": ["USER"]}}}));
    s += &add(
        1,
        json!({"id": "u", "author": {"role": "user"},
        "content": {"content_type": "text", "parts": ["USER ECHO"]}, "recipient": "all"}),
    );
    s += &add(
        2,
        assistant(json!({"content": {"content_type": "thoughts", "thoughts": []}})),
    );
    s += &delta(json!({"p": "/message/content/thoughts", "o": "append",
                       "v": [{"summary": "Thinking", "content": ""}]}));
    s += &delta(json!({"p": "/message/content/thoughts/0/content", "o": "append", "v": "Let me "}));
    s += &delta(json!({"v": "think."}));
    s += &add(
        3,
        assistant(json!({"channel": "commentary",
        "metadata": {"is_thinking_preamble_message": true}})),
    );
    s += &delta(json!({"p": "/message/content/parts/0", "o": "append", "v": "PREAMBLE"}));
    s += &delta(json!({"v": " MORE PREAMBLE"}));
    s += &add(
        4,
        assistant(json!({"recipient": "browser",
        "content": {"content_type": "code", "text": "search('x')"}})),
    );
    s += &delta(json!({"p": "/message/content/text", "o": "append", "v": " TOOL"}));
    s += &add(5, assistant(json!({"channel": "final"})));
    for (i, piece) in answer.iter().enumerate() {
        s += &match i % 5 {
            0 => delta(json!({"p": "/message/content/parts/0", "o": "append", "v": piece})),
            1 | 2 => delta(json!({"v": piece})),
            3 => {
                // A metadata merge, then a shorthand to a metadata path,
                // then the text again with its path.
                let mut s =
                    delta(json!({"p": "/message/metadata", "o": "append", "v": {"citations": []}}));
                s += &delta(
                    json!({"p": "/message/metadata/title_hint", "o": "append", "v": "META"}),
                );
                s += &delta(json!({"v": "DATA"}));
                s += &side(json!({"type": "server_ste_metadata", "metadata": {}}));
                s + &delta(
                    json!({"p": "/message/content/parts/0", "o": "append", "v": piece, "c": 5}),
                )
            }
            _ => {
                let mut s = delta(json!({"p": "", "o": "patch", "v": [
                    {"p": "/message/metadata", "o": "append", "v": {"x": 1}}]}));
                s += ": ping\n\n";
                s + &delta(
                    json!({"v": [{"p": "/message/content/parts/0", "o": "append", "v": piece}]}),
                )
            }
        };
    }
    s += &delta(json!({"p": "", "o": "patch", "v": [
        {"p": "/message/status", "o": "replace", "v": "finished_successfully"},
        {"p": "/message/end_turn", "o": "replace", "v": true},
        {"p": "/message/metadata", "o": "append", "v": {"finish_details": {"type": "max_tokens"}}}]}));
    s += &side(json!({"type": "message_stream_complete", "conversation_id": "conv"}));
    s += &side(json!({"type": "title_generation", "title": "TITLE"}));
    s += "data: [DONE]\n\n";
    s += &delta(json!({"v": "AFTER DONE"}));
    s
}

/// Decodes `body` fed in pieces of `step` bytes: (text, reasoning).
fn run(body: &[u8], step: usize) -> (Result<String, crate::Error>, String, Decoder) {
    let mut decoder = Decoder::new(1 << 20);
    let (mut text, mut reasoning) = (String::new(), String::new());
    for piece in body.chunks(step.max(1)) {
        match decoder.feed(piece) {
            Ok(new) => text.push_str(&new),
            Err(err) => {
                reasoning.push_str(&decoder.take_reasoning());
                return (Err(err), reasoning, decoder);
            }
        }
        reasoning.push_str(&decoder.take_reasoning());
    }
    let end = decoder.finish().map(|rest| text + &rest);
    reasoning.push_str(&decoder.take_reasoning());
    (end, reasoning, decoder)
}

#[test]
fn only_the_visible_answer_reaches_the_text_and_reasoning_stays_apart() {
    let pieces = ["Hel", "lo, ", "wör", "ld! ", "👋 \"q\"", " \\ end", "\n2"];
    let body = realistic(&pieces);
    for step in [1, 3, 7, 64, body.len()] {
        let (text, reasoning, decoder) = run(body.as_bytes(), step);
        assert_eq!(text.unwrap(), pieces.concat(), "step {step}");
        assert_eq!(reasoning, "Let me think.", "step {step}");
        assert_eq!(decoder.finish_reason(), Some(FinishReason::Length));
        assert!(decoder.is_delta_encoded());
    }
    let crlf = body.replace('\n', "\r\n");
    let (text, _, _) = run(crlf.as_bytes(), 5);
    assert_eq!(text.unwrap(), pieces.concat());
}

#[test]
fn a_missing_finish_reason_is_none_and_an_unfinished_stream_fails() {
    let mut body = String::from("event: delta_encoding\ndata: \"v1\"\n\n");
    body += &add(0, assistant(json!({})));
    body += &delta(json!({"p": "/message/content/parts/0", "o": "append", "v": "partial"}));
    let (text, _, _) = run(body.as_bytes(), 4);
    let err = text.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert!(err
        .message()
        .contains("ended before the answer was complete"));

    let done = body.clone() + "data: [DONE]\n\n";
    let (text, _, decoder) = run(done.as_bytes(), 4);
    assert_eq!(text.unwrap(), "partial");
    assert_eq!(decoder.finish_reason(), None);

    let finished = body
        + &delta(json!({"p": "", "o": "patch", "v": [
            {"p": "/message/status", "o": "replace", "v": "finished_successfully"},
            {"p": "/message/end_turn", "o": "replace", "v": true}]}));
    assert_eq!(run(finished.as_bytes(), 9).0.unwrap(), "partial");
}

#[test]
fn errors_in_the_stream_keep_the_text_before_them() {
    let mut body = String::from("event: delta_encoding\ndata: \"v1\"\n\n");
    body += &add(0, assistant(json!({})));
    body += &delta(json!({"p": "/message/content/parts/0", "o": "append", "v": "so far"}));
    let envelope = delta(json!({"p": "", "o": "add", "c": 1, "v": {"message": null,
        "conversation_id": "conv", "error": "Something went wrong.", "error_code": "internal_error"}}));
    let moderation = side(json!({"type": "moderation",
        "moderation_response": {"flagged": true, "blocked": true}}));
    let typed = side(json!({"type": "error", "error": "Too many requests",
        "error_code": "rate_limit_exceeded"}));
    for (tail, kind) in [
        (envelope, ErrorKind::UpstreamStatus),
        (moderation, ErrorKind::Rejected),
        (typed, ErrorKind::RateLimited),
    ] {
        let whole = format!("{body}{tail}data: [DONE]\n\n");
        for step in [3, whole.len()] {
            let mut decoder = Decoder::new(1 << 20);
            let mut text = String::new();
            let mut failed = None;
            for piece in whole.as_bytes().chunks(step) {
                match decoder.feed(piece) {
                    Ok(new) => text.push_str(&new),
                    Err(err) => {
                        failed = Some(err);
                        break;
                    }
                }
            }
            let err = match failed {
                Some(err) => err,
                None => decoder.finish().unwrap_err(),
            };
            assert_eq!(text, "so far", "{tail}");
            assert_eq!(err.kind(), kind, "{tail}: {err}");
        }
    }
}

#[test]
fn a_stream_without_the_header_is_recognised_by_its_frames() {
    let mut body = add(0, assistant(json!({})));
    body += &delta(json!({"o": "append", "p": "/message/content/parts/0", "v": "no header"}));
    body += "data: [DONE]\n\n";
    let (text, _, decoder) = run(body.as_bytes(), 2);
    assert_eq!(text.unwrap(), "no header");
    assert!(decoder.is_delta_encoded());
}

#[test]
fn two_answer_messages_are_a_blank_line_apart_and_revisions_take_nothing_back() {
    let mut body = String::from("event: delta_encoding\ndata: \"v1\"\n\n");
    body += &add(0, assistant(json!({})));
    body += &delta(json!({"p": "/message/content/parts/0", "o": "append", "v": "First draft"}));
    // A revision replaces the text: nothing is taken back, and what it
    // gains later is handed out.
    body += &delta(json!({"p": "/message/content/parts/0", "o": "replace", "v": "First"}));
    body += &delta(json!({"p": "/message/content/parts/0", "o": "replace", "v": "First drafts"}));
    body += &add(1, assistant(json!({"id": "m2"})));
    body += &delta(json!({"p": "/message/content/parts/0", "o": "append", "v": "Second"}));
    // A legacy whole document inside the v1 stream.
    body += &side(json!({"message": assistant(json!({"id": "m2",
        "content": {"content_type": "text", "parts": ["Second, whole"]}})), "error": null}));
    body += "data: [DONE]\n\n";
    let (text, _, _) = run(body.as_bytes(), 5);
    assert_eq!(text.unwrap(), "First drafts\n\nSecond, whole");
}

#[test]
fn text_appended_quickly_is_in_the_document_before_any_other_change() {
    // Appends after the first are kept apart from the document until
    // another operation reads or changes it: each operation here must
    // see all the text appended before it.
    let mut body = String::from("event: delta_encoding\ndata: \"v1\"\n\n");
    body += &add(0, assistant(json!({})));
    body += &delta(json!({"p": "/message/content/parts/0", "o": "append", "v": "Hello"}));
    body += &delta(json!({"v": " wor"}));
    body += &delta(json!({"p": "/message/content/parts/0", "o": "append", "v": "l"}));
    // A revision that keeps the text and adds to it.
    body += &delta(json!({"p": "/message/content/parts/0", "o": "replace", "v": "Hello world"}));
    body += &delta(json!({"p": "/message/content/parts/0", "o": "append", "v": "!"}));
    body += &delta(json!({"v": " Bye"}));
    // Truncated to what it held (in characters), then more.
    body += &delta(json!({"p": "/message/content/parts/0", "o": "truncate", "v": 16}));
    body += &delta(json!({"p": "/message/content/parts/0", "o": "append", "v": "."}));
    // The whole content replaced by what it was plus more.
    body += &delta(json!({"p": "/message/content", "o": "replace",
                          "v": {"content_type": "text", "parts": ["Hello world! Bye. Done"]}}));
    body += "data: [DONE]\n\n";
    for step in [1, 7, body.len()] {
        let (text, _, _) = run(body.as_bytes(), step);
        assert_eq!(
            text.unwrap(),
            "Hello world! Bye. Done",
            "reads of {step} bytes"
        );
    }
}

#[test]
fn changes_beside_the_text_change_what_a_document_is_only_where_classify_reads() {
    // A title hint, a citation, a status: still the answer.
    let mut body = String::from("event: delta_encoding\ndata: \"v1\"\n\n");
    body += &add(0, assistant(json!({})));
    body += &delta(json!({"p": "/message/content/parts/0", "o": "append", "v": "Shown"}));
    body += &delta(json!({"p": "/message/metadata/title_hint", "o": "append", "v": "A title"}));
    body += &delta(json!({"v": " hint"}));
    body += &delta(json!({"p": "/message/metadata", "o": "append", "v": {"citations": []}}));
    body += &delta(json!({"p": "/message/status", "o": "replace", "v": "in_progress"}));
    body += &delta(json!({"p": "/message/content/parts/0", "o": "append", "v": " text"}));
    // Then hidden, by a flag set at its own path: nothing more is shown.
    body += &delta(
        json!({"p": "/message/metadata/is_visually_hidden_from_conversation",
                          "o": "replace", "v": true}),
    );
    body += &delta(json!({"p": "/message/content/parts/0", "o": "append", "v": " HIDDEN"}));
    // Another answer, turned into a preamble by a merge of its metadata.
    body += &add(1, assistant(json!({"id": "m2"})));
    body += &delta(json!({"p": "/message/content/parts/0", "o": "append", "v": ", more"}));
    body += &delta(json!({"p": "/message/metadata", "o": "append",
                          "v": {"is_thinking_preamble_message": true}}));
    body += &delta(json!({"p": "/message/content/parts/0", "o": "append", "v": " PREAMBLE"}));
    body += "data: [DONE]\n\n";
    let (text, _, _) = run(body.as_bytes(), 9);
    assert_eq!(text.unwrap(), "Shown text\n\n, more");
}

#[test]
fn a_patch_applies_each_operation_that_is_one_and_null_is_a_value() {
    let mut body = String::from("event: delta_encoding\ndata: \"v1\"\n\n");
    body += &add(0, assistant(json!({})));
    body += &delta(json!({"p": "", "o": "patch", "v": [
        {"p": "/message/content/parts/0", "o": "append", "v": "One"},
        "not an operation",
        {"p": 5, "o": "append", "v": "NOT A PATH"},
        {"p": "/message/content/parts/0", "o": "frobnicate", "v": "NOT AN OP"},
        {"p": "/message/content/parts/0", "o": "append", "v": ", \"two\" \\ "},
        {"p": "/message/metadata", "o": "append", "v": {"citations": []}},
    ]}));
    // A batch after a patch is another patch.
    body += &delta(json!({"v": [{"p": "/message/content/parts/0", "o": "append", "v": "three"}]}));
    // Hidden, then a flag set to null: visible again, and its text shown.
    body += &delta(
        json!({"p": "/message/metadata/is_visually_hidden_from_conversation",
                          "o": "replace", "v": true}),
    );
    body += &delta(json!({"p": "/message/content/parts/0", "o": "append", "v": " four"}));
    body += &delta(
        json!({"p": "/message/metadata/is_visually_hidden_from_conversation",
                          "o": "replace", "v": null}),
    );
    body += &delta(json!({"p": "/message/content/parts/0", "o": "append", "v": "."}));
    body += "data: [DONE]\n\n";
    for step in [1, 13, body.len()] {
        let (text, _, _) = run(body.as_bytes(), step);
        assert_eq!(
            text.unwrap(),
            "One, \"two\" \\ three four.",
            "reads of {step} bytes"
        );
    }
}

#[test]
fn hostile_frames_are_bounded() {
    let mut body = String::from("event: delta_encoding\ndata: \"v1\"\n\n");
    body += &add(0, assistant(json!({})));
    body += &delta(json!({"p": "/message/content/parts/0", "o": "append", "v": "ok"}));
    body += &delta(json!({"p": "/message/x/99999999999", "o": "add", "v": 1}));
    body += &delta(json!({"o": "nonsense", "v": 1}));
    body += &delta(json!({"p": 5, "v": 1}));
    body += "event: delta\ndata: {not json\n\n";
    let mut nested = json!([{"p": "/message/content/parts/0", "o": "append", "v": "!"}]);
    for _ in 0..10 {
        nested = json!([{"p": "", "o": "patch", "v": nested}]);
    }
    body += &delta(json!({"p": "", "o": "patch", "v": nested}));
    body += "data: [DONE]\n\n";
    assert_eq!(run(body.as_bytes(), 11).0.unwrap(), "ok");

    // Many documents, or documents too large, are errors, not memory.
    let mut many = String::from("event: delta_encoding\ndata: \"v1\"\n\n");
    for c in 0..1100 {
        many += &delta(json!({"p": "", "o": "add", "c": c, "v": {}}));
    }
    let err = run(many.as_bytes(), 4096).0.unwrap_err();
    assert!(err.message().contains("more than 1024"), "{err}");
    let mut big = String::from("event: delta_encoding\ndata: \"v1\"\n\n");
    big += &add(0, json!({"author": {"role": "tool"}}));
    for _ in 0..100 {
        big += &delta(json!({"p": "/message/blob", "o": "append", "v": "x".repeat(1000)}));
    }
    let mut decoder = Decoder::new(1 << 20).with_max_answer(10_000);
    let err = decoder.feed(big.as_bytes()).unwrap_err();
    assert!(err.message().contains("larger than the limit"), "{err}");
}
