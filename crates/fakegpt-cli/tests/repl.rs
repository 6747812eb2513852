//! The interactive mode typed into a real terminal (a tmux pane on a
//! private tmux server) against the emulator over loopback: line editing
//! and history recall (within a run and across runs, kept private and
//! bounded), a pasted block and the explicit multi-line forms as one
//! question, Ctrl-C cancelling an answer (the emulator sees the stream
//! dropped) with the session going on, the commands, `/save` then
//! `/load`, `/copy`, and the spinner shown on a terminal only.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use fakegpt_upstream::{Config, Fault};
use unicode_width::UnicodeWidthStr as _;

mod common;

use common::terminal::{Terminal, WAIT};
use common::*;

/// A fresh state directory, removed when dropped.
struct State(PathBuf);

impl State {
    fn new(test: &str) -> State {
        let dir =
            std::env::temp_dir().join(format!("fakegpt-cli-repl-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        State(dir)
    }

    fn home(&self) -> String {
        self.0.display().to_string()
    }

    fn history(&self) -> PathBuf {
        self.0.join("fakegpt").join("history")
    }

    /// The entries of the input history file.
    fn history_entries(&self) -> Vec<String> {
        std::fs::read_to_string(self.history())
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("#V"))
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for State {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `fakegpt chat` on a terminal against `url`, with `state` as the state
/// directory and the session in memory.
fn chat(name: &str, state: &State, url: &str, extra: &[&str]) -> Terminal {
    let home = state.home();
    let mut argv = vec![BIN, "chat", "--base-url", url];
    argv.extend_from_slice(extra);
    let terminal = Terminal::start(
        name,
        &[
            ("FAKEGPT_CONFIG", "/dev/null"),
            ("FAKEGPT_STORE", "memory"),
            ("XDG_STATE_HOME", &home),
        ],
        &argv,
    );
    terminal.wait_for("the welcome", |s| s.contains("/help lists the commands"));
    terminal.wait_for_prompt();
    terminal
}

/// Waits until the emulator's counters satisfy `done`.
fn wait_for_counters(
    up: &Upstream,
    what: &str,
    done: impl Fn(&fakegpt_upstream::Counters) -> bool,
) {
    let deadline = Instant::now() + WAIT;
    loop {
        let counters = up.emulator.counters();
        if done(&counters) {
            return;
        }
        assert!(Instant::now() < deadline, "waited for {what}: {counters:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The screen's last prompt line, as far as it was typed.
fn prompt_line(screen: &str) -> String {
    screen
        .lines()
        .rev()
        .find(|l| l.starts_with('>'))
        .unwrap_or_default()
        .trim_end()
        .to_owned()
}

#[test]
fn lines_are_edited_and_recalled_within_a_run_and_across_runs() {
    let up = upstream(Config::default());
    let url = up.emulator.url();
    let state = State::new("history");
    let reply = up.emulator.reply_for("tell me a joke");
    let first_line: String = reply.chars().take(30).collect();

    let terminal = chat("history", &state, &url, &[]);
    // A typo mended with the arrow keys: the model gets the mended line.
    terminal.type_text("tell me a jke");
    terminal.keys(&["Left", "Left"]);
    terminal.type_text("o");
    terminal.keys(&["Enter"]);
    terminal.wait_for("the answer", |s| s.contains(&first_line));
    terminal.wait_for_prompt();
    // Up recalls it; Enter asks it again.
    terminal.keys(&["Up"]);
    terminal.wait_for("the recalled line", |s| {
        prompt_line(s) == "> tell me a joke"
    });
    terminal.keys(&["Enter"]);
    terminal.wait_for("the second answer", |s| s.matches(&first_line).count() == 2);
    terminal.wait_for_prompt();
    assert_eq!(up.emulator.counters().conversations, 2);
    terminal.type_line("/exit");
    assert_eq!(terminal.wait_for_exit(), "0");
    drop(terminal);

    // Kept private, without the duplicate.
    let mode = std::fs::metadata(state.history())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let dir_mode = std::fs::metadata(state.history().parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700);
    assert_eq!(state.history_entries(), ["tell me a joke", "/exit"]);

    // The next run recalls the last run's lines.
    let terminal = chat("history-2", &state, &url, &[]);
    terminal.keys(&["Up", "Up"]);
    terminal.wait_for("the last run's line", |s| {
        prompt_line(s) == "> tell me a joke"
    });
    terminal.keys(&["Enter"]);
    terminal.wait_for("the answer", |s| s.contains(&first_line));
    terminal.wait_for_prompt();
    assert_eq!(up.emulator.counters().conversations, 3);
    // A line starting with a space is not kept, as in shells.
    terminal.type_line(" /help");
    terminal.wait_for("the help", |s| s.contains("commands:"));
    terminal.wait_for_prompt();
    terminal.keys(&["C-d"]);
    assert_eq!(terminal.wait_for_exit(), "0");
    assert_eq!(
        state.history_entries(),
        ["tell me a joke", "/exit", "tell me a joke"]
    );

    // Bounded: the oldest lines go.
    let bounded = chat("history-3", &state, &url, &["--history-size", "3"]);
    for line in ["/model", "/system", "/session"] {
        bounded.type_line(line);
        bounded.wait_for_prompt();
    }
    bounded.keys(&["C-d"]);
    assert_eq!(bounded.wait_for_exit(), "0");
    assert_eq!(state.history_entries(), ["/model", "/system", "/session"]);

    // --no-history: nothing recalled, nothing written.
    let none = State::new("history-none");
    let terminal = chat("history-none", &none, &url, &["--no-history"]);
    terminal.type_line("/model");
    terminal.wait_for_prompt();
    terminal.keys(&["Up", "Up"]);
    terminal.wait_for("the recalled line", |s| {
        prompt_line(s).starts_with("> /model")
    });
    terminal.keys(&["C-u", "C-d"]);
    assert_eq!(terminal.wait_for_exit(), "0");
    assert!(!none.history().exists());
    assert!(!none.0.join("fakegpt").exists());
}

#[test]
fn a_pasted_block_and_the_multi_line_forms_are_one_question_each() {
    let up = upstream(Config::default());
    let url = up.emulator.url();
    let state = State::new("paste");
    let terminal = chat("paste", &state, &url, &[]);
    let file = state.0.join("pasted.json");
    let file = file.display().to_string();

    // A pasted paragraph of three lines, then Enter.
    terminal.paste("first line\nsecond line\nthird line");
    terminal.wait_for("the pasted text", |s| s.contains("third line"));
    assert_eq!(
        up.emulator.counters().conversations,
        0,
        "a paste sends nothing"
    );
    terminal.keys(&["Enter"]);
    wait_for_counters(&up, "one question", |c| c.completed == 1);
    terminal.wait_for_prompt();
    terminal.type_line("/new");
    terminal.wait_for_prompt();

    // A """ block typed line by line.
    for line in ["\"\"\"", "alpha", "", "/beta", "\"\"\""] {
        terminal.type_line(line);
    }
    wait_for_counters(&up, "the block", |c| c.completed == 2);
    terminal.wait_for_prompt();
    terminal.type_line(&format!("/save {file}"));
    terminal.wait_for("the save", |s| s.contains("(saved 2 message(s)"));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["messages"][0]["content"], "alpha\n\n/beta");
    assert_eq!(
        saved["messages"][1]["content"],
        up.emulator.reply_for("alpha\n\n/beta").as_str()
    );
    terminal.type_line("/new");
    terminal.wait_for_prompt();

    // Alt+Enter starts a new line without sending.
    terminal.type_text("one");
    terminal.keys(&["M-Enter"]);
    terminal.type_text("two");
    terminal.keys(&["Enter"]);
    wait_for_counters(&up, "the two lines", |c| c.completed == 3);
    terminal.wait_for_prompt();
    std::fs::remove_file(&file).unwrap();
    terminal.type_line(&format!("/save {file}"));
    terminal.wait_for("the save", |s| {
        s.matches("(saved 2 message(s)").count() == 2
    });
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["messages"][0]["content"], "one\ntwo");
    assert_eq!(up.emulator.counters().conversations, 3);

    // The pasted paragraph was one message, word for word: the history
    // file holds it as one entry.
    let entries = state.history_entries();
    assert!(
        entries.contains(&r"first line\nsecond line\nthird line".to_owned()),
        "{entries:?}"
    );
    terminal.type_line("/exit");
    assert_eq!(terminal.wait_for_exit(), "0");
}

#[test]
fn ctrl_c_cancels_the_answer_keeps_what_came_and_the_session_goes_on() {
    let up = upstream(Config::default());
    let url = up.emulator.url();
    let state = State::new("cancel");
    let file = state.0.join("cancelled.json");
    let file = file.display().to_string();
    let terminal = chat("cancel", &state, &url, &[]);

    // The stream stalls after three events: text came, more is awaited.
    up.emulator
        .inject(Fault::StallMidStream { after_events: 3 }, 1);
    let reply = up.emulator.reply_for("tell me everything");
    terminal.type_line("tell me everything");
    // Three events: "You said: «t" — the renderer holds the word it has
    // not seen the end of.
    terminal.wait_for("the first text", |s| s.contains("You said:"));
    terminal.keys(&["C-c"]);
    terminal.wait_for("the cancellation", |s| s.contains("(answer cancelled"));
    terminal.wait_for_prompt();
    wait_for_counters(&up, "the stream dropped", |c| {
        c.cancelled == 1 && c.active_streams == 0
    });

    // The session goes on, with the cut answer in its history.
    terminal.type_line("and then?");
    wait_for_counters(&up, "the next answer", |c| c.completed == 1);
    terminal.wait_for_prompt();
    terminal.type_line(&format!("/save {file}"));
    terminal.wait_for("the save", |s| s.contains("(saved 4 message(s)"));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let messages = saved["messages"].as_array().unwrap();
    assert_eq!(messages[1]["cancelled"], true, "{saved}");
    // Everything that came, the held word too (it was written at the end).
    let kept = messages[1]["content"].as_str().unwrap();
    assert_eq!(kept, reply.chars().take(12).collect::<String>());
    let screen = terminal.screen();
    let cut = screen.lines().find(|l| l.starts_with("You said:")).unwrap();
    assert!(cut.contains("«t"), "{screen}");
    assert!(messages[3].get("cancelled").is_none());
    // The next question was asked with the cut answer as history.
    let prompt =
        format!("User: tell me everything\nAssistant: {kept}\nUser: and then?\nAssistant:");
    assert_eq!(
        messages[3]["content"],
        up.emulator.reply_for(&prompt).as_str()
    );

    // Ctrl-C before any text: the question is left out.
    up.emulator
        .inject(Fault::StallMidStream { after_events: 0 }, 1);
    terminal.type_line("never answered");
    wait_for_counters(&up, "the stalled stream", |c| c.active_streams == 1);
    terminal.keys(&["C-c"]);
    terminal.wait_for("the cancellation", |s| {
        s.contains("(cancelled before any answer")
    });
    terminal.wait_for_prompt();
    wait_for_counters(&up, "the stream dropped", |c| c.cancelled == 2);

    // Ctrl-C on a line with text clears it; twice on an empty line quits.
    terminal.type_text("half a thought");
    terminal.keys(&["C-c"]);
    terminal.wait_for_prompt();
    terminal.keys(&["C-c"]);
    terminal.wait_for("the hint", |s| s.contains("press Ctrl-C again"));
    // The next line is being read (the terminal in raw mode) once the
    // prompt is back: a key sent sooner reaches the terminal between two
    // reads, as a person pressing it at once after the hint could not.
    terminal.wait_for_prompt();
    terminal.keys(&["C-c"]);
    assert_eq!(terminal.wait_for_exit(), "0");
    assert_eq!(up.emulator.counters().conversations, 3);
    let screen = terminal.screen();
    assert!(!screen.contains("panicked"), "{screen}");
}

#[test]
fn commands_save_load_copy_and_describe_the_session() {
    let up = upstream(Config::default());
    let url = up.emulator.url();
    let state = State::new("commands");
    let terminal = chat("commands", &state, &url, &["--no-history"]);
    let markdown = state.0.join("talk.md");
    let markdown = markdown.display().to_string();

    // Mistakes send nothing.
    terminal.type_line("/frobnicate");
    terminal.wait_for("the error", |s| {
        s.contains("unknown command \"/frobnicate\"")
    });
    terminal.type_line("/save");
    terminal.wait_for("the usage", |s| s.contains("/save is typed as /save FILE"));
    terminal.type_line("/new now");
    terminal.wait_for("the usage", |s| s.contains("/new is typed as /new"));
    terminal.type_line("/model gpt-9");
    terminal.wait_for("the refusal", |s| s.contains("\"gpt-9\" is not a model"));
    terminal.type_line("/copy");
    terminal.wait_for("the refusal", |s| s.contains("no answer to copy yet"));
    terminal.wait_for_prompt();
    assert_eq!(up.emulator.counters().conversations, 0);

    // Tab completes a command; the table's help lists them all.
    terminal.type_text("/rege");
    terminal.keys(&["Tab"]);
    terminal.wait_for("the completion", |s| prompt_line(s) == "> /regenerate");
    terminal.keys(&["C-u"]);
    terminal.type_line("/help");
    let screen = terminal.wait_for("the help", |s| s.contains("keys and forms:"));
    for name in [
        "/system",
        "/model",
        "/save FILE",
        "/load FILE",
        "/copy",
        "/session",
    ] {
        assert!(screen.contains(name), "{name}");
    }

    // A system prompt, a question, then the conversation to a file.
    terminal.type_line("/system Answer in one line.");
    terminal.wait_for("the confirmation", |s| s.contains("(system prompt set"));
    terminal.type_line("/model gpt-3.5-turbo-0125");
    terminal.wait_for("the confirmation", |s| {
        s.contains("(model: gpt-3.5-turbo-0125)")
    });
    let prompt = "System: Answer in one line.\nUser: first question\nAssistant:";
    let first: String = up.emulator.reply_for(prompt).chars().take(30).collect();
    terminal.ask("first question", &first, 1);
    terminal.type_line("/session");
    let screen = terminal.wait_for("the session", |s| s.contains("input history"));
    assert!(screen.contains("gpt-3.5-turbo-0125"), "{screen}");
    assert!(screen.contains("1 question(s), 1 answer(s)"), "{screen}");
    assert!(screen.contains("Answer in one line."), "{screen}");

    terminal.type_line("/copy");
    terminal.wait_for("the copy", |s| s.contains("(copied the last answer"));
    assert_eq!(
        terminal.clipboard().as_deref(),
        Some(up.emulator.reply_for(prompt).as_str())
    );

    terminal.type_line(&format!("/save {markdown}"));
    terminal.wait_for("the save", |s| s.contains("(saved 3 message(s)"));
    let saved = std::fs::read_to_string(&markdown).unwrap();
    assert!(saved.contains("## You\n\nfirst question\n"), "{saved}");

    // Started over, then taken up from the file: the next question has
    // the loaded history.
    terminal.type_line("/system -");
    terminal.wait_for("the confirmation", |s| {
        s.contains("(system prompt cleared)")
    });
    terminal.type_line("/new");
    terminal.type_line(&format!("/load {markdown}"));
    terminal.wait_for("the load", |s| s.contains("(loaded 3 message(s)"));
    let answer = up.emulator.reply_for(prompt);
    let prompt = format!(
        "System: Answer in one line.\nUser: first question\nAssistant: {}\nUser: second question\nAssistant:",
        answer.trim_end()
    );
    let second: String = up.emulator.reply_for(&prompt).chars().take(30).collect();
    terminal.ask("second question", &second, 1);

    // A file that is no transcript is neither loaded nor overwritten.
    let notes = state.0.join("notes.md");
    std::fs::write(&notes, "# my notes\n").unwrap();
    let notes = notes.display().to_string();
    terminal.type_line(&format!("/load {notes}"));
    terminal.wait_for("the refusal", |s| {
        s.contains("is not a conversation /save wrote")
    });
    terminal.type_line(&format!("/save {notes}"));
    terminal.wait_for("the refusal", |s| s.contains("it was left alone"));
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "# my notes\n");
    terminal.wait_for_prompt();
    terminal.type_line("/exit");
    assert_eq!(terminal.wait_for_exit(), "0");
    assert_eq!(up.emulator.counters().conversations, 2);
}

#[test]
fn the_spinner_shows_on_a_terminal_only_and_is_cleared() {
    let up = upstream(Config {
        login_delay: Duration::from_millis(2500),
        ..Config::default()
    });
    let url = up.emulator.url();
    let state = State::new("spinner");
    let reply = up.emulator.reply_for("are you there");
    let start: String = reply.chars().take(30).collect();

    let terminal = chat("spinner", &state, &url, &[]);
    terminal.type_line("are you there");
    let screen = terminal.wait_for("the spinner", |s| s.contains("waiting for the answer"));
    assert!(!screen.contains(&start));
    let screen = terminal.wait_for("the answer", |s| s.contains(&start));
    terminal.wait_for_prompt();
    // Cleared before the answer printed.
    assert!(!screen.contains("waiting for the answer"), "{screen}");

    // Into a pipe (stderr still the terminal): no spinner at all.
    let up = upstream(Config {
        login_delay: Duration::from_millis(1500),
        ..Config::default()
    });
    let url = up.emulator.url();
    let shell = format!("{BIN} chat --base-url {url} are you there | cat");
    let home = state.home();
    let piped = Terminal::start(
        "spinner-piped",
        &[
            ("FAKEGPT_CONFIG", "/dev/null"),
            ("FAKEGPT_STORE", "memory"),
            ("XDG_STATE_HOME", &home),
        ],
        &["sh", "-c", &shell],
    );
    let deadline = Instant::now() + WAIT;
    loop {
        let screen = piped.screen();
        assert!(!screen.contains("waiting for"), "{screen}");
        if screen.contains("[exited with ") {
            assert!(screen.contains(&start), "{screen}");
            break;
        }
        assert!(Instant::now() < deadline, "{screen}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(piped.wait_for_exit(), "0");
}

#[test]
fn json_on_a_terminal_needs_a_prompt() {
    let up = upstream(Config::default());
    let state = State::new("json");
    let home = state.home();
    let terminal = Terminal::start(
        "json",
        &[("FAKEGPT_CONFIG", "/dev/null"), ("XDG_STATE_HOME", &home)],
        &[BIN, "chat", "--base-url", &up.emulator.url(), "--json"],
    );
    assert_eq!(terminal.wait_for_exit(), "2");
    let screen = terminal.screen();
    assert!(
        screen.contains("fakegpt: --json writes one answer"),
        "{screen}"
    );
}

/// Runs a one-shot chat in a pane `columns` wide and returns the screen
/// with its styles, once the program has ended.
fn one_shot(name: &str, url: &str, env: &[(&str, &str)], extra: &[&str], columns: u16) -> String {
    let mut vars = vec![("FAKEGPT_CONFIG", "/dev/null"), ("FAKEGPT_STORE", "memory")];
    vars.extend_from_slice(env);
    let mut argv = vec![BIN, "chat", "--base-url", url];
    argv.extend_from_slice(extra);
    argv.extend_from_slice(&["show", "me", "markdown"]);
    let terminal = Terminal::start_sized(name, &vars, &argv, columns);
    assert_eq!(terminal.wait_for_exit(), "0");
    terminal.styled_screen()
}

/// The screen without escape sequences.
fn plain(styled: &str) -> String {
    let mut out = String::new();
    let mut chars = styled.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn markdown_is_rendered_on_a_terminal_as_it_streams_unless_raw() {
    let up = upstream(Config {
        replies: fakegpt_upstream::Replies::Markdown,
        ..Config::default()
    });
    let url = up.emulator.url();
    let reply = up.emulator.reply_for("show me markdown");
    assert!(
        reply.contains("**strong**") && reply.contains("- first item"),
        "{reply}"
    );

    let styled = one_shot("markdown", &url, &[], &[], 200);
    let screen = plain(&styled);
    // Markers gone, replaced by styles; bullets, quote bars, a rule.
    assert!(!screen.contains("**"), "{screen}");
    assert!(
        screen.contains("• first item") && screen.contains("  • nested item"),
        "{screen}"
    );
    assert!(screen.contains("│ A quoted line,"), "{screen}");
    assert!(screen.contains("─────"), "{screen}");
    assert!(
        screen.lines().any(|l| l == "Markdown, rendered"),
        "{screen}"
    );
    assert!(styled.contains("\x1b[1m"), "bold: {styled:?}");
    // The code block, highlighted (24-bit colours), each line intact.
    assert!(styled.contains("\x1b[38;2;"), "{styled:?}");
    assert!(
        screen.contains("    print(f\"{greeting}, {42}\")"),
        "{screen}"
    );

    // Wrapped at word boundaries to a narrow terminal: tmux joins the
    // lines it wrapped itself (-J), not those the renderer ended.
    let narrow = plain(&one_shot("markdown-narrow", &url, &[], &[], 40));
    let answer: Vec<&str> = narrow
        .lines()
        .take_while(|l| !l.starts_with("[exited"))
        .collect();
    assert!(answer.iter().all(|l| l.width() <= 40), "{narrow}");
    let words: Vec<&str> = narrow.split_whitespace().collect();
    assert!(
        words.contains(&"emphasis,") && words.contains(&"strong"),
        "{narrow}"
    );

    // Rendered as it streams: the stream stalls after 20 events, and
    // what came is on the screen, rendered, while the answer is awaited.
    up.emulator
        .inject(Fault::StallMidStream { after_events: 20 }, 1);
    let terminal = Terminal::start(
        "markdown-stream",
        &[("FAKEGPT_CONFIG", "/dev/null"), ("FAKEGPT_STORE", "memory")],
        &[BIN, "chat", "--base-url", &url, "show", "me", "markdown"],
    );
    let screen = terminal.wait_for("the heading", |s| {
        s.lines().any(|l| l == "Markdown, rendered")
    });
    assert!(
        !screen.contains("# Markdown") && !screen.contains("[exited"),
        "{screen}"
    );
    terminal.keys(&["C-c"]);
    // Stopped as interrupted, the line ended and no style left on.
    assert_eq!(terminal.wait_for_exit(), "130");
    let styled = terminal.styled_screen();
    let before = styled.split("[exited with").next().unwrap();
    // (tmux writes a cell's style as it changes: the shell's line after
    // the answer starts plain.)
    assert!(before.ends_with("\x1b[0m\x1b[39m\x1b[49m"), "{before:?}");
    assert!(plain(before).contains("Some emphasis"), "{before:?}");

    // --raw: the text as it came.
    let raw = plain(&one_shot("markdown-raw", &url, &[], &["--raw"], 200));
    assert!(
        raw.contains("**strong**") && raw.contains("- first item"),
        "{raw}"
    );

    // NO_COLOR: the layout without a single style.
    let styled = one_shot("markdown-nocolor", &url, &[("NO_COLOR", "1")], &[], 200);
    assert!(!styled.contains('\x1b'), "{styled:?}");
    assert!(
        styled.contains("• first item") && styled.contains("**strong**"),
        "{styled}"
    );
}
