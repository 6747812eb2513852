//! Token counts for `usage`, with the real `cl100k_base` encoding of
//! gpt-3.5-turbo.

use std::sync::OnceLock;

use fakegpt::Message;
use tiktoken_rs::CoreBPE;

use crate::openai::Usage;

static ENCODING: OnceLock<Option<CoreBPE>> = OnceLock::new();

fn encoding() -> Option<&'static CoreBPE> {
    ENCODING
        .get_or_init(|| match tiktoken_rs::cl100k_base() {
            Ok(bpe) => Some(bpe),
            Err(err) => {
                tracing::error!(%err, "could not load the cl100k_base encoding; usage will be estimated");
                None
            }
        })
        .as_ref()
}

/// Loads the encoding now (it takes a moment), so the first request does
/// not pay for it.
pub fn warm_up() {
    let _ = encoding();
}

/// Tokens in `text`.
pub fn count(text: &str) -> u64 {
    match encoding() {
        Some(bpe) => bpe.encode_with_special_tokens(text).len() as u64,
        // A rough fallback: about four bytes a token.
        None => text.len().div_ceil(4) as u64,
    }
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
mod tests {
    use super::*;

    #[test]
    fn counts_match_the_cl100k_encoding() {
        // Known cl100k_base counts.
        assert_eq!(count("Hello world"), 2);
        assert_eq!(count("tiktoken is great!"), 6);
        assert_eq!(count(""), 0);
        // OpenAI's cookbook: one user message "Hello world" is 3 + 1 + 2 + 3.
        assert_eq!(prompt(&[Message::user("Hello world")], &[None]), 9);
    }
}
