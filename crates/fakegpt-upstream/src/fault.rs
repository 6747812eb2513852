//! The faults the emulator injects on request, and their names.
//!
//! Every name is written once, in [`Fault::name`]; parsing, display, the
//! list in error messages and the CLI's help all come from it, and a test
//! checks that the README lists the same names.

use std::fmt;
use std::str::FromStr;

/// A misbehaviour to inject, consumed by the endpoint it concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// After this many answer events the stream carries an error instead of
    /// more text (an envelope whose `error` is set), then `[DONE]`.
    StreamError {
        /// Answer events sent before the error.
        after_events: usize,
    },
    /// After the first answer event the stream carries a moderation event
    /// (flagged and blocked), then `[DONE]`.
    Moderation,
    /// The body ends cleanly after this many answer events: no last event,
    /// no `message_stream_complete`, no `[DONE]`.
    Incomplete {
        /// Answer events sent before the end.
        after_events: usize,
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
    /// Every fault, with the argument it takes when none is given.
    pub const ALL: &'static [Fault] = &[
        Fault::EmptyLoads,
        Fault::LoadsMissingField,
        Fault::LoginRejected,
        Fault::LoginBusy { retry_after: 1 },
        Fault::SessionWithoutToken,
        Fault::TooManyRequests { retry_after: 1 },
        Fault::ServerError,
        Fault::HtmlForbidden,
        Fault::WrongContentType,
        Fault::DisconnectMidStream { after_events: 3 },
        Fault::StallMidStream { after_events: 3 },
        Fault::NoValidEvent,
        Fault::GarbageLines,
        Fault::OversizedLine {
            bytes: 32 * 1024 * 1024,
        },
        Fault::StreamError { after_events: 2 },
        Fault::Moderation,
        Fault::Incomplete { after_events: 3 },
    ];

    /// The fault's name, as `fakegpt upstream --fault` takes it.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::EmptyLoads => "empty-loads",
            Fault::LoadsMissingField => "loads-missing-field",
            Fault::LoginRejected => "login-rejected",
            Fault::LoginBusy { .. } => "login-busy",
            Fault::SessionWithoutToken => "session-without-token",
            Fault::TooManyRequests { .. } => "429",
            Fault::ServerError => "500",
            Fault::HtmlForbidden => "html403",
            Fault::WrongContentType => "wrong-content-type",
            Fault::DisconnectMidStream { .. } => "disconnect",
            Fault::StallMidStream { .. } => "stall",
            Fault::NoValidEvent => "no-valid-event",
            Fault::GarbageLines => "garbage",
            Fault::OversizedLine { .. } => "oversized-line",
            Fault::StreamError { .. } => "stream-error",
            Fault::Moderation => "moderation",
            Fault::Incomplete { .. } => "incomplete",
        }
    }

    /// The argument the fault takes, if any: what it means, and its value.
    fn argument(&self) -> Option<(&'static str, u64)> {
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        match *self {
            Fault::LoginBusy { retry_after } | Fault::TooManyRequests { retry_after } => {
                Some(("SECS", retry_after))
            }
            Fault::DisconnectMidStream { after_events }
            | Fault::StallMidStream { after_events }
            | Fault::StreamError { after_events }
            | Fault::Incomplete { after_events } => Some(("EVENTS", count(after_events))),
            Fault::OversizedLine { bytes } => Some(("BYTES", count(bytes))),
            Fault::EmptyLoads
            | Fault::LoadsMissingField
            | Fault::LoginRejected
            | Fault::SessionWithoutToken
            | Fault::ServerError
            | Fault::HtmlForbidden
            | Fault::WrongContentType
            | Fault::NoValidEvent
            | Fault::GarbageLines
            | Fault::Moderation => None,
        }
    }

    /// The same fault with its argument set to `value`.
    fn with_argument(mut self, value: u64) -> Fault {
        let count = usize::try_from(value).unwrap_or(usize::MAX);
        match &mut self {
            Fault::LoginBusy { retry_after } | Fault::TooManyRequests { retry_after } => {
                *retry_after = value;
            }
            Fault::DisconnectMidStream { after_events }
            | Fault::StallMidStream { after_events }
            | Fault::StreamError { after_events }
            | Fault::Incomplete { after_events } => {
                *after_events = count;
            }
            Fault::OversizedLine { bytes } => *bytes = count,
            _ => {}
        }
        self
    }

    /// Every name with its argument, as help text lists them:
    /// `login-busy[:SECS]`.
    pub fn names() -> Vec<String> {
        Fault::ALL
            .iter()
            .map(|fault| match fault.argument() {
                Some((what, _)) => format!("{}[:{what}]", fault.name()),
                None => fault.name().to_owned(),
            })
            .collect()
    }

    pub(crate) fn endpoint(&self) -> Endpoint {
        match self {
            Fault::EmptyLoads | Fault::LoadsMissingField => Endpoint::Loads,
            Fault::LoginRejected | Fault::LoginBusy { .. } => Endpoint::Login,
            Fault::SessionWithoutToken => Endpoint::Session,
            _ => Endpoint::Conversation,
        }
    }
}

/// Parses `NAME[:ARG]`, e.g. `500`, `429:3`, `disconnect:5`, `empty-loads`.
impl FromStr for Fault {
    type Err = String;

    fn from_str(spec: &str) -> Result<Fault, String> {
        let (name, arg) = match spec.split_once(':') {
            Some((name, arg)) => (name, Some(arg)),
            None => (spec, None),
        };
        let fault = Fault::ALL
            .iter()
            .find(|fault| fault.name() == name)
            .ok_or_else(|| {
                format!(
                    "unknown fault {name:?}; known: {}",
                    Fault::names().join(", ")
                )
            })?;
        match (fault.argument(), arg) {
            (_, None) => Ok(*fault),
            (Some(_), Some(arg)) => arg
                .parse::<u64>()
                .map(|value| fault.with_argument(value))
                .map_err(|_| format!("fault {name:?} takes a whole number, not {arg:?}")),
            (None, Some(_)) => Err(format!("fault {name:?} takes no argument")),
        }
    }
}

/// `NAME` or `NAME:ARG`, which [`Fault::from_str`] reads back.
impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.argument() {
            Some((_, value)) => write!(f, "{}:{value}", self.name()),
            None => f.write_str(self.name()),
        }
    }
}

/// A fault and how many requests it concerns: `NAME[:ARG][@TIMES]`, TIMES a
/// number or `always` (once by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultSpec {
    /// The fault.
    pub fault: Fault,
    /// How many requests it concerns (`u64::MAX`: every one).
    pub times: u64,
}

impl FromStr for FaultSpec {
    type Err = String;

    fn from_str(spec: &str) -> Result<FaultSpec, String> {
        let (fault, times) = match spec.rsplit_once('@') {
            Some((fault, "always")) => (fault, u64::MAX),
            Some((fault, times)) => (
                fault,
                times
                    .parse()
                    .map_err(|_| format!("TIMES must be a number or \"always\", not {times:?}"))?,
            ),
            None => (spec, 1),
        };
        Ok(FaultSpec {
            fault: fault.parse()?,
            times,
        })
    }
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.times {
            1 => write!(f, "{}", self.fault),
            u64::MAX => write!(f, "{}@always", self.fault),
            n => write!(f, "{}@{n}", self.fault),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_reads_back_what_it_displays() {
        for fault in Fault::ALL {
            assert_eq!(fault.to_string().parse::<Fault>(), Ok(*fault));
            assert_eq!(fault.name().parse::<Fault>(), Ok(*fault), "defaults");
            if fault.argument().is_some() {
                let other = fault.with_argument(7);
                assert_ne!(other, *fault);
                assert_eq!(format!("{}:7", fault.name()).parse::<Fault>(), Ok(other));
            }
        }
        let names: std::collections::HashSet<_> = Fault::ALL.iter().map(Fault::name).collect();
        assert_eq!(names.len(), Fault::ALL.len(), "names are unique");
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        assert_eq!(
            "429:7".parse(),
            Ok(Fault::TooManyRequests { retry_after: 7 })
        );
        assert!("disconnect:x"
            .parse::<Fault>()
            .unwrap_err()
            .contains("whole number"));
        assert!("500:3"
            .parse::<Fault>()
            .unwrap_err()
            .contains("no argument"));
        let unknown = "nope".parse::<Fault>().unwrap_err();
        assert!(
            unknown.contains("known: empty-loads, loads-missing-field"),
            "{unknown}"
        );
        assert!(unknown.contains("login-busy[:SECS]"), "{unknown}");
    }

    #[test]
    fn specs_count_requests() {
        for (spec, times) in [("500", 1), ("429:3@2", 2), ("stall:5@always", u64::MAX)] {
            let parsed: FaultSpec = spec.parse().unwrap();
            assert_eq!(parsed.times, times);
            assert_eq!(parsed.to_string(), spec);
        }
        assert!("500@x".parse::<FaultSpec>().unwrap_err().contains("TIMES"));
        assert!("boom@2"
            .parse::<FaultSpec>()
            .unwrap_err()
            .contains("unknown fault"));
    }

    #[test]
    fn the_readme_lists_the_same_names() {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find("`--fault` injects misbehaviour")
            .expect("the README describes --fault");
        let list = &readme[start..];
        let list = &list[list.find("concerns:").expect("a list of names")..];
        let list = &list[..list.find("`@TIMES`").expect("the list ends before @TIMES")];
        let listed: Vec<&str> = list.split('`').skip(1).step_by(2).collect();
        assert_eq!(listed, Fault::names(), "README.md's fault names");
    }
}
