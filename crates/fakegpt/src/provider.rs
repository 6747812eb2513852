//! The `Provider` trait: a chat request in, an [`Answer`] out.

use std::future::Future;
use std::pin::Pin;

use crate::answer::Answer;
use crate::error::Error;
use crate::request::ChatRequest;

/// A boxed future, as the object-safe [`Provider`] methods return.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A counter a provider keeps, for metrics (e.g. upstream logins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    /// Its name in `snake_case`, without a prefix (e.g. `upstream_logins`).
    pub name: &'static str,
    /// What it counts, in a few words.
    pub help: &'static str,
    /// Its value now; it only grows.
    pub value: u64,
}

/// A gauge a provider reports, for metrics (e.g. whether its shared store
/// answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gauge {
    /// Its name in `snake_case`, without a prefix (e.g. `store_up`).
    pub name: &'static str,
    /// What it measures, in a few words.
    pub help: &'static str,
    /// Its value now.
    pub value: i64,
}

/// A chat backend: a request in, an [`Answer`] out.
///
/// Object-safe, so servers hold providers as `Arc<dyn Provider>` and need
/// nothing else of them: which upstream, which protocol, how sessions are
/// kept are the provider's own business.
pub trait Provider: Send + Sync {
    /// The provider's name (e.g. `"FakeGpt"`).
    fn name(&self) -> &str;

    /// The models it serves, the default first.
    fn models(&self) -> Vec<String>;

    /// Starts a chat. The future resolves once the first answer text is in
    /// hand (login done, retries spent), so every failure before any text
    /// is an error of the future, and the [`Answer`] starts with that text.
    fn chat(&self, request: ChatRequest) -> BoxFuture<Result<Answer, Error>>;

    /// Checks that the provider can serve requests now (e.g. that its
    /// upstream session is usable, logging in if it has none). The default
    /// says yes.
    fn ready(&self) -> BoxFuture<Result<(), Error>> {
        Box::pin(async { Ok(()) })
    }

    /// Counters for metrics; the same names every time. The default has
    /// none.
    fn counters(&self) -> Vec<Counter> {
        Vec::new()
    }

    /// Gauges for metrics; the same names every time. The default has none.
    fn gauges(&self) -> Vec<Gauge> {
        Vec::new()
    }

    /// What is impaired now while requests are still served (e.g. a shared
    /// store that does not answer, so that the session is this process's
    /// own); `None` when nothing is. As of the last contact: [`ready`]
    /// refreshes it.
    ///
    /// [`ready`]: Provider::ready
    fn degraded(&self) -> Option<String> {
        None
    }
}
