//! Counting `cl100k_base` tokens: the gateway's compact encoding beside
//! `tiktoken-rs` on the same texts (an English document, an emulator reply
//! mixing scripts, and one 64 KiB run of a single letter — the case where a
//! naive merge is quadratic).
//!
//! ```text
//! cargo bench -p fakegpt-gateway --bench tokens
//! ```

#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]
#![allow(
    clippy::expect_used,
    reason = "a benchmark's set-up may stop on a broken invariant"
)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use fakegpt_gateway::tokens::Encoding;

fn count(c: &mut Criterion) {
    let ours = Encoding::cl100k_base().expect("the embedded encoding loads");
    let reference = tiktoken_rs::cl100k_base().expect("tiktoken-rs loads");
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md reads");
    let texts = [
        ("readme", readme),
        (
            "reply",
            fakegpt_upstream::reply_for("Tell me a story", 16_000),
        ),
        ("one-letter-run", "a".repeat(64 * 1024)),
    ];
    let mut group = c.benchmark_group("count");
    for (name, text) in &texts {
        assert_eq!(
            ours.count(text).expect("splits"),
            reference.encode_with_special_tokens(text).len() as u64
        );
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new("fakegpt", name), text, |b, text| {
            b.iter(|| ours.count(text).expect("splits"))
        });
        group.bench_with_input(BenchmarkId::new("tiktoken-rs", name), text, |b, text| {
            b.iter(|| reference.encode_with_special_tokens(text).len())
        });
    }
    group.finish();
}

criterion_group!(benches, count);
criterion_main!(benches);
