//! Decoding one `data:` payload of the conversation event stream.

use std::borrow::Cow;

use serde::Deserialize;

use crate::answer::FinishReason;

/// What one event's data means to the decoder.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// `data: [DONE]`: the answer is complete.
    Done,
    /// An event carrying the whole answer so far.
    Text(Cow<'a, str>),
    /// Anything else: events that are not `message_type == "next"`,
    /// payloads that are not JSON or lack the fields.
    Skip,
}

/// Classifies one `data:` payload with the full JSON parser.
pub fn parse_payload(payload: &[u8]) -> Line<'_> {
    parse_event(payload).0
}

/// Classifies one `data:` payload, and says why the answer ended if the
/// event says (`metadata.finish_details.type`).
pub fn parse_event(payload: &[u8]) -> (Line<'_>, Option<FinishReason>) {
    if payload == b"[DONE]" {
        return (Line::Done, None);
    }
    match serde_json::from_slice::<Event<'_>>(payload) {
        Ok(Event {
            message: Some(message),
        }) if message.metadata.message_type.as_deref() == Some("next") => {
            let finish = message
                .metadata
                .finish_details
                .and_then(|details| finish_reason(details.kind.as_deref()?));
            match message.content.parts.into_iter().next() {
                Some(Some(Part(text))) => (Line::Text(text), finish),
                _ => (Line::Skip, None),
            }
        }
        _ => (Line::Skip, None),
    }
}

/// Where an answer lives: its conversation's id and its message's id, as
/// the upstream names them (either may be missing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ids {
    /// `conversation_id`.
    pub conversation: Option<String>,
    /// The answer's `message.id`.
    pub message: Option<String>,
}

/// The ids a legacy event carries (read once per answer, not per event).
pub fn ids(payload: &[u8]) -> Ids {
    #[derive(Deserialize)]
    struct WithIds {
        #[serde(default)]
        conversation_id: Option<String>,
        #[serde(default)]
        message: Option<MessageId>,
    }
    #[derive(Deserialize)]
    struct MessageId {
        #[serde(default)]
        id: Option<String>,
    }
    match serde_json::from_slice::<WithIds>(payload) {
        Ok(event) => Ids {
            conversation: event.conversation_id.filter(|id| !id.is_empty()),
            message: event.message.and_then(|m| m.id).filter(|id| !id.is_empty()),
        },
        Err(_) => Ids::default(),
    }
}

/// The finish reason a `finish_details.type` names, if one we know.
pub fn finish_reason(kind: &str) -> Option<FinishReason> {
    match kind {
        "stop" => Some(FinishReason::Stop),
        "max_tokens" => Some(FinishReason::Length),
        _ => None,
    }
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(borrow, default)]
    message: Option<EventMessage<'a>>,
}

#[derive(Deserialize)]
struct EventMessage<'a> {
    #[serde(borrow)]
    content: EventContent<'a>,
    #[serde(borrow)]
    metadata: EventMetadata<'a>,
}

#[derive(Deserialize)]
struct EventContent<'a> {
    #[serde(borrow, default)]
    parts: Vec<Option<Part<'a>>>,
}

/// One element of `parts`. Serde borrows a `Cow` only when `borrow` sits on
/// the `Cow` itself, not on a `Vec<Option<Cow>>` around it: without this
/// wrapper every text is copied, and the fast path, which needs the
/// borrowed string's address, never applies.
#[derive(Deserialize)]
struct Part<'a>(#[serde(borrow)] Cow<'a, str>);

#[derive(Deserialize)]
struct EventMetadata<'a> {
    #[serde(borrow, default)]
    message_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    finish_details: Option<FinishDetails<'a>>,
}

#[derive(Deserialize)]
struct FinishDetails<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Option<Cow<'a, str>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(message_type: &str, text: &str) -> String {
        serde_json::json!({
            "message": {
                "id": "m", "author": {"role": "assistant"},
                "content": {"content_type": "text", "parts": [text]},
                "status": "in_progress", "end_turn": null,
                "metadata": {"message_type": message_type, "model_slug": "text-davinci-002-render-sha"}
            },
            "conversation_id": "c", "error": null
        })
        .to_string()
    }

    #[test]
    fn events_name_their_conversation_and_message() {
        let payload = event("next", "hi");
        let found = ids(payload.as_bytes());
        assert_eq!(found.conversation.as_deref(), Some("c"));
        assert_eq!(found.message.as_deref(), Some("m"));
        assert_eq!(ids(b"not json"), Ids::default());
        assert_eq!(
            ids(br#"{"conversation_id":"","message":{"id":null}}"#),
            Ids::default()
        );
    }

    #[test]
    fn next_events_carry_text() {
        let payload = event("next", "Привет \"мир\" \\ 👋");
        assert_eq!(
            parse_payload(payload.as_bytes()),
            Line::Text("Привет \"мир\" \\ 👋".into())
        );
    }

    #[test]
    fn finish_details_give_the_finish_reason() {
        let event = |details: &str| {
            format!(
                r#"{{"message":{{"content":{{"parts":["x"]}},"metadata":{{"message_type":"next","finish_details":{details}}}}}}}"#
            )
        };
        for (details, reason) in [
            (
                r#"{"type":"stop","stop_tokens":[1]}"#,
                Some(FinishReason::Stop),
            ),
            (r#"{"type":"max_tokens"}"#, Some(FinishReason::Length)),
            (r#"{"type":"interrupted"}"#, None),
            ("null", None),
        ] {
            assert_eq!(
                parse_event(event(details).as_bytes()),
                (Line::Text("x".into()), reason),
                "{details}"
            );
        }
    }

    #[test]
    fn everything_else_is_skipped_or_done() {
        assert_eq!(parse_payload(b"[DONE]"), Line::Done);
        for payload in [
            &b""[..],
            b"not json",
            b"{\"message\": null, \"error\": \"x\"}",
            b"{\"message\": {\"content\": {\"parts\": []}, \"metadata\": {\"message_type\": \"next\"}}}",
            b"{\"message\": {\"content\": {\"parts\": [null]}, \"metadata\": {\"message_type\": \"next\"}}}",
            b"{\"message\": {\"content\": {\"parts\": [\"x\"]}, \"metadata\": {}}}",
            b"[1,2]",
            b"\xff\xfe",
        ] {
            assert_eq!(
                parse_payload(payload),
                Line::Skip,
                "{}",
                String::from_utf8_lossy(payload)
            );
        }
        assert_eq!(parse_payload(event("variant", "x").as_bytes()), Line::Skip);
    }
}
