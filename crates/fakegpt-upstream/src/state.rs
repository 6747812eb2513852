//! The emulator's shared state: configuration, login sessions, access
//! tokens, pending faults and counters.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::config::Config;
use crate::conversations::{Conversations, Kind, Owner, Plan, Refusal};
use crate::fault::{Endpoint, Fault};
use crate::request::Turn;

/// How often each thing happened, as tests read it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    /// `GET /api/loads` requests.
    pub loads: u64,
    /// Successful `POST /auth/login`s.
    pub logins: u64,
    /// `GET /api/auth/session` requests.
    pub sessions: u64,
    /// `GET /api/auth/session` requests that carried a valid session cookie.
    pub sessions_with_cookie: u64,
    /// Conversations accepted (token and cookie valid, body well-formed).
    pub conversations: u64,
    /// Conversations refused with `401` (bad, expired or missing token or cookie).
    pub unauthorized: u64,
    /// Conversation streams sent through to `[DONE]`.
    pub completed: u64,
    /// Conversation streams the client abandoned before they ended.
    pub cancelled: u64,
    /// Conversation streams being sent now.
    pub active_streams: u64,
    /// Faults injected so far.
    pub faults: u64,
    /// Conversations started kept (`history_and_training_disabled: false`).
    pub kept: u64,
    /// Turns that continued a kept conversation with a new user message.
    pub continued: u64,
    /// `action: "continue"` turns (more of an answer cut at its limit).
    pub continuations: u64,
    /// `action: "variant"` turns (an answer asked for again).
    pub variants: u64,
    /// Turns refused with `404` (no such conversation for this login) or
    /// `400` (a parent not in it).
    pub refused: u64,
}

#[derive(Default)]
struct AtomicCounters {
    loads: AtomicU64,
    logins: AtomicU64,
    sessions: AtomicU64,
    sessions_with_cookie: AtomicU64,
    conversations: AtomicU64,
    unauthorized: AtomicU64,
    completed: AtomicU64,
    cancelled: AtomicU64,
    active_streams: AtomicU64,
    faults: AtomicU64,
    kept: AtomicU64,
    continued: AtomicU64,
    continuations: AtomicU64,
    variants: AtomicU64,
    refused: AtomicU64,
}

/// Names one counter to bump.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Count {
    Loads,
    Logins,
    Sessions,
    SessionsWithCookie,
    Conversations,
    Unauthorized,
    Completed,
    Cancelled,
    Faults,
    Kept,
    Continued,
    Continuations,
    Variants,
    Refused,
}

/// One request as the emulator received it (the last [`RECORDED`] are kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The method, e.g. `POST`.
    pub method: String,
    /// The path and query.
    pub target: String,
    /// The headers, names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body (logins and conversations only; empty otherwise).
    pub body: Vec<u8>,
}

impl Recorded {
    /// The first value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// How many requests the emulator remembers.
pub const RECORDED: usize = 64;

/// A logged-in session (what the session cookie points at).
#[derive(Debug, Clone)]
pub(crate) struct LoginSession {
    pub access_token: String,
}

/// A conversation turn `authorize` let through: whose it is.
pub(crate) type Authorized = Owner;

/// What the emulator knows about an access token.
#[derive(Debug, Clone)]
pub(crate) struct TokenInfo {
    pub session_id: String,
    pub conversations: u64,
    /// The account and session password it was issued for.
    pub owner: Owner,
}

/// Everything the handlers share.
pub struct State {
    config: Mutex<Config>,
    sessions: Mutex<HashMap<String, LoginSession>>,
    tokens: Mutex<HashMap<String, TokenInfo>>,
    faults: Mutex<Vec<(Fault, u64)>>,
    conversations: Mutex<Conversations>,
    counters: AtomicCounters,
    recorded: Mutex<std::collections::VecDeque<Recorded>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl State {
    /// Fresh state with this configuration.
    pub fn new(config: Config) -> Arc<State> {
        Arc::new(State {
            config: Mutex::new(config),
            sessions: Mutex::default(),
            tokens: Mutex::default(),
            faults: Mutex::default(),
            conversations: Mutex::default(),
            counters: AtomicCounters::default(),
            recorded: Mutex::default(),
        })
    }

    /// A copy of the configuration.
    pub fn config(&self) -> Config {
        lock(&self.config).clone()
    }

    /// Changes the configuration.
    pub fn update_config(&self, change: impl FnOnce(&mut Config)) {
        change(&mut lock(&self.config));
    }

    /// Injects `fault` for the next `times` requests to its endpoint
    /// (`u64::MAX` for all of them). Faults are consumed in the order given.
    pub fn inject(&self, fault: Fault, times: u64) {
        if times > 0 {
            lock(&self.faults).push((fault, times));
        }
    }

    /// Removes every pending fault.
    pub fn clear_faults(&self) {
        lock(&self.faults).clear();
    }

    /// Revokes every access token (as if they all expired at once).
    pub fn revoke_tokens(&self) {
        lock(&self.tokens).clear();
    }

    /// A snapshot of the counters.
    pub fn counters(&self) -> Counters {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::SeqCst);
        Counters {
            loads: get(&c.loads),
            logins: get(&c.logins),
            sessions: get(&c.sessions),
            sessions_with_cookie: get(&c.sessions_with_cookie),
            conversations: get(&c.conversations),
            unauthorized: get(&c.unauthorized),
            completed: get(&c.completed),
            cancelled: get(&c.cancelled),
            active_streams: get(&c.active_streams),
            faults: get(&c.faults),
            kept: get(&c.kept),
            continued: get(&c.continued),
            continuations: get(&c.continuations),
            variants: get(&c.variants),
            refused: get(&c.refused),
        }
    }

    /// The requests received lately, oldest first.
    pub fn recorded(&self) -> Vec<Recorded> {
        lock(&self.recorded).iter().cloned().collect()
    }

    pub(crate) fn record(&self, request: Recorded) {
        let mut recorded = lock(&self.recorded);
        if recorded.len() == RECORDED {
            recorded.pop_front();
        }
        recorded.push_back(request);
    }

    pub(crate) fn bump(&self, which: Count) {
        let c = &self.counters;
        let counter = match which {
            Count::Loads => &c.loads,
            Count::Logins => &c.logins,
            Count::Sessions => &c.sessions,
            Count::SessionsWithCookie => &c.sessions_with_cookie,
            Count::Conversations => &c.conversations,
            Count::Unauthorized => &c.unauthorized,
            Count::Completed => &c.completed,
            Count::Cancelled => &c.cancelled,
            Count::Faults => &c.faults,
            Count::Kept => &c.kept,
            Count::Continued => &c.continued,
            Count::Continuations => &c.continuations,
            Count::Variants => &c.variants,
            Count::Refused => &c.refused,
        };
        counter.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn stream_started(&self) {
        self.counters.active_streams.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn stream_ended(&self) {
        self.counters.active_streams.fetch_sub(1, Ordering::SeqCst);
    }

    /// Takes the next pending fault for `endpoint`, if any.
    pub(crate) fn take_fault(&self, endpoint: Endpoint) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let index = faults.iter().position(|(f, _)| f.endpoint() == endpoint)?;
        let fault = faults[index].0;
        if faults[index].1 != u64::MAX {
            faults[index].1 -= 1;
            if faults[index].1 == 0 {
                faults.remove(index);
            }
        }
        drop(faults);
        self.bump(Count::Faults);
        Some(fault)
    }

    /// Decides how to answer `turn` for `owner` (see
    /// [`Conversations::plan`]), and counts it.
    pub(crate) fn plan(&self, owner: &Owner, turn: &Turn) -> Result<Plan, Refusal> {
        let config = self.config();
        let plan = lock(&self.conversations).plan(owner, turn, &config);
        let count = match &plan {
            Ok(plan) => match plan.kind {
                Kind::Temporary => None,
                Kind::Started => Some(Count::Kept),
                Kind::Continued => Some(Count::Continued),
                Kind::Continuation => Some(Count::Continuations),
                Kind::Variant => Some(Count::Variants),
            },
            Err(_) => Some(Count::Refused),
        };
        if let Some(count) = count {
            self.bump(count);
        }
        plan
    }

    pub(crate) fn create_session(&self, owner: Owner) -> (String, String) {
        let session_id = uuid::Uuid::new_v4().simple().to_string();
        let access_token = format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        lock(&self.sessions).insert(
            session_id.clone(),
            LoginSession {
                access_token: access_token.clone(),
            },
        );
        lock(&self.tokens).insert(
            access_token.clone(),
            TokenInfo {
                session_id: session_id.clone(),
                conversations: 0,
                owner,
            },
        );
        (session_id, access_token)
    }

    pub(crate) fn session(&self, session_id: &str) -> Option<LoginSession> {
        lock(&self.sessions).get(session_id).cloned()
    }

    /// Checks a conversation's token and session cookie; counts the use.
    pub(crate) fn authorize(
        &self,
        token: &str,
        session_id: Option<&str>,
    ) -> Result<Authorized, &'static str> {
        let expires_after = lock(&self.config).token_expires_after;
        let mut tokens = lock(&self.tokens);
        let info = tokens.get_mut(token).ok_or("invalid access token")?;
        if session_id != Some(info.session_id.as_str()) {
            return Err("the session cookie is missing or does not match the access token");
        }
        if expires_after.is_some_and(|n| info.conversations >= n) {
            return Err("token_expired");
        }
        info.conversations += 1;
        Ok(info.owner.clone())
    }
}
