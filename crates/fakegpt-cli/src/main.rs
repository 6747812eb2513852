//! # fakegpt (the command)
//!
//! Thin wiring over the libraries: [`cli`] declares the arguments, [`chat`]
//! streams answers to the terminal, [`upstream`] runs the emulator, and
//! [`report`] turns failures into one line with a hint.

mod chat;
mod cli;
mod report;
mod upstream;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(err) => return report::usage(err),
    };
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            return report::fail(&format!("could not start the async runtime: {err}"), None)
        }
    };
    let outcome = runtime.block_on(async move {
        match args.command {
            cli::Command::Chat(chat) => chat::run(chat).await,
            cli::Command::Upstream(upstream) => upstream::run(upstream).await,
        }
    });
    // Streams left open (an emulator's stalled ones) must not hold up the exit.
    runtime.shutdown_background();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => report::fail(&failure.message, failure.hint.as_deref()),
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FAKEGPT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
