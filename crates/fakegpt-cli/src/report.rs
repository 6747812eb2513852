//! Failures as one line on stderr: what failed, and a hint.

use std::io::Write;
use std::process::ExitCode;

use fakegpt::{Error, Step};

/// A failure to report: the message, and what to try.
#[derive(Debug)]
pub struct Failure {
    /// What failed.
    pub message: String,
    /// What to try, if anything useful can be said.
    pub hint: Option<String>,
}

impl Failure {
    /// A failure with a hint.
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    /// A library error, with a hint chosen by what it says and whether the
    /// default (offline) public service was used.
    pub fn from_error(err: &Error, default_upstream: bool) -> Self {
        let hint = match err {
            Error::Connect { step: Step::Loads, .. } | Error::Timeout { step: Step::Loads, .. }
                if default_upstream =>
            {
                Some("the public chat-shared service has been offline since 2024; pass --base-url URL (or set FAKEGPT_BASE_URL) or use --local".to_owned())
            }
            Error::Connect { .. } => Some("check --base-url and --proxy, and that the upstream is running".into()),
            Error::Timeout { .. } => Some("the upstream is slow or stuck; try again, or raise --connect-timeout / --idle-timeout / --timeout".into()),
            Error::Status { status: 429, retry_after, .. } => Some(match retry_after {
                Some(secs) => format!("the shared account is busy; try again in {secs} s"),
                None => "the shared account is busy; try again later".into(),
            }),
            Error::Status { status: 401 | 403, .. } => {
                Some("the upstream refused the session even after logging in again; try again later".into())
            }
            Error::Status { status, .. } if *status >= 500 => Some("the upstream failed; try again later".into()),
            Error::NoAccounts => Some("the upstream has no shared account free; try again later".into()),
            Error::Protocol { .. } => Some(
                "the upstream answered in a way fakegpt does not understand; check that --base-url points at a chat-shared service, or try again"
                    .into(),
            ),
            Error::NoValidResponse => Some("the upstream sent no answer text; try again".into()),
            Error::InvalidProxy { .. } => Some("use an http://, https://, socks5:// or socks5h:// URL with a host and port".into()),
            Error::InvalidCertificate(_) => Some("--ca-cert must be a PEM file with one or more certificates".into()),
            Error::InvalidBaseUrl { .. } => Some("use an http:// or https:// URL, e.g. http://127.0.0.1:8080".into()),
            Error::UnsupportedModel { .. } => Some(format!("use --model {}", fakegpt::fakegpt::MODELS[0])),
            Error::InvalidRequest(_) => Some("pass a prompt as an argument or on stdin".into()),
            _ => None,
        };
        Failure {
            message: err.to_string(),
            hint,
        }
    }
}

/// Prints `fakegpt: MESSAGE (hint: HINT)` on one line and returns failure.
pub fn fail(message: &str, hint: Option<&str>) -> ExitCode {
    let one_line = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut line = format!("fakegpt: {}", one_line(message));
    if let Some(hint) = hint {
        line.push_str(&format!(" (hint: {})", one_line(hint)));
    }
    let _ = writeln!(std::io::stderr().lock(), "{line}");
    ExitCode::FAILURE
}

/// Reports a command-line error: help and version go to stdout as clap
/// writes them; a usage error becomes one line on stderr, exit code 2.
pub fn usage(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            return ExitCode::from(2);
        }
        // No command but a global option (say FAKEGPT_CONFIG in the
        // environment): the same help as a bare `fakegpt`.
        ErrorKind::MissingSubcommand => {
            use clap::CommandFactory as _;
            let help = crate::cli::Cli::command().render_help();
            let _ = write!(std::io::stderr().lock(), "{help}");
            return ExitCode::from(2);
        }
        _ => {}
    }
    let rendered = err.render().to_string();
    let reason = rendered
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ");
    let tip = rendered
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("tip: "))
        .map(|t| format!("{t}; "))
        .unwrap_or_default();
    fail(reason, Some(&format!("{tip}see fakegpt --help")));
    ExitCode::from(2)
}
