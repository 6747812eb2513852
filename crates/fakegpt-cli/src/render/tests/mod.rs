//! Tests of the renderer: exact renderings of small answers here, the
//! properties over sample answers (any split renders the same, no text is
//! lost, lines fit) in `props`, and random answers in `fuzz`.

mod fuzz;
mod props;

use super::Markdown;

/// `text` rendered in one piece.
fn render(text: &str, width: usize, colour: bool) -> String {
    let mut md = Markdown::new(width, colour);
    let mut out = md.push(text);
    out.push_str(&md.finish());
    out
}

/// `text` rendered in pieces ending at the byte offsets `cuts` (moved back
/// to a character's start).
fn render_cut(text: &str, width: usize, colour: bool, cuts: &[usize]) -> String {
    let mut md = Markdown::new(width, colour);
    let (mut out, mut from) = (String::new(), 0);
    for &cut in cuts {
        let mut cut = cut.min(text.len());
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        if cut > from {
            out.push_str(&md.push(&text[from..cut]));
            from = cut;
        }
    }
    out.push_str(&md.push(&text[from..]));
    out.push_str(&md.finish());
    out
}

/// `s` without its escape sequences.
fn strip(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            chars.next();
            for d in chars.by_ref() {
                if ('@'..='~').contains(&d) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// No colour, 40 columns.
fn plain(text: &str) -> String {
    render(text, 40, false)
}

/// Colour, 40 columns.
fn coloured(text: &str) -> String {
    render(text, 40, true)
}

#[test]
fn paragraphs_keep_line_breaks_and_blank_lines() {
    assert_eq!(plain("one\ntwo\n\n\nthree\n"), "one\ntwo\n\n\nthree\n");
    assert_eq!(
        plain("spaces  kept   between words\n"),
        "spaces  kept   between words\n"
    );
    assert_eq!(plain("no newline at the end"), "no newline at the end\n");
    assert_eq!(plain(""), "");
    assert_eq!(plain("a\r\nb\r\n"), "a\nb\n");
}

#[test]
fn words_wrap_at_the_width() {
    assert_eq!(
        render("one two three four five six seven\n", 20, false),
        "one two three four\nfive six seven\n"
    );
    // Longer than a line: broken, starting on a line of its own.
    let long = "x".repeat(45);
    assert_eq!(
        render(&format!("a {long} b\n"), 20, false),
        format!(
            "a\n{}\n{}\n{} b\n",
            "x".repeat(20),
            "x".repeat(20),
            "x".repeat(5)
        )
    );
    // Wide characters count two columns.
    assert_eq!(
        render("中文中文中文中文中文中文\n", 20, false),
        "中文中文中文中文中文\n中文\n"
    );
    // Widths below the minimum wrap at 20.
    assert_eq!(
        render("aaaa bbbb cccc dddd eeee\n", 0, false),
        "aaaa bbbb cccc dddd\neeee\n"
    );
}

#[test]
fn headings() {
    assert_eq!(coloured("# Title\n"), "\x1b[0;1;35mTitle\x1b[0m\n");
    assert_eq!(
        coloured("### A *b*\n"),
        "\x1b[0;1;35mA \x1b[0;1;3;35mb\x1b[0m\n"
    );
    assert_eq!(plain("## Title\n"), "## Title\n");
    assert_eq!(coloured("#hashtag\n"), "#hashtag\n");
    assert_eq!(coloured("####### seven\n"), "####### seven\n");
}

#[test]
fn emphasis() {
    assert_eq!(coloured("a **b** c\n"), "a \x1b[0;1mb\x1b[0m c\n");
    assert_eq!(coloured("a __b__ c\n"), "a \x1b[0;1mb\x1b[0m c\n");
    assert_eq!(
        coloured("a *b* _c_\n"),
        "a \x1b[0;3mb\x1b[0m \x1b[0;3mc\x1b[0m\n"
    );
    assert_eq!(coloured("~~gone~~ x\n"), "\x1b[0;9mgone\x1b[0m x\n");
    assert_eq!(coloured("***both***\n"), "\x1b[0;1;3mboth\x1b[0m\n");
    assert_eq!(
        coloured("**a *b* c**\n"),
        "\x1b[0;1ma \x1b[0;1;3mb\x1b[0;1m c\x1b[0m\n"
    );
    // Literal: within words, around spaces, escaped, too long a run.
    for text in [
        "snake_case_name and x__y__z\n",
        "2*3*4 = 24\n",
        "a * b * c\n",
        "~single~ tilde\n",
        "**** four\n",
    ] {
        assert_eq!(coloured(text), text, "{text:?}");
    }
    assert_eq!(coloured("\\*not\\* \\_it\\_ \\n\n"), "*not* _it_ \\n\n");
    // Unclosed: to the line's end, then reset.
    assert_eq!(coloured("**open\nnext\n"), "\x1b[0;1mopen\x1b[0m\nnext\n");
    // Without colour the markers stay.
    assert_eq!(plain("a **b** `c` ~~d~~\n"), "a **b** `c` ~~d~~\n");
}

#[test]
fn inline_code() {
    assert_eq!(
        coloured("use `a*b*` now\n"),
        "use \x1b[0;36ma*b*\x1b[0m now\n"
    );
    assert_eq!(coloured("``a ` b``\n"), "\x1b[0;36ma ` b\x1b[0m\n");
    assert_eq!(coloured("__init__ x\n"), "\x1b[0;1minit\x1b[0m x\n");
    assert_eq!(coloured("**`x`**\n"), "\x1b[0;1;36mx\x1b[0m\n");
    assert_eq!(coloured("tick at end `\n"), "tick at end `\n");
}

#[test]
fn lists() {
    assert_eq!(plain("- a\n* b\n+ c\n"), "• a\n• b\n• c\n");
    assert_eq!(plain("1. a\n2) b\n"), "1. a\n2) b\n");
    assert_eq!(plain("- a\n  - b\n    - c\n"), "• a\n  • b\n    • c\n");
    assert_eq!(
        render("- one two three four five six\n", 20, false),
        "• one two three four\n  five six\n"
    );
    assert_eq!(
        render("10. one two three four five\n", 20, false),
        "10. one two three\n    four five\n"
    );
    assert_eq!(coloured("* **a** b\n"), "• \x1b[0;1ma\x1b[0m b\n");
    assert_eq!(
        plain("1999 was a year\n-5 degrees\n"),
        "1999 was a year\n-5 degrees\n"
    );
}

#[test]
fn quotes() {
    assert_eq!(plain("> quoted\n"), "│ quoted\n");
    assert_eq!(plain("> > twice\n>> again\n"), "│ │ twice\n│ │ again\n");
    assert_eq!(
        render("> one two three four five\n", 20, false),
        "│ one two three four\n│ five\n"
    );
    assert_eq!(plain("> - item\n"), "│ • item\n");
    assert_eq!(coloured("> q\n"), "\x1b[0;2m│ \x1b[0mq\n");
}

#[test]
fn rules_and_tables() {
    assert_eq!(render("---\n", 20, false), format!("{}\n", "─".repeat(20)));
    assert_eq!(
        render("***\n___  \n", 100, false),
        format!("{0}\n{0}\n", "─".repeat(80))
    );
    assert_eq!(plain("--- x\n"), "--- x\n");
    let table = "| a | b |\n|---|---|\n| **1** | 2 |\n";
    assert_eq!(render(table, 20, true), table);
}

#[test]
fn code_blocks() {
    let out = coloured("```rust\nfn main() {}\n```\n");
    assert!(out.starts_with("\x1b[0;2m```rust\x1b[0m\n"), "{out:?}");
    assert!(out.contains("\x1b[0;38;2;"), "{out:?}");
    assert!(out.ends_with("\x1b[0m\n\x1b[0;2m```\x1b[0m\n"), "{out:?}");
    assert_eq!(strip(&out), "```rust\nfn main() {}\n```\n");
    // Unknown language: plain; never wrapped; nothing parsed within.
    let text = "~~~zzz\n# **not** a heading, and a line longer than twenty\n~~~\n";
    assert_eq!(
        coloured(text),
        "\x1b[0;2m~~~zzz\x1b[0m\n# **not** a heading, and a line longer than twenty\n\x1b[0;2m~~~\x1b[0m\n"
    );
    assert_eq!(render(text, 20, false), text);
    // A closing fence is as long as the opening one at least.
    assert_eq!(plain("````\n```\n````\nx\n"), "````\n```\n````\nx\n");
    // Indented in a list item; unclosed at the end.
    assert_eq!(
        plain("1. a\n   ```\n   b\n   ```\n"),
        "1. a\n   ```\n   b\n   ```\n"
    );
    assert_eq!(plain("```py\nx = 1"), "```py\nx = 1\n");
    // Backticks in the info string: not a fence.
    assert_eq!(coloured("```a` b\n"), "\x1b[0;36ma` b\x1b[0m\n");
}

#[test]
fn control_characters_are_never_written() {
    let out = coloured("a\x1b[31mred\x07\x00\u{9b}b\n");
    assert_eq!(out, "a\u{fffd}[31mred\u{fffd}\u{fffd}\u{fffd}b\n");
    assert_eq!(plain("tab\tin text\n"), "tab in text\n");
}

#[test]
fn only_the_incomplete_word_is_held() {
    let mut md = Markdown::new(80, true);
    let out = md.push("Hello wor");
    assert!(out.contains("Hello"), "{out:?}");
    assert!(!out.contains("wor"), "{out:?}");
    assert_eq!(md.push("ld"), "");
    assert_eq!(md.push(" "), " world");
    // A line's start waits only while it could be a marker.
    let mut md = Markdown::new(80, false);
    assert_eq!(md.push("-"), "");
    assert_eq!(md.push(" it"), "• ");
    assert_eq!(md.push("em\n##"), "item\n");
    assert_eq!(md.push(" T"), "## ");
    assert_eq!(md.finish(), "T\n");
}
