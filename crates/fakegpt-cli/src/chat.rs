//! `fakegpt chat`: one question from the argument or stdin, or an
//! interactive conversation on a terminal. With native conversations the
//! conversation is kept on the upstream (each turn sends only the new
//! message), the last one is written down ([`crate::kept`]) after every
//! answer, and `--continue` takes it up in a later run.

use std::io::{IsTerminal, Read, Write};

use fakegpt::{ChatRequest, Conversation, FakeGpt, Message, Role};
use futures_util::StreamExt;
use tokio::io::AsyncBufReadExt;

use crate::cli::ChatArgs;
use crate::kept::{KeptFile, LastConversation, FORMAT};
use crate::report::{self, Failure};

/// The model asked for when neither `--model` nor a kept conversation
/// names one.
const DEFAULT_MODEL: &str = "gpt-3.5-turbo";

/// Where answers go, and whether the reader went away.
enum Written {
    /// Everything was written.
    All,
    /// stdout is closed (e.g. piped into `head`): stop quietly.
    Closed,
}

/// What every request of this run shares.
struct Session {
    provider: FakeGpt,
    model: String,
    /// Whether conversations are kept on the upstream.
    native: bool,
    /// How many times an answer cut at its length limit is continued.
    auto_continue: u32,
    /// Where the last kept conversation is written; `None` when it is not
    /// (`--local`, whose emulator ends with the run, or no state directory).
    kept: Option<KeptFile>,
    /// Keeps an in-process emulator alive for `--local`.
    _emulator: Option<fakegpt_upstream::Emulator>,
}

/// A conversation of this run: its messages, and where it lives on the
/// upstream when it is kept there.
struct Dialogue {
    /// What a new conversation starts with (the system prompt).
    start: Vec<Message>,
    /// The history, the system prompt included.
    messages: Vec<Message>,
    /// The conversation on the upstream that the last answer ended on.
    handle: Option<Conversation>,
}

/// An answer as far as it was read.
struct Said {
    /// The text received.
    text: String,
    /// Where the conversation lives now (native conversations, an answer
    /// read to its end).
    handle: Option<Conversation>,
}

/// Runs `fakegpt chat`.
pub async fn run(args: ChatArgs) -> Result<(), Failure> {
    let native = args.native_conversations || args.continue_last;
    let store = crate::provider::store_for(&args.upstream, "chat");
    let upstream = crate::provider::connect(&args.upstream, &args.timeouts, "chat").await?;
    let kept = if native && !args.upstream.local {
        match KeptFile::for_store(&store) {
            Ok(kept) => Some(kept),
            Err(err) if args.continue_last => {
                return Err(Failure::usage(
                    format!("no conversation can be continued: {}", err.message()),
                    "set XDG_STATE_HOME or HOME, or pass --store file:DIR",
                ))
            }
            Err(err) => {
                report::warn(
                    &format!(
                        "the conversation will not be kept for --continue: {}",
                        err.message()
                    ),
                    "set XDG_STATE_HOME or HOME, or pass --store file:DIR",
                );
                None
            }
        }
    } else {
        None
    };
    let mut dialogue = Dialogue::new(args.system.into_iter().map(Message::system).collect());
    let mut model = args.model;
    if args.continue_last {
        let last = last_conversation(kept.as_ref(), upstream.provider.base_url())?;
        model = model.or(Some(last.model));
        dialogue.take_up(last.messages, last.conversation);
    }
    let session = Session {
        provider: upstream.provider,
        model: model.unwrap_or_else(|| DEFAULT_MODEL.to_owned()),
        native,
        auto_continue: args.auto_continue,
        kept,
        _emulator: upstream.emulator,
    };
    let prompt = match args.prompt {
        Some(prompt) => prompt,
        None if std::io::stdin().is_terminal() => return interactive(&session, dialogue).await,
        None => read_stdin()?,
    };
    if prompt.trim().is_empty() {
        return Err(Failure::new(
            "the prompt is empty",
            "pass a prompt as an argument or on stdin",
        ));
    }
    dialogue.ask(&session, prompt).await
}

/// The last conversation kept for the upstream at `base_url`, or why
/// there is none to continue.
fn last_conversation(kept: Option<&KeptFile>, base_url: &str) -> Result<LastConversation, Failure> {
    let start = "start one with fakegpt chat --native-conversations PROMPT";
    let Some(kept) = kept else {
        return Err(Failure::usage("no conversation is kept to continue", start));
    };
    let Some(last) = kept.read()? else {
        return Err(Failure::usage(
            format!(
                "no conversation is kept to continue (none in {})",
                kept.path().display()
            ),
            start,
        ));
    };
    let upstream = last.upstream.trim_end_matches('/');
    if upstream != base_url.trim_end_matches('/') {
        return Err(Failure::usage(
            format!("the last kept conversation lives on {upstream}, not on {base_url}"),
            format!("pass --base-url {upstream} to continue it, or {start}"),
        ));
    }
    Ok(last)
}

fn read_stdin() -> Result<String, Failure> {
    let mut prompt = String::new();
    std::io::stdin().read_to_string(&mut prompt).map_err(|e| {
        Failure::new(
            format!("could not read the prompt from stdin: {e}"),
            "pass valid UTF-8 text, or the prompt as an argument",
        )
    })?;
    Ok(prompt)
}

impl Dialogue {
    /// A new conversation starting with `start`.
    fn new(start: Vec<Message>) -> Dialogue {
        Dialogue {
            messages: start.clone(),
            start,
            handle: None,
        }
    }

    /// Takes up a kept conversation; starting over keeps its system prompt.
    fn take_up(&mut self, messages: Vec<Message>, handle: Conversation) {
        self.start = messages
            .iter()
            .take_while(|m| m.role == Role::System)
            .cloned()
            .collect();
        self.messages = messages;
        self.handle = Some(handle);
    }

    /// Starts over: the history and the handle are forgotten.
    fn restart(&mut self) {
        self.messages.clone_from(&self.start);
        self.handle = None;
    }

    /// Asks `question`, streaming the answer to stdout, and adds both to
    /// the history; a failed question is left out of it.
    async fn ask(&mut self, session: &Session, question: String) -> Result<(), Failure> {
        self.messages.push(Message::user(question));
        let request = session.request(self.messages.clone(), self.handle.clone(), false);
        match session.send(request).await {
            Ok(said) => {
                self.messages.push(Message::assistant(said.text));
                self.handle = said.handle;
                session.keep(self);
                Ok(())
            }
            Err(failure) => {
                self.messages.pop();
                Err(failure)
            }
        }
    }

    /// Asks the last question again; the new answer replaces the last one.
    async fn regenerate(&mut self, session: &Session) -> Result<(), Failure> {
        let answered = self
            .messages
            .split_last()
            .filter(|(last, asked)| {
                last.role == Role::Assistant && asked.last().is_some_and(|m| m.role == Role::User)
            })
            .map(|(_, asked)| asked.to_vec());
        let Some(asked) = answered else {
            return Err(Failure::new(
                "there is no answer to regenerate yet",
                "ask a question first",
            ));
        };
        let request = session.request(asked, self.handle.clone(), true);
        let said = session.send(request).await?;
        self.messages.pop();
        self.messages.push(Message::assistant(said.text));
        self.handle = said.handle;
        session.keep(self);
        Ok(())
    }
}

impl Session {
    /// A request for `messages`: with native conversations, one that
    /// continues `handle` (or asks it again, to `regenerate` its last
    /// answer), or starts a kept conversation without one.
    fn request(
        &self,
        messages: Vec<Message>,
        handle: Option<Conversation>,
        regenerate: bool,
    ) -> ChatRequest {
        let request = ChatRequest::new(self.model.clone(), messages);
        if !self.native {
            return request;
        }
        let request = request.auto_continue(self.auto_continue);
        match handle {
            Some(handle) if regenerate => request.regenerating(handle),
            Some(handle) => request.continuing(handle),
            None => request.kept(),
        }
    }

    /// Writes `dialogue` down as the last kept conversation, when it is
    /// kept on the upstream; a failure to is a warning.
    fn keep(&self, dialogue: &Dialogue) {
        let (Some(kept), Some(handle), true) = (&self.kept, &dialogue.handle, self.native) else {
            return;
        };
        let last = LastConversation {
            format: FORMAT.to_owned(),
            upstream: self.provider.base_url().to_owned(),
            model: self.model.clone(),
            conversation: handle.clone(),
            messages: dialogue.messages.clone(),
        };
        if let Err(err) = kept.write(&last) {
            report::warn(
                &format!(
                    "could not keep the conversation in {} for --continue: {err}",
                    kept.path().display()
                ),
                "check the permissions of the state directory, or pass --store file:DIR",
            );
        }
    }

    /// Streams one answer to stdout and returns it.
    async fn send(&self, request: ChatRequest) -> Result<Said, Failure> {
        let fail = |e: fakegpt::Error| Failure::from_error(&e, self.provider.is_public_service());
        let mut stream = self.provider.chat(request).await.map_err(fail)?;
        let mut answer = String::new();
        let mut out = Output::new(!std::io::stdout().is_terminal());
        let mut outcome = Ok(());
        // One timer for the whole answer, moved to each batch's deadline.
        let timer = tokio::time::sleep(std::time::Duration::ZERO);
        tokio::pin!(timer);
        let mut armed_for = None;
        loop {
            let item = match out.due() {
                None => stream.next().await,
                Some(due) => {
                    if armed_for != Some(due) {
                        timer.as_mut().reset(due);
                        armed_for = Some(due);
                    }
                    // Text first: the timer is polled only when none is
                    // ready (a ready stream is checked against the deadline
                    // in `push`).
                    tokio::select! {
                        biased;
                        item = stream.next() => item,
                        () = &mut timer => {
                            if let Written::Closed = out.flush() {
                                return Ok(Said { text: answer, handle: None });
                            }
                            continue;
                        }
                    }
                }
            };
            match item {
                Some(Ok(chunk)) => {
                    answer.push_str(&chunk);
                    if let Written::Closed = out.push(&chunk) {
                        return Ok(Said {
                            text: answer,
                            handle: None,
                        });
                    }
                }
                Some(Err(err)) => {
                    outcome = Err(fail(err));
                    break;
                }
                None => break,
            }
        }
        if let Written::Closed = out.flush() {
            return Ok(Said {
                text: answer,
                handle: None,
            });
        }
        if !answer.is_empty() && !answer.ends_with('\n') {
            write_out("\n");
        }
        outcome.map(|()| Said {
            text: answer,
            handle: stream.conversation().cloned(),
        })
    }
}

/// The answer on its way to stdout. On a terminal each piece is written
/// as it comes. Into a pipe or a file, pieces that come within
/// [`Output::WINDOW`] of each other are written together: a fast stream
/// costs one write per few kilobytes instead of one per event, and no
/// text waits longer than the window.
struct Output {
    batch: bool,
    pending: String,
    /// When the oldest pending text must be written.
    due: Option<tokio::time::Instant>,
}

impl Output {
    /// The longest any text waits before it is written.
    const WINDOW: std::time::Duration = std::time::Duration::from_millis(2);
    /// Pending text is written once it reaches this size.
    const MAX_PENDING: usize = 64 * 1024;

    fn new(batch: bool) -> Self {
        Output {
            batch,
            pending: String::new(),
            due: None,
        }
    }

    fn due(&self) -> Option<tokio::time::Instant> {
        self.due
    }

    fn push(&mut self, text: &str) -> Written {
        if !self.batch {
            return write_out(text);
        }
        let now = tokio::time::Instant::now();
        if self.pending.is_empty() {
            self.due = Some(now + Self::WINDOW);
        }
        self.pending.push_str(text);
        if self.pending.len() >= Self::MAX_PENDING || self.due.is_some_and(|due| now >= due) {
            return self.flush();
        }
        Written::All
    }

    fn flush(&mut self) -> Written {
        self.due = None;
        if self.pending.is_empty() {
            return Written::All;
        }
        let written = write_out(&self.pending);
        self.pending.clear();
        written
    }
}

fn write_out(text: &str) -> Written {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Written::All,
        Err(_) => Written::Closed,
    }
}

/// A command of the interactive mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    /// Start over.
    New,
    /// Ask the last question again.
    Regenerate,
    /// List the commands.
    Help,
    /// Quit.
    Exit,
}

/// One interactive command: what it is, its names (help shows them all)
/// and what it does.
struct CommandSpec {
    command: Command,
    names: &'static [&'static str],
    help: &'static str,
}

/// The interactive commands: help and dispatch both read this table.
const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        command: Command::New,
        names: &["/new", "/reset"],
        help: "start over: forget the conversation",
    },
    CommandSpec {
        command: Command::Regenerate,
        names: &["/regenerate"],
        help: "ask the last question again; the new answer replaces the last one",
    },
    CommandSpec {
        command: Command::Help,
        names: &["/help"],
        help: "list the commands",
    },
    CommandSpec {
        command: Command::Exit,
        names: &["/exit", "/quit"],
        help: "quit (so does Ctrl-D)",
    },
];

/// What a typed line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Input<'a> {
    /// A blank line.
    Nothing,
    /// A question for the model.
    Question(&'a str),
    /// A known command.
    Command(Command),
    /// A line starting with `/` that is no command: never sent.
    Unknown(&'a str),
}

/// Reads a typed line: a command of [`COMMANDS`], any other line starting
/// with `/` is an unknown command, `//…` asks `/…`, the rest is a question.
fn parse_input(line: &str) -> Input<'_> {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return Input::Nothing;
    }
    if trimmed.starts_with("//") {
        return Input::Question(trimmed.strip_prefix('/').unwrap_or(trimmed));
    }
    if !trimmed.starts_with('/') {
        return Input::Question(line);
    }
    COMMANDS
        .iter()
        .find(|spec| spec.names.contains(&trimmed))
        .map_or(Input::Unknown(trimmed), |spec| Input::Command(spec.command))
}

/// The commands, one a line, as `/help` prints them.
fn help() -> String {
    let mut text = String::from("commands:\n");
    for spec in COMMANDS {
        text.push_str(&format!("  {:<16} {}\n", spec.names.join(", "), spec.help));
    }
    text.push_str(&format!(
        "  {:<16} {}\n",
        "//TEXT", "ask a question that starts with /"
    ));
    text
}

/// Whether the interactive mode goes on after a line.
enum Flow {
    /// Read the next line.
    Go,
    /// Quit.
    Quit,
}

/// Acts on one typed line: asks it, runs its command, or says what is
/// wrong with it (on stderr).
async fn act(session: &Session, dialogue: &mut Dialogue, line: &str) -> Flow {
    let outcome = match parse_input(line) {
        Input::Nothing => Ok(()),
        Input::Question(question) => dialogue.ask(session, question.to_owned()).await,
        Input::Unknown(typed) => Err(Failure::new(
            format!("unknown command {typed:?}: nothing was sent"),
            "/help lists the commands; start a question with // to begin it with /",
        )),
        Input::Command(Command::Exit) => return Flow::Quit,
        Input::Command(Command::Help) => {
            eprint!("{}", help());
            Ok(())
        }
        Input::Command(Command::New) => {
            dialogue.restart();
            eprintln!("(new conversation)");
            Ok(())
        }
        Input::Command(Command::Regenerate) => dialogue.regenerate(session).await,
    };
    if let Err(failure) = outcome {
        failure.report();
    }
    Flow::Go
}

/// A conversation on a terminal: each line is a question or a command;
/// the history is kept, so follow-up questions have context.
async fn interactive(session: &Session, mut dialogue: Dialogue) -> Result<(), Failure> {
    eprintln!(
        "fakegpt chat: type a question and press Enter; /help lists the commands, /exit or Ctrl-D quits."
    );
    if let Some(handle) = &dialogue.handle {
        eprintln!(
            "(continuing the last conversation, {} turn(s) so far)",
            handle.turns()
        );
    }
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    loop {
        eprint!("> ");
        let line = match lines.next_line().await {
            Ok(Some(line)) => line,
            Ok(None) => {
                eprintln!();
                return Ok(());
            }
            Err(e) => {
                return Err(Failure::new(
                    format!("could not read stdin: {e}"),
                    "type UTF-8 text",
                ))
            }
        };
        if let Flow::Quit = act(session, &mut dialogue, &line).await {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_lines_are_questions_commands_or_unknown_commands() {
        assert_eq!(parse_input("  "), Input::Nothing);
        assert_eq!(parse_input(" hi there "), Input::Question(" hi there "));
        assert_eq!(parse_input("/new"), Input::Command(Command::New));
        assert_eq!(parse_input(" /reset "), Input::Command(Command::New));
        assert_eq!(
            parse_input("/regenerate"),
            Input::Command(Command::Regenerate)
        );
        assert_eq!(parse_input("/quit"), Input::Command(Command::Exit));
        assert_eq!(parse_input("/frobnicate"), Input::Unknown("/frobnicate"));
        assert_eq!(parse_input("/new please"), Input::Unknown("/new please"));
        assert_eq!(parse_input("//etc/hosts?"), Input::Question("/etc/hosts?"));
        let help = help();
        for spec in COMMANDS {
            for name in spec.names {
                assert!(help.contains(name), "{help}");
            }
        }
    }
}
