//! The conversation request's body, read and checked.

use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct ConversationBody {
    action: String,
    #[serde(default)]
    messages: Vec<BodyMessage>,
    parent_message_id: String,
    /// The kept conversation to continue, if any.
    #[serde(default)]
    conversation_id: Option<String>,
    /// `true` (what the seed sends): a temporary chat, kept nowhere.
    #[serde(default)]
    history_and_training_disabled: Option<bool>,
    model: String,
    /// The stream encodings the client reads (`["v1"]`), if it says.
    #[serde(default)]
    supported_encodings: Option<Vec<Value>>,
}

#[derive(Deserialize)]
struct BodyMessage {
    #[serde(default)]
    id: Option<String>,
    author: BodyAuthor,
    content: BodyContent,
}

#[derive(Deserialize)]
struct BodyAuthor {
    role: String,
}

#[derive(Deserialize)]
struct BodyContent {
    parts: Vec<String>,
}

/// What a conversation request asks the model to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Answer a new user message.
    Next,
    /// Go on with an answer that was cut at its length limit.
    Continue,
    /// Answer the same user message again (regenerate).
    Variant,
}

/// What a valid conversation request asks for.
#[derive(Debug)]
pub(crate) struct Turn {
    /// What to do.
    pub action: Action,
    /// The user's prompt (empty for `continue`).
    pub prompt: String,
    /// The message this turn follows.
    pub parent_message_id: String,
    /// The kept conversation it continues, if any (never empty).
    pub conversation_id: Option<String>,
    /// Whether a new conversation is a temporary chat, kept nowhere.
    pub temporary: bool,
    /// The model asked for.
    pub model: String,
    /// The id of the user's message (a new one if it has none).
    pub user_message_id: String,
    /// The stream encodings it supports, those given as strings.
    pub encodings: Vec<String>,
}

impl Turn {
    /// Reads and checks a conversation body; the error says what is wrong.
    pub(crate) fn from_body(body: &[u8]) -> Result<Turn, String> {
        let body = serde_json::from_slice::<ConversationBody>(body)
            .map_err(|e| format!("malformed conversation body: {e}"))?;
        let action = match body.action.as_str() {
            "next" => Action::Next,
            "continue" => Action::Continue,
            "variant" => Action::Variant,
            other => return Err(format!("unsupported action {other:?}")),
        };
        if body.model.is_empty() || body.parent_message_id.is_empty() {
            return Err("model and parent_message_id are required".into());
        }
        let conversation_id = body.conversation_id.filter(|id| !id.is_empty());
        if action != Action::Next && conversation_id.is_none() {
            return Err(format!("action {:?} needs a conversation_id", body.action));
        }
        let (prompt, user_message_id) = if action == Action::Continue {
            (String::new(), uuid::Uuid::new_v4().to_string())
        } else {
            let message = body.messages.last().ok_or("messages must not be empty")?;
            if message.author.role != "user" {
                return Err("the last message must be the user's".into());
            }
            let prompt = message
                .content
                .parts
                .first()
                .cloned()
                .ok_or("the message has no content parts")?;
            let id = message.id.clone().filter(|id| !id.is_empty());
            if action == Action::Variant && id.is_none() {
                return Err("a variant names the user message it answers again".into());
            }
            (
                prompt,
                id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            )
        };
        let encodings = body
            .supported_encodings
            .unwrap_or_default()
            .into_iter()
            .filter_map(|e| e.as_str().map(str::to_owned))
            .collect();
        Ok(Turn {
            action,
            prompt,
            parent_message_id: body.parent_message_id,
            conversation_id,
            temporary: body.history_and_training_disabled.unwrap_or(false),
            model: body.model,
            user_message_id,
            encodings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(extra: Value) -> Vec<u8> {
        let mut body = json!({
            "action": "next",
            "messages": [{"id": "u1", "author": {"role": "user"},
                          "content": {"content_type": "text", "parts": ["hi"]}}],
            "parent_message_id": "p", "model": "m"
        });
        if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
            body.extend(extra);
        }
        body.to_string().into_bytes()
    }

    #[test]
    fn encodings_are_optional_and_lenient() {
        let plain = Turn::from_body(&body(json!({}))).unwrap();
        assert!(plain.encodings.is_empty());
        assert_eq!(
            (plain.prompt.as_str(), plain.user_message_id.as_str()),
            ("hi", "u1")
        );
        let null = Turn::from_body(&body(json!({"supported_encodings": null}))).unwrap();
        assert!(null.encodings.is_empty());
        let v1 = Turn::from_body(&body(json!({"supported_encodings": ["v1", 2]}))).unwrap();
        assert_eq!(v1.encodings, ["v1"]);
        let wrong = Turn::from_body(&body(json!({"action": "edit"}))).unwrap_err();
        assert!(wrong.contains("unsupported action"), "{wrong}");
    }

    #[test]
    fn actions_and_conversations_are_read() {
        let seed = Turn::from_body(&body(json!({"history_and_training_disabled": true}))).unwrap();
        assert_eq!(seed.action, Action::Next);
        assert!(seed.temporary && seed.conversation_id.is_none());
        let kept = Turn::from_body(&body(json!({"conversation_id": "c1"}))).unwrap();
        assert!(!kept.temporary);
        assert_eq!(kept.conversation_id.as_deref(), Some("c1"));
        assert_eq!(kept.parent_message_id, "p");
        let go_on = Turn::from_body(&body(
            json!({"action": "continue", "messages": [], "conversation_id": "c1"}),
        ))
        .unwrap();
        assert_eq!(
            (go_on.action, go_on.prompt.as_str()),
            (Action::Continue, "")
        );
        let again =
            Turn::from_body(&body(json!({"action": "variant", "conversation_id": "c1"}))).unwrap();
        assert_eq!(
            (again.action, again.user_message_id.as_str()),
            (Action::Variant, "u1")
        );
        for bad in [
            json!({"action": "continue"}),
            json!({"action": "variant", "conversation_id": ""}),
        ] {
            assert!(Turn::from_body(&body(bad.clone())).is_err(), "{bad}");
        }
    }
}
