//! One connection to Redis, with the rules every use of it follows: each
//! command bounded by [`OP_TIMEOUT`], a rest after a failure (calls fail at
//! once instead of waiting on a Redis that is gone), one warning when it
//! goes and one line when it is back, and errors that never hold the URL.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::error::{Error, ErrorKind};

/// The longest any one Redis command may take.
pub const OP_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a Redis that failed is left alone before the next try: calls in
/// between fail at once instead of waiting on it.
const RETRY_AFTER: Duration = Duration::from_secs(2);

/// A lazily made connection that reconnects, with its health.
pub struct Link {
    connection: ConnectionManager,
    /// Whether the last command succeeded (a change is logged once).
    up: AtomicBool,
    /// No command before this, after a failure.
    resting_until: Mutex<Option<tokio::time::Instant>>,
    /// What it is for, in the log lines (`store`, `fleet limits`).
    purpose: &'static str,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("purpose", &self.purpose)
            .finish_non_exhaustive()
    }
}

impl Link {
    /// A link to `url` (`redis://` or `rediss://`, user and password in
    /// it). Connects at the first command, and again after a loss.
    pub fn open(url: &str, purpose: &'static str) -> Result<Link, Error> {
        let client = redis::Client::open(url).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("invalid Redis URL: {}", e.category()),
            )
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(OP_TIMEOUT))
            .set_response_timeout(Some(OP_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let connection = ConnectionManager::new_lazy_with_config(client, config).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("could not set up Redis: {}", e.category()),
            )
        })?;
        Ok(Link {
            connection,
            up: AtomicBool::new(true),
            resting_until: Mutex::new(None),
            purpose,
        })
    }

    /// A handle on the connection, for one call.
    pub fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }

    /// Runs one command within [`OP_TIMEOUT`]; after a failure, fails at
    /// once for [`RETRY_AFTER`]. The first failure after a success is
    /// logged as a warning, the first success after failures as news.
    pub async fn run<T>(
        &self,
        call: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, Error> {
        let now = tokio::time::Instant::now();
        let resting = *self.resting_until.lock().unwrap_or_else(|p| p.into_inner());
        if resting.is_some_and(|until| now < until) {
            return Err(Error::new(
                ErrorKind::Connect,
                "Redis is unavailable (resting before the next try)",
            ));
        }
        let outcome = bounded(call).await;
        match &outcome {
            Ok(_) => {
                if !self.up.swap(true, Ordering::Relaxed) {
                    tracing::info!(purpose = self.purpose, "Redis is back");
                }
            }
            Err(err) => {
                *self.resting_until.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(tokio::time::Instant::now() + RETRY_AFTER);
                if self.up.swap(false, Ordering::Relaxed) {
                    tracing::warn!(
                        %err,
                        purpose = self.purpose,
                        "Redis is unavailable; carrying on without it until it is back"
                    );
                }
            }
        }
        outcome
    }
}

/// Runs one Redis call within [`OP_TIMEOUT`], its error made ours (no URL,
/// no password: only what kind of failure it was).
pub async fn bounded<T>(
    call: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, Error> {
    match tokio::time::timeout(OP_TIMEOUT, call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(Error::new(
            if err.is_timeout() {
                ErrorKind::Timeout
            } else {
                ErrorKind::Connect
            },
            format!("Redis: {}", err.category()),
        )),
        Err(_) => Err(Error::new(
            ErrorKind::Timeout,
            format!("Redis did not answer within {} ms", OP_TIMEOUT.as_millis()),
        )),
    }
}
