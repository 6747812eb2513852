//! The interactive mode: lines read with rustyline (editing, history kept
//! across runs, multi-line input, completion), each a question or a
//! command of [`super::commands`].
//!
//! rustyline rather than reedline: it writes its history file private
//! (0600) itself and appends to it, so two sessions at once both keep
//! theirs; it takes bracketed paste by default (a pasted block is one
//! input); it has no event loop of its own, so a blocking thread can read
//! a line while the async runtime waits; and it is small.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::history::FileHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{
    Cmd, ConditionalEventHandler, Editor, Event, EventContext, EventHandler, KeyCode, KeyEvent,
    Modifiers, RepeatCount,
};

use super::act::{act, Flow};
use super::commands::{self, Completes};
use super::dialogue::{Dialogue, Session};
use crate::report::{self, Failure};

/// How the interactive mode keeps its input history.
pub struct HistoryOptions {
    /// Whether to keep none.
    pub off: bool,
    /// The most lines kept.
    pub size: u32,
}

/// What the prompt looks like.
const PROMPT: &str = "> ";

/// A conversation on a terminal: each input a question or a command; the
/// history is kept, so follow-up questions have context.
pub async fn run(
    session: Session,
    mut dialogue: Dialogue,
    history: HistoryOptions,
    raw: bool,
) -> Result<(), Failure> {
    let ctrl_c_on_empty = Arc::new(AtomicBool::new(false));
    let (mut editor, history_file) = editor(&history, Arc::clone(&ctrl_c_on_empty))?;
    let mut session = session;
    eprintln!(
        "fakegpt chat: type a question and press Enter; /help lists the commands, /exit or Ctrl-D quits."
    );
    if let Some(handle) = dialogue.handle() {
        eprintln!(
            "(continuing the last conversation, {} turn(s) so far)",
            handle.turns()
        );
    }
    let context = super::act::Context {
        raw,
        history_file: history_file.clone(),
        history_size: history.size,
    };
    let mut interrupts = 0;
    loop {
        let (back, read) = tokio::task::spawn_blocking(move || {
            let read = editor.readline(PROMPT);
            (editor, read)
        })
        .await
        .map_err(|e| Failure::new(format!("the line editor stopped: {e}"), "run it again"))?;
        editor = back;
        let line = match read {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                if !ctrl_c_on_empty.load(Ordering::SeqCst) {
                    interrupts = 0;
                    continue;
                }
                interrupts += 1;
                if interrupts >= 2 {
                    return Ok(());
                }
                eprintln!("(press Ctrl-C again, or Ctrl-D, to quit)");
                continue;
            }
            Err(ReadlineError::Eof) => return Ok(()),
            Err(err) => {
                return Err(Failure::new(
                    format!("could not read the terminal: {err}"),
                    "run it on a terminal, or pass the prompt as an argument or on stdin",
                ))
            }
        };
        interrupts = 0;
        remember(&mut editor, history_file.as_ref(), &line);
        if let Flow::Quit = act(&mut session, &mut dialogue, &context, &line).await {
            return Ok(());
        }
    }
}

/// The line editor: Emacs keys, bracketed paste, Alt+Enter for a new line,
/// Ctrl-C that clears a line or (on an empty one) is counted, completion;
/// and the file its history is kept in, unless none is.
fn editor(
    history: &HistoryOptions,
    ctrl_c_on_empty: Arc<AtomicBool>,
) -> Result<(Editor<Helper, FileHistory>, Option<PathBuf>), Failure> {
    let size = usize::try_from(history.size).unwrap_or(usize::MAX);
    let failed = |e: ReadlineError| {
        Failure::new(
            format!("could not start the line editor: {e}"),
            "run it on a terminal, or pass the prompt as an argument or on stdin",
        )
    };
    let config = rustyline::Config::builder()
        .max_history_size(size)
        .map_err(failed)?
        .history_ignore_dups(true)
        .map_err(failed)?
        .history_ignore_space(true)
        .auto_add_history(false)
        .completion_type(rustyline::CompletionType::List)
        .behavior(rustyline::Behavior::PreferTerm)
        .bracketed_paste(true)
        .build();
    let mut editor: Editor<Helper, FileHistory> = Editor::with_config(config).map_err(failed)?;
    editor.set_helper(Some(Helper {
        files: FilenameCompleter::new(),
        colour: super::out::colour(),
    }));
    editor.bind_sequence(
        KeyEvent(KeyCode::Enter, Modifiers::ALT),
        EventHandler::Simple(Cmd::Newline),
    );
    editor.bind_sequence(
        KeyEvent::ctrl('C'),
        EventHandler::Conditional(Box::new(CtrlC(ctrl_c_on_empty))),
    );
    let file = if history.off { None } else { history_file() };
    if let Some(path) = &file {
        match editor.load_history(path) {
            Ok(()) => {}
            Err(ReadlineError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => report::warn(
                &format!("could not read the input history {}: {err}", path.display()),
                "remove the file, or pass --no-history",
            ),
        }
    }
    Ok((editor, file))
}

/// The input history's file in the state directory (made private if it
/// is new); `None`, with a warning, when there is no state directory.
fn history_file() -> Option<PathBuf> {
    let dir = match fakegpt::Store::state_dir() {
        Ok(fakegpt::Store::File { dir }) => dir,
        Ok(_) => return None,
        Err(err) => {
            report::warn(
                &format!("the input history will not be kept: {}", err.message()),
                "set XDG_STATE_HOME or HOME, or pass --no-history",
            );
            return None;
        }
    };
    let path = dir.join("history");
    if let Err(err) = create_private(&dir, &path) {
        report::warn(
            &format!(
                "the input history will not be kept in {}: {err}",
                path.display()
            ),
            "check the state directory's permissions, or pass --no-history",
        );
        return None;
    }
    Some(path)
}

/// Makes `dir` (0700) and an empty `path` in it (0600) unless they exist.
fn create_private(dir: &std::path::Path, path: &std::path::Path) -> std::io::Result<()> {
    fakegpt::private_file::make_dir(dir)?;
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop)
}

/// Adds `line` to the history and appends it to the file; a line starting
/// with a space is not kept (as in shells).
fn remember(editor: &mut Editor<Helper, FileHistory>, file: Option<&PathBuf>, line: &str) {
    if line.trim().is_empty() || line.starts_with(' ') {
        return;
    }
    if !matches!(editor.add_history_entry(line), Ok(true)) {
        return;
    }
    let Some(path) = file else {
        return;
    };
    if let Err(err) = editor.append_history(path) {
        report::warn(
            &format!(
                "could not add to the input history {}: {err}",
                path.display()
            ),
            "check the state directory's permissions, or pass --no-history",
        );
    }
}

/// Ctrl-C: clears a line that has text; on an empty line, is counted by
/// the caller (twice quits). Either way the line is given up.
struct CtrlC(Arc<AtomicBool>);

impl ConditionalEventHandler for CtrlC {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext) -> Option<Cmd> {
        self.0.store(ctx.line().is_empty(), Ordering::SeqCst);
        Some(Cmd::Interrupt)
    }
}

/// Completion of commands, files and models; hints for commands; `"""`
/// blocks that go on until closed.
struct Helper {
    files: FilenameCompleter,
    colour: bool,
}

impl Completer for Helper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        if !before.starts_with('/') {
            return Ok((0, Vec::new()));
        }
        let Some((name, argument)) = before.split_once(' ') else {
            let names = commands::names_starting(before)
                .into_iter()
                .map(|name| Pair {
                    display: name.to_owned(),
                    replacement: name.to_owned(),
                })
                .collect();
            return Ok((0, names));
        };
        match commands::find(name).map(|spec| spec.completes) {
            Some(Completes::Files) => self.files.complete(line, pos, ctx),
            Some(Completes::Models) => {
                let typed = argument.trim_start();
                let models = fakegpt::FakeGpt::MODELS
                    .iter()
                    .filter(|m| m.starts_with(typed))
                    .map(|m| Pair {
                        display: (*m).to_owned(),
                        replacement: (*m).to_owned(),
                    })
                    .collect();
                Ok((pos - typed.len(), models))
            }
            _ => Ok((pos, Vec::new())),
        }
    }
}

impl Hinter for Helper {
    type Hint = String;

    /// The rest of the one command the line starts, and what it takes.
    fn hint(&self, line: &str, pos: usize, _: &rustyline::Context<'_>) -> Option<String> {
        if pos < line.len() || !line.starts_with('/') || line.contains(char::is_whitespace) {
            return None;
        }
        let names = commands::names_starting(line);
        let [name] = names.as_slice() else {
            return None;
        };
        let spec = commands::find(name)?;
        let usage = commands::usage(spec, name);
        usage.strip_prefix(line).map(str::to_owned)
    }
}

impl Highlighter for Helper {
    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.colour {
            Cow::Owned(format!("\x1b[2m{hint}\x1b[0m"))
        } else {
            Cow::Borrowed(hint)
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        false
    }
}

impl Validator for Helper {
    /// A `"""` block goes on until it is closed; Enter adds a line to it.
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        if commands::is_open_block(ctx.input()) {
            return Ok(ValidationResult::Incomplete);
        }
        Ok(ValidationResult::Valid(None))
    }
}

impl rustyline::Helper for Helper {}
