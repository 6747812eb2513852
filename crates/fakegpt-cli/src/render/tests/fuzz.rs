//! Random answers, in random pieces, at odd widths: never a panic, the
//! same output however split, no escape sequence without colour, and the
//! terminal left plain.

use unicode_width::UnicodeWidthStr;

use super::{render, render_cut, strip};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    /// The next number.
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
}

/// Pieces of Markdown (and of trouble) answers are built from.
const PIECES: &[&str] = &[
    "*",
    "**",
    "***",
    "_",
    "__",
    "~~",
    "~",
    "`",
    "``",
    "```",
    "~~~",
    "\\",
    "#",
    "## ",
    "> ",
    ">",
    "- ",
    "* ",
    "+ ",
    "1. ",
    "10) ",
    "---",
    "|",
    " ",
    "  ",
    "\t",
    "\n",
    "\n\n",
    "\r\n",
    "word",
    "snake_case",
    "2*3",
    "中文",
    "é",
    "e\u{301}",
    "🎉",
    "\x1b[31m",
    "\u{9b}",
    "\0",
    "```rust\n",
    "```py\n",
    "```\n",
    "~~~zzz\n",
    "let x = 1;",
    "a_b",
    "x",
    "**b**",
    "`c`",
];

/// A random answer: pieces, and now and then raw bytes made UTF-8.
fn answer(rng: &mut Rng) -> String {
    let mut text = String::new();
    for _ in 0..rng.below(60) {
        if rng.below(8) == 0 {
            let bytes: Vec<u8> = (0..rng.below(12))
                .map(|_| rng.next().to_le_bytes()[0])
                .collect();
            text.push_str(&String::from_utf8_lossy(&bytes));
        } else {
            text.push_str(PIECES[rng.below(PIECES.len())]);
        }
    }
    text
}

/// Whether the terminal is plain at the end of every line of `out`.
fn plain_at_line_ends(out: &str) -> bool {
    out.split('\n').all(|line| {
        line.rfind('\x1b')
            .is_none_or(|at| line[at..].starts_with("\x1b[0m"))
    })
}

#[test]
fn random_answers_in_random_pieces() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..3000 {
        let text = answer(&mut rng);
        let width = [0, 1, 2, 10, 20, 21, 33, 80, 500][round % 9];
        let colour = round % 2 == 0;
        let whole = render(&text, width, colour);
        let mut cuts = Vec::new();
        let mut at = 0;
        while at < text.len() {
            at += 1 + rng.below(8);
            cuts.push(at);
        }
        let split = render_cut(&text, width, colour, &cuts);
        assert_eq!(split, whole, "{text:?} cut at {cuts:?}, width {width}");
        assert!(colour || !whole.contains('\x1b'), "{text:?}");
        assert!(plain_at_line_ends(&whole), "{text:?}: {whole:?}");
        assert!(
            whole.is_empty() || whole.ends_with('\n'),
            "{text:?}: {whole:?}"
        );
        // The answer's own escape and control characters are never written.
        let ours =
            |at: usize| whole[at..].starts_with("\x1b[0m") || whole[at..].starts_with("\x1b[0;");
        assert!(
            whole.match_indices('\x1b').all(|(at, _)| ours(at)),
            "{whole:?}"
        );
        let stripped = strip(&whole);
        assert!(!stripped
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'));
        // Without code or tables, every line fits.
        let prose: String = text.chars().filter(|c| !"`~|".contains(*c)).collect();
        for line in strip(&render(&prose, width, colour)).lines() {
            assert!(
                line.width() <= width.max(20),
                "{prose:?}: {line:?} at {width}"
            );
        }
    }
}
