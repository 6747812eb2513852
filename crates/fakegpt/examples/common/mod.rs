//! What the floor examples share (see `bench/floors.sh`): the conversation
//! to receive, as the environment gives it, and the runtime `fakegpt chat`
//! runs an answer on.

#![allow(dead_code, reason = "each example uses a part of it")]

/// One conversation to receive, logged in beforehand: `URL`, `TOKEN` (the
/// access token), `COOKIE` (the session's `Cookie` header) and `BODY` (the
/// conversation request) from the environment.
pub struct Conversation {
    pub url: String,
    pub token: String,
    pub cookie: String,
    pub body: String,
}

impl Conversation {
    /// The conversation the environment names, or which variable is missing.
    pub fn from_env() -> Result<Self, String> {
        let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
        Ok(Conversation {
            url: var("URL")?,
            token: var("TOKEN")?,
            cookie: var("COOKIE")?,
            body: var("BODY")?,
        })
    }

    /// `HOST:PORT` of a plain `http://` URL, for the clients that connect
    /// themselves.
    pub fn address(&self) -> Result<String, String> {
        Ok(self
            .url
            .strip_prefix("http://")
            .ok_or("URL must be http://HOST:PORT")?
            .trim_end_matches('/')
            .to_owned())
    }
}

/// The runtime `fakegpt chat` answers on: one thread, looking for other
/// I/O every 1,024 task polls.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .event_interval(1024)
        .enable_all()
        .build()
}
