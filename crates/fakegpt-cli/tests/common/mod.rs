//! What the binary's test suites share: running `fakegpt` bounded, with no
//! inherited settings, starting servers, an emulator on its own runtime.

#![allow(dead_code, reason = "each suite uses a part of these")]

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use fakegpt_upstream::{Config, Emulator};

pub mod terminal;

pub const BIN: &str = env!("CARGO_BIN_EXE_fakegpt");

/// Runs a command to its end, killing it after 60 s so that a hang fails
/// the test instead of stalling the suite.
pub trait Bounded {
    fn bounded(&mut self) -> Output;
}

impl Bounded for Command {
    fn bounded(&mut self) -> Output {
        let child = self
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let done = watchdog(child.id(), 60);
        let output = child.wait_with_output().unwrap();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        output
    }
}

/// Runs a command with `input` on its stdin, to its end, bounded as
/// [`Bounded::bounded`] is.
pub trait WithInput {
    fn bounded_with_input(&mut self, input: &[u8]) -> Output;
}

impl WithInput for Command {
    fn bounded_with_input(&mut self, input: &[u8]) -> Output {
        let mut child = self
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let done = watchdog(child.id(), 60);
        let mut stdin = child.stdin.take().unwrap();
        // Written by a thread of its own, so a program that does not read
        // cannot block the test.
        let input = input.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = std::io::Write::write_all(&mut stdin, &input);
        });
        let output = child.wait_with_output().unwrap();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = writer.join();
        output
    }
}

/// Kills process `pid` after `seconds` unless the returned flag is set
/// first, so that a hang fails a test instead of stalling the suite.
pub fn watchdog(pid: u32, seconds: u64) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watching = std::sync::Arc::clone(&done);
    std::thread::spawn(move || {
        for _ in 0..seconds * 10 {
            if watching.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    });
    done
}

/// Starts a `fakegpt` server command and reads the URL it prints first.
pub trait SpawnServer {
    fn spawn_server(&mut self) -> (std::process::Child, String);
}

impl SpawnServer for Command {
    fn spawn_server(&mut self) -> (std::process::Child, String) {
        let mut server = self.stdout(Stdio::piped()).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(server.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().to_owned();
        assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");
        (server, url)
    }
}

/// A command with no inherited `FAKEGPT_*` settings.
pub fn fakegpt() -> Command {
    let mut command = Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("FAKEGPT_") {
            command.env_remove(key);
        }
    }
    // No config file of the machine's user either, and nothing written to
    // its state directory (tests of the file store choose their own).
    command.env("FAKEGPT_CONFIG", "/dev/null");
    command.env("FAKEGPT_STORE", "memory");
    command.stdin(Stdio::null());
    command
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Checks the one-line error contract (exit code 1) and returns stderr.
pub fn one_line_failure(output: &Output) -> String {
    one_line_error(output, 1)
}

/// Checks the one-line error contract with exit code `code` and returns
/// stderr.
pub fn one_line_error(output: &Output, code: i32) -> String {
    assert_eq!(output.status.code(), Some(code), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(
        stderr.starts_with("fakegpt: ") && stderr.contains("(hint: "),
        "{stderr:?}"
    );
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"));
    stderr
}

/// An emulator on a runtime of its own, alive while the value lives.
pub struct Upstream {
    pub emulator: Emulator,
    _runtime: tokio::runtime::Runtime,
}

pub fn upstream(config: Config) -> Upstream {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let emulator = runtime.block_on(Emulator::start(config)).unwrap();
    Upstream {
        emulator,
        _runtime: runtime,
    }
}
