//! A real terminal for the interactive mode's tests: a pane of a tmux
//! server of the test's own (its own socket, killed when dropped), keys
//! typed with `send-keys`, text pasted as a terminal pastes it, and the
//! screen read back with `capture-pane`.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use super::{text, Bounded};

/// The longest wait for anything on the screen.
pub const WAIT: Duration = Duration::from_secs(20);

/// What the pane's shell prints when the program ends, before its status.
const EXITED: &str = "[exited with ";

/// A tmux server with one pane running a command.
pub struct Terminal {
    socket: String,
    dir: PathBuf,
}

impl Terminal {
    /// Runs `argv` in a 200-column pane with only `env` set of the test's
    /// settings (no `FAKEGPT_*`, no desktop clipboard).
    pub fn start(name: &str, env: &[(&str, &str)], argv: &[&str]) -> Terminal {
        Terminal::start_sized(name, env, argv, 200)
    }

    /// Runs `argv` in a pane `columns` wide.
    pub fn start_sized(name: &str, env: &[(&str, &str)], argv: &[&str], columns: u16) -> Terminal {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let unique = format!("{name}-{}-{nanos}", std::process::id());
        let dir = std::env::temp_dir().join(format!("fakegpt-tmux-{unique}"));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("tmux.conf");
        // set-clipboard on: what a program sends by OSC 52 becomes a buffer.
        std::fs::write(
            &conf,
            "set -g remain-on-exit on\nset -g history-limit 10000\nset -g set-clipboard on\nset -sg escape-time 0\n",
        )
        .unwrap();
        let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
        let mut shell = String::from("env");
        for (key, value) in env {
            shell.push_str(&format!(" {key}={}", quote(value)));
        }
        for arg in argv {
            shell.push(' ');
            shell.push_str(&quote(arg));
        }
        shell.push_str(&format!("; echo \"{EXITED}$?]\""));
        let terminal = Terminal {
            socket: format!("fakegpt-test-{unique}"),
            dir,
        };
        let mut tmux = Command::new("tmux");
        // The server starts with this environment: nothing of the test's.
        for (key, _) in std::env::vars() {
            if key.starts_with("FAKEGPT_")
                || matches!(
                    key.as_str(),
                    "TMUX" | "DISPLAY" | "WAYLAND_DISPLAY" | "NO_COLOR"
                )
            {
                tmux.env_remove(key);
            }
        }
        let output = tmux
            .arg("-L")
            .arg(&terminal.socket)
            .arg("-f")
            .arg(&conf)
            .args(["new-session", "-d", "-s", "chat", "-x"])
            .arg(columns.to_string())
            .args(["-y", "50"])
            .arg(&shell)
            .bounded();
        assert!(
            output.status.success(),
            "tmux is needed (apt-get install tmux): {}",
            text(&output.stderr)
        );
        terminal
    }

    /// Runs a tmux command on this server and returns what it printed.
    pub fn tmux(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .bounded();
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stdout)
    }

    /// The whole pane, scrollback included, wrapped lines joined.
    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-J", "-S", "-", "-t", "chat"])
    }

    /// The whole pane with its colours and styles as escape sequences.
    pub fn styled_screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-e", "-J", "-S", "-", "-t", "chat"])
    }

    /// Types `text` as it is (no key names).
    pub fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "chat", "-l", text]);
    }

    /// Presses keys by their tmux names (`Enter`, `Up`, `C-c`, `M-Enter`…).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "chat"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Types `line` and Enter.
    pub fn type_line(&self, line: &str) {
        self.type_text(line);
        self.keys(&["Enter"]);
    }

    /// Pastes `text` as a terminal does: as one bracketed paste when the
    /// program asked for that, line by line otherwise.
    pub fn paste(&self, text: &str) {
        let file = self.dir.join("paste");
        std::fs::write(&file, text).unwrap();
        let file = file.display().to_string();
        self.tmux(&["load-buffer", "-b", "paste", &file]);
        self.tmux(&["paste-buffer", "-p", "-d", "-b", "paste", "-t", "chat"]);
    }

    /// What the program put on the clipboard (OSC 52), if anything.
    pub fn clipboard(&self) -> Option<String> {
        let output = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("show-buffer")
            .bounded();
        output.status.success().then(|| text(&output.stdout))
    }

    /// Waits until `done` holds for the screen (at most [`WAIT`]) and
    /// returns it.
    pub fn wait_for(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waited {WAIT:?} for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the prompt `> ` at the end of the screen, alone on its
    /// line: what was typed before has been dealt with.
    pub fn wait_for_prompt(&self) -> String {
        self.wait_for("the prompt", |screen| {
            screen
                .lines()
                .rev()
                .map(str::trim_end)
                .find(|l| !l.is_empty())
                == Some(">")
        })
    }

    /// Types `line`, waits for a line of the screen that starts with
    /// `answer` (the `count`-th such line), then for the prompt.
    pub fn ask(&self, line: &str, answer: &str, count: usize) -> String {
        self.type_line(line);
        self.wait_for(answer, |screen| {
            screen.lines().filter(|l| l.starts_with(answer)).count() >= count
        });
        self.wait_for_prompt()
    }

    /// Waits for the program to end and returns its exit status (as the
    /// pane's shell prints it: tmux may be slow to reap a pane).
    pub fn wait_for_exit(&self) -> String {
        let screen = self.wait_for("the end", |s| s.contains(EXITED));
        let after = screen.split(EXITED).nth(1).unwrap_or_default();
        after.split(']').next().unwrap_or_default().to_owned()
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
