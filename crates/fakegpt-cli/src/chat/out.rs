//! Where an answer goes: into a pipe or a file as plain text, onto a
//! terminal (a spinner while waiting, then Markdown rendered as it
//! streams), or as JSON lines for scripts.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::time::Instant;

use crate::render::Markdown;

/// Whether the reader is still there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Everything was written.
    All,
    /// stdout is closed (e.g. piped into `head`): stop quietly.
    Closed,
}

/// An answer's way out.
pub enum Out {
    /// Plain text, batched: stdout is a pipe or a file.
    Plain(Batch),
    /// A terminal.
    Terminal(Terminal),
    /// JSON lines.
    Json(Batch),
}

impl Out {
    /// The way out for stdout: JSON lines when asked, plain text when
    /// stdout is no terminal, else the terminal's (Markdown rendered unless
    /// `raw`; no colours with `NO_COLOR`).
    pub fn for_stdout(raw: bool, json: bool) -> Out {
        if json {
            return Out::Json(Batch::new());
        }
        if !std::io::stdout().is_terminal() {
            return Out::Plain(Batch::new());
        }
        Out::Terminal(Terminal::new(raw))
    }

    /// The answer is awaited.
    pub fn waiting(&mut self) {
        if let Out::Terminal(terminal) = self {
            terminal.waiting();
        }
    }

    /// The answer came or failed: no more waiting.
    pub fn started(&mut self) {
        if let Out::Terminal(terminal) = self {
            terminal.stop_spinner();
        }
    }

    /// When pending text must be written, if any is pending.
    pub fn due(&self) -> Option<Instant> {
        match self {
            Out::Plain(batch) | Out::Json(batch) => batch.due,
            Out::Terminal(_) => None,
        }
    }

    /// Writes the next piece of the answer.
    pub fn text(&mut self, text: &str) -> Written {
        match self {
            Out::Plain(batch) => batch.push(text),
            Out::Terminal(terminal) => terminal.text(text),
            Out::Json(batch) => batch.push(&json_line("delta", text)),
        }
    }

    /// Writes the next piece of the model's reasoning: only JSON lines
    /// carry it.
    pub fn reasoning(&mut self, text: &str) -> Written {
        match self {
            Out::Json(batch) => batch.push(&json_line("reasoning", text)),
            _ => Written::All,
        }
    }

    /// Writes what is pending.
    pub fn flush(&mut self) -> Written {
        match self {
            Out::Plain(batch) | Out::Json(batch) => batch.flush(),
            Out::Terminal(_) => Written::All,
        }
    }

    /// The answer ended (or stopped): writes what was held back, and ends
    /// the last line of text.
    pub fn end(&mut self) -> Written {
        match self {
            Out::Plain(batch) => {
                let newline = !batch.ends_line();
                if batch.flush() == Written::Closed {
                    return Written::Closed;
                }
                if newline {
                    return write_out("\n");
                }
                Written::All
            }
            Out::Terminal(terminal) => terminal.end(),
            Out::Json(batch) => batch.flush(),
        }
    }

    /// Writes one whole JSON object as a line (JSON lines only).
    pub fn json(&mut self, value: &impl serde::Serialize) -> Written {
        match self {
            Out::Json(batch) => {
                let mut line = serde_json::to_string(value).unwrap_or_default();
                line.push('\n');
                if batch.push(&line) == Written::Closed {
                    return Written::Closed;
                }
                batch.flush()
            }
            _ => Written::All,
        }
    }
}

/// A piece of an answer as a JSON line.
#[derive(serde::Serialize)]
struct Piece<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    content: &'a str,
}

/// One `{"type": kind, "content": text}` line.
fn json_line(kind: &str, text: &str) -> String {
    let mut line = serde_json::to_string(&Piece {
        kind,
        content: text,
    })
    .unwrap_or_default();
    line.push('\n');
    line
}

/// Text on its way into a pipe or a file: pieces that come within
/// [`Batch::WINDOW`] of each other are written together, so a fast stream
/// costs one write per few kilobytes instead of one per event, and no
/// text waits longer than the window.
pub struct Batch {
    pending: String,
    /// When the oldest pending text must be written.
    due: Option<Instant>,
    /// Whether the text so far ends a line (or there is none).
    ends_line: bool,
    /// Pieces pushed since the clock was last read.
    unclocked: u32,
}

impl Batch {
    /// The longest any text waits before it is written.
    const WINDOW: Duration = Duration::from_millis(2);
    /// Pending text is written once it reaches this size.
    const MAX_PENDING: usize = 64 * 1024;
    /// Pieces pushed between two readings of the clock: the window is
    /// also kept by the caller's timer whenever no text is ready, so the
    /// clock matters only for text that is always ready, and reading it
    /// for every piece of a fast stream costs more than the rest of
    /// pushing it.
    const CLOCK_EVERY: u32 = 32;

    fn new() -> Self {
        Batch {
            pending: String::new(),
            due: None,
            ends_line: true,
            unclocked: 0,
        }
    }

    fn ends_line(&self) -> bool {
        self.ends_line
    }

    fn push(&mut self, text: &str) -> Written {
        if let Some(last) = text.as_bytes().last() {
            self.ends_line = *last == b'\n';
        }
        let starts = self.pending.is_empty();
        self.pending.push_str(text);
        if self.pending.len() >= Self::MAX_PENDING {
            return self.flush();
        }
        self.unclocked += 1;
        if !starts && self.unclocked < Self::CLOCK_EVERY {
            return Written::All;
        }
        self.unclocked = 0;
        let now = Instant::now();
        match self.due {
            Some(due) if now >= due => self.flush(),
            Some(_) => Written::All,
            None => {
                self.due = Some(now + Self::WINDOW);
                Written::All
            }
        }
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

/// An answer on a terminal.
pub struct Terminal {
    /// The spinner while waiting (stderr a terminal too).
    spinner: Option<ProgressBar>,
    /// Whether a spinner may be shown.
    spins: bool,
    /// The Markdown renderer, unless raw.
    markdown: Option<Markdown>,
    /// Whether what was written so far ends a line.
    ends_line: bool,
}

impl Terminal {
    fn new(raw: bool) -> Self {
        let colour = colour();
        let markdown = (!raw).then(|| {
            let width = console::Term::stdout()
                .size_checked()
                .map_or(80, |(_rows, columns)| usize::from(columns));
            Markdown::new(width, colour)
        });
        Terminal {
            spinner: None,
            spins: std::io::stderr().is_terminal(),
            markdown,
            ends_line: true,
        }
    }

    /// Shows the spinner: what is awaited, and for how long.
    fn waiting(&mut self) {
        if !self.spins || self.spinner.is_some() {
            return;
        }
        let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} waiting for the answer… {elapsed}")
        {
            spinner.set_style(style);
        }
        spinner.enable_steady_tick(Duration::from_millis(100));
        self.spinner = Some(spinner);
    }

    /// Clears the spinner, before anything else is written.
    fn stop_spinner(&mut self) {
        if let Some(spinner) = self.spinner.take() {
            spinner.finish_and_clear();
        }
    }

    fn text(&mut self, text: &str) -> Written {
        self.stop_spinner();
        let rendered;
        let out = match &mut self.markdown {
            Some(markdown) => {
                rendered = markdown.push(text);
                rendered.as_str()
            }
            None => text,
        };
        self.write(out)
    }

    fn end(&mut self) -> Written {
        self.stop_spinner();
        if let Some(markdown) = &mut self.markdown {
            let rest = markdown.finish();
            if self.write(&rest) == Written::Closed {
                return Written::Closed;
            }
        }
        if self.ends_line {
            return Written::All;
        }
        self.write("\n")
    }

    fn write(&mut self, text: &str) -> Written {
        if let Some(last) = text.as_bytes().last() {
            self.ends_line = *last == b'\n';
        }
        write_out(text)
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        self.stop_spinner();
    }
}

/// Whether colours may be used on a terminal: not with `NO_COLOR` set to
/// anything but the empty string (no-color.org).
pub fn colour() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Writes `text` to stdout now.
pub fn write_out(text: &str) -> Written {
    if text.is_empty() {
        return Written::All;
    }
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Written::All,
        Err(_) => Written::Closed,
    }
}
