//! Turning a request body into a chat the provider can run, or a 400/404
//! that names the field at fault.

use fakegpt::{Content, Message, Role};
use serde_json::Value;

use crate::error::ApiError;
use crate::models::Models;
use crate::openai::{ChatCompletionRequest, RequestContent};

/// A validated chat request.
#[derive(Debug)]
pub struct ValidChat {
    /// The model id as the client asked for it (echoed back).
    pub model: String,
    /// The model the provider is asked for.
    pub upstream_model: String,
    /// The conversation.
    pub messages: Vec<Message>,
    /// Participant names, by message index, for token counting.
    pub names: Vec<Option<String>>,
    /// Stream the answer.
    pub stream: bool,
    /// Send the usage in a last chunk.
    pub include_usage: bool,
    /// Send the reasoning as `reasoning_content`.
    pub include_reasoning: bool,
    /// End the answer after this many tokens: `max_completion_tokens`, or
    /// its deprecated alias `max_tokens` (setting both is refused, as
    /// OpenAI refuses it).
    pub max_tokens: Option<u64>,
    /// End the answer before the first of these (at most four, none
    /// empty).
    pub stop: Vec<String>,
}

/// Parses and checks a `/v1/chat/completions` body.
pub fn chat_request(body: &[u8], models: &Models) -> Result<ValidChat, ApiError> {
    let request = parse(body)?;
    if request.model.trim().is_empty() {
        return Err(ApiError::invalid(
            Some("model"),
            "You must provide a model parameter.",
        ));
    }
    let upstream_model = models
        .resolve(&request.model)
        .ok_or_else(|| ApiError::model_not_found(&request.model))?
        .to_owned();
    check_options(&request)?;
    let stop = stop_sequences(request.stop.as_ref())?;
    if request.messages.is_empty() {
        return Err(ApiError::invalid(
            Some("messages"),
            "`messages` must be a non-empty array.",
        ));
    }
    let mut messages = Vec::with_capacity(request.messages.len());
    let mut names = Vec::with_capacity(request.messages.len());
    for (i, message) in request.messages.into_iter().enumerate() {
        let role = match message.role.as_str() {
            "system" => Role::System,
            "user" => Role::User,
            "assistant" => Role::Assistant,
            "developer" => Role::Other("developer".into()),
            "tool" | "function" => {
                return Err(ApiError::invalid(
                    Some(&format!("messages[{i}].role")),
                    format!(
                        "Messages with role `{}` are not supported: this model has no tools.",
                        message.role
                    ),
                ))
            }
            other => {
                return Err(ApiError::invalid(
                    Some(&format!("messages[{i}].role")),
                    format!("Invalid role `{other}`: use system, developer, user or assistant."),
                ))
            }
        };
        if message.tool_calls.as_ref().is_some_and(|v| !is_empty(v)) {
            return Err(ApiError::invalid(
                Some(&format!("messages[{i}].tool_calls")),
                "Tool calls are not supported: this model has no tools.",
            ));
        }
        let content = match message.content {
            None if role == Role::Assistant => String::new(),
            None => {
                return Err(ApiError::invalid(
                    Some(&format!("messages[{i}].content")),
                    "`content` is required for this role.",
                ))
            }
            Some(RequestContent::Text(text)) => text,
            Some(RequestContent::Parts(parts)) => {
                let mut text = String::new();
                for (j, part) in parts.into_iter().enumerate() {
                    match (part.kind.as_str(), part.text) {
                        ("text", Some(t)) => text.push_str(&t),
                        ("text", None) => {
                            return Err(ApiError::invalid(
                                Some(&format!("messages[{i}].content[{j}].text")),
                                "A text part needs a `text` string.",
                            ))
                        }
                        (other, _) => {
                            return Err(ApiError::invalid(
                                Some(&format!("messages[{i}].content[{j}].type")),
                                format!("Content parts of type `{other}` are not supported: only `text` is."),
                            ))
                        }
                    }
                }
                text
            }
        };
        messages.push(Message {
            role,
            content: Content::Text(content),
        });
        names.push(message.name);
    }
    if messages.iter().all(|m| m.content.text().trim().is_empty()) {
        return Err(ApiError::invalid(
            Some("messages"),
            "The messages carry no text.",
        ));
    }
    let stream = request.stream.unwrap_or(false);
    if request.stream_options.is_some() && !stream {
        return Err(ApiError::invalid(
            Some("stream_options"),
            "`stream_options` is only allowed when `stream` is true.",
        ));
    }
    Ok(ValidChat {
        model: request.model,
        upstream_model,
        messages,
        names,
        stream,
        include_usage: request.stream_options.is_some_and(|o| o.include_usage),
        include_reasoning: request.include_reasoning.unwrap_or(false),
        max_tokens: request.max_completion_tokens.or(request.max_tokens),
        stop,
    })
}

/// OpenAI's most stop sequences.
const MAX_STOP_SEQUENCES: usize = 4;

/// The stop sequences of `stop`, as OpenAI takes it: absent or `null` for
/// none, a string, or an array of at most four strings; an empty string
/// is refused.
fn stop_sequences(stop: Option<&Value>) -> Result<Vec<String>, ApiError> {
    match stop {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(one)) if one.is_empty() => Err(empty_stop(None)),
        Some(Value::String(one)) => Ok(vec![one.clone()]),
        Some(Value::Array(items)) if items.len() > MAX_STOP_SEQUENCES => Err(invalid_stop(
            format!(
                "Invalid 'stop': array too long. Expected an array with maximum length {MAX_STOP_SEQUENCES}, but got an array with length {} instead.",
                items.len()
            ),
            "array_above_max_length",
        )),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) if s.is_empty() => Err(empty_stop(Some(i))),
                Value::String(s) => Ok(s.clone()),
                other => Err(invalid_stop(
                    format!(
                        "Invalid type for 'stop[{i}]': expected a string, but got {} instead.",
                        json_type(other)
                    ),
                    "invalid_type",
                )),
            })
            .collect(),
        Some(other) => Err(invalid_stop(
            format!(
                "Invalid type for 'stop': expected a string or an array of strings, but got {} instead.",
                json_type(other)
            ),
            "invalid_type",
        )),
    }
}

/// A 400 for `stop`, with OpenAI's error code.
fn invalid_stop(message: String, code: &'static str) -> ApiError {
    let mut err = ApiError::invalid(Some("stop"), message);
    err.code = Some(code);
    err
}

/// A stop sequence (the `i`th, or the only one) is empty.
fn empty_stop(i: Option<usize>) -> ApiError {
    let which = i.map_or_else(|| "'stop'".to_owned(), |i| format!("'stop[{i}]'"));
    invalid_stop(
        format!("Invalid {which}: empty string. Expected a string with minimum length 1."),
        "empty_string",
    )
}

/// How OpenAI's errors name a JSON value's type.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a decimal",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn parse(body: &[u8]) -> Result<ChatCompletionRequest, ApiError> {
    let not_json = |inner: &serde_json::Error| {
        ApiError::invalid(
            None,
            format!("The body is not valid JSON ({inner}); send a JSON object."),
        )
    };
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
                Err(e) => not_json(&e),
                Ok(_) => ApiError::invalid(None, "The body must be a JSON object."),
            },
        );
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let parsed: Result<ChatCompletionRequest, _> =
        serde_path_to_error::deserialize(&mut deserializer);
    if parsed.is_ok() {
        deserializer.end().map_err(|e| not_json(&e))?;
    }
    parsed.map_err(|err| {
        let inner = err.inner();
        if inner.is_syntax() || inner.is_eof() {
            return not_json(inner);
        }
        let path = err.path().to_string();
        let message = inner.to_string();
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_owned();
        // "missing field `x`" is reported at the parent; name the field itself.
        let param = match message
            .strip_prefix("missing field `")
            .and_then(|m| m.split('`').next())
        {
            Some(field) if path == "." => field.to_owned(),
            Some(field) => format!("{path}.{field}"),
            None if path == "." => String::new(),
            None => path,
        };
        if param.is_empty() {
            ApiError::invalid(None, format!("Invalid request body: {message}."))
        } else {
            ApiError::invalid(
                Some(&param),
                format!("Invalid value for `{param}`: {message}."),
            )
        }
    })
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

fn check_options(request: &ChatCompletionRequest) -> Result<(), ApiError> {
    if let Some(n) = request.n {
        if n != 1 {
            return Err(ApiError::invalid(
                Some("n"),
                format!("`n` must be 1 (got {n}): one choice per request."),
            ));
        }
    }
    for (field, value) in [("tools", &request.tools), ("functions", &request.functions)] {
        if value.as_ref().is_some_and(|v| !is_empty(v)) {
            return Err(ApiError::invalid(
                Some(field),
                format!("`{field}` are not supported: this model cannot call tools."),
            ));
        }
    }
    for (field, value) in [
        ("tool_choice", &request.tool_choice),
        ("function_call", &request.function_call),
    ] {
        if value.as_ref().is_some_and(|v| !is_empty(v) && v != "none") {
            return Err(ApiError::invalid(
                Some(field),
                format!("`{field}` is not supported: this model cannot call tools."),
            ));
        }
    }
    if let Some(format) = &request.response_format {
        if !is_empty(format) && format.get("type").and_then(Value::as_str) != Some("text") {
            return Err(ApiError::invalid(
                Some("response_format"),
                "Only `{\"type\": \"text\"}` is supported as `response_format`.",
            ));
        }
    }
    if request.logprobs == Some(true) {
        return Err(ApiError::invalid(
            Some("logprobs"),
            "`logprobs` are not available from this model.",
        ));
    }
    let ranges = [
        ("temperature", request.temperature, 0.0, 2.0),
        ("top_p", request.top_p, 0.0, 1.0),
        ("presence_penalty", request.presence_penalty, -2.0, 2.0),
        ("frequency_penalty", request.frequency_penalty, -2.0, 2.0),
    ];
    for (field, value, low, high) in ranges {
        if let Some(v) = value {
            if !(low..=high).contains(&v) {
                return Err(ApiError::invalid(
                    Some(field),
                    format!("`{field}` must be between {low} and {high} (got {v})."),
                ));
            }
        }
    }
    for (field, value) in [
        ("max_tokens", request.max_tokens),
        ("max_completion_tokens", request.max_completion_tokens),
    ] {
        if value == Some(0) {
            return Err(ApiError::invalid(
                Some(field),
                format!("`{field}` must be at least 1."),
            ));
        }
    }
    if request.max_tokens.is_some() && request.max_completion_tokens.is_some() {
        let mut err = ApiError::invalid(
            Some("max_tokens"),
            "Setting 'max_tokens' and 'max_completion_tokens' at the same time is not supported.",
        );
        err.code = Some("invalid_parameter_combination");
        return Err(err);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models() -> Models {
        Models::new(&["gpt-3.5-turbo".into()], &[]).unwrap()
    }

    fn check(body: &str) -> Result<ValidChat, ApiError> {
        chat_request(body.as_bytes(), &models())
    }

    fn param_of(body: &str) -> (u16, Option<String>, String) {
        let err = check(body).unwrap_err();
        (err.status.as_u16(), err.param, err.message)
    }

    #[test]
    fn a_plain_request_is_accepted_with_harmless_options() {
        let chat = check(
            r#"{"model":"gpt-3.5-turbo","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"hi"}],"name":"bob"}],
               "temperature":0.7,"top_p":1,"max_tokens":50,"presence_penalty":0,"frequency_penalty":0,"user":"u","n":1,"seed":4,"stop":["x"],
               "stream":true,"stream_options":{"include_usage":true},"tools":[],"tool_choice":"none","response_format":{"type":"text"}}"#,
        )
        .unwrap();
        assert!(chat.stream && chat.include_usage);
        assert_eq!(chat.messages.len(), 2);
        assert_eq!(chat.names[1].as_deref(), Some("bob"));
        assert_eq!(chat.upstream_model, "gpt-3.5-turbo");
    }

    #[test]
    fn bad_fields_are_named() {
        let cases = [
            (
                r#"{"model":"gpt-3.5-turbo","messages":[{"role":"user","content":"x"}],"n":2}"#,
                "n",
            ),
            (
                r#"{"model":"gpt-3.5-turbo","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]}"#,
                "tools",
            ),
            (
                r#"{"model":"gpt-3.5-turbo","messages":[{"role":"user","content":"x"}],"functions":[{"name":"f"}]}"#,
                "functions",
            ),
            (
                r#"{"model":"gpt-3.5-turbo","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"u"}}]}]}"#,
                "messages[0].content[0].type",
            ),
            (
                r#"{"model":"gpt-3.5-turbo","messages":[{"role":"tool","content":"x"}]}"#,
                "messages[0].role",
            ),
            (
                r#"{"model":"gpt-3.5-turbo","messages":[{"role":"user","content":"x"}],"temperature":3}"#,
                "temperature",
            ),
            (r#"{"model":"gpt-3.5-turbo","messages":[]}"#, "messages"),
            (
                r#"{"model":"gpt-3.5-turbo","messages":[{"role":"user","content":42}]}"#,
                "messages[0].content",
            ),
            (
                r#"{"model":"gpt-3.5-turbo","messages":[{"role":"user","content":"x"}],"stream":"yes"}"#,
                "stream",
            ),
            (r#"{"messages":[{"role":"user","content":"x"}]}"#, "model"),
            (
                r#"{"model":"gpt-3.5-turbo","messages":[{"content":"x"}]}"#,
                "messages[0].role",
            ),
            (
                r#"{"model":"gpt-3.5-turbo","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}}"#,
                "stream_options",
            ),
            (
                r#"{"model":"gpt-3.5-turbo","messages":[{"role":"user","content":"  "}]}"#,
                "messages",
            ),
        ];
        for (body, param) in cases {
            let (status, got, message) = param_of(body);
            assert_eq!(
                (status, got.as_deref()),
                (400, Some(param)),
                "{body}: {message}"
            );
        }
    }

    #[test]
    fn malformed_json_and_unknown_models() {
        let (status, param, message) = param_of(r#"{"model": "gpt-3.5-turbo", "messages": ["#);
        assert_eq!((status, param), (400, None));
        assert!(message.contains("not valid JSON"), "{message}");
        let (status, param, _) = param_of(r#"{"model": "gpt-3.5-turbo", "messages": []} trailing"#);
        assert_eq!((status, param), (400, None));
        let (status, param, _) = param_of(r#"[1, 2]"#);
        assert_eq!((status, param), (400, None));
        let (status, param, _) =
            param_of(r#"{"model":"gpt-5","messages":[{"role":"user","content":"x"}]}"#);
        assert_eq!((status, param.as_deref()), (404, Some("model")));
    }

    fn with(extra: &str) -> String {
        format!(
            r#"{{"model":"gpt-3.5-turbo","messages":[{{"role":"user","content":"x"}}]{extra}}}"#
        )
    }

    #[test]
    fn max_tokens_and_stop_are_taken_or_refused_as_openai_does() {
        let chat = check(&with(r#","max_tokens":7,"stop":"END""#)).unwrap();
        assert_eq!(
            (chat.max_tokens, chat.stop),
            (Some(7), vec!["END".to_owned()])
        );
        let chat = check(&with(
            r#","max_completion_tokens":9,"stop":["a","b\n","c","d"]"#,
        ))
        .unwrap();
        assert_eq!(chat.max_tokens, Some(9));
        assert_eq!(chat.stop, ["a", "b\n", "c", "d"]);
        for none in ["", r#","stop":null"#, r#","stop":[]"#] {
            let chat = check(&with(none)).unwrap();
            assert_eq!((chat.max_tokens, chat.stop.len()), (None, 0), "{none}");
        }
        let refused = [
            (
                r#","stop":["a","b","c","d","e"]"#,
                "stop",
                "array_above_max_length",
            ),
            (r#","stop":"""#, "stop", "empty_string"),
            (r#","stop":["a",""]"#, "stop", "empty_string"),
            (r#","stop":["a",1]"#, "stop", "invalid_type"),
            (r#","stop":["a",null]"#, "stop", "invalid_type"),
            (r#","stop":42"#, "stop", "invalid_type"),
            (r#","stop":{"a":1}"#, "stop", "invalid_type"),
            (
                r#","max_tokens":5,"max_completion_tokens":5"#,
                "max_tokens",
                "invalid_parameter_combination",
            ),
            (r#","max_tokens":0"#, "max_tokens", ""),
            (r#","max_completion_tokens":0"#, "max_completion_tokens", ""),
            (r#","max_tokens":-1"#, "max_tokens", ""),
        ];
        for (extra, param, code) in refused {
            let err = check(&with(extra)).unwrap_err();
            assert_eq!(
                (
                    err.status.as_u16(),
                    err.param.as_deref(),
                    err.code.unwrap_or("")
                ),
                (400, Some(param), code),
                "{extra}: {}",
                err.message
            );
        }
    }
}
