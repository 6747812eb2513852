//! What leaving reqwest for the answer's body would buy: one
//! conversation's body drained and thrown away, logged in beforehand, over
//! a hyper HTTP/1 connection driven in the task that reads the body (no
//! connection task: each chunk is handed over without a task switch).
//! Plain `http://` only, no proxy: a measurement, not a client (see
//! `bench/floors.sh`).
//!
//! ```text
//! URL=… TOKEN=… COOKIE=… BODY=… cargo run --release -p fakegpt --example floor_hyper
//! ```

mod common;

use std::future::Future;
use std::pin::pin;
use std::task::Poll;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Body;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let conversation = common::Conversation::from_env()?;
    let address = conversation.address()?;
    let runtime = common::runtime()?;
    runtime.block_on(async move {
        tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(&address).await?;
            stream.set_nodelay(true)?;
            let io = hyper_util::rt::TokioIo::new(stream);
            let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await?;
            let mut connection = pin!(connection);
            let request = hyper::Request::post("/api/conversation")
                .header("host", &address)
                .header("content-type", "application/json")
                .header("accept", "text/event-stream")
                .header("x-authorization", format!("Bearer {}", conversation.token))
                .header("cookie", conversation.cookie)
                .body(Full::new(Bytes::from(conversation.body)))?;
            let mut sent = pin!(sender.send_request(request));
            let response = std::future::poll_fn(|cx| {
                if let Poll::Ready(response) = sent.as_mut().poll(cx) {
                    return Poll::Ready(response);
                }
                // The connection ending first leaves the request to say why.
                let _ = connection.as_mut().poll(cx);
                sent.as_mut().poll(cx)
            })
            .await?;
            if !response.status().is_success() {
                return Err(format!("HTTP {}", response.status()).into());
            }
            let mut body = response.into_body();
            let (mut bytes, mut chunks) = (0, 0);
            std::future::poll_fn(|cx| loop {
                // The body first; when it has nothing, the connection reads
                // on, and the body is asked once more before waiting.
                for ask_connection in [false, true] {
                    if ask_connection {
                        let _ = connection.as_mut().poll(cx);
                    }
                    match std::pin::Pin::new(&mut body).poll_frame(cx) {
                        Poll::Ready(Some(frame)) => {
                            if let Ok(data) = frame?.into_data() {
                                bytes += data.len();
                                chunks += 1;
                            }
                            break;
                        }
                        Poll::Ready(None) => return Poll::Ready(Ok::<_, hyper::Error>(())),
                        Poll::Pending if ask_connection => return Poll::Pending,
                        Poll::Pending => {}
                    }
                }
            })
            .await?;
            eprintln!("{bytes} bytes in {chunks} chunks");
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .await?
        .map_err(|e| e.to_string())?;
        Ok(())
    })
}
