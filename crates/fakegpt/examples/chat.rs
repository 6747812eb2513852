//! gpt4free's FakeGpt example ("Tell me a joke.") in Rust, runnable offline:
//!
//! ```text
//! cargo run -p fakegpt --example chat -- "Tell me a joke."
//! ```
//!
//! It starts the emulator in-process on a loopback port (a real service
//! would be `FakeGpt::shared()` or `FakeGpt::new(url)`), asks one question
//! and prints the answer as it streams in.

use fakegpt::{ChatRequest, FakeGpt, Message};
use futures_util::StreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prompt = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "Tell me a joke.".into());
    let upstream = fakegpt_upstream::Emulator::start(fakegpt_upstream::Config::default()).await?;

    let provider = FakeGpt::new(&upstream.url())?;
    let request = ChatRequest::new("gpt-3.5-turbo", vec![Message::user(prompt)]);
    let mut answer = provider.chat(request).await?;
    while let Some(chunk) = answer.next().await {
        print!("{}", chunk?);
    }
    println!();
    Ok(())
}
