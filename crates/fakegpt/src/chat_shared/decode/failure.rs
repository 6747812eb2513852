//! Errors the upstream reports inside an answer's event stream, in either
//! dialect: a non-null `error` (with `error_code`) in an event's envelope,
//! `{"type": "error" | "conversation_error"}`, or a moderation event that
//! blocked the answer. Each becomes a typed error carrying the upstream's
//! own words (capped, secrets masked), never a silent empty answer.

use serde_json::Value;

use super::super::step::{excerpt, Step};
use crate::error::{Error, ErrorKind};

/// The error an event reports, if it reports one.
pub fn reported(event: &Value) -> Option<Error> {
    match event["type"].as_str() {
        Some("error" | "conversation_error") => {
            let said = said(&event["error"])
                .or_else(|| said(&event["message"]))
                .or_else(|| said(&event["detail"]))
                .unwrap_or_else(|| "no reason given".to_owned());
            return Some(upstream_error(&said, code(event)));
        }
        Some("moderation") => {
            let response = &event["moderation_response"];
            return (response["blocked"] == true).then(|| {
                Step::Conversation.error(
                    ErrorKind::Rejected,
                    "the upstream's moderation blocked the answer",
                )
            });
        }
        _ => {}
    }
    let error = &event["error"];
    if error.is_null() || error == "" {
        return None;
    }
    let said = said(error).unwrap_or_else(|| "no reason given".to_owned());
    Some(upstream_error(&said, code(event)))
}

/// What an `error` field says: a string, or an object's `message`,
/// `detail` or `code`.
fn said(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.trim().is_empty() => Some(text.clone()),
        Value::Object(map) => ["message", "detail", "code"]
            .iter()
            .find_map(|key| map.get(*key).and_then(said))
            .or_else(|| Some(value.to_string())),
        Value::Null | Value::String(_) => None,
        other => Some(other.to_string()),
    }
}

fn code(event: &Value) -> Option<&str> {
    event["error_code"]
        .as_str()
        .or_else(|| event["error"]["code"].as_str())
}

/// The error for what the upstream said, of the kind its code names.
fn upstream_error(said: &str, code: Option<&str>) -> Error {
    let kind = match code.unwrap_or_default() {
        c if c.contains("rate_limit") || c == "too_many_requests" => ErrorKind::RateLimited,
        "token_expired" | "invalid_jwt" | "unauthorized" | "account_deactivated" => {
            ErrorKind::Rejected
        }
        _ => ErrorKind::UpstreamStatus,
    };
    let said = excerpt(said.as_bytes());
    let message = match code {
        Some(code) if !code.is_empty() => {
            format!("the upstream reported an error ({code}): {said}")
        }
        _ => format!("the upstream reported an error: {said}"),
    };
    Step::Conversation.error(kind, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_shape_of_reported_error_is_typed() {
        let cases = [
            (
                json!({"message": null, "conversation_id": "c", "error": "Something went wrong."}),
                ErrorKind::UpstreamStatus,
                "the upstream reported an error: Something went wrong.",
            ),
            (
                json!({"message": null, "error": "Slow down.", "error_code": "rate_limit_exceeded"}),
                ErrorKind::RateLimited,
                "the upstream reported an error (rate_limit_exceeded): Slow down.",
            ),
            (
                json!({"error": {"message": "expired", "code": "token_expired"}}),
                ErrorKind::Rejected,
                "the upstream reported an error (token_expired): expired",
            ),
            (
                json!({"type": "conversation_error", "message": "Conversation not found"}),
                ErrorKind::UpstreamStatus,
                "the upstream reported an error: Conversation not found",
            ),
            (
                json!({"type": "error"}),
                ErrorKind::UpstreamStatus,
                "the upstream reported an error: no reason given",
            ),
            (
                json!({"type": "moderation", "moderation_response": {"flagged": true, "blocked": true}}),
                ErrorKind::Rejected,
                "the upstream's moderation blocked the answer",
            ),
        ];
        for (event, kind, message) in cases {
            let err = reported(&event).unwrap_or_else(|| panic!("{event}"));
            assert_eq!((err.kind(), err.message()), (kind, message), "{event}");
        }
    }

    #[test]
    fn quiet_events_report_nothing() {
        for event in [
            json!({"message": {"id": "m"}, "error": null}),
            json!({"error": ""}),
            json!({"type": "moderation", "moderation_response": {"flagged": true, "blocked": false}}),
            json!({"type": "message_stream_complete"}),
            json!("v1"),
            json!([1]),
        ] {
            assert!(reported(&event).is_none(), "{event}");
        }
    }

    #[test]
    fn secrets_in_what_the_upstream_says_are_masked() {
        let event = json!({"error": {"message": "{\"accessToken\": \"eyJsecret\"}"}});
        let err = reported(&event).unwrap();
        assert!(!err.message().contains("eyJsecret"), "{}", err.message());
    }
}
