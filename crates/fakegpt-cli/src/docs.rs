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

/// Prints the manual page, in roff: the command's sections, then one
/// section for each subcommand with its synopsis and options.
pub fn man() -> ExitCode {
    match page() {
        Ok(page) => print(&page),
        Err(err) => report::fail(&format!("could not make the manual page: {err}"), None),
    }
}

/// The manual page.
fn page() -> std::io::Result<Vec<u8>> {
    let mut command = Cli::command();
    command.build();
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut page)?;
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        let name = sub.get_bin_name().unwrap_or(sub.get_name()).to_owned();
        let man = clap_mangen::Man::new(sub.clone());
        let mut section = Vec::new();
        man.render_synopsis_section(&mut section)?;
        man.render_description_section(&mut section)?;
        man.render_options_section(&mut section)?;
        writeln!(page, ".SH \"{}\"", name.to_uppercase())?;
        // The subcommand's sections become subsections of its own.
        for line in String::from_utf8_lossy(&section).lines() {
            match line.strip_prefix(".SH ") {
                Some(heading) => writeln!(page, ".SS {heading}")?,
                None => writeln!(page, "{line}")?,
            }
        }
    }
    Ok(ascii(&String::from_utf8_lossy(&page)).into_bytes())
}

/// `roff` with every character beyond ASCII written as its escape
/// (`\[u2026]`), which every `troff` reads whatever its input encoding.
fn ascii(roff: &str) -> String {
    let mut out = String::with_capacity(roff.len());
    for c in roff.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("\\[u{:04X}]", u32::from(c)));
        }
    }
    out
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
