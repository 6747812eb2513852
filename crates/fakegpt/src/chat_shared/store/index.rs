//! [`ConversationIndex`]: kept conversations found again by the history
//! they have seen — what lets a server whose clients send the whole
//! history every time continue the conversation on the upstream instead.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::redis::RedisIndex;
use super::Store;
use crate::error::Error;
use crate::handle::{Conversation, HistoryHash};

/// Kept conversations by the hash of the history each has seen
/// ([`Conversation::history`]), each for a time to live, at most a bounded
/// number. In memory it is this process's own; in Redis it is shared by
/// every instance on that store, so a conversation started through one
/// continues through another. A file store keeps it in memory.
///
/// The entries hold session passwords: a Redis holding them must be
/// private, as for the session itself.
#[derive(Debug)]
pub struct ConversationIndex {
    backend: Backend,
    ttl: Duration,
}

#[derive(Debug)]
enum Backend {
    Memory(Mutex<Memory>),
    Redis(RedisIndex),
}

impl Store {
    /// An index of kept conversations for the upstream at `base_url`, each
    /// entry kept for `ttl` (at least a second), at most `max` of them
    /// (at least one): the oldest go first.
    pub fn conversation_index(
        &self,
        base_url: &str,
        ttl: Duration,
        max: usize,
    ) -> Result<ConversationIndex, Error> {
        let ttl = ttl.max(Duration::from_secs(1));
        let max = max.max(1);
        let backend = match self {
            Store::Redis { url, prefix } => {
                Backend::Redis(RedisIndex::new(url, prefix, base_url, max)?)
            }
            Store::Memory | Store::File { .. } => Backend::Memory(Mutex::new(Memory::new(max))),
        };
        Ok(ConversationIndex { backend, ttl })
    }
}

impl ConversationIndex {
    /// The conversation that has seen the history hashing to `history`,
    /// if one is kept and has not expired.
    pub async fn find(&self, history: HistoryHash) -> Result<Option<Conversation>, Error> {
        match &self.backend {
            Backend::Memory(memory) => Ok(lock(memory).find(history)),
            Backend::Redis(redis) => redis.find(history).await,
        }
    }

    /// Keeps `conversation` under the history it has seen, for the time to
    /// live, making room by dropping the oldest entries.
    pub async fn keep(&self, conversation: &Conversation) -> Result<(), Error> {
        match &self.backend {
            Backend::Memory(memory) => {
                lock(memory).keep(conversation.clone(), self.ttl);
                Ok(())
            }
            Backend::Redis(redis) => redis.keep(conversation, self.ttl).await,
        }
    }

    /// How many entries are kept now (expired ones may still count in
    /// Redis until the next write drops them).
    pub async fn len(&self) -> Result<usize, Error> {
        match &self.backend {
            Backend::Memory(memory) => Ok(lock(memory).len()),
            Backend::Redis(redis) => redis.len().await,
        }
    }

    /// Whether no entry is kept.
    pub async fn is_empty(&self) -> Result<bool, Error> {
        Ok(self.len().await? == 0)
    }
}

fn lock(memory: &Mutex<Memory>) -> std::sync::MutexGuard<'_, Memory> {
    memory.lock().unwrap_or_else(|p| p.into_inner())
}

/// The index in this process: entries with their deadlines, and the order
/// they were kept in (a re-kept entry counts from its last time).
#[derive(Debug)]
struct Memory {
    entries: HashMap<HistoryHash, (Conversation, Instant, u64)>,
    order: VecDeque<(HistoryHash, u64)>,
    max: usize,
    next: u64,
}

impl Memory {
    fn new(max: usize) -> Memory {
        Memory {
            entries: HashMap::new(),
            order: VecDeque::new(),
            max,
            next: 0,
        }
    }

    fn find(&mut self, history: HistoryHash) -> Option<Conversation> {
        let (conversation, until, _) = self.entries.get(&history)?;
        if *until > Instant::now() {
            return Some(conversation.clone());
        }
        self.entries.remove(&history);
        None
    }

    fn keep(&mut self, conversation: Conversation, ttl: Duration) {
        let key = conversation.history();
        let stamp = self.next;
        self.next += 1;
        self.entries
            .insert(key, (conversation, Instant::now() + ttl, stamp));
        self.order.push_back((key, stamp));
        let now = Instant::now();
        while let Some((oldest, stamp)) = self.order.front().copied() {
            let live = self.entries.get(&oldest).filter(|e| e.2 == stamp);
            match live {
                // Superseded by a later keep of the same history.
                None => {}
                Some(entry) if entry.1 > now && self.entries.len() <= self.max => break,
                Some(_) => {
                    self.entries.remove(&oldest);
                }
            }
            self.order.pop_front();
        }
        // Entries kept again leave stale places behind the oldest live one.
        if self.order.len() > 2 * self.max + 16 {
            let entries = &self.entries;
            self.order
                .retain(|(key, stamp)| entries.get(key).is_some_and(|e| e.2 == *stamp));
        }
    }

    fn len(&self) -> usize {
        let now = Instant::now();
        self.entries.values().filter(|e| e.1 > now).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    fn handle(text: &str) -> Conversation {
        Conversation {
            upstream: "http://127.0.0.1:1".into(),
            id: format!("conversation {text}"),
            message: "m".into(),
            question: "q".into(),
            question_parent: "p".into(),
            account: "a".into(),
            password: "secret".into(),
            history: HistoryHash::of(&[Message::user(text)]),
            asked: HistoryHash::empty(),
            turns: 1,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn entries_expire_and_the_oldest_make_room() {
        let index = Store::Memory
            .conversation_index("http://127.0.0.1:1", Duration::from_secs(60), 3)
            .unwrap();
        for name in ["a", "b", "c"] {
            index.keep(&handle(name)).await.unwrap();
        }
        let find = |name: &str| index.find(handle(name).history());
        assert_eq!(find("a").await.unwrap().unwrap().id(), "conversation a");
        // Keeping "a" again makes "b" the oldest.
        index.keep(&handle("a")).await.unwrap();
        index.keep(&handle("d")).await.unwrap();
        assert!(find("b").await.unwrap().is_none());
        for name in ["a", "c", "d"] {
            assert!(find(name).await.unwrap().is_some(), "{name}");
        }
        assert_eq!(index.len().await.unwrap(), 3);
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(find("a").await.unwrap().is_none());
        assert!(index.is_empty().await.unwrap());
        // Many keeps stay bounded.
        for i in 0..100 {
            index.keep(&handle(&i.to_string())).await.unwrap();
        }
        assert_eq!(index.len().await.unwrap(), 3);
        // Keeping one history again and again leaves no trail behind.
        for _ in 0..1000 {
            index.keep(&handle("again")).await.unwrap();
        }
        let Backend::Memory(memory) = &index.backend else {
            unreachable!("a memory store")
        };
        assert!(lock(memory).order.len() <= 2 * 3 + 16 + 1);
        assert!(find("again").await.unwrap().is_some());
    }
}
