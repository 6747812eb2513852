//! The login flow: `/api/loads` → `/auth/login` → `/api/auth/session`.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::seq::IndexedRandom;
use rand::Rng;

use super::http::{check_status, read_json, transport_error};
use super::session::{AccessToken, Session};
use super::step::Step;
use super::wire::{Load, LoadsResponse, SessionResponse};
use crate::error::{Error, ErrorKind, TimeoutKind};

/// What one login needs to know.
pub struct LoginContext<'a> {
    /// The HTTP client (proxy, cookies and headers already set).
    pub client: &'a reqwest::Client,
    /// The upstream's base URL, without a trailing slash.
    pub base: &'a str,
    /// The connect timeout, to name it in errors.
    pub connect_timeout: Option<Duration>,
    /// The longest wait for each step's answer.
    pub step_timeout: Option<Duration>,
    /// Where refused accounts are put on a cooldown.
    pub session: &'a Session,
    /// How long a refused account cools down (unless `Retry-After` says).
    pub cooldown: Duration,
}

/// `/api/loads` listed no account to log in with.
pub fn no_accounts() -> Error {
    Step::Loads.error(
        ErrorKind::Rejected,
        "the upstream lists no shared accounts to log in with",
    )
}

/// What a successful login made.
#[derive(Debug)]
pub struct LoggedIn {
    /// The access token.
    pub token: AccessToken,
    /// The account logged in with (`token_key`).
    pub account: String,
    /// The session password used with it (kept for the next login on it).
    pub password: String,
}

/// The most accounts one login tries.
const ACCOUNTS_PER_LOGIN: usize = 3;

/// Logs in and returns the access token; the cookies land in the client's
/// cookie store. An account whose login is refused (401, 403, 429) cools
/// down and the next least busy one is tried, up to three. An account with
/// a session password in `passwords` logs in with it again; others get a
/// new random one.
///
/// With `pin`, only that account is tried (where a kept conversation
/// lives): if the upstream no longer lists it, or refuses it, the login
/// fails.
pub async fn login(
    ctx: &LoginContext<'_>,
    passwords: &BTreeMap<String, String>,
    pin: Option<&str>,
) -> Result<LoggedIn, Error> {
    let mut loads = fetch_loads(ctx).await?;
    if let Some(account) = pin {
        loads.retain(|l| l.token_id == account);
        if loads.is_empty() {
            return Err(Step::Loads.error(
                ErrorKind::Rejected,
                format!("the upstream no longer lists account {account:?}"),
            ));
        }
    }
    if loads.is_empty() {
        return Err(no_accounts());
    }
    let warm: Vec<Load> = loads
        .iter()
        .filter(|l| !ctx.session.cooling_down(&l.token_id))
        .cloned()
        .collect();
    // When every account is cooling down, trying one beats failing (a
    // pinned account cooling down is not tried: the caller checks).
    if !warm.is_empty() {
        loads = warm;
    }
    tracing::debug!(accounts = loads.len(), "logging in to the upstream");
    let mut tries = 0;
    let (account, password) = loop {
        let token_key = choose_account(&loads, &mut rand::rng()).ok_or_else(no_accounts)?;
        tries += 1;
        let password = passwords
            .get(&token_key)
            .cloned()
            .unwrap_or_else(|| session_password(&mut rand::rng()));
        let form = [
            ("token_key", token_key.as_str()),
            ("session_password", password.as_str()),
        ];
        let request = ctx
            .client
            .post(format!("{}/auth/login", ctx.base))
            .form(&form);
        match send(ctx, Step::Login, request).await {
            Ok(_) => break (token_key, password),
            Err(err) if matches!(err.status(), Some(401 | 403 | 429)) => {
                let wait = err.retry_after().unwrap_or(ctx.cooldown);
                ctx.session.cool_down(&token_key, wait);
                tracing::info!(
                    status = err.status(),
                    ?wait,
                    "an account refused the login; trying another"
                );
                loads.retain(|l| l.token_id != token_key);
                if loads.is_empty() || tries >= ACCOUNTS_PER_LOGIN {
                    return Err(err);
                }
            }
            Err(err) => return Err(err),
        }
    };

    let request = ctx.client.get(format!("{}/api/auth/session", ctx.base));
    let response = send(ctx, Step::Session, request).await?;
    let session: SessionResponse = read_json(Step::Session, response, "an accessToken").await?;
    match session.access_token {
        Some(token) if !token.trim().is_empty() => Ok(LoggedIn {
            token: AccessToken::new(token.trim()).owned_by(&account, Some(&password)),
            account,
            password,
        }),
        _ => Err(Step::Session
            .protocol("the answer has no accessToken: the login did not take (cookies refused?)")),
    }
}

async fn fetch_loads(ctx: &LoginContext<'_>) -> Result<Vec<Load>, Error> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let request = ctx.client.get(format!("{}/api/loads?t={now}", ctx.base));
    let response = send(ctx, Step::Loads, request).await?;
    let loads: LoadsResponse = read_json(Step::Loads, response, "a \"loads\" list").await?;
    Ok(loads.loads)
}

/// Sends one login-step request, bounded by the step timeout, and checks
/// its status.
async fn send(
    ctx: &LoginContext<'_>,
    step: Step,
    request: reqwest::RequestBuilder,
) -> Result<reqwest::Response, Error> {
    let request = match ctx.step_timeout {
        Some(timeout) => request.timeout(timeout),
        None => request,
    };
    let response = request.send().await.map_err(|e| match ctx.step_timeout {
        Some(after) if e.is_timeout() && !e.is_connect() => step.timeout(TimeoutKind::Idle, after),
        _ => transport_error(step, &e, ctx.connect_timeout),
    })?;
    check_status(step, response).await
}

/// Picks the least busy account, at random among equally busy ones.
pub fn choose_account(loads: &[Load], rng: &mut impl Rng) -> Option<String> {
    let least = loads.iter().map(|l| l.count).min()?;
    let idle: Vec<&Load> = loads.iter().filter(|l| l.count == least).collect();
    idle.choose(rng).map(|l| l.token_id.clone())
}

/// Ten random characters from `a-z0-9`, as the original's `get_random_string`.
pub fn session_password(rng: &mut impl Rng) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..10)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(id: &str, count: u64) -> Load {
        Load {
            token_id: id.into(),
            count,
        }
    }

    #[test]
    fn the_least_busy_accounts_are_chosen_at_random() {
        let loads = [load("busy", 3), load("a", 1), load("b", 1), load("c", 2)];
        let mut seen = std::collections::BTreeSet::new();
        let mut rng = rand::rng();
        for _ in 0..200 {
            seen.insert(choose_account(&loads, &mut rng).unwrap());
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(choose_account(&[], &mut rng), None);
    }

    #[test]
    fn session_passwords_are_ten_lowercase_alphanumerics() {
        let mut rng = rand::rng();
        let a = session_password(&mut rng);
        assert_eq!(a.len(), 10);
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        assert_ne!(a, session_password(&mut rng));
    }
}
