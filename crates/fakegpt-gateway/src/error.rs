//! The gateway's error type, rendered in OpenAI's error shape.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answered to the client as
/// `{"error": {"message", "type", "param", "code"}}` with its HTTP status.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, for the client; never holds secrets.
    pub message: String,
    /// OpenAI's error type, e.g. `invalid_request_error`.
    pub kind: &'static str,
    /// The request field at fault, if one is.
    pub param: Option<String>,
    /// A machine-readable code, e.g. `model_not_found`.
    pub code: Option<&'static str>,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
    /// What the access log says of the cause, when it says more than the
    /// message (a provider's context); never sent to the client.
    pub cause: Option<Box<str>>,
}

/// The JSON body of an error.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    /// The error object.
    pub error: ErrorObject<'a>,
}

/// OpenAI's error object.
#[derive(Debug, Serialize)]
pub struct ErrorObject<'a> {
    /// What went wrong.
    pub message: &'a str,
    /// The error type.
    #[serde(rename = "type")]
    pub kind: &'a str,
    /// The field at fault, or `null`.
    pub param: Option<&'a str>,
    /// A code, or `null`.
    pub code: Option<&'a str>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            kind,
            param: None,
            code: None,
            retry_after: None,
            cause: None,
        }
    }

    /// 400: the request is malformed or a field is invalid.
    pub fn invalid(param: Option<&str>, message: impl Into<String>) -> Self {
        let mut err = Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message);
        err.param = param.map(str::to_owned);
        err
    }

    /// 401: the API key is missing or wrong.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        let mut err = Self::new(StatusCode::UNAUTHORIZED, "invalid_request_error", message);
        err.code = Some("invalid_api_key");
        err
    }

    /// 404: an unknown model.
    pub fn model_not_found(model: &str) -> Self {
        let mut err = Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            format!("The model `{model}` does not exist or you do not have access to it."),
        );
        err.param = Some("model".into());
        err.code = Some("model_not_found");
        err
    }

    /// 404: an unknown route.
    pub fn route_not_found(method: &str, path: &str) -> Self {
        let mut err = Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            format!("Unknown request URL: {method} {path}."),
        );
        err.code = Some("unknown_url");
        err
    }

    /// 405: a known route with the wrong method.
    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        let mut err = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request_error",
            format!("Method {method} is not allowed for {path}."),
        );
        err.code = Some("method_not_allowed");
        err
    }

    /// 413: the body is over the limit.
    pub fn too_large(limit: usize) -> Self {
        let mut err = Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            format!("The request body is larger than the limit of {limit} bytes."),
        );
        err.code = Some("request_too_large");
        err
    }

    /// 408: the body came too slowly.
    pub fn body_timeout(after: std::time::Duration) -> Self {
        let mut err = Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "invalid_request_error",
            format!(
                "The request body did not arrive within {} s.",
                after.as_secs_f64()
            ),
        );
        err.code = Some("request_timeout");
        err
    }

    /// 429: too many requests in flight.
    pub fn busy(limit: usize) -> Self {
        let mut err = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            format!("Too many requests in flight (the limit is {limit}); retry shortly."),
        );
        err.code = Some("concurrency_limit_exceeded");
        err.retry_after = Some(1);
        err
    }

    /// 429: every slot of the fleet-wide concurrency cap is held.
    pub fn fleet_busy(limit: u32) -> Self {
        let mut err = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            format!("Too many requests in flight across the gateways (the limit is {limit}); retry shortly."),
        );
        err.code = Some("concurrency_limit_exceeded");
        err.retry_after = Some(1);
        err
    }

    /// 429: the API key made its requests' worth for this minute; it may
    /// send the next after `wait`.
    pub fn key_rate(per_minute: u32, wait: std::time::Duration) -> Self {
        let seconds = wait.as_millis().div_ceil(1000).max(1);
        let mut err = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            format!(
                "Rate limit reached: {per_minute} requests per minute for this API key; retry in {seconds} s."
            ),
        );
        err.code = Some("rate_limit_exceeded");
        err.retry_after = Some(u64::try_from(seconds).unwrap_or(u64::MAX));
        err
    }

    /// 503: the gateway is shutting down or its upstream is not ready.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "server_error", message)
    }

    /// The error for a provider failure, by its kind (every kind decided
    /// here, no catch-all): 502 for upstream failures, 504 for timeouts,
    /// 429 when the upstream asks to slow down, 400/404 for requests the
    /// provider refuses, 500 for a misconfigured provider, 503 when the
    /// request was cancelled. Clients get the error's message, never the
    /// provider's context (its steps and endpoints stay in the logs).
    pub fn from_provider(err: &fakegpt::Error) -> Self {
        let mut api = Self::from_kind(err);
        api.cause = Some(err.to_string().into());
        api
    }

    fn from_kind(err: &fakegpt::Error) -> Self {
        use fakegpt::ErrorKind as K;
        let message = format!("Upstream failure: {}", err.message());
        let upstream = |code: &'static str| {
            let mut e = Self::new(StatusCode::BAD_GATEWAY, "server_error", message.clone());
            e.code = Some(code);
            e
        };
        match err.kind() {
            K::InvalidRequest => Self::invalid(Some("messages"), err.message()),
            K::UnsupportedModel => {
                let mut e = Self::new(
                    StatusCode::NOT_FOUND,
                    "invalid_request_error",
                    err.message(),
                );
                e.param = Some("model".into());
                e.code = Some("model_not_found");
                e
            }
            K::Config => {
                let mut e = Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    format!("Gateway misconfigured: {}", err.message()),
                );
                e.code = Some("gateway_misconfigured");
                e
            }
            K::Timeout => {
                let mut e = Self::new(StatusCode::GATEWAY_TIMEOUT, "server_error", message);
                e.code = Some("upstream_timeout");
                e
            }
            K::RateLimited => {
                let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limit_error", message);
                e.code = Some("upstream_rate_limited");
                e.retry_after = err.retry_after().map(|d| d.as_secs().max(1));
                e
            }
            K::Connect => upstream("upstream_unreachable"),
            K::Rejected => upstream("upstream_rejected"),
            K::UpstreamStatus => upstream("upstream_error"),
            K::Protocol => upstream("upstream_protocol_error"),
            K::NoValidResponse => upstream("upstream_no_answer"),
            K::Cancelled => Self::unavailable(format!("Cancelled: {}", err.message())),
        }
    }

    /// The JSON body, as sent in a response or a stream's error event.
    pub fn body(&self) -> ErrorBody<'_> {
        ErrorBody {
            error: ErrorObject {
                message: &self.message,
                kind: self.kind,
                param: self.param.as_deref(),
                code: self.code,
            },
        }
    }
}

/// Carried in a response's extensions so the access log can name the cause.
#[derive(Debug, Clone)]
pub struct LoggedCause(pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
            .extensions_mut()
            .insert(LoggedCause(self.cause.map_or(self.message, String::from)));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_have_openais_shape() {
        let err = ApiError::invalid(Some("n"), "`n` must be 1");
        let json = serde_json::to_value(err.body()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": {"message": "`n` must be 1", "type": "invalid_request_error", "param": "n", "code": null}})
        );
    }

    #[test]
    fn provider_failures_map_to_statuses() {
        use fakegpt::{Error, ErrorKind, TimeoutKind};
        let timeout = Error::timeout(TimeoutKind::Idle, std::time::Duration::from_secs(1));
        assert_eq!(
            ApiError::from_provider(&timeout).status,
            StatusCode::GATEWAY_TIMEOUT
        );
        let empty = Error::new(ErrorKind::NoValidResponse, "No valid response");
        assert_eq!(
            ApiError::from_provider(&empty).status,
            StatusCode::BAD_GATEWAY
        );
        let busy =
            Error::upstream_status(429, "").with_retry_after(std::time::Duration::from_secs(3));
        let mapped = ApiError::from_provider(&busy);
        assert_eq!(
            (mapped.status, mapped.retry_after),
            (StatusCode::TOO_MANY_REQUESTS, Some(3))
        );
        let html =
            Error::upstream_status(403, "an HTML page titled \"Just a moment...\" (200 bytes)")
                .with_context("conversation (POST /api/conversation)");
        let mapped = ApiError::from_provider(&html);
        assert_eq!(mapped.status, StatusCode::BAD_GATEWAY);
        assert!(
            mapped.message.contains("upstream answered HTTP 403"),
            "{}",
            mapped.message
        );
        assert!(!mapped.message.contains("/api/"), "{}", mapped.message);
    }
}
