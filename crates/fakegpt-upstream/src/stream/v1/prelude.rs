//! What comes before the answer: the hidden system message, the user's
//! message echoed back and, with reasoning on, the thoughts, a commentary
//! preamble and a tool call. None of it is answer text.

use serde_json::json;

use super::super::wire::{to_json, Author, Frames, Message};
use super::{PARTS0, V1};
use crate::reply::reasoning_for;

impl V1 {
    /// The hidden system message and the user's message echoed back.
    pub(super) fn context(&mut self, out: &mut Frames) {
        let system_id = uuid::Uuid::new_v4().to_string();
        let system = Message {
            id: &system_id,
            author: Author::new("system"),
            create_time: self.time(),
            update_time: None,
            content: json!({"content_type": "text", "parts": [""]}),
            status: "finished_successfully",
            end_turn: Some(true),
            weight: 0.0,
            metadata: json!({"is_visually_hidden_from_conversation": true}),
            recipient: "all",
            channel: Some(None),
        };
        self.add(out, Some(system), None);
        let user_id = self.turn.user_message_id.clone();
        let user = Message {
            id: &user_id,
            author: Author::new("user"),
            create_time: self.time(),
            update_time: None,
            content: json!({"content_type": "text", "parts": [self.turn.prompt]}),
            status: "finished_successfully",
            end_turn: None,
            weight: 1.0,
            metadata: json!({}),
            recipient: "all",
            channel: Some(None),
        };
        let input = to_json(&user);
        self.side(out, "input_message", vec![("input_message", input)]);
        self.add(out, Some(user), None);
    }

    /// Thoughts, a commentary preamble and a tool call: three documents
    /// that are not the answer.
    pub(super) fn think(&mut self, out: &mut Frames) {
        let thoughts_id = uuid::Uuid::new_v4().to_string();
        let mut thoughts = self.assistant(
            &thoughts_id,
            json!({"content_type": "thoughts", "thoughts": []}),
            "analysis",
        );
        thoughts.metadata["reasoning_status"] = json!("is_reasoning");
        self.add(out, Some(thoughts), None);
        let first = json!([{"summary": "Thinking", "content": ""}]).to_string();
        self.delta(
            out,
            Some(("/message/content/thoughts", "append")),
            first,
            None,
        );
        let reasoning = reasoning_for(&self.turn.prompt);
        self.trickle(out, "/message/content/thoughts/0/content", &reasoning);
        let ended = json!({"reasoning_status": "reasoning_ended", "finished_duration_sec": 1});
        self.finished(out, Some(ended));

        let preamble_id = uuid::Uuid::new_v4().to_string();
        let mut preamble = self.assistant(
            &preamble_id,
            json!({"content_type": "text", "parts": []}),
            "commentary",
        );
        preamble.metadata["is_thinking_preamble_message"] = json!(true);
        self.add(out, Some(preamble), None);
        self.delta(out, Some((PARTS0, "append")), to_json(&"Let me look"), None);
        self.delta(out, None, to_json(&" that up first."), None);
        self.finished(out, None);

        let tool_id = uuid::Uuid::new_v4().to_string();
        let mut tool = self.assistant(
            &tool_id,
            json!({"content_type": "code", "language": "unknown", "response_format_name": null, "text": ""}),
            "analysis",
        );
        tool.recipient = "browser";
        self.add(out, Some(tool), None);
        let query: String = self.turn.prompt.chars().take(40).collect();
        let call = format!("search({})", to_json(&query));
        self.trickle(out, "/message/content/text", &call);
        self.finished(out, None);
    }
}
