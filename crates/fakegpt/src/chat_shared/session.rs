//! The session shared by every request of one provider: the access token and
//! the cookie jar, with single-flight login.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::cookies::SessionCookies;
use crate::error::Error;

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
    last_failure: Option<Error>,
    /// Logins that failed in a row.
    failures: u32,
    /// No new login before this, after failures.
    next_login: Option<Instant>,
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
}

impl Session {
    /// A session with no token and no cookies.
    #[cfg(test)]
    pub fn new() -> Self {
        Self::default()
    }

    /// A session keeping its cookies in `cookies`, whose failed logins hold
    /// back the next one per `backoff`.
    pub fn with(cookies: Arc<SessionCookies>, backoff: LoginBackoff) -> Self {
        Session {
            backoff,
            cookies,
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
    /// instead of starting a login of its own.
    pub async fn token<F, Fut>(&self, login: F) -> Result<AccessToken, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessToken, Error>>,
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
        self.cookies.clear();
        let outcome = login().await;
        match &outcome {
            Ok(token) => {
                slot.token = Some(token.clone());
                slot.last_failure = None;
                slot.failures = 0;
                slot.next_login = None;
                self.logins.fetch_add(1, Ordering::Relaxed);
            }
            Err(err) => {
                slot.last_failure = Some(err.clone());
                slot.failures = slot.failures.saturating_add(1);
                let wait = self.backoff.after(slot.failures);
                slot.next_login = (!wait.is_zero()).then(|| Instant::now() + wait);
            }
        }
        self.attempts.fetch_add(1, Ordering::Release);
        outcome
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
                        .token(|| async {
                            calls.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            if succeed {
                                Ok(AccessToken::new("t"))
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
            .token(|| async { Ok(AccessToken::new("a")) })
            .await
            .unwrap();
        session.invalidate(&first).await;
        let second = session
            .token(|| async { Ok(AccessToken::new("b")) })
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
        );
        let calls = AtomicUsize::new(0);
        let fail = || async {
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
        let ok = session.token(|| async { Ok(AccessToken::new("t")) }).await;
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
