//! The interactive mode's commands, declared once in [`COMMANDS`]: the
//! table drives reading a typed line, `/help` and tab completion.

/// A command of the interactive mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// List the commands.
    Help,
    /// Start over.
    New,
    /// Ask the last question again.
    Regenerate,
    /// Show, set or clear the system prompt.
    System,
    /// Show or change the model.
    Model,
    /// Write the conversation to a file.
    Save,
    /// Read a conversation from a file.
    Load,
    /// Copy the last answer to the clipboard.
    Copy,
    /// Show what this session keeps.
    Session,
    /// Quit.
    Exit,
}

/// What a command takes after its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takes {
    /// Nothing.
    Nothing,
    /// An optional argument, named as help shows it.
    Optional(&'static str),
    /// A required argument, named as help shows it.
    Required(&'static str),
}

/// What tab completes after a command's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completes {
    /// Nothing.
    Nothing,
    /// File names.
    Files,
    /// The provider's models.
    Models,
}

/// One command: what it is, its names (the first is the one completion
/// offers; help shows them all), what it takes and what it does.
#[derive(Debug, PartialEq, Eq)]
pub struct Spec {
    /// The command.
    pub command: Command,
    /// Its names, each starting with `/`.
    pub names: &'static [&'static str],
    /// Its argument.
    pub takes: Takes,
    /// What tab completes for its argument.
    pub completes: Completes,
    /// One line of help.
    pub help: &'static str,
}

/// The commands of the interactive mode.
pub const COMMANDS: &[Spec] = &[
    Spec {
        command: Command::Help,
        names: &["/help"],
        takes: Takes::Nothing,
        completes: Completes::Nothing,
        help: "list the commands and keys",
    },
    Spec {
        command: Command::New,
        names: &["/new", "/reset"],
        takes: Takes::Nothing,
        completes: Completes::Nothing,
        help: "start over: forget the conversation (the system prompt stays)",
    },
    Spec {
        command: Command::Regenerate,
        names: &["/regenerate"],
        takes: Takes::Nothing,
        completes: Completes::Nothing,
        help: "ask the last question again; the new answer replaces the last one",
    },
    Spec {
        command: Command::System,
        names: &["/system"],
        takes: Takes::Optional("TEXT|-"),
        completes: Completes::Nothing,
        help: "show the system prompt, set it to TEXT, or clear it with -",
    },
    Spec {
        command: Command::Model,
        names: &["/model"],
        takes: Takes::Optional("MODEL"),
        completes: Completes::Models,
        help: "show the model and the ones served, or ask MODEL from now on",
    },
    Spec {
        command: Command::Save,
        names: &["/save"],
        takes: Takes::Required("FILE"),
        completes: Completes::Files,
        help: "write the conversation to FILE: JSON if it ends in .json, else Markdown",
    },
    Spec {
        command: Command::Load,
        names: &["/load"],
        takes: Takes::Required("FILE"),
        completes: Completes::Files,
        help: "go on with the conversation /save wrote to FILE",
    },
    Spec {
        command: Command::Copy,
        names: &["/copy"],
        takes: Takes::Nothing,
        completes: Completes::Nothing,
        help: "copy the last answer to the clipboard",
    },
    Spec {
        command: Command::Session,
        names: &["/session"],
        takes: Takes::Nothing,
        completes: Completes::Nothing,
        help: "show what this session keeps and where (no secrets)",
    },
    Spec {
        command: Command::Exit,
        names: &["/exit", "/quit"],
        takes: Takes::Nothing,
        completes: Completes::Nothing,
        help: "quit (so do Ctrl-D, and Ctrl-C twice at an empty prompt)",
    },
];

/// What a typed line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Input<'a> {
    /// A blank line.
    Nothing,
    /// A question for the model.
    Question(&'a str),
    /// A known command, with its argument if it takes one and one was given.
    Command(Command, Option<&'a str>),
    /// A line starting with `/` that is no command: never sent.
    Unknown(&'a str),
    /// A known command with an argument it does not take, or without one
    /// it needs: never sent. The name as typed, and its spec.
    Misused(&'a str, &'static Spec),
}

/// Reads a typed line: a command of [`COMMANDS`] (its name, then its
/// argument after a space), any other line starting with `/` an unknown
/// command, `//…` the question `/…`, a `"""` block the question inside it,
/// the rest a question.
pub fn parse(line: &str) -> Input<'_> {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return Input::Nothing;
    }
    if let Some(block) = trimmed.strip_prefix(BLOCK) {
        let inner = block
            .strip_suffix(BLOCK)
            .unwrap_or(block)
            .trim_matches('\n');
        return match inner.trim() {
            "" => Input::Nothing,
            _ => Input::Question(inner),
        };
    }
    if trimmed.starts_with("//") {
        return Input::Question(&trimmed[1..]);
    }
    if !trimmed.starts_with('/') {
        return Input::Question(line.trim_matches('\n'));
    }
    let (name, argument) = match trimmed.split_once(char::is_whitespace) {
        Some((name, rest)) => (name, Some(rest.trim()).filter(|r| !r.is_empty())),
        None => (trimmed, None),
    };
    let Some(spec) = find(name) else {
        return Input::Unknown(trimmed);
    };
    match (spec.takes, argument) {
        (Takes::Nothing, Some(_)) | (Takes::Required(_), None) => Input::Misused(name, spec),
        (Takes::Nothing, None) => Input::Command(spec.command, None),
        (_, argument) => Input::Command(spec.command, argument),
    }
}

/// What starts and ends a block of several lines typed as one question.
pub const BLOCK: &str = "\"\"\"";

/// Whether `line` is an unfinished `"""` block: Enter adds a line to it.
pub fn is_open_block(line: &str) -> bool {
    let trimmed = line.trim();
    trimmed
        .strip_prefix(BLOCK)
        .is_some_and(|rest| !rest.trim_end().ends_with(BLOCK))
}

/// The spec of the command named `name`.
pub fn find(name: &str) -> Option<&'static Spec> {
    COMMANDS.iter().find(|spec| spec.names.contains(&name))
}

/// How a command is typed, e.g. `/save FILE` or `/model [MODEL]`.
pub fn usage(spec: &Spec, name: &str) -> String {
    match spec.takes {
        Takes::Nothing => name.to_owned(),
        Takes::Optional(arg) => format!("{name} [{arg}]"),
        Takes::Required(arg) => format!("{name} {arg}"),
    }
}

/// The commands and keys, as `/help` prints them.
pub fn help() -> String {
    let mut text = String::from("commands:\n");
    for spec in COMMANDS {
        let names: Vec<String> = spec.names.iter().map(|name| usage(spec, name)).collect();
        text.push_str(&format!("  {:<22} {}\n", names.join(", "), spec.help));
    }
    let more = [
        ("//TEXT", "ask a question that starts with /"),
        (
            "\"\"\" … \"\"\"",
            "a question of several lines (so is a pasted block)",
        ),
        ("Alt+Enter", "a new line without sending"),
        ("Tab", "complete a command, a file or a model"),
        ("Up, Down, Ctrl-R", "earlier input (kept across runs)"),
        (
            "Ctrl-C",
            "cancel the answer (what came is kept) or the line",
        ),
    ];
    text.push_str("keys and forms:\n");
    for (form, what) in more {
        text.push_str(&format!("  {form:<22} {what}\n"));
    }
    text
}

/// The command names that start with `typed` (a whole line with no space
/// yet), in table order: what Tab offers.
pub fn names_starting(typed: &str) -> Vec<&'static str> {
    COMMANDS
        .iter()
        .flat_map(|spec| spec.names.iter().copied())
        .filter(|name| name.starts_with(typed))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_lines_are_questions_commands_or_unknown_commands() {
        assert_eq!(parse("  "), Input::Nothing);
        assert_eq!(parse(" hi there "), Input::Question(" hi there "));
        assert_eq!(parse("/new"), Input::Command(Command::New, None));
        assert_eq!(parse(" /reset "), Input::Command(Command::New, None));
        assert_eq!(parse("/quit"), Input::Command(Command::Exit, None));
        assert_eq!(parse("/frobnicate"), Input::Unknown("/frobnicate"));
        assert!(matches!(parse("/new please"), Input::Misused("/new", _)));
        assert!(matches!(parse("/save"), Input::Misused("/save", _)));
        assert_eq!(
            parse("/save  notes.md "),
            Input::Command(Command::Save, Some("notes.md"))
        );
        assert_eq!(
            parse("/system Be brief.  Very."),
            Input::Command(Command::System, Some("Be brief.  Very."))
        );
        assert_eq!(parse("/model"), Input::Command(Command::Model, None));
        assert_eq!(parse("//etc/hosts?"), Input::Question("/etc/hosts?"));
        assert_eq!(
            parse("line one\nline two\n"),
            Input::Question("line one\nline two")
        );
    }

    #[test]
    fn blocks_are_one_question() {
        assert!(is_open_block("\"\"\""));
        assert!(is_open_block("\"\"\"\nfirst line"));
        assert!(!is_open_block("\"\"\"\nfirst line\n\"\"\""));
        assert!(!is_open_block("\"\"\"one line\"\"\""));
        assert!(!is_open_block("no block"));
        assert_eq!(
            parse("\"\"\"\nfirst\n/second\n\"\"\""),
            Input::Question("first\n/second")
        );
        assert_eq!(parse("\"\"\"\n\n\"\"\""), Input::Nothing);
    }

    #[test]
    fn help_and_completion_come_from_the_table() {
        let help = help();
        for spec in COMMANDS {
            for name in spec.names {
                assert!(help.contains(name), "{help}");
            }
        }
        assert!(help.contains("/save FILE"), "{help}");
        assert_eq!(names_starting("/re"), ["/reset", "/regenerate"]);
        assert_eq!(names_starting("/s"), ["/system", "/save", "/session"]);
        assert!(names_starting("/x").is_empty());
    }
}
