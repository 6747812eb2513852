//! One middleware for every request: a request id, the access log line
//! (no secrets, no message contents) and the request counter.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
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
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match response.extensions().get::<LoggedCause>() {
        Some(LoggedCause(cause)) => {
            tracing::warn!(request_id = %id, %method, %route, status, latency_ms, %cause, "request failed")
        }
        None => tracing::info!(request_id = %id, %method, %route, status, latency_ms, "request"),
    }
    response
}
