//! The gateway's settings, resolved once at start-up.

use std::time::Duration;

use fakegpt::RequestOptions;

use crate::models::Models;

/// How the gateway behaves.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Accepted API keys; empty means no authentication.
    pub api_keys: Vec<String>,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The longest a client may take to send its request body (408 after).
    pub body_timeout: Duration,
    /// The most chat requests in flight; more get 429.
    pub max_concurrency: usize,
    /// Origins allowed by CORS (`*` for any); empty turns CORS off.
    pub cors_origins: Vec<String>,
    /// Proxy and time limits for every upstream request.
    pub upstream: RequestOptions,
    /// The models served and what they map to.
    pub models: Models,
    /// How long in-flight requests may run on after shutdown begins.
    pub shutdown_grace: Duration,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            api_keys: Vec::new(),
            max_body_bytes: 1024 * 1024,
            body_timeout: Duration::from_secs(30),
            max_concurrency: 1024,
            cors_origins: Vec::new(),
            upstream: RequestOptions::default(),
            models: Models::default(),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}
