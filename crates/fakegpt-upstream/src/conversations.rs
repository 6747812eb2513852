//! The conversations the emulator keeps, as the real service does: each on
//! the account and session password that created it, as a tree of messages
//! (a regenerated answer is a sibling; an edited question a new branch).
//!
//! A temporary chat (`history_and_training_disabled: true`, what the seed
//! sends) is kept nowhere. Continuing an unknown conversation, one of
//! another account or password, or a temporary one is `404`; a parent that
//! is not in the conversation is `400`. Replies depend on the turn, so a
//! test can tell a continued turn (`(turn 2) You said: «hi»…`) from a
//! flattened one (`You said: «User: …»…`).

use std::collections::{HashMap, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::config::Config;
use crate::request::{Action, Turn};

/// The most conversations kept; the oldest goes first.
const MAX_CONVERSATIONS: usize = 4096;
/// The most messages in one conversation.
const MAX_MESSAGES: usize = 512;

/// Who a conversation belongs to: the account and a hash of the session
/// password (the password itself is not kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    account: String,
    password: u64,
}

impl Owner {
    pub(crate) fn new(account: &str, password: &str) -> Owner {
        let mut hasher = DefaultHasher::new();
        password.hash(&mut hasher);
        Owner {
            account: account.to_owned(),
            password: hasher.finish(),
        }
    }
}

/// Why a turn cannot be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No such conversation for this owner: `404`.
    NotFound,
    /// The parent is not a message of the conversation (or not one this
    /// action can follow): `400`.
    BadParent,
    /// The conversation is at its length limit: `400`.
    TooLong,
}

impl Refusal {
    /// What the `detail` says.
    pub(crate) fn detail(self) -> &'static str {
        match self {
            Refusal::NotFound => "Conversation not found",
            Refusal::BadParent => "Parent message not found in this conversation",
            Refusal::TooLong => "This conversation is too long; start a new one",
        }
    }
}

/// What kind of turn was answered, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A temporary chat.
    Temporary,
    /// The first turn of a kept conversation.
    Started,
    /// A new user message in a kept conversation.
    Continued,
    /// More of an answer cut at its length limit.
    Continuation,
    /// Another answer to the same user message.
    Variant,
}

/// How to answer a turn.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub conversation_id: String,
    /// The answer message's id (the same message for a continuation).
    pub message_id: String,
    /// The text to stream (for a continuation, only what comes next).
    pub reply: String,
    pub kind: Kind,
}

#[derive(Debug)]
struct Node {
    parent: Option<String>,
    /// The user turn this message belongs to (the root is 0).
    turn: u32,
    user: bool,
    /// A user message's text, or an answer's whole intended text.
    text: String,
    /// An answer's characters sent so far.
    sent: usize,
}

#[derive(Debug)]
struct Kept {
    owner: Owner,
    nodes: HashMap<String, Node>,
}

/// Every kept conversation.
#[derive(Debug, Default)]
pub(crate) struct Conversations {
    kept: HashMap<String, Kept>,
    order: VecDeque<String>,
}

/// The reply to `prompt` as turn `turn` of a kept conversation (`1` is the
/// first), and as its `variant`-th regeneration (`0`: the first answer).
pub fn reply_in_turn(config: &Config, prompt: &str, turn: u32, variant: u32) -> String {
    let reply = config.replies.reply(prompt, config.reply_chars);
    let reply = if turn > 1 {
        format!("(turn {turn}) {reply}")
    } else {
        reply
    };
    if variant > 0 {
        format!("(variant {variant}) {reply}")
    } else {
        reply
    }
}

/// The characters of `text` an answer event stream sends at once: all of
/// them, or `finish_after` when the answer is cut at its length limit.
fn cut(text: &str, config: &Config) -> usize {
    let chars = text.chars().count();
    config.finish_after.map_or(chars, |limit| chars.min(limit))
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Conversations {
    /// Decides how to answer `turn` from `owner`, and records it.
    pub(crate) fn plan(
        &mut self,
        owner: &Owner,
        turn: &Turn,
        config: &Config,
    ) -> Result<Plan, Refusal> {
        let Some(id) = &turn.conversation_id else {
            return Ok(self.start(owner, turn, config));
        };
        let kept = self
            .kept
            .get_mut(id)
            .filter(|kept| kept.owner == *owner)
            .ok_or(Refusal::NotFound)?;
        if kept.nodes.len() + 2 > MAX_MESSAGES {
            return Err(Refusal::TooLong);
        }
        let parent = kept
            .nodes
            .get(&turn.parent_message_id)
            .ok_or(Refusal::BadParent)?;
        let plan = match turn.action {
            Action::Next => {
                if parent.user {
                    return Err(Refusal::BadParent);
                }
                let number = parent.turn + 1;
                let text = reply_in_turn(config, &turn.prompt, number, 0);
                let message_id = add_exchange(kept, turn, number, text.clone(), config);
                Plan {
                    conversation_id: id.clone(),
                    message_id,
                    reply: text,
                    kind: Kind::Continued,
                }
            }
            Action::Continue => {
                let answer = kept
                    .nodes
                    .get_mut(&turn.parent_message_id)
                    .filter(|n| !n.user && n.sent < n.text.chars().count())
                    .ok_or(Refusal::BadParent)?;
                let rest: String = answer.text.chars().skip(answer.sent).collect();
                answer.sent += cut(&rest, config);
                Plan {
                    conversation_id: id.clone(),
                    message_id: turn.parent_message_id.clone(),
                    reply: rest,
                    kind: Kind::Continuation,
                }
            }
            Action::Variant => {
                let question = kept
                    .nodes
                    .get(&turn.user_message_id)
                    .filter(|n| n.user && n.parent.as_deref() == Some(&turn.parent_message_id))
                    .ok_or(Refusal::BadParent)?;
                let number = question.turn;
                let prompt = question.text.clone();
                let variant = kept
                    .nodes
                    .values()
                    .filter(|n| !n.user && n.parent.as_deref() == Some(&turn.user_message_id))
                    .count();
                let variant = u32::try_from(variant).unwrap_or(u32::MAX);
                let text = reply_in_turn(config, &prompt, number, variant);
                let message_id =
                    add_answer(kept, &turn.user_message_id, number, text.clone(), config);
                Plan {
                    conversation_id: id.clone(),
                    message_id,
                    reply: text,
                    kind: Kind::Variant,
                }
            }
        };
        Ok(plan)
    }

    /// A new conversation: temporary, or kept from now on.
    fn start(&mut self, owner: &Owner, turn: &Turn, config: &Config) -> Plan {
        let conversation_id = new_id();
        let reply = reply_in_turn(config, &turn.prompt, 1, 0);
        if turn.temporary || turn.action != Action::Next {
            return Plan {
                conversation_id,
                message_id: new_id(),
                reply,
                kind: Kind::Temporary,
            };
        }
        let mut kept = Kept {
            owner: owner.clone(),
            nodes: HashMap::new(),
        };
        kept.nodes.insert(
            turn.parent_message_id.clone(),
            Node {
                parent: None,
                turn: 0,
                user: false,
                text: String::new(),
                sent: 0,
            },
        );
        let message_id = add_exchange(&mut kept, turn, 1, reply.clone(), config);
        if self.order.len() >= MAX_CONVERSATIONS {
            if let Some(oldest) = self.order.pop_front() {
                self.kept.remove(&oldest);
            }
        }
        self.order.push_back(conversation_id.clone());
        self.kept.insert(conversation_id.clone(), kept);
        Plan {
            conversation_id,
            message_id,
            reply,
            kind: Kind::Started,
        }
    }
}

/// Adds the user's message and the answer to it; returns the answer's id.
fn add_exchange(
    kept: &mut Kept,
    turn: &Turn,
    number: u32,
    reply: String,
    config: &Config,
) -> String {
    kept.nodes.insert(
        turn.user_message_id.clone(),
        Node {
            parent: Some(turn.parent_message_id.clone()),
            turn: number,
            user: true,
            text: turn.prompt.clone(),
            sent: 0,
        },
    );
    add_answer(kept, &turn.user_message_id, number, reply, config)
}

/// Adds an answer to the user message `question`; returns its id.
fn add_answer(
    kept: &mut Kept,
    question: &str,
    number: u32,
    reply: String,
    config: &Config,
) -> String {
    let message_id = new_id();
    kept.nodes.insert(
        message_id.clone(),
        Node {
            parent: Some(question.to_owned()),
            turn: number,
            user: false,
            sent: cut(&reply, config),
            text: reply,
        },
    );
    message_id
}
