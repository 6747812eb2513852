//! OpenAI Chat Completions wire types: what clients send and what they get.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `POST /v1/chat/completions` as clients send it. Fields the gateway
/// cannot honour are kept so that validation can name them.
#[derive(Debug, Deserialize)]
pub struct ChatCompletionRequest {
    /// The model id.
    pub model: String,
    /// The conversation.
    pub messages: Vec<RequestMessage>,
    /// Stream the answer as server-sent events.
    #[serde(default)]
    pub stream: Option<bool>,
    /// Streaming options.
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
    /// How many choices; only 1 is possible.
    #[serde(default)]
    pub n: Option<u64>,
    /// Accepted, not applied (the upstream has no such setting).
    #[serde(default)]
    pub temperature: Option<f64>,
    /// Accepted, not applied.
    #[serde(default)]
    pub top_p: Option<f64>,
    /// Deprecated alias of `max_completion_tokens` (not both at once).
    #[serde(default)]
    pub max_tokens: Option<u64>,
    /// The most tokens of answer: the gateway cuts the answer's text after
    /// that many `cl100k_base` tokens (never inside a character) and ends
    /// it with `finish_reason: "length"`. Reasoning does not count.
    #[serde(default)]
    pub max_completion_tokens: Option<u64>,
    /// Accepted, not applied.
    #[serde(default)]
    pub presence_penalty: Option<f64>,
    /// Accepted, not applied.
    #[serde(default)]
    pub frequency_penalty: Option<f64>,
    /// Accepted, not applied.
    #[serde(default)]
    pub user: Option<String>,
    /// Accepted, not applied.
    #[serde(default)]
    pub seed: Option<i64>,
    /// Up to four stop sequences (a string or a list of strings): the
    /// gateway ends the answer's text before the first one to come, which
    /// is not sent, with `finish_reason: "stop"`. Reasoning is not searched.
    #[serde(default)]
    pub stop: Option<Value>,
    /// Accepted, not applied.
    #[serde(default)]
    pub logit_bias: Option<Value>,
    /// Only `false` is possible.
    #[serde(default)]
    pub logprobs: Option<bool>,
    /// Tools cannot be used.
    #[serde(default)]
    pub tools: Option<Value>,
    /// Tools cannot be used.
    #[serde(default)]
    pub tool_choice: Option<Value>,
    /// Functions cannot be used.
    #[serde(default)]
    pub functions: Option<Value>,
    /// Functions cannot be used.
    #[serde(default)]
    pub function_call: Option<Value>,
    /// Only `{"type": "text"}` is possible.
    #[serde(default)]
    pub response_format: Option<Value>,
    /// Send the model's reasoning, when the upstream gives it, as
    /// `reasoning_content` (apart from `content`).
    #[serde(default)]
    pub include_reasoning: Option<bool>,
}

/// `stream_options`.
#[derive(Debug, Default, Deserialize)]
pub struct StreamOptions {
    /// Send a last chunk with the usage.
    #[serde(default)]
    pub include_usage: bool,
}

/// One message of a request.
#[derive(Debug, Deserialize)]
pub struct RequestMessage {
    /// `system`, `developer`, `user` or `assistant`.
    pub role: String,
    /// A string, a list of parts, or `null` (assistant messages).
    #[serde(default)]
    pub content: Option<RequestContent>,
    /// An optional participant name (counted in usage, otherwise unused).
    #[serde(default)]
    pub name: Option<String>,
    /// Tool calls cannot be replayed.
    #[serde(default)]
    pub tool_calls: Option<Value>,
}

/// A message's content.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RequestContent {
    /// Plain text.
    Text(String),
    /// Content parts; only text parts are possible.
    Parts(Vec<RequestPart>),
}

/// One content part.
#[derive(Debug, Deserialize)]
pub struct RequestPart {
    /// The part's type; only `text` is possible.
    #[serde(rename = "type")]
    pub kind: String,
    /// The text of a text part.
    #[serde(default)]
    pub text: Option<String>,
}

/// Token counts.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Usage {
    /// Tokens of the prompt.
    pub prompt_tokens: u64,
    /// Tokens of the answer.
    pub completion_tokens: u64,
    /// Their sum.
    pub total_tokens: u64,
}

/// A non-streamed answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChatCompletion {
    /// `chatcmpl-…`.
    pub id: String,
    /// `chat.completion`.
    pub object: String,
    /// Unix seconds.
    pub created: u64,
    /// The model id asked for.
    pub model: String,
    /// The one choice.
    pub choices: Vec<Choice>,
    /// Token counts.
    pub usage: Usage,
}

/// A choice of a non-streamed answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct Choice {
    /// Always 0.
    pub index: u32,
    /// The answer.
    pub message: AnswerMessage,
    /// Always `null`.
    pub logprobs: Option<Value>,
    /// `stop`, or `length` when the answer was cut at its token limit
    /// (`max_tokens`, or the upstream's own).
    pub finish_reason: String,
}

/// The assistant's message.
#[derive(Debug, Serialize, Deserialize)]
pub struct AnswerMessage {
    /// `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
    /// The model's reasoning, when asked for and given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
}

/// One streamed chunk.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChatCompletionChunk {
    /// The same `chatcmpl-…` for every chunk of an answer.
    pub id: String,
    /// `chat.completion.chunk`.
    pub object: String,
    /// Unix seconds, the same for every chunk.
    pub created: u64,
    /// The model id asked for.
    pub model: String,
    /// One choice, or none in the usage chunk.
    pub choices: Vec<ChunkChoice>,
    /// With `include_usage`: `null`, then the counts in the last chunk.
    #[serde(default, skip_serializing_if = "UsageField::is_absent")]
    pub usage: UsageField,
}

/// The `usage` of a chunk: absent, `null`, or the counts.
#[derive(Debug, Default, Deserialize)]
#[serde(from = "Option<Usage>")]
pub enum UsageField {
    /// Not sent (usage not asked for).
    #[default]
    Absent,
    /// Sent as `null` (asked for, not the last chunk).
    Null,
    /// The counts.
    Counts(Usage),
}

impl UsageField {
    fn is_absent(&self) -> bool {
        matches!(self, UsageField::Absent)
    }
}

impl From<Option<Usage>> for UsageField {
    fn from(value: Option<Usage>) -> Self {
        value.map_or(UsageField::Null, UsageField::Counts)
    }
}

impl Serialize for UsageField {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            UsageField::Counts(usage) => usage.serialize(serializer),
            _ => serializer.serialize_none(),
        }
    }
}

/// A choice of a chunk.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChunkChoice {
    /// Always 0.
    pub index: u32,
    /// What is new.
    pub delta: Delta,
    /// Always `null`.
    pub logprobs: Option<Value>,
    /// `null` until the last chunk, then `stop` or `length`.
    pub finish_reason: Option<String>,
}

/// What a chunk adds.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Delta {
    /// `assistant`, in the first chunk only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// New text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// New reasoning, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
}

/// One model.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Model {
    /// The id clients ask for.
    pub id: String,
    /// `model`.
    pub object: String,
    /// Unix seconds.
    pub created: u64,
    /// Who serves it.
    pub owned_by: String,
}

/// `GET /v1/models`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ModelList {
    /// `list`.
    pub object: String,
    /// The models.
    pub data: Vec<Model>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_omit_what_is_absent() {
        let chunk = ChatCompletionChunk {
            id: "chatcmpl-1".into(),
            object: "chat.completion.chunk".into(),
            created: 1,
            model: "gpt-3.5-turbo".into(),
            choices: vec![ChunkChoice {
                index: 0,
                delta: Delta {
                    content: Some("Hi".into()),
                    ..Delta::default()
                },
                logprobs: None,
                finish_reason: None,
            }],
            usage: UsageField::Absent,
        };
        assert_eq!(
            serde_json::to_string(&chunk).unwrap(),
            r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-3.5-turbo","choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}]}"#
        );
        let with_null = ChatCompletionChunk {
            usage: UsageField::Null,
            choices: vec![],
            ..chunk
        };
        assert!(serde_json::to_string(&with_null)
            .unwrap()
            .ends_with(r#""choices":[],"usage":null}"#));
    }

    #[test]
    fn requests_accept_string_and_part_contents() {
        let request: ChatCompletionRequest = serde_json::from_str(
            r#"{"model":"m","messages":[{"role":"user","content":"a"},{"role":"user","content":[{"type":"text","text":"b"}]},{"role":"assistant","content":null}],"temperature":0.2,"unknown":1}"#,
        )
        .unwrap();
        assert_eq!(request.messages.len(), 3);
        assert!(matches!(
            request.messages[1].content,
            Some(RequestContent::Parts(_))
        ));
        assert!(request.messages[2].content.is_none());
    }
}
