//! The session shared by every request of one provider: the access token and
//! the cookie jar, with single-flight login — within the process, and with a
//! persistent store across the processes that share it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::cookies::SessionCookies;
use super::login::LoggedIn;
use super::store::record::{unix_ms, SavedSession};
use super::store::Backend;
use crate::error::Error;

mod shared;

/// The longest wait for another process's login (the store's lock).
const LOCK_WAIT: Duration = Duration::from_secs(90);

/// An access token, and the account and session password it was made
/// with when known. Its `Debug` output shows neither the token nor the
/// password; tokens are equal when their values are.
#[derive(Clone)]
pub struct AccessToken {
    value: Arc<str>,
    owner: Option<Arc<Owner>>,
}

/// The account a token is on (`token_key`) and its session password: what
/// a kept conversation lives under.
#[derive(Clone, PartialEq, Eq)]
pub struct Owner {
    /// The account.
    pub account: String,
    /// The session password (a secret).
    pub password: String,
}

impl AccessToken {
    /// Wraps a token value.
    pub fn new(value: &str) -> Self {
        AccessToken {
            value: Arc::from(value),
            owner: None,
        }
    }

    /// Notes the account and password the token was made with.
    pub fn owned_by(mut self, account: &str, password: Option<&String>) -> Self {
        self.owner = password.map(|password| {
            Arc::new(Owner {
                account: account.to_owned(),
                password: password.clone(),
            })
        });
        self
    }

    /// The token itself, for the `X-Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// The account and password it was made with, when known.
    pub fn owner(&self) -> Option<&Owner> {
        self.owner.as_deref()
    }

    /// Whether it was made on `account` with `password`.
    fn is_on(&self, account: &str, password: &str) -> bool {
        self.owner()
            .is_some_and(|o| o.account == account && o.password == password)
    }
}

impl PartialEq for AccessToken {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl Eq for AccessToken {}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([redacted])")
    }
}

#[derive(Default)]
struct Slot {
    token: Option<AccessToken>,
    /// The last token this process saw rejected: a stored session holding
    /// it is not taken up again.
    rejected: Option<AccessToken>,
    /// The session password of each account logged in with.
    passwords: BTreeMap<String, String>,
    last_failure: Option<Error>,
    /// Logins that failed in a row.
    failures: u32,
    /// No new login before this, after failures.
    next_login: Option<Instant>,
    /// The session held, as a store keeps it (with the token).
    saved: Option<SavedSession>,
    /// The highest session version seen: a login makes the next one.
    version: u64,
}

impl Slot {
    /// Holds `token`, and forgets the failed logins before it.
    fn hold(&mut self, token: &AccessToken) {
        self.token = Some(token.clone());
        self.last_failure = None;
        self.failures = 0;
        self.next_login = None;
    }
}

/// How soon a login may follow failed ones: `base` after the first
/// failure, doubling with each next one, at most `max`. Requests that come
/// sooner fail at once with the last login's error, so a broken upstream is
/// not hammered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginBackoff {
    /// The wait after one failure (zero: no wait).
    pub base: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for LoginBackoff {
    /// 1 s, doubling up to 60 s.
    fn default() -> Self {
        LoginBackoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
        }
    }
}

impl LoginBackoff {
    fn after(&self, failures: u32) -> Duration {
        let exponent = failures.saturating_sub(1).min(20);
        self.base.saturating_mul(1u32 << exponent).min(self.max)
    }
}

/// The access token with single-flight login: however many requests find
/// no token at once, one login runs and the others wait for its outcome.
/// Also remembers which accounts are cooling down after refusing a login.
#[derive(Default)]
pub struct Session {
    slot: tokio::sync::Mutex<Slot>,
    /// Login attempts that have finished, successfully or not.
    attempts: AtomicU64,
    /// Successful logins.
    logins: AtomicU64,
    cookies: Arc<SessionCookies>,
    backoff: LoginBackoff,
    cooldowns: Mutex<HashMap<String, Instant>>,
    backend: Backend,
    /// The upstream's base URL, as the store's records name it.
    upstream: String,
    /// How this process stands with a shared store.
    sync: shared::SyncState,
}

impl Session {
    /// A session with no token and no cookies.
    #[cfg(test)]
    pub fn new() -> Self {
        Self::default()
    }

    /// A session keeping its cookies in `cookies`, whose failed logins hold
    /// back the next one per `backoff`, kept in `backend`.
    pub fn with(
        cookies: Arc<SessionCookies>,
        backoff: LoginBackoff,
        backend: Backend,
        upstream: &str,
    ) -> Self {
        Session {
            backoff,
            cookies,
            backend,
            upstream: upstream.trim_end_matches('/').to_owned(),
            ..Self::default()
        }
    }

    /// Keeps `token_id` out of logins for `duration`.
    pub fn cool_down(&self, token_id: &str, duration: Duration) {
        let mut cooldowns = self.cooldowns.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        cooldowns.retain(|_, until| *until > now);
        let until = cooldowns.entry(token_id.to_owned()).or_insert(now);
        *until = (*until).max(now + duration);
    }

    /// Whether `token_id` is cooling down now.
    pub fn cooling_down(&self, token_id: &str) -> bool {
        let cooldowns = self.cooldowns.lock().unwrap_or_else(|p| p.into_inner());
        cooldowns
            .get(token_id)
            .is_some_and(|until| *until > Instant::now())
    }

    /// How many logins succeeded so far.
    pub fn logins(&self) -> u64 {
        self.logins.load(Ordering::Relaxed)
    }

    /// Whether an access token is held now.
    pub async fn has_token(&self) -> bool {
        self.slot.lock().await.token.is_some()
    }

    /// The current token, logging in with `login` if there is none. A caller
    /// that waited while another caller's login failed gets that failure
    /// instead of starting a login of its own. `login` gets the session
    /// passwords kept for each account.
    ///
    /// With a shared store (a file, Redis), a session another process saved
    /// is taken up instead of logging in, a login runs under the store's
    /// lock (so that processes sharing the store make one between them),
    /// and a failed one holds back the logins of every process. A store
    /// that fails is reported once and the session carries on in memory.
    pub async fn token<F, Fut>(self: &Arc<Self>, login: F) -> Result<AccessToken, Error>
    where
        F: FnOnce(BTreeMap<String, String>) -> Fut,
        Fut: Future<Output = Result<LoggedIn, Error>>,
    {
        let attempts_seen = self.attempts.load(Ordering::Acquire);
        let mut slot = self.slot.lock().await;
        if let Some(token) = &slot.token {
            let token = token.clone();
            drop(slot);
            self.sync_if_due();
            return Ok(token);
        }
        let backing_off = slot.next_login.is_some_and(|at| Instant::now() < at);
        if self.attempts.load(Ordering::Acquire) != attempts_seen || backing_off {
            if let Some(failure) = &slot.last_failure {
                return Err(failure.clone());
            }
        }
        let _lock = if self.backend.is_shared() {
            if let Some(found) = self.take_up(&mut slot).await {
                return found;
            }
            let lock = self.backend.lock(LOCK_WAIT).await;
            let lock = self.note(lock).map_err(|err| {
                tracing::debug!(%err, "logging in without the session lock");
            });
            // Another process may have logged in while this one waited.
            if let Some(found) = self.take_up(&mut slot).await {
                return found;
            }
            lock.ok().flatten()
        } else {
            None
        };
        self.cookies.clear();
        let outcome = login(slot.passwords.clone()).await;
        let token = match outcome {
            Ok(logged_in) => Ok(self.logged_in(&mut slot, logged_in).await),
            Err(err) => {
                slot.last_failure = Some(err.clone());
                slot.failures = slot.failures.saturating_add(1);
                let wait = self.backoff.after(slot.failures);
                slot.next_login = (!wait.is_zero()).then(|| Instant::now() + wait);
                self.save(&mut slot, false).await;
                Err(err)
            }
        };
        self.attempts.fetch_add(1, Ordering::Release);
        token
    }

    /// Holds the session a login made, and saves it.
    async fn logged_in(&self, slot: &mut Slot, logged_in: LoggedIn) -> AccessToken {
        let LoggedIn {
            token,
            account,
            password,
        } = logged_in;
        slot.hold(&token);
        slot.passwords.insert(account.clone(), password);
        self.logins.fetch_add(1, Ordering::Relaxed);
        slot.version += 1;
        slot.saved = Some(SavedSession {
            account,
            access_token: token.expose().to_owned(),
            cookies: self.cookies.snapshot(),
            logged_in_at_ms: unix_ms(std::time::SystemTime::now()),
            version: slot.version,
        });
        self.save(slot, true).await;
        token
    }

    /// A token on `account` with `password`, where a kept conversation
    /// lives: the session's own if it is on them (or the one a shared
    /// store holds is), else a login with `login`, which must try that
    /// account only. A login made here becomes the session every request
    /// uses; one that fails leaves the session as it was and holds back
    /// no other login.
    pub async fn token_on<F, Fut>(
        self: &Arc<Self>,
        account: &str,
        password: &str,
        login: F,
    ) -> Result<AccessToken, Error>
    where
        F: FnOnce(BTreeMap<String, String>) -> Fut,
        Fut: Future<Output = Result<LoggedIn, Error>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some(token) = slot.token.as_ref().filter(|t| t.is_on(account, password)) {
            let token = token.clone();
            drop(slot);
            self.sync_if_due();
            return Ok(token);
        }
        let _lock = if self.backend.is_shared() {
            let lock = self.backend.lock(LOCK_WAIT).await;
            let lock = self.note(lock).map_err(|err| {
                tracing::debug!(%err, "logging in without the session lock");
            });
            if let Some(Ok(token)) = self.take_up(&mut slot).await {
                if token.is_on(account, password) {
                    return Ok(token);
                }
            }
            lock.ok().flatten()
        } else {
            None
        };
        let saved_cookies = self.cookies.snapshot();
        self.cookies.clear();
        let pinned = BTreeMap::from([(account.to_owned(), password.to_owned())]);
        match login(pinned).await {
            Ok(logged_in) => {
                tracing::info!(
                    account,
                    "logged in on the account a kept conversation lives on"
                );
                Ok(self.logged_in(&mut slot, logged_in).await)
            }
            Err(err) => {
                // The session held before carries on.
                self.cookies.restore(saved_cookies);
                Err(err)
            }
        }
    }

    /// Drops the session if `rejected` is still its token (a request got
    /// 401/403 with it), so the next [`Session::token`] logs in anew. A token
    /// that was already replaced is left alone, so concurrent rejections
    /// cause one login, not one each.
    pub async fn invalidate(&self, rejected: &AccessToken) {
        let mut slot = self.slot.lock().await;
        if slot.token.as_ref() == Some(rejected) {
            slot.token = None;
            slot.saved = None;
            self.cookies.clear();
        }
        slot.rejected = Some(rejected.clone());
        drop(slot);
        // The store forgets it too, unless another process replaced it.
        if self.backend.is_shared() {
            let dropped = self
                .backend
                .drop_session(rejected.expose(), LOCK_WAIT)
                .await;
            if let Err(err) = self.note(dropped) {
                tracing::debug!(%err, "the rejected session could not be dropped from the store");
            }
        }
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("logins", &self.logins())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
