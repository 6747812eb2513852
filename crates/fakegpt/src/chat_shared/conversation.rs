//! The conversation request and its answer as a stream of new text.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::time::Instant;

use super::decode;
use super::http::{check_status, content_type, error_chain, read_capped, transport_error};
use super::session::AccessToken;
use super::step::{excerpt, Step};
use super::wire::ConversationRequest;
use crate::answer::Chunk;
use crate::error::{Error, ErrorKind, TimeoutKind};

/// Sends `POST /api/conversation` and checks that an event stream answers.
pub async fn start(
    client: &reqwest::Client,
    base: &str,
    token: &AccessToken,
    body: &ConversationRequest,
    connect_timeout: Option<Duration>,
) -> Result<reqwest::Response, Error> {
    let step = Step::Conversation;
    let body = serde_json::to_vec(body)
        .map_err(|e| step.error(ErrorKind::InvalidRequest, e.to_string()))?;
    let response = client
        .post(format!("{base}/api/conversation"))
        .header("content-type", "application/json")
        .header("accept", "text/event-stream")
        .header("x-authorization", format!("Bearer {}", token.expose()))
        .body(body)
        .send()
        .await
        .map_err(|e| transport_error(step, &e, connect_timeout))?;
    let response = check_status(step, response).await?;
    let kind = content_type(&response);
    if kind.is_empty() || kind == "text/event-stream" || kind == "text/plain" {
        return Ok(response);
    }
    let status = response.status().as_u16();
    let body = read_capped(response, 64 * 1024)
        .await
        .unwrap_or_else(|partial| partial);
    Err(step.protocol(format!(
        "expected an event stream, got HTTP {status} {kind}: {}",
        excerpt(&body)
    )))
}

/// The answer's body as a stream of chunks, failing with a timeout when no
/// bytes come for `idle` or the `deadline` passes.
pub fn body_chunks(
    response: reqwest::Response,
    idle: Option<Duration>,
    deadline: Option<(Instant, Duration)>,
) -> impl Stream<Item = Result<Bytes, Error>> + Send {
    let step = Step::Conversation;
    let mut body = response.bytes_stream();
    async_stream::stream! {
        loop {
            let now = Instant::now();
            let idle_at = idle.map(|d| (now + d, TimeoutKind::Idle, d));
            let total_at = deadline.map(|(at, d)| (at, TimeoutKind::Total, d));
            let limit = match (idle_at, total_at) {
                (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
                (a, b) => a.or(b),
            };
            let next = match limit {
                Some((at, kind, after)) => match tokio::time::timeout_at(at, body.next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        yield Err(step.timeout(kind, after));
                        break;
                    }
                },
                None => body.next().await,
            };
            match next {
                Some(Ok(chunk)) => yield Ok(chunk),
                Some(Err(e)) => {
                    let message = format!("the answer broke off: {}", error_chain(&e));
                    yield Err(step.error(ErrorKind::Connect, message).with_source(e));
                    break;
                }
                None => break,
            }
        }
    }
}

/// The new answer text of a started conversation, then its finish reason.
pub fn chunks(
    response: reqwest::Response,
    idle: Option<Duration>,
    deadline: Option<(Instant, Duration)>,
    decoder: decode::Decoder,
) -> impl Stream<Item = Result<Chunk, Error>> + Send {
    decode::decode(body_chunks(response, idle, deadline), decoder)
}
