//! One `memchr` pass over a file's bytes, timed: the scanning half of the
//! floor any client of a cumulative stream must pay (see BENCHMARKS.md).
//!
//! ```text
//! cargo run --release -p fakegpt --example memchr_scan -- FILE
//! ```
//!
//! Prints the seconds the pass took and the number of lines found.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: memchr_scan FILE")?;
    let bytes = std::fs::read(path)?;
    let start = std::time::Instant::now();
    let lines: usize = bytes
        .chunks(16 * 1024)
        .map(|chunk| memchr::memchr_iter(b'\n', chunk).count())
        .sum();
    println!("{:.4} {lines}", start.elapsed().as_secs_f64());
    Ok(())
}
