//! The gateway's own end to an answer: `max_tokens` (or
//! `max_completion_tokens`) and `stop`, which the upstream cannot be told,
//! applied to the answer's text as it streams, as OpenAI applies them.
//!
//! A [`Cutoff`] is fed the answer's text deltas in order and says, for
//! each, what to send now and whether the answer ends there (and why);
//! [`Cutoff::end`] releases what it held back when the upstream's answer
//! ends by itself. Only the answer's text goes through it: reasoning
//! (`reasoning_content`) is neither counted against `max_tokens` nor
//! searched for stop sequences, as OpenAI counts a reasoning model's
//! visible answer apart from its thoughts and matches stop sequences on
//! the answer only. What it sends does not depend on how the text is cut
//! into deltas.
//!
//! **Stop sequences** are looked for in the text as one byte stream: the
//! answer ends before the first sequence to be *completed* (were two
//! completed by the same byte, the one that starts first), and the
//! sequence itself is not sent. A suffix of the text so far that could be
//! the start of a sequence is held back until the text that follows
//! settles it, and is released at the end if the answer ends first; so
//! at most the longest sequence's length is held, and sequences that span
//! deltas are found.
//!
//! **`max_tokens`** counts the text (after any stop sequence) with the
//! gateway's `cl100k_base` encoding, the one `usage` uses. The text sent
//! is exactly the first `max_tokens` tokens of the answer's encoding —
//! except that a character is never split: when the last of those tokens
//! ends inside a character (an emoji is often several tokens), the text
//! stops before that character, so `usage.completion_tokens` (the tokens
//! of the text sent) is at most `max_tokens`. A stop sequence completed
//! before the limit ends the answer with `stop` even if its own tokens
//! would have gone past the limit. An answer of exactly `max_tokens`
//! tokens ends the upstream's way (`stop`).
//!
//! The encoding of a text's last word can change with what follows it
//! (BPE is not prefix-stable), so text is only counted up to places where
//! the encoding of *any* continuation splits (a space after anything but
//! white space, a letter before a non-letter, a line break before text;
//! see `splits`), where the tokens before are final. Text whose bytes
//! cannot exceed the limit (a token is at least one byte) is sent at once;
//! near the limit it goes out a word at a time. Each byte is counted about
//! twice however long the answer. A run of more than `TAIL_CAP` bytes
//! with no such place (a wall of emoji, say) is treated as if it had one,
//! which may be off by a token there.

use crate::tokens;

/// Text held for counting before a split is forced (see the module doc).
const TAIL_CAP: usize = 4096;

/// Why the gateway ended an answer itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cut {
    /// A stop sequence came: `finish_reason: "stop"`.
    Stop,
    /// The answer reached `max_tokens`: `finish_reason: "length"`.
    Length,
}

impl Cut {
    /// Its `finish_reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            Cut::Stop => "stop",
            Cut::Length => "length",
        }
    }
}

/// What to do after one delta, or at the end of the answer.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// Text to send now (empty when everything new is held back).
    pub text: String,
    /// Set when the answer ends here: send `text`, then the finish reason,
    /// and read no more of the upstream's answer.
    pub cut: Option<Cut>,
}

/// `max_tokens` and stop sequences applied to one answer (see the module
/// doc).
pub struct Cutoff {
    stops: Option<Stops>,
    limit: Option<Limit>,
    done: bool,
}

impl Cutoff {
    /// A cutoff at `max_tokens` and before any of `stop` (empty strings
    /// ignored); `None` when there is neither, and the answer goes through
    /// untouched.
    pub fn new(max_tokens: Option<u64>, stop: &[String]) -> Option<Cutoff> {
        let stops = Stops::new(stop);
        let limit = max_tokens.map(Limit::new);
        (stops.is_some() || limit.is_some()).then_some(Cutoff {
            stops,
            limit,
            done: false,
        })
    }

    /// The answer's next text delta. After a step with a cut, nothing more
    /// is sent.
    pub fn feed(&mut self, delta: &str) -> Step {
        if self.done {
            return Step::default();
        }
        let (text, stopped) = match &mut self.stops {
            Some(stops) => stops.feed(delta),
            None => (delta.to_owned(), false),
        };
        let mut step = self.pass(&text, stopped);
        if stopped && step.cut.is_none() {
            step.cut = Some(Cut::Stop);
        }
        step
    }

    /// The upstream's answer ended: what was held back, and a cut if
    /// `max_tokens` falls in it (otherwise the answer ends the upstream's
    /// way).
    pub fn end(&mut self) -> Step {
        if self.done {
            return Step::default();
        }
        let text = self.stops.as_mut().map(Stops::end).unwrap_or_default();
        self.pass(&text, true)
    }

    /// Hands `text` (past the stop sequences) to the token limit; `ends`
    /// when no text follows it.
    fn pass(&mut self, text: &str, ends: bool) -> Step {
        let step = match &mut self.limit {
            Some(limit) => limit.take(text, ends),
            None => Step {
                text: text.to_owned(),
                cut: None,
            },
        };
        if ends || step.cut.is_some() {
            self.done = true;
        }
        step
    }
}

/// [`Cutoff::feed`] for an optional cutoff: `delta` itself when there is
/// none.
pub fn feed(cutoff: &mut Option<Cutoff>, delta: String) -> (String, Option<Cut>) {
    match cutoff {
        None => (delta, None),
        Some(cutoff) => {
            let step = cutoff.feed(&delta);
            (step.text, step.cut)
        }
    }
}

/// [`Cutoff::end`] for an optional cutoff: nothing when there is none.
pub fn end(cutoff: &mut Option<Cutoff>) -> (String, Option<Cut>) {
    match cutoff {
        None => (String::new(), None),
        Some(cutoff) => {
            let step = cutoff.end();
            (step.text, step.cut)
        }
    }
}

/// Stop sequences looked for in the text, each with its own matcher.
struct Stops {
    patterns: Vec<Pattern>,
    /// Text not yet released: the longest suffix of the text so far that
    /// begins some sequence.
    held: String,
}

impl Stops {
    fn new(stop: &[String]) -> Option<Stops> {
        let patterns: Vec<Pattern> = stop
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| Pattern::new(s))
            .collect();
        (!patterns.is_empty()).then_some(Stops {
            patterns,
            held: String::new(),
        })
    }

    /// The text released by `delta`, and whether a sequence completed
    /// (then the text is everything before it).
    fn feed(&mut self, delta: &str) -> (String, bool) {
        let start = self.held.len();
        self.held.push_str(delta);
        for (i, byte) in delta.bytes().enumerate() {
            let end = start + i + 1;
            let first = self
                .patterns
                .iter_mut()
                .filter_map(|p| p.step(byte).then(|| end.saturating_sub(p.bytes.len())))
                .min();
            if let Some(at) = first {
                let before = take_prefix(&mut self.held, at);
                self.held.clear();
                return (before, true);
            }
        }
        let keep = self.patterns.iter().map(|p| p.matched).max().unwrap_or(0);
        let at = self.held.len().saturating_sub(keep);
        (take_prefix(&mut self.held, at), false)
    }

    /// What was held back, at the end of the answer.
    fn end(&mut self) -> String {
        std::mem::take(&mut self.held)
    }
}

/// One stop sequence and how much of it the text so far ends with
/// (Knuth–Morris–Pratt, over bytes).
struct Pattern {
    bytes: Box<[u8]>,
    /// `border[i]`: the longest proper prefix of `bytes[..=i]` that is
    /// also its suffix.
    border: Box<[usize]>,
    matched: usize,
}

impl Pattern {
    fn new(sequence: &str) -> Pattern {
        let bytes = sequence.as_bytes();
        let mut border = vec![0; bytes.len()];
        let mut k = 0;
        for (i, &byte) in bytes.iter().enumerate().skip(1) {
            while k > 0 && bytes.get(k) != Some(&byte) {
                k = border.get(k - 1).copied().unwrap_or(0);
            }
            if bytes.get(k) == Some(&byte) {
                k += 1;
            }
            if let Some(slot) = border.get_mut(i) {
                *slot = k;
            }
        }
        Pattern {
            bytes: bytes.into(),
            border: border.into(),
            matched: 0,
        }
    }

    /// Takes in the text's next byte; whether the whole sequence now ends
    /// the text.
    fn step(&mut self, byte: u8) -> bool {
        while self.matched > 0 && self.bytes.get(self.matched) != Some(&byte) {
            self.matched = self.border.get(self.matched - 1).copied().unwrap_or(0);
        }
        if self.bytes.get(self.matched) == Some(&byte) {
            self.matched += 1;
        }
        self.matched == self.bytes.len()
    }
}

/// Splits `text` at `at` (moved back to a character boundary): returns
/// the part before, leaves the rest.
fn take_prefix(text: &mut String, at: usize) -> String {
    let rest = text.split_off(floor_boundary(text, at));
    std::mem::replace(text, rest)
}

/// The last character boundary of `text` at or before `at`.
fn floor_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// `max_tokens` over the text, counted at places where the tokens before
/// are final.
struct Limit {
    max: u64,
    /// Tokens of the text before `tail` (all of it sent).
    settled: u64,
    /// The text since the last place counted.
    tail: String,
    /// How much of `tail` is sent.
    sent: usize,
    /// The last place in `tail` (after its start) where the encoding
    /// splits, not yet counted.
    split: Option<usize>,
    /// The last character of the text.
    last: Option<char>,
}

impl Limit {
    fn new(max: u64) -> Limit {
        Limit {
            max,
            settled: 0,
            tail: String::new(),
            sent: 0,
            split: None,
            last: None,
        }
    }

    /// More text (the last of the answer when `ends`): what may be sent,
    /// and [`Cut::Length`] when the limit falls in what is known.
    fn take(&mut self, text: &str, ends: bool) -> Step {
        let base = self.tail.len();
        for (i, c) in text.char_indices() {
            if self.last.is_some_and(|prev| splits(prev, c)) && base + i > 0 {
                self.split = Some(base + i);
            }
            self.last = Some(c);
        }
        self.tail.push_str(text);
        let mut out = String::new();
        loop {
            let room = self.max.saturating_sub(self.settled);
            if ends {
                if tokens::count(&self.tail) <= room {
                    self.send(&mut out, self.tail.len());
                    return Step {
                        text: out,
                        cut: None,
                    };
                }
                return self.cut(out, self.tail.len());
            }
            // A token is at least one byte.
            if self.tail.len() as u64 <= room {
                self.send(&mut out, self.tail.len());
                return Step {
                    text: out,
                    cut: None,
                };
            }
            if room == 0 {
                return self.cut(out, 0);
            }
            let at = match self.split.take() {
                Some(at) => at,
                None if self.tail.len() > TAIL_CAP => {
                    floor_boundary(&self.tail, self.tail.len() - TAIL_CAP / 2)
                }
                None => {
                    return Step {
                        text: out,
                        cut: None,
                    }
                }
            };
            let Some(head) = self.tail.get(..at).filter(|_| at > 0) else {
                return Step {
                    text: out,
                    cut: None,
                };
            };
            let counted = tokens::count(head);
            if counted > room {
                return self.cut(out, at);
            }
            self.send(&mut out, at);
            self.settled += counted;
            self.tail.drain(..at);
            self.sent = self.sent.saturating_sub(at);
        }
    }

    /// Appends to `out` the unsent text of `tail` up to `to`.
    fn send(&mut self, out: &mut String, to: usize) {
        if let Some(more) = self.tail.get(self.sent..to) {
            out.push_str(more);
            self.sent = to;
        }
    }

    /// Ends the answer inside `tail[..end]`, whose tokens are final and
    /// more than the room left.
    fn cut(&mut self, mut out: String, end: usize) -> Step {
        let room = self.max.saturating_sub(self.settled);
        let at = self
            .tail
            .get(..end)
            .map_or(0, |head| prefix_within(head, room));
        self.send(&mut out, at.max(self.sent).min(end));
        Step {
            text: out,
            cut: Some(Cut::Length),
        }
    }
}

/// Whether the `cl100k_base` encoding of any text splits between `prev`
/// and `next` (the tokens before are the same whatever follows): no piece
/// of its pre-split pattern spans the two and none looks past `next`, and
/// no special token does. A space ends every piece but a run of white
/// space; a letter ends a run of letters; a line break before text ends
/// its run of white space. Letters are only those known to be `\p{L}`
/// (Latin, Greek, Cyrillic, kana, CJK, Hangul); `|` and `_` occur inside
/// special tokens after letters.
fn splits(prev: char, next: char) -> bool {
    (next == ' ' && !prev.is_whitespace())
        || (prev == '\n' && !next.is_whitespace())
        || (is_letter(prev) && !next.is_alphabetic() && next != '|' && next != '_')
}

/// A letter (`\p{L}`) of the common scripts; `false` for letters of
/// others and for marks that are `Alphabetic` without being letters.
fn is_letter(c: char) -> bool {
    c.is_ascii_alphabetic()
        || (c.is_alphabetic()
            && matches!(c,
                '\u{C0}'..='\u{17F}'
                | '\u{391}'..='\u{3C9}'
                | '\u{410}'..='\u{44F}'
                | '\u{3041}'..='\u{3096}'
                | '\u{30A1}'..='\u{30FA}'
                | '\u{4E00}'..='\u{9FFF}'
                | '\u{AC00}'..='\u{D7A3}'))
}

/// How much of `text` (more than `room` tokens) is its first `room`
/// tokens, without splitting a character, and no more than `room` tokens
/// when counted alone.
fn prefix_within(text: &str, room: u64) -> usize {
    let room_len = usize::try_from(room).unwrap_or(usize::MAX);
    let ends = token_ends(text, room_len);
    for &end in ends.iter().rev().take(4) {
        let at = floor_boundary(text, end);
        if text.get(..at).is_some_and(|t| tokens::count(t) <= room) {
            return at;
        }
    }
    0
}

/// Where each of the first `limit` tokens of `text` ends, in bytes.
fn token_ends(text: &str, limit: usize) -> Vec<usize> {
    let bytes = text.as_bytes();
    if let Some(encoding) = tokens::encoding() {
        let mut ends = Vec::new();
        let mut at = 0;
        let encoded = encoding.encode_with(text, &mut |rank| {
            if ends.len() < limit {
                let len = match encoding.token(rank).len() {
                    // A special token: `<|name|>` in the text.
                    0 => special_len(bytes.get(at..).unwrap_or_default()),
                    len => len,
                };
                at = (at + len).min(bytes.len());
                ends.push(at);
            }
        });
        if encoded.is_ok() {
            return ends;
        }
    }
    // As `tokens::count` estimates without the encoding: four bytes a token.
    (1..=limit.min(bytes.len().div_ceil(4)))
        .map(|k| k.saturating_mul(4).min(bytes.len()))
        .collect()
}

/// The length of the special token `rest` starts with (1 if none does).
fn special_len(rest: &[u8]) -> usize {
    if rest.starts_with(b"<|") {
        if let Some(at) = memchr::memmem::find(rest, b"|>") {
            return at + 2;
        }
    }
    1
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use proptest::prelude::*;
    use tiktoken_rs::CoreBPE;

    use super::*;

    fn reference() -> &'static CoreBPE {
        static REFERENCE: OnceLock<CoreBPE> = OnceLock::new();
        REFERENCE.get_or_init(|| tiktoken_rs::cl100k_base().expect("tiktoken-rs loads"))
    }

    /// The first `n` tokens of `text` by `tiktoken`, without a split
    /// character at the end.
    fn first_tokens(text: &str, n: usize) -> String {
        let tokens = reference().encode_with_special_tokens(text);
        let bytes = reference()
            .decode_bytes(&tokens[..n.min(tokens.len())])
            .unwrap();
        match std::str::from_utf8(&bytes) {
            Ok(text) => text.to_owned(),
            Err(err) => std::str::from_utf8(&bytes[..err.valid_up_to()])
                .unwrap()
                .to_owned(),
        }
    }

    /// Everything `cutoff` sends for `deltas`, and why it ended.
    fn run(mut cutoff: Cutoff, deltas: &[&str]) -> (String, Option<Cut>) {
        let mut out = String::new();
        for delta in deltas {
            let step = cutoff.feed(delta);
            out.push_str(&step.text);
            if step.cut.is_some() {
                return (out, step.cut);
            }
        }
        let step = cutoff.end();
        out.push_str(&step.text);
        (out, step.cut)
    }

    /// `text` cut at every `stride`th character boundary into two deltas,
    /// and into one delta per character.
    fn splits_every(text: &str, stride: usize) -> Vec<Vec<&str>> {
        let mut all: Vec<Vec<&str>> = (0..=text.len())
            .filter(|&i| text.is_char_boundary(i))
            .step_by(stride)
            .map(|i| vec![&text[..i], &text[i..]])
            .collect();
        all.push(
            text.char_indices()
                .map(|(i, c)| &text[i..i + c.len_utf8()])
                .collect(),
        );
        all
    }

    /// `text` cut at every character boundary into two deltas, and into
    /// one delta per character.
    fn splits_of(text: &str) -> Vec<Vec<&str>> {
        splits_every(text, 1)
    }

    fn answers() -> Vec<String> {
        let mut all: Vec<String> = fakegpt_upstream::Replies::ALL
            .iter()
            .map(|kind| kind.reply("Tell me «about» it 🌤 – 東京", 200))
            .collect();
        all.push("Emoji 😀😀👩‍👩‍👧 and é, ĳ… 1234567 it'll <|endoftext|> x".into());
        all
    }

    #[test]
    fn the_cut_is_the_first_max_tokens_tokens_however_the_text_comes() {
        for answer in &answers() {
            let total = reference().encode_with_special_tokens(answer).len();
            for max in [1, 9, total / 2, total - 1, total] {
                let expected = first_tokens(answer, max);
                let why = (max < total).then_some(Cut::Length);
                assert!(tokens::count(&expected) <= max as u64);
                // Every split of the short ones, some of the long ones.
                let stride = if answer.len() <= 300 { 1 } else { 7 };
                for deltas in splits_every(answer, stride) {
                    let got = run(Cutoff::new(Some(max as u64), &[]).unwrap(), &deltas);
                    assert_eq!(got, (expected.clone(), why), "max {max}, {deltas:?}");
                }
            }
        }
    }

    #[test]
    fn an_emoji_is_never_split() {
        // "😀" is several tokens: a limit inside it stops before it.
        let answer = "Hi 😀😀 there";
        let per_token: Vec<String> = (1..=6).map(|n| first_tokens(answer, n)).collect();
        for (n, expected) in per_token.iter().enumerate() {
            let got = run(Cutoff::new(Some(n as u64 + 1), &[]).unwrap(), &[answer]);
            assert_eq!(&got.0, expected);
            assert!(answer.starts_with(&got.0));
        }
    }

    fn stops(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn stop_sequences_end_the_answer_however_the_text_comes() {
        let answer = "The sky is blue, the sea is «deep» — 東京 too. END here";
        let cases: &[(&[&str], &str, Option<Cut>)] = &[
            (&["blue"], "The sky is ", Some(Cut::Stop)),
            (&["«deep»", "sea"], "The sky is blue, the ", Some(Cut::Stop)),
            // The first sequence completed wins, not the first to start.
            (
                &["is blue, the sea is X", "sea"],
                "The sky is blue, the ",
                Some(Cut::Stop),
            ),
            (
                &["東京"],
                "The sky is blue, the sea is «deep» — ",
                Some(Cut::Stop),
            ),
            (&["T"], "", Some(Cut::Stop)),
            (
                &["here"],
                "The sky is blue, the sea is «deep» — 東京 too. END ",
                Some(Cut::Stop),
            ),
            // Prefixes held back, then released when they go nowhere.
            (&["ENDING", "blue!"], answer, None),
            (&["nowhere"], answer, None),
        ];
        for (list, expected, why) in cases {
            for deltas in splits_of(answer) {
                let got = run(Cutoff::new(None, &stops(list)).unwrap(), &deltas);
                assert_eq!(got, ((*expected).to_owned(), *why), "{list:?} {deltas:?}");
            }
        }
    }

    #[test]
    fn held_text_is_bounded_and_released_once_settled() {
        let mut cutoff = Cutoff::new(None, &stops(&["abcabd", "xy"])).unwrap();
        // "abcab" may begin "abcabd": held.
        assert_eq!(cutoff.feed("12abcab").text, "12");
        // "abcabc" cannot, but its last "abc" may.
        assert_eq!(cutoff.feed("c").text, "abc");
        assert_eq!(cutoff.stops.as_ref().unwrap().held, "abc");
        assert_eq!(
            cutoff.feed("abd"),
            Step {
                text: String::new(),
                cut: Some(Cut::Stop)
            }
        );
        let mut cutoff = Cutoff::new(None, &stops(&["xyz"])).unwrap();
        assert_eq!(cutoff.feed("ax").text, "a");
        for _ in 0..1000 {
            assert_eq!(cutoff.feed("ax").text, "xa");
            assert!(cutoff.stops.as_ref().unwrap().held.len() < 3);
        }
        assert_eq!(
            cutoff.end(),
            Step {
                text: "x".into(),
                cut: None
            }
        );
    }

    #[test]
    fn stop_and_max_tokens_together() {
        let answer = "One two three four five six seven eight nine ten.";
        let both = |max: u64, stop: &str| {
            splits_of(answer)
                .iter()
                .map(|d| run(Cutoff::new(Some(max), &stops(&[stop])).unwrap(), d))
                .collect::<std::collections::HashSet<_>>()
        };
        // The stop comes within the limit.
        let got = both(5, " four");
        assert_eq!(got.len(), 1);
        assert!(got.contains(&("One two three".into(), Some(Cut::Stop))));
        // The limit comes first.
        let got = both(3, " six");
        assert_eq!(got.len(), 1);
        assert!(got.contains(&("One two three".into(), Some(Cut::Length))));
        // Text before the stop of exactly the limit: ended by the stop.
        let got = both(3, " four");
        assert_eq!(got.len(), 1);
        assert!(got.contains(&("One two three".into(), Some(Cut::Stop))));
    }

    #[test]
    fn nothing_to_apply_is_no_cutoff_and_ends_pass_through() {
        assert!(Cutoff::new(None, &[]).is_none());
        assert!(Cutoff::new(None, &stops(&[""])).is_none());
        let mut none = None;
        assert_eq!(feed(&mut none, "as is".into()), ("as is".into(), None));
        assert_eq!(end(&mut none), (String::new(), None));
        let mut cutoff = Cutoff::new(Some(1), &[]);
        assert_eq!(feed(&mut cutoff, "Hello world".into()).1, Some(Cut::Length));
        assert_eq!(feed(&mut cutoff, "more".into()), (String::new(), None));
        assert_eq!(end(&mut cutoff), (String::new(), None));
    }

    #[test]
    fn a_long_run_without_a_split_is_still_cut_in_bounded_memory() {
        let mut cutoff = Cutoff::new(Some(10), &[]).unwrap();
        let mut out = String::new();
        let mut cut = None;
        for _ in 0..10_000 {
            let step = cutoff.feed("😀");
            out.push_str(&step.text);
            if step.cut.is_some() {
                cut = step.cut;
                break;
            }
            assert!(cutoff.limit.as_ref().unwrap().tail.len() <= TAIL_CAP + 4);
        }
        assert_eq!(cut, Some(Cut::Length));
        assert!(tokens::count(&out) <= 10 && !out.is_empty(), "{out:?}");
    }

    #[test]
    fn a_huge_limit_sends_everything_at_once() {
        let mut cutoff = Cutoff::new(Some(u64::MAX), &[]).unwrap();
        assert_eq!(cutoff.feed("abc def").text, "abc def");
        assert_eq!(cutoff.end(), Step::default());
    }

    /// Text of the kinds that make the pre-split pattern and the special
    /// tokens look ahead.
    fn tricky() -> impl Strategy<Value = String> {
        let atoms = prop::sample::select(vec![
            "a",
            "Z",
            "é",
            "ĳ",
            "я",
            "Ω",
            "東",
            "か",
            "カ",
            "한",
            "\u{301}",
            "\u{93F}",
            "क",
            "7",
            "٣",
            "Ⅻ",
            " ",
            "  ",
            "\t",
            "\n",
            "\r\n",
            "'",
            "'s",
            "'ll",
            "!",
            "«",
            "…",
            "😀",
            "|",
            "_",
            "<|",
            "|>",
            "<|endoftext|>",
            "<|fim_prefix|>",
            "endoftext",
            "fim",
            "\u{a0}",
        ]);
        prop::collection::vec(atoms, 0..24).prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Where `splits` says so, the tokens of the whole are the tokens
        /// of the two parts.
        #[test]
        fn splits_are_where_the_encoding_splits(text in tricky()) {
            let whole = reference().encode_with_special_tokens(&text);
            let chars: Vec<(usize, char)> = text.char_indices().collect();
            for pair in chars.windows(2) {
                let ((_, prev), (at, next)) = (pair[0], pair[1]);
                if splits(prev, next) {
                    let mut parts = reference().encode_with_special_tokens(&text[..at]);
                    parts.extend(reference().encode_with_special_tokens(&text[at..]));
                    prop_assert_eq!(&parts, &whole, "{:?} | {:?}", &text[..at], &text[at..]);
                }
            }
        }

        /// Any text, any split, any limit: the first tokens, whole
        /// characters only, at most the limit.
        #[test]
        fn any_text_is_cut_at_its_first_tokens(text in tricky(), max in 1u64..12, at in 0usize..200) {
            let at = floor_boundary(&text, at);
            let got = run(Cutoff::new(Some(max), &[]).unwrap(), &[&text[..at], &text[at..]]);
            prop_assert_eq!(&got.0, &first_tokens(&text, max as usize));
            prop_assert!(tokens::count(&got.0) <= max);
        }
    }
}
