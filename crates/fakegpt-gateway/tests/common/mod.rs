//! What the gateway's integration tests share.

use std::sync::Arc;

use fakegpt::sse::EventSplitter;
use fakegpt::{Dialect, FakeGpt, Provider, RetryPolicy};
use fakegpt_gateway::{GatewayConfig, Running};
use fakegpt_upstream::{Config, Emulator};

/// An emulator with `config`, and a gateway (default settings) in front of
/// it whose provider asks for `dialect` and never retries; both alive
/// while the value lives.
#[allow(dead_code, reason = "not every test file starts one")]
pub struct Gateway {
    /// The gateway's base URL.
    pub url: String,
    /// The emulator, for its counters.
    pub upstream: Emulator,
    _running: Running,
}

#[allow(dead_code, reason = "not every test file starts one")]
impl Gateway {
    /// Starts both on loopback.
    pub async fn start(config: Config, dialect: Dialect) -> Gateway {
        let upstream = Emulator::start(config).await.expect("an emulator");
        let provider: Arc<dyn Provider> = Arc::new(
            FakeGpt::builder()
                .base_url(upstream.url())
                .dialect(dialect)
                .retry(RetryPolicy::NONE)
                .build()
                .expect("a provider"),
        );
        let running = Running::start(provider, GatewayConfig::default())
            .await
            .expect("a gateway");
        Gateway {
            url: running.url.clone(),
            upstream,
            _running: running,
        }
    }
}

/// The data of every event of an event-stream body, read with the same
/// server-sent events parser as the library's (which follows the standard,
/// so a body that only looks right, say events without the blank line,
/// does not pass).
pub fn sse_data(body: &str) -> Vec<String> {
    let mut splitter = EventSplitter::new(1 << 20);
    let mut data = Vec::new();
    let mut push = |event: fakegpt::sse::Event<'_>| {
        data.push(String::from_utf8(event.data.to_vec()).expect("UTF-8 event data"));
        true
    };
    splitter
        .feed(body.as_bytes(), &mut push)
        .expect("events of sane size");
    splitter.finish(&mut push).expect("events of sane size");
    data
}
