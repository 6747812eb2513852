//! Native conversations (`--native-conversations`): OpenAI clients send
//! the whole history every time; a history the gateway answered before is
//! continued on the upstream, where the conversation is kept, instead of
//! being flattened into one prompt again.
//!
//! A request's history — every message before its last user message,
//! roles and contents compared exactly, the system prompt included — is
//! looked up by its hash in the [`ConversationIndex`] (in memory, or in
//! Redis shared by a fleet). Found, the conversation continues with the
//! last message only; not found (edited, truncated, unknown, expired), a
//! new kept conversation starts with the whole history. After an answer
//! that ended well, its conversation is indexed under the history it has
//! seen, the answer included, so the client's next request finds it. The
//! conversation id a client sends back (`x-fakegpt-conversation`) is only
//! a hint: the history decides.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use fakegpt::{Conversation, ConversationIndex, ConversationMode, HistoryHash, Message, Role};

/// The header that names the conversation an answer continued.
pub const HEADER: HeaderName = HeaderName::from_static("x-fakegpt-conversation");

/// How a request uses kept conversations.
pub struct Plan {
    /// The mode to ask the provider for.
    pub mode: ConversationMode,
    /// The conversation continued, when one is.
    pub continued: Option<String>,
}

/// Chooses the mode for `messages`: continue the conversation whose
/// history they extend, or start a new kept one. A store that fails
/// degrades to a new conversation.
pub async fn plan(index: &ConversationIndex, messages: &[Message], headers: &HeaderMap) -> Plan {
    let hint = headers
        .get(&HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 128);
    let history = match messages.split_last() {
        Some((last, history)) if last.role == Role::User => history,
        _ => return new_conversation(),
    };
    let found = match index.find(HistoryHash::of(history)).await {
        Ok(found) => found,
        Err(err) => {
            tracing::warn!(%err, "the conversation index is unavailable; starting a new conversation");
            None
        }
    };
    match found {
        Some(conversation) => {
            if hint.is_some_and(|hint| hint != conversation.id()) {
                tracing::debug!(
                    "the conversation header names another conversation; the history decides"
                );
            }
            Plan {
                continued: Some(conversation.id().to_owned()),
                mode: ConversationMode::Continue(Box::new(conversation)),
            }
        }
        None => {
            if hint.is_some() {
                tracing::debug!("the conversation header names no conversation of this history; starting a new one");
            }
            new_conversation()
        }
    }
}

fn new_conversation() -> Plan {
    Plan {
        mode: ConversationMode::Kept,
        continued: None,
    }
}

/// Indexes the conversation an answer ended on; a store that fails is
/// logged (the next turn then starts a new conversation).
pub async fn keep(index: &ConversationIndex, conversation: Option<&Conversation>) {
    let Some(conversation) = conversation else {
        return;
    };
    if let Err(err) = index.keep(conversation).await {
        tracing::warn!(%err, "the conversation could not be indexed; its next turn starts a new one");
    }
}

/// The header naming `id`, if it is one a header can carry.
pub fn header(id: &str) -> Option<(HeaderName, HeaderValue)> {
    HeaderValue::from_str(id).ok().map(|value| (HEADER, value))
}
