//! What every handler shares: the provider, its models, the settings, the
//! metrics, the concurrency limit and the readiness flag.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use fakegpt::Provider;

use crate::config::{ConfigError, GatewayConfig};
use crate::metrics::Metrics;
use crate::models::Models;

/// The gateway's shared state.
#[doc(hidden)]
pub struct AppState {
    /// The provider requests go to.
    pub provider: Arc<dyn Provider>,
    /// The model ids served, and the provider's model for each.
    pub models: Models,
    /// The settings.
    pub config: GatewayConfig,
    /// Counters and histograms for `/metrics`.
    pub metrics: Metrics,
    /// Permits for requests in flight.
    pub permits: Arc<tokio::sync::Semaphore>,
    /// The fleet-wide cap and the key rates.
    pub limits: crate::limits::Limits,
    /// False once shutdown has begun.
    pub accepting: AtomicBool,
    /// Set when the shutdown grace period is over: requests still running
    /// end at once (streams with an error event, others with a 503).
    pub cut: tokio::sync::watch::Sender<bool>,
}

impl AppState {
    /// State for `provider` with `config`; fails if a model alias names a
    /// model the provider does not serve.
    pub fn new(
        provider: Arc<dyn Provider>,
        config: GatewayConfig,
    ) -> Result<Arc<Self>, ConfigError> {
        let models = Models::new(&provider.models(), &config.model_aliases)?;
        Ok(Arc::new(AppState {
            metrics: Metrics::new(&provider.counters(), &provider.gauges()),
            provider,
            models,
            permits: Arc::new(tokio::sync::Semaphore::new(config.max_concurrency)),
            limits: crate::limits::Limits::default(),
            config,
            accepting: AtomicBool::new(true),
            cut: tokio::sync::watch::Sender::new(false),
        }))
    }
}

/// Completes once the grace period is over (see [`AppState::cut`]).
pub async fn cut(mut signal: tokio::sync::watch::Receiver<bool>) {
    if signal.wait_for(|cut| *cut).await.is_err() {
        std::future::pending::<()>().await;
    }
}
