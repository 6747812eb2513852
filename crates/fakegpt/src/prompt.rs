//! `format_prompt`: a chat history flattened into one prompt, exactly as
//! gpt4free's `format_prompt` does it.

use crate::message::Message;

/// Flattens a chat history into the single prompt the upstream receives.
///
/// gpt4free's semantics, which the FakeGpt provider always used:
/// - one message (or none) is sent as its content alone, even if blank;
/// - several become one line each, `Role: content`, the role capitalised the
///   way Python's `str.capitalize` does (first character upper-cased, the rest
///   lower-cased), joined by `\n` and followed by `\nAssistant:`;
/// - messages whose content is empty or only white space are left out;
/// - content given as parts contributes the text of its text parts.
///
/// An empty history gives an empty prompt; the provider rejects that before
/// anything is sent.
pub fn format_prompt(messages: &[Message]) -> String {
    if messages.len() <= 1 {
        return messages
            .first()
            .map(|m| m.content.text().into_owned())
            .unwrap_or_default();
    }
    let mut prompt = String::new();
    for message in messages {
        let content = message.content.text();
        if content.trim().is_empty() {
            continue;
        }
        if !prompt.is_empty() {
            prompt.push('\n');
        }
        capitalize_into(message.role.as_str(), &mut prompt);
        prompt.push_str(": ");
        prompt.push_str(&content);
    }
    prompt.push_str("\nAssistant:");
    prompt
}

/// Appends `word` with its first character upper-cased and the rest
/// lower-cased (Python's `str.capitalize`).
fn capitalize_into(word: &str, out: &mut String) {
    let mut chars = word.chars();
    if let Some(first) = chars.next() {
        out.extend(first.to_uppercase());
        for c in chars {
            out.extend(c.to_lowercase());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Content, ContentPart, Role};

    #[test]
    fn one_message_is_its_content_alone() {
        assert_eq!(
            format_prompt(&[Message::user("Hello, how are you?")]),
            "Hello, how are you?"
        );
        assert_eq!(format_prompt(&[Message::system("  ")]), "  ");
        assert_eq!(format_prompt(&[]), "");
    }

    #[test]
    fn several_messages_become_role_lines() {
        let messages = [
            Message::system("Be brief."),
            Message::user("What is the capital of France?"),
            Message::assistant("Paris."),
            Message::user("And of Italy?"),
        ];
        assert_eq!(
            format_prompt(&messages),
            "System: Be brief.\nUser: What is the capital of France?\nAssistant: Paris.\nUser: And of Italy?\nAssistant:"
        );
    }

    #[test]
    fn blank_messages_are_left_out() {
        let messages = [
            Message::system(""),
            Message::user(" \n\t"),
            Message::user("Hi"),
        ];
        assert_eq!(format_prompt(&messages), "User: Hi\nAssistant:");
        let all_blank = [Message::user(""), Message::assistant(" ")];
        assert_eq!(format_prompt(&all_blank), "\nAssistant:");
    }

    #[test]
    fn roles_are_capitalised_like_python() {
        let messages = [
            Message::new(Role::Other("DEVELOPER".into()), "x"),
            Message::new(Role::Other("ёлка".into()), "y"),
        ];
        assert_eq!(
            format_prompt(&messages),
            "Developer: x\nЁлка: y\nAssistant:"
        );
    }

    #[test]
    fn part_lists_contribute_their_text() {
        let parts = Content::Parts(vec![
            ContentPart::Text {
                text: "Look ".into(),
            },
            ContentPart::Other(serde_json::json!({"type": "image_url", "image_url": {"url": "u"}})),
            ContentPart::Text {
                text: "here".into(),
            },
        ]);
        assert_eq!(format_prompt(&[Message::user(parts.clone())]), "Look here");
        let only_image = Content::Parts(vec![ContentPart::Other(
            serde_json::json!({"type": "image_url"}),
        )]);
        let messages = [Message::user(only_image), Message::user(parts)];
        assert_eq!(format_prompt(&messages), "User: Look here\nAssistant:");
    }

    #[test]
    fn non_ascii_is_kept_verbatim() {
        let messages = [Message::user("Привет, 世界 👋"), Message::assistant("«ok»")];
        assert_eq!(
            format_prompt(&messages),
            "User: Привет, 世界 👋\nAssistant: «ok»\nAssistant:"
        );
    }
}
