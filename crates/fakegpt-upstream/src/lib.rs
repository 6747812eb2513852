//! # fakegpt-upstream
//!
//! A faithful emulator of the chat-shared ChatGPT mirror that gpt4free's
//! FakeGpt provider talked to (offline since 2024): the project's test peer
//! and demo backend. It owns:
//!
//! - [`routes`]: the endpoints — `GET /api/loads`, `POST /auth/login` (real
//!   cookie sessions, a redirect on success), `GET /api/auth/session`
//!   (access tokens tied to sessions), `POST /api/conversation` (Bearer
//!   token and cookie checked, body validated, an event stream of the
//!   answer: cumulative legacy events, or delta-encoded `v1` frames as the
//!   [`Dialect`] says), and `GET /_emulator/counters` for tests and demos;
//! - `conversations`: the conversations it keeps per account and session
//!   password (continued, continued after a cut, regenerated; `404`/`400`
//!   as the real service answers);
//! - [`reply`]: the deterministic replies (prose full of text JSON must
//!   escape, Markdown, or HTML/JS payloads), and the reasoning shown before
//!   them;
//! - [`config`]: streaming switches (dialect, characters per event, delay,
//!   CRLF, random small writes, noise, reasoning, fresh times);
//! - [`Fault`]: the misbehaviours it injects on demand, and their names;
//! - [`state`]: sessions, tokens and the [`Counters`] tests read.
//!
//! [`Emulator::start`] runs it on a free loopback port for tests and for
//! `fakegpt --local`; [`Emulator::start_on`] runs it on a listener the
//! caller owns (`fakegpt upstream`).

pub mod config;
mod conversations;
mod fault;
pub mod reply;
mod request;
pub mod routes;
pub mod state;
mod stream;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

pub use config::{Account, Config, Dialect, Replies};
pub use conversations::reply_in_turn;
pub use fault::{Fault, FaultSpec};
pub use reply::{reasoning_for, reply_for};
pub use state::{Counters, State};

/// Accepts connections with `TCP_NODELAY`: events are small writes, and
/// without it Nagle's algorithm holds the last one back until the client's
/// delayed ACK (~40 ms).
fn nodelay(listener: tokio::net::TcpListener) -> impl axum::serve::Listener<Addr = SocketAddr> {
    use axum::serve::ListenerExt;
    listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    })
}

/// A running emulator on a loopback port, stopped when dropped.
pub struct Emulator {
    addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
    /// The certificate to trust, when it serves HTTPS.
    cert_pem: Option<String>,
}

impl Emulator {
    /// Starts an emulator on `127.0.0.1` on a free port.
    pub async fn start(config: Config) -> std::io::Result<Emulator> {
        Self::start_on(tokio::net::TcpListener::bind("127.0.0.1:0").await?, config)
    }

    /// Starts an emulator on a listener the caller bound.
    pub fn start_on(
        listener: tokio::net::TcpListener,
        config: Config,
    ) -> std::io::Result<Emulator> {
        let addr = listener.local_addr()?;
        let listener = nodelay(listener);
        Ok(Self::spawn(listener, addr, config, None))
    }

    /// Starts an emulator serving HTTPS on `127.0.0.1` on a free port, with
    /// a fresh self-signed certificate for `localhost` and `127.0.0.1`
    /// (see [`Emulator::certificate_pem`]).
    pub async fn start_tls(config: Config) -> std::io::Result<Emulator> {
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = tcp.local_addr()?;
        let identity = tls::Identity::self_signed()?;
        let listener = tls::TlsListener::new(tcp, &identity);
        Ok(Self::spawn(listener, addr, config, Some(identity.cert_pem)))
    }

    fn spawn<L>(listener: L, addr: SocketAddr, config: Config, cert_pem: Option<String>) -> Emulator
    where
        L: axum::serve::Listener,
        L::Addr: std::fmt::Debug,
    {
        let state = State::new(config);
        let router = routes::router(Arc::clone(&state));
        let task = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, router).await {
                tracing::error!(%err, "the emulator stopped");
            }
        });
        Emulator {
            addr,
            state,
            task,
            cert_pem,
        }
    }

    /// The certificate clients must trust, when it serves HTTPS.
    pub fn certificate_pem(&self) -> Option<&str> {
        self.cert_pem.as_deref()
    }

    fn scheme(&self) -> &'static str {
        if self.cert_pem.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL, `http://127.0.0.1:PORT` (`https://` with TLS).
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme(), self.addr)
    }

    /// Its base URL by host name, `http://localhost:PORT` (for clients whose
    /// cookie jars ignore cookies from IP addresses, such as aiohttp's).
    pub fn localhost_url(&self) -> String {
        format!("{}://localhost:{}", self.scheme(), self.addr.port())
    }

    /// Its shared state: configuration, faults, counters.
    pub fn state(&self) -> &Arc<State> {
        &self.state
    }

    /// A snapshot of its counters.
    pub fn counters(&self) -> Counters {
        self.state.counters()
    }

    /// Injects `fault` for the next `times` requests to its endpoint.
    pub fn inject(&self, fault: Fault, times: u64) {
        self.state.inject(fault, times);
    }

    /// The reply it gives to `prompt` under its current configuration.
    pub fn reply_for(&self, prompt: &str) -> String {
        let config = self.state.config();
        config.replies.reply(prompt, config.reply_chars)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}
