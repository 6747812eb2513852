//! Failures as one line on stderr: what failed, and a hint.

use std::io::Write;
use std::process::ExitCode;

use fakegpt::{Error, ErrorKind};

/// A failure to report: the message, and what to try.
#[derive(Debug)]
pub struct Failure {
    /// What failed.
    pub message: String,
    /// What to try, if anything useful can be said.
    pub hint: Option<String>,
    /// Whether it is a usage error (exit code 2), not a failure at run time.
    pub usage: bool,
    /// Whether Ctrl-C stopped the program: nothing is said, exit code 130.
    pub interrupted: bool,
}

impl Failure {
    /// A failure with a hint.
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            hint: Some(hint.into()),
            usage: false,
            interrupted: false,
        }
    }

    /// A usage error (a flag, a value, a file named on the command line)
    /// with a hint.
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Failure {
            usage: true,
            ..Failure::new(message, hint)
        }
    }

    /// A library error, with a hint chosen by its kind and whether the
    /// public (offline) service was used.
    pub fn from_error(err: &Error, public_service: bool) -> Self {
        let hint = match err.kind() {
            _ if public_service && err.is_connect() => {
                "the public chat-shared service has been offline since 2024; pass --base-url URL (or set FAKEGPT_BASE_URL) or use --local".to_owned()
            }
            ErrorKind::Connect => "check --base-url and --proxy, and that the upstream is running".into(),
            ErrorKind::Timeout => "the upstream is slow or stuck; try again, or raise --connect-timeout / --idle-timeout / --timeout".into(),
            ErrorKind::RateLimited => match err.retry_after() {
                Some(after) => format!("the shared account is busy; try again in {} s", after.as_secs()),
                None => "the shared account is busy; try again later".into(),
            },
            ErrorKind::Rejected if err.status().is_some() => {
                "the upstream refused the session even after logging in again; try again later".into()
            }
            ErrorKind::Rejected if err.context().is_some_and(|c| c.starts_with("conversation")) => "the upstream refused this answer; rephrase the prompt or try again later".into(),
            ErrorKind::Rejected => "the upstream has no shared account free; try again later".into(),
            ErrorKind::UpstreamStatus => "the upstream failed; try again later".into(),
            ErrorKind::Protocol => {
                "the upstream answered in a way fakegpt does not understand; check that --base-url points at a chat-shared service, or try again".into()
            }
            ErrorKind::NoValidResponse => "the upstream sent no answer text; try again".into(),
            ErrorKind::Config => "check --base-url (http:// or https://), --proxy (http://, https://, socks5:// or socks5h:// with a host and port) and --ca-cert (a PEM file)".into(),
            ErrorKind::UnsupportedModel => format!("use --model {}", fakegpt::FakeGpt::MODELS[0]),
            ErrorKind::InvalidRequest => "pass a prompt as an argument or on stdin".into(),
            ErrorKind::Cancelled => "try again".into(),
        };
        Failure {
            message: err.to_string(),
            hint: Some(hint),
            usage: matches!(
                err.kind(),
                ErrorKind::UnsupportedModel | ErrorKind::InvalidRequest | ErrorKind::Config
            ),
            interrupted: false,
        }
    }

    /// Ctrl-C stopped the program, as the shell expects of it (130).
    pub fn interrupted() -> Self {
        Failure {
            interrupted: true,
            ..Failure::new("interrupted", "")
        }
    }

    /// Prints the failure and returns its exit code: 2 for a usage error,
    /// 130 after Ctrl-C (printing nothing), 1 otherwise.
    pub fn report(&self) -> ExitCode {
        if self.interrupted {
            return ExitCode::from(130);
        }
        fail(&self.message, self.hint.as_deref());
        if self.usage {
            ExitCode::from(2)
        } else {
            ExitCode::FAILURE
        }
    }
}

/// Prints `fakegpt: MESSAGE (hint: HINT)` on one line and returns failure.
pub fn fail(message: &str, hint: Option<&str>) -> ExitCode {
    say("", message, hint);
    ExitCode::FAILURE
}

/// Reports something wrong that does not stop the program: one line on
/// stderr, `fakegpt: warning: …`.
pub fn warn(message: &str, hint: &str) {
    say("warning: ", message, Some(hint));
}

fn say(label: &str, message: &str, hint: Option<&str>) {
    let one_line = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut line = format!("fakegpt: {label}{}", one_line(message));
    if let Some(hint) = hint {
        line.push_str(&format!(" (hint: {})", one_line(hint)));
    }
    let _ = writeln!(std::io::stderr().lock(), "{line}");
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
    let reason = first_line(&rendered);
    let tip = rendered
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("tip: "))
        .map(|t| format!("{t}; "))
        .unwrap_or_default();
    fail(
        &reason,
        Some(&format!(
            "{tip}see {} --help",
            command_of(&rendered).unwrap_or_else(command_in_args)
        )),
    );
    ExitCode::from(2)
}

/// A clap error's reason on one line: its first line, followed by the
/// items it lists under it when it ends with a colon (e.g. the missing
/// arguments).
fn first_line(rendered: &str) -> String {
    let mut lines = rendered.lines().map(str::trim).skip_while(|l| l.is_empty());
    let reason = lines
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ");
    if !reason.ends_with(':') {
        return reason.to_owned();
    }
    let items: Vec<&str> = lines.take_while(|l| !l.is_empty()).collect();
    format!("{reason} {}", items.join(", "))
}

/// The command a clap error is about, from its usage line (`Usage:
/// fakegpt chat [OPTIONS] …` gives `fakegpt chat`), if it has one.
fn command_of(rendered: &str) -> Option<String> {
    rendered
        .lines()
        .find_map(|l| l.trim().strip_prefix("Usage: "))
        .map(|usage| {
            usage
                .split_whitespace()
                .take_while(|w| !w.starts_with(['[', '<', '-']))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|command| !command.is_empty())
}

/// The command named on this process's command line (errors about a bad
/// value carry no usage line): `fakegpt upstream --fault x` gives
/// `fakegpt upstream`.
fn command_in_args() -> String {
    use clap::CommandFactory as _;
    let args: Vec<String> = std::env::args().skip(1).collect();
    command_in(&crate::cli::Cli::command(), &args)
}

fn command_in(command: &clap::Command, args: &[String]) -> String {
    let mut path = vec![command.get_name().to_owned()];
    let mut current = command;
    for arg in args {
        if let Some(sub) = current.find_subcommand(arg) {
            path.push(sub.get_name().to_owned());
            current = sub;
        }
    }
    path.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_that_lists_items_keeps_them_on_its_line() {
        let missing = "error: the following required arguments were not provided:\n  --native-conversations\n  --x\n\nUsage: fakegpt serve\n";
        assert_eq!(
            first_line(missing),
            "the following required arguments were not provided: --native-conversations, --x"
        );
        assert_eq!(first_line("\nerror: bad value\n\ntip: t\n"), "bad value");
        assert_eq!(first_line(""), "invalid arguments");
    }

    #[test]
    fn usage_hints_name_the_subcommand() {
        assert_eq!(
            command_of("error: x\n\nUsage: fakegpt chat [OPTIONS] [PROMPT]\n").as_deref(),
            Some("fakegpt chat")
        );
        assert_eq!(
            command_of("error: x\n\nUsage: fakegpt <COMMAND>\n").as_deref(),
            Some("fakegpt")
        );
        assert_eq!(command_of("error: x"), None);
        use clap::CommandFactory as _;
        let cli = crate::cli::Cli::command();
        let args = |a: &str| a.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(
            command_in(&cli, &args("upstream --fault x")),
            "fakegpt upstream"
        );
        assert_eq!(command_in(&cli, &args("--bad")), "fakegpt");
    }
}
