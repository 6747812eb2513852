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

use futures_util::StreamExt;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let (url, token, cookie, body) = (var("URL")?, var("TOKEN")?, var("COOKIE")?, var("BODY")?);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .event_interval(1024)
        .enable_all()
        .build()?;
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
