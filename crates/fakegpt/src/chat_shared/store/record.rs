//! What a persistent store keeps for one upstream, as it is written.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};

/// The format this version writes and reads; a record in another format
/// (a newer or older fakegpt, or some other program's file) is not read.
pub const FORMAT: &str = "fakegpt-store/1";

/// Everything kept for one upstream.
#[derive(Clone, Serialize, Deserialize)]
pub struct Record {
    /// [`FORMAT`].
    pub format: String,
    /// The upstream's base URL, so that a file is never used for another.
    pub upstream: String,
    /// The current session, if one is kept.
    #[serde(default)]
    pub session: Option<SavedSession>,
    /// The session password used with each account (`token_key`), reused
    /// at the next login on it so that its conversations stay reachable.
    #[serde(default)]
    pub passwords: BTreeMap<String, String>,
    /// Accounts cooling down, until these Unix times (milliseconds).
    #[serde(default)]
    pub cooldowns: BTreeMap<String, u64>,
    /// After failed logins: no new one before its deadline, on any process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
    /// Kept as found, for the conversations that a later version files here.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub conversations: BTreeMap<String, serde_json::Value>,
}

/// One logged-in session.
#[derive(Clone, Serialize, Deserialize)]
pub struct SavedSession {
    /// The account (`token_key`).
    pub account: String,
    /// The access token.
    pub access_token: String,
    /// The cookies the login set.
    pub cookies: BTreeMap<String, String>,
    /// When the login was made (Unix milliseconds).
    pub logged_in_at_ms: u64,
    /// Grows with each login: a session never replaces one with a higher
    /// version, so that a late write cannot undo a newer login.
    #[serde(default)]
    pub version: u64,
}

/// The login backoff shared by the processes of one store: after failed
/// logins, none before `until_ms`, and the failure to report meanwhile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backoff {
    /// No login before this Unix time (milliseconds).
    pub until_ms: u64,
    /// Logins that failed in a row, on any process.
    pub failures: u32,
    /// The last failure's kind (`ErrorKind`'s name).
    pub kind: String,
    /// The last failure's message (errors never hold secrets).
    pub message: String,
}

impl Backoff {
    /// The backoff after `failures` failed logins, the last one `error`,
    /// holding for `wait`.
    pub fn after(error: &Error, failures: u32, wait: Duration) -> Backoff {
        Backoff {
            until_ms: unix_ms(SystemTime::now())
                .saturating_add(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX)),
            failures,
            kind: format!("{:?}", error.kind()),
            message: error.message().to_owned(),
        }
    }

    /// How long it still holds (zero once over).
    pub fn left(&self) -> Duration {
        Duration::from_millis(self.until_ms.saturating_sub(unix_ms(SystemTime::now())))
    }

    /// The error to answer while it holds: the last failure, said to be
    /// another process's, with the time left.
    pub fn error(&self) -> Error {
        let kind = ErrorKind::ALL
            .iter()
            .copied()
            .find(|kind| format!("{kind:?}") == self.kind)
            .unwrap_or(ErrorKind::Rejected);
        let left = self.left();
        Error::new(
            kind,
            format!(
                "{} (a recent login failed; the next one is held back for {} s)",
                self.message,
                left.as_secs().max(1)
            ),
        )
        .with_retry_after(left)
    }
}

impl Record {
    /// An empty record for `upstream`.
    pub fn empty(upstream: &str) -> Record {
        Record {
            format: FORMAT.to_owned(),
            upstream: upstream.to_owned(),
            session: None,
            passwords: BTreeMap::new(),
            cooldowns: BTreeMap::new(),
            backoff: None,
            conversations: BTreeMap::new(),
        }
    }

    /// Adds `cooldowns` (Unix milliseconds), keeping the later deadline of
    /// each account, and drops the ones that have passed.
    pub fn merge_cooldowns(&mut self, cooldowns: &BTreeMap<String, u64>) {
        for (account, until) in cooldowns {
            let kept = self.cooldowns.entry(account.clone()).or_default();
            *kept = (*kept).max(*until);
        }
        let now = unix_ms(SystemTime::now());
        self.cooldowns.retain(|_, until| *until > now);
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("upstream", &self.upstream)
            .field("session", &self.session)
            .field("passwords", &self.passwords.len())
            .field("cooldowns", &self.cooldowns)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for SavedSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SavedSession")
            .field("account", &self.account)
            .field("logged_in_at_ms", &self.logged_in_at_ms)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The time `ms` milliseconds after the Unix epoch.
pub fn from_unix_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}
