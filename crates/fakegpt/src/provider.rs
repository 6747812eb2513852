//! The `Provider` trait: a chat request in, a stream of text chunks out; and
//! a registry to find providers by name.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::Stream;

use crate::error::Error;
use crate::message::Message;

/// A stream of answer text, chunk by chunk, as the upstream produces it.
/// Dropping it cancels the request behind it.
pub type TextStream = Pin<Box<dyn Stream<Item = Result<String, Error>> + Send + 'static>>;

/// A boxed future, as the object-safe [`Provider::chat`] returns.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Time limits for one request. `None` means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Connecting to the upstream or the proxy.
    pub connect: Option<Duration>,
    /// The longest wait for the first answer text once the conversation
    /// request is sent (each attempt). `None`: only `idle` applies.
    pub first_byte: Option<Duration>,
    /// The longest wait for the next bytes of an answer (and for each
    /// login step's answer).
    pub idle: Option<Duration>,
    /// The whole request, login and retries included, until the answer ends.
    pub total: Option<Duration>,
}

impl Default for Timeouts {
    /// 10 s to connect, 60 s to the first text, 60 s without bytes, no
    /// total limit.
    fn default() -> Self {
        Timeouts {
            connect: Some(Duration::from_secs(10)),
            first_byte: Some(Duration::from_secs(60)),
            idle: Some(Duration::from_secs(60)),
            total: None,
        }
    }
}

/// How failures before the first answer text are retried: connection
/// failures, 429 and 5xx answers (at any step), with jittered exponential
/// backoff or the upstream's `Retry-After`. Nothing is retried once text
/// has been yielded, so text is never duplicated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all; 1 means no retry.
    pub max_attempts: u32,
    /// The delay before the first retry; each next one doubles, up to
    /// `max_delay`, and is jittered down to half of that at random.
    pub base_delay: Duration,
    /// The longest delay between attempts.
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; a longer one fails at once.
    pub max_retry_after: Duration,
}

impl RetryPolicy {
    /// No retries at all.
    pub const NONE: RetryPolicy = RetryPolicy {
        max_attempts: 1,
        base_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
        max_retry_after: Duration::ZERO,
    };
}

impl Default for RetryPolicy {
    /// 3 attempts, 250 ms doubling to at most 8 s, `Retry-After` up to 30 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

/// Per-request options, as gpt4free's `proxy` argument and its timeouts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOptions {
    /// A proxy for this request: `http://`, `https://`, `socks5://` or
    /// `socks5h://`, with optional `user:password@`.
    pub proxy: Option<String>,
    /// Time limits.
    pub timeouts: Timeouts,
    /// Retries before the first answer text.
    pub retry: RetryPolicy,
}

/// One chat request.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// The model asked for (e.g. `gpt-3.5-turbo`).
    pub model: String,
    /// The conversation so far, the last message being the one to answer.
    pub messages: Vec<Message>,
    /// Proxy and time limits.
    pub options: RequestOptions,
}

impl ChatRequest {
    /// A request with default options.
    pub fn new(model: impl Into<String>, messages: Vec<Message>) -> Self {
        ChatRequest {
            model: model.into(),
            messages,
            options: RequestOptions::default(),
        }
    }

    /// Sets the proxy.
    pub fn proxy(mut self, proxy: impl Into<String>) -> Self {
        self.options.proxy = Some(proxy.into());
        self
    }

    /// Sets the time limits.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.options.timeouts = timeouts;
        self
    }

    /// Sets the retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.options.retry = retry;
        self
    }
}

/// A chat backend: a request in, a stream of text chunks out.
///
/// Object-safe, so providers live as `Arc<dyn Provider>` in a [`Registry`].
pub trait Provider: Send + Sync {
    /// The provider's name, as the registry knows it (e.g. `"FakeGpt"`).
    fn name(&self) -> &'static str;

    /// The upstream service this provider talks to.
    fn url(&self) -> &str;

    /// Whether the provider is believed to work against its default upstream.
    fn working(&self) -> bool;

    /// The models it serves; the first is the default.
    fn models(&self) -> &[&'static str];

    /// Starts a chat. The future resolves with the first answer text in
    /// hand (login done, retries spent), so every failure before any answer
    /// text is an error of the future; the stream then yields the answer,
    /// starting with that text.
    fn chat(&self, request: ChatRequest) -> BoxFuture<Result<TextStream, Error>>;

    /// Checks that the provider can serve requests now, e.g. that its
    /// upstream session is usable (logging in if it has none). The default
    /// says yes.
    fn ready(&self, options: RequestOptions) -> BoxFuture<Result<(), Error>> {
        let _ = options;
        Box::pin(async { Ok(()) })
    }

    /// How many upstream logins the provider has made, for metrics.
    fn logins(&self) -> u64 {
        0
    }
}

/// Providers by name.
#[derive(Clone, Default)]
pub struct Registry {
    providers: BTreeMap<&'static str, Arc<dyn Provider>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The registry of this crate's providers, with their shared default
    /// instances.
    pub fn with_defaults() -> Self {
        let mut registry = Self::new();
        registry.register(Arc::new(crate::fakegpt::FakeGpt::shared()));
        registry
    }

    /// Adds (or replaces) a provider under its name.
    pub fn register(&mut self, provider: Arc<dyn Provider>) {
        self.providers.insert(provider.name(), provider);
    }

    /// The provider with this name, compared without regard to ASCII case.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Provider>> {
        self.providers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| Arc::clone(v))
    }

    /// The names of all registered providers, sorted.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.providers.keys().copied()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_registry_finds_fakegpt_by_name() {
        let registry = Registry::with_defaults();
        assert_eq!(registry.names().collect::<Vec<_>>(), ["FakeGpt"]);
        let provider = registry.get("fakegpt").expect("case-insensitive lookup");
        assert_eq!(provider.name(), "FakeGpt");
        assert_eq!(provider.url(), crate::fakegpt::DEFAULT_BASE_URL);
        assert_eq!(provider.models(), ["gpt-3.5-turbo"]);
        assert!(registry.get("Bing").is_none());
    }

    #[test]
    fn providers_can_be_replaced_under_their_name() {
        let mut registry = Registry::new();
        let local = crate::FakeGpt::new("http://127.0.0.1:1").unwrap();
        registry.register(Arc::new(crate::FakeGpt::shared()));
        registry.register(Arc::new(local));
        assert_eq!(registry.get("FakeGpt").unwrap().url(), "http://127.0.0.1:1");
        assert!(registry.get("FakeGpt").unwrap().working());
    }
}
