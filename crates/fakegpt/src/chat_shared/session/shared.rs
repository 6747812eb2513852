//! The session and a shared store (a file, Redis): taking up a session
//! another process saved, saving this one's, sharing cooldowns and the
//! login backoff, and converging again on one session after the store
//! failed or lost what it kept.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::{AccessToken, Session, Slot};
use crate::chat_shared::store::record::{unix_ms, Backoff, Record, SavedSession};
use crate::error::Error;

/// How often a process holding a token compares it with the store's, in
/// the background, so that instances converge on one session.
const SYNC_EVERY: Duration = Duration::from_secs(5);

/// How this process stands with its shared store.
#[derive(Debug)]
pub(super) struct SyncState {
    /// Whether the store's last call succeeded.
    up: AtomicBool,
    /// A call failed since the last sync: this process's session may be
    /// missing from the store, or differ from it.
    unsynced: AtomicBool,
    /// A background sync is running.
    running: AtomicBool,
    /// When the last sync ran.
    last: Mutex<Option<Instant>>,
}

impl Default for SyncState {
    fn default() -> Self {
        SyncState {
            up: AtomicBool::new(true),
            unsynced: AtomicBool::new(false),
            running: AtomicBool::new(false),
            last: Mutex::new(None),
        }
    }
}

/// Clears the running flag when a sync ends, however it ends.
struct Running<'a>(&'a AtomicBool);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Session {
    /// Whether the store answered its last call (always, in memory).
    pub fn store_up(&self) -> bool {
        self.sync.up.load(Ordering::Relaxed)
    }

    /// Asks the store whether it answers.
    pub async fn ping_store(&self) -> Result<(), Error> {
        let answer = self.backend.ping().await;
        self.note(answer)
    }

    /// Notes how a store call went (and that a sync is due after a failure).
    pub(super) fn note<T>(&self, outcome: Result<T, Error>) -> Result<T, Error> {
        let ok = outcome.is_ok();
        self.sync.up.store(ok, Ordering::Relaxed);
        if !ok {
            self.sync.unsynced.store(true, Ordering::Relaxed);
        }
        outcome
    }

    /// Reads the store's record, noting how it went.
    async fn read(&self) -> Result<Record, Error> {
        let record = self.backend.read(&self.upstream).await;
        self.note(record)
    }

    /// Takes up what a shared store holds: its passwords and cooldowns, and
    /// its session unless it is the one this process saw rejected. `None`
    /// when there is no session to take up and a login may run; an error
    /// when another process's failed logins hold the next one back.
    pub(super) async fn take_up(&self, slot: &mut Slot) -> Option<Result<AccessToken, Error>> {
        let record = self
            .read()
            .await
            .map_err(|err| tracing::debug!(%err, "the session store could not be read"))
            .ok()?;
        self.adopt_shared(slot, &record);
        if let Some(saved) = record.session {
            slot.version = slot.version.max(saved.version);
            let token = AccessToken::new(&saved.access_token)
                .owned_by(&saved.account, slot.passwords.get(&saved.account));
            if slot.rejected.as_ref() != Some(&token) {
                self.cookies.restore(saved.cookies.clone());
                slot.hold(&token);
                slot.saved = Some(saved);
                return Some(Ok(token));
            }
        }
        let backoff = record.backoff?;
        let error = backoff.error();
        slot.failures = slot.failures.max(backoff.failures);
        slot.next_login = Some(Instant::now() + backoff.left());
        slot.last_failure = Some(error.clone());
        Some(Err(error))
    }

    /// Takes the store's passwords (the process's own win) and cooldowns.
    fn adopt_shared(&self, slot: &mut Slot, record: &Record) {
        for (account, password) in &record.passwords {
            slot.passwords
                .entry(account.clone())
                .or_insert_with(|| password.clone());
        }
        self.adopt_cooldowns(&record.cooldowns);
    }

    /// Writes the passwords, the cooldowns and, after a login, the new
    /// session (unless the store has a newer one) or, after a failed
    /// login, the backoff, to a shared store (the caller holds its lock).
    pub(super) async fn save(&self, slot: &mut Slot, logged_in: bool) {
        if !self.backend.is_shared() {
            return;
        }
        let Ok(mut record) = self.read().await else {
            return;
        };
        if logged_in {
            if let Some(saved) = slot.saved.as_mut() {
                let kept = record.session.as_ref().map_or(0, |s| s.version);
                if kept >= saved.version {
                    saved.version = kept + 1;
                    slot.version = saved.version;
                }
                record.session = Some(saved.clone());
                record.backoff = None;
            }
        } else if let Some(failure) = &slot.last_failure {
            let left = slot
                .next_login
                .map(|at| at.saturating_duration_since(Instant::now()))
                .unwrap_or_default();
            let ours = Backoff::after(failure, slot.failures, left);
            if !left.is_zero()
                && record
                    .backoff
                    .as_ref()
                    .is_none_or(|b| b.until_ms < ours.until_ms)
            {
                record.backoff = Some(ours);
            }
        }
        for (account, password) in &slot.passwords {
            record.passwords.insert(account.clone(), password.clone());
        }
        record.merge_cooldowns(&self.cooldown_deadlines());
        let written = self.backend.write(&record).await;
        if let Err(err) = self.note(written) {
            tracing::debug!(%err, "the session could not be saved; it lasts as long as this process");
        }
    }

    /// Starts a background sync with the store when one is due: a store
    /// call failed since the last one, or [`SYNC_EVERY`] has passed.
    /// Requests never wait for it.
    pub(super) fn sync_if_due(self: &Arc<Self>) {
        if !self.backend.is_shared() {
            return;
        }
        let now = Instant::now();
        {
            let mut last = self.sync.last.lock().unwrap_or_else(|p| p.into_inner());
            let due = self.sync.unsynced.load(Ordering::Relaxed)
                || last.is_none_or(|at| now.duration_since(at) >= SYNC_EVERY);
            if !due || self.sync.running.swap(true, Ordering::AcqRel) {
                return;
            }
            *last = Some(now);
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.sync.running.store(false, Ordering::Release);
            return;
        };
        let session = Arc::clone(self);
        runtime.spawn(async move {
            let _running = Running(&session.sync.running);
            session.sync().await;
        });
    }

    /// Compares the session held with the store's: a newer (or equally new)
    /// one there is taken up; after a store failure, this one is written
    /// where the store has none or an older one.
    async fn sync(&self) {
        let recovering = self.sync.unsynced.swap(false, Ordering::Relaxed);
        let Ok(record) = self.read().await else {
            return;
        };
        let mut slot = self.slot.lock().await;
        let Some(ours) = slot.saved.clone() else {
            return;
        };
        self.adopt_shared(&mut slot, &record);
        match &record.session {
            Some(theirs) if theirs.access_token == ours.access_token => {}
            Some(theirs)
                if theirs.version >= ours.version
                    && slot.rejected.as_ref().map(AccessToken::expose)
                        != Some(theirs.access_token.as_str()) =>
            {
                tracing::debug!("taking up the session another instance saved");
                let token = AccessToken::new(&theirs.access_token)
                    .owned_by(&theirs.account, slot.passwords.get(&theirs.account));
                self.cookies.restore(theirs.cookies.clone());
                slot.version = slot.version.max(theirs.version);
                slot.hold(&token);
                slot.saved = Some(theirs.clone());
            }
            Some(_) | None if recovering => {
                drop(slot);
                self.save_again(ours).await;
            }
            _ => {}
        }
    }

    /// Writes this process's session after the store failed, under the
    /// store's lock, unless the store has a newer one by then.
    async fn save_again(&self, ours: SavedSession) {
        let lock = self.backend.lock(Duration::from_secs(1)).await;
        let Ok(_lock) = self.note(lock) else {
            return;
        };
        let Ok(mut record) = self.read().await else {
            return;
        };
        if record
            .session
            .as_ref()
            .is_some_and(|s| s.version >= ours.version)
        {
            return;
        }
        record.session = Some(ours);
        record.merge_cooldowns(&self.cooldown_deadlines());
        let written = self.backend.write(&record).await;
        if let Err(err) = self.note(written) {
            tracing::debug!(%err, "the session could not be saved again");
        }
    }

    /// The accounts cooling down, until when (Unix milliseconds).
    pub(super) fn cooldown_deadlines(&self) -> BTreeMap<String, u64> {
        let cooldowns = self.cooldowns.lock().unwrap_or_else(|p| p.into_inner());
        let (now, now_ms) = (Instant::now(), unix_ms(SystemTime::now()));
        cooldowns
            .iter()
            .filter(|(_, until)| **until > now)
            .map(|(account, until)| {
                let left = u64::try_from((*until - now).as_millis()).unwrap_or(u64::MAX);
                (account.clone(), now_ms.saturating_add(left))
            })
            .collect()
    }

    /// Adds stored cooldowns, keeping the later deadline of each account.
    fn adopt_cooldowns(&self, deadlines: &BTreeMap<String, u64>) {
        let now_ms = unix_ms(SystemTime::now());
        let now = Instant::now();
        let mut cooldowns = self.cooldowns.lock().unwrap_or_else(|p| p.into_inner());
        for (account, until_ms) in deadlines {
            if *until_ms <= now_ms {
                continue;
            }
            let until = now + Duration::from_millis(until_ms - now_ms);
            let kept = cooldowns.entry(account.clone()).or_insert(until);
            *kept = (*kept).max(until);
        }
    }
}
