//! `/healthz` (the process answers) and `/readyz` (requests can be served:
//! not shutting down, and the upstream session is usable; `degraded` when
//! they are served with something impaired, such as the shared store).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::state::AppState;

/// The longest a readiness check waits for the upstream.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// `GET /healthz`.
pub async fn live() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`.
pub async fn ready(State(state): State<Arc<AppState>>) -> Response {
    if !state.accepting.load(Ordering::SeqCst) {
        return not_ready("shutting down");
    }
    let check = state.provider.ready();
    match tokio::time::timeout(READY_TIMEOUT, check).await {
        Ok(Ok(())) => match state.provider.degraded() {
            None => Json(json!({"status": "ready"})).into_response(),
            Some(reason) => Json(json!({"status": "degraded", "reason": reason})).into_response(),
        },
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "not ready");
            not_ready(&format!("upstream not usable: {}", err.message()))
        }
        Err(_) => not_ready("upstream session check timed out"),
    }
}

fn not_ready(reason: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"status": "unavailable", "reason": reason})),
    )
        .into_response()
}
