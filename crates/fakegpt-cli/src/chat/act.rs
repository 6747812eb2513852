//! What one input of the interactive mode does: asks it, or runs its
//! command. Messages about the session go to stderr; answers to stdout.

use std::path::{Path, PathBuf};

use super::commands::{self, Command, Input};
use super::dialogue::{Dialogue, Session};
use super::out::Out;
use super::receive::Said;
use super::transcript::{self, Transcript};
use crate::report::Failure;

/// What the commands need to know of the interactive mode.
pub struct Context {
    /// Whether answers are written without rendering.
    pub raw: bool,
    /// Where the input history is kept, if it is.
    pub history_file: Option<PathBuf>,
    /// The most lines it keeps.
    pub history_size: u32,
}

/// Whether the interactive mode goes on after an input.
pub enum Flow {
    /// Read the next input.
    Go,
    /// Quit.
    Quit,
}

/// Acts on one input: asks it, runs its command, or says what is wrong
/// with it (on stderr).
pub async fn act(
    session: &mut Session,
    dialogue: &mut Dialogue,
    context: &Context,
    line: &str,
) -> Flow {
    let outcome = match commands::parse(line) {
        Input::Nothing => Ok(()),
        Input::Question(question) => {
            let mut out = Out::for_stdout(context.raw, false);
            let said = dialogue
                .ask(session, question.to_owned(), &mut out, true)
                .await;
            said.map(|said| cancelled(&said))
        }
        Input::Unknown(typed) => Err(Failure::new(
            format!("unknown command {typed:?}: nothing was sent"),
            "/help lists the commands; start a question with // to begin it with /",
        )),
        Input::Misused(name, spec) => Err(Failure::new(
            format!("{name} is typed as {}", commands::usage(spec, name)),
            "/help lists the commands",
        )),
        Input::Command(Command::Exit, _) => return Flow::Quit,
        Input::Command(command, argument) => {
            run(command, argument, session, dialogue, context).await
        }
    };
    if let Err(failure) = outcome {
        failure.report();
    }
    Flow::Go
}

/// Says what became of an answer cancelled with Ctrl-C.
fn cancelled(said: &Said) {
    if !said.cancelled {
        return;
    }
    if said.text.is_empty() {
        eprintln!("(cancelled before any answer came; the question was left out)");
    } else {
        eprintln!("(answer cancelled: kept as far as it came, marked as cut short)");
    }
}

/// Runs a command other than `/exit`.
async fn run(
    command: Command,
    argument: Option<&str>,
    session: &mut Session,
    dialogue: &mut Dialogue,
    context: &Context,
) -> Result<(), Failure> {
    match command {
        Command::Help => eprint!("{}", commands::help()),
        Command::New => {
            dialogue.restart();
            eprintln!("(new conversation)");
        }
        Command::Regenerate => {
            let mut out = Out::for_stdout(context.raw, false);
            let said = dialogue.regenerate(session, &mut out, true).await?;
            cancelled(&said);
        }
        Command::System => system(dialogue, argument),
        Command::Model => model(session, argument)?,
        Command::Save => {
            let path = Path::new(argument.unwrap_or_default());
            let transcript = Transcript {
                model: session.model.clone(),
                messages: dialogue.messages().to_vec(),
                cut: dialogue.cut().to_vec(),
            };
            transcript::save(path, &transcript)
                .map_err(|why| Failure::new(why, "name another file"))?;
            eprintln!(
                "(saved {} message(s) to {})",
                transcript.messages.len(),
                path.display()
            );
        }
        Command::Load => {
            let path = Path::new(argument.unwrap_or_default());
            let loaded = transcript::load(path)
                .map_err(|why| Failure::new(why, "/save FILE writes one (.json or .md)"))?;
            let count = loaded.messages.len();
            dialogue.take_up(loaded.messages, loaded.cut, None);
            eprintln!(
                "(loaded {count} message(s) from {}; the next question goes on from there{})",
                path.display(),
                if session.native {
                    " in a new conversation on the upstream"
                } else {
                    ""
                }
            );
        }
        Command::Copy => {
            let answer = dialogue.last_answer().ok_or_else(|| {
                Failure::new("there is no answer to copy yet", "ask a question first")
            })?;
            let how = super::clipboard::copy(&answer).map_err(|why| {
                Failure::new(
                    why,
                    "install wl-copy, xclip or xsel, or use a terminal that takes OSC 52",
                )
            })?;
            eprintln!(
                "(copied the last answer, {} character(s), {how})",
                answer.chars().count()
            );
        }
        Command::Session => eprint!("{}", describe(session, dialogue, context)),
        Command::Exit => {}
    }
    Ok(())
}

/// `/system`: shows, sets or clears (`-`) the system prompt.
fn system(dialogue: &mut Dialogue, argument: Option<&str>) {
    match argument {
        None => match dialogue.system() {
            Some(system) => eprintln!("system prompt: {system}"),
            None => eprintln!("(no system prompt; /system TEXT sets one)"),
        },
        Some("-") => {
            dialogue.set_system(None);
            eprintln!("(system prompt cleared)");
        }
        Some(text) => {
            dialogue.set_system(Some(text.to_owned()));
            eprintln!("(system prompt set; it applies from the next question)");
        }
    }
}

/// `/model`: shows the model and the ones served, or changes it.
fn model(session: &mut Session, argument: Option<&str>) -> Result<(), Failure> {
    let served = fakegpt::FakeGpt::MODELS;
    let Some(wanted) = argument else {
        eprintln!("model: {} (served: {})", session.model, served.join(", "));
        return Ok(());
    };
    let Some(model) = served.iter().find(|m| m.eq_ignore_ascii_case(wanted)) else {
        return Err(Failure::new(
            format!("{wanted:?} is not a model this upstream serves"),
            format!("pick one of {}", served.join(", ")),
        ));
    };
    session.model = (*model).to_owned();
    eprintln!("(model: {model})");
    Ok(())
}

/// `/session`: what this session keeps and where, without a secret.
fn describe(session: &Session, dialogue: &Dialogue, context: &Context) -> String {
    let upstream = match &session.emulator {
        Some(_) => format!("{} (the local emulator)", session.provider.base_url()),
        None => session.provider.base_url().to_owned(),
    };
    let messages = dialogue.messages();
    let count = |role: fakegpt::Role| messages.iter().filter(|m| m.role == role).count();
    let conversation = match (session.native, dialogue.handle()) {
        (false, _) => "temporary: the whole history is sent with each question".to_owned(),
        (true, None) => "kept on the upstream from the next question".to_owned(),
        (true, Some(handle)) => format!(
            "kept on the upstream: {}, {} turn(s), account {}",
            handle.id(),
            handle.turns(),
            handle.account()
        ),
    };
    let mut text = String::new();
    let mut line = |key: &str, value: String| text.push_str(&format!("  {key:<14} {value}\n"));
    line("upstream", upstream);
    line("model", session.model.clone());
    line("session store", session.store.to_string());
    line("conversation", conversation);
    line(
        "messages",
        format!(
            "{} question(s), {} answer(s){}",
            count(fakegpt::Role::User),
            count(fakegpt::Role::Assistant),
            match dialogue.cut().len() {
                0 => String::new(),
                n => format!(", {n} cut short"),
            }
        ),
    );
    line(
        "system prompt",
        dialogue.system().unwrap_or_else(|| "(none)".to_owned()),
    );
    line(
        "--continue",
        match &session.kept {
            Some(kept) if session.native => format!("kept in {}", kept.path().display()),
            _ if session.emulator.is_some() => "not kept (--local)".to_owned(),
            _ => "not kept (without --native-conversations)".to_owned(),
        },
    );
    line(
        "input history",
        match &context.history_file {
            Some(path) => format!("{} (up to {} lines)", path.display(), context.history_size),
            None => "not kept".to_owned(),
        },
    );
    text
}
