//! `fakegpt chat --dialect`: the delta-encoded `v1` stream gives the same
//! answer on stdout as the legacy one, `--local` really serves it when
//! asked, reasoning never reaches stdout, an unknown dialect is a usage
//! error, and an error inside the stream comes after the text before it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

mod common;

use common::*;

const PROMPT: &str = "Which «dialect» — \"v1\" or legacy \\ 🤔?";

/// `fakegpt upstream --port 0 --delay-ms 0` with `args`, and its URL.
fn spawn_upstream(args: &[&str]) -> (std::process::Child, String) {
    fakegpt()
        .args(["upstream", "--port", "0", "--delay-ms", "0"])
        .args(args)
        .stderr(Stdio::null())
        .spawn_server()
}

fn stop(mut server: std::process::Child) {
    server.kill().unwrap();
    server.wait().unwrap();
}

/// What the emulator answers `PROMPT`, as `fakegpt chat` prints it.
fn printed_reply() -> String {
    format!("{}\n", fakegpt_upstream::reply_for(PROMPT, 0))
}

#[test]
fn local_v1_prints_exactly_what_local_legacy_prints() {
    let legacy = fakegpt().args(["chat", "--local", PROMPT]).bounded();
    let v1 = fakegpt()
        .args(["chat", "--local", "--dialect", "v1", PROMPT])
        .bounded();
    let env = fakegpt()
        .args(["chat", "--local", PROMPT])
        .env("FAKEGPT_DIALECT", "v1")
        .bounded();
    for output in [&legacy, &v1, &env] {
        assert!(output.status.success(), "{}", text(&output.stderr));
        assert_eq!(text(&output.stderr), "");
    }
    assert_eq!(text(&legacy.stdout), printed_reply());
    assert_eq!(v1.stdout, legacy.stdout, "byte for byte");
    assert_eq!(env.stdout, legacy.stdout, "byte for byte");
}

/// A plain HTTP forward proxy on a loopback port that keeps every byte the
/// upstream sends back, so a test can see which dialect was served.
struct RecordingProxy {
    url: String,
    received: Arc<Mutex<Vec<u8>>>,
}

impl RecordingProxy {
    fn start() -> RecordingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&received);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let record = Arc::clone(&record);
                std::thread::spawn(move || relay(client, &record));
            }
        });
        RecordingProxy { url, received }
    }

    fn received(&self) -> String {
        String::from_utf8_lossy(&self.received.lock().unwrap()).into_owned()
    }
}

/// Forwards one client connection (requests in absolute form, as clients
/// send them to an HTTP proxy, which the emulator accepts) to the host its
/// first request names, recording what comes back.
fn relay(mut client: TcpStream, record: &Mutex<Vec<u8>>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match client.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let first = String::from_utf8_lossy(&head)
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let authority = first
        .split_whitespace()
        .nth(1)
        .and_then(|target| target.strip_prefix("http://"))
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
        .to_owned();
    let Ok(mut upstream) = TcpStream::connect(authority) else {
        return;
    };
    upstream.write_all(&head).unwrap();
    let (mut to_upstream, mut from_client) =
        (upstream.try_clone().unwrap(), client.try_clone().unwrap());
    std::thread::spawn(move || std::io::copy(&mut from_client, &mut to_upstream));
    loop {
        match upstream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                record.lock().unwrap().extend_from_slice(&buf[..n]);
                if client.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

#[test]
fn local_serves_the_delta_encoded_stream_only_when_v1_is_asked_for() {
    for (dialect, delta_encoded) in [("v1", true), ("legacy", false)] {
        let proxy = RecordingProxy::start();
        let output = fakegpt()
            .args(["chat", "--local", "--dialect", dialect])
            .args(["--proxy", &proxy.url, PROMPT])
            .bounded();
        assert!(output.status.success(), "{}", text(&output.stderr));
        assert_eq!(text(&output.stdout), printed_reply(), "{dialect}");
        let received = proxy.received();
        assert!(
            received.contains("\"accessToken\""),
            "the whole flow went through the proxy: {received}"
        );
        assert_eq!(
            received.contains("event: delta_encoding") && received.contains("event: delta\n"),
            delta_encoded,
            "{dialect}: {received}"
        );
    }
}

#[test]
fn reasoning_never_reaches_stdout() {
    let (server, url) = spawn_upstream(&["--dialect", "v1", "--reasoning"]);
    let flag = fakegpt()
        .args(["chat", "--dialect", "v1", "--base-url", &url, PROMPT])
        .bounded();
    let env = fakegpt()
        .args(["chat", "--base-url", &url, PROMPT])
        .env("FAKEGPT_DIALECT", "v1")
        .bounded();
    // Served v1 although legacy was asked for: recognised from the stream.
    let legacy = fakegpt()
        .args(["chat", "--base-url", &url, PROMPT])
        .bounded();
    stop(server);
    let reasoning = fakegpt_upstream::reasoning_for(PROMPT);
    for output in [&flag, &env, &legacy] {
        assert!(output.status.success(), "{}", text(&output.stderr));
        assert_eq!(text(&output.stderr), "");
        let stdout = text(&output.stdout);
        assert_eq!(stdout, printed_reply(), "the answer alone");
        assert!(!stdout.contains("Thinking about"), "{stdout}");
        assert!(!stdout.contains(&reasoning), "{stdout}");
    }
}

#[test]
fn an_unknown_dialect_is_a_usage_error() {
    for (args, env) in [
        (
            &["chat", "--local", "--dialect", "nonsense", "hi"][..],
            None,
        ),
        (&["chat", "--local", "hi"], Some("nonsense")),
        (
            &["serve", "--local", "--port", "0", "--dialect", "v2"],
            None,
        ),
        (&["bench", "--local", "-n", "1", "--dialect", "auto"], None),
    ] {
        let mut command = fakegpt();
        command.args(args);
        if let Some(value) = env {
            command.env("FAKEGPT_DIALECT", value);
        }
        let output = command.bounded();
        let stderr = one_line_error(&output, 2);
        assert!(stderr.contains("--dialect"), "{args:?}: {stderr}");
        assert!(stderr.contains("--help"), "{args:?}: {stderr}");
        assert_eq!(text(&output.stdout), "", "{args:?}");
    }
}

#[test]
fn an_error_inside_the_stream_comes_after_the_text_before_it() {
    for dialect in ["legacy", "v1"] {
        let (server, url) = spawn_upstream(&[
            "--dialect",
            dialect,
            "--reasoning",
            "--chars-per-event",
            "2",
            "--fault",
            "stream-error:3",
            "--fault",
            "moderation",
        ]);
        let ask = || {
            fakegpt()
                .args(["chat", "--dialect", "v1", "--base-url", &url])
                .args(["--max-attempts", "1", PROMPT])
                .bounded()
        };
        let (errored, moderated, whole) = (ask(), ask(), ask());
        stop(server);
        let reply = fakegpt_upstream::reply_for(PROMPT, 0);

        let stderr = one_line_failure(&errored);
        assert!(
            stderr.contains("the upstream reported an error")
                && stderr.contains("Something went wrong while generating the response."),
            "{dialect}: {stderr}"
        );
        assert!(!stderr.contains("no shared account"), "{dialect}: {stderr}");
        let before: String = reply.chars().take(6).collect();
        assert_eq!(
            text(&errored.stdout),
            format!("{before}\n"),
            "{dialect}: the text of the three events before the error"
        );

        let stderr = one_line_failure(&moderated);
        assert!(
            stderr.contains("the upstream's moderation blocked the answer"),
            "{dialect}: {stderr}"
        );
        assert!(
            !stderr.contains("no shared account"),
            "{dialect}: a hint that fits: {stderr}"
        );
        let partial = text(&moderated.stdout);
        let partial = partial.strip_suffix('\n').unwrap();
        assert!(
            !partial.is_empty() && reply.starts_with(partial) && partial.len() < reply.len(),
            "{dialect}: {partial:?}"
        );

        assert!(whole.status.success(), "{}", text(&whole.stderr));
        assert_eq!(text(&whole.stdout), printed_reply(), "{dialect}");
    }
}
