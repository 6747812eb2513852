//! The file store: one JSON file per upstream, mode 0600 in a 0700
//! directory, replaced atomically (a temporary file renamed over it), and a
//! lock file beside it held while a process logs in or updates the record.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::record::{Record, FORMAT};
use crate::error::{Error, ErrorKind};

/// One upstream's file in a store directory.
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
    path: PathBuf,
    lock_path: PathBuf,
    upstream: String,
    /// Whether an unreadable file was already reported (once is enough).
    warned: AtomicBool,
}

/// The lock file, held until dropped.
#[derive(Debug)]
pub struct FileLock(#[allow(dead_code, reason = "held for its lock")] File);

impl FileStore {
    /// The file for the upstream at `base_url` in `dir`.
    pub fn new(dir: PathBuf, base_url: &str) -> FileStore {
        let upstream = base_url.trim_end_matches('/').to_owned();
        let name = file_name(&upstream);
        FileStore {
            path: dir.join(format!("{name}.json")),
            lock_path: dir.join(format!("{name}.lock")),
            dir,
            upstream,
            warned: AtomicBool::new(false),
        }
    }

    /// The record's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the record, or an empty one when there is none. A file that
    /// cannot be used (corrupt, another format, another upstream) is
    /// reported once and read as empty; the next write replaces it.
    pub async fn read(&self) -> Result<(Record, bool), Error> {
        let path = self.path.clone();
        let bytes = blocking(move || match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err),
        })
        .await
        .map_err(|e| self.io_error("read", &e))?;
        let Some(bytes) = bytes else {
            return Ok((Record::empty(&self.upstream), false));
        };
        let problem = match serde_json::from_slice::<Record>(&bytes) {
            Ok(record) if record.format != FORMAT => {
                format!("it is in format {:?}, not {FORMAT:?}", record.format)
            }
            Ok(record) if record.upstream != self.upstream => {
                format!("it belongs to the upstream {:?}", record.upstream)
            }
            Ok(record) => return Ok((record, true)),
            Err(err) => format!("it is not a store record ({err})"),
        };
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                path = %self.path.display(),
                "ignoring the session file: {problem}; a new login will replace it"
            );
        }
        Ok((Record::empty(&self.upstream), false))
    }

    /// Replaces the record atomically.
    pub async fn write(&self, record: &Record) -> Result<(), Error> {
        let bytes = serde_json::to_vec_pretty(record).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("could not encode the session: {e}"),
            )
        })?;
        let (dir, path) = (self.dir.clone(), self.path.clone());
        blocking(move || crate::private_file::write(&dir, &path, &bytes))
            .await
            .map_err(|e| self.io_error("write", &e))
    }

    /// Removes the record; says whether there was one.
    pub async fn remove(&self) -> Result<bool, Error> {
        let path = self.path.clone();
        blocking(move || match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(err) => Err(err),
        })
        .await
        .map_err(|e| self.io_error("remove", &e))
    }

    /// Takes the lock file, waiting at most `wait` for another process to
    /// release it.
    pub async fn lock(&self, wait: Duration) -> Result<FileLock, Error> {
        let (dir, lock_path) = (self.dir.clone(), self.lock_path.clone());
        let file = blocking(move || {
            crate::private_file::make_dir(&dir)?;
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&lock_path)
        })
        .await
        .map_err(|e| self.io_error("open the lock file", &e))?;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock)
                    if tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(Error::new(
                        ErrorKind::Timeout,
                        format!(
                            "another process held the session lock {} for more than {} s",
                            self.lock_path.display(),
                            wait.as_secs()
                        ),
                    ))
                }
                Err(std::fs::TryLockError::Error(err)) => {
                    return Err(self.io_error("lock", &err));
                }
            }
        }
        Ok(FileLock(file))
    }

    fn io_error(&self, what: &str, err: &std::io::Error) -> Error {
        Error::new(
            ErrorKind::Config,
            format!(
                "could not {what} the session file {}: {err}",
                self.path.display()
            ),
        )
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)))
}

/// A file name for `upstream`: its host and port, readable, and a hash of
/// the whole URL so that two upstreams never share a file.
fn file_name(upstream: &str) -> String {
    let readable: String = upstream
        .split_once("://")
        .map_or(upstream, |(_, rest)| rest)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    format!("session-{readable}-{:016x}", upstream_hash(upstream))
}

/// A hash of the upstream's URL (FNV-1a: stable across versions and
/// platforms, unlike std's hasher), to name its file and its Redis keys.
pub fn upstream_hash(upstream: &str) -> u64 {
    upstream.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests;
