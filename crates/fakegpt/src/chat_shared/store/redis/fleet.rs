//! Limits that a fleet of gateways sharing one Redis keeps together: a cap
//! on the requests in flight across every instance (leases that expire, so
//! a crashed instance's slots come back) and request rates per client key
//! (a sliding minute of Redis server time, so that the instances' clocks
//! do not matter).
//!
//! Keys (`PREFIX v1:{limits}:…`, one slot on Redis Cluster):
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `PREFIX v1:{limits}:leases` | sorted set | lease id → expiry (server ms) |
//! | `PREFIX v1:{limits}:rate:ID` | sorted set | one entry per request of client `ID` in the last minute |

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::link::{bounded, Link};
use crate::error::Error;

/// How long a lease lasts unless renewed: an instance that dies frees its
/// slots within this.
const LEASE_TTL: Duration = Duration::from_secs(15);

/// The window of the request rates.
const RATE_WINDOW: Duration = Duration::from_secs(60);

/// Drops expired leases, then adds one if fewer than the limit are held
/// (ARGV: limit, lease id, time to live in ms).
const LEASE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
  return 1
end
return 0";

/// Pushes a held lease's expiry further (ARGV: lease id, time to live).
const RENEW: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
  return 1
end
return 0";

/// Counts one request of a client unless it made the limit's worth in the
/// last window; answers 0 when counted, else the ms until a slot frees
/// (ARGV: limit, window in ms, a unique entry).
const COUNT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)";

/// The limits a fleet sharing one Redis keeps together. Cheap to clone.
///
/// Every call is bounded (about a second) and fails with a typed error
/// when Redis does not answer: the caller decides what to allow then.
#[derive(Clone)]
pub struct Fleet {
    link: Arc<Link>,
    leases: String,
    rates: String,
}

impl fmt::Debug for Fleet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fleet")
            .field("leases", &self.leases)
            .finish_non_exhaustive()
    }
}

/// One slot of the fleet's concurrency cap, renewed while held and given
/// back when dropped.
#[derive(Debug)]
pub struct Lease {
    link: Arc<Link>,
    key: String,
    id: String,
    renewal: tokio::task::JoinHandle<()>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewal.abort();
        let (link, key, id) = (
            Arc::clone(&self.link),
            std::mem::take(&mut self.key),
            std::mem::take(&mut self.id),
        );
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let mut connection = link.connection();
                let _ = bounded(
                    redis::cmd("ZREM")
                        .arg(&key)
                        .arg(&id)
                        .query_async::<i64>(&mut connection),
                )
                .await;
            });
        }
    }
}

impl Fleet {
    /// The limits kept in the Redis at `url`, under `prefix`.
    pub(crate) fn open(url: &str, prefix: &str) -> Result<Fleet, Error> {
        Ok(Fleet {
            link: Arc::new(Link::open(url, "fleet limits")?),
            leases: format!("{prefix}v1:{{limits}}:leases"),
            rates: format!("{prefix}v1:{{limits}}:rate:"),
        })
    }

    /// Takes one of `limit` slots shared by the fleet; `None` when all are
    /// held.
    pub async fn lease(&self, limit: u32) -> Result<Option<Lease>, Error> {
        let id = format!("{:032x}", rand::random::<u128>());
        let ttl = millis(LEASE_TTL);
        let script = redis::Script::new(LEASE);
        let mut invocation = script.key(&self.leases);
        invocation.arg(limit).arg(&id).arg(ttl);
        let mut connection = self.link.connection();
        let taken: i64 = self
            .link
            .run(invocation.invoke_async(&mut connection))
            .await?;
        if taken == 0 {
            return Ok(None);
        }
        let renewal = tokio::spawn({
            let (link, key, id) = (Arc::clone(&self.link), self.leases.clone(), id.clone());
            async move {
                let script = redis::Script::new(RENEW);
                loop {
                    tokio::time::sleep(LEASE_TTL / 3).await;
                    let mut invocation = script.key(&key);
                    invocation.arg(&id).arg(ttl);
                    let mut connection = link.connection();
                    let _ = bounded(invocation.invoke_async::<i64>(&mut connection)).await;
                }
            }
        });
        Ok(Some(Lease {
            link: Arc::clone(&self.link),
            key: self.leases.clone(),
            id,
            renewal,
        }))
    }

    /// Counts one request of `client` (an identifier that is not a secret,
    /// such as a hash of its API key) against `per_minute`; `Some(wait)`
    /// when it already made that many in the last minute, with the time
    /// until the next one is allowed.
    pub async fn count(&self, client: &str, per_minute: u32) -> Result<Option<Duration>, Error> {
        let entry = format!("{:032x}", rand::random::<u128>());
        let script = redis::Script::new(COUNT);
        let key = format!("{}{client}", self.rates);
        let mut invocation = script.key(&key);
        invocation
            .arg(per_minute)
            .arg(millis(RATE_WINDOW))
            .arg(&entry);
        let mut connection = self.link.connection();
        let wait: u64 = self
            .link
            .run(invocation.invoke_async(&mut connection))
            .await?;
        Ok((wait > 0).then(|| Duration::from_millis(wait)))
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
