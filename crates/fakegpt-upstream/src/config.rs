//! What the emulator does: its accounts, its replies, how it streams them,
//! and the faults it can be asked to inject.

use std::time::Duration;

/// One shared account listed by `/api/loads`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The id clients log in with (`token_key`).
    pub token_id: String,
    /// How busy it claims to be.
    pub count: u64,
}

impl Account {
    /// An account with this id and load.
    pub fn new(token_id: impl Into<String>, count: u64) -> Self {
        Account {
            token_id: token_id.into(),
            count,
        }
    }
}

/// The emulator's behaviour; can be changed while it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The accounts `/api/loads` lists.
    pub accounts: Vec<Account>,
    /// How many characters each event adds to the answer (at least 1).
    pub chars_per_event: usize,
    /// The pause before each event.
    pub event_delay: Duration,
    /// The shortest answer, in characters: the reply is padded with more
    /// sentences until it is at least this long.
    pub reply_chars: usize,
    /// End lines with `\r\n` instead of `\n`.
    pub crlf: bool,
    /// Cut the body into random small writes (1 to 7 bytes), splitting JSON
    /// values and UTF-8 characters between reads.
    pub split_writes: bool,
    /// Interleave SSE comments, other SSE fields and events that are not
    /// `message_type == "next"`.
    pub noise: bool,
    /// Answer a successful login with a `302` redirect to `/` (as the real
    /// service did) rather than `200`.
    pub login_redirect: bool,
    /// Access tokens expire after this many conversations (`401` after).
    pub token_expires_after: Option<u64>,
    /// Seed for the random write sizes, so a run can be repeated.
    pub seed: u64,
    /// Compress answers (gzip, brotli or zstd, as the client accepts).
    /// Decided when the emulator starts.
    pub compress: bool,
    /// Make each event's new text its send time, `<t:MICROSECONDS>` since
    /// the Unix epoch, instead of the reply's next characters (as many
    /// events as the reply would take), so a client on the same machine can
    /// measure each chunk's delivery latency.
    pub stamp: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            accounts: vec![
                Account::new("shared-account-1", 2),
                Account::new("shared-account-2", 0),
                Account::new("shared-account-3", 0),
                Account::new("shared-account-4", 5),
            ],
            chars_per_event: 4,
            event_delay: Duration::ZERO,
            reply_chars: 0,
            crlf: false,
            split_writes: false,
            noise: false,
            login_redirect: true,
            token_expires_after: None,
            seed: 1,
            compress: false,
            stamp: false,
        }
    }
}

/// A misbehaviour to inject, consumed by the endpoint it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// `/api/loads` lists no accounts.
    EmptyLoads,
    /// `/api/loads` answers JSON without the `loads` field.
    LoadsMissingField,
    /// `/auth/login` rejects the token key with `401`.
    LoginRejected,
    /// `/auth/login` answers `429` (the account is busy).
    LoginBusy {
        /// Seconds in the `Retry-After` header.
        retry_after: u64,
    },
    /// `/api/auth/session` answers `{}` as for a logged-out visitor.
    SessionWithoutToken,
    /// The conversation answers `429` with `Retry-After`.
    TooManyRequests {
        /// Seconds in the `Retry-After` header.
        retry_after: u64,
    },
    /// The conversation answers `500`.
    ServerError,
    /// The conversation answers `403` with an HTML page, as a CDN in front
    /// of the service would.
    HtmlForbidden,
    /// The conversation answers `200` with JSON instead of an event stream.
    WrongContentType,
    /// The connection is dropped after this many events.
    DisconnectMidStream {
        /// Events sent before the drop.
        after_events: usize,
    },
    /// The stream stops sending bytes (but stays open) after this many events.
    StallMidStream {
        /// Events sent before the stall.
        after_events: usize,
    },
    /// The stream carries only comments, non-`next` events and `[DONE]`.
    NoValidEvent,
    /// The stream carries lines that are not JSON between the events.
    GarbageLines,
    /// The stream starts with one `data:` line of this many bytes.
    OversizedLine {
        /// The line's length.
        bytes: usize,
    },
}

/// Which endpoint consumes a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Loads,
    Login,
    Session,
    Conversation,
}

impl Fault {
    pub(crate) fn endpoint(&self) -> Endpoint {
        match self {
            Fault::EmptyLoads | Fault::LoadsMissingField => Endpoint::Loads,
            Fault::LoginRejected | Fault::LoginBusy { .. } => Endpoint::Login,
            Fault::SessionWithoutToken => Endpoint::Session,
            _ => Endpoint::Conversation,
        }
    }

    /// Parses the names `fakegpt upstream --fault` accepts, e.g. `500`,
    /// `429:3`, `disconnect:5`, `stall:2`, `html403`, `empty-loads`.
    pub fn parse(spec: &str) -> Result<Fault, String> {
        let (name, arg) = match spec.split_once(':') {
            Some((name, arg)) => (name, Some(arg)),
            None => (spec, None),
        };
        let number = |default: u64| -> Result<u64, String> {
            arg.map_or(Ok(default), |a| {
                a.parse::<u64>()
                    .map_err(|_| format!("fault {name:?} takes a whole number, not {a:?}"))
            })
        };
        let count =
            |default: u64| number(default).map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        Ok(match name {
            "empty-loads" => Fault::EmptyLoads,
            "loads-missing-field" => Fault::LoadsMissingField,
            "login-rejected" => Fault::LoginRejected,
            "login-busy" => Fault::LoginBusy {
                retry_after: number(1)?,
            },
            "session-without-token" => Fault::SessionWithoutToken,
            "429" => Fault::TooManyRequests {
                retry_after: number(1)?,
            },
            "500" => Fault::ServerError,
            "html403" => Fault::HtmlForbidden,
            "wrong-content-type" => Fault::WrongContentType,
            "disconnect" => Fault::DisconnectMidStream {
                after_events: count(3)?,
            },
            "stall" => Fault::StallMidStream {
                after_events: count(3)?,
            },
            "no-valid-event" => Fault::NoValidEvent,
            "garbage" => Fault::GarbageLines,
            "oversized-line" => Fault::OversizedLine {
                bytes: count(32 * 1024 * 1024)?,
            },
            other => {
                return Err(format!(
                    "unknown fault {other:?}; known: {}",
                    Fault::NAMES.join(", ")
                ))
            }
        })
    }

    /// The names [`Fault::parse`] accepts.
    pub const NAMES: &'static [&'static str] = &[
        "empty-loads",
        "loads-missing-field",
        "login-rejected",
        "login-busy[:SECS]",
        "session-without-token",
        "429[:SECS]",
        "500",
        "html403",
        "wrong-content-type",
        "disconnect[:EVENTS]",
        "stall[:EVENTS]",
        "no-valid-event",
        "garbage",
        "oversized-line[:BYTES]",
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_names_parse() {
        assert_eq!(
            Fault::parse("429:7"),
            Ok(Fault::TooManyRequests { retry_after: 7 })
        );
        assert_eq!(
            Fault::parse("stall"),
            Ok(Fault::StallMidStream { after_events: 3 })
        );
        assert_eq!(Fault::parse("500"), Ok(Fault::ServerError));
        assert!(Fault::parse("disconnect:x")
            .unwrap_err()
            .contains("whole number"));
        assert!(Fault::parse("nope")
            .unwrap_err()
            .contains("known: empty-loads"));
    }
}
