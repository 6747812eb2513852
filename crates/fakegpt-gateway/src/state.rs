//! What every handler shares: the provider, the settings, the metrics, the
//! concurrency limit and the readiness flag.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use fakegpt::Provider;

use crate::config::GatewayConfig;
use crate::metrics::Metrics;

/// The gateway's shared state.
pub struct AppState {
    /// The provider requests go to.
    pub provider: Arc<dyn Provider>,
    /// The settings.
    pub config: GatewayConfig,
    /// Counters and histograms for `/metrics`.
    pub metrics: Metrics,
    /// Permits for requests in flight.
    pub permits: Arc<tokio::sync::Semaphore>,
    /// False once shutdown has begun.
    pub accepting: AtomicBool,
    /// Set when the shutdown grace period is over: requests still running
    /// end at once (streams with an error event, others with a 503).
    pub cut: tokio::sync::watch::Sender<bool>,
}

impl AppState {
    /// State for `provider` with `config`.
    pub fn new(provider: Arc<dyn Provider>, config: GatewayConfig) -> Arc<Self> {
        Arc::new(AppState {
            provider,
            permits: Arc::new(tokio::sync::Semaphore::new(config.max_concurrency)),
            config,
            metrics: Metrics::new(),
            accepting: AtomicBool::new(true),
            cut: tokio::sync::watch::Sender::new(false),
        })
    }
}

/// Completes once the grace period is over (see [`AppState::cut`]).
pub async fn cut(mut signal: tokio::sync::watch::Receiver<bool>) {
    if signal.wait_for(|cut| *cut).await.is_err() {
        std::future::pending::<()>().await;
    }
}
