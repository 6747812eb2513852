//! Text styles and the terminal they are written to: each character is
//! written with its style, and an SGR sequence is written only where the
//! style changes; every line ends with the terminal back to plain.

/// A set of text attributes (bold, italic, …), as bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Style(u8);

impl Style {
    /// No attribute at all.
    pub(super) const PLAIN: Style = Style(0);
    /// Bold (`**…**`, headings).
    pub(super) const BOLD: Style = Style(1);
    /// Italic (`*…*`).
    pub(super) const ITALIC: Style = Style(2);
    /// Struck through (`~~…~~`).
    pub(super) const STRIKE: Style = Style(4);
    /// Inline code (`` `…` ``): a colour of its own.
    pub(super) const CODE: Style = Style(8);
    /// A heading's colour.
    pub(super) const HEAD: Style = Style(16);
    /// Dim: quote bars, code fences.
    pub(super) const DIM: Style = Style(32);

    /// This style with the attributes of `other` added.
    pub(super) const fn with(self, other: Style) -> Style {
        Style(self.0 | other.0)
    }

    /// Whether every attribute of `other` is in this style.
    pub(super) const fn has(self, other: Style) -> bool {
        self.0 & other.0 == other.0
    }

    /// This style, with `other`'s attributes added when `on`.
    pub(super) const fn with_if(self, other: Style, on: bool) -> Style {
        if on {
            self.with(other)
        } else {
            self
        }
    }

    /// Appends the SGR sequence that selects exactly this style, whatever
    /// the terminal had before (it starts with a reset).
    fn write_sgr(self, out: &mut String) {
        out.push_str("\x1b[0");
        for (flag, code) in [
            (Style::BOLD, ";1"),
            (Style::DIM, ";2"),
            (Style::ITALIC, ";3"),
            (Style::STRIKE, ";9"),
        ] {
            if self.has(flag) {
                out.push_str(code);
            }
        }
        if self.has(Style::CODE) {
            out.push_str(";36");
        } else if self.has(Style::HEAD) {
            out.push_str(";35");
        }
        out.push('m');
    }
}

/// The sequence that brings the terminal back to plain text.
pub(super) const RESET: &str = "\x1b[0m";

/// The terminal as written so far: whether colour is on, and the style it
/// is currently in.
#[derive(Debug)]
pub(super) struct Term {
    /// Whether escape sequences may be written at all.
    colour: bool,
    /// The style the terminal is in after what was written.
    current: Style,
}

impl Term {
    /// A terminal in plain style; `colour` false: no escape sequence ever.
    pub(super) fn new(colour: bool) -> Self {
        Term {
            colour,
            current: Style::PLAIN,
        }
    }

    /// Switches the terminal to `style` if it is not in it already.
    fn select(&mut self, out: &mut String, style: Style) {
        if self.colour && style != self.current {
            if style == Style::PLAIN {
                out.push_str(RESET);
            } else {
                style.write_sgr(out);
            }
            self.current = style;
        }
    }

    /// Writes `c` in `style`.
    pub(super) fn put(&mut self, out: &mut String, c: char, style: Style) {
        self.select(out, style);
        out.push(c);
    }

    /// Writes `s` in `style`.
    pub(super) fn put_str(&mut self, out: &mut String, s: &str, style: Style) {
        if !s.is_empty() {
            self.select(out, style);
            out.push_str(s);
        }
    }

    /// Writes text that selects its own colours and ends with a reset
    /// (highlighted code), from a plain terminal.
    pub(super) fn put_coloured(&mut self, out: &mut String, s: &str) {
        self.reset(out);
        out.push_str(s);
    }

    /// Brings the terminal back to plain.
    pub(super) fn reset(&mut self, out: &mut String) {
        self.select(out, Style::PLAIN);
    }

    /// Ends the line: plain again, then the newline.
    pub(super) fn newline(&mut self, out: &mut String) {
        self.reset(out);
        out.push('\n');
    }
}
