//! `fakegpt chat`: one question from the argument or stdin, or an
//! interactive conversation on a terminal.

use std::io::{IsTerminal, Read, Write};

use fakegpt::{ChatRequest, FakeGpt, Message};
use futures_util::StreamExt;
use tokio::io::AsyncBufReadExt;

use crate::cli::ChatArgs;
use crate::report::Failure;

/// Where answers go, and whether the reader went away.
enum Written {
    /// Everything was written.
    All,
    /// stdout is closed (e.g. piped into `head`): stop quietly.
    Closed,
}

struct Session {
    provider: FakeGpt,
    model: String,
    /// Keeps an in-process emulator alive for `--local`.
    _emulator: Option<fakegpt_upstream::Emulator>,
}

/// Runs `fakegpt chat`.
pub async fn run(args: ChatArgs) -> Result<(), Failure> {
    let upstream = crate::provider::connect(&args.upstream, &args.timeouts, "chat").await?;
    let session = Session {
        provider: upstream.provider,
        model: args.model,
        _emulator: upstream.emulator,
    };
    let mut history: Vec<Message> = args.system.into_iter().map(Message::system).collect();
    let prompt = match args.prompt {
        Some(prompt) => prompt,
        None if std::io::stdin().is_terminal() => return interactive(&session, history).await,
        None => read_stdin()?,
    };
    if prompt.trim().is_empty() {
        return Err(Failure::new(
            "the prompt is empty",
            "pass a prompt as an argument or on stdin",
        ));
    }
    history.push(Message::user(prompt));
    session.ask(history).await.map(|_| ())
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

impl Session {
    /// Streams one answer to stdout and returns its text.
    async fn ask(&self, messages: Vec<Message>) -> Result<String, Failure> {
        let request = ChatRequest::new(self.model.clone(), messages);
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
                                return Ok(answer);
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
                        return Ok(answer);
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
            return Ok(answer);
        }
        if !answer.is_empty() && !answer.ends_with('\n') {
            write_out("\n");
        }
        outcome.map(|()| answer)
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

/// A conversation on a terminal: each line is a question; the history is
/// kept, so follow-up questions have context.
async fn interactive(session: &Session, mut history: Vec<Message>) -> Result<(), Failure> {
    eprintln!("fakegpt chat: type a question and press Enter; /reset forgets the conversation, /exit or Ctrl-D quits.");
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let system = history.clone();
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
        match line.trim() {
            "" => continue,
            "/exit" | "/quit" => return Ok(()),
            "/reset" => {
                history.clone_from(&system);
                eprintln!("(conversation forgotten)");
                continue;
            }
            _ => {}
        }
        history.push(Message::user(line));
        match session.ask(history.clone()).await {
            Ok(answer) => history.push(Message::assistant(answer)),
            Err(failure) => {
                history.pop();
                failure.report();
            }
        }
    }
}
