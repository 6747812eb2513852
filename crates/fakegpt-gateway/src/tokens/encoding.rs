//! The `cl100k_base` encoding of gpt-3.5-turbo and gpt-4: special tokens
//! first, then OpenAI's pre-split pattern, then byte-pair merging of each
//! piece — the same steps, in the same order, as `tiktoken`.

use fancy_regex::Regex;
use memchr::memmem;

use super::vocab::{Rank, Scratch, Vocabulary};

/// `cl100k_base`'s pre-split pattern, as `tiktoken` publishes it.
const PATTERN: &str = r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s";

/// The special tokens, each one token wherever it appears in a text (as
/// `tiktoken`'s `encode_with_special_tokens` counts them).
const SPECIAL: [(&str, Rank); 5] = [
    ("<|endoftext|>", 100_257),
    ("<|fim_prefix|>", 100_258),
    ("<|fim_middle|>", 100_259),
    ("<|fim_suffix|>", 100_260),
    ("<|endofprompt|>", 100_276),
];

/// Why the encoding could not be built or could not split a text.
#[derive(Debug, thiserror::Error)]
pub enum EncodingError {
    /// The embedded vocabulary is inconsistent (a broken build).
    #[error("the embedded cl100k_base vocabulary is inconsistent")]
    Vocabulary,
    /// The pattern did not compile, or gave up on a text (backtracking
    /// limit).
    #[error("the cl100k_base pattern failed: {0}")]
    Pattern(#[from] Box<fancy_regex::Error>),
}

/// The `cl100k_base` encoding.
pub struct Encoding {
    vocabulary: Vocabulary,
    pattern: Regex,
}

impl Encoding {
    /// Loads the embedded vocabulary and compiles the pattern (tens of
    /// milliseconds).
    pub fn cl100k_base() -> Result<Self, EncodingError> {
        Ok(Self {
            vocabulary: Vocabulary::cl100k_base().ok_or(EncodingError::Vocabulary)?,
            pattern: Regex::new(PATTERN).map_err(Box::new)?,
        })
    }

    /// Hands the tokens of `text` to `emit`, in order.
    pub fn encode_with(
        &self,
        text: &str,
        emit: &mut impl FnMut(Rank),
    ) -> Result<(), EncodingError> {
        let mut scratch = Scratch::default();
        let mut start = 0;
        while start < text.len() {
            let (end, special) = next_special(text, start);
            for piece in self.pattern.find_iter(&text[start..end]) {
                let piece = piece.map_err(Box::new)?;
                self.vocabulary
                    .encode_piece(piece.as_str().as_bytes(), &mut scratch, emit);
            }
            match special {
                Some((token, rank)) => {
                    emit(rank);
                    start = end + token.len();
                }
                None => start = end,
            }
        }
        Ok(())
    }

    /// The tokens of `text`.
    pub fn encode(&self, text: &str) -> Result<Vec<Rank>, EncodingError> {
        let mut tokens = Vec::new();
        self.encode_with(text, &mut |rank| tokens.push(rank))?;
        Ok(tokens)
    }

    /// How many tokens `text` is, without keeping them.
    pub fn count(&self, text: &str) -> Result<u64, EncodingError> {
        let mut count = 0;
        self.encode_with(text, &mut |_| count += 1)?;
        Ok(count)
    }

    /// The rank of an ordinary token, if `bytes` is one.
    pub fn rank(&self, bytes: &[u8]) -> Option<Rank> {
        self.vocabulary.rank(bytes)
    }

    /// The bytes of a token (empty for special or unknown ranks).
    pub fn token(&self, rank: Rank) -> &'static [u8] {
        self.vocabulary.token(rank)
    }
}

/// Where the next special token at or after `from` starts (or the text's
/// end), and which one it is.
fn next_special(text: &str, from: usize) -> (usize, Option<(&'static str, Rank)>) {
    let rest = &text.as_bytes()[from..];
    for at in memmem::find_iter(rest, b"<|") {
        if let Some(&special) = SPECIAL
            .iter()
            .find(|(token, _)| rest[at..].starts_with(token.as_bytes()))
        {
            return (from + at, Some(special));
        }
    }
    (text.len(), None)
}
