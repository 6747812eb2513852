//! The FakeGpt provider: gpt4free's client of the chat-shared ChatGPT mirror.
//!
//! - [`session`]: the access token and cookie jar every request shares, with
//!   single-flight login, login backoff and account cooldowns;
//! - [`login`]: the three-step login flow;
//! - [`conversation`]: the chat request and its event stream;
//! - [`retry`]: which failures are retried, and when;
//! - [`cookies`]: the session's cookie jar, one origin, never logged;
//! - [`builder`]: the settings; [`wire`]: the JSON shapes;
//! - [`http`]: headers, per-proxy clients, error mapping.

mod builder;
mod conversation;
mod cookies;
mod http;
mod login;
mod retry;
pub mod session;
pub mod wire;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::time::Instant;

pub use builder::FakeGptBuilder;

use crate::error::{Error, Step, TimeoutKind};
use crate::prompt::format_prompt;
use crate::provider::{BoxFuture, ChatRequest, Provider, RequestOptions, TextStream, Timeouts};
use session::{AccessToken, Session};

/// The public service the original provider talked to (offline since 2024).
pub const DEFAULT_BASE_URL: &str = "https://chat-shared2.zhile.io";

/// The models FakeGpt serves; the first is the default.
pub const MODELS: &[&str] = &["gpt-3.5-turbo"];

/// Checks a proxy URL the way requests will use it, for callers that want
/// to report a bad one before sending anything.
pub fn check_proxy(url: &str) -> Result<(), Error> {
    http::parse_proxy(url).map(|_| ())
}

/// The FakeGpt provider. Cloning is cheap and shares the session: every
/// clone uses the same access token and cookie jar.
#[derive(Clone, Debug)]
pub struct FakeGpt {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    base: String,
    session: Session,
    clients: http::Clients,
    max_line: usize,
    max_answer: usize,
    account_cooldown: Duration,
}

impl std::fmt::Debug for http::Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clients")
    }
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

    /// How many logins this provider's session has made.
    pub fn logins(&self) -> u64 {
        self.inner.session.logins()
    }

    /// Whether an access token is held now (a request would not log in).
    pub async fn has_session(&self) -> bool {
        self.inner.session.has_token().await
    }

    /// Makes sure the session holds an access token, logging in if it has
    /// none (single-flight, like any request).
    pub async fn ensure_session(&self, options: &RequestOptions) -> Result<(), Error> {
        let timeouts = options.timeouts;
        let client = self
            .inner
            .clients
            .get(options.proxy.as_deref(), timeouts.connect)?;
        self.token(&client, &timeouts).await.map(|_| ())
    }

    /// Starts a chat; see [`Provider::chat`].
    pub async fn chat(&self, request: ChatRequest) -> Result<TextStream, Error> {
        if !MODELS
            .iter()
            .any(|m| m.eq_ignore_ascii_case(&request.model))
            && !request.model.is_empty()
        {
            return Err(Error::UnsupportedModel {
                model: request.model,
                provider: "FakeGpt",
                supported: MODELS.join(", "),
            });
        }
        if request.messages.is_empty() {
            return Err(Error::InvalidRequest(
                "there are no messages to answer".into(),
            ));
        }
        let prompt = format_prompt(&request.messages);
        if prompt.trim().is_empty() {
            return Err(Error::InvalidRequest("the prompt is empty".into()));
        }
        let options = request.options;
        let deadline = options.timeouts.total.map(|d| (Instant::now() + d, d));
        let attempts = self.attempts(&options, prompt, deadline);
        match deadline {
            Some((at, after)) => {
                tokio::time::timeout_at(at, attempts)
                    .await
                    .map_err(|_| Error::Timeout {
                        step: Step::Conversation,
                        kind: TimeoutKind::Total,
                        after,
                    })?
            }
            None => attempts.await,
        }
    }

    /// Attempts the chat until it yields its first text, retrying what
    /// [`retry::retryable`] allows.
    async fn attempts(
        &self,
        options: &RequestOptions,
        prompt: String,
        deadline: Option<(Instant, Duration)>,
    ) -> Result<TextStream, Error> {
        let client = self
            .inner
            .clients
            .get(options.proxy.as_deref(), options.timeouts.connect)?;
        let body = wire::ConversationRequest::new(prompt);
        let policy = options.retry;
        let mut attempt = 1;
        loop {
            let err = match self
                .attempt(&client, &body, &options.timeouts, deadline)
                .await
            {
                Ok(stream) => return Ok(stream),
                Err(err) => err,
            };
            if attempt >= policy.max_attempts || !retry::retryable(&err) {
                return Err(err);
            }
            let Some(wait) = retry::delay(&policy, attempt, &err, &mut rand::rng()) else {
                return Err(err);
            };
            tracing::info!(attempt, ?wait, error = %err, "retrying the chat");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// One attempt: log in if needed, send the conversation (logging in
    /// again once on 401/403), and wait for the first answer text.
    async fn attempt(
        &self,
        client: &reqwest::Client,
        body: &wire::ConversationRequest,
        timeouts: &Timeouts,
        deadline: Option<(Instant, Duration)>,
    ) -> Result<TextStream, Error> {
        let first = async {
            let response = self.start(client, body, timeouts).await?;
            let decoder = crate::decode::Decoder::new(self.inner.max_line)
                .with_max_answer(self.inner.max_answer);
            let mut stream =
                conversation::deltas(response, timeouts.idle, deadline, decoder).boxed();
            match stream.next().await {
                Some(Ok(text)) => Ok((text, stream)),
                Some(Err(err)) => Err(err),
                None => Err(Error::NoValidResponse),
            }
        };
        let (text, rest) = match timeouts.first_byte {
            Some(after) => {
                tokio::time::timeout(after, first)
                    .await
                    .unwrap_or(Err(Error::Timeout {
                        step: Step::Conversation,
                        kind: TimeoutKind::FirstByte,
                        after,
                    }))?
            }
            None => first.await?,
        };
        Ok(futures_util::stream::once(async { Ok(text) })
            .chain(rest)
            .boxed())
    }

    /// Sends the conversation with the session's token; on 401/403 drops
    /// the session, logs in once more and sends it again.
    async fn start(
        &self,
        client: &reqwest::Client,
        body: &wire::ConversationRequest,
        timeouts: &Timeouts,
    ) -> Result<reqwest::Response, Error> {
        let mut renewed = false;
        loop {
            let token = self.token(client, timeouts).await?;
            let outcome =
                conversation::start(client, &self.inner.base, &token, body, timeouts.connect).await;
            match outcome {
                Err(Error::Status {
                    status: 401 | 403, ..
                }) if !renewed => {
                    tracing::info!("the upstream rejected the access token; logging in again");
                    self.inner.session.invalidate(&token).await;
                    renewed = true;
                }
                other => return other,
            }
        }
    }

    async fn token(
        &self,
        client: &reqwest::Client,
        timeouts: &Timeouts,
    ) -> Result<AccessToken, Error> {
        let ctx = login::LoginContext {
            client,
            base: &self.inner.base,
            connect_timeout: timeouts.connect,
            step_timeout: timeouts.idle,
            session: &self.inner.session,
            cooldown: self.inner.account_cooldown,
        };
        self.inner.session.token(|| login::login(&ctx)).await
    }
}

impl Provider for FakeGpt {
    fn name(&self) -> &'static str {
        "FakeGpt"
    }

    fn url(&self) -> &str {
        &self.inner.base
    }

    fn working(&self) -> bool {
        // The public service has been offline since early 2024.
        self.inner.base != DEFAULT_BASE_URL
    }

    fn models(&self) -> &[&'static str] {
        MODELS
    }

    fn chat(&self, request: ChatRequest) -> BoxFuture<Result<TextStream, Error>> {
        let this = self.clone();
        Box::pin(async move { FakeGpt::chat(&this, request).await })
    }

    fn ready(&self, options: RequestOptions) -> BoxFuture<Result<(), Error>> {
        let this = self.clone();
        Box::pin(async move { this.ensure_session(&options).await })
    }

    fn logins(&self) -> u64 {
        FakeGpt::logins(self)
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
                matches!(FakeGpt::new(bad), Err(Error::InvalidBaseUrl { .. })),
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
        assert!(matches!(err, Some(Error::UnsupportedModel { .. })));
        let err = provider
            .chat(ChatRequest::new("gpt-3.5-turbo", vec![]))
            .await
            .err();
        assert!(matches!(err, Some(Error::InvalidRequest(_))));
        let err = provider
            .chat(ChatRequest::new("gpt-3.5-turbo", vec![Message::user("x")]).proxy("ftp://p:1"))
            .await
            .err();
        assert!(matches!(err, Some(Error::InvalidProxy { .. })), "{err:?}");
        assert_eq!(provider.logins(), 0);
    }

    #[test]
    fn the_shared_instance_is_one_session() {
        let a = FakeGpt::shared();
        let b = FakeGpt::shared();
        assert!(Arc::ptr_eq(&a.inner, &b.inner));
        assert!(!Provider::working(&a));
    }
}
