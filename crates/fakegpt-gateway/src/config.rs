//! The gateway's settings: built and checked once, before serving, so that
//! every program embedding the gateway gets the same safety as
//! `fakegpt serve`.

use std::net::IpAddr;
use std::time::Duration;

/// A setting the gateway cannot run with; the message names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl ConfigError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        ConfigError(message.into())
    }
}

/// How the gateway behaves; [`GatewayConfig::builder`] makes one.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub(crate) api_keys: Vec<String>,
    pub(crate) allow_unauthenticated: bool,
    pub(crate) max_body_bytes: usize,
    pub(crate) body_timeout: Duration,
    pub(crate) max_concurrency: usize,
    pub(crate) cors_origins: Vec<String>,
    pub(crate) model_aliases: Vec<(String, String)>,
    pub(crate) shutdown_grace: Duration,
    pub(crate) fleet: Option<fakegpt::Fleet>,
    pub(crate) max_concurrency_global: Option<u32>,
    pub(crate) key_rate_limit: Option<u32>,
    pub(crate) web: bool,
    pub(crate) conversations: Option<std::sync::Arc<fakegpt::ConversationIndex>>,
}

impl Default for GatewayConfig {
    /// No API keys (loopback only), 1 MiB bodies sent within 30 s, 1024
    /// requests in flight, no CORS, no aliases, 30 s of grace at shutdown,
    /// the chat page at `/`.
    fn default() -> Self {
        GatewayConfig {
            api_keys: Vec::new(),
            allow_unauthenticated: false,
            max_body_bytes: 1024 * 1024,
            body_timeout: Duration::from_secs(30),
            max_concurrency: 1024,
            cors_origins: Vec::new(),
            model_aliases: Vec::new(),
            shutdown_grace: Duration::from_secs(30),
            fleet: None,
            max_concurrency_global: None,
            key_rate_limit: None,
            web: true,
            conversations: None,
        }
    }
}

impl GatewayConfig {
    /// Settings, starting from the defaults.
    pub fn builder() -> GatewayConfigBuilder {
        GatewayConfigBuilder {
            config: GatewayConfig::default(),
        }
    }

    /// The largest request body accepted, in bytes.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// The most chat requests in flight.
    pub fn max_concurrency(&self) -> usize {
        self.max_concurrency
    }

    /// Whether the chat page is served at `/`.
    pub fn serves_page(&self) -> bool {
        self.web
    }

    /// Whether conversations are continued on the upstream.
    pub fn native_conversations(&self) -> bool {
        self.conversations.is_some()
    }

    /// Whether clients must send an API key.
    pub fn requires_key(&self) -> bool {
        !self.api_keys.is_empty()
    }

    /// Checks that every model alias names one of the provider's `models`
    /// (as [`router`](crate::router) and [`serve`](crate::serve) will).
    pub fn check_models(&self, models: &[String]) -> Result<(), ConfigError> {
        crate::models::Models::new(models, &self.model_aliases).map(|_| ())
    }

    /// Refuses to serve an API without keys on `host` unless it is a
    /// loopback address or that was allowed: anyone who can reach it could
    /// use the upstream account.
    pub fn check_exposure(&self, host: &str) -> Result<(), ConfigError> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let loopback =
            host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if loopback || self.requires_key() || self.allow_unauthenticated {
            return Ok(());
        }
        Err(ConfigError::new(format!(
            "refusing to serve without an API key on the non-loopback address {host}"
        )))
    }
}

/// Builds a [`GatewayConfig`], checking each setting.
#[derive(Debug, Clone)]
pub struct GatewayConfigBuilder {
    config: GatewayConfig,
}

impl GatewayConfigBuilder {
    /// Accepts `key` as `Authorization: Bearer KEY`; call again for more.
    /// Blank keys are ignored.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        let key = key.into().trim().to_owned();
        if !key.is_empty() {
            self.config.api_keys.push(key);
        }
        self
    }

    /// Allows serving without API keys on a non-loopback address.
    pub fn allow_unauthenticated(mut self, allow: bool) -> Self {
        self.config.allow_unauthenticated = allow;
        self
    }

    /// The largest request body accepted, in bytes (413 above; at least 1).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.config.max_body_bytes = bytes;
        self
    }

    /// How long a client may take to send its request body (408 after).
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.config.body_timeout = timeout;
        self
    }

    /// The most chat requests in flight (429 above; at least 1).
    pub fn max_concurrency(mut self, max: usize) -> Self {
        self.config.max_concurrency = max;
        self
    }

    /// Lets browsers call the API from `origin` (`*` for any); call again
    /// for more. CORS is off without one.
    pub fn cors_origin(mut self, origin: impl Into<String>) -> Self {
        self.config.cors_origins.push(origin.into());
        self
    }

    /// Serves the provider's `model` under the extra id `alias` too.
    pub fn model_alias(mut self, alias: impl Into<String>, model: impl Into<String>) -> Self {
        let (alias, model) = (alias.into(), model.into());
        self.config
            .model_aliases
            .push((alias.trim().to_owned(), model.trim().to_owned()));
        self
    }

    /// How long requests in flight may run on after shutdown begins.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.config.shutdown_grace = grace;
        self
    }

    /// Keeps the fleet-wide limits in `fleet` (the Redis the instances
    /// share: [`fakegpt::Store::fleet`]).
    pub fn fleet(mut self, fleet: fakegpt::Fleet) -> Self {
        self.config.fleet = Some(fleet);
        self
    }

    /// The most chat requests in flight across every instance sharing the
    /// [`fleet`](Self::fleet) (429 above; at least 1). Each instance's own
    /// [`max_concurrency`](Self::max_concurrency) holds too.
    pub fn max_concurrency_global(mut self, max: u32) -> Self {
        self.config.max_concurrency_global = Some(max);
        self
    }

    /// The most chat requests per API key in any minute (429 with
    /// `Retry-After` above; at least 1): counted across the fleet when there
    /// is one, else by this instance.
    pub fn key_rate_limit(mut self, per_minute: u32) -> Self {
        self.config.key_rate_limit = Some(per_minute);
        self
    }

    /// Serves the chat page at `/` (on by default). The page is public, like
    /// any page; the API behind it still asks for a key when there are keys.
    pub fn web(mut self, on: bool) -> Self {
        self.config.web = on;
        self
    }

    /// Continues conversations on the upstream (off by default): a request
    /// whose history `index` holds continues that conversation with its
    /// last message only; any other starts a new conversation kept on the
    /// upstream (see the `native` module). On a shared account, others who
    /// share it may see kept conversations: this must be the operator's
    /// explicit choice.
    pub fn native_conversations(mut self, index: fakegpt::ConversationIndex) -> Self {
        self.config.conversations = Some(std::sync::Arc::new(index));
        self
    }

    /// Checks the settings.
    pub fn build(self) -> Result<GatewayConfig, ConfigError> {
        let config = self.config;
        if config.max_body_bytes == 0 {
            return Err(ConfigError::new(
                "the body size limit must be at least 1 byte",
            ));
        }
        if config.max_concurrency == 0 {
            return Err(ConfigError::new(
                "the concurrency limit must be at least 1 request",
            ));
        }
        if config.max_concurrency_global == Some(0) {
            return Err(ConfigError::new(
                "the fleet-wide concurrency limit must be at least 1 request",
            ));
        }
        if config.max_concurrency_global.is_some() && config.fleet.is_none() {
            return Err(ConfigError::new(
                "a fleet-wide concurrency limit needs a Redis store shared by the fleet",
            ));
        }
        if config.key_rate_limit == Some(0) {
            return Err(ConfigError::new(
                "the key rate limit must be at least 1 request a minute",
            ));
        }
        if config.body_timeout.is_zero() {
            return Err(ConfigError::new("the body timeout must be more than 0 s"));
        }
        for origin in &config.cors_origins {
            let valid = origin == "*"
                || url::Url::parse(origin).is_ok_and(|u| {
                    matches!(u.scheme(), "http" | "https")
                        && u.origin().ascii_serialization() == origin.trim_end_matches('/')
                });
            if !valid {
                return Err(ConfigError::new(format!(
                    "CORS origin {origin:?} is not `*` or scheme://host[:port]"
                )));
            }
        }
        for (alias, model) in &config.model_aliases {
            if alias.is_empty() || model.is_empty() {
                return Err(ConfigError::new(format!(
                    "model alias {alias:?}={model:?} needs both an alias and a model"
                )));
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        assert!(GatewayConfig::builder().build().is_ok());
        for bad in [
            GatewayConfig::builder().max_concurrency(0),
            GatewayConfig::builder().max_body_bytes(0),
            GatewayConfig::builder().body_timeout(Duration::ZERO),
            GatewayConfig::builder().cors_origin("example.com"),
            GatewayConfig::builder().cors_origin("https://example.com/path"),
            GatewayConfig::builder().model_alias(" ", "gpt-3.5-turbo"),
            GatewayConfig::builder().max_concurrency_global(10),
            GatewayConfig::builder().key_rate_limit(0),
        ] {
            assert!(bad.clone().build().is_err(), "{bad:?}");
        }
        let ok = GatewayConfig::builder()
            .cors_origin("https://example.com")
            .cors_origin("http://127.0.0.1:3000")
            .cors_origin("*")
            .build();
        assert!(ok.is_ok(), "{ok:?}");
    }

    #[test]
    fn an_open_api_stays_on_loopback_unless_allowed() {
        let open = GatewayConfig::default();
        for host in ["127.0.0.1", "localhost", "::1", "[::1]"] {
            assert!(open.check_exposure(host).is_ok(), "{host}");
        }
        assert!(open.check_exposure("0.0.0.0").is_err());
        let keyed = GatewayConfig::builder().api_key("sk-1").build().unwrap();
        assert!(keyed.check_exposure("0.0.0.0").is_ok());
        let allowed = GatewayConfig::builder()
            .allow_unauthenticated(true)
            .build()
            .unwrap();
        assert!(allowed.check_exposure("0.0.0.0").is_ok());
    }
}
