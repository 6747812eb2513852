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
    let mut reply = quoted(prompt);
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

/// The prompt quoted back, as every reply opens (at most 80 characters).
fn quoted(prompt: &str) -> String {
    let echo: String = prompt.chars().take(ECHO_CHARS).collect();
    let ellipsis = if prompt.chars().nth(ECHO_CHARS).is_some() {
        "…"
    } else {
        ""
    };
    format!("You said: «{echo}{ellipsis}». ")
}

/// `reply` followed by prose until it has at least `min_chars` characters.
pub fn padded(mut reply: String, min_chars: usize) -> String {
    let mut chars = reply.chars().count();
    if chars < min_chars {
        reply.push_str("\n\n");
    }
    for sentence in SENTENCES.iter().cycle() {
        if chars >= min_chars {
            break;
        }
        reply.push_str(sentence);
        chars += sentence.chars().count();
    }
    reply
}

/// A Markdown reply to `prompt`: the prompt quoted back, then a document
/// with every construct a chat page renders — headings, emphasis, inline
/// code, a link, nested lists, a quote, a table, a rule and fenced code in
/// two languages. The same prompt always gets the same reply.
pub fn markdown_reply(prompt: &str) -> String {
    let language = ["rust", "python"][(fnv1a(prompt.as_bytes()) % 2) as usize];
    let code = if language == "rust" {
        "fn main() {\n    let greeting = \"hello\"; // a comment\n    println!(\"{greeting}, {}\", 42);\n}"
    } else {
        "def main():\n    greeting = \"hello\"  # a comment\n    print(f\"{greeting}, {42}\")"
    };
    format!(
        "{quote}\n\n\
         ## Markdown, rendered\n\n\
         Some *emphasis*, **strong** text, ~~struck~~ words, `inline code` and a \
         [link to the docs](https://example.com/docs).\n\n\
         - first item\n\
         - second item\n  \
           - nested item\n\
         - third item\n\n\
         1. one\n\
         2. two\n\n\
         > A quoted line,\n\
         > and another.\n\n\
         | Name | Value |\n\
         |:-----|------:|\n\
         | alpha | 1 |\n\
         | beta | 22 |\n\n\
         ---\n\n\
         ```{language}\n{code}\n```\n\n\
         ```json\n{{\"ok\": true, \"items\": [1, 2, 3]}}\n```\n\n\
         That is all.",
        quote = quoted(prompt).trim_end()
    )
}

/// A reply to `prompt` made of HTML and JavaScript payloads, each of which
/// would set `window.__pwned` if a page ran it: script tags, event
/// handlers, `javascript:` and `data:` links (in Markdown and raw HTML,
/// in odd cases and with spaces), an iframe, an SVG, an image, and a script
/// closing inside a code block. A page must show every one as text.
pub fn hostile_reply(prompt: &str) -> String {
    format!(
        "{quote}\n\n\
         <script>window.__pwned = 1</script>\n\n\
         <img src=x onerror=\"window.__pwned = 2\">\n\n\
         [click me](javascript:window.__pwned=3)\n\n\
         <a href=\"javascript:window.__pwned=4\">a raw link</a>\n\n\
         [data link](data:text/html,<script>window.__pwned=5</script>)\n\n\
         <iframe src=\"javascript:window.__pwned=6\"></iframe>\n\n\
         <svg onload=\"window.__pwned=7\"></svg>\n\n\
         **bold <b onmouseover=\"window.__pwned=8\">hover</b>**\n\n\
         [odd case](JaVaScRiPt:window.__pwned=9) and [spaced]( javascript:window.__pwned=10 )\n\n\
         ![image](x\" onerror=\"window.__pwned=11)\n\n\
         <details open ontoggle=\"window.__pwned=12\"><summary>x</summary></details>\n\n\
         ```html\n</code></pre><script>window.__pwned=13</script>\n```\n\n\
         `<style>body{{display:none}}</style>` and &lt;b&gt;entities&lt;/b&gt; stay text.",
        quote = quoted(prompt).trim_end()
    )
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
    fn markdown_and_hostile_replies_quote_the_prompt_and_pad() {
        let markdown = markdown_reply("show me");
        assert!(markdown.starts_with("You said: «show me»."));
        for needle in [
            "## ",
            "**strong**",
            "| Name |",
            "```",
            "- nested",
            "> A quoted",
        ] {
            assert!(markdown.contains(needle), "{needle}");
        }
        let hostile = hostile_reply("x");
        assert!(hostile.contains("<script>") && hostile.contains("javascript:"));
        assert_eq!(hostile.matches("window.__pwned").count(), 13);
        let long = padded(markdown.clone(), 5_000);
        assert!(long.starts_with(&markdown) && long.chars().count() >= 5_000);
        assert_eq!(padded(markdown.clone(), 10), markdown);
    }

    #[test]
    fn replies_hold_text_json_must_escape() {
        let long = reply_for("z", 5_000);
        for needle in ["\"", "\\", "\n", "👋", "你好", "Привет"] {
            assert!(long.contains(needle), "{needle}");
        }
    }
}
