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
        })
    }
}
