//! The Redis store against the emulator over loopback HTTP, with a real
//! `redis-server` per test: providers sharing it behave as one fleet (one
//! login, one re-login, shared cooldowns and backoff), carry on without it,
//! and converge on one session when it returns.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

use std::time::Duration;

use fakegpt::{ChatRequest, ErrorKind, FakeGpt, Message, Provider as _, Store};
use fakegpt_upstream::{Account, Config, Emulator, Fault};

#[path = "support/asking.rs"]
mod asking;
#[path = "support/recorded.rs"]
mod recorded;
#[path = "support/redis_server.rs"]
mod redis_server;

use asking::{ask, provider};
use recorded::{last_token, login_accounts};

fn redis_store(server: &redis_server::RedisServer) -> Store {
    server.url().parse().unwrap()
}

/// Whether the provider's `store_up` gauge says 1.
fn store_up(provider: &FakeGpt) -> bool {
    provider
        .gauges()
        .iter()
        .find(|g| g.name == "store_up")
        .expect("a store_up gauge")
        .value
        == 1
}

#[tokio::test]
async fn providers_sharing_redis_make_one_login_and_renew_once() {
    let redis = redis_server::RedisServer::start();
    let upstream = Emulator::start(Config {
        token_expires_after: Some(12),
        ..Config::default()
    })
    .await
    .unwrap();
    // Five "instances" with first requests at once, two each.
    let providers: Vec<FakeGpt> = (0..5)
        .map(|_| provider(&upstream, redis_store(&redis)))
        .collect();
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let provider = providers[i % 5].clone();
            tokio::spawn(async move { ask(&provider, &format!("q{i}")).await })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.unwrap(), upstream.reply_for(&format!("q{i}")));
    }
    assert_eq!(upstream.counters().logins, 1, "{:?}", upstream.counters());
    // The token lasts 12 conversations: the next ones are refused once,
    // on two instances at once, and renewed once for all.
    ask(&providers[0], "12").await;
    ask(&providers[1], "13").await;
    let (a, b) = tokio::join!(ask(&providers[2], "14"), ask(&providers[3], "15"));
    assert_eq!((a, b), (upstream.reply_for("14"), upstream.reply_for("15")));
    ask(&providers[4], "16").await;
    assert_eq!(upstream.counters().logins, 2, "{:?}", upstream.counters());
    // What is kept, without secrets; the URL's password never shown.
    let summary = redis_store(&redis)
        .summary(&upstream.url())
        .await
        .unwrap()
        .unwrap();
    assert!(summary.account.starts_with("shared-account-"));
    assert!(redis_store(&redis).clear(&upstream.url()).await.unwrap());
}

#[tokio::test]
async fn a_redis_that_goes_away_degrades_service_and_does_not_stop_it() {
    let mut redis = redis_server::RedisServer::start();
    let upstream = Emulator::start(Config::default()).await.unwrap();
    let first = provider(&upstream, redis_store(&redis));
    ask(&first, "before").await;
    redis.kill();
    // The process keeps its session: no new login.
    assert_eq!(ask(&first, "during").await, upstream.reply_for("during"));
    assert_eq!(upstream.counters().logins, 1);
    // A new instance with Redis gone logs in on its own.
    let fresh = provider(&upstream, redis_store(&redis));
    assert_eq!(ask(&fresh, "fresh").await, upstream.reply_for("fresh"));
    assert_eq!(upstream.counters().logins, 2);
}

#[test]
fn a_redis_url_is_shown_without_its_password() {
    let store: Store = "redis://user:s3cret@127.0.0.1:6379/2".parse().unwrap();
    assert!(!store.to_string().contains("s3cret"), "{store}");
    assert!(!format!("{store:?}").contains("s3cret"));
    let err = "nope://user:s3cret@x".parse::<Store>().unwrap_err();
    assert!(!err.to_string().contains("s3cret"), "{err}");
}

#[tokio::test]
async fn a_frozen_redis_is_waited_on_once_then_left_alone_until_it_is_back() {
    let redis = redis_server::RedisServer::start();
    let upstream = Emulator::start(Config::default()).await.unwrap();
    let first = provider(&upstream, redis_store(&redis));
    ask(&first, "before").await;
    redis.freeze();
    // An instance without a session while Redis hangs: it gives up on
    // Redis, logs in on its own, and answers.
    let second = provider(&upstream, redis_store(&redis));
    assert_eq!(ask(&second, "frozen").await, upstream.reply_for("frozen"));
    assert_eq!(ask(&first, "still").await, upstream.reply_for("still"));
    assert_eq!(upstream.counters().logins, 2);
    redis.thaw();
    // Back: after its rest, a third instance takes up the kept session.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let third = provider(&upstream, redis_store(&redis));
    assert_eq!(ask(&third, "thawed").await, upstream.reply_for("thawed"));
    assert_eq!(upstream.counters().logins, 2, "{:?}", upstream.counters());
}

#[tokio::test]
async fn a_refused_login_cools_its_account_down_on_every_instance() {
    let redis = redis_server::RedisServer::start();
    // The idle account is tried first; it is busy once, so the login moves
    // on to the other one.
    let upstream = Emulator::start(Config {
        accounts: vec![Account::new("idle", 0), Account::new("busy-ish", 3)],
        ..Config::default()
    })
    .await
    .unwrap();
    upstream.inject(Fault::LoginBusy { retry_after: 60 }, 1);
    let a = provider(&upstream, redis_store(&redis));
    ask(&a, "on a").await;
    assert_eq!(login_accounts(&upstream), ["idle", "busy-ish"]);
    // Every token expires; another instance logs in again and, knowing
    // from the store that `idle` asked for 60 s, leaves it alone.
    upstream.state().revoke_tokens();
    let b = provider(&upstream, redis_store(&redis));
    assert_eq!(ask(&b, "on b").await, upstream.reply_for("on b"));
    assert_eq!(login_accounts(&upstream), ["idle", "busy-ish", "busy-ish"]);
}

#[tokio::test]
async fn a_failed_login_holds_back_the_logins_of_every_instance() {
    let redis = redis_server::RedisServer::start();
    let upstream = Emulator::start(Config::default()).await.unwrap();
    upstream.inject(Fault::EmptyLoads, 1);
    let a = provider(&upstream, redis_store(&redis));
    let request = || ChatRequest::new("gpt-3.5-turbo", vec![Message::user("hi")]);
    let refused = a.chat(request()).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Rejected);
    let loads = upstream.counters().loads;
    // Other instances, within the backoff: the same failure, at once, with
    // the time to wait, and not one request to the upstream.
    for _ in 0..3 {
        let b = provider(&upstream, redis_store(&redis));
        let held = b.chat(request()).await.unwrap_err();
        assert_eq!(held.kind(), ErrorKind::Rejected);
        assert!(held.message().contains("held back"), "{held}");
        assert!(held.retry_after().is_some());
    }
    assert_eq!(
        upstream.counters().loads,
        loads,
        "{:?}",
        upstream.counters()
    );
    // After it, the next login runs (and succeeds).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let c = provider(&upstream, redis_store(&redis));
    assert_eq!(ask(&c, "later").await, upstream.reply_for("later"));
    assert_eq!(upstream.counters().logins, 1);
}

#[tokio::test]
async fn a_login_longer_than_the_lock_still_makes_one_login() {
    let redis = redis_server::RedisServer::start();
    // Longer than the lock's 10 s time to live: its holder renews it.
    let upstream = Emulator::start(Config {
        login_delay: Duration::from_secs(11),
        ..Config::default()
    })
    .await
    .unwrap();
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let provider = provider(&upstream, redis_store(&redis));
            tokio::spawn(async move {
                if i > 0 {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                ask(&provider, &format!("slow {i}")).await
            })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(
            task.await.unwrap(),
            upstream.reply_for(&format!("slow {i}"))
        );
    }
    assert_eq!(upstream.counters().logins, 1, "{:?}", upstream.counters());
}

#[tokio::test]
async fn instances_converge_on_one_session_when_redis_returns() {
    let mut redis = redis_server::RedisServer::start();
    let upstream = Emulator::start(Config::default()).await.unwrap();
    let a = provider(&upstream, redis_store(&redis));
    let b = provider(&upstream, redis_store(&redis));
    redis.kill();
    // Redis is gone: each instance logs in on its own, and says so.
    ask(&a, "a alone").await;
    let token_a = last_token(&upstream);
    ask(&b, "b alone").await;
    let token_b = last_token(&upstream);
    assert_ne!(token_a, token_b);
    assert_eq!(upstream.counters().logins, 2);
    assert!(!store_up(&a) && a.degraded().is_some());
    // Redis comes back empty (a restart without persistence). After the
    // instances' rest, their next requests sync in the background: the
    // first saves its session, the other takes it up.
    redis.restart();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let mut converged = false;
    for round in 0..50 {
        ask(&a, &format!("a {round}")).await;
        let now_a = last_token(&upstream);
        ask(&b, &format!("b {round}")).await;
        if last_token(&upstream) == now_a {
            converged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(converged, "the instances never shared one session again");
    assert!(a.ready().await.is_ok());
    assert!(store_up(&a) && a.degraded().is_none());
    assert!(store_up(&b) && b.degraded().is_none());
    assert_eq!(upstream.counters().logins, 2, "no login to converge");
    // A newcomer takes it up too.
    let c = provider(&upstream, redis_store(&redis));
    ask(&c, "newcomer").await;
    assert_eq!(upstream.counters().logins, 2);
}

#[tokio::test]
async fn a_flushed_redis_costs_one_login_for_the_fleet() {
    let redis = redis_server::RedisServer::start();
    let upstream = Emulator::start(Config::default()).await.unwrap();
    let fleet: Vec<FakeGpt> = (0..3)
        .map(|_| provider(&upstream, redis_store(&redis)))
        .collect();
    for (i, instance) in fleet.iter().enumerate() {
        ask(instance, &format!("before {i}")).await;
    }
    assert_eq!(upstream.counters().logins, 1);
    assert!(redis
        .command("FLUSHALL")
        .is_some_and(|r| r.starts_with("+OK")));
    upstream.state().revoke_tokens();
    let asks = fleet.iter().enumerate().map(|(i, instance)| {
        let instance = instance.clone();
        async move { ask(&instance, &format!("after {i}")).await }
    });
    futures_util::future::join_all(asks).await;
    assert_eq!(upstream.counters().logins, 2, "{:?}", upstream.counters());
}
