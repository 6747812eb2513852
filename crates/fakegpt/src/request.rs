//! What one chat asks for: the model, the messages, and overrides of the
//! provider's settings (proxy, time limits, retries).

use std::time::Duration;

use crate::handle::{Conversation, ConversationMode};
use crate::message::Message;

/// Time limits for one request. `None` means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Connecting to the upstream or the proxy.
    pub connect: Option<Duration>,
    /// The longest wait for the first answer text — or reasoning, from a
    /// model that thinks first — once the conversation request is sent
    /// (each attempt). `None`: only `idle` applies.
    pub first_byte: Option<Duration>,
    /// The longest wait for the next bytes of an answer (and for each
    /// login step's answer).
    pub idle: Option<Duration>,
    /// The whole request, login and retries included, until the answer ends.
    pub total: Option<Duration>,
}

impl Default for Timeouts {
    /// 10 s to connect, 60 s to the first text, 60 s without bytes, no
    /// total limit.
    fn default() -> Self {
        Timeouts {
            connect: Some(Duration::from_secs(10)),
            first_byte: Some(Duration::from_secs(60)),
            idle: Some(Duration::from_secs(60)),
            total: None,
        }
    }
}

/// How failures before the first answer text are retried: connection
/// failures, 429 and 5xx answers (at any step), with jittered exponential
/// backoff or the upstream's `Retry-After`. Nothing is retried once text
/// has been yielded, so text is never duplicated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all; 1 means no retry.
    pub max_attempts: u32,
    /// The delay before the first retry; each next one doubles, up to
    /// `max_delay`, and is jittered down to half of that at random.
    pub base_delay: Duration,
    /// The longest delay between attempts.
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; a longer one fails at once.
    pub max_retry_after: Duration,
}

impl RetryPolicy {
    /// No retries at all.
    pub const NONE: RetryPolicy = RetryPolicy {
        max_attempts: 1,
        base_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
        max_retry_after: Duration::ZERO,
    };
}

impl Default for RetryPolicy {
    /// 3 attempts, 250 ms doubling to at most 8 s, `Retry-After` up to 30 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

/// Per-request overrides of the provider's own settings, as gpt4free's
/// `proxy` argument; `None` keeps what the provider was built with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestOptions {
    /// A proxy for this request: `http://`, `https://`, `socks5://` or
    /// `socks5h://`, with optional `user:password@`.
    pub proxy: Option<String>,
    /// Time limits for this request.
    pub timeouts: Option<Timeouts>,
    /// Retries for this request.
    pub retry: Option<RetryPolicy>,
    /// Whether the conversation is kept on the upstream (by default it is
    /// not: the seed's temporary chat).
    pub conversation: ConversationMode,
    /// How many times an answer the upstream cut at its length limit is
    /// continued (`action: "continue"`), stitched into one answer; 0 (the
    /// default) never. Only a kept conversation can be continued.
    pub auto_continue: u32,
}

/// One chat request.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// The model asked for (e.g. `gpt-3.5-turbo`); empty for the
    /// provider's default.
    pub model: String,
    /// The conversation so far, the last message being the one to answer.
    pub messages: Vec<Message>,
    /// Overrides of the provider's settings for this request.
    pub options: RequestOptions,
}

impl ChatRequest {
    /// A request with the provider's own settings.
    pub fn new(model: impl Into<String>, messages: Vec<Message>) -> Self {
        ChatRequest {
            model: model.into(),
            messages,
            options: RequestOptions::default(),
        }
    }

    /// Sends this request through `proxy` instead of the provider's.
    pub fn proxy(mut self, proxy: impl Into<String>) -> Self {
        self.options.proxy = Some(proxy.into());
        self
    }

    /// Sets this request's time limits.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.options.timeouts = Some(timeouts);
        self
    }

    /// Sets this request's retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.options.retry = Some(retry);
        self
    }

    /// Keeps the conversation on the upstream: a new one, its first prompt
    /// the whole history; the answer reports its handle.
    pub fn kept(mut self) -> Self {
        self.options.conversation = ConversationMode::Kept;
        self
    }

    /// Continues `conversation` with the last message, when the messages
    /// before it are the history it has seen; else starts a new kept one.
    pub fn continuing(mut self, conversation: Conversation) -> Self {
        self.options.conversation = ConversationMode::Continue(Box::new(conversation));
        self
    }

    /// Asks `conversation` for another answer to its last user message;
    /// the messages must be its history through that message.
    pub fn regenerating(mut self, conversation: Conversation) -> Self {
        self.options.conversation = ConversationMode::Regenerate(Box::new(conversation));
        self
    }

    /// Continues an answer cut at the upstream's length limit up to
    /// `times` times (see [`RequestOptions::auto_continue`]).
    pub fn auto_continue(mut self, times: u32) -> Self {
        self.options.auto_continue = times;
        self
    }
}
