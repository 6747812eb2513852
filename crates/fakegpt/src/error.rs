//! The one error type of the core: what kind of failure it is, a message,
//! the provider's context, and the cause.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// What kind of failure an [`Error`] is, for callers to act on (retry,
/// report, map to a status…).
///
/// The list is deliberately exhaustive: a new kind is a breaking change, so
/// that code matching on kinds (the gateway maps each to an HTTP status)
/// must decide what every one means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request itself is unusable: no messages, an empty prompt…
    InvalidRequest,
    /// The provider does not serve the model asked for.
    UnsupportedModel,
    /// The provider's own settings are unusable: a bad proxy, base URL or
    /// certificate, or the blocking client used inside an async runtime.
    Config,
    /// The upstream could not be reached, or the connection broke.
    Connect,
    /// A time limit ran out; [`Error::timeout`] says which.
    Timeout,
    /// The upstream asked to slow down (HTTP 429); see
    /// [`Error::retry_after`].
    RateLimited,
    /// The upstream refused to serve: credentials or a session rejected,
    /// no account to use.
    Rejected,
    /// The upstream answered another non-success status, or reported an
    /// error inside its answer's stream.
    UpstreamStatus,
    /// The upstream answered, but not with what the protocol says.
    Protocol,
    /// The answer ended without any text.
    NoValidResponse,
    /// The request was cancelled before it finished.
    Cancelled,
}

impl ErrorKind {
    /// Every kind, for reading one back by its name.
    pub(crate) const ALL: [ErrorKind; 11] = [
        ErrorKind::InvalidRequest,
        ErrorKind::UnsupportedModel,
        ErrorKind::Config,
        ErrorKind::Connect,
        ErrorKind::Timeout,
        ErrorKind::RateLimited,
        ErrorKind::Rejected,
        ErrorKind::UpstreamStatus,
        ErrorKind::Protocol,
        ErrorKind::NoValidResponse,
        ErrorKind::Cancelled,
    ];
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
/// [`kind`](Error::kind) is what to match on; the message says what
/// happened, without secrets (no access tokens, cookies, passwords or API
/// keys) and without naming the provider's endpoints; the
/// [`context`](Error::context) is the provider's own step (for logs), and
/// [`source`](std::error::Error::source) the underlying cause when there is
/// one. Cloning is cheap.
#[derive(Clone)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Clone)]
struct Inner {
    kind: ErrorKind,
    message: String,
    context: Option<String>,
    status: Option<u16>,
    retry_after: Option<Duration>,
    timeout: Option<TimeoutKind>,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    /// An error of `kind` saying `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                context: None,
                status: None,
                retry_after: None,
                timeout: None,
                source: None,
            }),
        }
    }

    /// A time limit of `kind` ran out after `after`.
    pub fn timeout(kind: TimeoutKind, after: Duration) -> Self {
        let mut err = Error::new(
            ErrorKind::Timeout,
            format!("{kind} timeout after {after:?}"),
        );
        err.inner.timeout = Some(kind);
        err
    }

    /// The upstream answered the non-success HTTP `status`; `excerpt` is a
    /// short, secret-free excerpt of its body (empty if none). The kind
    /// follows the status: 429 is [`RateLimited`](ErrorKind::RateLimited),
    /// 401 and 403 [`Rejected`](ErrorKind::Rejected), anything else
    /// [`UpstreamStatus`](ErrorKind::UpstreamStatus).
    pub fn upstream_status(status: u16, excerpt: &str) -> Self {
        let kind = match status {
            429 => ErrorKind::RateLimited,
            401 | 403 => ErrorKind::Rejected,
            _ => ErrorKind::UpstreamStatus,
        };
        let message = if excerpt.is_empty() {
            format!("upstream answered HTTP {status}")
        } else {
            format!("upstream answered HTTP {status}: {excerpt}")
        };
        let mut err = Error::new(kind, message);
        err.inner.status = Some(status);
        err
    }

    /// Sets the provider's context: the step that failed, for logs and
    /// command-line messages (shown before the message).
    pub fn with_context(mut self, context: impl Into<String>) -> Self {
        self.inner.context = Some(context.into());
        self
    }

    /// Sets how long the upstream asked to wait before trying again.
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.inner.retry_after = Some(after);
        self
    }

    /// Keeps `source` as the cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Arc::new(source));
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// What happened, without the context: safe to show to anyone.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The provider's context (e.g. the step of its flow), if set.
    pub fn context(&self) -> Option<&str> {
        self.inner.context.as_deref()
    }

    /// The HTTP status the upstream answered, if this error is one.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// How long the upstream asked to wait before trying again, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// Which time limit ran out, if this is a timeout.
    pub fn timeout_kind(&self) -> Option<TimeoutKind> {
        self.inner.timeout
    }

    /// Whether a time limit ran out.
    pub fn is_timeout(&self) -> bool {
        self.inner.kind == ErrorKind::Timeout
    }

    /// Whether the upstream could not be reached (or connecting timed out).
    pub fn is_connect(&self) -> bool {
        self.inner.kind == ErrorKind::Connect || self.inner.timeout == Some(TimeoutKind::Connect)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.context {
            Some(context) => write!(f, "{context}: {}", self.inner.message),
            None => f.write_str(&self.inner.message),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Error");
        debug.field("kind", &self.inner.kind);
        if let Some(context) = &self.inner.context {
            debug.field("context", context);
        }
        debug.field("message", &self.inner.message);
        if let Some(status) = self.inner.status {
            debug.field("status", &status);
        }
        if let Some(after) = self.inner.retry_after {
            debug.field("retry_after", &after);
        }
        if let Some(source) = &self.inner.source {
            debug.field("source", source);
        }
        debug.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_choose_their_kind() {
        assert_eq!(
            Error::upstream_status(429, "").kind(),
            ErrorKind::RateLimited
        );
        assert_eq!(Error::upstream_status(403, "").kind(), ErrorKind::Rejected);
        assert_eq!(
            Error::upstream_status(502, "").kind(),
            ErrorKind::UpstreamStatus
        );
        let err = Error::upstream_status(429, r#"{"detail":"busy"}"#)
            .with_context("conversation")
            .with_retry_after(Duration::from_secs(3));
        assert_eq!(
            err.to_string(),
            r#"conversation: upstream answered HTTP 429: {"detail":"busy"}"#
        );
        assert_eq!(
            err.message(),
            r#"upstream answered HTTP 429: {"detail":"busy"}"#
        );
        assert_eq!(
            (err.status(), err.retry_after()),
            (Some(429), Some(Duration::from_secs(3)))
        );
    }

    #[test]
    fn the_cause_is_kept_as_the_source() {
        use std::error::Error as _;
        let io = std::io::Error::other("reset by peer");
        let err = Error::new(ErrorKind::Connect, "the answer broke off").with_source(io);
        assert_eq!(
            err.source().map(ToString::to_string).as_deref(),
            Some("reset by peer")
        );
        assert!(err.is_connect() && !err.is_timeout());
        let timeout = Error::timeout(TimeoutKind::Connect, Duration::from_secs(2));
        assert!(timeout.is_connect() && timeout.is_timeout());
        assert_eq!(timeout.to_string(), "connect timeout after 2s");
    }
}
