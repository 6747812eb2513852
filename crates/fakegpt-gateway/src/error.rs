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

    /// 503: the gateway is shutting down or its upstream is not ready.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "server_error", message)
    }

    /// The error for a provider failure: 502 for upstream failures, 504 for
    /// timeouts, 429 when the upstream's shared account is busy, 400 for
    /// requests the provider refuses.
    pub fn from_provider(err: &fakegpt::Error) -> Self {
        use fakegpt::Error as E;
        let message = format!("Upstream failure: {err}");
        match err {
            E::Timeout { .. } => {
                let mut e = Self::new(StatusCode::GATEWAY_TIMEOUT, "server_error", message);
                e.code = Some("upstream_timeout");
                e
            }
            E::Status {
                status: 429,
                retry_after,
                ..
            } => {
                let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limit_error", message);
                e.code = Some("upstream_rate_limited");
                e.retry_after = *retry_after;
                e
            }
            E::InvalidRequest(why) => Self::invalid(Some("messages"), why.clone()),
            E::UnsupportedModel { model, .. } => Self::model_not_found(model),
            E::InvalidProxy { .. }
            | E::InvalidBaseUrl { .. }
            | E::InvalidCertificate(_)
            | E::BlockingInRuntime => {
                let mut e = Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    format!("Gateway misconfigured: {err}"),
                );
                e.code = Some("gateway_misconfigured");
                e
            }
            _ => {
                let mut e = Self::new(StatusCode::BAD_GATEWAY, "server_error", message);
                e.code = Some("upstream_error");
                e
            }
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
        response.extensions_mut().insert(LoggedCause(self.message));
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
        use fakegpt::{Error, Step, TimeoutKind};
        let timeout = Error::Timeout {
            step: Step::Conversation,
            kind: TimeoutKind::Idle,
            after: std::time::Duration::from_secs(1),
        };
        assert_eq!(
            ApiError::from_provider(&timeout).status,
            StatusCode::GATEWAY_TIMEOUT
        );
        assert_eq!(
            ApiError::from_provider(&Error::NoValidResponse).status,
            StatusCode::BAD_GATEWAY
        );
        let busy = Error::Status {
            step: Step::Conversation,
            status: 429,
            retry_after: Some(3),
            body: String::new(),
        };
        let mapped = ApiError::from_provider(&busy);
        assert_eq!(
            (mapped.status, mapped.retry_after),
            (StatusCode::TOO_MANY_REQUESTS, Some(3))
        );
        let html = Error::Status {
            step: Step::Conversation,
            status: 403,
            retry_after: None,
            body: "an HTML page titled \"Just a moment...\" (200 bytes)".into(),
        };
        let mapped = ApiError::from_provider(&html);
        assert_eq!(mapped.status, StatusCode::BAD_GATEWAY);
        assert!(mapped
            .message
            .contains("conversation (POST /api/conversation): upstream answered HTTP 403"));
    }
}
