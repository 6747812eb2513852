//! The FakeGpt provider: gpt4free's client of the chat-shared ChatGPT mirror.
//!
//! Everything about that service stays in here:
//! - [`session`]: the access token and cookie jar every request shares, with
//!   single-flight login, login backoff and account cooldowns;
//! - [`store`]: where the session outlives a request or a process (memory,
//!   a file, Redis), and the limits a fleet sharing Redis keeps together;
//! - [`login`]: the three-step login flow;
//! - [`conversation`]: the chat request and its event stream;
//! - [`flow`]: one chat's attempts, its logins and its answer stream;
//! - [`kept`]: conversations kept on the upstream (continue, regenerate,
//!   stitched continuations, the handle an answer ends on);
//! - [`decode`]: the event-stream decoder (bytes → lines → events →
//!   cumulative text → new text), independent of any HTTP library;
//! - [`retry`]: which failures are retried, and when;
//! - [`step`]: the steps its errors name, and excerpts of upstream bodies;
//! - [`cookies`]: the session's cookie jar, one origin, never logged;
//! - [`builder`]: the settings; [`wire`]: the JSON shapes;
//! - [`http`]: headers, clients, error mapping.

mod builder;
mod conversation;
mod cookies;
pub mod decode;
mod flow;
mod http;
mod kept;
mod login;
mod retry;
mod session;
mod step;
mod store;
mod wire;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::time::Instant;

pub use builder::FakeGptBuilder;
pub use store::{ConversationIndex, Fleet, Lease, SessionSummary, Store};

use crate::answer::Answer;
use crate::error::{Error, ErrorKind, TimeoutKind};
use crate::provider::{BoxFuture, Counter, Gauge, Provider};
use crate::request::{ChatRequest, RetryPolicy, Timeouts};
use kept::Ask;
use session::Session;
use step::Step;

/// The FakeGpt provider. Cloning is cheap and shares the session: every
/// clone uses the same access token and cookie jar.
#[derive(Clone, Debug)]
pub struct FakeGpt {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    base: String,
    session: Arc<Session>,
    clients: http::Clients,
    settings: Settings,
}

/// What every request uses unless it overrides it.
#[derive(Debug, Clone)]
struct Settings {
    proxy: Option<String>,
    timeouts: Timeouts,
    retry: RetryPolicy,
    max_event: usize,
    max_answer: usize,
    dialect: Dialect,
    account_cooldown: Duration,
}

/// The event-stream dialect a [`FakeGpt`] asks the upstream for.
///
/// The answer is decoded in whichever dialect the stream turns out to be
/// (a delta-encoded stream says so in its first event), so this only
/// chooses what the request body offers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dialect {
    /// Cumulative events: the request body exactly as the original
    /// provider sent it.
    #[default]
    Legacy,
    /// Delta-encoded patches: the body adds `"supported_encodings":
    /// ["v1"]`, as newer web clients send it.
    V1,
}

/// The settings of one request: the provider's, with its overrides.
struct Resolved {
    client: reqwest::Client,
    timeouts: Timeouts,
    retry: RetryPolicy,
}

impl Default for FakeGpt {
    /// A provider for the public service, with a session of its own.
    fn default() -> Self {
        FakeGpt::builder()
            .build()
            .unwrap_or_else(|_| unreachable!("the default settings are valid"))
    }
}

impl FakeGpt {
    /// The public service the original provider talked to (offline since
    /// 2024).
    pub const DEFAULT_BASE_URL: &'static str = "https://chat-shared2.zhile.io";

    /// The models FakeGpt serves, the default first: gpt-3.5-turbo and its
    /// dated snapshots, all answered by the web model behind it.
    pub const MODELS: &'static [&'static str] = &[
        "gpt-3.5-turbo",
        "gpt-3.5-turbo-0125",
        "gpt-3.5-turbo-1106",
        "gpt-3.5-turbo-0613",
    ];

    /// Settings, starting from the defaults.
    pub fn builder() -> FakeGptBuilder {
        FakeGptBuilder::default()
    }

    /// A provider for the upstream at `base_url`, with a session of its own.
    pub fn new(base_url: &str) -> Result<Self, Error> {
        Self::builder().base_url(base_url).build()
    }

    /// The process-wide instance for the public service, as the original
    /// kept its token and cookies per class: every caller shares one session.
    pub fn shared() -> FakeGpt {
        static SHARED: OnceLock<FakeGpt> = OnceLock::new();
        SHARED.get_or_init(FakeGpt::default).clone()
    }

    /// The upstream's base URL.
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// Whether this provider talks to the public service (offline since
    /// 2024), for callers that want to say so when it cannot be reached.
    pub fn is_public_service(&self) -> bool {
        self.inner.base == Self::DEFAULT_BASE_URL
    }

    /// How many logins this provider's session has made.
    pub fn logins(&self) -> u64 {
        self.inner.session.logins()
    }

    /// Whether an access token is held now (a request would not log in).
    pub async fn has_session(&self) -> bool {
        self.inner.session.has_token().await
    }

    /// Makes sure the session holds an access token, logging in if it has
    /// none (single-flight, like any request), with the provider's settings.
    pub async fn ensure_session(&self) -> Result<(), Error> {
        let settings = &self.inner.settings;
        let client = self
            .inner
            .clients
            .get(settings.proxy.as_deref(), settings.timeouts.connect)?;
        self.token(&client, &settings.timeouts).await.map(|_| ())
    }

    /// Starts a chat; see [`Provider::chat`].
    pub async fn chat(&self, request: ChatRequest) -> Result<Answer, Error> {
        if !request.model.is_empty()
            && !Self::MODELS
                .iter()
                .any(|m| m.eq_ignore_ascii_case(&request.model))
        {
            return Err(Error::new(
                ErrorKind::UnsupportedModel,
                format!(
                    "model {:?} is not supported by FakeGpt (supported: {})",
                    request.model,
                    Self::MODELS.join(", ")
                ),
            ));
        }
        if request.messages.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                "there are no messages to answer",
            ));
        }
        let base = &self.inner.base;
        let options = request.options;
        let mut ask = Ask::new(base, &request.messages, &options.conversation)?;
        if let Some(pin) = ask.pin.as_ref() {
            if self.inner.session.cooling_down(&pin.account) {
                tracing::info!(
                    account = pin.account,
                    "the conversation's account is cooling down; starting a new kept conversation"
                );
                ask = Ask::flattened(base, &request.messages, true)?;
            }
        }
        let settings = &self.inner.settings;
        let timeouts = options.timeouts.unwrap_or(settings.timeouts);
        let proxy = options.proxy.as_deref().or(settings.proxy.as_deref());
        let resolved = Resolved {
            client: self.inner.clients.get(proxy, timeouts.connect)?,
            timeouts,
            retry: options.retry.unwrap_or(settings.retry),
        };
        let deadline = timeouts.total.map(|d| (Instant::now() + d, d));
        let messages = &request.messages;
        let more = options.auto_continue;
        let attempts = async {
            match self.attempts(&resolved, ask, more, deadline).await {
                Err(err) if err.fell_back => {
                    tracing::info!(
                        error = %err.error,
                        "the conversation cannot be continued; starting a new kept one with the whole history"
                    );
                    let ask = Ask::flattened(base, messages, true)?;
                    self.attempts(&resolved, ask, more, deadline)
                        .await
                        .map_err(|e| e.error)
                }
                other => other.map_err(|e| e.error),
            }
        };
        match deadline {
            Some((at, after)) => tokio::time::timeout_at(at, attempts)
                .await
                .map_err(|_| Step::Conversation.timeout(TimeoutKind::Total, after))?,
            None => attempts.await,
        }
    }
}

impl Provider for FakeGpt {
    fn name(&self) -> &str {
        "FakeGpt"
    }

    fn models(&self) -> Vec<String> {
        Self::MODELS.iter().map(|m| (*m).to_owned()).collect()
    }

    fn chat(&self, request: ChatRequest) -> BoxFuture<Result<Answer, Error>> {
        let this = self.clone();
        Box::pin(async move { FakeGpt::chat(&this, request).await })
    }

    fn ready(&self) -> BoxFuture<Result<(), Error>> {
        let this = self.clone();
        Box::pin(async move {
            // A store that does not answer degrades the service, it does
            // not stop it: the outcome shows in `degraded`.
            let _ = this.inner.session.ping_store().await;
            this.ensure_session().await
        })
    }

    fn counters(&self) -> Vec<Counter> {
        vec![Counter {
            name: "upstream_logins",
            help: "Upstream logins made since start",
            value: self.logins(),
        }]
    }

    fn gauges(&self) -> Vec<Gauge> {
        vec![Gauge {
            name: "store_up",
            help: "Whether the session store answered its last call (1) or not (0)",
            value: i64::from(self.inner.session.store_up()),
        }]
    }

    fn degraded(&self) -> Option<String> {
        (!self.inner.session.store_up()).then(|| {
            "the session store is unavailable: this instance carries on with its own session"
                .to_owned()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    #[test]
    fn base_urls_are_checked() {
        assert!(FakeGpt::new("http://127.0.0.1:1/").is_ok());
        for bad in ["ftp://x", "not a url", "http://x/?q=1"] {
            assert!(
                matches!(FakeGpt::new(bad), Err(e) if e.kind() == ErrorKind::Config),
                "{bad}"
            );
        }
        assert_eq!(
            FakeGpt::new("http://h:1/").unwrap().base_url(),
            "http://h:1"
        );
    }

    #[tokio::test]
    async fn bad_requests_fail_before_any_network() {
        let provider = FakeGpt::new("http://127.0.0.1:9").unwrap();
        let err = provider
            .chat(ChatRequest::new("gpt-4", vec![Message::user("x")]))
            .await
            .err();
        assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::UnsupportedModel));
        let err = provider
            .chat(ChatRequest::new("gpt-3.5-turbo", vec![]))
            .await
            .err();
        assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::InvalidRequest));
        let err = provider
            .chat(ChatRequest::new("gpt-3.5-turbo", vec![Message::user("x")]).proxy("ftp://p:1"))
            .await
            .err();
        assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::Config));
        assert_eq!(provider.logins(), 0);
    }

    #[test]
    fn the_shared_instance_is_one_session() {
        let a = FakeGpt::shared();
        let b = FakeGpt::shared();
        assert!(Arc::ptr_eq(&a.inner, &b.inner));
        assert!(a.is_public_service());
    }
}
