//! The session's single-flight login, backoff and cooldowns, in memory.

use super::*;
use std::sync::atomic::AtomicUsize;

fn logged_in(token: &str) -> LoggedIn {
    LoggedIn {
        token: AccessToken::new(token),
        account: "acc".into(),
        password: "pw".into(),
    }
}

/// `n` callers asking `session` for a token at once, each login taking
/// 20 ms and succeeding or not; their results and the logins made.
async fn at_once(
    session: &Arc<Session>,
    n: usize,
    succeed: bool,
) -> (Vec<Result<AccessToken, Error>>, usize) {
    let calls = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (session, calls) = (Arc::clone(session), Arc::clone(&calls));
            tokio::spawn(async move {
                session
                    .token(|_| async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        if succeed {
                            Ok(logged_in("t"))
                        } else {
                            Err(super::super::login::no_accounts())
                        }
                    })
                    .await
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    (results, calls.load(Ordering::SeqCst))
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_share_one_login() {
    let session = Arc::new(Session::new());
    let (results, calls) = at_once(&session, 20, true).await;
    for result in results {
        assert_eq!(result.unwrap().expose(), "t");
    }
    assert_eq!(calls, 1);
    assert_eq!(session.logins(), 1);
}

#[tokio::test]
async fn invalidating_a_stale_token_is_a_no_op() {
    let session = Arc::new(Session::new());
    let first = session
        .token(|_| async { Ok(logged_in("a")) })
        .await
        .unwrap();
    session.invalidate(&first).await;
    let second = session
        .token(|_| async { Ok(logged_in("b")) })
        .await
        .unwrap();
    session.invalidate(&first).await;
    assert!(session.has_token().await);
    assert_eq!(second.expose(), "b");
    assert_eq!(format!("{second:?}"), "AccessToken([redacted])");
}

#[tokio::test(start_paused = true)]
async fn failed_logins_hold_back_the_next_one() {
    let session = Arc::new(Session::with(
        Arc::default(),
        LoginBackoff {
            base: Duration::from_millis(200),
            max: Duration::from_secs(1),
        },
        Backend::Memory,
        "http://upstream",
    ));
    let calls = AtomicUsize::new(0);
    let fail = |_| async {
        calls.fetch_add(1, Ordering::SeqCst);
        Err(super::super::login::no_accounts())
    };
    assert!(session.token(fail).await.is_err());
    assert!(session.token(fail).await.is_err());
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the second caller got the last failure"
    );
    tokio::time::advance(Duration::from_millis(150)).await;
    assert!(session.token(fail).await.is_err(), "still held back");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    tokio::time::advance(Duration::from_millis(100)).await;
    let ok = session.token(|_| async { Ok(logged_in("t")) }).await;
    assert_eq!(ok.unwrap().expose(), "t");
    assert_eq!(LoginBackoff::default().after(3), Duration::from_secs(4));
    assert_eq!(LoginBackoff::default().after(30), Duration::from_secs(60));
}

#[tokio::test(start_paused = true)]
async fn accounts_cool_down_for_a_while() {
    let session = Session::new();
    session.cool_down("a", Duration::from_secs(50));
    assert!(session.cooling_down("a") && !session.cooling_down("b"));
    tokio::time::advance(Duration::from_secs(49)).await;
    assert!(session.cooling_down("a"));
    tokio::time::advance(Duration::from_secs(2)).await;
    assert!(!session.cooling_down("a"));
}

#[tokio::test(start_paused = true)]
async fn waiters_share_a_failed_login() {
    let session = Arc::new(Session::new());
    let (results, calls) = at_once(&session, 10, false).await;
    for result in results {
        assert_eq!(
            result.unwrap_err().kind(),
            crate::error::ErrorKind::Rejected
        );
    }
    // The first caller logs in; callers already waiting share its failure.
    assert_eq!(calls, 1);
}
