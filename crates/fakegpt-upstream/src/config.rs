//! What the emulator does: its accounts, its replies, how it streams them,
//! and the faults it can be asked to inject.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// One shared account listed by `/api/loads`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The id clients log in with (`token_key`).
    pub token_id: String,
    /// How busy it claims to be.
    pub count: u64,
}

impl Account {
    /// An account with this id and load.
    pub fn new(token_id: impl Into<String>, count: u64) -> Self {
        Account {
            token_id: token_id.into(),
            count,
        }
    }
}

/// The emulator's behaviour; can be changed while it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The accounts `/api/loads` lists.
    pub accounts: Vec<Account>,
    /// How many characters each event adds to the answer (at least 1).
    pub chars_per_event: usize,
    /// The pause before each answer event. Under a millisecond, events
    /// keep to a schedule (event `n` is due `n + 1` pauses after the first
    /// is), each reached to the microsecond rather than the millisecond
    /// timers have.
    pub event_delay: Duration,
    /// The shortest answer, in characters: the reply is padded with more
    /// sentences until it is at least this long.
    pub reply_chars: usize,
    /// End lines with `\r\n` instead of `\n`.
    pub crlf: bool,
    /// Cut the body into random small writes (1 to 7 bytes), splitting JSON
    /// values and UTF-8 characters between reads.
    pub split_writes: bool,
    /// Interleave SSE comments, other SSE fields and events that are not
    /// `message_type == "next"`.
    pub noise: bool,
    /// Answer a successful login with a `302` redirect to `/` (as the real
    /// service did) rather than `200`.
    pub login_redirect: bool,
    /// Access tokens expire after this many conversations (`401` after).
    pub token_expires_after: Option<u64>,
    /// The pause before answering a login, as a slow service would take
    /// (a client that dies meanwhile never finishes its login).
    pub login_delay: Duration,
    /// Seed for the random write sizes, so a run can be repeated.
    pub seed: u64,
    /// Compress answers (gzip, brotli or zstd, as the client accepts).
    /// Decided when the emulator starts.
    pub compress: bool,
    /// Make each event's new text its send time, `<t:MICROSECONDS>` since
    /// the Unix epoch, instead of the reply's next characters (as many
    /// events as the reply would take), so a client on the same machine can
    /// measure each chunk's delivery latency.
    pub stamp: bool,
    /// How answers are encoded: cumulative events, delta-encoded `v1`
    /// frames, or whichever the request asks for.
    pub dialect: Dialect,
    /// In the `v1` dialect, think before answering: a reasoning message
    /// ([`crate::reasoning_for`]), a commentary preamble and a tool call
    /// come before the answer, none of them answer text.
    pub reasoning: bool,
    /// Give every legacy event's `message.create_time` its send time, in
    /// seconds with microseconds, written before `content` as the real
    /// service does (off: the same fixed time in every event).
    pub fresh_times: bool,
    /// End the answer after this many characters, with
    /// `finish_details.type` `max_tokens` (as an answer cut at its token
    /// limit ends).
    pub finish_after: Option<usize>,
    /// What the replies say: prose, Markdown, or HTML and script payloads
    /// a client must show as text.
    pub replies: Replies,
}

/// What the emulator's replies are made of (each deterministic, and each
/// opening with the prompt quoted back).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Replies {
    /// Sentences full of text JSON must escape ([`crate::reply_for`]).
    #[default]
    Prose,
    /// A Markdown document: headings, emphasis, lists, a quote, a table,
    /// links and fenced code ([`crate::reply::markdown_reply`]).
    Markdown,
    /// HTML and JavaScript payloads (script tags, event handlers,
    /// `javascript:` links) that a page must show as text and never run
    /// ([`crate::reply::hostile_reply`]).
    Hostile,
}

impl Replies {
    /// Every kind, in the order help text lists them.
    pub const ALL: [Replies; 3] = [Replies::Prose, Replies::Markdown, Replies::Hostile];

    /// The kind's name, as `fakegpt upstream --replies` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Replies::Prose => "prose",
            Replies::Markdown => "markdown",
            Replies::Hostile => "hostile",
        }
    }

    /// The reply to `prompt`, padded with prose to at least `min_chars`.
    pub fn reply(self, prompt: &str, min_chars: usize) -> String {
        match self {
            Replies::Prose => crate::reply_for(prompt, min_chars),
            Replies::Markdown => {
                crate::reply::padded(crate::reply::markdown_reply(prompt), min_chars)
            }
            Replies::Hostile => {
                crate::reply::padded(crate::reply::hostile_reply(prompt), min_chars)
            }
        }
    }
}

/// Parses a kind's name: `prose`, `markdown` or `hostile`.
impl FromStr for Replies {
    type Err = String;

    fn from_str(name: &str) -> Result<Replies, String> {
        Replies::ALL
            .into_iter()
            .find(|r| r.name() == name)
            .ok_or_else(|| {
                format!("unknown kind of reply {name:?}; known: prose, markdown, hostile")
            })
    }
}

impl fmt::Display for Replies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the conversation's answer is encoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// Cumulative events, each with the whole answer so far (what gpt4free's
    /// client reads), whatever the request asks for.
    #[default]
    Legacy,
    /// Delta-encoded frames (`event: delta_encoding` / `data: "v1"`, then
    /// JSON patches), whatever the request asks for.
    V1,
    /// `v1` when the request's `supported_encodings` lists `"v1"`, legacy
    /// otherwise.
    Auto,
}

impl Dialect {
    /// Every dialect, in the order help text lists them.
    pub const ALL: [Dialect; 3] = [Dialect::Legacy, Dialect::V1, Dialect::Auto];

    /// The dialect's name, as `fakegpt upstream --dialect` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Legacy => "legacy",
            Dialect::V1 => "v1",
            Dialect::Auto => "auto",
        }
    }

    /// Whether a request that lists `encodings` as its
    /// `supported_encodings` gets the delta-encoded answer.
    pub fn speaks_v1(self, encodings: &[String]) -> bool {
        match self {
            Dialect::Legacy => false,
            Dialect::V1 => true,
            Dialect::Auto => encodings.iter().any(|e| e == "v1"),
        }
    }
}

/// Parses a dialect's name: `legacy`, `v1` or `auto`.
impl FromStr for Dialect {
    type Err = String;

    fn from_str(name: &str) -> Result<Dialect, String> {
        Dialect::ALL
            .into_iter()
            .find(|d| d.name() == name)
            .ok_or_else(|| format!("unknown dialect {name:?}; known: legacy, v1, auto"))
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses a pause in milliseconds, fractions allowed (`0.2`): a finite
/// number, zero or more, for `--delay-ms`.
pub fn parse_millis(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(ms) if ms.is_finite() && ms >= 0.0 && Duration::try_from_secs_f64(ms / 1e3).is_ok() => {
            Ok(ms)
        }
        _ => Err(format!(
            "{text:?} is not a pause: expected milliseconds, 0 or more (fractions allowed, e.g. 0.2)"
        )),
    }
}

/// A pause of `ms` milliseconds (fractions kept to the nanosecond); zero
/// for a negative or not-a-number value, the longest pause for a huge one.
pub fn millis(ms: f64) -> Duration {
    if ms.is_nan() || ms <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(ms / 1e3).unwrap_or(Duration::MAX)
}

impl Default for Config {
    fn default() -> Self {
        Config {
            accounts: vec![
                Account::new("shared-account-1", 2),
                Account::new("shared-account-2", 0),
                Account::new("shared-account-3", 0),
                Account::new("shared-account-4", 5),
            ],
            chars_per_event: 4,
            event_delay: Duration::ZERO,
            reply_chars: 0,
            crlf: false,
            split_writes: false,
            noise: false,
            login_redirect: true,
            token_expires_after: None,
            login_delay: Duration::ZERO,
            seed: 1,
            compress: false,
            stamp: false,
            dialect: Dialect::Legacy,
            reasoning: false,
            fresh_times: false,
            finish_after: None,
            replies: Replies::Prose,
        }
    }
}
