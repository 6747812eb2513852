//! A blocking facade for callers without an async runtime, as
//! `reqwest::blocking` offers: it owns a small runtime of its own.

use std::sync::Arc;

use futures_util::StreamExt;

use crate::error::Error;
use crate::provider::{ChatRequest, Provider, TextStream};

/// Runs a [`Provider`] from synchronous code.
///
/// Safe to use from any thread that is not itself running inside an async
/// runtime (there it returns [`Error::BlockingInRuntime`] instead of
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
            .map_err(|e| Error::InvalidRequest(format!("could not start a runtime: {e}")))?;
        Ok(Client {
            runtime: Arc::new(RuntimeOwner(Some(runtime))),
            provider,
        })
    }

    /// Starts a chat and returns an iterator over the answer's chunks.
    pub fn chat(&self, request: ChatRequest) -> Result<ChunkIter, Error> {
        let provider = Arc::clone(&self.provider);
        let stream = self.block_on(async move { provider.chat(request).await })??;
        Ok(ChunkIter {
            client: self.clone(),
            stream: Some(stream),
        })
    }

    /// Runs a chat to the end and returns the whole answer.
    pub fn chat_text(&self, request: ChatRequest) -> Result<String, Error> {
        self.chat(request)?.collect()
    }

    fn block_on<F: std::future::Future>(&self, future: F) -> Result<F::Output, Error> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::BlockingInRuntime);
        }
        match &self.runtime.0 {
            Some(runtime) => Ok(runtime.block_on(future)),
            None => Err(Error::BlockingInRuntime),
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
    stream: Option<TextStream>,
}

impl Iterator for ChunkIter {
    type Item = Result<String, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let stream = self.stream.as_mut()?;
        let item = match self.client.block_on(stream.next()) {
            Ok(item) => item,
            Err(err) => Some(Err(err)),
        };
        if !matches!(item, Some(Ok(_))) {
            self.stream = None;
        }
        item
    }
}

impl std::fmt::Debug for ChunkIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkIter")
            .field("done", &self.stream.is_none())
            .finish()
    }
}
