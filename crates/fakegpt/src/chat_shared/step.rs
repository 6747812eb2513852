//! The steps of the FakeGpt flow, which its errors carry as context, and
//! secret-free excerpts of what the upstream said.

use std::time::Duration;

use crate::error::{Error, ErrorKind, TimeoutKind};

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
    /// The step and the endpoint it calls, as errors name it.
    pub fn label(self) -> &'static str {
        match self {
            Step::Loads => "loads (GET /api/loads)",
            Step::Login => "login (POST /auth/login)",
            Step::Session => "session (GET /api/auth/session)",
            Step::Conversation => "conversation (POST /api/conversation)",
        }
    }

    /// An error of `kind` in this step.
    pub fn error(self, kind: ErrorKind, message: impl Into<String>) -> Error {
        Error::new(kind, message).with_context(self.label())
    }

    /// The upstream answered this step with something unexpected.
    pub fn protocol(self, reason: impl Into<String>) -> Error {
        self.error(ErrorKind::Protocol, reason)
    }

    /// A time limit ran out in this step.
    pub fn timeout(self, kind: TimeoutKind, after: Duration) -> Error {
        Error::timeout(kind, after).with_context(self.label())
    }

    /// The upstream answered this step with a non-success status.
    pub fn status(self, status: u16, retry_after: Option<u64>, body: &str) -> Error {
        let err = Error::upstream_status(status, body).with_context(self.label());
        match retry_after {
            Some(secs) => err.with_retry_after(Duration::from_secs(secs)),
            None => err,
        }
    }
}

/// The most characters of an upstream body kept in an error message.
pub const EXCERPT_CHARS: usize = 200;

/// A short, single-line, secret-free excerpt of an upstream body for error
/// messages: HTML pages are summarised by their title, JSON keys that may
/// carry secrets are masked, control characters collapsed, length capped.
pub fn excerpt(body: &[u8]) -> String {
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
}
