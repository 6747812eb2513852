//! The file store against the emulator over loopback HTTP: providers that
//! share a store directory, as separate `fakegpt chat` processes do, make
//! one login between them and take up each other's session. (Redis: see
//! `fleet.rs`.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;

use fakegpt::Store;
use fakegpt_upstream::{Config, Emulator};

/// A fresh store directory, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!(
            "fakegpt-store-test-{name}-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        Dir(dir)
    }

    fn store(&self) -> Store {
        Store::File {
            dir: self.0.clone(),
        }
    }

    fn files(&self) -> Vec<PathBuf> {
        std::fs::read_dir(&self.0)
            .map(|entries| entries.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[path = "support/asking.rs"]
mod asking;
use asking::{ask, provider};

#[tokio::test]
async fn ten_providers_one_after_another_make_one_login() {
    let upstream = Emulator::start(Config::default()).await.unwrap();
    let dir = Dir::new("sequential");
    for i in 0..10 {
        let prompt = format!("run {i}");
        let provider = provider(&upstream, dir.store());
        assert_eq!(ask(&provider, &prompt).await, upstream.reply_for(&prompt));
    }
    assert_eq!(upstream.counters().logins, 1, "{:?}", upstream.counters());
    assert_eq!(upstream.counters().conversations, 10);
    // The memory store keeps nothing: each provider logs in.
    let memory = Emulator::start(Config::default()).await.unwrap();
    for _ in 0..3 {
        ask(&provider(&memory, Store::Memory), "x").await;
    }
    assert_eq!(memory.counters().logins, 3);
}

#[tokio::test]
async fn providers_started_at_once_make_one_login() {
    let upstream = Emulator::start(Config::default()).await.unwrap();
    let dir = Dir::new("concurrent");
    let tasks: Vec<_> = (0..5)
        .map(|i| {
            let provider = provider(&upstream, dir.store());
            tokio::spawn(async move { ask(&provider, &format!("at once {i}")).await })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(
            task.await.unwrap(),
            upstream.reply_for(&format!("at once {i}"))
        );
    }
    assert_eq!(upstream.counters().logins, 1, "{:?}", upstream.counters());
}

#[tokio::test]
async fn the_store_is_private_and_holds_no_secret_in_its_summary() {
    let upstream = Emulator::start(Config::default()).await.unwrap();
    let dir = Dir::new("private");
    ask(&provider(&upstream, dir.store()), "x").await;
    let mode = |p: &PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.0), 0o700);
    let files = dir.files();
    assert!(!files.is_empty());
    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    let summary = dir.store().summary(&upstream.url()).await.unwrap().unwrap();
    assert_eq!(summary.upstream, upstream.url().trim_end_matches('/'));
    assert!(!summary.account.is_empty());
    assert!(summary.age().as_secs() < 60);
    let shown = format!("{summary:?}");
    let kept = std::fs::read_to_string(
        files
            .iter()
            .find(|f| f.extension().is_some_and(|e| e == "json"))
            .unwrap(),
    )
    .unwrap();
    let record: serde_json::Value = serde_json::from_str(&kept).unwrap();
    let token = record["session"]["access_token"].as_str().unwrap();
    assert!(!shown.contains(token), "no token in the summary");
    for password in record["passwords"].as_object().unwrap().values() {
        assert!(!shown.contains(password.as_str().unwrap()));
    }
    // Cleared, the next provider logs in again.
    assert!(dir.store().clear(&upstream.url()).await.unwrap());
    assert!(dir
        .store()
        .summary(&upstream.url())
        .await
        .unwrap()
        .is_none());
    ask(&provider(&upstream, dir.store()), "y").await;
    assert_eq!(upstream.counters().logins, 2);
}

#[tokio::test]
async fn an_expired_session_is_renewed_once_for_everyone() {
    let upstream = Emulator::start(Config {
        token_expires_after: Some(3),
        ..Config::default()
    })
    .await
    .unwrap();
    let dir = Dir::new("expiry");
    let (a, b) = (
        provider(&upstream, dir.store()),
        provider(&upstream, dir.store()),
    );
    ask(&a, "1").await;
    ask(&b, "2").await;
    ask(&a, "3").await;
    assert_eq!(upstream.counters().logins, 1);
    // The token is spent: A sees 401, logs in again and saves; B, which
    // still holds the old token, sees 401 too and takes up A's session.
    ask(&a, "4").await;
    assert_eq!(upstream.counters().logins, 2);
    ask(&b, "5").await;
    assert_eq!(upstream.counters().logins, 2, "{:?}", upstream.counters());
    assert_eq!(upstream.counters().unauthorized, 2);
}

#[tokio::test]
async fn a_corrupt_file_means_a_fresh_login_not_a_failure() {
    let upstream = Emulator::start(Config::default()).await.unwrap();
    let dir = Dir::new("corrupt");
    ask(&provider(&upstream, dir.store()), "x").await;
    let file = dir
        .files()
        .into_iter()
        .find(|f| f.extension().is_some_and(|e| e == "json"))
        .unwrap();
    std::fs::write(&file, b"{\"format\": \"fakegpt-store/1\", \"upst").unwrap();
    assert_eq!(
        ask(&provider(&upstream, dir.store()), "y").await,
        upstream.reply_for("y")
    );
    assert_eq!(upstream.counters().logins, 2);
    // ... and the file is whole again for the next one.
    ask(&provider(&upstream, dir.store()), "z").await;
    assert_eq!(upstream.counters().logins, 2);
}

#[tokio::test]
async fn a_store_that_cannot_be_written_degrades_to_memory() {
    let upstream = Emulator::start(Config::default()).await.unwrap();
    let dir = Dir::new("unwritable");
    // A regular file where the directory should be.
    std::fs::write(&dir.0, b"in the way").unwrap();
    let provider = provider(&upstream, dir.store());
    assert_eq!(ask(&provider, "x").await, upstream.reply_for("x"));
    assert_eq!(ask(&provider, "y").await, upstream.reply_for("y"));
    assert_eq!(
        upstream.counters().logins,
        1,
        "the session lives on in memory"
    );
    std::fs::remove_file(&dir.0).unwrap();
}
