//! Emphasis within a line, as the characters arrive: `**bold**`,
//! `__bold__`, `*italic*`, `_italic_`, `~~struck~~` and `` `code` ``.
//!
//! A run of marker characters is held until the character after it, which
//! decides (with the one before it) whether the run opens, closes, or is
//! literal — CommonMark's flanking rules, simplified: there is no
//! look-ahead for a closer, so an opener is taken as one and the style
//! lasts until closed or the line ends. Markers that open or close are
//! dropped; all others are written as typed.

use super::style::Style;

/// Marker runs longer than this are literal, written as they come.
const MAX_RUN: usize = 16;

/// The emphasis state of the current line.
#[derive(Debug, Default)]
pub(super) struct Inline {
    /// Whether markers are interpreted at all (colour on).
    enabled: bool,
    /// The style of the block (a heading's).
    base: Style,
    /// The character (`*` or `_`) that opened bold, if bold.
    bold: Option<char>,
    /// The character that opened italic, if italic.
    italic: Option<char>,
    /// Whether struck through.
    strike: bool,
    /// The length of the backtick run that opened the code span, if in one.
    code: Option<usize>,
    /// A run of marker characters held until the next character.
    run: Option<(char, usize)>,
    /// Whether a backslash is held (it escapes a following marker).
    escape: bool,
    /// The previous character of the line, if any.
    prev: Option<char>,
}

/// Whether `c` is whitespace or the line's edge.
fn is_space(c: Option<char>) -> bool {
    c.is_none_or(char::is_whitespace)
}

/// Whether `c` is punctuation (or a symbol).
fn is_punct(c: Option<char>) -> bool {
    c.is_some_and(|c| !c.is_alphanumeric() && !c.is_whitespace())
}

/// Whether a run between `prev` and `next` may open (left-flanking).
fn left_flanking(prev: Option<char>, next: Option<char>) -> bool {
    !is_space(next) && (!is_punct(next) || is_space(prev) || is_punct(prev))
}

/// Whether a run between `prev` and `next` may close (right-flanking).
fn right_flanking(prev: Option<char>, next: Option<char>) -> bool {
    !is_space(prev) && (!is_punct(prev) || is_space(next) || is_punct(next))
}

/// Whether a run of `c` (`*` or `_`) between `prev` and `next` may open,
/// and may close.
fn open_close(c: char, prev: Option<char>, next: Option<char>) -> (bool, bool) {
    let (left, right) = (left_flanking(prev, next), right_flanking(prev, next));
    if c == '_' {
        // Within a word (snake_case) an underscore is literal.
        (
            left && (!right || is_punct(prev)),
            right && (!left || is_punct(next)),
        )
    } else if prev.is_some_and(char::is_alphanumeric) && next.is_some_and(char::is_alphanumeric) {
        // 2*3*4
        (false, false)
    } else {
        (left, right)
    }
}

impl Inline {
    /// Starts a line whose text is in `base` style; `enabled` false: every
    /// character is literal.
    pub(super) fn start(&mut self, base: Style, enabled: bool) {
        *self = Inline {
            enabled,
            base,
            ..Inline::default()
        };
    }

    /// Bytes held back.
    #[cfg(test)]
    pub(super) fn held(&self) -> usize {
        usize::from(self.escape) + self.run.map_or(0, |(_, n)| if n > MAX_RUN { 0 } else { n })
    }

    /// The style of the text at this point.
    fn style(&self) -> Style {
        self.base
            .with_if(Style::BOLD, self.bold.is_some())
            .with_if(Style::ITALIC, self.italic.is_some())
            .with_if(Style::STRIKE, self.strike)
            .with_if(Style::CODE, self.code.is_some())
    }

    /// Receives the line's next character (never a newline); what can be
    /// written is appended to `out`.
    pub(super) fn push(&mut self, c: char, out: &mut Vec<(char, Style)>) {
        if !self.enabled {
            out.push((c, self.base));
            return;
        }
        if self.escape {
            self.escape = false;
            if matches!(c, '*' | '_' | '~' | '`') {
                out.push((c, self.style()));
                self.prev = Some(c);
                return;
            }
            out.push(('\\', self.style()));
            self.prev = Some('\\');
        }
        if let Some((r, n)) = self.run {
            if r == c {
                self.run = Some((r, n + 1));
                if n + 1 == MAX_RUN + 1 {
                    out.extend(std::iter::repeat_n((r, self.style()), n + 1));
                } else if n + 1 > MAX_RUN + 1 {
                    out.push((c, self.style()));
                }
                return;
            }
            self.run = None;
            self.resolve(r, n, Some(c), out);
        }
        match c {
            '`' => self.run = Some((c, 1)),
            _ if self.code.is_some() => {
                out.push((c, self.style()));
                self.prev = Some(c);
            }
            '*' | '_' | '~' => self.run = Some((c, 1)),
            '\\' => self.escape = true,
            _ => {
                out.push((c, self.style()));
                self.prev = Some(c);
            }
        }
    }

    /// The line ends: what was held is written, and every style ends.
    pub(super) fn end(&mut self, out: &mut Vec<(char, Style)>) {
        if self.escape {
            out.push(('\\', self.style()));
        }
        if let Some((r, n)) = self.run.take() {
            self.resolve(r, n, None, out);
        }
        let (enabled, base) = (self.enabled, self.base);
        self.start(base, enabled);
    }

    /// Decides what a run of `n` × `r` followed by `next` does: a style
    /// opens or closes (the markers are dropped), or it is literal.
    fn resolve(&mut self, r: char, n: usize, next: Option<char>, out: &mut Vec<(char, Style)>) {
        let prev = self.prev;
        self.prev = Some(r);
        if n > MAX_RUN || self.toggle(r, n, prev, next) {
            return;
        }
        out.extend(std::iter::repeat_n((r, self.style()), n));
    }

    /// Opens or closes the style a run of `n` × `r` between `prev` and
    /// `next` stands for; false if it stands for none (literal).
    fn toggle(&mut self, r: char, n: usize, prev: Option<char>, next: Option<char>) -> bool {
        if r == '`' {
            return match self.code {
                Some(len) if len == n => {
                    self.code = None;
                    true
                }
                Some(_) => false,
                // An opener at the line's end would open nothing.
                None if next.is_none() => false,
                None => {
                    self.code = Some(n);
                    true
                }
            };
        }
        if r == '~' {
            if n != 2 {
                return false;
            }
            let ok = if self.strike {
                right_flanking(prev, next)
            } else {
                left_flanking(prev, next)
            };
            self.strike ^= ok;
            return ok;
        }
        let (open, close) = open_close(r, prev, next);
        match n {
            1 => flip(&mut self.italic, r, open, close),
            2 => flip(&mut self.bold, r, open, close),
            3 => {
                if close && (self.bold == Some(r) || self.italic == Some(r)) {
                    self.bold = self.bold.filter(|&b| b != r);
                    self.italic = self.italic.filter(|&i| i != r);
                    true
                } else if open && self.bold.is_none() && self.italic.is_none() {
                    self.bold = Some(r);
                    self.italic = Some(r);
                    true
                } else {
                    false
                }
            }
            _ => false,
        }
    }
}

/// Closes `state` if it was opened by `r` and the run may close, or opens
/// it if it is off and the run may open; false if neither.
fn flip(state: &mut Option<char>, r: char, open: bool, close: bool) -> bool {
    match *state {
        Some(s) if s == r && close => {
            *state = None;
            true
        }
        None if open => {
            *state = Some(r);
            true
        }
        _ => false,
    }
}
