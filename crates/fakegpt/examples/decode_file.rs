//! Decodes a captured event stream from a file in reads of a given size,
//! timed: how the decoder alone does on a real body (see BENCHMARKS.md).
//!
//! ```text
//! cargo run --release -p fakegpt --example decode_file -- FILE [READ_BYTES]
//! ```
//!
//! Prints the seconds, the answer's length, and how many events had their
//! whole answer string read (one per answer when the fast path holds).

use fakegpt::decode::Decoder;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: decode_file FILE [READ_BYTES]")?;
    let read: usize = args.next().map_or(Ok(16 * 1024), |n| n.parse())?;
    let bytes = std::fs::read(path)?;
    let start = std::time::Instant::now();
    let mut decoder = Decoder::new(64 << 20).with_max_answer(64 << 20);
    let mut len = 0;
    for chunk in bytes.chunks(read.max(1)) {
        len += decoder.feed(chunk)?.len();
    }
    len += decoder.finish()?.len();
    println!(
        "{:.4} s, {len} bytes of answer, {} whole reads",
        start.elapsed().as_secs_f64(),
        decoder.rescans()
    );
    Ok(())
}
