//! The answer's pieces, mostly shorthand, with the detours a real stream
//! takes.

use serde_json::json;

use super::super::script::{AnswerEvent, Finish};
use super::super::wire::{to_json, Frames};
use super::{op, ops, PARTS0, V1};

/// How one answer piece (after the first, before the last) is written,
/// by its place in a cycle of [`KINDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `{"v": PIECE}`.
    Short,
    /// `{"v": PIECE, "c": N}`.
    ShortWithIndex,
    /// `{"p": PARTS0, "o": "append", "v": PIECE}` again.
    Full,
    /// Text appended to a metadata path first (shorthand included), then
    /// the piece with its path spelled out again.
    Detour,
    /// `{"p": "", "o": "patch", "v": [PIECE's append, a metadata merge]}`.
    Patch,
    /// `{"v": [PIECE's append]}`, a patch again by the sticky rule.
    Batch,
}

/// Mostly shorthand; a batch always follows a patch, and a full frame the
/// batch (after a patch, a shorthand string would not be answer text).
const KINDS: [Kind; 16] = {
    use Kind::*;
    [
        Short,
        Short,
        Short,
        Full,
        Short,
        Short,
        ShortWithIndex,
        Short,
        Short,
        Detour,
        Short,
        Short,
        Patch,
        Batch,
        Full,
        Short,
    ]
};

impl V1 {
    /// `piece` appended to the answer with its path spelled out.
    fn full(&mut self, out: &mut Frames, piece: &str, c: Option<usize>) {
        self.delta(out, Some((PARTS0, "append")), to_json(&piece), c);
    }

    /// Whether `{"v": TEXT}` would append to the answer now.
    fn short_allowed(&self) -> bool {
        self.sticky.0 == PARTS0 && self.sticky.1 == "append"
    }

    /// One answer event: the first with its path, the last as the patch
    /// that ends the message, the others as their place in [`KINDS`] says.
    pub(super) fn answer_event(&mut self, event: &AnswerEvent<'_>, out: &mut Frames) {
        let piece = event.piece;
        let c = match self.answer {
            Some(c) => c,
            None => {
                let c = self.documents;
                let id = self.ids.message.clone();
                let message =
                    self.assistant(&id, json!({"content_type": "text", "parts": []}), "final");
                self.add(out, Some(message), None);
                self.answer = Some(c);
                c
            }
        };
        if let Some(finish) = event.finish {
            let details = match finish {
                Finish::Stop => json!({"type": "stop", "stop_tokens": [200002]}),
                Finish::MaxTokens => json!({"type": "max_tokens"}),
            };
            let list = [
                op(PARTS0, "append", to_json(&piece)),
                op(
                    "/message/status",
                    "replace",
                    to_json(&"finished_successfully"),
                ),
                op("/message/end_turn", "replace", to_json(&true)),
                op(
                    "/message/metadata",
                    "append",
                    json!({"is_complete": true, "finish_details": details}).to_string(),
                ),
            ];
            self.delta(out, Some(("", "patch")), ops(&list), None);
            return;
        }
        if event.n == 0 {
            return self.full(out, piece, None);
        }
        match KINDS[event.n % KINDS.len()] {
            Kind::Short if self.short_allowed() => self.delta(out, None, to_json(&piece), None),
            Kind::ShortWithIndex if self.short_allowed() => {
                self.delta(out, None, to_json(&piece), Some(c));
            }
            Kind::ShortWithIndex => self.full(out, piece, Some(c)),
            Kind::Short | Kind::Full => self.full(out, piece, None),
            Kind::Detour => {
                let citations = json!({"citations": []}).to_string();
                self.delta(out, Some(("/message/metadata", "append")), citations, None);
                let hint = Some(("/message/metadata/title_hint", "append"));
                self.delta(out, hint, to_json(&"A title"), None);
                self.delta(out, None, to_json(&" hint"), None);
                self.full(out, piece, None);
            }
            Kind::Batch if self.sticky.1 == "patch" => {
                let list = [op(PARTS0, "append", to_json(&piece))];
                self.delta(out, None, ops(&list), None);
            }
            Kind::Patch | Kind::Batch => {
                let list = [
                    op(PARTS0, "append", to_json(&piece)),
                    op(
                        "/message/metadata",
                        "append",
                        json!({"content_references": []}).to_string(),
                    ),
                ];
                self.delta(out, Some(("", "patch")), ops(&list), None);
            }
        }
    }
}
