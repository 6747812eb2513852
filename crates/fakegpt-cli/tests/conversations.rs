//! Conversations kept on the upstream from the command line, against the
//! emulator over loopback: `--native-conversations` then `--continue` in
//! later runs (the emulator's replies say which turn they answered), what
//! is kept and where, refusals with exit code 2, and the interactive
//! commands typed into a real terminal (a tmux pane on a private server).
//! The session password in the kept handle never reaches stdout, stderr
//! or the logs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fakegpt_upstream::{reply_in_turn, Config};

mod common;

use common::terminal::Terminal;
use common::*;

/// A fresh directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "fakegpt-cli-conversations-{test}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// `fakegpt` with this directory as `XDG_STATE_HOME` and the store
    /// `store` (`None`: the default, the file store there).
    fn fakegpt(&self, store: Option<&str>) -> Command {
        let mut command = fakegpt();
        command.env("XDG_STATE_HOME", &self.0);
        match store {
            Some(store) => command.env("FAKEGPT_STORE", store),
            None => command.env_remove("FAKEGPT_STORE"),
        };
        command
    }

    /// Where the last conversation is kept with a store that has no
    /// directory of its own, or the default file store.
    fn kept_file(&self) -> PathBuf {
        self.0.join("fakegpt").join("last-conversation.json")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What stdout holds for an answer: its text, ended by a newline.
fn printed(reply: &str) -> String {
    if reply.ends_with('\n') {
        reply.to_owned()
    } else {
        format!("{reply}\n")
    }
}

fn succeeded(output: &Output) -> String {
    assert!(output.status.success(), "{}", text(&output.stderr));
    text(&output.stdout)
}

/// The kept file as JSON, and the session password in its handle.
fn kept(path: &Path) -> (serde_json::Value, String) {
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let password = json["conversation"]["password"]
        .as_str()
        .expect("the handle holds the session password")
        .to_owned();
    assert!(password.len() >= 6, "{password:?}");
    (json, password)
}

/// Every value under the key `key`, at any depth.
fn values_of(json: &serde_json::Value, key: &str, out: &mut Vec<String>) {
    match json {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                if k == key {
                    if let Some(s) = v.as_str() {
                        out.push(s.to_owned());
                    }
                }
                values_of(v, key, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| values_of(v, key, out)),
        _ => {}
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn one_shot_turns_continue_in_later_runs_and_the_secret_stays_in_its_file() {
    let up = upstream(Config::default());
    let cfg = up.emulator.state().config();
    let url = up.emulator.url();
    let state = Scratch::new("one-shot");
    let first = state
        .fakegpt(None)
        .args([
            "chat",
            "--base-url",
            &url,
            "--native-conversations",
            "first question",
        ])
        .bounded();
    assert_eq!(
        succeeded(&first),
        printed(&reply_in_turn(&cfg, "first question", 1, 0))
    );
    let file = state.kept_file();
    assert_eq!((mode(&file), mode(file.parent().unwrap())), (0o600, 0o700));
    let (json, password) = kept(&file);
    assert_eq!(json["format"], "fakegpt-last-conversation/1");
    assert_eq!(json["upstream"], url.as_str());
    assert_eq!(json["messages"].as_array().unwrap().len(), 2);

    let mut outputs = vec![first];
    for turn in 2..=3 {
        let mut next = state.fakegpt(None);
        next.args(["chat", "--base-url", &url, "--continue", "and then?"]);
        if turn == 3 {
            // Every log line too, down to trace.
            next.env("FAKEGPT_LOG", "trace");
        }
        let output = next.bounded();
        assert_eq!(
            succeeded(&output),
            printed(&reply_in_turn(&cfg, "and then?", turn, 0)),
            "turn {turn}"
        );
        outputs.push(output);
    }
    let counters = up.emulator.counters();
    assert_eq!((counters.kept, counters.continued), (1, 2), "{counters:?}");
    assert_eq!(counters.logins, 1);

    // The file was replaced after each answer, and stayed private.
    let (json, same_password) = kept(&file);
    assert_eq!(same_password, password);
    assert_eq!(json["conversation"]["turns"], 3);
    assert_eq!(json["messages"].as_array().unwrap().len(), 6);
    assert_eq!(mode(&file), 0o600);
    // It holds no access token: the one the session file holds is not in it.
    let sessions: Vec<PathBuf> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("session-") && name.ends_with(".json")
        })
        .collect();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let session: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&sessions[0]).unwrap()).unwrap();
    let mut tokens = Vec::new();
    values_of(&session, "access_token", &mut tokens);
    assert_eq!(tokens.len(), 1, "{session}");
    let kept_text = std::fs::read_to_string(&file).unwrap();
    assert!(!kept_text.contains(&tokens[0]));
    assert!(!kept_text.contains("access_token"));
    // The password never shows, not even in trace logs.
    assert!(
        text(&outputs[2].stderr).contains("TRACE") || text(&outputs[2].stderr).contains("DEBUG")
    );
    for output in &outputs {
        for stream in [&output.stdout, &output.stderr] {
            assert!(!text(stream).contains(&password));
        }
    }
}

#[test]
fn a_system_prompt_in_the_config_file_gives_way_to_continue() {
    let up = upstream(Config::default());
    let cfg = up.emulator.state().config();
    let url = up.emulator.url();
    let state = Scratch::new("config-system");
    let config = state.0.join("config.toml");
    std::fs::write(&config, "[chat]\nsystem = \"Be brief.\"\n").unwrap();
    let run = |extra: &[&str]| {
        state
            .fakegpt(Some("memory"))
            .env("FAKEGPT_CONFIG", &config)
            .args(["chat", "--base-url", &url])
            .args(extra)
            .bounded()
    };
    // The file's system prompt starts the conversation…
    let first = run(&["--native-conversations", "first question"]);
    let flattened = "System: Be brief.\nUser: first question\nAssistant:";
    assert_eq!(
        succeeded(&first),
        printed(&reply_in_turn(&cfg, flattened, 1, 0))
    );
    // …and is no conflict for --continue, which has its own.
    let second = run(&["--continue", "second question"]);
    assert_eq!(
        succeeded(&second),
        printed(&reply_in_turn(&cfg, "second question", 2, 0))
    );
    // A --system typed with --continue still is.
    let typed = run(&["--continue", "--system", "Be long.", "third"]);
    assert_eq!(typed.status.code(), Some(2), "{}", text(&typed.stderr));
}

#[test]
fn without_the_switch_nothing_is_kept_and_continue_says_so() {
    let up = upstream(Config::default());
    let url = up.emulator.url();
    let state = Scratch::new("off");
    let output = state
        .fakegpt(Some("memory"))
        .args(["chat", "--base-url", &url, "hello"])
        .bounded();
    assert_eq!(succeeded(&output), printed(&up.emulator.reply_for("hello")));
    assert_eq!(up.emulator.counters().kept, 0);
    assert!(!state.kept_file().exists());
    let refused = state
        .fakegpt(Some("memory"))
        .args(["chat", "--base-url", &url, "--continue", "and then?"])
        .bounded();
    let stderr = one_line_error(&refused, 2);
    assert!(stderr.contains("no conversation is kept"), "{stderr}");
    assert!(stderr.contains("--native-conversations"), "{stderr}");
    assert_eq!(text(&refused.stdout), "");
    assert_eq!(up.emulator.counters().conversations, 1);
    // A system prompt can only start a conversation.
    let both = state
        .fakegpt(Some("memory"))
        .args(["chat", "--continue", "--system", "Be brief.", "x"])
        .bounded();
    assert!(one_line_error(&both, 2).contains("--system"));
}

#[test]
fn continue_refuses_a_conversation_of_another_upstream() {
    let here = upstream(Config::default());
    let there = upstream(Config::default());
    let state = Scratch::new("other");
    let dir = state.0.join("store");
    let store = format!("file:{}", dir.display());
    let started = state
        .fakegpt(Some(&store))
        .args([
            "chat",
            "--base-url",
            &here.emulator.url(),
            "--native-conversations",
            "first question",
        ])
        .bounded();
    succeeded(&started);
    // With a store of its own, the conversation is kept in its directory.
    assert!(dir.join("last-conversation.json").exists());
    assert!(!state.kept_file().exists());
    let refused = state
        .fakegpt(Some(&store))
        .args([
            "chat",
            "--base-url",
            &there.emulator.url(),
            "--continue",
            "and then?",
        ])
        .bounded();
    let stderr = one_line_error(&refused, 2);
    assert!(stderr.contains(&here.emulator.url()), "{stderr}");
    assert!(stderr.contains("--base-url"), "{stderr}");
    assert_eq!(there.emulator.counters().conversations, 0);
    assert_eq!(here.emulator.counters().continued, 0);
}

#[test]
fn a_corrupt_kept_conversation_is_named_with_a_hint_to_remove_it() {
    let up = upstream(Config::default());
    let state = Scratch::new("corrupt");
    let file = state.kept_file();
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    for content in [
        "{\"format\": \"fakegpt-last-conv",
        r#"{"format":"fakegpt-last-conversation/1","upstream":"u","model":"m","conversation":{"password":12345},"messages":[]}"#,
        r#"{"format":"something-else/9"}"#,
    ] {
        std::fs::write(&file, content).unwrap();
        let output = state
            .fakegpt(Some("memory"))
            .args(["chat", "--base-url", &up.emulator.url(), "--continue", "x"])
            .bounded();
        let stderr = one_line_failure(&output);
        assert!(
            stderr.contains(&format!("rm {}", file.display())),
            "{stderr}"
        );
        assert!(!stderr.contains("12345"), "{stderr}");
    }
    assert_eq!(up.emulator.counters().conversations, 0);
}

#[test]
fn auto_continue_stitches_an_answer_cut_at_its_limit() {
    let up = upstream(Config {
        finish_after: Some(45),
        ..Config::default()
    });
    let cfg = up.emulator.state().config();
    let whole = reply_in_turn(&cfg, "Tell me everything", 1, 0);
    let pieces = whole.chars().count().div_ceil(45) as u64;
    assert!(pieces >= 3, "{pieces}");
    let state = Scratch::new("auto-continue");
    let run = |extra: &[&str]| {
        state
            .fakegpt(Some("memory"))
            .args(["chat", "--base-url", &up.emulator.url()])
            .args(extra)
            .arg("Tell me everything")
            .bounded()
    };
    let stitched = run(&["--native-conversations", "--auto-continue", "10"]);
    assert_eq!(succeeded(&stitched), printed(&whole));
    assert_eq!(up.emulator.counters().continuations, pieces - 1);
    // Without native conversations there is nothing to continue.
    let cut = run(&["--auto-continue", "10"]);
    assert_eq!(
        succeeded(&cut),
        printed(&whole.chars().take(45).collect::<String>())
    );
    assert_eq!(up.emulator.counters().continuations, pieces - 1);
}

#[test]
fn the_interactive_commands_on_a_terminal_with_native_conversations() {
    let up = upstream(Config::default());
    let cfg = up.emulator.state().config();
    let url = up.emulator.url();
    let state = Scratch::new("interactive");
    let home = state.0.display().to_string();
    let terminal = Terminal::start(
        "native",
        &[
            ("FAKEGPT_CONFIG", "/dev/null"),
            ("FAKEGPT_STORE", "memory"),
            ("XDG_STATE_HOME", &home),
        ],
        &[BIN, "chat", "--base-url", &url, "--native-conversations"],
    );
    terminal.wait_for("the welcome", |s| s.contains("/help lists the commands"));
    terminal.wait_for_prompt();

    terminal.ask("first question", "You said: «first question»", 1);
    terminal.ask("second question", "(turn 2) You said: «second question»", 1);
    let screen = terminal.ask(
        "/regenerate",
        "(variant 1) (turn 2) You said: «second question»",
        1,
    );
    // The regenerated answer replaced the last one in the history.
    let (json, password) = kept(&state.kept_file());
    let messages = json["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 4, "{json}");
    assert_eq!(
        messages[3]["content"],
        reply_in_turn(&cfg, "second question", 2, 1).as_str()
    );
    assert!(!screen.contains(&password));

    terminal.type_line("/new");
    terminal.wait_for("the confirmation", |s| s.contains("(new conversation)"));
    terminal.wait_for_prompt();
    // A turn-1 reply: the conversation started over.
    terminal.ask("third question", "You said: «third question»", 1);

    let before = up.emulator.counters();
    terminal.type_line("/frobnicate");
    terminal.wait_for("the error", |s| {
        s.contains("fakegpt: unknown command \"/frobnicate\"")
    });
    terminal.wait_for_prompt();
    terminal.type_line("/help");
    let screen = terminal.wait_for("the help", |s| {
        s.contains("commands:") && s.contains("/regenerate") && s.contains("/new")
    });
    terminal.wait_for_prompt();
    // Nothing was sent for the unknown command nor for /help.
    assert_eq!(
        up.emulator.counters().conversations,
        before.conversations,
        "{screen}"
    );

    terminal.type_line("/exit");
    assert_eq!(terminal.wait_for_exit(), "0");
    let counters = up.emulator.counters();
    assert_eq!(
        (
            counters.conversations,
            counters.kept,
            counters.continued,
            counters.variants
        ),
        (4, 2, 1, 1),
        "{counters:?}"
    );
    let (json, same_password) = kept(&state.kept_file());
    assert_eq!(json["conversation"]["turns"], 1);
    assert_eq!(same_password, password);
    let screen = terminal.screen();
    assert!(!screen.contains(&password));
    assert!(!screen.contains("panicked"));
}

#[test]
fn regenerate_without_native_conversations_sends_the_history_again() {
    let up = upstream(Config::default());
    let url = up.emulator.url();
    let state = Scratch::new("interactive-off");
    let home = state.0.display().to_string();
    let terminal = Terminal::start(
        "temporary",
        &[
            ("FAKEGPT_CONFIG", "/dev/null"),
            ("FAKEGPT_STORE", "memory"),
            ("XDG_STATE_HOME", &home),
        ],
        &[BIN, "chat", "--base-url", &url],
    );
    terminal.wait_for_prompt();
    terminal.type_line("/regenerate");
    terminal.wait_for("the refusal", |s| s.contains("no answer to regenerate"));
    terminal.wait_for_prompt();
    terminal.ask("pick a number", "You said: «pick a number»", 1);
    // The same history without the answer: the same deterministic reply.
    terminal.ask("/regenerate", "You said: «pick a number»", 2);
    let counters = up.emulator.counters();
    assert_eq!(
        (counters.conversations, counters.kept, counters.variants),
        (2, 0, 0),
        "{counters:?}"
    );
    terminal.type_line("/quit");
    assert_eq!(terminal.wait_for_exit(), "0");
    assert!(!state.kept_file().exists());
}
