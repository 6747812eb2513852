//! # fakegpt (the command)
//!
//! Thin wiring over the libraries: [`cli`] declares the arguments,
//! [`config`] fills what they leave unset from the config file, [`provider`] builds the provider they describe, [`chat`] streams answers
//! to the terminal, [`serve`] runs the OpenAI-compatible gateway,
//! [`upstream`] runs the emulator, [`bench`] measures a load, [`docs`]
//! prints shell completions and the manual page, [`render`] renders
//! Markdown for the terminal, and [`report`] turns failures into one line
//! with a hint.

mod bench;
mod chat;
mod cli;
mod config;
mod docs;
mod kept;
mod provider;
mod render;
mod report;
mod serve;
mod session;
mod upstream;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match config::parse(std::env::args_os().collect()) {
        Ok(args) => args,
        Err(config::Problem::Usage(err)) => return report::usage(err),
        Err(config::Problem::File(message, hint)) => {
            report::fail(&message, Some(&hint));
            return ExitCode::from(2);
        }
    };
    match &args.command {
        cli::Command::Completions(completions) => return docs::completions(completions.shell),
        cli::Command::Man => return docs::man(),
        _ => {}
    }
    init_logging(matches!(args.command, cli::Command::Serve(_)));
    // One chat is one task: a single-threaded runtime spares the
    // cross-thread wake-ups that would otherwise cost more than decoding.
    // Its two tasks (the connection's and the chat's) hand each other the
    // answer a piece at a time, and the runtime looks for other I/O every
    // `event_interval` task polls even while they keep it busy: every 61
    // by default, some 300 needless `epoll_wait` calls on a fast answer of
    // 9,000 pieces. When both wait, it looks at once, as it always does.
    let mut builder = match args.command {
        cli::Command::Chat(_) => {
            let mut builder = tokio::runtime::Builder::new_current_thread();
            builder.event_interval(1024);
            builder
        }
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            return report::fail(&format!("could not start the async runtime: {err}"), None)
        }
    };
    let outcome = runtime.block_on(async move {
        match args.command {
            // Spawned, so that the connection task and this one wake each
            // other through the run queue, not through the driver.
            cli::Command::Chat(chat) => match tokio::spawn(chat::run(chat)).await {
                Ok(outcome) => outcome,
                Err(err) => Err(report::Failure::new(
                    format!("the chat stopped unexpectedly: {err}"),
                    "run it again; report it if it persists",
                )),
            },
            cli::Command::Serve(serve) => serve::run(serve).await,
            cli::Command::Upstream(upstream) => upstream::run(upstream).await,
            cli::Command::Bench(bench) => bench::run(bench).await,
            cli::Command::Session(session) => session::run(session).await,
            cli::Command::Completions(_) | cli::Command::Man => Ok(()),
        }
    });
    // Streams left open (an emulator's stalled ones) must not hold up the exit.
    runtime.shutdown_background();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

/// Logs go to stderr; `FAKEGPT_LOG` sets the filter (`info` for a server,
/// `warn` otherwise).
fn init_logging(server: bool) {
    let default = if server { "info" } else { "warn" };
    let filter = match std::env::var("FAKEGPT_LOG") {
        Ok(spec) if !spec.trim().is_empty() => tracing_subscriber::EnvFilter::try_new(&spec)
            .unwrap_or_else(|err| {
                report::warn(
                    &format!("FAKEGPT_LOG={spec:?} is not a log filter ({err}); using {default:?}"),
                    "e.g. FAKEGPT_LOG=debug or FAKEGPT_LOG=fakegpt=debug,warn",
                );
                tracing_subscriber::EnvFilter::new(default)
            }),
        _ => tracing_subscriber::EnvFilter::new(default),
    };
    // Colours only on a terminal, and never with NO_COLOR set (no-color.org).
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_target(false)
        .init();
}
