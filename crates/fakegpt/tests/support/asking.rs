//! A provider on a store, and a question asked of it, for the store tests.

use fakegpt::{ChatRequest, FakeGpt, Message, Store};
use fakegpt_upstream::Emulator;

/// A provider for `upstream` keeping its session in `store`.
pub fn provider(upstream: &Emulator, store: Store) -> FakeGpt {
    FakeGpt::builder()
        .base_url(upstream.url())
        .store(store)
        .build()
        .unwrap()
}

/// Asks `prompt`; the whole answer (the test fails on an error).
pub async fn ask(provider: &FakeGpt, prompt: &str) -> String {
    let request = ChatRequest::new("gpt-3.5-turbo", vec![Message::user(prompt)]);
    provider.chat(request).await.unwrap().text().await.unwrap()
}
