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

/// The longest wait for another process's login (the store's lock).
const LOCK_WAIT: Duration = Duration::from_secs(90);

/// An access token. Its `Debug` output never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(Arc<str>);

impl AccessToken {
    /// Wraps a token value.
    pub fn new(value: &str) -> Self {
        AccessToken(Arc::from(value))
    }

    /// The token itself, for the `X-Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

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
        cooldowns.insert(token_id.to_owned(), now + duration);
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
    /// is taken up instead of logging in, and a login runs under the store's
    /// lock, so that processes sharing the store make one between them. A store that
    /// fails is reported and the session carries on in memory.
    pub async fn token<F, Fut>(&self, login: F) -> Result<AccessToken, Error>
    where
        F: FnOnce(BTreeMap<String, String>) -> Fut,
        Fut: Future<Output = Result<LoggedIn, Error>>,
    {
        let attempts_seen = self.attempts.load(Ordering::Acquire);
        let mut slot = self.slot.lock().await;
        if let Some(token) = &slot.token {
            return Ok(token.clone());
        }
        let backing_off = slot.next_login.is_some_and(|at| Instant::now() < at);
        if self.attempts.load(Ordering::Acquire) != attempts_seen || backing_off {
            if let Some(failure) = &slot.last_failure {
                return Err(failure.clone());
            }
        }
        let _lock = if self.backend.is_shared() {
            if let Some(token) = self.take_up(&mut slot).await {
                return Ok(token);
            }
            let lock = self.backend.lock(LOCK_WAIT).await.map_err(|err| {
                tracing::debug!(%err, "logging in without the session lock");
            });
            // Another process may have logged in while this one waited.
            if let Some(token) = self.take_up(&mut slot).await {
                return Ok(token);
            }
            lock.ok().flatten()
        } else {
            None
        };
        self.cookies.clear();
        let outcome = login(slot.passwords.clone()).await;
        let token = match outcome {
            Ok(LoggedIn {
                token,
                account,
                password,
            }) => {
                slot.hold(&token);
                slot.passwords.insert(account.clone(), password);
                self.logins.fetch_add(1, Ordering::Relaxed);
                self.save(
                    &slot,
                    Some(SavedSession {
                        account,
                        access_token: token.expose().to_owned(),
                        cookies: self.cookies.snapshot(),
                        logged_in_at_ms: unix_ms(std::time::SystemTime::now()),
                    }),
                )
                .await;
                Ok(token)
            }
            Err(err) => {
                slot.last_failure = Some(err.clone());
                slot.failures = slot.failures.saturating_add(1);
                let wait = self.backoff.after(slot.failures);
                slot.next_login = (!wait.is_zero()).then(|| Instant::now() + wait);
                self.save(&slot, None).await;
                Err(err)
            }
        };
        self.attempts.fetch_add(1, Ordering::Release);
        token
    }

    /// Takes up the session a shared store holds, unless it is the one this
    /// process saw rejected; also takes its passwords and cooldowns.
    async fn take_up(&self, slot: &mut Slot) -> Option<AccessToken> {
        let record = self
            .backend
            .read(&self.upstream)
            .await
            .map_err(|err| tracing::debug!(%err, "the session store could not be read"))
            .ok()?;
        for (account, password) in &record.passwords {
            slot.passwords
                .entry(account.clone())
                .or_insert_with(|| password.clone());
        }
        self.adopt_cooldowns(&record.cooldowns);
        let saved = record.session?;
        let token = AccessToken::new(&saved.access_token);
        if slot.rejected.as_ref() == Some(&token) {
            return None;
        }
        self.cookies.restore(saved.cookies);
        slot.hold(&token);
        Some(token)
    }

    /// Writes the passwords, the cooldowns and, after a login, the new
    /// session to a shared store (the caller holds its lock).
    async fn save(&self, slot: &Slot, session: Option<SavedSession>) {
        if !self.backend.is_shared() {
            return;
        }
        let Ok(mut record) = self.backend.read(&self.upstream).await else {
            return;
        };
        if session.is_some() {
            record.session = session;
        }
        for (account, password) in &slot.passwords {
            record.passwords.insert(account.clone(), password.clone());
        }
        record.merge_cooldowns(&self.cooldown_deadlines());
        if let Err(err) = self.backend.write(&record).await {
            tracing::debug!(%err, "the session could not be saved; it lasts as long as this process");
        }
    }

    /// The accounts cooling down, until when (Unix milliseconds).
    fn cooldown_deadlines(&self) -> BTreeMap<String, u64> {
        let cooldowns = self.cooldowns.lock().unwrap_or_else(|p| p.into_inner());
        let (now, now_ms) = (Instant::now(), unix_ms(std::time::SystemTime::now()));
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
        let now_ms = unix_ms(std::time::SystemTime::now());
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

    /// Drops the session if `rejected` is still its token (a request got
    /// 401/403 with it), so the next [`Session::token`] logs in anew. A token
    /// that was already replaced is left alone, so concurrent rejections
    /// cause one login, not one each.
    pub async fn invalidate(&self, rejected: &AccessToken) {
        let mut slot = self.slot.lock().await;
        if slot.token.as_ref() == Some(rejected) {
            slot.token = None;
            self.cookies.clear();
        }
        slot.rejected = Some(rejected.clone());
        // The store forgets it too, unless another process replaced it.
        if self.backend.is_shared() {
            if let Err(err) = self
                .backend
                .drop_session(rejected.expose(), LOCK_WAIT)
                .await
            {
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
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn logged_in(token: &str) -> LoggedIn {
        LoggedIn {
            token: AccessToken::new(token),
            account: "acc".into(),
            password: "pw".into(),
        }
    }

    /// `n` callers asking `session` for a token at once, each login taking
    /// 20 ms and succeeding or not; their results and the logins made.
    async fn at_once(
        session: &Arc<Session>,
        n: usize,
        succeed: bool,
    ) -> (Vec<Result<AccessToken, Error>>, usize) {
        let calls = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let (session, calls) = (Arc::clone(session), Arc::clone(&calls));
                tokio::spawn(async move {
                    session
                        .token(|_| async {
                            calls.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            if succeed {
                                Ok(logged_in("t"))
                            } else {
                                Err(super::super::login::no_accounts())
                            }
                        })
                        .await
                })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        (results, calls.load(Ordering::SeqCst))
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_login() {
        let session = Arc::new(Session::new());
        let (results, calls) = at_once(&session, 20, true).await;
        for result in results {
            assert_eq!(result.unwrap().expose(), "t");
        }
        assert_eq!(calls, 1);
        assert_eq!(session.logins(), 1);
    }

    #[tokio::test]
    async fn invalidating_a_stale_token_is_a_no_op() {
        let session = Session::new();
        let first = session
            .token(|_| async { Ok(logged_in("a")) })
            .await
            .unwrap();
        session.invalidate(&first).await;
        let second = session
            .token(|_| async { Ok(logged_in("b")) })
            .await
            .unwrap();
        session.invalidate(&first).await;
        assert!(session.has_token().await);
        assert_eq!(second.expose(), "b");
        assert_eq!(format!("{second:?}"), "AccessToken([redacted])");
    }

    #[tokio::test(start_paused = true)]
    async fn failed_logins_hold_back_the_next_one() {
        let session = Session::with(
            Arc::default(),
            LoginBackoff {
                base: Duration::from_millis(200),
                max: Duration::from_secs(1),
            },
            Backend::Memory,
            "http://upstream",
        );
        let calls = AtomicUsize::new(0);
        let fail = |_| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(super::super::login::no_accounts())
        };
        assert!(session.token(fail).await.is_err());
        assert!(session.token(fail).await.is_err());
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "the second caller got the last failure"
        );
        tokio::time::advance(Duration::from_millis(150)).await;
        assert!(session.token(fail).await.is_err(), "still held back");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_millis(100)).await;
        let ok = session.token(|_| async { Ok(logged_in("t")) }).await;
        assert_eq!(ok.unwrap().expose(), "t");
        assert_eq!(LoginBackoff::default().after(3), Duration::from_secs(4));
        assert_eq!(LoginBackoff::default().after(30), Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn accounts_cool_down_for_a_while() {
        let session = Session::new();
        session.cool_down("a", Duration::from_secs(50));
        assert!(session.cooling_down("a") && !session.cooling_down("b"));
        tokio::time::advance(Duration::from_secs(49)).await;
        assert!(session.cooling_down("a"));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(!session.cooling_down("a"));
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_share_a_failed_login() {
        let session = Arc::new(Session::new());
        let (results, calls) = at_once(&session, 10, false).await;
        for result in results {
            assert_eq!(
                result.unwrap_err().kind(),
                crate::error::ErrorKind::Rejected
            );
        }
        // The first caller logs in; callers already waiting share its failure.
        assert_eq!(calls, 1);
    }
}
