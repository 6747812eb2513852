//! `/save` and `/load`: a conversation in a file, as JSON (a file name
//! ending in `.json`) or Markdown (any other). Both hold the messages and
//! which answers were cut short, never a secret: the upstream's handle
//! stays out, so a loaded conversation starts anew on the upstream.
//!
//! The Markdown is for reading, and is read back by the comment before
//! each message (`<!-- fakegpt: user -->`), which a Markdown viewer does
//! not show.

use std::path::Path;

use fakegpt::{Message, Role};
use serde::{Deserialize, Serialize};

/// The JSON format's name, checked when it is read.
const FORMAT: &str = "fakegpt-transcript/1";

/// What starts the Markdown format, and each of its messages.
const MARKDOWN_HEAD: &str = "<!-- fakegpt transcript -->";
const MARKER_OPEN: &str = "<!-- fakegpt: ";
const MARKER_CLOSE: &str = " -->";
/// What follows an answer that was cut short, in Markdown.
const CUT_NOTE: &str = "*(answer cancelled)*";

/// The largest file `/load` reads.
const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// A conversation as a file holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    /// The model it was asked with.
    pub model: String,
    /// The history, the system prompt included.
    pub messages: Vec<Message>,
    /// The indexes of the answers cut short.
    pub cut: Vec<usize>,
}

/// The JSON file.
#[derive(Serialize, Deserialize)]
struct JsonFile {
    format: String,
    model: String,
    messages: Vec<JsonMessage>,
}

/// One message of the JSON file.
#[derive(Serialize, Deserialize)]
struct JsonMessage {
    role: String,
    content: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    cancelled: bool,
}

/// Whether `path` names a JSON file.
fn is_json(path: &Path) -> bool {
    path.extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("json"))
}

/// Writes `transcript` to `path`. A file that is there already is
/// replaced only if it is a transcript itself.
pub fn save(path: &Path, transcript: &Transcript) -> Result<(), String> {
    match std::fs::read(path) {
        Ok(old) if !old.is_empty() && parse(path, &old).is_err() => {
            return Err(format!(
                "{} is there already and is not a conversation /save wrote; it was left alone",
                path.display()
            ))
        }
        _ => {}
    }
    let text = if is_json(path) {
        to_json(transcript)
    } else {
        to_markdown(transcript)
    };
    std::fs::write(path, text).map_err(|e| format!("could not write {}: {e}", path.display()))
}

/// Reads the transcript in `path`.
pub fn load(path: &Path) -> Result<Transcript, String> {
    let shown = path.display();
    let size = std::fs::metadata(path)
        .map_err(|e| format!("could not read {shown}: {e}"))?
        .len();
    if size > MAX_BYTES {
        return Err(format!(
            "{shown} is larger than a conversation ({size} bytes)"
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("could not read {shown}: {e}"))?;
    parse(path, &bytes).map_err(|why| format!("{shown} is not a conversation /save wrote: {why}"))
}

/// Reads a transcript in the format `path`'s name says.
fn parse(path: &Path, bytes: &[u8]) -> Result<Transcript, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_owned())?;
    if is_json(path) {
        from_json(text)
    } else {
        from_markdown(text)
    }
}

fn to_json(transcript: &Transcript) -> String {
    let file = JsonFile {
        format: FORMAT.to_owned(),
        model: transcript.model.clone(),
        messages: transcript
            .messages
            .iter()
            .enumerate()
            .map(|(i, m)| JsonMessage {
                role: m.role.as_str().to_owned(),
                content: m.content.text().into_owned(),
                cancelled: transcript.cut.contains(&i),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&file).unwrap_or_default();
    text.push('\n');
    text
}

fn from_json(text: &str) -> Result<Transcript, String> {
    let file: JsonFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if file.format != FORMAT {
        return Err(format!("its format is {:?}, not {FORMAT:?}", file.format));
    }
    let cut = file
        .messages
        .iter()
        .enumerate()
        .filter(|(_, m)| m.cancelled)
        .map(|(i, _)| i)
        .collect();
    let messages = file
        .messages
        .into_iter()
        .map(|m| Message::new(m.role.as_str(), m.content))
        .collect();
    checked(Transcript {
        model: file.model,
        messages,
        cut,
    })
}

/// The heading a role's message has in Markdown.
fn heading(role: &Role) -> String {
    match role {
        Role::System => "System".to_owned(),
        Role::User => "You".to_owned(),
        Role::Assistant => "Assistant".to_owned(),
        Role::Other(other) => other.clone(),
    }
}

fn to_markdown(transcript: &Transcript) -> String {
    let mut text = format!(
        "{MARKDOWN_HEAD}\n# Conversation\n\nModel: `{}`\n",
        transcript.model
    );
    for (i, message) in transcript.messages.iter().enumerate() {
        let role = message.role.as_str();
        text.push_str(&format!(
            "\n{MARKER_OPEN}{role}{MARKER_CLOSE}\n## {}\n\n",
            heading(&message.role)
        ));
        text.push_str(message.content.text().trim_end_matches('\n'));
        text.push('\n');
        if transcript.cut.contains(&i) {
            text.push_str(&format!("\n{CUT_NOTE}\n"));
        }
    }
    text
}

fn from_markdown(text: &str) -> Result<Transcript, String> {
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) != Some(MARKDOWN_HEAD) {
        return Err(format!("it does not start with {MARKDOWN_HEAD}"));
    }
    let mut model = String::new();
    let mut messages = Vec::new();
    let mut cut = Vec::new();
    // The message being read: its role, its lines, and how many lines of
    // its head (the heading, a blank line) are still to skip.
    let mut current: Option<(String, Vec<&str>, u8)> = None;
    let mut finish = |current: Option<(String, Vec<&str>, u8)>, messages: &mut Vec<Message>| {
        if let Some((role, mut body, _)) = current {
            while body.last().is_some_and(|l| l.trim().is_empty()) {
                body.pop();
            }
            if body.last().is_some_and(|l| l.trim_end() == CUT_NOTE) {
                body.pop();
                while body.last().is_some_and(|l| l.trim().is_empty()) {
                    body.pop();
                }
                cut.push(messages.len());
            }
            messages.push(Message::new(role.as_str(), body.join("\n")));
        }
    };
    for line in lines {
        if let Some(role) = line
            .strip_prefix(MARKER_OPEN)
            .and_then(|rest| rest.trim_end().strip_suffix(MARKER_CLOSE))
        {
            finish(current.take(), &mut messages);
            current = Some((role.to_owned(), Vec::new(), 2));
            continue;
        }
        match &mut current {
            None => {
                if let Some(name) = line.strip_prefix("Model: `") {
                    model = name.trim_end().trim_end_matches('`').to_owned();
                }
            }
            Some((_, _, skip @ 1..)) => *skip -= 1,
            Some((_, body, 0)) => body.push(line),
        }
    }
    finish(current, &mut messages);
    checked(Transcript {
        model,
        messages,
        cut,
    })
}

/// A transcript that can be taken up: it has messages, and every one cut
/// short is an answer.
fn checked(transcript: Transcript) -> Result<Transcript, String> {
    if transcript.messages.is_empty() {
        return Err("it holds no messages".to_owned());
    }
    if transcript.cut.iter().any(|&i| {
        transcript
            .messages
            .get(i)
            .is_none_or(|m| m.role != Role::Assistant)
    }) {
        return Err("a message marked cancelled is not an answer".to_owned());
    }
    Ok(transcript)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Transcript {
        Transcript {
            model: "gpt-3.5-turbo".into(),
            messages: vec![
                Message::system("Be brief."),
                Message::user("## Two lines\n\nof question, with ## a heading"),
                Message::assistant("# An answer\n\n- with a list\n\n```rust\nfn main() {}\n```"),
                Message::user("more?"),
                Message::assistant("partial ans"),
            ],
            cut: vec![4],
        }
    }

    #[test]
    fn both_formats_read_back_what_they_wrote() {
        let transcript = sample();
        assert_eq!(from_json(&to_json(&transcript)), Ok(transcript.clone()));
        let markdown = to_markdown(&transcript);
        assert!(
            markdown.contains("## You") && markdown.contains(CUT_NOTE),
            "{markdown}"
        );
        assert_eq!(from_markdown(&markdown), Ok(transcript));
    }

    #[test]
    fn foreign_files_are_refused() {
        assert!(from_markdown("# Notes\n\nmine").is_err());
        assert!(from_json("{\"format\":\"other\",\"model\":\"m\",\"messages\":[]}").is_err());
        assert!(from_json("[]").is_err());
        let no_messages = format!("{{\"format\":\"{FORMAT}\",\"model\":\"m\",\"messages\":[]}}");
        assert!(from_json(&no_messages).is_err());
        let bad_cut = format!(
            "{{\"format\":\"{FORMAT}\",\"model\":\"m\",\"messages\":[{{\"role\":\"user\",\"content\":\"q\",\"cancelled\":true}}]}}"
        );
        assert!(from_json(&bad_cut).is_err());
    }
}
