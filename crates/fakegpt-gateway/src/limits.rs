//! Limits on chat requests beyond the instance's own concurrency cap: a cap
//! across the fleet (leases in the shared Redis) and a request rate per API
//! key (counted in the shared Redis, or by this instance without one).
//!
//! When the shared Redis fails, service degrades and goes on: the fleet cap
//! is not enforced (each instance's own cap still is) and key rates are
//! counted by each instance alone, so a fleet of N allows up to N times the
//! rate until Redis is back.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::config::GatewayConfig;
use crate::error::ApiError;

/// The window of the key rate limit.
const WINDOW: Duration = Duration::from_secs(60);

/// Who a request is from, for rate limits: a digest of its API key (never
/// the key), or `anonymous` when the gateway has no keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientId(String);

impl ClientId {
    /// A client without a key.
    pub fn anonymous() -> ClientId {
        ClientId("anonymous".to_owned())
    }

    /// The client presenting `key`: the first 16 bytes of its SHA-256, in
    /// hex (what Redis sees).
    pub fn of_key(key: &str) -> ClientId {
        let digest = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
        let hex = digest.as_ref()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        ClientId(hex)
    }
}

/// The limits of one gateway.
#[derive(Debug, Default)]
pub struct Limits {
    /// Each client's requests in the last window, when counted here (no
    /// fleet, or its Redis failing). Bounded: one entry per configured key
    /// (and `anonymous`), each at most the limit long.
    local: Mutex<HashMap<ClientId, VecDeque<Instant>>>,
}

/// What a request holds while it runs: its slot of the fleet's cap, if any.
pub type FleetSlot = Option<fakegpt::Lease>;

impl Limits {
    /// Counts one request of `client` against the key rate limit; a 429
    /// with the time to wait when it is over.
    pub async fn count(&self, config: &GatewayConfig, client: &ClientId) -> Result<(), ApiError> {
        let Some(per_minute) = config.key_rate_limit else {
            return Ok(());
        };
        if let Some(fleet) = &config.fleet {
            match fleet.count(&client.0, per_minute).await {
                Ok(None) => return Ok(()),
                Ok(Some(wait)) => return Err(ApiError::key_rate(per_minute, wait)),
                Err(err) => {
                    tracing::debug!(%err, "counting this key's rate here until Redis is back");
                }
            }
        }
        self.count_here(client, per_minute)
    }

    /// Counts in this process: a sliding minute of request times.
    fn count_here(&self, client: &ClientId, per_minute: u32) -> Result<(), ApiError> {
        let now = Instant::now();
        let mut local = self.local.lock().unwrap_or_else(|p| p.into_inner());
        let times = local.entry(client.clone()).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            times.pop_front();
        }
        let limit = usize::try_from(per_minute).unwrap_or(usize::MAX);
        if times.len() >= limit {
            let wait = times.front().map_or(WINDOW, |oldest| {
                WINDOW.saturating_sub(now.duration_since(*oldest))
            });
            return Err(ApiError::key_rate(per_minute, wait));
        }
        times.push_back(now);
        Ok(())
    }

    /// Takes a slot of the fleet's concurrency cap, when there is one; a
    /// 429 when every slot is held.
    pub async fn lease(&self, config: &GatewayConfig) -> Result<FleetSlot, ApiError> {
        let (Some(fleet), Some(limit)) = (&config.fleet, config.max_concurrency_global) else {
            return Ok(None);
        };
        match fleet.lease(limit).await {
            Ok(Some(lease)) => Ok(Some(lease)),
            Ok(None) => Err(ApiError::fleet_busy(limit)),
            Err(err) => {
                tracing::debug!(%err, "not enforcing the fleet-wide cap until Redis is back");
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_key_gets_its_rate_per_minute_here() {
        let config = GatewayConfig::builder().key_rate_limit(2).build().unwrap();
        let limits = Limits::default();
        let (a, b) = (ClientId::of_key("sk-a"), ClientId::of_key("sk-b"));
        assert!(limits.count(&config, &a).await.is_ok());
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(limits.count(&config, &a).await.is_ok());
        let over = limits.count(&config, &a).await.unwrap_err();
        assert_eq!(over.retry_after, Some(50));
        assert!(limits.count(&config, &b).await.is_ok(), "per key");
        tokio::time::advance(Duration::from_secs(50)).await;
        assert!(limits.count(&config, &a).await.is_ok());
        assert_ne!(ClientId::of_key("sk-a").0, "sk-a");
        assert_eq!(ClientId::of_key("sk-a").0.len(), 32);
    }
}
