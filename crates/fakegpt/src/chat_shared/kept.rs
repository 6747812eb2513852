//! Conversations kept on the upstream: what a request sends (a temporary
//! chat, a new kept conversation, the next message in one, another answer),
//! and the answer stream that hashes what it yields, continues an answer
//! cut at the length limit, and ends on the conversation's handle.

use std::sync::{Arc, Mutex};

use futures_util::{Stream, StreamExt};

use super::decode::Ids;
use super::session::Owner;
use super::wire::ConversationRequest;
use crate::answer::{Chunk, ChunkStream, FinishReason};
use crate::error::{Error, ErrorKind};
use crate::handle::{Conversation, ConversationMode, HistoryHash, TextHasher};
use crate::message::{Message, Role};
use crate::prompt::format_prompt;
use crate::provider::BoxFuture;

/// Where the decoder leaves the ids of the answer it decoded.
pub type IdsSlot = Arc<Mutex<Option<Ids>>>;

/// What one chat sends, and what its answer's handle is made from.
pub struct Ask {
    /// The conversation request.
    pub body: ConversationRequest,
    /// The account and password it must be sent on (a kept conversation
    /// lives there); `None`: the session's own.
    pub pin: Option<Owner>,
    /// For a kept conversation, the handle-to-be.
    pub kept: Option<Before>,
}

/// A kept conversation as it stands before the answer.
#[derive(Clone)]
pub struct Before {
    upstream: String,
    /// Known when continuing; a new one's comes with the answer.
    conversation: Option<String>,
    question: String,
    question_parent: String,
    asked: HistoryHash,
    turns: u32,
}

impl Ask {
    /// What to send for `messages` in `mode` to the upstream at `base`: the
    /// mode asked for when the history allows it, else a new kept
    /// conversation with the whole history as its first prompt.
    pub fn new(base: &str, messages: &[Message], mode: &ConversationMode) -> Result<Ask, Error> {
        let (last, history) = match messages.split_last() {
            Some(split) => split,
            None => return Err(empty_prompt()),
        };
        let question = last.content.text();
        match mode {
            ConversationMode::Temporary => return Ask::flattened(base, messages, false),
            ConversationMode::Kept => {}
            ConversationMode::Continue(handle) => {
                match refusal(base, handle, last, || {
                    HistoryHash::of(history) == handle.history
                }) {
                    Some(why) => tracing::info!(why, "starting a new kept conversation"),
                    None if question.trim().is_empty() => return Err(empty_prompt()),
                    None => {
                        let body = ConversationRequest::next_in(
                            &handle.id,
                            &handle.message,
                            question.into(),
                        );
                        return Ok(Ask::continuing(handle, body, handle.history.then(last), 1));
                    }
                }
            }
            ConversationMode::Regenerate(handle) => {
                match refusal(base, handle, last, || {
                    HistoryHash::of(messages) == handle.asked
                }) {
                    Some(why) => tracing::info!(why, "starting a new kept conversation"),
                    None => {
                        let body = ConversationRequest::variant_in(
                            &handle.id,
                            &handle.question,
                            &handle.question_parent,
                            question.into(),
                        );
                        return Ok(Ask::continuing(handle, body, handle.asked, 0));
                    }
                }
            }
        }
        Ask::flattened(base, messages, true)
    }

    /// The whole history as one prompt: a temporary chat (the original's
    /// body, byte for byte) or a new kept conversation.
    pub fn flattened(base: &str, messages: &[Message], kept: bool) -> Result<Ask, Error> {
        let prompt = format_prompt(messages);
        if prompt.trim().is_empty() {
            return Err(empty_prompt());
        }
        if !kept {
            return Ok(Ask {
                body: ConversationRequest::new(prompt),
                pin: None,
                kept: None,
            });
        }
        let body = ConversationRequest::kept(prompt);
        let before = Before {
            upstream: base.to_owned(),
            conversation: None,
            question: body.question_id().unwrap_or_default().to_owned(),
            question_parent: body.parent_message_id.clone(),
            asked: HistoryHash::of(messages),
            turns: 1,
        };
        Ok(Ask {
            body,
            pin: None,
            kept: Some(before),
        })
    }

    fn continuing(
        handle: &Conversation,
        body: ConversationRequest,
        asked: HistoryHash,
        more: u32,
    ) -> Ask {
        let before = Before {
            upstream: handle.upstream.clone(),
            conversation: Some(handle.id.clone()),
            question: body.question_id().unwrap_or_default().to_owned(),
            question_parent: body.parent_message_id.clone(),
            asked,
            turns: handle.turns.saturating_add(more),
        };
        Ask {
            body,
            pin: Some(Owner {
                account: handle.account.clone(),
                password: handle.password.clone(),
            }),
            kept: Some(before),
        }
    }

    /// Whether this continues a kept conversation (so that it may fall
    /// back to a new one).
    pub fn continues(&self) -> bool {
        self.pin.is_some()
    }
}

/// Why `handle` cannot take `last` as its next message (`None`: it can).
fn refusal(
    base: &str,
    handle: &Conversation,
    last: &Message,
    same_history: impl FnOnce() -> bool,
) -> Option<&'static str> {
    if handle.upstream != base {
        Some("the conversation lives on another upstream")
    } else if last.role != Role::User {
        Some("the last message is not the user's")
    } else if !same_history() {
        Some("the history is not the one the conversation has seen")
    } else {
        None
    }
}

fn empty_prompt() -> Error {
    Error::new(ErrorKind::InvalidRequest, "the prompt is empty")
}

/// Whether a continued conversation cannot go on, so that a new one is
/// started instead: the upstream does not know it (404) or its parent
/// (400).
pub fn gone(err: &Error) -> bool {
    matches!(err.status(), Some(400 | 404)) && err.kind() != ErrorKind::RateLimited
}

/// Whether a login on a conversation's account failed because that
/// account is unusable (refused, cooling down, no longer listed).
pub fn account_unusable(err: &Error) -> bool {
    matches!(err.kind(), ErrorKind::Rejected | ErrorKind::RateLimited)
}

/// Opens the continuation of answer `message` in conversation `id`: its
/// chunks and where its ids will be.
pub type Continuer =
    Box<dyn FnMut(String, String) -> BoxFuture<Result<(ChunkStream, IdsSlot), Error>> + Send>;

/// How an answer in a kept conversation ends.
pub struct Ending {
    /// The conversation before the answer.
    pub before: Before,
    /// The account and password the answer was asked on.
    pub owner: Option<Owner>,
    /// Continuations of an answer cut at the length limit: how many at
    /// most, and how to open one.
    pub more: Option<(u32, Continuer)>,
}

/// The answer of a kept conversation: `first`'s chunks, then those of its
/// continuations while it is cut at the length limit (up to the bound),
/// then the conversation's handle, then the finish reason.
pub fn answer(
    first: ChunkStream,
    ids: IdsSlot,
    ending: Ending,
) -> impl Stream<Item = Result<Chunk, Error>> + Send {
    let Ending {
        before,
        owner,
        more,
    } = ending;
    async_stream::stream! {
        let (limit, mut open) = match more {
            Some((limit, open)) => (limit, Some(open)),
            None => (0, None),
        };
        let mut hasher = TextHasher::new();
        // The text so far, to recognise a continuation that repeats it.
        let mut so_far = String::new();
        let (mut current, mut current_ids) = (first, ids);
        let mut repeat: Option<Repeat> = None;
        let mut continued = 0;
        let mut ids = Ids::default();
        loop {
            let mut finish = None;
            while let Some(item) = current.next().await {
                match item {
                    Ok(Chunk::Text(text)) => {
                        let text = match repeat.as_mut() {
                            Some(repeat) => repeat.feed(&text),
                            None => text,
                        };
                        hasher.update(&text);
                        if open.is_some() {
                            so_far.push_str(&text);
                        }
                        yield Ok(Chunk::Text(text));
                    }
                    Ok(Chunk::Finish(reason)) => finish = Some(reason),
                    Ok(other) => yield Ok(other),
                    Err(err) => {
                        yield Err(err);
                        return;
                    }
                }
            }
            if let Some(held) = repeat.take().map(Repeat::end) {
                hasher.update(&held);
                so_far.push_str(&held);
                yield Ok(Chunk::Text(held));
            }
            let found = current_ids.lock().unwrap_or_else(|p| p.into_inner()).take().unwrap_or_default();
            ids.conversation = before.conversation.clone().or(found.conversation).or(ids.conversation);
            ids.message = found.message.or(ids.message);
            let cut = finish == Some(FinishReason::Length) && continued < limit;
            if let (true, Some(open), Some(id), Some(message)) = (cut, open.as_mut(), &ids.conversation, &ids.message) {
                match open(id.clone(), message.clone()).await {
                    Ok((next, next_ids)) => {
                        tracing::debug!(continued, "continuing an answer cut at the length limit");
                        continued += 1;
                        current = next;
                        current_ids = next_ids;
                        repeat = Some(Repeat::new(&so_far));
                        continue;
                    }
                    Err(err) => {
                        yield Err(err);
                        return;
                    }
                }
            }
            match (owner, ids.conversation, ids.message) {
                (Some(owner), Some(id), Some(message)) => {
                    let history = before.asked.then_answer(hasher);
                    yield Ok(Chunk::Conversation(Box::new(Conversation {
                        upstream: before.upstream,
                        id,
                        message,
                        question: before.question,
                        question_parent: before.question_parent,
                        account: owner.account,
                        password: owner.password,
                        history,
                        asked: before.asked,
                        turns: before.turns,
                    })));
                }
                _ => tracing::warn!(
                    "the upstream did not say where the answer lives: the conversation cannot be continued"
                ),
            }
            if let Some(reason) = finish {
                yield Ok(Chunk::Finish(reason));
            }
            return;
        }
    }
}

/// The start of a continuation, held while it could be a repeat of the
/// text before it (a service may resend the whole message): a repeat is
/// dropped, anything else passes.
struct Repeat {
    before: String,
    held: Option<String>,
}

impl Repeat {
    fn new(before: &str) -> Repeat {
        Repeat {
            before: before.to_owned(),
            held: (!before.is_empty()).then(String::new),
        }
    }

    /// What to yield of `text`.
    fn feed(&mut self, text: &str) -> String {
        let Some(held) = self.held.as_mut() else {
            return text.to_owned();
        };
        held.push_str(text);
        if held.len() < self.before.len() && self.before.starts_with(held.as_str()) {
            return String::new();
        }
        let held = self.held.take().unwrap_or_default();
        match held.strip_prefix(self.before.as_str()) {
            Some(rest) => rest.to_owned(),
            None => held,
        }
    }

    /// What is still held when the continuation ends.
    fn end(self) -> String {
        self.held.unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(before: &str, pieces: &[&str]) -> String {
        let mut repeat = Repeat::new(before);
        let mut out: String = pieces.iter().map(|p| repeat.feed(p)).collect();
        out.push_str(&repeat.end());
        out
    }

    #[test]
    fn a_continuation_that_repeats_the_answer_is_not_shown_twice() {
        let before = "The first part, ";
        let rest = "and the rest.";
        let whole = format!("{before}{rest}");
        for cut in 0..=whole.len() {
            assert_eq!(
                through(before, &[&whole[..cut], &whole[cut..]]),
                rest,
                "{cut}"
            );
            if cut <= rest.len() {
                assert_eq!(
                    through(before, &[&rest[..cut], &rest[cut..]]),
                    rest,
                    "{cut}"
                );
            }
        }
        // What only starts like the text before passes whole.
        assert_eq!(
            through(before, &["The fir", "e is out."]),
            "The fire is out."
        );
        assert_eq!(through(before, &["The fir"]), "The fir");
        assert_eq!(through("", &["a", "b"]), "ab");
    }

    #[test]
    fn only_an_unknown_conversation_or_parent_falls_back() {
        let status = |code| super::super::step::Step::Conversation.status(code, None, "{}");
        assert!(gone(&status(404)));
        assert!(gone(&status(400)));
        assert!(!gone(&status(500)));
        assert!(!gone(&status(401)));
    }
}
