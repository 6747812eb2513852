//! One middleware for every request: a request id, the access log line
//! (no secrets, no message contents) and the request counter.
//!
//! The access line of an event stream is written when the stream ends, and
//! says how: `completed`, or `client_left` when the client went away first
//! (the upstream call is then dropped). Probes and metric scrapes are
//! logged at debug, so that they do not drown the requests at info.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::error::LoggedCause;
use crate::metrics::RequestLabels;
use crate::state::AppState;

/// The request's id: the client's `x-request-id` if it is sane, else a new
/// one. Echoed in the response's `x-request-id`.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn sane(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// The middleware.
pub async fn observe(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane(v))
        .map_or_else(|| uuid::Uuid::new_v4().simple().to_string(), str::to_owned);
    request.extensions_mut().insert(RequestId(id.clone()));
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = request.method().to_string();
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    let status = response.status().as_u16();
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            route: route.clone(),
            method: method.clone(),
            status,
        })
        .inc();
    let line = AccessLine {
        id,
        method,
        route,
        status,
        latency_ms: millis(started),
        started,
        cause: response
            .extensions()
            .get::<LoggedCause>()
            .map(|LoggedCause(cause)| cause.clone()),
    };
    let streaming = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if !streaming {
        line.write(None);
        return response;
    }
    // The line is written when the body ends or is dropped.
    let (parts, body) = response.into_parts();
    let mut data = body.into_data_stream();
    let body = async_stream::stream! {
        let mut end = StreamEnd { line, completed: false };
        while let Some(chunk) = futures_util::StreamExt::next(&mut data).await {
            yield chunk;
        }
        end.completed = true;
    };
    Response::from_parts(parts, Body::from_stream(body))
}

/// Whole milliseconds since `started`.
fn millis(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// What the access log says of one request.
struct AccessLine {
    id: String,
    method: String,
    route: String,
    status: u16,
    /// Until the response's head.
    latency_ms: u64,
    started: Instant,
    cause: Option<String>,
}

impl AccessLine {
    /// Writes the line; for a streamed body, once it ended, with how long
    /// it took and how it ended.
    fn write(&self, stream_end: Option<(u64, &str)>) {
        let AccessLine {
            id,
            method,
            route,
            status,
            latency_ms,
            started: _,
            cause,
        } = self;
        match (cause, stream_end) {
            (Some(cause), _) => {
                tracing::warn!(request_id = %id, %method, %route, status, latency_ms, %cause, "request failed");
            }
            (None, Some((duration_ms, outcome))) => {
                tracing::info!(request_id = %id, %method, %route, status, latency_ms, duration_ms, outcome, "stream");
            }
            (None, None) if matches!(route.as_str(), "/metrics" | "/healthz" | "/readyz") => {
                tracing::debug!(request_id = %id, %method, %route, status, latency_ms, "request");
            }
            (None, None) => {
                tracing::info!(request_id = %id, %method, %route, status, latency_ms, "request");
            }
        }
    }
}

/// A streamed response's access line, written when its body ends or is
/// dropped.
struct StreamEnd {
    line: AccessLine,
    /// Whether the body was sent to its end.
    completed: bool,
}

impl Drop for StreamEnd {
    fn drop(&mut self) {
        let outcome = if self.completed {
            "completed"
        } else {
            "client_left"
        };
        self.line.write(Some((millis(self.line.started), outcome)));
    }
}
