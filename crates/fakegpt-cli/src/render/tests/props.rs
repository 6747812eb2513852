//! Properties over realistic answers: every split renders as the whole
//! does, no text is lost or added, no line is wider than the terminal,
//! no colour leaks past a line, held-back text stays bounded, and
//! rendering is fast.

use unicode_width::UnicodeWidthStr;

use super::{render, render_cut, strip, Markdown};

/// Answers as LLMs write them.
pub(super) const SAMPLES: &[&str] = &[
    "# Getting started\n\nTo install **fakegpt**, run the `install` script. \
It sets up _everything_ you need, including the ~~old~~ new config.\n\n\
## Steps\n\n1. Download the archive.\n2. Unpack it:\n   ```bash\n   tar xzf fakegpt.tar.gz\n   \
cd fakegpt && ./install --prefix=/usr/local\n   ```\n3) Run `fakegpt --help`.\n\n\
- A bullet with a rather long text that will certainly need wrapping at narrow widths\n  \
- nested *italic* item\n    - deeper **bold** item with `code_span`\n* star bullet\n+ plus bullet\n\n\
> A quote that is long enough to wrap at twenty columns, with **bold** inside.\n> > Nested quote.\n\n\
---\n\n| Column | Value |\n|--------|-------|\n| **a**  | 1     |\n\nThat's all.",
    "Here is some Rust:\n\n```rust\nfn main() {\n    let v: Vec<u32> = (1..10).map(|x| x * 2).collect();\n    \
println!(\"{v:?}\"); // a comment that makes this line longer than the terminal\n}\n```\n\n\
And Python, with a tilde fence:\n\n~~~python\ndef f(x):\n    return x ** 2  # square\n~~~\n\n\
An unknown language:\n\n```zzz\n**not bold** # not a heading\n```\n\
Text right after. ```inline``` triple ticks, ``double `tick` code``.\n\n```\nunclosed fence at the end\n",
    "中文段落：这是一个很长的句子，用来测试宽字符的换行是否正确处理，不会超过终端的宽度。\n\
日本語の文章も**太字**で書けます。한국어 텍스트도 있습니다.\n\n\
A URL: https://example.com/a/very/long/path/that/cannot/possibly/fit/on/one/line/of/the/terminal?query=1\n\
snake_case_name and __init__ and 2*3*4 = 24 and a * b * c; escaped \\*stars\\* and \\_underscores\\_.\n\
Emoji 🎉🎉 and combining é (e\u{301}) text.\n#hashtag 1999. was a year -5 degrees\n\n\n\
***bold italic*** **bold *nested* bold** ~~strike **bold**~~ `code with **stars**`\n\
**unclosed bold to the end of the line\n   indented continuation line\n\t tab-indented line\n\
####### seven hashes\n###### six\n- \n-\n1.\n> \n>\n***\n- - -\n___\n",
    "Short answer.\n\n```json\n{\"a\": [1, 2, 3], \"b\": {\"c\": null}}\n```\n\n\
1. First\n   continuation of first\n\n   ```py\n   print('in a list')\n   ```\n\
2. Second with a [link](https://example.com) and an image ![alt](x.png)\n\
10. Tenth\n\n> ```\n> not a fence in a quote\n> ```\n\nEnd without newline *italic",
];

/// The widths tried.
const WIDTHS: [usize; 3] = [20, 33, 80];

/// Every split of `text` into two pieces, and every chunking into pieces
/// of 1 to 7 bytes, renders as the whole answer in one piece.
fn any_split_renders_as_the_whole(text: &str) {
    for width in [20, 80] {
        for colour in [false, true] {
            let whole = render(text, width, colour);
            for cut in 1..text.len() {
                if text.is_char_boundary(cut) {
                    let split = render_cut(text, width, colour, &[cut]);
                    assert_eq!(split, whole, "{text:?} cut at {cut}, width {width}");
                }
            }
            for size in 1..=7 {
                let cuts: Vec<usize> = (size..text.len()).step_by(size).collect();
                let chunked = render_cut(text, width, colour, &cuts);
                assert_eq!(chunked, whole, "{text:?} in {size}-byte pieces");
            }
        }
    }
}

#[test]
fn any_split_of_headings_lists_quotes_tables() {
    any_split_renders_as_the_whole(SAMPLES[0]);
}

#[test]
fn any_split_of_code_blocks() {
    any_split_renders_as_the_whole(SAMPLES[1]);
}

#[test]
fn any_split_of_wide_text_long_words_and_edge_cases() {
    any_split_renders_as_the_whole(SAMPLES[2]);
}

#[test]
fn any_split_of_code_in_lists() {
    any_split_renders_as_the_whole(SAMPLES[3]);
}

/// `s` without whitespace and without the characters the renderer may
/// drop or draw: markers (`#*_~` and backticks, `>`, bullets, a backslash
/// before a marker) and what replaces them (`│`, `•`, `─`).
fn text_of(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && !"#*_~`>\\-+│•─".contains(*c))
        .collect()
}

/// The output has the answer's text, all of it, in order, and nothing
/// else; each word of the answer appears, in order.
#[test]
fn text_is_kept() {
    for text in SAMPLES {
        for width in WIDTHS {
            for colour in [false, true] {
                let out = strip(&render(text, width, colour));
                assert_eq!(
                    text_of(&out),
                    text_of(text),
                    "width {width}, colour {colour}"
                );
                let flat = text_of(&out);
                let mut rest = flat.as_str();
                for word in text.split_whitespace().map(text_of) {
                    let at = rest.find(&word);
                    assert!(at.is_some(), "{word:?} missing at width {width}");
                    rest = &rest[at.unwrap_or(0)..];
                }
            }
        }
    }
}

/// Without colour, no escape sequence; with it, every line ends plain.
#[test]
fn colour_stays_within_its_line() {
    for text in SAMPLES {
        assert!(!render(text, 40, false).contains('\x1b'));
        let out = render(text, 40, true);
        assert!(out.contains('\x1b'));
        assert!(out.ends_with('\n'));
        for line in out.lines() {
            if let Some(at) = line.rfind('\x1b') {
                assert!(line[at..].starts_with("\x1b[0m"), "{line:?}");
            }
        }
    }
}

/// No line is wider than the terminal, but code and table lines.
#[test]
fn lines_fit_the_width() {
    for text in SAMPLES {
        for width in [20, 21, 33, 80] {
            for colour in [false, true] {
                let out = strip(&render(text, width, colour));
                let mut code = false;
                for line in out.lines() {
                    let bare = line.trim_start_matches(['│', ' ']);
                    let fence = ["```", "~~~"].iter().any(|f| bare.starts_with(f));
                    if fence && !bare.trim_start_matches(['`', '~']).contains('`') {
                        code = !code;
                    } else if !code && !bare.starts_with('|') {
                        assert!(line.width() <= width, "{line:?} wider than {width}");
                    }
                }
            }
        }
    }
}

/// A megabyte without a space or a newline comes out as it goes in, and
/// what is held back stays under the bound.
#[test]
fn held_back_is_bounded() {
    let piece = "a".repeat(1024);
    for (start, holds) in [("", 0), ("```\n", 4096), ("> - ", 0)] {
        let mut md = Markdown::new(80, true);
        let mut out = md.push(start);
        for i in 0..1024 {
            let got = md.push(&piece);
            assert!(md.held() <= holds.max(80), "{start:?}: {} held", md.held());
            if holds == 0 || i % 8 == 7 {
                assert!(!got.is_empty(), "{start:?}: nothing written at {i}");
            }
            out.push_str(&got);
        }
        out.push_str(&md.finish());
        assert_eq!(strip(&out).matches('a').count(), 1 << 20);
    }
    for c in ['*', '`', '-', ' ', '#', '~', '\u{301}', '中'] {
        let mut md = Markdown::new(80, true);
        let piece = c.to_string().repeat(1000);
        for _ in 0..1000 {
            md.push(&piece);
            assert!(md.held() <= 4096, "{c:?}: {} held", md.held());
        }
        md.finish();
    }
}
