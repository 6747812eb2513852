//! The emulator's deterministic replies.

/// Sentences a reply is built from: non-ASCII text (Cyrillic, CJK, emoji,
/// accents) and characters JSON must escape (quotes, backslashes, control
/// characters).
const SENTENCES: &[&str] = &[
    "Привет! Это ответ эмулятора. ",
    "你好，世界。这是一个测试。 ",
    "Emoji work too: 👋🌍🎉 — and a family: 👨‍👩‍👧. ",
    "Quotes \"inside\" and a back\\slash \\n that is not a newline. ",
    "Tabs\tand\nnewlines, too.\n",
    "Ελληνικά, עברית, العربية and café crème. ",
    "Math: ∑ x² ≤ ∞; arrows → ⇒; money: €£¥. ",
    "Why did the emulator cross the road? To reply deterministically. ",
];

/// The most characters of the prompt echoed at the start of a reply.
const ECHO_CHARS: usize = 80;

/// The reply to `prompt`: the same prompt always gets the same reply.
///
/// It starts by quoting (up to 80 characters of) the prompt, then follows
/// with sentences chosen by a hash of the prompt, at least three of them and
/// more until the reply has `min_chars` characters.
pub fn reply_for(prompt: &str, min_chars: usize) -> String {
    let mut hash = fnv1a(prompt.as_bytes());
    let echo: String = prompt.chars().take(ECHO_CHARS).collect();
    let ellipsis = if prompt.chars().nth(ECHO_CHARS).is_some() {
        "…"
    } else {
        ""
    };
    let mut reply = format!("You said: «{echo}{ellipsis}». ");
    let mut chars = reply.chars().count();
    let mut sentences = 0;
    while sentences < 3 || chars < min_chars {
        let sentence = SENTENCES[(hash % SENTENCES.len() as u64) as usize];
        reply.push_str(sentence);
        chars += sentence.chars().count();
        hash = hash
            .rotate_left(7)
            .wrapping_mul(0x100_0000_01b3)
            .wrapping_add(sentences);
        sentences += 1;
    }
    reply
}

/// What the emulator "thinks" before answering `prompt` in the `v1`
/// dialect with reasoning on: deterministic, and never part of the answer
/// (a client that mixes it into the answer text is wrong).
///
/// Like the replies, it holds text JSON must escape.
pub fn reasoning_for(prompt: &str) -> String {
    let echo: String = prompt.chars().take(40).collect();
    let plan = match fnv1a(prompt.as_bytes()) % 3 {
        0 => "quote it back, then add a few sentences",
        1 => "echo it first, then say something \"deterministic\"",
        _ => "repeat it, then pad the answer with prose",
    };
    format!(
        "Thinking about «{echo}» ({} characters). The plan: {plan}. \
         No tools are really needed 🤔 — but a search\\lookup looks diligent.\n\
         Then answer.",
        prompt.chars().count()
    )
}

/// A conversation's title, as the `v1` dialect's `title_generation` event
/// gives it: the prompt's first words.
pub(crate) fn title_for(prompt: &str) -> String {
    let words: Vec<&str> = prompt.split_whitespace().take(5).collect();
    if words.is_empty() {
        "New chat".to_owned()
    } else {
        words.join(" ")
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_deterministic_and_sized() {
        assert_eq!(
            reply_for("Tell me a joke", 0),
            reply_for("Tell me a joke", 0)
        );
        assert_ne!(reply_for("a", 0), reply_for("b", 0));
        assert!(reply_for("x", 32_000).chars().count() >= 32_000);
        assert!(reply_for(&"y".repeat(500), 0).contains("y…»"));
    }

    #[test]
    fn reasoning_is_deterministic_and_not_the_reply() {
        let thought = reasoning_for("Tell me a joke");
        assert_eq!(thought, reasoning_for("Tell me a joke"));
        assert!(thought.contains("«Tell me a joke»") && thought.contains('\\'));
        assert!(!reply_for("Tell me a joke", 0).contains(&thought));
        assert_eq!(
            title_for("  one two three four five six "),
            "one two three four five"
        );
        assert_eq!(title_for(" "), "New chat");
    }

    #[test]
    fn replies_hold_text_json_must_escape() {
        let long = reply_for("z", 5_000);
        for needle in ["\"", "\\", "\n", "👋", "你好", "Привет"] {
            assert!(long.contains(needle), "{needle}");
        }
    }
}
