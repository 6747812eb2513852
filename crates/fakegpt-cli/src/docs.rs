//! Shell completions and the manual page, generated from the same clap
//! definitions as `--help`, so the three never disagree.

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory as _;

use crate::cli::Cli;
use crate::report;

/// Prints the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> ExitCode {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "fakegpt", &mut script);
    print(&script)
}

/// Prints the manual page, in roff.
pub fn man() -> ExitCode {
    let mut page = Vec::new();
    if let Err(err) = clap_mangen::Man::new(Cli::command()).render(&mut page) {
        return report::fail(&format!("could not make the manual page: {err}"), None);
    }
    print(&page)
}

/// Writes `bytes` to stdout; a reader that went away is no failure.
fn print(bytes: &[u8]) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => report::fail(&format!("could not write to stdout: {err}"), None),
    }
}
