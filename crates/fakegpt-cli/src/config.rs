//! The config file, the last source of settings: a flag wins, then its
//! `FAKEGPT_…` environment variable, then the file. Its keys are the long
//! flag names, at the top level for every command that has the flag, or
//! under a command's table for that command alone:
//!
//! ```toml
//! base-url = "http://127.0.0.1:8080"   # chat, serve and bench
//!
//! [serve]
//! port = 8000
//! api-key = ["sk-local-1", "sk-local-2"]
//! ```
//!
//! The file's settings become flags given to clap after the command name,
//! so they are checked exactly as typed flags are. A file holding an API key
//! or a proxy password must not be readable by others.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, CommandFactory as _, FromArgMatches as _};

use crate::cli::Cli;

/// Why the command line and config file could not be read.
pub enum Problem {
    /// The command line itself (or a value from the file, as clap saw it).
    Usage(clap::Error),
    /// The config file: what is wrong and a hint.
    File(String, String),
}

/// Parses the command line, filling what it leaves unset from the config
/// file.
pub fn parse(argv: Vec<OsString>) -> Result<Cli, Problem> {
    let matches = Cli::command()
        .try_get_matches_from(&argv)
        .map_err(Problem::Usage)?;
    let Some((path, name, extra)) = from_file(&matches)? else {
        return Cli::from_arg_matches(&matches).map_err(Problem::Usage);
    };
    let at = command_position(&argv, &name);
    let mut argv = argv;
    argv.splice(at..at, extra);
    Cli::command()
        .try_get_matches_from(&argv)
        .and_then(|m| Cli::from_arg_matches(&m))
        .map_err(|err| {
            Problem::File(
                format!(
                    "in the config file {}: {}",
                    path.display(),
                    first_line(&err.render().to_string())
                ),
                "settings take the values their flags take; see fakegpt --help".into(),
            )
        })
}

/// The config file's path, the command's name and the flags the file adds
/// to it; `None` when there is no command, no file or nothing to add.
fn from_file(matches: &ArgMatches) -> Result<Option<(PathBuf, String, Vec<OsString>)>, Problem> {
    let Some((name, sub)) = matches.subcommand() else {
        return Ok(None);
    };
    let explicit = matches.get_one::<PathBuf>("config").cloned();
    let Some(path) = explicit.clone().or_else(default_path) else {
        return Ok(None);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && explicit.is_none() => {
            return Ok(None);
        }
        Err(err) => {
            return Err(Problem::File(
                format!("could not read the config file {}: {err}", path.display()),
                "check the path given by --config or FAKEGPT_CONFIG".into(),
            ))
        }
    };
    let extra = flags(&path, &text, name, sub)?;
    Ok((!extra.is_empty()).then(|| (path, name.to_owned(), extra)))
}

/// `$XDG_CONFIG_HOME/fakegpt/config.toml`, else `~/.config/fakegpt/config.toml`.
fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".config")))?;
    Some(base.join("fakegpt").join("config.toml"))
}

/// The flags the file adds for command `name`: its settings that the
/// command line and environment left unset.
fn flags(path: &Path, text: &str, name: &str, sub: &ArgMatches) -> Result<Vec<OsString>, Problem> {
    let file_problem = |what: String, hint: &str| {
        Problem::File(
            format!("config file {}: {what}", path.display()),
            hint.into(),
        )
    };
    let table: toml::Table = text.parse().map_err(|err: toml::de::Error| {
        file_problem(first_line(&err.to_string()), "the file must be TOML")
    })?;
    let command = Cli::command();
    let commands: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).collect();
    let Some(this) = command.find_subcommand(name) else {
        return Ok(Vec::new());
    };
    let mut extra = Vec::new();
    let mut secret = false;
    // The command's own table first, so it overrides the top level.
    let mut own: Vec<(&String, &toml::Value, bool)> = Vec::new();
    let mut top: Vec<(&String, &toml::Value, bool)> = Vec::new();
    for (key, value) in &table {
        match value {
            toml::Value::Table(inner) if commands.contains(&key.as_str()) => {
                if key == name {
                    own.extend(inner.iter().map(|(k, v)| (k, v, true)));
                } else if let Some(other) = command.find_subcommand(key) {
                    // Check the other commands' tables too, so a typo does not
                    // wait for the day that command runs.
                    for inner_key in inner.keys() {
                        if !other
                            .get_arguments()
                            .any(|a| a.get_long() == Some(inner_key))
                        {
                            return Err(file_problem(
                                format!("[{key}] has no setting `{inner_key}`"),
                                &format!("settings are the long flags of fakegpt {key} --help"),
                            ));
                        }
                    }
                }
            }
            _ => top.push((key, value, false)),
        }
    }
    let mut overridden: Vec<String> = Vec::new();
    for (key, value, own) in own.into_iter().chain(top) {
        if overridden.contains(key) {
            continue;
        }
        let Some(arg) = this
            .get_arguments()
            .find(|a| a.get_long() == Some(key.as_str()) && a.get_id() != "config")
        else {
            if own {
                return Err(file_problem(
                    format!("[{name}] has no setting `{key}`"),
                    &format!("settings are the long flags of fakegpt {name} --help"),
                ));
            }
            let anywhere = command
                .get_subcommands()
                .any(|c| c.get_arguments().any(|a| a.get_long() == Some(key)));
            if !anywhere {
                return Err(file_problem(
                    format!("no command has a setting `{key}`"),
                    "settings are long flag names, like base-url; see fakegpt --help",
                ));
            }
            continue; // another command's setting
        };
        overridden.push(key.clone());
        secret |= key.contains("api-key")
            || (matches!(key.as_str(), "proxy" | "store")
                && value.as_str().is_some_and(|v| v.contains('@')));
        let source = sub.value_source(arg.get_id().as_str());
        if matches!(
            source,
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) || conflicts_with_given(this, arg, sub)
        {
            continue;
        }
        let flag = format!("--{key}");
        let is_switch = matches!(arg.get_action(), ArgAction::SetTrue);
        let values: Vec<&toml::Value> = match value {
            toml::Value::Array(items) => items.iter().collect(),
            single => vec![single],
        };
        for item in values {
            match (item, is_switch) {
                (toml::Value::Boolean(true), true) => extra.push(OsString::from(&flag)),
                (toml::Value::Boolean(false), true) => {}
                (_, true) => {
                    return Err(file_problem(
                        format!("`{key}` is true or false"),
                        "write it as key = true",
                    ))
                }
                (toml::Value::String(s), false) => {
                    extra.push(OsString::from(format!("{flag}={s}")))
                }
                (toml::Value::Integer(n), false) => {
                    extra.push(OsString::from(format!("{flag}={n}")))
                }
                (toml::Value::Float(x), false) => extra.push(OsString::from(format!("{flag}={x}"))),
                (_, false) => {
                    return Err(file_problem(
                        format!("`{key}` takes a string or a number"),
                        "see its flag in fakegpt --help",
                    ))
                }
            }
        }
    }
    if secret {
        check_private(path)?;
    }
    Ok(extra)
}

/// Whether `arg` conflicts with a flag given on the command line or by
/// its environment variable (e.g. a system prompt in the file with
/// `chat --continue`): the file's setting then gives way.
fn conflicts_with_given(command: &clap::Command, arg: &clap::Arg, given: &ArgMatches) -> bool {
    let is_given = |id: &clap::Id| {
        matches!(
            given.value_source(id.as_str()),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        )
    };
    let mut command = command.clone();
    command.build();
    command
        .get_arg_conflicts_with(arg)
        .iter()
        .any(|other| is_given(other.get_id()))
        || command.get_arguments().any(|other| {
            is_given(other.get_id())
                && command
                    .get_arg_conflicts_with(other)
                    .iter()
                    .any(|c| c.get_id() == arg.get_id())
        })
}

/// A file with secrets in it must be readable by its owner alone.
fn check_private(path: &Path) -> Result<(), Problem> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
                return Err(Problem::File(
                    format!(
                        "the config file {} holds a secret but others may read it",
                        path.display()
                    ),
                    format!("chmod 600 {}", path.display()),
                ));
            }
        }
    }
    Ok(())
}

/// Where the command's own flags start: just after its name.
fn command_position(argv: &[OsString], name: &str) -> usize {
    let mut i = 1;
    while i < argv.len() {
        let arg = argv[i].to_string_lossy();
        if arg == name {
            return i + 1;
        }
        // Skip the value of a global option given as two words.
        if arg == "--config" {
            i += 1;
        }
        i += 1;
    }
    argv.len()
}

fn first_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("invalid value")
        .trim_start_matches("error: ")
        .to_owned()
}
