//! The JSON the chat-shared service sends and receives, as typed structs.

use serde::{Deserialize, Serialize};

/// The web model name behind `gpt-3.5-turbo`.
pub const WEB_MODEL: &str = "text-davinci-002-render-sha";

/// `GET /api/loads`.
#[derive(Debug, Deserialize)]
pub struct LoadsResponse {
    /// The shared accounts and how busy each is.
    pub loads: Vec<Load>,
}

/// One shared account in `/api/loads`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Load {
    /// The id to log in with (`token_key`).
    pub token_id: String,
    /// How busy the account is now; absent counts as idle.
    #[serde(default)]
    pub count: u64,
}

/// `GET /api/auth/session`. Logged-out sessions answer `{}`.
#[derive(Deserialize)]
pub struct SessionResponse {
    /// The access token for the conversation endpoint.
    #[serde(rename = "accessToken", default)]
    pub access_token: Option<String>,
}

/// The body of `POST /api/conversation`, field for field as the original
/// provider sent it.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct ConversationRequest {
    /// `"next"` (a new message; the original's only action), `"continue"`
    /// or `"variant"`.
    pub action: String,
    /// The one user message carrying the prompt (none to continue).
    pub messages: Vec<ConversationMessage>,
    /// A fresh UUIDv4 for a new conversation; in a kept one, the message
    /// answered or continued.
    pub parent_message_id: String,
    /// The kept conversation asked in; absent for a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// Always [`WEB_MODEL`].
    pub model: String,
    /// Always empty.
    pub plugin_ids: Vec<String>,
    /// Always `-120`.
    pub timezone_offset_min: i32,
    /// Always empty.
    pub suggestions: Vec<String>,
    /// `true` (the original's): a temporary chat the upstream does not
    /// keep; `false` in a kept conversation.
    pub history_and_training_disabled: bool,
    /// Always empty.
    pub arkose_token: String,
    /// Always `false`.
    pub force_paragen: bool,
    /// `["v1"]` to offer the delta-encoded stream; absent from the
    /// original body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_encodings: Option<Vec<String>>,
}

/// One message in a conversation request.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct ConversationMessage {
    /// A fresh UUIDv4.
    pub id: String,
    /// `{"role": "user"}`.
    pub author: Author,
    /// The prompt.
    pub content: MessageContent,
    /// Always `{}`.
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// A message's author.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Author {
    /// `"user"`.
    pub role: String,
}

/// A message's content.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct MessageContent {
    /// `"text"`.
    pub content_type: String,
    /// One part: the prompt.
    pub parts: Vec<String>,
}

impl ConversationRequest {
    /// A new conversation whose one user message is `prompt`.
    pub fn new(prompt: String) -> Self {
        ConversationRequest {
            action: "next".into(),
            messages: vec![ConversationMessage {
                id: uuid::Uuid::new_v4().to_string(),
                author: Author {
                    role: "user".into(),
                },
                content: MessageContent {
                    content_type: "text".into(),
                    parts: vec![prompt],
                },
                metadata: serde_json::Map::new(),
            }],
            parent_message_id: uuid::Uuid::new_v4().to_string(),
            conversation_id: None,
            model: WEB_MODEL.into(),
            plugin_ids: Vec::new(),
            timezone_offset_min: -120,
            suggestions: Vec::new(),
            history_and_training_disabled: true,
            arkose_token: String::new(),
            force_paragen: false,
            supported_encodings: None,
        }
    }

    /// A new conversation the upstream keeps, its first prompt `prompt`.
    pub fn kept(prompt: String) -> Self {
        ConversationRequest {
            history_and_training_disabled: false,
            ..Self::new(prompt)
        }
    }

    /// The next user message, `prompt`, in kept conversation `id`,
    /// answering `parent` (the last answer's id).
    pub fn next_in(id: &str, parent: &str, prompt: String) -> Self {
        ConversationRequest {
            conversation_id: Some(id.to_owned()),
            parent_message_id: parent.to_owned(),
            ..Self::kept(prompt)
        }
    }

    /// More of answer `message`, which the upstream cut at its length
    /// limit, in kept conversation `id`.
    pub fn continue_in(id: &str, message: &str) -> Self {
        ConversationRequest {
            action: "continue".into(),
            messages: Vec::new(),
            ..Self::next_in(id, message, String::new())
        }
    }

    /// Another answer to user message `question` (whose parent is
    /// `parent`, and whose text is `prompt`) in kept conversation `id`.
    pub fn variant_in(id: &str, question: &str, parent: &str, prompt: String) -> Self {
        let mut body = ConversationRequest {
            action: "variant".into(),
            ..Self::next_in(id, parent, prompt)
        };
        if let Some(message) = body.messages.first_mut() {
            message.id = question.to_owned();
        }
        body
    }

    /// The id of the user message sent, if any.
    pub fn question_id(&self) -> Option<&str> {
        self.messages.first().map(|m| m.id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_body_is_exactly_the_protocol() {
        let mut body = ConversationRequest::new("Hi \"there\" 👋".into());
        let (id, parent) = (body.messages[0].id.clone(), body.parent_message_id.clone());
        for uuid in [&id, &parent] {
            let parsed = uuid::Uuid::parse_str(uuid).unwrap();
            assert_eq!(parsed.get_version_num(), 4);
        }
        assert_ne!(id, parent);
        body.messages[0].id = "ID".into();
        body.parent_message_id = "PARENT".into();
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            concat!(
                r#"{"action":"next","messages":[{"id":"ID","author":{"role":"user"},"#,
                r#""content":{"content_type":"text","parts":["Hi \"there\" 👋"]},"metadata":{}}],"#,
                r#""parent_message_id":"PARENT","model":"text-davinci-002-render-sha","#,
                r#""plugin_ids":[],"timezone_offset_min":-120,"suggestions":[],"#,
                r#""history_and_training_disabled":true,"arkose_token":"","force_paragen":false}"#
            )
        );
    }

    #[test]
    fn loads_tolerate_a_missing_count() {
        let loads: LoadsResponse = serde_json::from_str(
            r#"{"loads":[{"token_id":"a"},{"token_id":"b","count":2,"x":1}]}"#,
        )
        .unwrap();
        assert_eq!(loads.loads[0].count, 0);
        assert_eq!(loads.loads[1].count, 2);
    }
}
