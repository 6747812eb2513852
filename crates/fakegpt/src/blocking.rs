//! A blocking facade for callers without an async runtime, as
//! `reqwest::blocking` offers: it owns a small runtime of its own.

use std::sync::Arc;

use futures_util::StreamExt;

use crate::answer::Answer;
use crate::error::{Error, ErrorKind};
use crate::provider::Provider;
use crate::request::ChatRequest;

/// Runs a [`Provider`] from synchronous code.
///
/// Safe to use from any thread that is not itself running inside an async
/// runtime (there it returns an [`ErrorKind::Config`] error instead of
/// panicking). Clones share the runtime and the provider.
#[derive(Clone)]
pub struct Client {
    runtime: Arc<RuntimeOwner>,
    provider: Arc<dyn Provider>,
}

struct RuntimeOwner(Option<tokio::runtime::Runtime>);

impl Drop for RuntimeOwner {
    fn drop(&mut self) {
        // Never blocks, so dropping the client inside async code is fine too.
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl Client {
    /// A client for `provider`, with a one-worker runtime of its own.
    pub fn new(provider: Arc<dyn Provider>) -> Result<Self, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("fakegpt-blocking")
            .enable_all()
            .build()
            .map_err(|e| {
                Error::new(ErrorKind::Config, format!("could not start a runtime: {e}"))
            })?;
        Ok(Client {
            runtime: Arc::new(RuntimeOwner(Some(runtime))),
            provider,
        })
    }

    /// Starts a chat and returns an iterator over the answer's chunks.
    pub fn chat(&self, request: ChatRequest) -> Result<ChunkIter, Error> {
        let provider = Arc::clone(&self.provider);
        let answer = self.block_on(async move { provider.chat(request).await })??;
        Ok(ChunkIter {
            client: self.clone(),
            answer: Some(answer),
        })
    }

    /// Runs a chat to the end and returns the whole answer.
    pub fn chat_text(&self, request: ChatRequest) -> Result<String, Error> {
        self.chat(request)?.collect()
    }

    fn block_on<F: std::future::Future>(&self, future: F) -> Result<F::Output, Error> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::new(
                ErrorKind::Config,
                "the blocking client cannot be used from inside an async runtime; use the async API there",
            ));
        }
        match &self.runtime.0 {
            Some(runtime) => Ok(runtime.block_on(future)),
            None => Err(Error::new(
                ErrorKind::Cancelled,
                "the blocking client's runtime has shut down",
            )),
        }
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("provider", &self.provider.name())
            .finish()
    }
}

/// The chunks of one answer, fetched as the iterator is advanced. Dropping
/// it cancels the request.
pub struct ChunkIter {
    client: Client,
    answer: Option<Answer>,
}

impl ChunkIter {
    /// Why the answer ended, once the iterator is exhausted and if the
    /// upstream said.
    pub fn finish_reason(&self) -> Option<crate::FinishReason> {
        self.answer.as_ref().and_then(Answer::finish_reason)
    }
}

impl Iterator for ChunkIter {
    type Item = Result<String, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let answer = self.answer.as_mut()?;
        let item = match self.client.block_on(answer.next()) {
            Ok(item) => item,
            Err(err) => Some(Err(err)),
        };
        // The answer stays (for its finish reason) but is not polled again.
        if matches!(item, Some(Err(_))) {
            self.answer = None;
        }
        item
    }
}

impl std::fmt::Debug for ChunkIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkIter")
            .field("answer", &self.answer)
            .finish()
    }
}
