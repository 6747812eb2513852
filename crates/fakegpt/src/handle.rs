//! Conversations kept on the upstream: the [`Conversation`] handle an
//! answer ends on, the [`HistoryHash`] that proves a history is the one a
//! handle has seen, and the [`ConversationMode`] a request asks for.

use std::fmt;

use ring::digest::{Context, SHA256};
use serde::{Deserialize, Serialize};

use crate::message::{Content, Message};

/// A hash of a whole history, message by message: roles and contents
/// compared exactly, the system prompt included, in order.
///
/// Each message extends the hash of the history before it (a hash chain),
/// so the hash of a history is known without keeping its text, and two
/// histories have the same hash only if they are the same.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HistoryHash([u8; 32]);

/// What the chain starts from, and what separates its fields.
const CHAIN_START: &[u8] = b"fakegpt history/1";

impl HistoryHash {
    /// The hash of an empty history.
    pub fn empty() -> HistoryHash {
        let digest = ring::digest::digest(&SHA256, CHAIN_START);
        HistoryHash(to_array(digest.as_ref()))
    }

    /// The hash of `messages`, in order.
    pub fn of(messages: &[Message]) -> HistoryHash {
        messages
            .iter()
            .fold(HistoryHash::empty(), |hash, message| hash.then(message))
    }

    /// The hash of this history followed by `message`.
    pub fn then(&self, message: &Message) -> HistoryHash {
        self.then_digest(message.role.as_str(), &content_digest(&message.content))
    }

    /// The hash of this history followed by an assistant answer whose text
    /// was hashed by `answer` (see [`TextHasher`]).
    pub(crate) fn then_answer(&self, answer: TextHasher) -> HistoryHash {
        self.then_digest("assistant", &answer.finish())
    }

    fn then_digest(&self, role: &str, content: &[u8; 32]) -> HistoryHash {
        let mut context = Context::new(&SHA256);
        context.update(CHAIN_START);
        context.update(&self.0);
        context.update(&(role.len() as u64).to_be_bytes());
        context.update(role.as_bytes());
        context.update(content);
        HistoryHash(to_array(context.finish().as_ref()))
    }

    /// The hash as 64 lower-case hex digits, e.g. for a key in a store.
    pub fn to_hex(&self) -> String {
        use fmt::Write;
        self.0.iter().fold(String::with_capacity(64), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
    }

    /// Reads [`to_hex`](HistoryHash::to_hex)'s form back.
    pub fn from_hex(hex: &str) -> Option<HistoryHash> {
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(HistoryHash(bytes))
    }
}

impl fmt::Debug for HistoryHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HistoryHash({})", &self.to_hex()[..16])
    }
}

impl Serialize for HistoryHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for HistoryHash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let hex = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        HistoryHash::from_hex(&hex)
            .ok_or_else(|| serde::de::Error::custom("expected 64 hex digits"))
    }
}

fn to_array(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&bytes[..32]);
    out
}

/// Hashes a message's content: plain text as itself, parts as their JSON,
/// each marked so that the two forms never collide.
fn content_digest(content: &Content) -> [u8; 32] {
    match content {
        Content::Text(text) => {
            let mut hasher = TextHasher::new();
            hasher.update(text);
            hasher.finish()
        }
        Content::Parts(parts) => {
            let mut context = Context::new(&SHA256);
            context.update(b"parts\0");
            context.update(&serde_json::to_vec(parts).unwrap_or_default());
            to_array(context.finish().as_ref())
        }
    }
}

/// Hashes an answer's text as it streams, as [`HistoryHash::then`] would
/// hash it whole.
#[derive(Clone)]
pub(crate) struct TextHasher(Context);

impl TextHasher {
    pub(crate) fn new() -> TextHasher {
        let mut context = Context::new(&SHA256);
        context.update(b"text\0");
        TextHasher(context)
    }

    pub(crate) fn update(&mut self, text: &str) {
        self.0.update(text.as_bytes());
    }

    fn finish(self) -> [u8; 32] {
        to_array(self.0.finish().as_ref())
    }
}

/// A conversation kept on the upstream, as an answer left it: where it
/// lives and which history it has seen. A request that
/// [continues](ConversationMode::Continue) it sends only its new message.
///
/// It can be saved (serde) and used by another process. It holds the
/// session password of the account the conversation lives on — a secret,
/// like an access token: keep it private (files 0600, a private Redis).
/// `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// The upstream's base URL, so a handle is never sent elsewhere.
    pub(crate) upstream: String,
    /// The upstream's conversation id.
    pub(crate) id: String,
    /// The last answer's message id: the parent of the next message.
    pub(crate) message: String,
    /// The last user message's id, and its parent (for another answer).
    pub(crate) question: String,
    pub(crate) question_parent: String,
    /// The account it lives on (`token_key`) and its session password.
    pub(crate) account: String,
    pub(crate) password: String,
    /// The history it has seen, through the last answer.
    pub(crate) history: HistoryHash,
    /// The history through the last user message (before the answer).
    pub(crate) asked: HistoryHash,
    /// User turns so far.
    pub(crate) turns: u32,
}

impl Conversation {
    /// The upstream's id of the conversation.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The account it lives on (its `token_key`, which is not a secret).
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The upstream it lives on (its base URL).
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// The hash of the history it has seen, through its last answer: a
    /// request whose messages before the last one hash to this continues
    /// it.
    pub fn history(&self) -> HistoryHash {
        self.history
    }

    /// The hash of the history through its last user message: a request
    /// to answer that message again has these messages.
    pub fn asked(&self) -> HistoryHash {
        self.asked
    }

    /// The user turns it holds.
    pub fn turns(&self) -> u32 {
        self.turns
    }
}

impl fmt::Debug for Conversation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conversation")
            .field("upstream", &self.upstream)
            .field("id", &self.id)
            .field("account", &self.account)
            .field("password", &"[redacted]")
            .field("turns", &self.turns)
            .field("history", &self.history)
            .finish_non_exhaustive()
    }
}

/// Whether a request uses a conversation kept on the upstream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConversationMode {
    /// Nothing is kept: the whole history goes as one prompt in a
    /// temporary chat, exactly as the original provider sent it.
    #[default]
    Temporary,
    /// A new conversation kept on the upstream, its first prompt the
    /// whole history; the answer reports its handle. On a shared account
    /// others who share it may see it: keeping must be the user's choice.
    Kept,
    /// Continue this conversation with the request's last message, if the
    /// messages before it are the history it has seen (else, or if it
    /// cannot be continued, a new kept conversation as with `Kept`).
    Continue(Box<Conversation>),
    /// Answer the last user message of this conversation again (the
    /// request's messages must be its history through that message; else
    /// as with `Kept`).
    Regenerate(Box<Conversation>),
}

impl ConversationMode {
    /// Whether the conversation is kept on the upstream.
    pub fn is_kept(&self) -> bool {
        !matches!(self, ConversationMode::Temporary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::ContentPart;

    fn history() -> Vec<Message> {
        vec![
            Message::system("Be brief."),
            Message::user("Hi"),
            Message::assistant("Hello!"),
        ]
    }

    #[test]
    fn a_history_hash_is_exact() {
        let base = HistoryHash::of(&history());
        assert_eq!(base, HistoryHash::of(&history()));
        assert_ne!(base, HistoryHash::of(&history()[1..]));
        assert_ne!(base, HistoryHash::of(&history()[..2]));
        let mut edited = history();
        edited[2] = Message::assistant("Hello");
        assert_ne!(base, HistoryHash::of(&edited));
        let mut role = history();
        role[0] = Message::user("Be brief.");
        assert_ne!(base, HistoryHash::of(&role));
        let mut parts = history();
        parts[1].content = Content::Parts(vec![ContentPart::Text { text: "Hi".into() }]);
        assert_ne!(base, HistoryHash::of(&parts));
        // Moving text between messages changes it too.
        let split = vec![Message::user("ab"), Message::user("c")];
        let moved = vec![Message::user("a"), Message::user("bc")];
        assert_ne!(HistoryHash::of(&split), HistoryHash::of(&moved));
        assert_ne!(HistoryHash::empty(), HistoryHash::of(&[Message::user("")]));
    }

    #[test]
    fn a_streamed_answer_hashes_as_the_whole_message() {
        let asked = HistoryHash::of(&history()[..2]);
        let mut hasher = TextHasher::new();
        for piece in ["Hel", "", "lo", "!"] {
            hasher.update(piece);
        }
        assert_eq!(asked.then_answer(hasher), HistoryHash::of(&history()));
    }

    #[test]
    fn hashes_read_back_and_handles_hide_the_password() {
        let hash = HistoryHash::of(&history());
        assert_eq!(HistoryHash::from_hex(&hash.to_hex()), Some(hash));
        for bad in ["", "zz", &"g".repeat(64), &"é".repeat(32)] {
            assert_eq!(HistoryHash::from_hex(bad), None, "{bad}");
        }
        let handle = Conversation {
            upstream: "http://127.0.0.1:1".into(),
            id: "c".into(),
            message: "m".into(),
            question: "q".into(),
            question_parent: "p".into(),
            account: "acct".into(),
            password: "hunter2pwd".into(),
            history: hash,
            asked: HistoryHash::empty(),
            turns: 1,
        };
        assert!(!format!("{handle:?}").contains("hunter2pwd"));
        let json = serde_json::to_string(&handle).unwrap();
        let back: Conversation = serde_json::from_str(&json).unwrap();
        assert_eq!(back, handle);
    }
}
