//! The conversation request and its answer as a stream of new text.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use tokio::time::{Instant, Sleep};

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
pub fn body_chunks(
    response: reqwest::Response,
    idle: Option<Duration>,
    deadline: Option<(Instant, Duration)>,
) -> BodyChunks {
    let now = Instant::now();
    BodyChunks {
        body: Box::pin(response.bytes_stream()),
        idle: idle.map(|after| (Box::pin(tokio::time::sleep_until(now + after)), after)),
        total: deadline.map(|(at, after)| (Box::pin(tokio::time::sleep_until(at)), after)),
        waiting_since: now,
        fresh: false,
        ended: false,
    }
}

/// The stream [`body_chunks`] returns.
///
/// Written by hand: a fast answer is thousands of small chunks, and each
/// costs one poll of the body here, then of a timer only when none is
/// ready. The idle timeout counts silence while waiting: the clock is read
/// when a wait begins after bytes came, not for every chunk, and the timer
/// is armed once and moved on only when it fires early.
pub struct BodyChunks {
    body: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    idle: Option<(Pin<Box<Sleep>>, Duration)>,
    total: Option<(Pin<Box<Sleep>>, Duration)>,
    /// When the wait for bytes began: the start, or the first wait after
    /// the last bytes came.
    waiting_since: Instant,
    /// Whether bytes came since `waiting_since`.
    fresh: bool,
    ended: bool,
}

impl BodyChunks {
    /// A timeout, if one has passed: it ends the stream.
    fn timed_out(&mut self, cx: &mut Context<'_>) -> Option<Error> {
        let step = Step::Conversation;
        if let Some((timer, after)) = &mut self.total {
            if timer.as_mut().poll(cx).is_ready() {
                return Some(step.timeout(TimeoutKind::Total, *after));
            }
        }
        let (timer, after) = self.idle.as_mut()?;
        if std::mem::take(&mut self.fresh) {
            self.waiting_since = Instant::now();
        }
        while timer.as_mut().poll(cx).is_ready() {
            if self.waiting_since + *after <= Instant::now() {
                return Some(step.timeout(TimeoutKind::Idle, *after));
            }
            timer.as_mut().reset(self.waiting_since + *after);
        }
        None
    }
}

impl Stream for BodyChunks {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        match this.body.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                this.fresh = true;
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.ended = true;
                let message = format!("the answer broke off: {}", error_chain(&e));
                let step = Step::Conversation;
                Poll::Ready(Some(Err(step
                    .error(ErrorKind::Connect, message)
                    .with_source(e))))
            }
            Poll::Ready(None) => {
                this.ended = true;
                Poll::Ready(None)
            }
            Poll::Pending => match this.timed_out(cx) {
                Some(err) => {
                    this.ended = true;
                    Poll::Ready(Some(Err(err)))
                }
                None => Poll::Pending,
            },
        }
    }
}
