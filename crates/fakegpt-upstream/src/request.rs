//! The conversation request's body, read and checked.

use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct ConversationBody {
    action: String,
    messages: Vec<BodyMessage>,
    parent_message_id: String,
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

/// What a valid conversation request asks for.
#[derive(Debug)]
pub(crate) struct Turn {
    /// The user's prompt.
    pub prompt: String,
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
        if body.action != "next" {
            return Err(format!("unsupported action {:?}", body.action));
        }
        if body.model.is_empty() || body.parent_message_id.is_empty() {
            return Err("model and parent_message_id are required".into());
        }
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
        let user_message_id = message
            .id
            .clone()
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let encodings = body
            .supported_encodings
            .unwrap_or_default()
            .into_iter()
            .filter_map(|e| e.as_str().map(str::to_owned))
            .collect();
        Ok(Turn {
            prompt,
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
        let wrong = Turn::from_body(&body(json!({"action": "continue"}))).unwrap_err();
        assert!(wrong.contains("unsupported action"), "{wrong}");
    }
}
