//! The `fakegpt` binary as a user runs it: stdout, stderr and exit codes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

use std::process::{Command, Stdio};

use fakegpt_upstream::{Config, Emulator, Fault};

mod common;

use common::*;

#[test]
fn local_mode_streams_the_answer_to_stdout_only() {
    let output = fakegpt()
        .args(["chat", "--local", "Tell me a joke"])
        .bounded();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stderr), "");
    let expected = fakegpt_upstream::reply_for("Tell me a joke", 0);
    let stdout = text(&output.stdout);
    assert_eq!(stdout.strip_suffix('\n').unwrap_or(&stdout), expected);
}

#[test]
fn the_prompt_can_come_from_stdin_and_the_url_from_the_environment() {
    let up = upstream(Config::default());
    let output = fakegpt()
        .args(["chat", "--system", "Be brief."])
        .env("FAKEGPT_BASE_URL", up.emulator.url())
        .bounded_with_input("Привет из stdin".as_bytes());
    assert!(output.status.success(), "{}", text(&output.stderr));
    let expected = up
        .emulator
        .reply_for("System: Be brief.\nUser: Привет из stdin\nAssistant:");
    assert_eq!(text(&output.stdout), format!("{expected}\n"));
}

#[test]
fn failures_are_one_line_with_a_hint() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let unreachable = fakegpt()
        .args(["chat", "--base-url", &dead, "hi"])
        .bounded();
    let stderr = one_line_failure(&unreachable);
    assert!(
        stderr.contains("could not reach the upstream") && stderr.contains("--base-url"),
        "{stderr}"
    );
    assert_eq!(text(&unreachable.stdout), "");

    let proxy = fakegpt()
        .args(["chat", "--local", "--proxy", "ftp://user:pw@x", "hi"])
        .bounded();
    let stderr = one_line_error(&proxy, 2);
    assert!(
        stderr.contains("invalid proxy URL") && !stderr.contains("pw@"),
        "{stderr}"
    );

    let empty = fakegpt().args(["chat", "--local", "  "]).bounded();
    assert!(one_line_failure(&empty).contains("the prompt is empty"));

    let model = fakegpt()
        .args(["chat", "--local", "--model", "gpt-9", "hi"])
        .bounded();
    assert!(one_line_error(&model, 2).contains("--model gpt-3.5-turbo"));

    let timeout = fakegpt()
        .args(["chat", "--local", "--idle-timeout=-3", "hi"])
        .bounded();
    assert!(one_line_error(&timeout, 2).contains("--idle-timeout"));
}

#[test]
fn usage_errors_are_one_line_with_exit_code_2() {
    for args in [
        &["chat", "--bogus"][..],
        &["chat", "--local", "--timeout", "soon", "hi"],
        &["serve", "--port", "not-a-port"],
    ] {
        let output = fakegpt().args(args).bounded();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = text(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr:?}");
        assert!(
            stderr.starts_with("fakegpt: ") && stderr.contains("--help"),
            "{stderr}"
        );
    }
    let bare = fakegpt().bounded();
    assert_eq!(bare.status.code(), Some(2));
    assert!(text(&bare.stderr).contains("Usage: fakegpt"));
    let help = fakegpt().args(["chat", "--help"]).bounded();
    assert!(help.status.success());
    assert!(text(&help.stdout).contains("--local"));
}

#[test]
fn upstream_errors_name_the_step_and_status() {
    let up = upstream(Config::default());
    up.emulator
        .inject(Fault::TooManyRequests { retry_after: 7 }, 1);
    let busy = fakegpt()
        .args([
            "chat",
            "--base-url",
            &up.emulator.url(),
            "hi",
            "--max-attempts",
            "1",
        ])
        .bounded();
    let stderr = one_line_failure(&busy);
    assert!(
        stderr.contains("conversation (POST /api/conversation): upstream answered HTTP 429"),
        "{stderr}"
    );
    assert!(stderr.contains("try again in 7 s"), "{stderr}");

    up.emulator.inject(Fault::EmptyLoads, 1);
    let fresh = upstream(Config::default());
    fresh.emulator.inject(Fault::EmptyLoads, 1);
    let empty = fakegpt()
        .args(["chat", "--base-url", &fresh.emulator.url(), "hi"])
        .bounded();
    assert!(one_line_failure(&empty).contains("lists no shared accounts"));
}

#[test]
fn a_stream_cut_short_keeps_the_text_and_fails() {
    let up = upstream(Config::default());
    up.emulator
        .inject(Fault::DisconnectMidStream { after_events: 4 }, 1);
    let output = fakegpt()
        .args(["chat", "--base-url", &up.emulator.url(), "hi"])
        .bounded();
    let stderr = one_line_failure(&output);
    assert!(stderr.contains("broke off"), "{stderr}");
    let stdout = text(&output.stdout);
    let partial = stdout.strip_suffix('\n').unwrap();
    assert!(
        !partial.is_empty() && up.emulator.reply_for("hi").starts_with(partial),
        "{stdout:?}"
    );
}

#[test]
fn fakegpt_upstream_prints_its_url_and_serves_chat() {
    let (mut server, url) = fakegpt()
        .args([
            "upstream",
            "--port",
            "0",
            "--delay-ms",
            "0",
            "--fault",
            "500",
        ])
        .stderr(Stdio::null())
        .spawn_server();

    let failed = fakegpt()
        .args(["chat", "--base-url", &url, "hi", "--max-attempts", "1"])
        .bounded();
    assert!(one_line_failure(&failed).contains("HTTP 500"));
    let ok = fakegpt().args(["chat", "--base-url", &url, "hi"]).bounded();
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert_eq!(
        text(&ok.stdout),
        format!("{}\n", fakegpt_upstream::reply_for("hi", 0))
    );
}

#[test]
fn bad_fault_specs_and_busy_ports_are_refused() {
    let bad = fakegpt()
        .args(["upstream", "--port", "0", "--fault", "boom"])
        .bounded();
    let usage = one_line_error(&bad, 2);
    assert!(usage.contains("unknown fault"), "{usage}");
    assert!(usage.contains("see fakegpt upstream --help"), "{usage}");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let busy = fakegpt().args(["upstream", "--port", &port]).bounded();
    assert!(one_line_failure(&busy).contains("could not listen"));
}

#[test]
fn a_private_ca_can_be_trusted_for_an_https_upstream() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let emulator = runtime
        .block_on(Emulator::start_tls(Config::default()))
        .unwrap();
    let dir = std::env::temp_dir().join(format!("fakegpt-cli-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pem = dir.join("ca.pem");
    std::fs::write(&pem, emulator.certificate_pem().unwrap()).unwrap();

    let untrusted = fakegpt()
        .args(["chat", "--base-url", &emulator.url(), "hi"])
        .bounded();
    assert!(one_line_failure(&untrusted)
        .to_lowercase()
        .contains("certificate"));
    let trusted = fakegpt()
        .args(["chat", "--base-url", &emulator.url(), "hi", "--ca-cert"])
        .arg(&pem)
        .bounded();
    assert!(trusted.status.success(), "{}", text(&trusted.stderr));
    assert_eq!(
        text(&trusted.stdout),
        format!("{}\n", emulator.reply_for("hi"))
    );
    std::fs::write(&pem, "garbage").unwrap();
    let garbage = fakegpt()
        .args(["chat", "--base-url", &emulator.url(), "hi", "--ca-cert"])
        .arg(&pem)
        .bounded();
    assert!(one_line_error(&garbage, 2).contains("invalid CA certificate"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn serve_refuses_an_open_unauthenticated_bind_and_bad_aliases() {
    let open = fakegpt()
        .args(["serve", "--local", "--host", "0.0.0.0", "--port", "0"])
        .bounded();
    let stderr = one_line_error(&open, 2);
    assert!(
        stderr.contains("refusing to serve without an API key") && stderr.contains("--api-key"),
        "{stderr}"
    );
    let alias = fakegpt()
        .args([
            "serve",
            "--local",
            "--port",
            "0",
            "--model-alias",
            "gpt-4o=nope",
        ])
        .bounded();
    assert!(one_line_error(&alias, 2).contains("--model-alias"));
}

#[test]
fn serve_answers_openai_requests_and_stops_cleanly_on_sigterm() {
    let (server, url) = fakegpt()
        .args(["serve", "--local", "--port", "0", "--shutdown-grace", "5"])
        .env("FAKEGPT_API_KEYS", "sk-test,sk-other")
        .stderr(Stdio::piped())
        .spawn_server();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (status, body) = runtime.block_on(async {
        let response = reqwest::Client::new()
            .post(format!("{url}/v1/chat/completions"))
            .bearer_auth("sk-other")
            .json(&serde_json::json!({"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": "Hi"}]}))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json::<serde_json::Value>().await.unwrap())
    });
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        fakegpt_upstream::reply_for("Hi", 0)
    );
    // A stream the client leaves after its first chunk, and a scrape.
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut response = client
            .post(format!("{url}/v1/chat/completions"))
            .bearer_auth("sk-other")
            .json(&serde_json::json!({"model": "gpt-3.5-turbo", "stream": true, "messages": [{"role": "user", "content": "Leave early"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.chunk().await.unwrap().is_some());
        drop(response);
        let metrics = client.get(format!("{url}/metrics")).send().await.unwrap();
        assert_eq!(metrics.status(), 200);
        // Let the server see the connection go before it is stopped.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    });

    let pid = server.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let done = watchdog(server.id(), 30);
    let output = server.wait_with_output().unwrap();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(output.status.code(), Some(0));
    let log = text(&output.stderr);
    assert!(log.contains("shutting down"), "{log}");
    assert!(
        !log.contains("sk-test") && !log.contains("sk-other"),
        "no keys in logs: {log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains(" stream ") && l.contains("outcome=\"client_left\"")),
        "the stream the client left is logged as such: {log}"
    );
    assert!(
        !log.contains("/metrics"),
        "scrapes are not logged at info: {log}"
    );
    assert!(
        !log.contains('\u{1b}'),
        "no colours when stderr is not a terminal"
    );
    for latency in log.split("latency_ms=").skip(1) {
        let digits: String = latency.chars().take_while(|c| !c.is_whitespace()).collect();
        assert!(
            digits.parse::<u64>().is_ok(),
            "whole milliseconds: {digits:?}"
        );
    }
}

#[test]
fn bench_reports_a_load_as_json_and_fails_cleanly() {
    let output = fakegpt()
        .args(["bench", "--local", "-n", "20", "-c", "4", "--json"])
        .bounded();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report: serde_json::Value = serde_json::from_str(&text(&output.stdout)).unwrap();
    assert_eq!(
        (report["completed"].as_u64(), report["failed"].as_u64()),
        (Some(20), Some(0))
    );
    assert!(report["chunks"].as_u64().unwrap() > 20);
    assert!(report["time_to_first_token_ms"]["p99"].as_f64().unwrap() > 0.0);
    assert!(report["mean_in_flight"].as_f64().unwrap() > 0.0);
    assert!(report["rate"].is_null());

    // An open load: 20 requests due 5 ms apart cannot all have started
    // before the last one is due (a bound on scheduling, not on speed).
    let output = fakegpt()
        .args([
            "bench", "--local", "-n", "20", "-c", "3", "--rate", "200", "--json",
        ])
        .bounded();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report: serde_json::Value = serde_json::from_str(&text(&output.stdout)).unwrap();
    assert_eq!(report["completed"].as_u64(), Some(20));
    assert_eq!(report["rate"].as_f64(), Some(200.0));
    assert!(report["seconds"].as_f64().unwrap() >= 19.0 / 200.0);
    let refused = fakegpt()
        .args(["bench", "--local", "--rate", "0"])
        .bounded();
    assert_eq!(refused.status.code(), Some(2));

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/v1", closed.local_addr().unwrap());
    drop(closed);
    let failed = fakegpt()
        .args(["bench", "--openai", &dead, "-n", "3"])
        .bounded();
    assert!(one_line_failure(&failed).contains("every request failed"));
}

/// Writes a config file with permissions `mode` into a directory of this
/// test's own.
fn config_file(test: &str, name: &str, contents: &str, mode: u32) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("config-{test}-{}", std::process::id()));
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, contents).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[test]
fn a_config_file_fills_what_flags_and_environment_leave_unset() {
    let upstream = upstream(Config::default());
    let live = upstream.emulator.url();
    let dead = "http://127.0.0.1:1";
    let answer = fakegpt_upstream::reply_for("Hi", 0);
    let chat = |command: &mut Command| {
        let output = command.bounded();
        assert!(output.status.success(), "{}", text(&output.stderr));
        let stdout = text(&output.stdout);
        assert_eq!(stdout.strip_suffix('\n').unwrap_or(&stdout), answer);
    };
    let t = "fills";
    let good = config_file(
        t,
        "good.toml",
        &format!("base-url = \"{live}\"\n[chat]\nmodel = \"gpt-3.5-turbo\"\n"),
        0o644,
    );
    chat(fakegpt().arg("--config").arg(&good).args(["chat", "Hi"]));
    // The config file can also come from the environment, and a command's
    // own table overrides the top level.
    let own = config_file(
        t,
        "own.toml",
        &format!("base-url = \"{dead}\"\n[chat]\nbase-url = \"{live}\"\n"),
        0o644,
    );
    chat(fakegpt().env("FAKEGPT_CONFIG", &own).args(["chat", "Hi"]));

    // A flag or its environment variable wins over the file.
    let bad = config_file(
        t,
        "dead.toml",
        &format!("base-url = \"{dead}\"\n[chat]\nmax-attempts = 1\n"),
        0o644,
    );
    chat(
        fakegpt()
            .arg("--config")
            .arg(&bad)
            .args(["chat", "--base-url", &live, "Hi"]),
    );
    chat(
        fakegpt()
            .arg("--config")
            .arg(&bad)
            .env("FAKEGPT_BASE_URL", &live)
            .args(["chat", "Hi"]),
    );
    let failed = fakegpt()
        .arg("--config")
        .arg(&bad)
        .args(["chat", "Hi"])
        .bounded();
    assert!(one_line_failure(&failed).contains("could not reach the upstream"));

    // The default place: $XDG_CONFIG_HOME/fakegpt/config.toml.
    let default = config_file(
        t,
        "xdg/fakegpt/config.toml",
        &format!("base-url = \"{live}\"\n"),
        0o644,
    );
    let xdg = default.parent().unwrap().parent().unwrap();
    chat(
        fakegpt()
            .env_remove("FAKEGPT_CONFIG")
            .env("XDG_CONFIG_HOME", xdg)
            .args(["chat", "Hi"]),
    );
}

#[test]
fn config_file_mistakes_are_one_line_usage_errors() {
    let cases = [
        (
            "typo.toml",
            "bse-url = \"x\"\n",
            "no command has a setting `bse-url`",
        ),
        (
            "table.toml",
            "[serve]\nprot = 1\n",
            "[serve] has no setting `prot`",
        ),
        (
            "range.toml",
            "[chat]\nmax-attempts = 99\n",
            "99 is not in 1..=20",
        ),
        (
            "type.toml",
            "[chat]\nmodel = true\n",
            "`model` takes a string or a number",
        ),
        (
            "switch.toml",
            "[upstream]\ncrlf = \"yes\"\n",
            "`crlf` is true or false",
        ),
        ("broken.toml", "x = [", "TOML parse error"),
    ];
    for (name, contents, reason) in cases {
        let path = config_file("mistakes", name, contents, 0o644);
        let command: &[&str] = if name == "switch.toml" {
            &["upstream", "--port", "0"]
        } else {
            &["chat", "--local", "Hi"]
        };
        let output = fakegpt().arg("--config").arg(&path).args(command).bounded();
        let stderr = one_line_error(&output, 2);
        assert!(
            stderr.contains(reason) && stderr.contains(name),
            "{name}: {stderr}"
        );
    }
    let missing = fakegpt()
        .args(["--config", "/nonexistent/fakegpt.toml", "chat", "Hi"])
        .bounded();
    assert!(one_line_error(&missing, 2).contains("could not read the config file"));
}

#[test]
fn a_config_file_holding_a_secret_must_be_private() {
    let contents = "[serve]\napi-key = [\"sk-from-file\"]\n";
    let open = config_file("secret", "open.toml", contents, 0o644);
    let refused = fakegpt()
        .arg("--config")
        .arg(&open)
        .args(["serve", "--local", "--port", "0"])
        .bounded();
    let stderr = one_line_error(&refused, 2);
    assert!(
        stderr.contains("chmod 600") && !stderr.contains("sk-from-file"),
        "{stderr}"
    );

    let private = config_file("secret", "private.toml", contents, 0o600);
    let (mut server, url) = fakegpt()
        .arg("--config")
        .arg(&private)
        .args(["serve", "--local", "--port", "0"])
        .spawn_server();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let status = |key: &'static str| {
        runtime.block_on(async {
            reqwest::Client::new()
                .get(format!("{url}/v1/models"))
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    };
    assert_eq!((status("sk-from-file"), status("sk-wrong")), (200, 401));
    server.kill().unwrap();
    server.wait().unwrap();
}

/// A fresh state directory (`XDG_STATE_HOME`), removed when dropped.
struct StateDir(std::path::PathBuf);

impl StateDir {
    fn new(test: &str) -> StateDir {
        let dir =
            std::env::temp_dir().join(format!("fakegpt-cli-state-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        StateDir(dir)
    }

    /// `fakegpt` keeping its session in this directory, as it does by
    /// default.
    fn fakegpt(&self) -> Command {
        let mut command = fakegpt();
        command.env_remove("FAKEGPT_STORE");
        command.env("XDG_STATE_HOME", &self.0);
        command
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn chat_runs_share_one_login_through_the_state_directory() {
    let up = upstream(Config::default());
    let url = up.emulator.url();
    let state = StateDir::new("sequential");
    for i in 0..10 {
        let prompt = format!("run {i}");
        let output = state
            .fakegpt()
            .args(["chat", "--base-url", &url, &prompt])
            .bounded();
        assert!(output.status.success(), "{}", text(&output.stderr));
        assert_eq!(
            text(&output.stdout).trim_end(),
            up.emulator.reply_for(&prompt).trim_end()
        );
    }
    assert_eq!(
        up.emulator.counters().logins,
        1,
        "{:?}",
        up.emulator.counters()
    );
    // Five started at once still make one login between them.
    let other = upstream(Config::default());
    let other_url = other.emulator.url();
    let children: Vec<_> = (0..5)
        .map(|i| {
            state
                .fakegpt()
                .args(["chat", "--base-url", &other_url, &format!("at once {i}")])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let done = watchdog(child.id(), 60);
        let output = child.wait_with_output().unwrap();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
    assert_eq!(
        other.emulator.counters().logins,
        1,
        "{:?}",
        other.emulator.counters()
    );
    // --store memory keeps nothing.
    for _ in 0..2 {
        let output = state
            .fakegpt()
            .args(["chat", "--store", "memory", "--base-url", &url, "x"])
            .bounded();
        assert!(output.status.success());
    }
    assert_eq!(up.emulator.counters().logins, 3);
}

#[test]
fn session_show_and_clear_tell_what_is_kept_without_secrets() {
    let up = upstream(Config::default());
    let url = up.emulator.url();
    let state = StateDir::new("show");
    let show = |state: &StateDir| {
        let output = state
            .fakegpt()
            .args(["session", "show", "--base-url", &url])
            .bounded();
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stdout)
    };
    assert!(show(&state).starts_with("no session kept for"));
    let output = state
        .fakegpt()
        .args(["chat", "--base-url", &url, "hi"])
        .bounded();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let shown = show(&state);
    assert!(
        shown.contains(&format!("upstream   {}", url.trim_end_matches('/'))),
        "{shown}"
    );
    assert!(shown.contains("account    shared-account-"), "{shown}");
    assert!(shown.contains("logged in  "), "{shown}");
    // The file, private, holds secrets that the listing does not show.
    let dir = state.0.join("fakegpt");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .unwrap();
    let mode = |p: &std::path::Path| {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    };
    assert_eq!((mode(&dir), mode(&file)), (0o700, 0o600));
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let token = record["session"]["access_token"].as_str().unwrap();
    let cookies = record["session"]["cookies"].as_object().unwrap();
    assert!(!shown.contains(token));
    for value in cookies.values() {
        assert!(!shown.contains(value.as_str().unwrap()));
    }
    // A corrupt file: a warning, a fresh login, the answer all the same.
    std::fs::write(&file, "{ not json").unwrap();
    let output = state
        .fakegpt()
        .args(["chat", "--base-url", &url, "again"])
        .bounded();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout).trim_end(),
        up.emulator.reply_for("again").trim_end()
    );
    let warning = text(&output.stderr);
    assert!(warning.contains("ignoring the session file"), "{warning}");
    assert_eq!(warning.lines().count(), 1, "one warning: {warning}");
    assert_eq!(up.emulator.counters().logins, 2);

    let cleared = state
        .fakegpt()
        .args(["session", "clear", "--base-url", &url])
        .bounded();
    assert!(text(&cleared.stdout).starts_with("forgot the session for"));
    assert!(show(&state).starts_with("no session kept for"));
}

#[test]
fn piped_output_streams_each_piece_as_it_comes() {
    // Events 150 ms apart: the 2 ms batching of a pipe must not hold one
    // back for the next.
    let up = upstream(Config {
        chars_per_event: 12,
        event_delay: std::time::Duration::from_millis(150),
        ..Config::default()
    });
    let mut child = fakegpt()
        .args(["chat", "--base-url", &up.emulator.url(), "hi"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _guard = watchdog(child.id(), 60);
    let mut stdout = child.stdout.take().unwrap();
    let mut pieces = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let n = std::io::Read::read(&mut stdout, &mut buffer).unwrap();
        if n == 0 {
            break;
        }
        pieces.push(buffer[..n].to_vec());
    }
    let status = child.wait().unwrap();
    assert!(status.success());
    let expected = fakegpt_upstream::reply_for("hi", 0);
    let events = expected.chars().count().div_ceil(12);
    assert_eq!(text(&pieces.concat()), format!("{expected}\n"));
    // One read per event (the last one may carry the final newline too).
    assert!(
        pieces.len() >= events,
        "{} reads for {events} events",
        pieces.len()
    );
}
