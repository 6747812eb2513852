//! What a message document of a turn is to the caller: answer text,
//! reasoning, or neither — read from the document as it stands.

use serde_json::Value;

/// What a document's text means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Visible answer text: `content.parts[0]`.
    Answer,
    /// Reasoning: the `content` of each of `content.thoughts`.
    Reasoning,
    /// Anything else (the user's message echoed, system and hidden
    /// messages, preambles, tool calls): never shown.
    Other,
}

/// Where an answer document keeps its text.
pub const ANSWER_PATH: &str = "/message/content/parts/0";

/// Classifies a document (`{"message": …, "conversation_id": …}`).
///
/// Answer text is what an assistant says to everyone (`recipient` `all`,
/// or none) as `text`, unless hidden or a commentary preamble. Reasoning
/// is an assistant's `thoughts`, or its text on the `analysis` channel.
pub fn classify(doc: &Value) -> Kind {
    let message = &doc["message"];
    if message["author"]["role"] != "assistant" {
        return Kind::Other;
    }
    let content_type = message["content"]["content_type"].as_str();
    if content_type == Some("thoughts") {
        return Kind::Reasoning;
    }
    if content_type != Some("text") {
        return Kind::Other;
    }
    let recipient = message["recipient"].as_str().unwrap_or("all");
    let metadata = &message["metadata"];
    let channel = message["channel"].as_str();
    if recipient != "all"
        || metadata["is_visually_hidden_from_conversation"] == true
        || metadata["is_thinking_preamble_message"] == true
        || channel == Some("commentary")
    {
        return Kind::Other;
    }
    if channel == Some("analysis") {
        return Kind::Reasoning;
    }
    Kind::Answer
}

/// What [`classify`] reads of a document.
const CLASSIFIED_BY: [&str; 6] = [
    "/message/author/role",
    "/message/content/content_type",
    "/message/recipient",
    "/message/channel",
    "/message/metadata/is_visually_hidden_from_conversation",
    "/message/metadata/is_thinking_preamble_message",
];

/// Whether a change at `path` (a JSON pointer) may change what
/// [`classify`] says: whether it is, holds or lies inside something
/// `classify` reads. A change anywhere else (a title hint, a citation, a
/// status) leaves the document what it was. (A token with an escape names
/// a key with `/` or `~`, which `classify` never reads.)
pub fn may_change_kind(path: &str) -> bool {
    CLASSIFIED_BY
        .iter()
        .any(|read| within(path, read) || within(read, path))
}

/// Whether the JSON pointer `inner` is `outer` or lies inside it.
fn within(outer: &str, inner: &str) -> bool {
    inner
        .strip_prefix(outer)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Whether merging an object with `keys` into the value at `path` (an
/// `append` of an object) may change what [`classify`] says. A merge sets
/// each key's value whole, so it is a change at `path/key` for each key:
/// a citation merged into the metadata is no change of kind, a hidden
/// flag is. (A key with `/` or `~` is never one `classify` reads.)
pub fn merge_may_change_kind<'a>(path: &str, mut keys: impl Iterator<Item = &'a str>) -> bool {
    CLASSIFIED_BY.iter().any(|read| within(read, path))
        || keys.any(|key| {
            CLASSIFIED_BY.iter().any(|read| {
                read.strip_prefix(path)
                    .and_then(|rest| rest.strip_prefix('/'))
                    .and_then(|rest| rest.split('/').next())
                    == Some(key)
            })
        })
}

/// A document's answer text, if it has one as a string.
pub fn answer_text(doc: &Value) -> Option<&str> {
    doc.pointer(ANSWER_PATH)?.as_str()
}

/// A document's reasoning: its thoughts' texts joined by blank lines, or
/// the text of an `analysis` message.
pub fn reasoning_text(doc: &Value) -> String {
    let content = &doc["message"]["content"];
    match content["thoughts"].as_array() {
        Some(thoughts) => {
            let texts: Vec<&str> = thoughts
                .iter()
                .filter_map(|t| t["content"].as_str())
                .filter(|t| !t.is_empty())
                .collect();
            texts.join("\n\n")
        }
        None => content["parts"][0].as_str().unwrap_or_default().to_owned(),
    }
}

/// The path an append extends the reasoning at, when appending a string
/// there adds exactly that string to [`reasoning_text`]: the last
/// thought's `content`, once it has text.
pub fn reasoning_tail(doc: &Value) -> Option<String> {
    let content = &doc["message"]["content"];
    match content["thoughts"].as_array() {
        Some(thoughts) => {
            let last = thoughts.len().checked_sub(1)?;
            let text = thoughts[last]["content"].as_str()?;
            (!text.is_empty()).then(|| format!("/message/content/thoughts/{last}/content"))
        }
        None => content["parts"][0]
            .as_str()
            .is_some_and(|t| !t.is_empty())
            .then(|| ANSWER_PATH.to_owned()),
    }
}

/// `message.metadata.finish_details.type`, if there is one.
pub fn finish_kind(doc: &Value) -> Option<&str> {
    doc["message"]["metadata"]["finish_details"]["type"].as_str()
}

/// Whether the message says it is complete and ends the turn.
pub fn ends_turn(doc: &Value) -> bool {
    let message = &doc["message"];
    message["status"] == "finished_successfully" && message["end_turn"] == true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(message: Value) -> Value {
        json!({"message": message, "conversation_id": "c", "error": null})
    }

    #[test]
    fn only_visible_assistant_text_is_the_answer() {
        let answer = json!({"author": {"role": "assistant"}, "recipient": "all",
                            "content": {"content_type": "text", "parts": ["hi"]}, "metadata": {}});
        assert_eq!(classify(&doc(answer.clone())), Kind::Answer);
        let mut no_recipient = answer.clone();
        no_recipient.as_object_mut().unwrap().remove("recipient");
        assert_eq!(classify(&doc(no_recipient)), Kind::Answer);
        let changes = [
            ("/author/role", json!("user")),
            ("/author/role", json!("system")),
            ("/author/role", json!("tool")),
            ("/recipient", json!("browser")),
            ("/content/content_type", json!("code")),
            (
                "/metadata/is_visually_hidden_from_conversation",
                json!(true),
            ),
            ("/metadata/is_thinking_preamble_message", json!(true)),
            ("/channel", json!("commentary")),
        ];
        for (path, value) in changes {
            let mut other = answer.clone();
            assert!(super::super::doc::apply(
                &mut other,
                path,
                super::super::doc::Op::Replace,
                value.clone()
            ));
            assert_eq!(classify(&doc(other)), Kind::Other, "{path} = {value}");
        }
    }

    #[test]
    fn only_changes_to_what_classify_reads_may_change_the_kind() {
        for path in [
            "",
            "/message",
            "/message/metadata",
            "/message/metadata/is_visually_hidden_from_conversation",
            "/message/author",
            "/message/author/role",
            "/message/content",
            "/message/content/content_type",
            "/message/recipient",
            "/message/channel",
            "/message/channel/x",
        ] {
            assert!(may_change_kind(path), "{path}");
        }
        for path in [
            "/message/metadata/title_hint",
            "/message/metadata/citations/0",
            "/message/metadata/is_visually_hidden",
            "/message/status",
            "/message/end_turn",
            "/message/content/parts/0",
            "/message/author/name",
            "/message/channels",
            "/conversation_id",
            "/message/meta~1data",
        ] {
            assert!(!may_change_kind(path), "{path}");
        }
    }

    #[test]
    fn a_merge_changes_the_kind_only_through_keys_classify_reads() {
        let merges: [(&str, &[&str], bool); 12] = [
            ("/message/metadata", &["citations"], false),
            (
                "/message/metadata",
                &["content_references", "title_hint"],
                false,
            ),
            ("/message/metadata", &[], false),
            (
                "/message/metadata",
                &["citations", "is_visually_hidden_from_conversation"],
                true,
            ),
            ("/message/metadata", &["is_thinking_preamble_message"], true),
            ("/message", &["status", "end_turn"], false),
            ("/message", &["metadata"], true),
            ("/message", &["channel"], true),
            ("", &["message"], true),
            ("", &["conversation_id"], false),
            // At or inside what classify reads, any merge may change it.
            (
                "/message/metadata/is_visually_hidden_from_conversation",
                &[],
                true,
            ),
            ("/message/author/role/x", &["y"], true),
        ];
        for (path, keys, expected) in merges {
            let changes = merge_may_change_kind(path, keys.iter().copied());
            assert_eq!(changes, expected, "{path} {keys:?}");
            // Never narrower than a change of every key's value.
            let any_key = keys
                .iter()
                .any(|key| may_change_kind(&format!("{path}/{key}")));
            assert!(changes || !any_key, "{path} {keys:?}");
        }
    }

    #[test]
    fn thoughts_and_analysis_are_reasoning() {
        let thoughts = doc(json!({"author": {"role": "assistant"},
            "content": {"content_type": "thoughts", "thoughts": [
                {"summary": "a", "content": "First."}, {"summary": "b", "content": ""},
                {"summary": "c", "content": "Second."}]}}));
        assert_eq!(classify(&thoughts), Kind::Reasoning);
        assert_eq!(reasoning_text(&thoughts), "First.\n\nSecond.");
        assert_eq!(
            reasoning_tail(&thoughts).as_deref(),
            Some("/message/content/thoughts/2/content")
        );
        let analysis = doc(
            json!({"author": {"role": "assistant"}, "channel": "analysis",
            "content": {"content_type": "text", "parts": ["hmm"]}}),
        );
        assert_eq!(classify(&analysis), Kind::Reasoning);
        assert_eq!(reasoning_text(&analysis), "hmm");
    }
}
