//! Markdown for the terminal, rendered as it streams: headings, emphasis,
//! lists, quotes and code blocks (highlighted), wrapped to the width.
//!
//! The answer is taken one character at a time, and every decision is
//! made at a character, whatever the pieces it came in: the output is the
//! same however the answer was split. Held back is only what is still
//! undecided — a line's first characters (heading? list item?), a marker
//! run, the word being received, a code line until its newline — and
//! each of these is bounded.

mod block;
mod code;
mod inline;
mod style;
mod wrap;

#[cfg(test)]
mod tests;

use block::{Class, Kind};
use code::Highlighter;
use inline::Inline;
use style::{Style, Term};
use wrap::{Prefix, Wrap};

/// The narrowest width wrapped to (narrower terminals get longer lines).
const MIN_WIDTH: usize = 20;
/// The widest width wrapped to.
const MAX_WIDTH: usize = 1000;
/// Bytes of a line's start held at most while its kind is undecided; past
/// this it is paragraph text.
const START_BOUND: usize = 256;
/// Bytes of a code line (or a fence line) held at most until its newline.
const LINE_BOUND: usize = 4096;
/// The widest a horizontal rule is drawn.
const RULE_WIDTH: usize = 80;

/// Where in the answer the renderer is.
#[derive(Debug)]
enum State {
    /// At a line's start: its first characters, until its kind is known.
    Start(String),
    /// Within a line of text (paragraph, heading, list item, quote).
    Text,
    /// Within a table row, written as it comes.
    Table,
    /// Within what may be a code fence: the line, until its newline.
    Fence(String),
    /// Within a code block.
    Code(Box<CodeBlock>),
}

/// A code block being received.
#[derive(Debug)]
struct CodeBlock {
    /// The fence's character (`` ` `` or `~`).
    fence: char,
    /// The fence's length: a closing fence is at least as long.
    len: usize,
    /// The highlighting, if the language is known and colour is on.
    highlighter: Option<Highlighter>,
    /// The current line, until its newline.
    line: String,
    /// Whether part of the current line was written already (too long).
    continued: bool,
}

/// A streaming Markdown renderer for one answer.
#[derive(Debug)]
pub struct Markdown {
    /// The width wrapped to.
    width: usize,
    /// Whether escape sequences are written.
    colour: bool,
    /// The terminal's style as written.
    term: Term,
    /// Where in the answer the renderer is.
    state: State,
    /// Emphasis within the current line.
    inline: Inline,
    /// Wrapping of the current line.
    wrap: Wrap,
    /// Characters from `inline` on their way to `wrap`.
    scratch: Vec<(char, Style)>,
}

impl Markdown {
    /// A renderer for a terminal `width` columns wide; `colour` false
    /// writes no escape sequences (`NO_COLOR`).
    pub fn new(width: usize, colour: bool) -> Self {
        let width = width.clamp(MIN_WIDTH, MAX_WIDTH);
        Markdown {
            width,
            colour,
            term: Term::new(colour),
            state: State::Start(String::new()),
            inline: Inline::default(),
            wrap: Wrap::new(width),
            scratch: Vec::new(),
        }
    }

    /// Renders `text`, the next piece of the answer, and returns what can
    /// be written now.
    pub fn push(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 16);
        for c in text.chars() {
            self.step(c, &mut out);
        }
        out
    }

    /// Renders what was held back: the answer has ended. An unfinished
    /// line is ended, and the terminal is left plain.
    pub fn finish(&mut self) -> String {
        let mut out = String::new();
        let open = match &self.state {
            State::Start(line) => !line.trim().is_empty(),
            State::Code(code) => !code.line.is_empty() || code.continued,
            State::Text | State::Table | State::Fence(_) => true,
        };
        if open {
            self.step('\n', &mut out);
        }
        self.state = State::Start(String::new());
        self.term.reset(&mut out);
        out
    }

    /// Bytes held back, for the tests of its bound.
    #[cfg(test)]
    fn held(&self) -> usize {
        let state = match &self.state {
            State::Start(line) | State::Fence(line) => line.len(),
            State::Code(code) => code.line.len(),
            State::Text | State::Table => 0,
        };
        state + self.wrap.held() + self.inline.held()
    }

    /// Takes the answer's next character.
    fn step(&mut self, c: char, out: &mut String) {
        let c = match c {
            '\r' => return,
            '\n' | '\t' => c,
            // Never an escape sequence from the answer itself.
            c if c.is_control() => '\u{fffd}',
            c => c,
        };
        match &mut self.state {
            State::Start(line) => {
                if c == '\n' {
                    let line = std::mem::take(line);
                    self.end_start(&line, out);
                    return;
                }
                line.push(c);
                let class = match block::classify(line, false) {
                    Class::NeedMore if line.len() >= START_BOUND => block::paragraph(line),
                    class => class,
                };
                if class != Class::NeedMore {
                    let line = std::mem::take(line);
                    self.begin(class, &line, out);
                }
            }
            State::Text => self.text_char(c, out),
            State::Table => {
                if c == '\n' {
                    self.term.newline(out);
                    self.state = State::Start(String::new());
                } else {
                    self.term.put(out, c, Style::PLAIN);
                }
            }
            State::Fence(line) => {
                let line = if c == '\n' {
                    std::mem::take(line)
                } else {
                    line.push(c);
                    if line.len() < LINE_BOUND {
                        return;
                    }
                    // Too long for a fence: text.
                    let line = std::mem::take(line);
                    self.begin(block::paragraph(&line), &line, out);
                    return;
                };
                self.end_fence(&line, out);
            }
            State::Code(_) => self.code_char(c, out),
        }
    }

    /// Starts the line `line` begins, now that its kind is known, and
    /// renders what of it has come.
    fn begin(&mut self, class: Class, line: &str, out: &mut String) {
        match class {
            Class::Text {
                bars,
                indent,
                kind,
                start,
            } => {
                let (marker, base) = match kind {
                    Kind::Para => (String::new(), Style::PLAIN),
                    Kind::Heading(_) if self.colour => {
                        (String::new(), Style::HEAD.with(Style::BOLD))
                    }
                    Kind::Heading(n) => ("#".repeat(n) + " ", Style::PLAIN),
                    Kind::Item(marker) => (marker + " ", Style::PLAIN),
                };
                let prefix = Prefix::fitted(self.width, bars, indent, marker);
                self.wrap.start(&prefix, &mut self.term, out);
                self.inline.start(base, self.colour);
                self.state = State::Text;
                for c in line[start..].chars() {
                    self.text_char(c, out);
                }
            }
            Class::Table { bars, start } => {
                let bars = Prefix::fitted(self.width, bars, 0, String::new()).bars;
                Prefix::write_bars(bars, &mut self.term, out);
                self.term.put_str(out, &line[start..], Style::PLAIN);
                self.state = State::Table;
            }
            Class::Fence => self.state = State::Fence(line.to_owned()),
            Class::Blank | Class::Rule { .. } | Class::NeedMore => {
                self.begin(block::paragraph(line), line, out);
            }
        }
    }

    /// A line's newline has come while its kind was undecided.
    fn end_start(&mut self, line: &str, out: &mut String) {
        match block::classify(line, true) {
            Class::Blank => self.term.newline(out),
            Class::Rule { bars } => {
                let bars = Prefix::fitted(self.width, bars, 0, String::new()).bars;
                Prefix::write_bars(bars, &mut self.term, out);
                let n = self.width.min(RULE_WIDTH).saturating_sub(2 * bars);
                self.term.put_str(out, &"─".repeat(n), Style::DIM);
                self.term.newline(out);
            }
            class => {
                self.begin(class, line, out);
                self.step('\n', out);
            }
        }
    }

    /// A character of a line of text.
    fn text_char(&mut self, c: char, out: &mut String) {
        if c == '\n' {
            self.inline.end(&mut self.scratch);
        } else {
            self.inline.push(c, &mut self.scratch);
        }
        for (c, style) in self.scratch.drain(..) {
            self.wrap.push(c, style, &mut self.term, out);
        }
        if c == '\n' {
            self.wrap.end_line(&mut self.term, out);
            self.state = State::Start(String::new());
        }
    }

    /// A line that may be a code fence is complete.
    fn end_fence(&mut self, line: &str, out: &mut String) {
        let Some((fence, len, lang)) = block::parse_fence(line) else {
            self.begin(block::paragraph(line), line, out);
            self.text_char('\n', out);
            return;
        };
        self.term.put_str(out, line, Style::DIM);
        self.term.newline(out);
        let highlighter = if self.colour {
            Highlighter::new(&lang)
        } else {
            None
        };
        self.state = State::Code(Box::new(CodeBlock {
            fence,
            len,
            highlighter,
            line: String::new(),
            continued: false,
        }));
    }

    /// A character within a code block.
    fn code_char(&mut self, c: char, out: &mut String) {
        let State::Code(code) = &mut self.state else {
            return;
        };
        if c != '\n' {
            code.line.push(c);
            if code.line.len() >= LINE_BOUND {
                write_code(code, &mut self.term, out);
                code.line.clear();
                code.continued = true;
            }
            return;
        }
        if !code.continued && block::is_closing(&code.line, code.fence, code.len) {
            self.term.put_str(out, &code.line, Style::DIM);
            self.term.newline(out);
            self.state = State::Start(String::new());
            return;
        }
        code.line.push('\n');
        write_code(code, &mut self.term, out);
        self.term.newline(out);
        code.line.clear();
        code.continued = false;
    }
}

/// Writes the code block's current line (or piece of it), highlighted if
/// it can be.
fn write_code(code: &mut CodeBlock, term: &mut Term, out: &mut String) {
    match &mut code.highlighter {
        Some(highlighter) => {
            let mut coloured = String::new();
            highlighter.line(&code.line, &mut coloured);
            term.put_coloured(out, &coloured);
        }
        None => term.put_str(out, code.line.trim_end_matches('\n'), Style::PLAIN),
    }
}
