//! Code blocks highlighted with syntect, line by line (the parser's state
//! carries from one line to the next). The syntaxes and the theme are
//! loaded once per process, when the first code block with a known
//! language comes.

use std::fmt::Write as _;
use std::sync::OnceLock;

use syntect::easy::HighlightLines;
use syntect::highlighting::{FontStyle, Theme, ThemeSet};
use syntect::parsing::SyntaxSet;

use super::style::RESET;

/// The theme used: one for dark terminals.
const THEME: &str = "base16-ocean.dark";

/// syntect's default syntaxes, loaded once.
fn syntaxes() -> &'static SyntaxSet {
    static SYNTAXES: OnceLock<SyntaxSet> = OnceLock::new();
    SYNTAXES.get_or_init(SyntaxSet::load_defaults_newlines)
}

/// The theme, loaded once (none if syntect lacked it).
fn theme() -> Option<&'static Theme> {
    static THEMES: OnceLock<Option<Theme>> = OnceLock::new();
    THEMES
        .get_or_init(|| ThemeSet::load_defaults().themes.remove(THEME))
        .as_ref()
}

/// The syntax name (or extension) for a language named as LLMs often
/// name it, where syntect's own names and extensions would not match.
fn alias(lang: &str) -> &str {
    match lang.to_ascii_lowercase().as_str() {
        "shell" | "console" | "zsh" | "sh" | "shellscript" => "bash",
        "ts" | "typescript" | "tsx" | "jsx" | "node" => "js",
        "jsonc" | "json5" => "json",
        "c++" => "cpp",
        "py3" | "python3" => "py",
        "golang" => "go",
        _ => lang,
    }
}

/// The highlighting of one code block.
pub(super) struct Highlighter {
    /// syntect's highlighter, its state carried from line to line.
    lines: HighlightLines<'static>,
}

impl std::fmt::Debug for Highlighter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Highlighter")
    }
}

impl Highlighter {
    /// A highlighter for code in `lang`; none if the language is unknown
    /// (the code is then written plain).
    pub(super) fn new(lang: &str) -> Option<Self> {
        if lang.is_empty() {
            return None;
        }
        let syntax = syntaxes().find_syntax_by_token(alias(lang))?;
        Some(Highlighter {
            lines: HighlightLines::new(syntax, theme()?),
        })
    }

    /// Appends `text` (a line with its newline, or a piece of a very long
    /// line), coloured, without the newline, and a reset.
    pub(super) fn line(&mut self, text: &str, out: &mut String) {
        match self.lines.highlight_line(text, syntaxes()) {
            Ok(regions) => {
                let mut last = None;
                for (style, piece) in regions {
                    let piece = piece.trim_end_matches('\n');
                    if piece.is_empty() {
                        continue;
                    }
                    let (c, font) = (style.foreground, style.font_style);
                    if last != Some((c, font)) {
                        let _ = write!(out, "\x1b[0;38;2;{};{};{}", c.r, c.g, c.b);
                        if font.contains(FontStyle::BOLD) {
                            out.push_str(";1");
                        }
                        if font.contains(FontStyle::ITALIC) {
                            out.push_str(";3");
                        }
                        out.push('m');
                        last = Some((c, font));
                    }
                    out.push_str(piece);
                }
            }
            Err(_) => out.push_str(text.trim_end_matches('\n')),
        }
        out.push_str(RESET);
    }
}
