//! # fakegpt
//!
//! gpt4free's **FakeGpt** provider in Rust: a client of the "chat-shared"
//! ChatGPT mirror, usable from async code, from blocking code, and through
//! the `fakegpt` command and gateway built on it.
//!
//! What this crate owns:
//! - [`message`]: chat messages, with roles and string-or-parts content;
//! - [`prompt`]: [`format_prompt`], gpt4free's flattening of a history;
//! - [`provider`]: the object-safe [`Provider`] trait (a request in, a
//!   stream of text chunks out) and a [`Registry`] of providers;
//! - [`fakegpt`]: the FakeGpt provider (login, shared session, the
//!   conversation request);
//! - [`decode`]: the event-stream decoder (bytes → lines → events →
//!   cumulative text → new text), independent of any HTTP library;
//! - [`blocking`]: a facade for callers without an async runtime;
//! - [`Error`]: the one error type.
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

pub mod blocking;
pub mod decode;
mod error;
pub mod fakegpt;
pub mod message;
pub mod prompt;
pub mod provider;

pub use error::{Error, Step, TimeoutKind};
pub use fakegpt::FakeGpt;
pub use message::{Content, ContentPart, Message, Role};
pub use prompt::format_prompt;
pub use provider::{
    ChatRequest, Provider, Registry, RequestOptions, RetryPolicy, TextStream, Timeouts,
};

/// The README's code blocks, compiled as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
