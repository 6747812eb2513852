//! The library's one error type.

use std::fmt;

/// The step of the FakeGpt flow a failure happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// `GET /api/loads`: listing the shared accounts.
    Loads,
    /// `POST /auth/login`: logging in with a token key.
    Login,
    /// `GET /api/auth/session`: fetching the access token.
    Session,
    /// `POST /api/conversation`: the chat request and its event stream.
    Conversation,
}

impl Step {
    /// The endpoint this step calls, as a short human-readable label.
    pub fn label(self) -> &'static str {
        match self {
            Step::Loads => "loads (GET /api/loads)",
            Step::Login => "login (POST /auth/login)",
            Step::Session => "session (GET /api/auth/session)",
            Step::Conversation => "conversation (POST /api/conversation)",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Which time limit ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeoutKind {
    /// Connecting to the upstream (or the proxy) took too long.
    Connect,
    /// The first answer text took too long to come.
    FirstByte,
    /// No bytes arrived for longer than the idle timeout.
    Idle,
    /// The whole request took longer than the total timeout.
    Total,
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutKind::Connect => "connect",
            TimeoutKind::FirstByte => "first-byte",
            TimeoutKind::Idle => "idle",
            TimeoutKind::Total => "total",
        })
    }
}

/// Everything that can go wrong when chatting through a provider.
///
/// Messages name the step, the HTTP status and a short, secret-free excerpt
/// of what the upstream said; they never contain access tokens, cookies or
/// session passwords.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request itself is unusable (no messages, an empty prompt…).
    #[error("invalid request: {0}")]
    InvalidRequest(String),

    /// The model is not one this provider serves.
    #[error("model {model:?} is not supported by {provider} (supported: {supported})")]
    UnsupportedModel {
        /// The model asked for.
        model: String,
        /// The provider asked.
        provider: &'static str,
        /// The models it does serve, comma-separated.
        supported: String,
    },

    /// A proxy URL that cannot be used.
    #[error("invalid proxy URL {url:?}: {reason}")]
    InvalidProxy {
        /// The URL as given, with any password removed.
        url: String,
        /// Why it is unusable.
        reason: String,
    },

    /// A base URL that cannot be used.
    #[error("invalid base URL {url:?}: {reason}")]
    InvalidBaseUrl {
        /// The URL as given.
        url: String,
        /// Why it is unusable.
        reason: String,
    },

    /// A CA certificate to trust that cannot be used.
    #[error("invalid CA certificate: {0}")]
    InvalidCertificate(String),

    /// The upstream could not be reached or the connection broke.
    #[error("{step}: could not reach the upstream: {reason}")]
    Connect {
        /// The step that failed.
        step: Step,
        /// What the transport reported.
        reason: String,
    },

    /// A time limit ran out.
    #[error("{step}: {kind} timeout after {after:?}")]
    Timeout {
        /// The step that timed out.
        step: Step,
        /// Which limit.
        kind: TimeoutKind,
        /// The limit that was exceeded.
        after: std::time::Duration,
    },

    /// The upstream answered with a non-success status.
    #[error("{step}: upstream answered HTTP {status}{}", excerpt_suffix(.body))]
    Status {
        /// The step that failed.
        step: Step,
        /// The HTTP status code.
        status: u16,
        /// The `Retry-After` header in seconds, when the upstream sent one.
        retry_after: Option<u64>,
        /// A short, secret-free excerpt of the body (empty if none).
        body: String,
    },

    /// The upstream answered 2xx, but not with what this step needs.
    #[error("{step}: unexpected answer: {reason}")]
    Protocol {
        /// The step that failed.
        step: Step,
        /// What was wrong, with a short excerpt of what came.
        reason: String,
    },

    /// `/api/loads` listed no shared account to log in with.
    #[error("loads (GET /api/loads): the upstream lists no shared accounts to log in with")]
    NoAccounts,

    /// The event stream ended without any answer text.
    #[error("No valid response")]
    NoValidResponse,

    /// The blocking facade was called from inside an async runtime.
    #[error(
        "the blocking client cannot be used from inside an async runtime; use the async API there"
    )]
    BlockingInRuntime,
}

impl Error {
    /// The HTTP status the upstream answered, if this error is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The step of the flow that failed, if the error comes from one.
    pub fn step(&self) -> Option<Step> {
        match self {
            Error::Connect { step, .. }
            | Error::Timeout { step, .. }
            | Error::Status { step, .. }
            | Error::Protocol { step, .. } => Some(*step),
            Error::NoAccounts => Some(Step::Loads),
            Error::NoValidResponse => Some(Step::Conversation),
            _ => None,
        }
    }
}

fn excerpt_suffix(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    }
}

/// The most characters of an upstream body kept in an error message.
pub(crate) const EXCERPT_CHARS: usize = 200;

/// A short, single-line, secret-free excerpt of an upstream body for error
/// messages: HTML pages are summarised by their title, JSON keys that may
/// carry secrets are masked, control characters collapsed, length capped.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return String::new();
    }
    let lower_start: String = trimmed
        .chars()
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase();
    if lower_start.starts_with("<!doctype html") || lower_start.starts_with("<html") {
        let title = html_title(trimmed)
            .map(|t| format!(" titled {:?}", cap(&collapse(t), 80)))
            .unwrap_or_default();
        return format!("an HTML page{title} ({} bytes)", body.len());
    }
    cap(&collapse(&mask_secrets(trimmed)), EXCERPT_CHARS)
}

fn html_title(html: &str) -> Option<&str> {
    let lower = html.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = lower[start..].find("</title>")? + start;
    html.get(start..end).map(str::trim)
}

fn collapse(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(1024));
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    out
}

fn cap(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Masks the string values of JSON keys that look like credentials.
fn mask_secrets(text: &str) -> String {
    const KEYS: [&str; 6] = [
        "accesstoken",
        "access_token",
        "session_password",
        "token",
        "cookie",
        "password",
    ];
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(text) else {
        return text.to_owned();
    };
    fn walk(value: &mut serde_json::Value, keys: &[&str]) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    let lower = k.to_ascii_lowercase();
                    if keys.iter().any(|key| lower.contains(key)) && v.is_string() {
                        *v = serde_json::Value::String("[redacted]".into());
                    } else {
                        walk(v, keys);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| walk(v, keys)),
            _ => {}
        }
    }
    walk(&mut value, &KEYS);
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_pages_are_summarised() {
        let page = b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>lots</body></html>";
        assert_eq!(
            excerpt(page),
            format!(
                "an HTML page titled \"Just a moment...\" ({} bytes)",
                page.len()
            )
        );
    }

    #[test]
    fn secrets_in_json_are_masked() {
        let body = br#"{"accessToken":"eyJsecret","user":{"session_password":"abc"},"detail":"x"}"#;
        let e = excerpt(body);
        assert!(!e.contains("eyJsecret") && !e.contains("abc"), "{e}");
        assert!(e.contains("detail"));
    }

    #[test]
    fn long_bodies_are_capped_on_a_character_boundary() {
        let body = "й".repeat(1000);
        let e = excerpt(body.as_bytes());
        assert_eq!(e.chars().count(), EXCERPT_CHARS + 1);
        assert!(e.ends_with('…'));
    }

    #[test]
    fn status_errors_read_well() {
        let err = Error::Status {
            step: Step::Conversation,
            status: 429,
            retry_after: Some(3),
            body: excerpt(br#"{"detail":"busy"}"#),
        };
        assert_eq!(
            err.to_string(),
            r#"conversation (POST /api/conversation): upstream answered HTTP 429: {"detail":"busy"}"#
        );
        assert_eq!(err.status(), Some(429));
        assert_eq!(Error::NoValidResponse.to_string(), "No valid response");
    }
}
