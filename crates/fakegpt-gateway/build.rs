//! Turns `assets/cl100k_base.tiktoken` (OpenAI's published file, one
//! `base64-token rank` pair a line, ranks 0, 1, 2, … in order) into two flat
//! files the gateway embeds: every token's length as one byte, and all the
//! tokens' bytes back to back. The tokenizer indexes them in place, so the
//! table costs about 1.7 MB instead of hash maps of owned vectors.

use std::error::Error;
use std::path::PathBuf;

use base64::Engine as _;

const SOURCE: &str = "assets/cl100k_base.tiktoken";

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo::rerun-if-changed={SOURCE}");
    let text = std::fs::read_to_string(SOURCE)?;
    let mut lengths = Vec::with_capacity(100_256);
    let mut bytes = Vec::with_capacity(700_000);
    for (line_no, line) in text.lines().enumerate() {
        let (token, rank) = line
            .split_once(' ')
            .ok_or_else(|| format!("{SOURCE}:{}: expected `token rank`", line_no + 1))?;
        if rank.parse::<usize>()? != line_no {
            return Err(format!("{SOURCE}:{}: ranks must count up from 0", line_no + 1).into());
        }
        let token = base64::engine::general_purpose::STANDARD.decode(token)?;
        let length = u8::try_from(token.len())
            .map_err(|_| format!("{SOURCE}:{}: token longer than 255 bytes", line_no + 1))?;
        lengths.push(length);
        bytes.extend_from_slice(&token);
    }
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("cl100k_base.lengths"), lengths)?;
    std::fs::write(out.join("cl100k_base.bytes"), bytes)?;
    Ok(())
}
