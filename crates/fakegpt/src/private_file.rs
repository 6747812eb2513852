//! Files that hold secrets: written whole or not at all, readable by their
//! owner only (0600, in a 0700 directory).

use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

/// Writes `bytes` to `path` (in `dir`, created 0700 if need be) through a
/// temporary file created afresh with mode 0600, renamed over `path`: a
/// reader sees the old file or the new one, never a part, and never one
/// readable by others.
pub fn write(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    make_dir(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    // A stale temporary file of a crashed run could have another mode.
    let _ = std::fs::remove_file(&tmp);
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Creates `dir` (and its parents) with mode 0700, and narrows an existing
/// one to it.
pub fn make_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
    if mode != 0o700 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests: a failure must fail the test")]

    use super::*;

    #[test]
    fn a_stale_temporary_file_open_to_others_is_not_reused() {
        let dir = std::env::temp_dir().join(format!("fakegpt-private-{}", uuid::Uuid::new_v4()));
        let path = dir.join("secret.json");
        make_dir(&dir).unwrap();
        let stale = dir.join(format!(".secret.json.{}.tmp", std::process::id()));
        std::fs::write(&stale, b"old").unwrap();
        std::fs::set_permissions(&stale, std::fs::Permissions::from_mode(0o644)).unwrap();
        write(&dir, &path, b"{\"new\":1}").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"new\":1}");
        assert!(!stale.exists());
        let dir_mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o700);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
