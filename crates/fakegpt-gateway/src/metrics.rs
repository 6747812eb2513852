//! Prometheus metrics: requests by route and status, streams in flight,
//! upstream latencies, gateway overhead, and the provider's own counters.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::state::AppState;

/// The labels of the request counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route pattern, e.g. `/v1/chat/completions`, or `unmatched`.
    pub route: String,
    /// The HTTP method.
    pub method: String,
    /// The response status.
    pub status: u16,
}

/// Every metric the gateway keeps.
pub struct Metrics {
    registry: Registry,
    /// Requests by route, method and status.
    pub requests: Family<RequestLabels, Counter>,
    /// Streamed answers being sent now.
    pub in_flight_streams: Gauge,
    /// From calling the provider to its first answer text.
    pub upstream_first_byte: Histogram,
    /// From calling the provider to the end of the answer.
    pub upstream_total: Histogram,
    /// Time spent in the gateway itself before calling the provider.
    pub overhead: Histogram,
    /// The provider's counters and gauges by name (read at scrape time).
    provider: Vec<(&'static str, Gauge)>,
}

impl Metrics {
    /// Registers every metric, with a gauge for each of the provider's
    /// `counters` and `gauges`.
    pub fn new(counters: &[fakegpt::Counter], gauges: &[fakegpt::Gauge]) -> Self {
        let mut registry = Registry::with_prefix("fakegpt");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        let in_flight_streams = Gauge::default();
        registry.register(
            "in_flight_streams",
            "Streamed answers being sent now",
            in_flight_streams.clone(),
        );
        let upstream_first_byte = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        registry.register(
            "upstream_first_byte_seconds",
            "Time from calling the upstream to its first answer text",
            upstream_first_byte.clone(),
        );
        let upstream_total = Histogram::new(exponential_buckets(0.001, 2.0, 18));
        registry.register(
            "upstream_total_seconds",
            "Time from calling the upstream to the end of the answer",
            upstream_total.clone(),
        );
        let overhead = Histogram::new(exponential_buckets(0.000_001, 2.0, 20));
        registry.register(
            "gateway_overhead_seconds",
            "Time spent in the gateway before calling the upstream (reading, validating, counting tokens)",
            overhead.clone(),
        );
        let mut provider = Vec::new();
        let named = counters
            .iter()
            .map(|c| (c.name, c.help))
            .chain(gauges.iter().map(|g| (g.name, g.help)));
        for (name, help) in named {
            let gauge = Gauge::default();
            registry.register(name, help, gauge.clone());
            provider.push((name, gauge));
        }
        Metrics {
            registry,
            requests,
            in_flight_streams,
            upstream_first_byte,
            upstream_total,
            overhead,
            provider,
        }
    }

    /// Records a duration in seconds.
    pub fn observe(histogram: &Histogram, elapsed: Duration) {
        histogram.observe(elapsed.as_secs_f64());
    }
}

/// `GET /metrics`, in the OpenMetrics text format.
pub async fn render(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let counters = state.provider.counters().into_iter().map(|c| {
        let value = i64::try_from(c.value).unwrap_or(i64::MAX);
        (c.name, value)
    });
    let gauges = state
        .provider
        .gauges()
        .into_iter()
        .map(|g| (g.name, g.value));
    for (name, value) in counters.chain(gauges) {
        if let Some((_, gauge)) = state.metrics.provider.iter().find(|(n, _)| *n == name) {
            gauge.set(value);
        }
    }
    let mut text = String::new();
    if let Err(err) = prometheus_client::encoding::text::encode(&mut text, &state.metrics.registry)
    {
        tracing::error!(%err, "could not encode the metrics");
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
}
