//! Several real `fakegpt serve` processes sharing one real `redis-server`,
//! in front of the emulator, as a fleet behind a load balancer runs: one
//! login between them, a lock holder that dies, Redis stopped, frozen and
//! paused under load, login refusals that the fleet does not multiply.
//! Loopback only; every process is started by the test and killed by id.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure must fail the test"
)]

mod common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::*;
use fakegpt_upstream::{Config, Emulator, Fault};

#[path = "../../fakegpt/tests/support/recorded.rs"]
mod recorded;
#[path = "../../fakegpt/tests/support/redis_server.rs"]
mod redis_server;

use recorded::last_token;

use redis_server::RedisServer;

/// The longest any one request of these tests may take.
const REQUEST_BOUND: Duration = Duration::from_secs(30);

/// `n` gateways on `redis`, in front of `upstream`, killed when dropped.
struct Fleet {
    servers: Vec<(Child, String)>,
}

impl Fleet {
    fn start(n: usize, upstream: &Emulator, redis: &RedisServer, extra: &[&str]) -> Fleet {
        let servers = (0..n)
            .map(|_| {
                fakegpt()
                    .args(["serve", "--port", "0", "--base-url", &upstream.url()])
                    .args(["--store", &redis.url(), "--store-prefix", "fleet-test:"])
                    .args(extra)
                    .stderr(Stdio::null())
                    .spawn_server()
            })
            .collect();
        Fleet { servers }
    }

    fn url(&self, i: usize) -> &str {
        &self.servers[i % self.servers.len()].1
    }

    fn kill(&mut self, i: usize) {
        let _ = self.servers[i].0.kill();
        let _ = self.servers[i].0.wait();
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for i in 0..self.servers.len() {
            self.kill(i);
        }
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_BOUND)
        .build()
        .unwrap()
}

/// Asks `prompt` of the gateway at `url`: the status and the body.
async fn ask(client: &reqwest::Client, url: &str, prompt: &str) -> (u16, serde_json::Value) {
    let (status, _, body) = send(client, url, None, prompt).await;
    (status, body)
}

/// Asks `prompt` of the gateway at `url`, with the API key `key` if any:
/// the status, `Retry-After` and the body.
async fn send(
    client: &reqwest::Client,
    url: &str,
    key: Option<&str>,
    prompt: &str,
) -> (u16, Option<u64>, serde_json::Value) {
    let mut request = client
        .post(format!("{url}/v1/chat/completions"))
        .json(&serde_json::json!({
            "model": "gpt-3.5-turbo",
            "messages": [{"role": "user", "content": prompt}],
        }));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request
        .send()
        .await
        .expect("every request ends within its bound");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    (
        status,
        retry_after,
        response.json().await.unwrap_or_default(),
    )
}

/// The answer's text.
fn content(body: &serde_json::Value) -> &str {
    body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default()
}

/// What `/readyz` says (`ready`, `degraded`, …).
async fn readiness(client: &reqwest::Client, url: &str) -> String {
    let body: serde_json::Value = client
        .get(format!("{url}/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["status"].as_str().unwrap_or_default().to_owned()
}

/// The `fakegpt_store_up` gauge of the gateway at `url`.
async fn store_up(client: &reqwest::Client, url: &str) -> i64 {
    let text = client
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix("fakegpt_store_up "))
        .and_then(|value| value.trim().parse().ok())
        .expect("a fakegpt_store_up gauge")
}

/// Polls `check` every 100 ms until it holds, for at most `within`.
async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn a_fleet_of_gateways_sharing_redis_makes_one_login() {
    let redis = RedisServer::start();
    let up = upstream(Config::default());
    let fleet = Fleet::start(3, &up.emulator, &redis, &[]);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let client = client();
        let requests = (0..60).map(|i| {
            let (client, url) = (client.clone(), fleet.url(i).to_owned());
            async move { ask(&client, &url, &format!("q{i}")).await }
        });
        let answers = futures_util::future::join_all(requests).await;
        for (i, (status, body)) in answers.iter().enumerate() {
            assert_eq!(*status, 200, "{body}");
            assert_eq!(content(body), up.emulator.reply_for(&format!("q{i}")));
        }
    });
    let counters = up.emulator.counters();
    assert_eq!(counters.logins, 1, "{counters:?}");
    assert!(
        redis
            .command("KEYS fleet-test:*")
            .is_some_and(|r| r.contains("session")),
        "the keys carry the prefix"
    );
    // What the fleet keeps, as `fakegpt session show` tells it.
    let shown = fakegpt()
        .args(["session", "show", "--base-url", &up.emulator.url()])
        .args(["--store", &redis.url(), "--store-prefix", "fleet-test:"])
        .bounded();
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.status.success() && text.contains("account    shared-account-"),
        "{text}"
    );
}

#[test]
fn a_gateway_started_while_redis_is_down_serves_degraded_and_joins_when_it_is_back() {
    let mut redis = RedisServer::start();
    redis.kill();
    let up = upstream(Config::default());
    let fleet = Fleet::start(1, &up.emulator, &redis, &[]);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let client = client();
        let (status, body) = ask(&client, fleet.url(0), "alone").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(readiness(&client, fleet.url(0)).await, "degraded");
        assert_eq!(store_up(&client, fleet.url(0)).await, 0);
        redis.restart();
        converged(&fleet, 1, &up.emulator).await;
        // It wrote its session back: a newcomer takes it up.
        eventually(
            Duration::from_secs(10),
            "the session is in Redis",
            || async {
                redis
                    .command("KEYS fleet-test:*:session")
                    .is_some_and(|r| r.contains(":session"))
            },
        )
        .await;
    });
    let newcomer = Fleet::start(1, &up.emulator, &redis, &[]);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let (status, _) = ask(&client(), newcomer.url(0), "newcomer").await;
        assert_eq!(status, 200);
    });
    assert_eq!(
        up.emulator.counters().logins,
        1,
        "{:?}",
        up.emulator.counters()
    );
}

#[test]
fn a_lock_holder_killed_mid_login_is_replaced_once_its_lock_expires() {
    let redis = RedisServer::start();
    let up = upstream(Config {
        login_delay: Duration::from_secs(3),
        ..Config::default()
    });
    let mut fleet = Fleet::start(2, &up.emulator, &redis, &[]);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let client = client();
        // The first instance starts a login (slow upstream) and holds the
        // lock while it runs...
        let first = tokio::spawn({
            let (client, url) = (client.clone(), fleet.url(0).to_owned());
            async move { client.post(format!("{url}/v1/chat/completions")).json(&serde_json::json!({"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": "lost"}]})).send().await }
        });
        eventually(Duration::from_secs(10), "the lock is taken", || async {
            redis
                .command("KEYS fleet-test:*:lock")
                .is_some_and(|r| r.contains(":lock"))
        })
        .await;
        // ...and dies there.
        fleet.kill(0);
        assert!(first.await.unwrap().is_err(), "its client saw it die");
        up.emulator
            .state()
            .update_config(|c| c.login_delay = Duration::ZERO);
        // The other waits for the dead holder's lock to expire, then logs in.
        let (status, body) = ask(&client, fleet.url(1), "after").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(content(&body), up.emulator.reply_for("after"));
    });
}

/// Runs `load` requests spread over the fleet while `disrupt` and then
/// `restore` act on Redis; every one must be answered.
async fn load_through(
    fleet: &Fleet,
    upstream: &Emulator,
    load: usize,
    during: impl std::future::Future<Output = ()>,
) {
    let client = client();
    let requests = (0..load).map(|i| {
        let (client, url) = (client.clone(), fleet.url(i).to_owned());
        async move {
            // Spread over the disruption.
            tokio::time::sleep(Duration::from_millis(50 * i as u64)).await;
            (i, ask(&client, &url, &format!("load {i}")).await)
        }
    });
    let (answers, ()) = tokio::join!(futures_util::future::join_all(requests), during);
    for (i, (status, body)) in answers {
        assert_eq!(status, 200, "request {i}: {body}");
        assert_eq!(content(&body), upstream.reply_for(&format!("load {i}")));
    }
}

/// Every instance says `degraded` and `fakegpt_store_up 0`.
async fn all_degraded(fleet: &Fleet, n: usize) {
    let client = client();
    for i in 0..n {
        let url = fleet.url(i);
        eventually(Duration::from_secs(10), "readyz says degraded", || async {
            readiness(&client, url).await == "degraded"
        })
        .await;
        assert_eq!(store_up(&client, url).await, 0);
    }
}

/// Every instance is ready again, and all of them answer with one token.
async fn converged(fleet: &Fleet, n: usize, upstream: &Emulator) {
    let client = client();
    for i in 0..n {
        let url = fleet.url(i);
        eventually(Duration::from_secs(15), "readyz says ready", || async {
            readiness(&client, url).await == "ready"
        })
        .await;
        assert_eq!(store_up(&client, url).await, 1);
    }
    let mut round = 0;
    eventually(Duration::from_secs(20), "one session fleet-wide", || {
        round += 1;
        let client = client.clone();
        async move {
            let mut tokens = Vec::new();
            for i in 0..n {
                let (status, _) = ask(&client, fleet.url(i), &format!("sync {round}")).await;
                assert_eq!(status, 200);
                tokens.push(last_token(upstream));
            }
            tokens.windows(2).all(|pair| pair[0] == pair[1])
        }
    })
    .await;
}

#[test]
fn a_fleet_carries_on_while_redis_is_paused_frozen_or_stopped() {
    let mut redis = RedisServer::start();
    let up = upstream(Config {
        event_delay: Duration::from_millis(2),
        ..Config::default()
    });
    let fleet = Fleet::start(3, &up.emulator, &redis, &[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        load_through(&fleet, &up.emulator, 6, async {}).await;
        assert_eq!(up.emulator.counters().logins, 1);

        // Paused: every command hangs for 6 s.
        load_through(&fleet, &up.emulator, 30, async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert!(redis
                .command("CLIENT PAUSE 6000 ALL")
                .is_some_and(|r| r.starts_with("+OK")));
            all_degraded(&fleet, 3).await;
        })
        .await;
        converged(&fleet, 3, &up.emulator).await;

        // Frozen (SIGSTOP): connections stay open, nothing answers.
        load_through(&fleet, &up.emulator, 30, async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            redis.freeze();
            all_degraded(&fleet, 3).await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            redis.thaw();
        })
        .await;
        converged(&fleet, 3, &up.emulator).await;

        // Stopped, and back empty (no persistence): the fleet writes its
        // session again rather than logging in.
        load_through(&fleet, &up.emulator, 30, async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            redis.kill();
            all_degraded(&fleet, 3).await;
            redis.restart();
        })
        .await;
        converged(&fleet, 3, &up.emulator).await;
        assert_eq!(
            up.emulator.counters().logins,
            1,
            "{:?}",
            up.emulator.counters()
        );

        // One session again: its expiry costs the fleet one login.
        up.emulator.state().revoke_tokens();
        let client = client();
        let requests = (0..9).map(|i| {
            let (client, url) = (client.clone(), fleet.url(i).to_owned());
            async move { ask(&client, &url, &format!("renewed {i}")).await }
        });
        for (status, body) in futures_util::future::join_all(requests).await {
            assert_eq!(status, 200, "{body}");
        }
        assert_eq!(
            up.emulator.counters().logins,
            2,
            "{:?}",
            up.emulator.counters()
        );
    });
}

#[test]
fn login_refusals_are_not_multiplied_by_the_fleet() {
    let redis = RedisServer::start();
    let up = upstream(Config::default());
    // Every account is busy for every login.
    up.emulator
        .inject(Fault::LoginBusy { retry_after: 30 }, u64::MAX);
    // One wave of requests, each tried once.
    let fleet = Fleet::start(3, &up.emulator, &redis, &["--max-attempts", "1"]);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let client = client();
        let requests = (0..30).map(|i| {
            let (client, url) = (client.clone(), fleet.url(i).to_owned());
            async move { send(&client, &url, None, &format!("storm {i}")).await }
        });
        for (status, retry_after, body) in futures_util::future::join_all(requests).await {
            assert_eq!(status, 429, "{body}");
            assert!(retry_after.is_some(), "{body}");
            assert!(body["error"]["message"].is_string(), "{body}");
        }
    });
    // One login's tries (three accounts), not one login per instance or
    // per request.
    let counters = up.emulator.counters();
    assert!(counters.faults <= 3, "{counters:?}");
    assert_eq!(counters.logins, 0);
}

/// Asks `prompt` with the API key `key`.
async fn ask_with_key(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    prompt: &str,
) -> (u16, Option<u64>, serde_json::Value) {
    send(client, url, Some(key), prompt).await
}

#[test]
fn a_fleet_wide_cap_and_key_rates_hold_across_instances() {
    let mut redis = RedisServer::start();
    // Answers that take about a second, so requests overlap.
    let up = upstream(Config {
        event_delay: Duration::from_millis(40),
        ..Config::default()
    });
    let limits = [
        "--max-concurrency-global",
        "4",
        "--key-rate-limit",
        "25/min",
        "--api-key",
        "sk-cap,sk-rate,sk-other,sk-free",
    ];
    let mut fleet = Fleet::start(3, &up.emulator, &redis, &limits);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = client();
        // Twelve at once over three instances: four slots fleet-wide.
        let burst = |round: usize| {
            let requests =
                (0..12).map(|i| {
                    let (client, url) = (client.clone(), fleet.url(i).to_owned());
                    async move {
                        ask_with_key(&client, &url, "sk-cap", &format!("cap {round} {i}")).await
                    }
                });
            futures_util::future::join_all(requests)
        };
        for round in 0..2 {
            let answers = burst(round).await;
            let served = answers
                .iter()
                .filter(|(status, _, _)| *status == 200)
                .count();
            assert_eq!(served, 4, "{answers:?}");
            for (status, retry_after, body) in &answers {
                if *status != 200 {
                    assert_eq!(*status, 429, "{body}");
                    assert_eq!(body["error"]["code"], "concurrency_limit_exceeded");
                    assert!(retry_after.is_some());
                }
            }
        }
        // Twenty-five a minute for one key, whichever instance counts it.
        up.emulator
            .state()
            .update_config(|c| c.event_delay = Duration::ZERO);
        let mut statuses = Vec::new();
        for i in 0..29 {
            let (status, retry_after, body) =
                ask_with_key(&client, fleet.url(i), "sk-rate", &format!("rate {i}")).await;
            if status == 429 {
                assert_eq!(body["error"]["code"], "rate_limit_exceeded", "{body}");
                assert!(
                    retry_after.is_some_and(|s| (1..=60).contains(&s)),
                    "{retry_after:?}"
                );
            }
            statuses.push(status);
        }
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            25,
            "{statuses:?}"
        );
        assert!(statuses[25..].iter().all(|s| *s == 429), "{statuses:?}");
        // Another key has its own minute.
        let (status, _, _) = ask_with_key(&client, fleet.url(0), "sk-other", "other key").await;
        assert_eq!(status, 200);

        // An instance that dies holding slots: they come back when its
        // leases expire.
        up.emulator
            .state()
            .update_config(|c| c.event_delay = Duration::from_secs(5));
        let held: Vec<_> = (0..4)
            .map(|i| {
                let (client, url) = (client.clone(), fleet.url(0).to_owned());
                tokio::spawn(async move {
                    ask_with_key(&client, &url, "sk-other", &format!("held {i}")).await
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (status, _, _) = ask_with_key(&client, fleet.url(1), "sk-other", "full").await;
        assert_eq!(status, 429, "the four slots are held");
        fleet.kill(0);
        for task in held {
            let _ = task.await;
        }
        up.emulator
            .state()
            .update_config(|c| c.event_delay = Duration::ZERO);
        let deadline = Instant::now() + Duration::from_secs(25);
        loop {
            let (status, _, body) = ask_with_key(&client, fleet.url(1), "sk-free", "freed").await;
            if status == 200 {
                break;
            }
            assert_eq!(
                body["error"]["code"], "concurrency_limit_exceeded",
                "{body}"
            );
            assert!(
                Instant::now() < deadline,
                "the dead instance's slots never came back"
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
        }

        // Redis gone: limits are this instance's own, service goes on.
        redis.kill();
        for i in 0..3 {
            let (status, _, body) =
                ask_with_key(&client, fleet.url(2), "sk-other", &format!("no redis {i}")).await;
            assert_eq!(status, 200, "{body}");
        }
    });
}
