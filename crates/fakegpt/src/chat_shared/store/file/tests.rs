use std::os::unix::fs::PermissionsExt as _;

use super::*;
use crate::chat_shared::store::record::SavedSession;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "fakegpt-store-{name}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn with_session(upstream: &str) -> Record {
    let mut record = Record::empty(upstream);
    record.session = Some(SavedSession {
        account: "acc-1".into(),
        access_token: "secret-token".into(),
        cookies: [("sid".to_owned(), "c00kie".to_owned())].into(),
        logged_in_at_ms: 1_700_000_000_000,
        version: 3,
    });
    record.passwords.insert("acc-1".into(), "pw12345678".into());
    record
}

#[tokio::test]
async fn records_round_trip_privately() {
    let dir = temp_dir("round-trip").join("nested");
    let store = FileStore::new(dir.clone(), "http://127.0.0.1:8080/");
    let (empty, found) = store.read().await.unwrap();
    assert!(!found && empty.session.is_none());
    store
        .write(&with_session("http://127.0.0.1:8080"))
        .await
        .unwrap();
    let (record, found) = store.read().await.unwrap();
    assert!(found);
    let session = record.session.unwrap();
    assert_eq!(
        (session.account.as_str(), session.access_token.as_str()),
        ("acc-1", "secret-token")
    );
    assert_eq!(record.passwords["acc-1"], "pw12345678");
    assert_eq!(mode(store.path()), 0o600);
    assert_eq!(mode(&dir), 0o700);
    assert!(
        !format!("{:?}", store.read().await.unwrap().0).contains("secret"),
        "Debug shows no secret"
    );
    // Nothing but the record is left in the directory (no temporary files).
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(store.remove().await.unwrap());
    assert!(!store.remove().await.unwrap());
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[tokio::test]
async fn an_unusable_file_reads_as_empty() {
    let dir = temp_dir("corrupt");
    let store = FileStore::new(dir.clone(), "http://127.0.0.1:8080");
    let other = FileStore::new(dir.clone(), "http://127.0.0.1:9090");
    assert_ne!(store.path(), other.path(), "one file per upstream");
    crate::private_file::make_dir(&dir).unwrap();
    for bad in [
        &b"{not json"[..],
        b"",
        b"\xff\xfe",
        br#"{"format":"fakegpt-store/99","upstream":"http://127.0.0.1:8080"}"#,
        br#"{"format":"fakegpt-store/1","upstream":"http://elsewhere"}"#,
        br#"[1, 2]"#,
    ] {
        std::fs::write(store.path(), bad).unwrap();
        let (record, found) = store.read().await.unwrap();
        assert!(!found && record.session.is_none());
        assert_eq!(record.upstream, "http://127.0.0.1:8080");
    }
    // The next write replaces it.
    store
        .write(&with_session("http://127.0.0.1:8080"))
        .await
        .unwrap();
    assert!(store.read().await.unwrap().1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_lock_is_held_until_dropped() {
    let dir = temp_dir("lock");
    let store = FileStore::new(dir.clone(), "http://127.0.0.1:8080");
    let held = store.lock(Duration::from_secs(1)).await.unwrap();
    // Another open file description, as another process would have.
    let err = store.lock(Duration::from_millis(100)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    drop(held);
    let again = store.lock(Duration::from_millis(100)).await;
    assert!(again.is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn file_names_are_readable_and_distinct() {
    let a = file_name("http://127.0.0.1:8080");
    let b = file_name("https://127.0.0.1:8080");
    assert!(a.starts_with("session-127.0.0.1_8080-"), "{a}");
    assert_ne!(a, b);
    assert!(file_name(&"x".repeat(500)).len() < 100);
}
