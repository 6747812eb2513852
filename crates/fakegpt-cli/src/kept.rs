//! The last conversation `fakegpt chat` kept on the upstream, in a file
//! beside the session store, so that `fakegpt chat --continue` can take it
//! up in a later run.
//!
//! The file holds the conversation's handle, whose session password is a
//! secret: it is written as the library's file store writes its session
//! (mode 0600 in a 0700 directory, a temporary file renamed over the old
//! one), and nothing read from it is ever printed.

use std::path::{Path, PathBuf};

use fakegpt::{Conversation, Message, Store};
use serde::{Deserialize, Serialize};

use crate::report::Failure;

/// The file's format, checked when it is read.
pub const FORMAT: &str = "fakegpt-last-conversation/1";

/// The file's name in the store's directory.
const FILE_NAME: &str = "last-conversation.json";

/// The last kept conversation, as the file holds it.
#[derive(Debug, Serialize, Deserialize)]
pub struct LastConversation {
    /// [`FORMAT`].
    pub format: String,
    /// The upstream's base URL: the conversation lives there only.
    pub upstream: String,
    /// The model it was asked with.
    pub model: String,
    /// Its handle (holds a secret; its `Debug` hides it).
    pub conversation: Conversation,
    /// The history through the last answer, system prompt included.
    pub messages: Vec<Message>,
}

/// Where the last conversation is kept.
#[derive(Debug, Clone)]
pub struct KeptFile {
    dir: PathBuf,
    path: PathBuf,
}

impl KeptFile {
    /// The file in `store`'s directory; for a store without one (memory,
    /// Redis), in the user's state directory.
    pub fn for_store(store: &Store) -> Result<KeptFile, fakegpt::Error> {
        let dir = match store {
            Store::File { dir } => dir.clone(),
            _ => match Store::state_dir()? {
                Store::File { dir } => dir,
                _ => {
                    return Err(fakegpt::Error::new(
                        fakegpt::ErrorKind::Config,
                        "the state directory is not a directory store",
                    ))
                }
            },
        };
        Ok(KeptFile::in_dir(dir))
    }

    /// The file in `dir`.
    pub fn in_dir(dir: PathBuf) -> KeptFile {
        KeptFile {
            path: dir.join(FILE_NAME),
            dir,
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the last conversation; `None` when none is kept. A file that
    /// cannot be read or used is a failure that names it.
    pub fn read(&self) -> Result<Option<LastConversation>, Failure> {
        let shown = self.path.display();
        let remove = format!("remove it (rm {shown}) to start afresh");
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => {
                return Err(Failure::new(
                    format!("could not read the kept conversation {shown}: {err}"),
                    format!("check its permissions, or {remove}"),
                ))
            }
        };
        // serde's messages may quote the value they stumbled on, which could
        // be a secret: say only where.
        let last: LastConversation = serde_json::from_slice(&bytes).map_err(|err| {
            let what = match err.classify() {
                serde_json::error::Category::Data => "does not hold a conversation",
                _ => "is not valid JSON",
            };
            Failure::new(
                format!(
                    "the kept conversation {shown} {what} (line {}, column {})",
                    err.line(),
                    err.column()
                ),
                remove.clone(),
            )
        })?;
        if last.format != FORMAT {
            return Err(Failure::new(
                format!(
                    "the kept conversation {shown} is in format {:?}, not {FORMAT:?}",
                    last.format
                ),
                remove,
            ));
        }
        Ok(Some(last))
    }

    /// Replaces the file atomically with `last`, mode 0600, creating the
    /// directory with mode 0700 (and narrowing an existing one to it).
    pub fn write(&self, last: &LastConversation) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(last).map_err(std::io::Error::other)?;
        fakegpt::private_file::write(&self.dir, &self.path, &bytes)
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        reason = "tests: a failure must fail the test"
    )]

    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("fakegpt-kept-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn nothing_kept_reads_as_none_and_bad_files_are_named_without_their_content() {
        let dir = scratch("bad");
        let kept = KeptFile::in_dir(dir.join("state"));
        assert!(kept.read().unwrap().is_none());
        std::fs::create_dir_all(dir.join("state")).unwrap();
        for (content, says) in [
            ("{not json", "is not valid JSON"),
            (
                r#"{"format":"x","upstream":"u","model":"m","conversation":"hunter2pwd","messages":[]}"#,
                "does not hold a conversation",
            ),
        ] {
            std::fs::write(kept.path(), content).unwrap();
            let failure = kept.read().unwrap_err();
            assert!(failure.message.contains(says), "{}", failure.message);
            assert!(!failure.message.contains("hunter2pwd"));
            let hint = failure.hint.unwrap();
            assert!(hint.contains(&kept.path().display().to_string()), "{hint}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
