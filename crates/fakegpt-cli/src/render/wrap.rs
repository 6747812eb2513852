//! Word wrapping as the characters arrive: a word is written as soon as
//! it is complete (or is known to need breaking), at the end of the line
//! if it fits there, else on a new line that starts with the block's
//! continuation prefix (quote bars, the hanging indent of a list item).

use unicode_width::UnicodeWidthChar;

use super::style::{Style, Term};

/// Bytes of one word held back at most: past this, what is held is
/// written and the rest of the word follows as it comes.
pub(super) const WORD_BOUND: usize = 4096;

/// What starts each terminal line of a block.
#[derive(Debug, Default)]
pub(super) struct Prefix {
    /// Quote bars (`│ `), one per level shown.
    pub(super) bars: usize,
    /// Spaces after the bars.
    pub(super) indent: usize,
    /// On the block's first line only (a bullet, a number); its width is
    /// spaces on the lines after.
    pub(super) marker: String,
}

impl Prefix {
    /// A prefix for a terminal `width` columns wide: the bars and the
    /// indentation are cut so that at least a quarter of the line is left
    /// for text.
    pub(super) fn fitted(width: usize, bars: usize, indent: usize, marker: String) -> Self {
        let most = width / 2;
        let bars = bars.min(most / 4);
        let room = most.saturating_sub(2 * bars + str_width(&marker));
        Prefix {
            bars,
            indent: indent.min(room),
            marker,
        }
    }

    /// The prefix's width in columns.
    pub(super) fn width(&self) -> usize {
        2 * self.bars + self.indent + str_width(&self.marker)
    }

    /// Writes the quote bars.
    pub(super) fn write_bars(bars: usize, term: &mut Term, out: &mut String) {
        for _ in 0..bars {
            term.put_str(out, "│ ", Style::DIM);
        }
    }

    /// Writes the prefix of the block's first line.
    fn write_first(&self, term: &mut Term, out: &mut String) {
        Prefix::write_bars(self.bars, term, out);
        write_spaces(self.indent, term, out);
        term.put_str(out, &self.marker, Style::PLAIN);
    }
}

/// A character's width in columns (0 for those that take none).
pub(super) fn char_width(c: char) -> usize {
    c.width().unwrap_or(0)
}

/// A string's width in columns.
pub(super) fn str_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// Writes `n` plain spaces.
fn write_spaces(n: usize, term: &mut Term, out: &mut String) {
    for _ in 0..n {
        term.put(out, ' ', Style::PLAIN);
    }
}

/// The wrapping of one block's text into terminal lines.
#[derive(Debug)]
pub(super) struct Wrap {
    /// The terminal's width in columns.
    width: usize,
    /// Quote bars starting each continuation line.
    bars: usize,
    /// Spaces after them (the hanging indent).
    hang: usize,
    /// The column after what was written on this terminal line.
    col: usize,
    /// Whether text (not just the prefix) is on this terminal line.
    placed: bool,
    /// The word being received, not written yet.
    word: Vec<(char, Style)>,
    /// Its width in columns.
    word_width: usize,
    /// Its size in bytes.
    word_bytes: usize,
    /// Spaces received after the last word written (held: dropped if the
    /// next word goes to a new line).
    spaces: usize,
    /// The style of those spaces.
    space_style: Style,
    /// Whether the current word is being written as it comes, broken
    /// wherever the line is full (too long for any line).
    broken: bool,
}

impl Wrap {
    /// A wrapper for lines `width` columns wide.
    pub(super) fn new(width: usize) -> Self {
        Wrap {
            width,
            bars: 0,
            hang: 0,
            col: 0,
            placed: false,
            word: Vec::new(),
            word_width: 0,
            word_bytes: 0,
            spaces: 0,
            space_style: Style::PLAIN,
            broken: false,
        }
    }

    /// Starts a block's line: writes its first prefix.
    pub(super) fn start(&mut self, prefix: &Prefix, term: &mut Term, out: &mut String) {
        prefix.write_first(term, out);
        self.bars = prefix.bars;
        self.hang = prefix.indent + str_width(&prefix.marker);
        self.col = prefix.width();
        self.placed = false;
        self.clear_word();
        self.spaces = 0;
        self.broken = false;
    }

    /// Bytes held back.
    #[cfg(test)]
    pub(super) fn held(&self) -> usize {
        self.word_bytes
    }

    /// The columns a continuation line has for text.
    fn room(&self) -> usize {
        self.width.saturating_sub(2 * self.bars + self.hang)
    }

    /// Forgets the held word.
    fn clear_word(&mut self) {
        self.word.clear();
        self.word_width = 0;
        self.word_bytes = 0;
    }

    /// Receives the next character of the text (never a newline).
    pub(super) fn push(&mut self, c: char, style: Style, term: &mut Term, out: &mut String) {
        if c.is_whitespace() {
            self.end_word(term, out);
            if self.placed {
                if self.spaces == 0 {
                    self.space_style = style;
                }
                self.spaces = (self.spaces + 1).min(self.width + 1);
            }
            return;
        }
        let w = char_width(c);
        if self.broken {
            self.fill(c, style, w, term, out);
            return;
        }
        self.word.push((c, style));
        self.word_width += w;
        self.word_bytes += c.len_utf8();
        if self.word_width > self.room() {
            // Too long for any line: broken, starting on a line of its own.
            if self.placed {
                self.new_line(term, out);
            }
            let word = std::mem::take(&mut self.word);
            for &(c, style) in &word {
                self.fill(c, style, char_width(c), term, out);
            }
            self.word = word;
            self.clear_word();
            self.broken = true;
        } else if self.word_bytes >= WORD_BOUND {
            self.place(term, out);
            self.broken = true;
        }
    }

    /// Ends the line of the source: writes what is held, then the newline.
    pub(super) fn end_line(&mut self, term: &mut Term, out: &mut String) {
        self.end_word(term, out);
        self.spaces = 0;
        term.newline(out);
    }

    /// The current word is complete: writes it.
    fn end_word(&mut self, term: &mut Term, out: &mut String) {
        if self.broken {
            self.broken = false;
        } else if !self.word.is_empty() {
            self.place(term, out);
        }
    }

    /// Writes the held word, after the held spaces if it fits on this line,
    /// else on a new one.
    fn place(&mut self, term: &mut Term, out: &mut String) {
        if self.placed {
            if self.col + self.spaces + self.word_width <= self.width {
                for _ in 0..self.spaces {
                    term.put(out, ' ', self.space_style);
                }
                self.col += self.spaces;
            } else {
                self.new_line(term, out);
            }
        }
        for &(c, style) in &self.word {
            term.put(out, c, style);
        }
        self.col += self.word_width;
        self.placed = true;
        self.spaces = 0;
        self.clear_word();
    }

    /// Writes one character of a broken word: on a new line if this one is
    /// full.
    fn fill(&mut self, c: char, style: Style, w: usize, term: &mut Term, out: &mut String) {
        if self.placed && self.col + w > self.width {
            self.new_line(term, out);
        }
        term.put(out, c, style);
        self.col += w;
        self.placed = true;
    }

    /// Ends the terminal line and starts the next with the continuation
    /// prefix.
    fn new_line(&mut self, term: &mut Term, out: &mut String) {
        term.newline(out);
        Prefix::write_bars(self.bars, term, out);
        write_spaces(self.hang, term, out);
        self.col = 2 * self.bars + self.hang;
        self.placed = false;
        self.spaces = 0;
    }
}
