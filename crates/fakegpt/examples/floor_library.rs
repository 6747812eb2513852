//! The library alone: one answer from an upstream (logging in, decoding
//! either dialect), its text counted and thrown away, on the runtime
//! `fakegpt chat` uses; what the command adds is the rest (see
//! `bench/floors.sh`).
//!
//! ```text
//! cargo run --release -p fakegpt --example floor_library -- URL [legacy|v1] [PROMPT]
//! ```

mod common;

use fakegpt::{ChatRequest, Chunk, Dialect, FakeGpt, Message, Store};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or("usage: floor_library URL [legacy|v1] [PROMPT]")?;
    let dialect = match args.next().as_deref() {
        None | Some("legacy") => Dialect::Legacy,
        Some("v1") => Dialect::V1,
        Some(other) => return Err(format!("unknown dialect {other:?}").into()),
    };
    let prompt = args.next().unwrap_or_else(|| "Tell me a long story".into());
    let runtime = common::runtime()?;
    runtime.block_on(async move {
        tokio::spawn(async move {
            let provider = FakeGpt::builder()
                .base_url(&url)
                .dialect(dialect)
                .store(Store::Memory)
                .build()?;
            let request = ChatRequest::new("gpt-3.5-turbo", vec![Message::user(prompt)]);
            let mut answer = provider.chat(request).await?;
            let (mut bytes, mut pieces) = (0, 0);
            while let Some(chunk) = answer.next_chunk().await {
                if let Chunk::Text(text) = chunk? {
                    bytes += text.len();
                    pieces += 1;
                }
            }
            eprintln!("{bytes} bytes of answer in {pieces} pieces");
            Ok::<_, fakegpt::Error>(())
        })
        .await??;
        Ok(())
    })
}
