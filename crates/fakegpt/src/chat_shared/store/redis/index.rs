//! The conversation index in Redis, shared by every instance on the store.
//!
//! Keys, beside the session's (`H` the upstream's hash):
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `PREFIX v1:{H}:conversation:HISTORY` | string | a kept conversation's handle (JSON, with its session password), expiring |
//! | `PREFIX v1:{H}:conversations` | sorted set | each entry's `HISTORY`, scored by when it expires (the server's clock, µs) |

use std::time::Duration;

use super::link::Link;
use crate::chat_shared::store::file::upstream_hash;
use crate::error::{Error, ErrorKind};
use crate::handle::{Conversation, HistoryHash};

/// Keeps an entry, drops the expired ones from the set, and the oldest
/// while there are more than the bound (ARGV: the entry's key, its JSON,
/// its member name, its time to live in ms, the bound, the entries' key
/// prefix). Scores are the server's clock in microseconds, so that entries
/// kept in one millisecond still leave in the order they came.
const KEEP: &str = r"
local time = redis.call('time')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local expires = now + tonumber(ARGV[4]) * 1000
redis.call('set', ARGV[1], ARGV[2], 'PX', ARGV[4])
redis.call('zadd', KEYS[1], expires, ARGV[3])
redis.call('zremrangebyscore', KEYS[1], '-inf', now)
local extra = redis.call('zcard', KEYS[1]) - tonumber(ARGV[5])
if extra > 0 then
  local oldest = redis.call('zpopmin', KEYS[1], extra)
  for i = 1, #oldest, 2 do
    redis.call('del', ARGV[6] .. oldest[i])
  end
end
return 1";

/// Counts the entries that have not expired.
const COUNT: &str = r"
local time = redis.call('time')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
return redis.call('zcount', KEYS[1], '(' .. now, '+inf')";

/// One upstream's conversation index in Redis.
#[derive(Debug)]
pub struct RedisIndex {
    link: Link,
    /// The entries' keys, without the history.
    entry: String,
    set: String,
    max: usize,
}

impl RedisIndex {
    /// The index at `url` under `prefix` for the upstream at `base_url`,
    /// at most `max` entries.
    pub fn new(url: &str, prefix: &str, base_url: &str, max: usize) -> Result<RedisIndex, Error> {
        let tag = upstream_hash(base_url.trim_end_matches('/'));
        let key = |name: &str| format!("{prefix}v1:{{{tag:016x}}}:{name}");
        Ok(RedisIndex {
            link: Link::open(url, "conversation index")?,
            entry: key("conversation:"),
            set: key("conversations"),
            max,
        })
    }

    pub async fn find(&self, history: HistoryHash) -> Result<Option<Conversation>, Error> {
        let mut connection = self.link.connection();
        let key = format!("{}{}", self.entry, history.to_hex());
        let json: Option<String> = self
            .link
            .run(redis::cmd("GET").arg(&key).query_async(&mut connection))
            .await?;
        // An entry that does not read (another version's) is no entry.
        Ok(json.and_then(|json| serde_json::from_str::<Conversation>(&json).ok()))
    }

    pub async fn keep(&self, conversation: &Conversation, ttl: Duration) -> Result<(), Error> {
        let json = serde_json::to_string(conversation).map_err(|e| {
            Error::new(
                ErrorKind::Protocol,
                format!("could not encode a conversation: {e}"),
            )
        })?;
        let member = conversation.history().to_hex();
        let mut connection = self.link.connection();
        let script = redis::Script::new(KEEP);
        let mut invocation = script.key(&self.set);
        invocation
            .arg(format!("{}{member}", self.entry))
            .arg(json)
            .arg(&member)
            .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))
            .arg(self.max)
            .arg(&self.entry);
        self.link
            .run(invocation.invoke_async::<i64>(&mut connection))
            .await
            .map(|_| ())
    }

    pub async fn len(&self) -> Result<usize, Error> {
        let mut connection = self.link.connection();
        let script = redis::Script::new(COUNT);
        self.link
            .run(script.key(&self.set).invoke_async(&mut connection))
            .await
    }
}
