//! What the emulator does: its accounts, its replies, how it streams them,
//! and the faults it can be asked to inject.

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
    /// The pause before each event.
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
        }
    }
}
