//! Where the FakeGpt provider keeps what outlives one request — and, with a
//! persistent backend, one process: the upstream session (token, cookies,
//! account), the session password of each account it logged in with, and
//! the accounts' cooldowns.
//!
//! [`Store`] is the public choice of backend; [`Backend`] is what the
//! session uses. In memory nothing is read or written: the session's own
//! fields are the state, as they always were. A file is read when the
//! process has no token, and written under a lock file that is also the
//! login lock, so that processes sharing it make one login between them.

mod file;
mod index;
pub mod record;
mod redis;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

pub use file::FileStore;
pub use index::ConversationIndex;
pub use redis::{Fleet, Lease};

use crate::error::{Error, ErrorKind};

/// Where the FakeGpt provider keeps its upstream session.
///
/// Parsed from `memory`, `file` (the state directory), `file:DIR`, or a
/// `redis://` / `rediss://` URL (user and password in it).
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Store {
    /// In this process only, forgotten when it ends (the default).
    #[default]
    Memory,
    /// In a file per upstream under `dir` (mode 0600, the directory 0700),
    /// shared by every process that uses the same directory: a session
    /// made by one is reused by the next, and processes started at once
    /// make one login between them.
    File {
        /// The directory.
        dir: PathBuf,
    },
    /// In Redis, shared by a fleet of gateways: one login for all of them,
    /// a rejected token dropped once for all, cooldowns that hold on every
    /// instance. The values hold secrets: the Redis must be private.
    Redis {
        /// `redis://[USER:PASSWORD@]HOST:PORT[/DB]`, or `rediss://` for TLS.
        url: String,
        /// Put before every key (default `fakegpt:`).
        prefix: String,
    },
}

/// The default prefix of the Redis store's keys.
pub const DEFAULT_REDIS_PREFIX: &str = "fakegpt:";

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Store({self})")
    }
}

impl Store {
    /// The file store in the user's state directory:
    /// `$XDG_STATE_HOME/fakegpt`, or `~/.local/state/fakegpt`.
    pub fn state_dir() -> Result<Store, Error> {
        Ok(Store::File {
            dir: default_dir()?,
        })
    }

    /// What the store keeps for the upstream at `base_url`, without any
    /// secret; `None` when it keeps no session.
    pub async fn summary(&self, base_url: &str) -> Result<Option<SessionSummary>, Error> {
        let (record, location) = match self {
            Store::Memory => return Ok(None),
            Store::File { dir } => {
                let store = FileStore::new(dir.clone(), base_url);
                (store.read().await?.0, store.path().display().to_string())
            }
            Store::Redis { url, prefix } => {
                let store = redis::RedisStore::new(url, prefix, base_url)?;
                (store.read().await?, redacted(url))
            }
        };
        Ok(record.session.as_ref().map(|session| SessionSummary {
            upstream: base_url.trim_end_matches('/').to_owned(),
            account: session.account.clone(),
            logged_in_at: record::from_unix_ms(session.logged_in_at_ms),
            accounts_with_password: record.passwords.len(),
            location,
        }))
    }

    /// The limits that instances sharing this store keep together (a
    /// concurrency cap, request rates per client): only a Redis store can
    /// keep them; `None` for the others.
    pub fn fleet(&self) -> Result<Option<Fleet>, Error> {
        match self {
            Store::Redis { url, prefix } => Ok(Some(Fleet::open(url, prefix)?)),
            Store::Memory | Store::File { .. } => Ok(None),
        }
    }

    /// Forgets everything kept for the upstream at `base_url` (session,
    /// passwords, cooldowns); says whether there was anything.
    pub async fn clear(&self, base_url: &str) -> Result<bool, Error> {
        match self {
            Store::Memory => Ok(false),
            Store::File { dir } => FileStore::new(dir.clone(), base_url).remove().await,
            Store::Redis { url, prefix } => {
                redis::RedisStore::new(url, prefix, base_url)?.clear().await
            }
        }
    }
}

impl FromStr for Store {
    type Err = Error;

    fn from_str(spec: &str) -> Result<Store, Error> {
        match spec.trim() {
            "memory" => Ok(Store::Memory),
            "file" => Store::state_dir(),
            url if url.starts_with("redis://") || url.starts_with("rediss://") => {
                Ok(Store::Redis {
                    url: url.to_owned(),
                    prefix: DEFAULT_REDIS_PREFIX.to_owned(),
                })
            }
            other => match other.strip_prefix("file:") {
                Some(dir) if !dir.is_empty() => Ok(Store::File { dir: dir.into() }),
                _ => Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "unknown store {:?}: expected memory, file, file:DIR or a redis:// URL",
                        redacted(other)
                    ),
                )),
            },
        }
    }
}

impl fmt::Display for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Store::Memory => f.write_str("memory"),
            Store::File { dir } => write!(f, "file:{}", dir.display()),
            Store::Redis { url, .. } => f.write_str(&redacted(url)),
        }
    }
}

/// `url` without its password, for messages and logs.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_owned(),
        Err(_) => url.split('@').next_back().unwrap_or_default().to_owned(),
    }
}

/// What a store keeps for one upstream, without its secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionSummary {
    /// The upstream's base URL.
    pub upstream: String,
    /// The shared account the session is on (its `token_key`).
    pub account: String,
    /// When the login was made.
    pub logged_in_at: SystemTime,
    /// How many accounts have a session password kept.
    pub accounts_with_password: usize,
    /// Where it is kept (a file's path, or the Redis URL without its
    /// password).
    pub location: String,
}

impl SessionSummary {
    /// How long ago the login was made.
    pub fn age(&self) -> Duration {
        SystemTime::now()
            .duration_since(self.logged_in_at)
            .unwrap_or_default()
    }
}

/// `$XDG_STATE_HOME/fakegpt`, or `~/.local/state/fakegpt`.
fn default_dir() -> Result<PathBuf, Error> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::home_dir().map(|home| home.join(".local/state")))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                "no state directory: neither XDG_STATE_HOME nor HOME is set",
            )
        })?;
    Ok(state.join("fakegpt"))
}

/// The backend a session uses.
#[derive(Debug, Default)]
pub enum Backend {
    /// Nothing outside the process.
    #[default]
    Memory,
    /// A file shared with other processes.
    File(FileStore),
    /// Redis, shared with other instances.
    Redis(redis::RedisStore),
}

/// A store's login lock, released when dropped.
#[derive(Debug)]
#[allow(dead_code, reason = "held for their locks")]
pub enum Guard {
    /// The file store's lock file.
    File(file::FileLock),
    /// The Redis store's lock key.
    Redis(redis::RedisLock),
}

impl Backend {
    /// The backend for `store` and the upstream at `base_url`.
    pub fn new(store: &Store, base_url: &str) -> Result<Backend, Error> {
        Ok(match store {
            Store::Memory => Backend::Memory,
            Store::File { dir } => Backend::File(FileStore::new(dir.clone(), base_url)),
            Store::Redis { url, prefix } => {
                Backend::Redis(redis::RedisStore::new(url, prefix, base_url)?)
            }
        })
    }

    /// Whether state is kept outside the process (else the session's own
    /// fields are all there is, and nothing below is called).
    pub fn is_shared(&self) -> bool {
        !matches!(self, Backend::Memory)
    }

    /// The record kept (an empty one when nothing is).
    pub async fn read(&self, upstream: &str) -> Result<record::Record, Error> {
        match self {
            Backend::Memory => Ok(record::Record::empty(upstream)),
            Backend::File(file) => Ok(file.read().await?.0),
            Backend::Redis(redis) => redis.read().await,
        }
    }

    /// Asks the store whether it answers.
    pub async fn ping(&self) -> Result<(), Error> {
        match self {
            Backend::Memory => Ok(()),
            Backend::File(file) => file.read().await.map(|_| ()),
            Backend::Redis(redis) => redis.ping().await,
        }
    }

    /// Takes the login lock, waiting at most `wait` for its holder.
    pub async fn lock(&self, wait: Duration) -> Result<Option<Guard>, Error> {
        match self {
            Backend::Memory => Ok(None),
            Backend::File(file) => Ok(Some(Guard::File(file.lock(wait).await?))),
            Backend::Redis(redis) => Ok(Some(Guard::Redis(redis.lock(wait).await?))),
        }
    }

    /// Writes the record (the caller holds the lock): its session if it has
    /// one, its passwords and its cooldowns.
    pub async fn write(&self, record: &record::Record) -> Result<(), Error> {
        match self {
            Backend::Memory => Ok(()),
            Backend::File(file) => file.write(record).await,
            Backend::Redis(redis) => redis.write(record).await,
        }
    }

    /// Forgets the kept session if its token is still `rejected`, so that a
    /// token one process saw refused is dropped for all, once.
    pub async fn drop_session(&self, rejected: &str, wait: Duration) -> Result<(), Error> {
        match self {
            Backend::Memory => Ok(()),
            Backend::File(file) => {
                let _lock = file.lock(wait).await?;
                let (mut record, found) = file.read().await?;
                let held = record
                    .session
                    .as_ref()
                    .is_some_and(|s| s.access_token == rejected);
                if found && held {
                    record.session = None;
                    file.write(&record).await?;
                }
                Ok(())
            }
            Backend::Redis(redis) => redis.drop_session(rejected).await,
        }
    }
}
