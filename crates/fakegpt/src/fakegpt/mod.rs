//! The FakeGpt provider: gpt4free's client of the chat-shared ChatGPT mirror.
//!
//! - [`session`]: the access token and cookie jar every request shares, with
//!   single-flight login;
//! - [`login`]: the three-step login flow;
//! - [`conversation`]: the chat request and its event stream;
//! - [`wire`]: the JSON shapes;
//! - [`http`]: headers, per-proxy clients, error mapping.

mod conversation;
mod http;
mod login;
pub mod session;
pub mod wire;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::time::Instant;

use crate::error::{Error, Step, TimeoutKind};
use crate::prompt::format_prompt;
use crate::provider::{BoxFuture, ChatRequest, Provider, RequestOptions, TextStream};
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
}

impl std::fmt::Debug for http::Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clients")
    }
}

/// Settings for a [`FakeGpt`] instance.
#[derive(Debug, Clone)]
pub struct FakeGptBuilder {
    base_url: String,
    max_line: usize,
    roots: Vec<Vec<u8>>,
}

impl FakeGptBuilder {
    /// The upstream's base URL (`http` or `https`), e.g. an emulator's.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The longest event line accepted, in bytes.
    pub fn max_line_bytes(mut self, max: usize) -> Self {
        self.max_line = max;
        self
    }

    /// Trusts these CA certificates (PEM, one or more) besides the usual web roots, e.g.
    /// for an upstream or proxy with a private or self-signed certificate.
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.roots.push(pem.into());
        self
    }

    /// Checks the settings and builds the provider.
    pub fn build(self) -> Result<FakeGpt, Error> {
        let base = parse_base_url(&self.base_url)?;
        let mut roots = Vec::new();
        for pem in &self.roots {
            let bundle = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| Error::InvalidCertificate(e.to_string()))?;
            if bundle.is_empty() {
                return Err(Error::InvalidCertificate("no PEM certificate found".into()));
            }
            roots.extend(bundle);
        }
        let session = Session::new();
        let clients = http::Clients::new(session.cookies(), http::browser_headers(&base), roots);
        Ok(FakeGpt {
            inner: Arc::new(Inner {
                base: base.as_str().trim_end_matches('/').to_owned(),
                session,
                clients,
                max_line: self.max_line,
            }),
        })
    }
}

fn parse_base_url(raw: &str) -> Result<url::Url, Error> {
    let invalid = |reason: String| Error::InvalidBaseUrl {
        url: raw.to_owned(),
        reason,
    };
    let url = url::Url::parse(raw.trim()).map_err(|e| invalid(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "the scheme must be http or https, not {:?}",
            url.scheme()
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a base URL takes no query or fragment".into()));
    }
    Ok(url)
}

impl Default for FakeGpt {
    /// A provider for the public service, with a session of its own.
    fn default() -> Self {
        FakeGpt::new_default()
    }
}

impl FakeGpt {
    /// Settings, starting from the defaults.
    pub fn builder() -> FakeGptBuilder {
        FakeGptBuilder {
            base_url: DEFAULT_BASE_URL.into(),
            max_line: crate::decode::DEFAULT_MAX_LINE_BYTES,
            roots: Vec::new(),
        }
    }

    /// A provider for the upstream at `base_url`, with a session of its own.
    pub fn new(base_url: &str) -> Result<Self, Error> {
        Self::builder().base_url(base_url).build()
    }

    fn new_default() -> Self {
        let base =
            url::Url::parse(DEFAULT_BASE_URL).unwrap_or_else(|_| unreachable!("constant URL"));
        let session = Session::new();
        let clients =
            http::Clients::new(session.cookies(), http::browser_headers(&base), Vec::new());
        FakeGpt {
            inner: Arc::new(Inner {
                base: DEFAULT_BASE_URL.into(),
                session,
                clients,
                max_line: crate::decode::DEFAULT_MAX_LINE_BYTES,
            }),
        }
    }

    /// The process-wide instance for the public service, as the original
    /// kept its token and cookies per class: every caller shares one session.
    pub fn shared() -> FakeGpt {
        static SHARED: OnceLock<FakeGpt> = OnceLock::new();
        SHARED.get_or_init(FakeGpt::new_default).clone()
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
        self.token(&client, timeouts.connect, timeouts.idle)
            .await
            .map(|_| ())
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
        let timeouts = request.options.timeouts;
        let deadline = timeouts.total.map(|d| (Instant::now() + d, d));
        let start = self.start(
            request.options.proxy.as_deref(),
            timeouts.connect,
            timeouts.idle,
            prompt,
        );
        let response = match deadline {
            Some((at, after)) => {
                tokio::time::timeout_at(at, start)
                    .await
                    .map_err(|_| Error::Timeout {
                        step: Step::Conversation,
                        kind: TimeoutKind::Total,
                        after,
                    })??
            }
            None => start.await?,
        };
        Ok(conversation::deltas(response, timeouts.idle, deadline, self.inner.max_line).boxed())
    }

    /// Logs in if needed and starts the conversation; on 401/403 drops the
    /// session, logs in once more and retries once (nothing has been yielded
    /// yet at this point).
    async fn start(
        &self,
        proxy: Option<&str>,
        connect: Option<Duration>,
        idle: Option<Duration>,
        prompt: String,
    ) -> Result<reqwest::Response, Error> {
        let client = self.inner.clients.get(proxy, connect)?;
        let body = wire::ConversationRequest::new(prompt);
        let mut retried = false;
        loop {
            let token = self.token(&client, connect, idle).await?;
            let outcome = conversation::start(&client, &self.inner.base, &token, &body, connect);
            let outcome = match idle {
                Some(after) => {
                    tokio::time::timeout(after, outcome)
                        .await
                        .unwrap_or(Err(Error::Timeout {
                            step: Step::Conversation,
                            kind: TimeoutKind::Idle,
                            after,
                        }))
                }
                None => outcome.await,
            };
            match outcome {
                Err(Error::Status {
                    status: 401 | 403, ..
                }) if !retried => {
                    tracing::info!("the upstream rejected the access token; logging in again");
                    self.inner.session.invalidate(&token).await;
                    retried = true;
                }
                other => return other,
            }
        }
    }

    async fn token(
        &self,
        client: &reqwest::Client,
        connect: Option<Duration>,
        idle: Option<Duration>,
    ) -> Result<AccessToken, Error> {
        let ctx = login::LoginContext {
            client,
            base: &self.inner.base,
            connect_timeout: connect,
            step_timeout: idle,
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
