//! `fakegpt chat` in scripts, against the emulator over loopback: the
//! prompt as trailing words or on stdin (one trailing newline dropped),
//! piped output that is exactly the answer's text, `--json` lines parsed
//! back, and the completions and manual page generated from the flags,
//! checked by bash, zsh, fish and man themselves.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

use std::process::Command;

use fakegpt_upstream::{Config, Fault, Replies};

mod common;

use common::*;

/// What the chat prints into a pipe for `reply`: the text, and a newline
/// if it lacks one.
fn piped(reply: &str) -> String {
    if reply.ends_with('\n') {
        reply.to_owned()
    } else {
        format!("{reply}\n")
    }
}

#[test]
fn trailing_words_are_the_prompt_and_flags_may_come_among_them() {
    let up = upstream(Config::default());
    let url = up.emulator.url();
    let output = fakegpt()
        .args(["chat", "--base-url", &url, "tell", "me", "a", "joke"])
        .bounded();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        piped(&up.emulator.reply_for("tell me a joke"))
    );
    let output = fakegpt()
        .args([
            "chat",
            "tell",
            "me",
            "--base-url",
            &url,
            "another",
            "--",
            "-1",
        ])
        .bounded();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        piped(&up.emulator.reply_for("tell me another -1"))
    );
}

#[test]
fn the_prompt_on_stdin_loses_one_trailing_newline() {
    let up = upstream(Config::default());
    let url = up.emulator.url();
    for (input, prompt) in [
        ("hello\n", "hello"),
        ("two\n\n", "two\n"),
        ("crlf\r\n", "crlf"),
    ] {
        let output = fakegpt()
            .args(["chat", "--base-url", &url])
            .bounded_with_input(input.as_bytes());
        assert!(output.status.success(), "{}", text(&output.stderr));
        assert_eq!(
            text(&output.stdout),
            piped(&up.emulator.reply_for(prompt)),
            "{input:?}"
        );
    }
}

#[test]
fn piped_output_is_the_answer_byte_for_byte_never_rendered() {
    let up = upstream(Config {
        replies: Replies::Markdown,
        ..Config::default()
    });
    let url = up.emulator.url();
    let reply = up.emulator.reply_for("show me markdown");
    assert!(reply.contains("**") && reply.contains("```"), "{reply}");
    for extra in [&[][..], &["--raw"][..]] {
        let output = fakegpt()
            .args(["chat", "--base-url", &url])
            .args(extra)
            .arg("show me markdown")
            .bounded();
        assert!(output.status.success(), "{}", text(&output.stderr));
        assert_eq!(output.stdout, piped(&reply).into_bytes());
        // No spinner and no escape sequences when nothing is a terminal.
        assert!(output.stderr.is_empty(), "{}", text(&output.stderr));
    }
}

/// Runs `fakegpt chat --json` and returns its lines, parsed, and the output.
fn json_lines(command: &mut Command) -> (Vec<serde_json::Value>, std::process::Output) {
    let output = command.arg("--json").bounded();
    let lines = text(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
        .collect();
    (lines, output)
}

#[test]
fn json_lines_carry_the_deltas_then_the_finish_usage_and_conversation() {
    let up = upstream(Config::default());
    let url = up.emulator.url();
    let state = std::env::temp_dir().join(format!("fakegpt-cli-json-{}", std::process::id()));
    let (lines, output) = json_lines(fakegpt().env("XDG_STATE_HOME", &state).args([
        "chat",
        "--base-url",
        &url,
        "--native-conversations",
        "say",
        "it",
    ]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let (done, deltas) = lines.split_last().unwrap();
    assert!(deltas.len() > 1, "{lines:?}");
    let mut answer = String::new();
    for delta in deltas {
        assert_eq!(delta["type"], "delta", "{delta}");
        answer.push_str(delta["content"].as_str().unwrap());
    }
    assert_eq!(answer, up.emulator.reply_for("say it"));
    assert_eq!(done["type"], "done");
    assert_eq!(done["finish_reason"], "stop");
    assert_eq!(done["model"], "gpt-3.5-turbo");
    let usage = &done["usage"];
    let (prompt, completion) = (
        usage["prompt_tokens"].as_u64().unwrap(),
        usage["completion_tokens"].as_u64().unwrap(),
    );
    // "say it" as one user message: 3 + (3 + 1 + 2) tokens, as OpenAI counts.
    assert_eq!(prompt, 9, "{usage}");
    assert!(completion > answer.len() as u64 / 8, "{usage}");
    assert_eq!(usage["total_tokens"].as_u64(), Some(prompt + completion));
    let conversation = &done["conversation"];
    assert_eq!(conversation["turns"], 1, "{done}");
    assert!(!conversation["id"].as_str().unwrap().is_empty());
    assert_eq!(conversation["upstream"], url.as_str());
    // The kept handle's secret is in the state directory, never printed.
    let kept = std::fs::read_to_string(state.join("fakegpt/last-conversation.json")).unwrap();
    let kept: serde_json::Value = serde_json::from_str(&kept).unwrap();
    let password = kept["conversation"]["password"].as_str().unwrap();
    assert!(!password.is_empty());
    assert!(!text(&output.stdout).contains(password));
    assert!(!text(&output.stdout).contains("password"));
    let _ = std::fs::remove_dir_all(&state);

    // A temporary chat has no conversation; an answer cut at its limit
    // says so.
    let cut = upstream(Config {
        finish_after: Some(10),
        ..Config::default()
    });
    let (lines, output) =
        json_lines(fakegpt().args(["chat", "--base-url", &cut.emulator.url(), "hi"]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let done = lines.last().unwrap();
    assert_eq!(done["finish_reason"], "length", "{done}");
    assert!(done["conversation"].is_null(), "{done}");
}

#[test]
fn json_lines_end_with_the_error_when_the_chat_fails() {
    let up = upstream(Config::default());
    up.emulator.inject(Fault::ServerError, 1);
    let (lines, output) = json_lines(fakegpt().args([
        "chat",
        "--base-url",
        &up.emulator.url(),
        "--max-attempts",
        "1",
        "hi",
    ]));
    let stderr = one_line_failure(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let error = &lines[0];
    assert_eq!(error["type"], "error");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("500"), "{error}");
    assert!(stderr.contains(message), "{stderr}");
    assert!(!error["error"]["hint"].as_str().unwrap().is_empty());
}

#[test]
fn json_is_not_rendered() {
    let output = fakegpt()
        .args(["chat", "--local", "--json", "--raw", "hi"])
        .bounded();
    let stderr = one_line_error(&output, 2);
    assert!(
        stderr.contains("--raw") || stderr.contains("--json"),
        "{stderr}"
    );
}

/// The completion script for `shell`, in a file.
fn completions(shell: &str) -> std::path::PathBuf {
    let output = fakegpt().args(["completions", shell]).bounded();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(!output.stdout.is_empty());
    let path = std::env::temp_dir().join(format!(
        "fakegpt-completions-{}-{shell}",
        std::process::id()
    ));
    std::fs::write(&path, &output.stdout).unwrap();
    path
}

/// Runs a shell command line and returns its stdout, checking it ran.
fn shell(program: &str, args: &[&str]) -> String {
    let output = Command::new(program).args(args).bounded();
    assert!(
        output.status.success(),
        "{program} {args:?}: {}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

#[test]
fn bash_completes_commands_and_flags() {
    let script = completions("bash");
    let script = script.display().to_string();
    let complete = |words: &str| {
        shell(
            "bash",
            &[
                "-c",
                &format!(
                    "source {script}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
                     _fakegpt fakegpt \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
                     printf '%s\\n' \"${{COMPREPLY[@]}}\""
                ),
            ],
        )
    };
    let commands = complete("fakegpt c");
    assert!(commands.lines().any(|l| l == "chat"), "{commands}");
    assert!(commands.lines().any(|l| l == "completions"), "{commands}");
    let flags = complete("fakegpt chat --no-h");
    assert_eq!(flags.trim(), "--no-history", "{flags}");
    let _ = std::fs::remove_file(&script);
}

#[test]
fn zsh_reads_its_completions() {
    let script = completions("zsh");
    let body = std::fs::read_to_string(&script).unwrap();
    assert!(body.starts_with("#compdef fakegpt"), "{body}");
    assert!(body.contains("--no-history") && body.contains("--native-conversations"));
    // zsh itself parses it.
    shell("zsh", &["-n", &script.display().to_string()]);
    let _ = std::fs::remove_file(&script);
}

#[test]
fn fish_completes_commands_and_flags() {
    let script = completions("fish");
    let script = script.display().to_string();
    let commands = shell(
        "fish",
        &["-c", &format!("source {script}; complete -C 'fakegpt c'")],
    );
    assert!(
        commands.lines().any(|l| l.starts_with("chat\t")),
        "{commands}"
    );
    let flags = shell(
        "fish",
        &[
            "-c",
            &format!("source {script}; complete -C 'fakegpt chat --no-h'"),
        ],
    );
    assert!(
        flags.lines().any(|l| l.starts_with("--no-history")),
        "{flags}"
    );
    let _ = std::fs::remove_file(&script);
}

#[test]
fn the_manual_page_documents_every_command_and_man_renders_it() {
    let output = fakegpt().arg("man").bounded();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let page = std::env::temp_dir().join(format!("fakegpt-{}.1", std::process::id()));
    std::fs::write(&page, &output.stdout).unwrap();
    // groff warns of anything it cannot read (-ww), on stderr.
    let checked = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(&page)
        .bounded();
    assert!(checked.status.success());
    assert!(checked.stderr.is_empty(), "{}", text(&checked.stderr));
    let rendered = Command::new("man")
        .args(["-P", "cat", "-l"])
        .arg(&page)
        .env("MANWIDTH", "100")
        .bounded();
    assert!(rendered.status.success(), "{}", text(&rendered.stderr));
    let rendered = text(&rendered.stdout);
    for heading in [
        "SYNOPSIS",
        "FAKEGPT CHAT",
        "FAKEGPT SERVE",
        "FAKEGPT COMPLETIONS",
    ] {
        assert!(rendered.contains(heading), "{heading}:\n{rendered}");
    }
    for flag in [
        "--native-conversations",
        "--no-history",
        "--max-concurrency",
    ] {
        assert!(rendered.contains(flag), "{flag}");
    }
    let _ = std::fs::remove_file(&page);
}
