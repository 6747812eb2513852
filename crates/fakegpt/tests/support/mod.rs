//! Test peers: small but real HTTP and SOCKS5 proxies on loopback that
//! count what goes through them.

#![allow(dead_code)]
#![expect(
    clippy::unwrap_used,
    reason = "a test fixture: a failure here must fail the test"
)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What a proxy saw.
#[derive(Default)]
pub struct Tally {
    /// Client connections accepted.
    pub connections: AtomicU64,
    /// Bytes relayed in both directions.
    pub bytes: AtomicU64,
    /// The first request line (HTTP) or destination (SOCKS5) of each connection.
    pub targets: Mutex<Vec<String>>,
    /// `Proxy-Authorization` / username seen on the first request.
    pub credentials: Mutex<Vec<String>>,
}

impl Tally {
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::SeqCst)
    }
    pub fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }
}

/// A running proxy.
pub struct Proxy {
    pub addr: SocketAddr,
    pub tally: Arc<Tally>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copies both ways, counting bytes as they pass (pooled connections stay
/// open, so counting at the end would miss them).
async fn relay(client: TcpStream, upstream: TcpStream, tally: Arc<Tally>) {
    let (client_read, client_write) = client.into_split();
    let (upstream_read, upstream_write) = upstream.into_split();
    tokio::join!(
        pump(client_read, upstream_write, &tally),
        pump(upstream_read, client_write, &tally)
    );
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    tally: &Tally,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                tally.bytes.fetch_add(n as u64, Ordering::SeqCst);
                if to.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown().await;
}

/// An HTTP proxy: `CONNECT host:port` tunnels, and absolute-form requests
/// (`GET http://host:port/path`) are forwarded as they are.
pub async fn http_proxy() -> Proxy {
    proxy(http_connection).await
}

/// A proxy on a loopback port that counts its connections and hands each
/// to `handle`.
async fn proxy<F, Fut>(handle: F) -> Proxy
where
    F: Fn(TcpStream, Arc<Tally>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output: Send> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let tally = Arc::new(Tally::default());
    let shared = Arc::clone(&tally);
    let task = tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            shared.connections.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(handle(client, Arc::clone(&shared)));
        }
    });
    Proxy { addr, tally, task }
}

async fn http_connection(mut client: TcpStream, tally: Arc<Tally>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match client.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 64 * 1024 {
            return;
        }
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let first = text.lines().next().unwrap_or_default().to_owned();
    if let Some(auth) = text.lines().find_map(|l| {
        l.strip_prefix("proxy-authorization: ")
            .or_else(|| l.strip_prefix("Proxy-Authorization: "))
    }) {
        tally.credentials.lock().unwrap().push(auth.to_owned());
    }
    tally.targets.lock().unwrap().push(first.clone());
    let mut parts = first.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    if method == "CONNECT" {
        let Ok(upstream) = TcpStream::connect(target).await else {
            let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
            return;
        };
        let _ = client
            .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .await;
        relay(client, upstream, tally).await;
    } else {
        let authority = target
            .strip_prefix("http://")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_default()
            .to_owned();
        let Ok(mut upstream) = TcpStream::connect(authority).await else {
            let _ = client
                .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
                .await;
            return;
        };
        if upstream.write_all(&head).await.is_err() {
            return;
        }
        tally.bytes.fetch_add(head.len() as u64, Ordering::SeqCst);
        relay(client, upstream, tally).await;
    }
}

/// A SOCKS5 proxy (RFC 1928), without authentication or with
/// username/password (RFC 1929) when `credentials` is given.
pub async fn socks5_proxy(credentials: Option<(&'static str, &'static str)>) -> Proxy {
    proxy(move |client, tally| socks5_connection(client, tally, credentials)).await
}

async fn socks5_connection(
    mut client: TcpStream,
    tally: Arc<Tally>,
    credentials: Option<(&'static str, &'static str)>,
) -> Option<()> {
    let mut greeting = [0u8; 2];
    client.read_exact(&mut greeting).await.ok()?;
    let mut methods = vec![0u8; usize::from(greeting[1])];
    client.read_exact(&mut methods).await.ok()?;
    if greeting[0] != 5 {
        return None;
    }
    match credentials {
        None => client.write_all(&[5, 0]).await.ok()?,
        Some((user, pass)) => {
            if !methods.contains(&2) {
                client.write_all(&[5, 0xff]).await.ok()?;
                return None;
            }
            client.write_all(&[5, 2]).await.ok()?;
            let mut ver_len = [0u8; 2];
            client.read_exact(&mut ver_len).await.ok()?;
            let mut name = vec![0u8; usize::from(ver_len[1])];
            client.read_exact(&mut name).await.ok()?;
            let mut len = [0u8; 1];
            client.read_exact(&mut len).await.ok()?;
            let mut password = vec![0u8; usize::from(len[0])];
            client.read_exact(&mut password).await.ok()?;
            let ok = name == user.as_bytes() && password == pass.as_bytes();
            tally
                .credentials
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(&name).into());
            client.write_all(&[1, if ok { 0 } else { 1 }]).await.ok()?;
            if !ok {
                return None;
            }
        }
    }
    let mut request = [0u8; 4];
    client.read_exact(&mut request).await.ok()?;
    let host = match request[3] {
        1 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip).await.ok()?;
            std::net::Ipv4Addr::from(ip).to_string()
        }
        3 => {
            let mut len = [0u8; 1];
            client.read_exact(&mut len).await.ok()?;
            let mut name = vec![0u8; usize::from(len[0])];
            client.read_exact(&mut name).await.ok()?;
            String::from_utf8(name).ok()?
        }
        _ => return None,
    };
    let mut port = [0u8; 2];
    client.read_exact(&mut port).await.ok()?;
    let target = format!("{host}:{}", u16::from_be_bytes(port));
    tally.targets.lock().unwrap().push(target.clone());
    let upstream = TcpStream::connect(&target).await.ok()?;
    client
        .write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0])
        .await
        .ok()?;
    relay(client, upstream, tally).await;
    Some(())
}
