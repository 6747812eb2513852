//! Chat messages as OpenAI-style clients and gpt4free pass them around.

use serde::{Deserialize, Serialize};

/// Who wrote a message.
///
/// The three well-known roles have their own variants; any other role string
/// (gpt4free passes through whatever the caller gives, e.g. `"developer"` or
/// `"tool"`) is kept verbatim in [`Role::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Role {
    /// Instructions for the assistant.
    System,
    /// The person chatting.
    User,
    /// The model's earlier answers.
    Assistant,
    /// Any other role, kept as given.
    Other(String),
}

impl Role {
    /// The role as the wire and `format_prompt` spell it.
    pub fn as_str(&self) -> &str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Other(other) => other,
        }
    }
}

impl From<&str> for Role {
    fn from(value: &str) -> Self {
        match value {
            "system" => Role::System,
            "user" => Role::User,
            "assistant" => Role::Assistant,
            other => Role::Other(other.to_owned()),
        }
    }
}

impl Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(Role::from(s.as_ref()))
    }
}

/// One part of a multi-part message content.
///
/// Only text parts contribute to the prompt; every other kind (images, files,
/// audio…) is kept so that a caller can see it, but ignored when formatting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPart {
    /// A piece of text.
    Text {
        /// The text itself.
        text: String,
    },
    /// Any part that is not text; its body is kept as raw JSON.
    #[serde(untagged)]
    Other(serde_json::Value),
}

/// A message's content: a plain string, or a list of parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// A list of parts, of which only the text parts count.
    Parts(Vec<ContentPart>),
}

impl Content {
    /// The text this content contributes to a prompt: the string itself, or
    /// the text parts concatenated with nothing between them (as gpt4free's
    /// `to_string` does).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Content::Text(text) => std::borrow::Cow::Borrowed(text),
            Content::Parts(parts) => {
                let mut texts = parts.iter().filter_map(|part| match part {
                    ContentPart::Text { text } => Some(text.as_str()),
                    ContentPart::Other(_) => None,
                });
                match (texts.next(), texts.next()) {
                    (None, _) => std::borrow::Cow::Borrowed(""),
                    (Some(only), None) => std::borrow::Cow::Borrowed(only),
                    (Some(first), Some(second)) => {
                        let mut joined = String::from(first);
                        joined.push_str(second);
                        texts.for_each(|t| joined.push_str(t));
                        std::borrow::Cow::Owned(joined)
                    }
                }
            }
        }
    }
}

impl From<&str> for Content {
    fn from(value: &str) -> Self {
        Content::Text(value.to_owned())
    }
}

impl From<String> for Content {
    fn from(value: String) -> Self {
        Content::Text(value)
    }
}

/// One chat message: a role and its content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// What it says.
    pub content: Content,
}

impl Message {
    /// A message with any role and content.
    pub fn new(role: impl Into<Role>, content: impl Into<Content>) -> Self {
        Message {
            role: role.into(),
            content: content.into(),
        }
    }

    /// A system message.
    pub fn system(content: impl Into<Content>) -> Self {
        Message::new(Role::System, content)
    }

    /// A user message.
    pub fn user(content: impl Into<Content>) -> Self {
        Message::new(Role::User, content)
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<Content>) -> Self {
        Message::new(Role::Assistant, content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_keep_unknown_strings() {
        let json = r#"[{"role":"system","content":"a"},{"role":"tool","content":"b"}]"#;
        let messages: Vec<Message> = serde_json::from_str(json).unwrap();
        assert_eq!(messages[0].role, Role::System);
        assert_eq!(messages[1].role, Role::Other("tool".into()));
        assert_eq!(serde_json::to_string(&messages).unwrap(), json);
    }

    #[test]
    fn parts_keep_text_and_ignore_others() {
        let json = r#"{"role":"user","content":[{"type":"text","text":"Hi "},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"there"}]}"#;
        let message: Message = serde_json::from_str(json).unwrap();
        assert_eq!(message.content.text(), "Hi there");
        assert!(matches!(
            &message.content,
            Content::Parts(parts) if matches!(parts[1], ContentPart::Other(_))
        ));
        let back: serde_json::Value = serde_json::to_value(&message).unwrap();
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(json).unwrap()
        );
    }

    #[test]
    fn parts_without_text_contribute_nothing() {
        let content = Content::Parts(vec![ContentPart::Other(
            serde_json::json!({"type": "image_url"}),
        )]);
        assert_eq!(content.text(), "");
        assert_eq!(Content::Parts(vec![]).text(), "");
    }
}
