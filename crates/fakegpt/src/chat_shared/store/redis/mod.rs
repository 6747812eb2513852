//! The Redis store, for a fleet of gateways sharing one upstream session.
//!
//! Keys, for one upstream (`H` a hash of its URL, in braces so that every
//! key of one upstream lands in one Redis Cluster slot; `v1` the layout's
//! version, so that another layout never misreads these):
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `PREFIX v1:{H}:session` | string | the session (JSON: token, cookies, account, time) |
//! | `PREFIX v1:{H}:lock` | string | the login lock: its owner's random token, with an expiry |
//! | `PREFIX v1:{H}:passwords` | hash | account → session password |
//! | `PREFIX v1:{H}:cooldowns` | hash | account → cooling down until (Unix ms) |
//! | `PREFIX v1:{H}:backoff` | string | after failed logins: none before (JSON), expiring then |
//!
//! The conversation index has keys of its own ([`index`]).
//!
//! Every command is bounded by [`link::OP_TIMEOUT`]: a slow or absent Redis
//! fails the call quickly and the session carries on in the process.

mod fleet;
mod index;
mod link;

pub use fleet::{Fleet, Lease};
pub use index::RedisIndex;

use std::collections::BTreeMap;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::AsyncCommands as _;

use link::{bounded, Link};

use super::record::{Backoff, Record, SavedSession};
use crate::error::{Error, ErrorKind};

/// How long the login lock lasts if its holder dies. Its holder renews it
/// every third of that while it logs in, so a login may take longer.
const LOCK_TTL: Duration = Duration::from_secs(10);

/// Renews the lock only if this owner holds it.
const RENEW: &str = r"
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0";

/// Sets a JSON value unless the kept one's field is as high or higher, so
/// that an older write never replaces a newer one (ARGV: the JSON, the
/// field's name, its value in the new JSON, and a time to live in ms or 0
/// for none); says whether it was set. The session compares `version`, the
/// backoff `until_ms`.
const SET_IF_NEWER: &str = r"
local kept = redis.call('get', KEYS[1])
if kept then
  local ok, decoded = pcall(cjson.decode, kept)
  if ok and type(decoded) == 'table' and (tonumber(decoded[ARGV[2]]) or 0) >= tonumber(ARGV[3]) then
    return 0
  end
end
if tonumber(ARGV[4]) > 0 then
  redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[4])
else
  redis.call('set', KEYS[1], ARGV[1])
end
return 1";

/// Deletes the lock only if this owner holds it.
const UNLOCK: &str = r"
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0";

/// Deletes the session only if it still holds the rejected token.
const DROP_REJECTED: &str = r"
local kept = redis.call('get', KEYS[1])
if kept then
  local ok, decoded = pcall(cjson.decode, kept)
  if ok and type(decoded) == 'table' and decoded.access_token == ARGV[1] then
    return redis.call('del', KEYS[1])
  end
end
return 0";

/// Sets each account's cooldown to the later of the kept and the given
/// deadline (ARGV: account, deadline, account, deadline, …).
const EXTEND_COOLDOWNS: &str = r"
for i = 1, #ARGV, 2 do
  local kept = tonumber(redis.call('hget', KEYS[1], ARGV[i]) or '0')
  if tonumber(ARGV[i + 1]) > kept then
    redis.call('hset', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
return 1";

/// One upstream's keys in a Redis database.
pub struct RedisStore {
    link: Link,
    session: String,
    lock: String,
    passwords: String,
    cooldowns: String,
    backoff: String,
    upstream: String,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

/// The login lock in Redis, renewed while held and released (by its owner
/// only) when dropped.
#[derive(Debug)]
pub struct RedisLock {
    connection: ConnectionManager,
    key: String,
    owner: String,
    renewal: tokio::task::JoinHandle<()>,
}

/// Renews the lock every third of its time to live, until aborted.
fn renew(
    mut connection: ConnectionManager,
    key: String,
    owner: String,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let script = redis::Script::new(RENEW);
        let ttl = u64::try_from(LOCK_TTL.as_millis()).unwrap_or(u64::MAX);
        loop {
            tokio::time::sleep(LOCK_TTL / 3).await;
            let mut invocation = script.key(&key);
            invocation.arg(&owner).arg(ttl);
            if let Err(err) = bounded(invocation.invoke_async::<i64>(&mut connection)).await {
                tracing::debug!(%err, "the login lock could not be renewed");
            }
        }
    })
}

impl Drop for RedisLock {
    fn drop(&mut self) {
        self.renewal.abort();
        let (mut connection, key, owner) = (
            self.connection.clone(),
            std::mem::take(&mut self.key),
            std::mem::take(&mut self.owner),
        );
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let unlock = redis::Script::new(UNLOCK);
                let mut invocation = unlock.key(&key);
                invocation.arg(&owner);
                let _ = bounded(invocation.invoke_async::<i64>(&mut connection)).await;
            });
        }
    }
}

impl RedisStore {
    /// The store at `url` (`redis://` or `rediss://`, user and password in
    /// it), keys under `prefix`. Connects lazily, and again after a loss.
    pub fn new(url: &str, prefix: &str, base_url: &str) -> Result<RedisStore, Error> {
        let link = Link::open(url, "store")?;
        let upstream = base_url.trim_end_matches('/').to_owned();
        let tag = super::file::upstream_hash(&upstream);
        let key = |name: &str| format!("{prefix}v1:{{{tag:016x}}}:{name}");
        Ok(RedisStore {
            link,
            session: key("session"),
            lock: key("lock"),
            passwords: key("passwords"),
            cooldowns: key("cooldowns"),
            backoff: key("backoff"),
            upstream,
        })
    }

    /// Asks Redis whether it answers.
    pub async fn ping(&self) -> Result<(), Error> {
        let mut connection = self.link.connection();
        let _: String = self
            .link
            .run(redis::cmd("PING").query_async(&mut connection))
            .await?;
        Ok(())
    }

    /// Reads the session, passwords, cooldowns and login backoff.
    pub async fn read(&self) -> Result<Record, Error> {
        let mut connection = self.link.connection();
        let (session, passwords, cooldowns, backoff): Keys = self
            .link
            .run(
                redis::pipe()
                    .get(&self.session)
                    .hgetall(&self.passwords)
                    .hgetall(&self.cooldowns)
                    .get(&self.backoff)
                    .query_async(&mut connection),
            )
            .await?;
        let mut record = Record::empty(&self.upstream);
        record.session = session.and_then(|json| serde_json::from_str::<SavedSession>(&json).ok());
        record.passwords = passwords;
        record.merge_cooldowns(&cooldowns);
        record.backoff = backoff
            .and_then(|json| serde_json::from_str::<Backoff>(&json).ok())
            .filter(|backoff| !backoff.left().is_zero());
        Ok(record)
    }

    /// Writes the record: its session if it has one (unless the kept one
    /// is as new or newer), its passwords, cooldowns and backoff (each only
    /// ever extended); a session clears the backoff.
    pub async fn write(&self, record: &Record) -> Result<(), Error> {
        let mut connection = self.link.connection();
        if let Some(session) = &record.session {
            let script = redis::Script::new(SET_IF_NEWER);
            let mut invocation = script.key(&self.session);
            invocation
                .arg(encode(session)?)
                .arg("version")
                .arg(session.version)
                .arg(0);
            self.link
                .run(invocation.invoke_async::<i64>(&mut connection))
                .await?;
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        if !record.passwords.is_empty() {
            let pairs: Vec<(&String, &String)> = record.passwords.iter().collect();
            pipe.hset_multiple(&self.passwords, &pairs).ignore();
        }
        if record.session.is_some() && record.backoff.is_none() {
            pipe.del(&self.backoff).ignore();
        }
        self.link
            .run(pipe.query_async::<()>(&mut connection))
            .await?;
        if let Some(backoff) = &record.backoff {
            let left = u64::try_from(backoff.left().as_millis()).unwrap_or(u64::MAX);
            if left > 0 {
                let script = redis::Script::new(SET_IF_NEWER);
                let mut invocation = script.key(&self.backoff);
                invocation
                    .arg(encode(backoff)?)
                    .arg("until_ms")
                    .arg(backoff.until_ms)
                    .arg(left);
                self.link
                    .run(invocation.invoke_async::<i64>(&mut connection))
                    .await?;
            }
        }
        if !record.cooldowns.is_empty() {
            let script = redis::Script::new(EXTEND_COOLDOWNS);
            let mut invocation = script.key(&self.cooldowns);
            for (account, until) in &record.cooldowns {
                invocation.arg(account).arg(until);
            }
            self.link
                .run(invocation.invoke_async::<i64>(&mut connection))
                .await?;
        }
        Ok(())
    }

    /// Takes the login lock, waiting at most `wait` for its holder.
    pub async fn lock(&self, wait: Duration) -> Result<RedisLock, Error> {
        let owner = format!("{:032x}", rand::random::<u128>());
        let deadline = tokio::time::Instant::now() + wait;
        let ttl = u64::try_from(LOCK_TTL.as_millis()).unwrap_or(u64::MAX);
        loop {
            let mut connection = self.link.connection();
            let taken: Option<String> = self
                .link
                .run(
                    redis::cmd("SET")
                        .arg(&self.lock)
                        .arg(&owner)
                        .arg("NX")
                        .arg("PX")
                        .arg(ttl)
                        .query_async(&mut connection),
                )
                .await?;
            if taken.is_some() {
                return Ok(RedisLock {
                    renewal: renew(connection.clone(), self.lock.clone(), owner.clone()),
                    connection,
                    key: self.lock.clone(),
                    owner,
                });
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "another instance held the login lock for more than {} s",
                        wait.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_millis(
                50 + u64::from(rand::random::<u8>() % 50),
            ))
            .await;
        }
    }

    /// Forgets the session if it still holds `rejected`.
    pub async fn drop_session(&self, rejected: &str) -> Result<(), Error> {
        let mut connection = self.link.connection();
        let script = redis::Script::new(DROP_REJECTED);
        let mut invocation = script.key(&self.session);
        invocation.arg(rejected);
        self.link
            .run(invocation.invoke_async::<i64>(&mut connection))
            .await?;
        Ok(())
    }

    /// Forgets everything kept for this upstream; says whether there was a
    /// session.
    pub async fn clear(&self) -> Result<bool, Error> {
        let mut connection = self.link.connection();
        let removed: i64 = self.link.run(connection.del(&self.session)).await?;
        let () = self
            .link
            .run(connection.del(&[&self.passwords, &self.cooldowns, &self.backoff]))
            .await?;
        Ok(removed > 0)
    }
}

/// What [`RedisStore::read`] gets: the session, passwords, cooldowns and
/// backoff as Redis holds them.
type Keys = (
    Option<String>,
    BTreeMap<String, String>,
    BTreeMap<String, u64>,
    Option<String>,
);

/// A value as the JSON kept in Redis.
fn encode(value: &impl serde::Serialize) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| {
        Error::new(
            ErrorKind::Config,
            format!("could not encode for the store: {e}"),
        )
    })
}
