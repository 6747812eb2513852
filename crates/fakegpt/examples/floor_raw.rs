//! The floor of a client that reads HTTP itself: one conversation's body
//! drained and thrown away, logged in beforehand, over a blocking socket
//! with the chunked framing undone by hand and no runtime. A measurement of
//! what leaving hyper would buy, not a client: plain `http://`, no proxy,
//! a chunked answer only (see `bench/floors.sh`).
//!
//! ```text
//! URL=… TOKEN=… COOKIE=… BODY=… cargo run --release -p fakegpt --example floor_raw
//! ```

mod common;

use std::io::{BufRead, BufReader, Read, Write};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let conversation = common::Conversation::from_env()?;
    let address = conversation.address()?;
    let mut socket = std::net::TcpStream::connect(&address)?;
    socket.set_nodelay(true)?;
    write!(
        socket,
        "POST /api/conversation HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\n\
         accept: text/event-stream\r\nx-authorization: Bearer {}\r\ncookie: {}\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{}",
        conversation.token,
        conversation.cookie,
        conversation.body.len(),
        conversation.body,
    )?;
    let mut reader = BufReader::with_capacity(64 * 1024, socket);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    if !line.starts_with("HTTP/1.1 200") {
        return Err(format!("unexpected status line {line:?}").into());
    }
    let mut chunked = false;
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end().to_ascii_lowercase();
        if header.is_empty() {
            break;
        }
        chunked |= header == "transfer-encoding: chunked";
    }
    if !chunked {
        return Err("the answer is not chunked".into());
    }
    let (mut bytes, mut chunks) = (0, 0);
    let mut data = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let size = usize::from_str_radix(line.trim_end().split(';').next().unwrap_or(""), 16)?;
        if size == 0 {
            break;
        }
        data.resize(size + 2, 0);
        reader.read_exact(&mut data)?;
        bytes += size;
        chunks += 1;
    }
    eprintln!("{bytes} bytes in {chunks} chunks");
    Ok(())
}
