//! The floor of any client built on reqwest and hyper: one conversation's
//! body drained and thrown away, logged in beforehand, on the same
//! features and runtime as `fakegpt chat` (see `bench/floors.sh`).
//!
//! ```text
//! URL=… TOKEN=… COOKIE=… BODY=… cargo run --release -p fakegpt --example floor_reqwest
//! ```
//!
//! `TOKEN` is the access token, `COOKIE` the session's `Cookie` header and
//! `BODY` the conversation request. Prints the bytes and HTTP chunks read.

mod common;

use futures_util::StreamExt;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let common::Conversation {
        url,
        token,
        cookie,
        body,
    } = common::Conversation::from_env()?;
    let runtime = common::runtime()?;
    runtime.block_on(async move {
        tokio::spawn(async move {
            let response = reqwest::Client::new()
                .post(format!("{url}/api/conversation"))
                .header("content-type", "application/json")
                .header("accept", "text/event-stream")
                .header("x-authorization", format!("Bearer {token}"))
                .header("cookie", cookie)
                .body(body)
                .send()
                .await?
                .error_for_status()?;
            let mut body = response.bytes_stream();
            let (mut bytes, mut chunks) = (0, 0);
            while let Some(chunk) = body.next().await {
                bytes += chunk?.len();
                chunks += 1;
            }
            eprintln!("{bytes} bytes in {chunks} chunks");
            Ok::<_, reqwest::Error>(())
        })
        .await??;
        Ok(())
    })
}
