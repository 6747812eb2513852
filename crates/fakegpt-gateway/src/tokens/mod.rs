//! Token counts for `usage`, with the real `cl100k_base` encoding of
//! gpt-3.5-turbo: the same tokens as OpenAI's `tiktoken` (checked against
//! `tiktoken-rs` in the tests), from a compact table that keeps the idle
//! gateway small.

mod encoding;
mod vocab;

use std::sync::OnceLock;

use fakegpt::Message;

pub use encoding::{Encoding, EncodingError};
pub use vocab::Rank;

use crate::openai::Usage;

static ENCODING: OnceLock<Option<Encoding>> = OnceLock::new();

/// The shared encoding, loaded on first use; `None` (logged once) if it
/// cannot be, in which case counts are estimated.
pub fn encoding() -> Option<&'static Encoding> {
    ENCODING
        .get_or_init(|| match Encoding::cl100k_base() {
            Ok(encoding) => Some(encoding),
            Err(err) => {
                tracing::error!(%err, "could not load the cl100k_base encoding; usage will be estimated");
                None
            }
        })
        .as_ref()
}

/// Loads the encoding now, so the first request does not pay for it.
pub fn warm_up() {
    let _ = encoding();
}

/// A rough count for when the encoding cannot help: about four bytes a
/// token.
fn estimate(text: &str) -> u64 {
    text.len().div_ceil(4) as u64
}

/// Tokens in `text`.
pub fn count(text: &str) -> u64 {
    let Some(encoding) = encoding() else {
        return estimate(text);
    };
    encoding.count(text).unwrap_or_else(|err| {
        tracing::warn!(%err, bytes = text.len(), "could not tokenize a text; its usage is estimated");
        estimate(text)
    })
}

/// Prompt tokens as OpenAI counts them for gpt-3.5-turbo: 3 per message,
/// its role and content, 1 more for a name, and 3 that prime the reply.
pub fn prompt(messages: &[Message], names: &[Option<String>]) -> u64 {
    let mut total = 3;
    for (i, message) in messages.iter().enumerate() {
        total += 3 + count(message.role.as_str()) + count(&message.content.text());
        if let Some(Some(name)) = names.get(i) {
            total += 1 + count(name);
        }
    }
    total
}

/// The usage of an answer to a prompt of `prompt_tokens`.
pub fn usage(prompt_tokens: u64, answer: &str) -> Usage {
    let completion_tokens = count(answer);
    Usage {
        prompt_tokens,
        completion_tokens,
        total_tokens: prompt_tokens + completion_tokens,
    }
}

#[cfg(test)]
mod tests;
