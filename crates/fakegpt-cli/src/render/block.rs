//! What a line is, from its first characters: a heading, a list item, a
//! quote, a rule, a table row, a code fence or paragraph text. A line is
//! classified again as each character arrives until it is decided; only
//! a rule needs the whole line.

/// The kind of a line of text.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// Paragraph text.
    Para,
    /// A heading of this level (1 to 6).
    Heading(usize),
    /// A list item; its marker as written (`•` for a bullet, `1.`).
    Item(String),
}

/// What a line (or its first characters) is.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Class {
    /// Undecided until more of the line has come.
    NeedMore,
    /// An empty (or blank) line.
    Blank,
    /// A horizontal rule, within `bars` quote levels.
    Rule {
        /// Quote levels.
        bars: usize,
    },
    /// A table row, written as it is from byte `start`.
    Table {
        /// Quote levels.
        bars: usize,
        /// Where the row starts in the line.
        start: usize,
    },
    /// Maybe a code fence: decided when the line is complete.
    Fence,
    /// Text, wrapped.
    Text {
        /// Quote levels.
        bars: usize,
        /// Columns of indentation (after the quote markers).
        indent: usize,
        /// Heading, list item or paragraph.
        kind: Kind,
        /// Where the text starts in the line (after the markers).
        start: usize,
    },
}

/// The quote levels and indentation that start `line`, and the byte where
/// they end.
fn lead(line: &str) -> (usize, usize, usize) {
    let (mut bars, mut indent) = (0usize, 0usize);
    let mut end = line.len();
    for (i, c) in line.char_indices() {
        match c {
            ' ' => indent += 1,
            '\t' => indent += 4 - indent % 4,
            '>' => {
                bars += 1;
                indent = 0;
            }
            _ => {
                end = i;
                break;
            }
        }
    }
    if bars > 0 {
        // The space after `>` belongs to the marker.
        indent = indent.saturating_sub(1);
    }
    (bars, indent, end)
}

/// `line` as paragraph text, whatever its first characters.
pub(super) fn paragraph(line: &str) -> Class {
    let (bars, indent, start) = lead(line);
    Class::Text {
        bars,
        indent,
        kind: Kind::Para,
        start,
    }
}

/// Classifies `line`, the start of a line; `complete`: the whole line
/// (its newline has come).
pub(super) fn classify(line: &str, complete: bool) -> Class {
    let (bars, indent, i) = lead(line);
    let rest = &line[i..];
    let text = |kind, start| Class::Text {
        bars,
        indent,
        kind,
        start,
    };
    let para = || text(Kind::Para, i);
    let undecided = || {
        if complete {
            para()
        } else {
            Class::NeedMore
        }
    };
    let mut chars = rest.chars();
    let Some(c) = chars.next() else {
        return match (complete, bars) {
            (false, _) => Class::NeedMore,
            (true, 0) => Class::Blank,
            (true, _) => para(),
        };
    };
    let next = chars.next();
    let run = rest.len() - rest.trim_start_matches(c).len();
    match c {
        '#' => match rest[run..].chars().next() {
            None if !complete && run <= 6 => Class::NeedMore,
            None | Some(' ' | '\t') if run <= 6 => text(Kind::Heading(run), i + run),
            _ => para(),
        },
        '`' | '~' if run >= 3 && bars == 0 => Class::Fence,
        '`' | '~' if run == rest.len() => undecided(),
        '-' | '*' | '+' if matches!(next, Some(' ' | '\t')) => {
            text(Kind::Item("•".to_owned()), i + 1)
        }
        '-' | '*' | '_' | '+' if next.is_none() => undecided(),
        '-' | '*' | '_' => {
            if !rest[run..].trim().is_empty() {
                para()
            } else if !complete {
                Class::NeedMore
            } else if run >= 3 {
                Class::Rule { bars }
            } else {
                para()
            }
        }
        '0'..='9' => {
            let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            let mut after = rest[digits..].chars();
            match (digits, after.next(), after.next()) {
                (10.., _, _) => para(),
                (_, None, _) | (_, Some('.' | ')'), None) => undecided(),
                (_, Some('.' | ')'), Some(' ' | '\t')) => {
                    text(Kind::Item(rest[..=digits].to_owned()), i + digits + 1)
                }
                _ => para(),
            }
        }
        '|' => Class::Table { bars, start: i },
        _ => para(),
    }
}

/// A code fence's character, length and language, if `line` is one.
pub(super) fn parse_fence(line: &str) -> Option<(char, usize, String)> {
    let t = line.trim_start_matches([' ', '\t']);
    let c = t.chars().next().filter(|c| matches!(c, '`' | '~'))?;
    let n = t.len() - t.trim_start_matches(c).len();
    let info = t[n..].trim();
    if n < 3 || (c == '`' && info.contains('`')) {
        return None;
    }
    let lang = info
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_start_matches(['{', '.'])
        .trim_end_matches('}');
    Some((c, n, lang.to_owned()))
}

/// Whether `line` closes a code block opened by `n` × `c`.
pub(super) fn is_closing(line: &str, c: char, n: usize) -> bool {
    let t = line.trim_start_matches([' ', '\t']);
    let rest = t.trim_start_matches(c);
    t.len() - rest.len() >= n && rest.trim().is_empty()
}
