//! The conversation request and its answer as a stream of new text.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::time::Instant;

use super::http::{check_status, content_type, error_chain, read_capped, transport_error};
use super::session::AccessToken;
use super::step::{excerpt, Step};
use super::wire::ConversationRequest;
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
///
/// The idle timer is armed once and moved on only when it fires early
/// (bytes came meanwhile): a chunk costs a clock read, not a timer.
pub fn body_chunks(
    response: reqwest::Response,
    idle: Option<Duration>,
    deadline: Option<(Instant, Duration)>,
) -> impl Stream<Item = Result<Bytes, Error>> + Send {
    let step = Step::Conversation;
    let mut body = response.bytes_stream();
    async_stream::stream! {
        let far = || Instant::now() + Duration::from_secs(86_400 * 365);
        let mut last = Instant::now();
        let idle_timer = tokio::time::sleep_until(idle.map_or_else(far, |d| last + d));
        let total_timer = tokio::time::sleep_until(deadline.map_or_else(far, |(at, _)| at));
        tokio::pin!(idle_timer, total_timer);
        loop {
            tokio::select! {
                biased;
                next = body.next() => match next {
                    Some(Ok(chunk)) => {
                        if idle.is_some() {
                            last = Instant::now();
                        }
                        yield Ok(chunk);
                    }
                    Some(Err(e)) => {
                        let message = format!("the answer broke off: {}", error_chain(&e));
                        yield Err(step.error(ErrorKind::Connect, message).with_source(e));
                        break;
                    }
                    None => break,
                },
                () = &mut total_timer, if deadline.is_some() => {
                    if let Some((_, after)) = deadline {
                        yield Err(step.timeout(TimeoutKind::Total, after));
                    }
                    break;
                }
                () = &mut idle_timer, if idle.is_some() => {
                    let Some(after) = idle else { break };
                    if last + after <= Instant::now() {
                        yield Err(step.timeout(TimeoutKind::Idle, after));
                        break;
                    }
                    idle_timer.as_mut().reset(last + after);
                }
            }
        }
    }
}
