//! The legacy dialect: each event repeats the whole answer so far.

use serde_json::{json, Value};

use super::script::{AnswerEvent, Finish, Ids, Speaker};
use super::wire::{to_json, Author, Clock, Envelope, Frames, Message, STREAM_ERROR};

/// Writes cumulative events.
pub(crate) struct Legacy {
    ids: Ids,
    /// Send times for `create_time`, when fresh times are asked for.
    clock: Option<Clock>,
}

impl Legacy {
    pub(crate) fn new(ids: Ids, fresh_times: bool) -> Legacy {
        Legacy {
            ids,
            clock: fresh_times.then(Clock::default),
        }
    }

    /// One JSON event carrying `text` as the answer so far.
    fn event(&mut self, text: &str, finish: Option<Finish>, message_type: &str) -> String {
        let finish_details = match finish {
            None => Value::Null,
            Some(Finish::Stop) => json!({"type": "stop", "stop_tokens": [100260]}),
            Some(Finish::MaxTokens) => json!({"type": "max_tokens"}),
        };
        let last = finish.is_some();
        let Some(clock) = &mut self.clock else {
            // Exactly as it always was: keys in serde_json's (sorted) order.
            return json!({
                "message": {
                    "id": self.ids.message,
                    "author": {"role": "assistant", "name": null, "metadata": {}},
                    "create_time": 1_700_000_000.0,
                    "update_time": null,
                    "content": {"content_type": "text", "parts": [text]},
                    "status": if last { "finished_successfully" } else { "in_progress" },
                    "end_turn": if last { json!(true) } else { json!(null) },
                    "weight": 1.0,
                    "metadata": {
                        "message_type": message_type,
                        "model_slug": "text-davinci-002-render-sha",
                        "finish_details": finish_details,
                    },
                    "recipient": "all"
                },
                "conversation_id": self.ids.conversation,
                "error": null
            })
            .to_string();
        };
        to_json(&Envelope {
            message: Some(Message {
                id: &self.ids.message,
                author: Author::new("assistant"),
                create_time: clock.next(),
                update_time: None,
                content: json!({"content_type": "text", "parts": [text]}),
                status: if last {
                    "finished_successfully"
                } else {
                    "in_progress"
                },
                end_turn: last.then_some(true),
                weight: 1.0,
                metadata: json!({
                    "message_type": message_type,
                    "model_slug": "text-davinci-002-render-sha",
                    "finish_details": finish_details,
                }),
                recipient: "all",
                channel: None,
            }),
            conversation_id: &self.ids.conversation,
            error: None,
            error_code: None,
        })
    }
}

impl Speaker for Legacy {
    fn noise(&mut self, n: usize, out: &mut Frames) {
        out.raw(&format!(": ping {n}{{eol}}{{eol}}"));
        let other = self.event("moderation noise", None, "variant");
        out.data(&other);
    }

    fn garbage(&mut self, out: &mut Frames) {
        out.raw("data: {\"message\": {\"content\": {eol}data: not json at all{eol}{eol}");
    }

    fn answer(&mut self, event: &AnswerEvent<'_>, out: &mut Frames) {
        let payload = self.event(event.so_far, event.finish, "next");
        out.data(&payload);
    }

    fn error(&mut self, out: &mut Frames) {
        out.data(&to_json(&Envelope::<Value> {
            message: None,
            conversation_id: &self.ids.conversation,
            error: Some(STREAM_ERROR),
            error_code: None,
        }));
    }
}
