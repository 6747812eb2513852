//! The delta-encoded dialect ("v1"): the turn's message documents are
//! added whole (`{"p": "", "o": "add", "c": N}`), then patched.
//!
//! The answer's text comes one piece per event, mostly as the shorthand
//! `{"v": PIECE}` that repeats the last frame's path and operation, with
//! the detours a real stream takes (text appended to a metadata path,
//! patches and bare batches, repeated `c`) so that a client which does not
//! follow the sticky path gets the text wrong. Before the answer come
//! documents that are never answer text: a hidden system message, the
//! user's message echoed back and, with reasoning on, the thoughts, a
//! commentary preamble and a tool call.

mod answer;
mod prelude;

use serde_json::{json, Value};

use super::script::{AnswerEvent, Ids, Speaker};
use super::wire::STREAM_ERROR;
use super::wire::{object, to_json, Author, Clock, Envelope, Frames, Message, FIXED_TIME};
use crate::reply::title_for;

/// Where the answer's text goes.
const PARTS0: &str = "/message/content/parts/0";

/// What the turn is about, as the documents show it.
pub(crate) struct Turn {
    pub prompt: String,
    pub user_message_id: String,
    pub model: String,
    pub reasoning: bool,
    /// Characters per reasoning frame.
    pub step: usize,
}

/// Writes delta-encoded frames.
pub(crate) struct V1 {
    ids: Ids,
    turn: Turn,
    clock: Option<Clock>,
    /// Documents started so far (the next one's `c`).
    documents: usize,
    /// The answer document's `c`, once it is started.
    answer: Option<usize>,
    /// The last frame's path and operation, which a frame without them
    /// repeats.
    sticky: (String, String),
}

/// One `{p, o, v}` operation of a patch.
fn op(p: &str, o: &str, v: String) -> String {
    object(&[("p", to_json(&p)), ("o", to_json(&o)), ("v", v)])
}

/// A list of operations, as a patch's `v`.
fn ops(list: &[String]) -> String {
    format!("[{}]", list.join(","))
}

impl V1 {
    pub(crate) fn new(ids: Ids, turn: Turn, fresh_times: bool) -> V1 {
        V1 {
            ids,
            turn,
            clock: fresh_times.then(Clock::default),
            documents: 0,
            answer: None,
            sticky: (String::new(), String::new()),
        }
    }

    fn time(&mut self) -> f64 {
        self.clock.as_mut().map_or(FIXED_TIME, Clock::next)
    }

    /// One `delta` frame; `v` is JSON text.
    fn delta(&mut self, out: &mut Frames, path: Option<(&str, &str)>, v: String, c: Option<usize>) {
        let mut pairs = Vec::with_capacity(4);
        if let Some((p, o)) = path {
            pairs.push(("p", to_json(&p)));
            pairs.push(("o", to_json(&o)));
            self.sticky = (p.to_owned(), o.to_owned());
        }
        pairs.push(("v", v));
        if let Some(c) = c {
            pairs.push(("c", c.to_string()));
        }
        out.event("delta", &object(&pairs));
    }

    /// Starts the next document with `message` (none: an error envelope).
    fn add(&mut self, out: &mut Frames, message: Option<Message<'_>>, error: Option<&str>) {
        let envelope = to_json(&Envelope {
            message,
            conversation_id: &self.ids.conversation,
            error,
            error_code: error.map(|_| "internal_error"),
        });
        let c = self.documents;
        self.documents += 1;
        self.delta(out, Some(("", "add")), envelope, Some(c));
    }

    /// A side event (a frame without an `event:` line).
    fn side(&self, out: &mut Frames, kind: &str, mut pairs: Vec<(&str, String)>) {
        pairs.insert(0, ("type", to_json(&kind)));
        pairs.push(("conversation_id", to_json(&self.ids.conversation)));
        out.data(&object(&pairs));
    }

    /// An assistant message document, in progress, with this content.
    fn assistant<'a>(&mut self, id: &'a str, content: Value, channel: &'static str) -> Message<'a> {
        Message {
            id,
            author: Author::new("assistant"),
            create_time: self.time(),
            update_time: None,
            content,
            status: "in_progress",
            end_turn: None,
            weight: 1.0,
            metadata: json!({"message_type": "next", "model_slug": self.turn.model}),
            recipient: "all",
            channel: Some(Some(channel)),
        }
    }

    /// Ends the current document, with another to follow.
    fn finished(&mut self, out: &mut Frames, metadata: Option<Value>) {
        let mut list = vec![
            op(
                "/message/status",
                "replace",
                to_json(&"finished_successfully"),
            ),
            op("/message/end_turn", "replace", to_json(&false)),
        ];
        if let Some(metadata) = metadata {
            list.push(op("/message/metadata", "append", metadata.to_string()));
        }
        self.delta(out, Some(("", "patch")), ops(&list), None);
    }

    /// `text` appended at `path`: the first piece with the path, the rest as
    /// shorthand.
    fn trickle(&mut self, out: &mut Frames, path: &str, text: &str) {
        let step = self.turn.step.max(1);
        let chars: Vec<char> = text.chars().collect();
        for (i, piece) in chars.chunks(step).enumerate() {
            let piece: String = piece.iter().collect();
            let path = (i == 0).then_some((path, "append"));
            self.delta(out, path, to_json(&piece), None);
        }
    }
}

impl Speaker for V1 {
    fn header(&mut self, out: &mut Frames) {
        out.event("delta_encoding", "\"v1\"");
    }

    fn prelude(&mut self, out: &mut Frames) {
        let token = format!("rct_{}", uuid::Uuid::new_v4().simple());
        self.side(
            out,
            "resume_conversation_token",
            vec![("token", to_json(&token))],
        );
        self.context(out);
        if self.turn.reasoning {
            self.think(out);
        }
    }

    fn noise(&mut self, _n: usize, out: &mut Frames) {
        out.raw(": ping{eol}{eol}");
        let pairs = vec![
            ("message_id", to_json(&self.ids.message)),
            ("marker", to_json(&"user_visible_token")),
            ("event", to_json(&"first")),
        ];
        self.side(out, "message_marker", pairs);
    }

    fn garbage(&mut self, out: &mut Frames) {
        out.raw("event: delta{eol}data: {\"v\": \"not json{eol}data: not json at all{eol}{eol}");
    }

    fn answer(&mut self, event: &AnswerEvent<'_>, out: &mut Frames) {
        self.answer_event(event, out);
    }

    fn error(&mut self, out: &mut Frames) {
        self.add(out, None, Some(STREAM_ERROR));
    }

    fn end(&mut self, out: &mut Frames) {
        self.side(out, "message_stream_complete", Vec::new());
        let title = to_json(&title_for(&self.turn.prompt));
        self.side(out, "title_generation", vec![("title", title)]);
        let pairs = vec![
            ("banner_info", "null".to_owned()),
            ("blocked_features", "[]".to_owned()),
            ("model_limits", "[]".to_owned()),
            ("default_model_slug", to_json(&self.turn.model)),
        ];
        self.side(out, "conversation_detail_metadata", pairs);
    }
}
