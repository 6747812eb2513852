//! # fakegpt
//!
//! gpt4free's **FakeGpt** provider in Rust — a client of the "chat-shared"
//! ChatGPT mirror — behind a provider-neutral core, usable from async code,
//! from blocking code, and through the `fakegpt` command and gateway built
//! on it.
//!
//! The core knows no upstream:
//! - [`Message`] (roles, string-or-parts content) and [`format_prompt`],
//!   gpt4free's flattening of a history;
//! - [`ChatRequest`]: the model, the messages, and per-request overrides
//!   ([`RequestOptions`]: proxy, [`Timeouts`], [`RetryPolicy`]);
//! - the object-safe [`Provider`] trait: a request in, an [`Answer`] out —
//!   the first text already in hand, then the rest as a stream, then the
//!   [`FinishReason`];
//! - [`Error`], whose [`ErrorKind`] callers match on;
//! - [`blocking`]: a facade for callers without an async runtime.
//!
//! [`FakeGpt`] is the provider: the login flow, the shared session, the
//! conversation request and the event-stream decoder are its own, private
//! business; its steps appear only as the context of its errors. Its
//! defaults (proxy, time limits, retries, user agent, HTTP client) are set
//! on [`FakeGptBuilder`], and so is where its session is kept: a [`Store`]
//! in memory, in a file shared by the processes of one user, or in Redis
//! shared by a fleet of gateways.
//!
//! ```no_run
//! use fakegpt::{ChatRequest, FakeGpt, Message};
//! use futures_util::StreamExt;
//!
//! # async fn demo() -> Result<(), fakegpt::Error> {
//! let provider = FakeGpt::new("http://127.0.0.1:8080")?; // e.g. `fakegpt upstream`
//! let request = ChatRequest::new("gpt-3.5-turbo", vec![Message::user("Tell me a joke.")]);
//! let mut answer = provider.chat(request).await?;
//! while let Some(chunk) = answer.next().await {
//!     print!("{}", chunk?);
//! }
//! # Ok(())
//! # }
//! ```

mod answer;
pub mod blocking;
mod chat_shared;
mod error;
mod handle;
mod message;
mod prompt;
mod provider;
mod request;

pub use answer::{Answer, Chunk, ChunkStream, FinishReason};
pub use chat_shared::{
    ConversationIndex, Dialect, FakeGpt, FakeGptBuilder, Fleet, Lease, SessionSummary, Store,
};
pub use error::{Error, ErrorKind, TimeoutKind};
pub use handle::{Conversation, ConversationMode, HistoryHash};
pub use message::{Content, ContentPart, Message, Role};
pub use prompt::format_prompt;
pub use provider::{BoxFuture, Counter, Gauge, Provider};
pub use request::{ChatRequest, RequestOptions, RetryPolicy, Timeouts};

/// The FakeGpt event-stream decoder, for this project's benchmarks, fuzz
/// targets and property tests; not part of the supported API.
#[doc(hidden)]
pub use chat_shared::decode;

/// Files that hold secrets (0600, written whole), for this project's
/// crates; not part of the supported API.
#[doc(hidden)]
pub mod private_file;

/// The server-sent events parser every event stream of the project goes
/// through; for this project's crates, not part of the supported API.
#[doc(hidden)]
pub mod sse;

/// The README's code blocks, compiled as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
