//! `/copy`: text onto the clipboard, by the desktop's clipboard tool when
//! there is one (wl-copy, xclip, xsel, pbcopy, clip.exe), else by asking
//! the terminal (the OSC 52 sequence, which tmux and most terminals take,
//! over SSH too).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine as _;

/// The largest text sent to a terminal by OSC 52: terminals drop more.
const MAX_OSC52_BYTES: usize = 100_000;

/// A clipboard tool: its program, its arguments, and when it applies.
struct Tool {
    program: &'static str,
    args: &'static [&'static str],
    /// An environment variable that must be set for it to work, if any.
    needs: Option<&'static str>,
}

/// The tools tried, in order.
const TOOLS: &[Tool] = &[
    Tool {
        program: "wl-copy",
        args: &[],
        needs: Some("WAYLAND_DISPLAY"),
    },
    Tool {
        program: "xclip",
        args: &["-selection", "clipboard"],
        needs: Some("DISPLAY"),
    },
    Tool {
        program: "xsel",
        args: &["--clipboard", "--input"],
        needs: Some("DISPLAY"),
    },
    Tool {
        program: "pbcopy",
        args: &[],
        needs: None,
    },
    Tool {
        program: "clip.exe",
        args: &[],
        needs: None,
    },
];

/// Puts `text` on the clipboard and says how, or why it could not.
pub fn copy(text: &str) -> Result<String, String> {
    for tool in TOOLS {
        if tool
            .needs
            .is_some_and(|var| std::env::var_os(var).is_none_or(|v| v.is_empty()))
        {
            continue;
        }
        let Some(program) = on_path(tool.program) else {
            continue;
        };
        return run(&program, tool.args, text).map(|()| format!("with {}", tool.program));
    }
    osc52(text)
}

/// The program `name` on `PATH`, if it is there.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Runs a clipboard tool with `text` on its stdin.
fn run(program: &PathBuf, args: &[&str], text: &str) -> Result<(), String> {
    let name = program.display();
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("could not run {name}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| format!("could not write to {name}: {e}"))?;
    }
    match child.wait() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("{name} failed ({status})")),
        Err(e) => Err(format!("{name} failed: {e}")),
    }
}

/// Asks the terminal to set its clipboard (OSC 52).
fn osc52(text: &str) -> Result<String, String> {
    if text.len() > MAX_OSC52_BYTES {
        return Err(format!(
            "no clipboard tool was found, and the answer ({} bytes) is too long to pass through the terminal",
            text.len()
        ));
    }
    let sequence = format!(
        "\x1b]52;c;{}\x07",
        base64::engine::general_purpose::STANDARD.encode(text)
    );
    let written = if std::io::stdout().is_terminal() {
        let mut out = std::io::stdout().lock();
        out.write_all(sequence.as_bytes())
            .and_then(|()| out.flush())
    } else if std::io::stderr().is_terminal() {
        let mut err = std::io::stderr().lock();
        err.write_all(sequence.as_bytes())
            .and_then(|()| err.flush())
    } else {
        return Err("no clipboard tool was found and there is no terminal to ask".to_owned());
    };
    written
        .map(|()| {
            "through the terminal (OSC 52; some terminals must be told to allow it)".to_owned()
        })
        .map_err(|e| format!("could not write to the terminal: {e}"))
}
