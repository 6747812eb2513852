//! The delta-encoded ("v1") dialect: patches that build the turn's message
//! documents, from which only the visible answer text (and, apart, the
//! reasoning) reaches the caller.
//!
//! [`Turn`] takes the stream's events one by one (after `event:
//! delta_encoding`). `delta` frames are `{p, o, v, c}` patches: a missing
//! `p` or `o` repeats the previous frame's, `c` picks the document (a new
//! one with an `add` at `""`), and a `patch` applies a list of operations
//! with absolute paths. Events without a name are side events
//! (`message_stream_complete`, errors, moderation…) or whole legacy
//! documents. Every document is classified by [`message::classify`]; each
//! answer and reasoning document has a [`DeltaTracker`] of what was handed
//! out, so a revision never takes text back.
//!
//! The common frame — a string appended to the answer's `parts/0` — is
//! read without the JSON parser ([`flat`]) and takes a path that costs
//! only the appended text, kept apart from the document until something
//! reads or changes it; everything else re-reads the document it changed.

mod doc;
mod flat;
mod frame;
mod message;

use serde_json::Value;

use super::delta::DeltaTracker;
use super::events::finish_reason;
use super::failure;
use crate::answer::FinishReason;
use crate::chat_shared::step::Step;
use crate::error::Error;
use doc::Op;
use frame::FrameValue;
use message::{Kind, ANSWER_PATH};

/// The most message documents one turn may hold.
const MAX_DOCUMENTS: usize = 1024;

/// The most levels of `patch` inside `patch`.
const MAX_PATCH_DEPTH: usize = 4;

/// Where a turn's new text goes.
pub struct Sink<'a> {
    /// New answer text.
    pub text: &'a mut String,
    /// New reasoning text.
    pub reasoning: &'a mut String,
}

/// Whether the stream goes on after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Read on.
    Continue,
    /// `data: [DONE]`: the stream is over.
    Done,
}

/// One message document of the turn.
#[derive(Debug)]
struct Document {
    c: u64,
    value: Value,
    kind: Kind,
    answer: DeltaTracker,
    /// Whether the answer tracker's reference is the document's text (a
    /// string at [`ANSWER_PATH`]), so that an append to it adds exactly
    /// the appended string.
    answer_synced: bool,
    /// Answer text appended and not yet written into `value`: the common
    /// frame costs a string push, not a walk down the document. Written
    /// before anything reads or changes `value`.
    unflushed: String,
    reasoning: DeltaTracker,
    /// Where appending a string extends the reasoning by exactly it.
    reasoning_tail: Option<String>,
    /// About how many bytes the document holds.
    size: usize,
}

impl Document {
    /// Writes the answer text appended since into the document.
    fn flush(&mut self) {
        if self.unflushed.is_empty() {
            return;
        }
        if let Some(Value::String(text)) = doc::get_mut(&mut self.value, ANSWER_PATH) {
            text.push_str(&self.unflushed);
        }
        self.unflushed.clear();
    }

    fn new(c: u64) -> Self {
        Document {
            c,
            value: Value::Null,
            kind: Kind::Other,
            answer: DeltaTracker::new(),
            answer_synced: false,
            unflushed: String::new(),
            reasoning: DeltaTracker::new(),
            reasoning_tail: None,
            size: 0,
        }
    }
}

/// The state of one delta-encoded turn.
#[derive(Debug)]
pub struct Turn {
    docs: Vec<Document>,
    /// The document frames without `c` apply to.
    current: Option<usize>,
    sticky_path: String,
    sticky_op: Op,
    /// `[DONE]` or `message_stream_complete` was seen.
    complete: bool,
    /// The document that last gave answer text.
    last_answer: Option<usize>,
    answer_len: usize,
    reasoning_len: usize,
    stored: usize,
    max_stored: usize,
    /// The conversation's id, as a side event named it.
    conversation: Option<String>,
}

impl Turn {
    /// A turn whose documents may hold about `max_stored` bytes in all.
    pub fn new(max_stored: usize) -> Self {
        Turn {
            docs: Vec::new(),
            current: None,
            sticky_path: String::new(),
            sticky_op: Op::Add,
            complete: false,
            last_answer: None,
            answer_len: 0,
            reasoning_len: 0,
            stored: 0,
            max_stored,
            conversation: None,
        }
    }

    /// Bytes of answer text handed out.
    pub fn answer_len(&self) -> usize {
        self.answer_len
    }

    /// Bytes of reasoning handed out.
    pub fn reasoning_len(&self) -> usize {
        self.reasoning_len
    }

    /// Whether the turn says it is over: `[DONE]`, `message_stream_complete`,
    /// or an answer that ends the turn.
    pub fn complete(&self) -> bool {
        self.complete
            || self
                .last_answer_doc()
                .is_some_and(|doc| message::ends_turn(&doc.value))
    }

    /// Why the answer ended, as its last answer document says.
    pub fn finish_reason(&self) -> Option<FinishReason> {
        message::finish_kind(&self.last_answer_doc()?.value).and_then(finish_reason)
    }

    /// The conversation's id (from any document that names it) and the
    /// last answer document's message id.
    pub fn ids(&self) -> super::events::Ids {
        let text = |value: &Value| {
            value
                .as_str()
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
        };
        super::events::Ids {
            conversation: self
                .docs
                .iter()
                .find_map(|d| text(&d.value["conversation_id"]))
                .or_else(|| self.conversation.clone()),
            message: self
                .last_answer_doc()
                .and_then(|d| text(&d.value["message"]["id"])),
        }
    }

    fn last_answer_doc(&self) -> Option<&Document> {
        self.docs.iter().rev().find(|d| d.kind == Kind::Answer)
    }

    /// Takes one event: its `event:` name and its data.
    pub fn event(&mut self, name: &[u8], data: &[u8], sink: &mut Sink<'_>) -> Result<Flow, Error> {
        if data == b"[DONE]" {
            self.complete = true;
            return Ok(Flow::Done);
        }
        match name {
            b"delta" => self.frame(data, sink)?,
            b"" | b"message" => self.unnamed(data, sink)?,
            _ => {}
        }
        Ok(Flow::Continue)
    }

    /// An event without a name: a side event, a whole legacy document, an
    /// error, or a frame sent without its name.
    fn unnamed(&mut self, data: &[u8], sink: &mut Sink<'_>) -> Result<(), Error> {
        let Ok(value) = serde_json::from_slice::<Value>(data) else {
            return Ok(());
        };
        let Some(object) = value.as_object() else {
            return Ok(());
        };
        if let Some(err) = failure::reported(&value) {
            return Err(err);
        }
        if object.contains_key("type") {
            if value["type"] == "message_stream_complete" {
                self.complete = true;
            }
            if self.conversation.is_none() {
                self.conversation = value["conversation_id"]
                    .as_str()
                    .filter(|id| !id.is_empty())
                    .map(str::to_owned);
            }
            return Ok(());
        }
        if object.get("message").is_some_and(Value::is_object) {
            return self.legacy_document(value, data.len(), sink);
        }
        if ["p", "o", "v"].iter().any(|k| object.contains_key(*k)) {
            return self.frame(data, sink);
        }
        Ok(())
    }

    /// A whole document as the legacy dialect sends it: it replaces the
    /// document of the same message id, or starts a new one.
    fn legacy_document(
        &mut self,
        value: Value,
        size: usize,
        sink: &mut Sink<'_>,
    ) -> Result<(), Error> {
        let id = &value["message"]["id"];
        let found = (!id.is_null())
            .then(|| {
                self.docs
                    .iter()
                    .position(|d| d.value["message"]["id"] == *id)
            })
            .flatten();
        let index = match found {
            Some(index) => index,
            None => {
                let c = self.docs.iter().map(|d| d.c + 1).max().unwrap_or(0);
                self.new_document(c)?
            }
        };
        self.current = Some(index);
        self.op(index, "", Op::Add, value, size, sink)
    }

    fn frame(&mut self, data: &[u8], sink: &mut Sink<'_>) -> Result<(), Error> {
        let Some(frame) = frame::read(data) else {
            return Ok(());
        };
        let op = match frame.o.as_deref() {
            Some(name) => match Op::parse(name) {
                Some(op) => op,
                None => return Ok(()),
            },
            None => self.sticky_op,
        };
        if let Some(path) = frame.p {
            self.sticky_path.clear();
            self.sticky_path.push_str(&path);
        }
        self.sticky_op = op;
        let Some(v) = frame
            .v
            .or_else(|| (op == Op::Remove).then_some(FrameValue::Other(Value::Null)))
        else {
            return Ok(());
        };
        let index = match frame.c {
            Some(c) => match self.docs.iter().position(|d| d.c == c) {
                Some(index) => index,
                None => self.new_document(c)?,
            },
            None => match self.current {
                Some(index) => index,
                None => self.new_document(0)?,
            },
        };
        self.current = Some(index);
        let path = std::mem::take(&mut self.sticky_path);
        let result = match v {
            FrameValue::Text(more)
                if op == Op::Append && self.fast_append(index, &path, &more, sink) =>
            {
                self.account(index, more.len(), false)
            }
            v => self.apply(index, &path, op, v.into_value(), data.len(), sink, 0),
        };
        self.sticky_path = path;
        result
    }

    fn new_document(&mut self, c: u64) -> Result<usize, Error> {
        if self.docs.len() >= MAX_DOCUMENTS {
            return Err(Step::Conversation.protocol(format!(
                "the answer has more than {MAX_DOCUMENTS} message documents"
            )));
        }
        self.docs.push(Document::new(c));
        Ok(self.docs.len() - 1)
    }

    /// Applies one operation, or each of a patch's.
    #[allow(clippy::too_many_arguments, reason = "one recursive step of a patch")]
    fn apply(
        &mut self,
        index: usize,
        path: &str,
        op: Op,
        v: Value,
        weight: usize,
        sink: &mut Sink<'_>,
        depth: usize,
    ) -> Result<(), Error> {
        if op != Op::Patch {
            return self.op(index, path, op, v, weight, sink);
        }
        let Value::Array(ops) = v else {
            return Ok(());
        };
        if depth >= MAX_PATCH_DEPTH {
            return Ok(());
        }
        for item in ops {
            let Value::Object(mut item) = item else {
                continue;
            };
            let Some(op) = item.get("o").and_then(Value::as_str).and_then(Op::parse) else {
                continue;
            };
            let path = match item.remove("p") {
                Some(Value::String(path)) => path,
                _ => continue,
            };
            let v = item.remove("v").unwrap_or(Value::Null);
            self.apply(index, &path, op, v, weight, sink, depth + 1)?;
        }
        Ok(())
    }

    /// Applies one operation to a document and hands out what it adds.
    fn op(
        &mut self,
        index: usize,
        path: &str,
        op: Op,
        v: Value,
        weight: usize,
        sink: &mut Sink<'_>,
    ) -> Result<(), Error> {
        if op == Op::Append {
            if let Value::String(more) = &v {
                if self.fast_append(index, path, more, sink) {
                    return self.account(index, more.len(), false);
                }
            }
        }
        // A merge changes only its keys: what they are decides whether the
        // document's kind may change.
        let merge_changes_kind = match (&v, op) {
            (Value::Object(keys), Op::Append) => Some(message::merge_may_change_kind(
                path,
                keys.keys().map(String::as_str),
            )),
            _ => None,
        };
        let doc = &mut self.docs[index];
        doc.flush();
        doc::apply(&mut doc.value, path, op, v);
        let replaced = path.is_empty() && matches!(op, Op::Add | Op::Replace);
        self.account(index, weight, replaced)?;
        if path.is_empty() || path.starts_with("/error") {
            if let Some(err) = failure::reported(&self.docs[index].value) {
                return Err(err);
            }
        }
        // A change outside the content (metadata, status…) leaves the text
        // as it was: only what the document is may have changed.
        let doc = &mut self.docs[index];
        let outside_content =
            !path.is_empty() && !path.starts_with("/message/content") && path != "/message";
        if outside_content
            && (!merge_changes_kind.unwrap_or_else(|| message::may_change_kind(path))
                || message::classify(&doc.value) == doc.kind)
        {
            return Ok(());
        }
        self.refresh(index, sink);
        Ok(())
    }

    /// The common case: a string appended where the document's answer or
    /// reasoning text grows by exactly that string.
    fn fast_append(&mut self, index: usize, path: &str, more: &str, sink: &mut Sink<'_>) -> bool {
        let doc = &mut self.docs[index];
        let answer = doc.kind == Kind::Answer && doc.answer_synced && path == ANSWER_PATH;
        let reasoning = doc.kind == Kind::Reasoning && doc.reasoning_tail.as_deref() == Some(path);
        if !(answer || reasoning) {
            return false;
        }
        if answer {
            doc.unflushed.push_str(more);
        } else {
            let Some(Value::String(text)) = doc::get_mut(&mut doc.value, path) else {
                return false;
            };
            text.push_str(more);
        }
        if answer {
            if !more.is_empty() {
                if self.last_answer != Some(index) && self.answer_len > 0 {
                    sink.text.push_str("\n\n");
                    self.answer_len += 2;
                }
                self.last_answer = Some(index);
                self.answer_len += more.len();
            }
            doc.answer.extend(more, sink.text);
        } else {
            doc.reasoning.extend(more, sink.reasoning);
            self.reasoning_len += more.len();
        }
        true
    }

    /// Counts what a document now holds against the bound.
    fn account(&mut self, index: usize, added: usize, replaced: bool) -> Result<(), Error> {
        let doc = &mut self.docs[index];
        let before = doc.size;
        doc.size = if replaced {
            added
        } else {
            doc.size.saturating_add(added)
        };
        self.stored = self.stored.saturating_sub(before).saturating_add(doc.size);
        if self.stored > self.max_stored {
            return Err(Step::Conversation.protocol(format!(
                "the answer's message documents are larger than the limit of {} bytes",
                self.max_stored
            )));
        }
        Ok(())
    }

    /// Re-reads a document after a change: what it is, and what text it
    /// now has beyond what was handed out.
    fn refresh(&mut self, index: usize, sink: &mut Sink<'_>) {
        let doc = &mut self.docs[index];
        doc.flush();
        doc.kind = message::classify(&doc.value);
        doc.reasoning_tail = None;
        doc.answer_synced = false;
        let mut new = String::new();
        match doc.kind {
            Kind::Answer => {
                let present = message::answer_text(&doc.value);
                let text = present.unwrap_or_default();
                doc.answer.push(text, &mut new);
                doc.answer_synced = present.is_some() && doc.answer.reference() == text;
                self.hand_out_answer(index, &new, sink);
            }
            Kind::Reasoning => {
                let text = message::reasoning_text(&doc.value);
                doc.reasoning.push(&text, &mut new);
                if doc.reasoning.reference() == text {
                    doc.reasoning_tail = message::reasoning_tail(&doc.value);
                }
                self.reasoning_len += new.len();
                sink.reasoning.push_str(&new);
            }
            Kind::Other => {}
        }
    }

    /// Hands out new answer text of a document, a blank line apart from
    /// another document's text before it.
    fn hand_out_answer(&mut self, index: usize, new: &str, sink: &mut Sink<'_>) {
        if new.is_empty() {
            return;
        }
        if self.last_answer != Some(index) && self.answer_len > 0 {
            sink.text.push_str("\n\n");
            self.answer_len += 2;
        }
        self.last_answer = Some(index);
        sink.text.push_str(new);
        self.answer_len += new.len();
    }
}

#[cfg(test)]
mod tests;
