//! API keys: `Authorization: Bearer <key>` on every `/v1` route when keys
//! are configured, compared in constant time; the request then carries its
//! [`ClientId`] for the rate limits.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::limits::ClientId;
use crate::state::AppState;

/// Lets the request through only with a configured API key.
pub async fn require_key(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let keys = &state.config.api_keys;
    if keys.is_empty() {
        request.extensions_mut().insert(ClientId::anonymous());
        return next.run(request).await;
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match presented {
        None => ApiError::unauthorized(
            "You didn't provide an API key. Send it in the Authorization header as `Bearer <key>`.",
        )
        .into_response(),
        Some(key) if is_known(keys, key) => {
            let client = ClientId::of_key(key);
            request.extensions_mut().insert(client);
            next.run(request).await
        }
        Some(_) => ApiError::unauthorized("Incorrect API key provided.").into_response(),
    }
}

/// Whether `presented` is one of `keys`; every key is compared, each in
/// constant time, so timing does not tell which (or how much) matched.
fn is_known(keys: &[String], presented: &str) -> bool {
    let mut known = subtle::Choice::from(0);
    for key in keys {
        known |= key.as_bytes().ct_eq(presented.as_bytes());
    }
    known.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_matched_exactly() {
        let keys = vec!["sk-one".to_owned(), "sk-two".to_owned()];
        assert!(is_known(&keys, "sk-two"));
        assert!(!is_known(&keys, "sk-tw"));
        assert!(!is_known(&keys, "sk-two2"));
        assert!(!is_known(&[], "sk-one"));
    }
}
