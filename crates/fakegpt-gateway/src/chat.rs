//! `POST /v1/chat/completions`: one chat through the provider, answered
//! whole or streamed as `chat.completion.chunk` events.
//!
//! The HTTP status is chosen only once the provider has produced its first
//! text (or failed), so a failure before any output gets a real status.
//! After output began, a failure ends the stream with an error event.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use fakegpt::{ChatRequest, Chunk};
use serde::Serialize;

use crate::cutoff::{self, Cut, Cutoff};
use crate::error::ApiError;
use crate::limits::{ClientId, FleetSlot};
use crate::metrics::Metrics;
use crate::observe::RequestId;
use crate::openai::{
    AnswerMessage, ChatCompletion, ChatCompletionChunk, Choice, ChunkChoice, Delta, UsageField,
};
use crate::state::AppState;
use crate::{native, tokens, validate};

/// The handler.
pub async fn completions(
    State(state): State<Arc<AppState>>,
    Extension(request_id): Extension<RequestId>,
    client: Option<Extension<ClientId>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let client = client.map_or_else(ClientId::anonymous, |Extension(client)| client);
    match run(state, request_id, &client, &headers, body).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

async fn run(
    state: Arc<AppState>,
    request_id: RequestId,
    client: &ClientId,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    if !state.accepting.load(Ordering::SeqCst) {
        return Err(ApiError::unavailable(
            "The gateway is shutting down; retry on another instance.",
        ));
    }
    let bytes = read_body(headers, body, &state.config).await?;
    let chat = validate::chat_request(&bytes, &state.models)?;
    state.limits.count(&state.config, client).await?;
    let permit = Arc::clone(&state.permits)
        .try_acquire_owned()
        .map_err(|_| ApiError::busy(state.config.max_concurrency))?;
    let permit = Permit {
        _here: permit,
        _fleet: state.limits.lease(&state.config).await?,
    };
    let prompt_tokens = tokens::prompt(&chat.messages, &chat.names);
    let mut cutoff = Cutoff::new(chat.max_tokens, &chat.stop);
    let index = state.config.conversations.clone();
    let mut continued = None;
    let mut request = ChatRequest::new(chat.upstream_model, chat.messages);
    if let Some(index) = &index {
        let plan = native::plan(index, &request.messages, headers).await;
        request.options.conversation = plan.mode;
        continued = plan.continued;
    }
    Metrics::observe(&state.metrics.overhead, started.elapsed());

    let upstream_started = Instant::now();
    let cut = crate::state::cut(state.cut.subscribe());
    tokio::pin!(cut);
    let mut answer = tokio::select! {
        started = state.provider.chat(request) => started.map_err(|e| ApiError::from_provider(&e))?,
        () = &mut cut => return Err(shut_down()),
    };
    Metrics::observe(
        &state.metrics.upstream_first_byte,
        upstream_started.elapsed(),
    );
    let reply = Reply {
        id: format!("chatcmpl-{}", uuid::Uuid::new_v4().simple()),
        created: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default(),
        model: chat.model,
        prompt_tokens,
    };
    if !chat.stream {
        let (mut text, mut reasoning) = (String::new(), String::new());
        let cut_here = loop {
            let item = tokio::select! {
                item = answer.next_chunk() => item,
                () = &mut cut => return Err(shut_down()),
            };
            match item.transpose().map_err(|e| ApiError::from_provider(&e))? {
                Some(Chunk::Text(more)) => {
                    let (more, now) = cutoff::feed(&mut cutoff, more);
                    text.push_str(&more);
                    if now.is_some() {
                        break now;
                    }
                }
                Some(Chunk::Reasoning(more)) => reasoning.push_str(&more),
                Some(_) => {}
                None => {
                    let (rest, now) = cutoff::end(&mut cutoff);
                    text.push_str(&rest);
                    break now;
                }
            }
        };
        // A cut drops the answer, which cancels the upstream's request.
        let finish = cut_here.map_or_else(|| finish_reason(&answer), Cut::as_str);
        let kept = answer.conversation().cloned();
        drop(answer);
        if let Some(index) = &index {
            native::keep(index, kept.as_ref()).await;
        }
        Metrics::observe(&state.metrics.upstream_total, upstream_started.elapsed());
        drop(permit);
        let reasoning = (chat.include_reasoning && !reasoning.is_empty()).then_some(reasoning);
        let header = kept.as_ref().and_then(|k| native::header(k.id()));
        let whole = Json(reply.whole(text, reasoning, finish));
        return Ok(match header {
            Some(header) => ([header], whole).into_response(),
            None => whole.into_response(),
        });
    }
    let live = Live {
        state,
        permit,
        upstream_started,
        request_id,
        index,
    };
    let shown = Shown {
        usage: chat.include_usage,
        reasoning: chat.include_reasoning,
    };
    let body = Body::from_stream(reply.stream(answer, cutoff, shown, live));
    Ok((
        [
            (header::CONTENT_TYPE, "text/event-stream; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        // Only a continued conversation's id is known before the answer.
        continued.as_deref().and_then(native::header).map(|h| [h]),
        body,
    )
        .into_response())
}

/// OpenAI's name for why `answer` ended: what the provider said, or `stop`.
fn finish_reason(answer: &fakegpt::Answer) -> &'static str {
    answer
        .finish_reason()
        .map_or("stop", fakegpt::FinishReason::as_str)
}

fn shut_down() -> ApiError {
    ApiError::unavailable(
        "The gateway shut down before the answer was complete; retry on another instance.",
    )
}

/// Reads the body, refusing (413) one over the limit without reading more
/// than that, and (408) one that takes longer than the body timeout.
async fn read_body(
    headers: &HeaderMap,
    body: Body,
    config: &crate::GatewayConfig,
) -> Result<Bytes, ApiError> {
    let limit = config.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(ApiError::too_large(limit));
    }
    match tokio::time::timeout(config.body_timeout, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(ApiError::too_large(limit)),
        Err(_) => Err(ApiError::body_timeout(config.body_timeout)),
    }
}

/// What every chunk of one answer shares.
struct Reply {
    id: String,
    created: u64,
    model: String,
    prompt_tokens: u64,
}

/// A request's places under the concurrency caps: this instance's and,
/// when there is one, the fleet's; given back when dropped.
struct Permit {
    _here: tokio::sync::OwnedSemaphorePermit,
    _fleet: FleetSlot,
}

/// What a streamed answer shows besides its text.
#[derive(Clone, Copy)]
struct Shown {
    /// The usage, in a last chunk.
    usage: bool,
    /// The reasoning, as `reasoning_content` deltas.
    reasoning: bool,
}

/// What a streamed answer holds until it ends: its concurrency permit and
/// its place in the in-flight gauge.
struct Live {
    state: Arc<AppState>,
    permit: Permit,
    upstream_started: Instant,
    request_id: RequestId,
    /// Where the conversation goes once the answer ended well.
    index: Option<Arc<fakegpt::ConversationIndex>>,
}

/// Decrements the in-flight gauge however the stream ends.
struct InFlight(Arc<AppState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.metrics.in_flight_streams.dec();
    }
}

impl Reply {
    fn whole(self, text: String, reasoning: Option<String>, finish: &str) -> ChatCompletion {
        ChatCompletion {
            id: self.id,
            object: "chat.completion".into(),
            created: self.created,
            model: self.model,
            usage: tokens::usage(self.prompt_tokens, &text),
            choices: vec![Choice {
                index: 0,
                message: AnswerMessage {
                    role: "assistant".into(),
                    content: text,
                    reasoning_content: reasoning,
                },
                logprobs: None,
                finish_reason: finish.into(),
            }],
        }
    }

    fn chunk(&self, delta: Delta, finish: Option<&str>, usage: UsageField) -> ChatCompletionChunk {
        ChatCompletionChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".into(),
            created: self.created,
            model: self.model.clone(),
            choices: vec![ChunkChoice {
                index: 0,
                delta,
                logprobs: None,
                finish_reason: finish.map(str::to_owned),
            }],
            usage,
        }
    }

    fn stream(
        self,
        mut answer: fakegpt::Answer,
        mut cutoff: Option<Cutoff>,
        shown: Shown,
        live: Live,
    ) -> impl futures_util::Stream<Item = Result<Bytes, std::convert::Infallible>> + Send {
        let include_usage = shown.usage;
        let usage_field = move || {
            if include_usage {
                UsageField::Null
            } else {
                UsageField::Absent
            }
        };
        async_stream::stream! {
            let Live { state, permit, upstream_started, request_id, index } = live;
            state.metrics.in_flight_streams.inc();
            let _in_flight = InFlight(Arc::clone(&state));
            let mut text = String::new();
            let role = Delta { role: Some("assistant".into()), content: Some(String::new()), reasoning_content: None };
            // The role goes out with the first item, which is in hand.
            let mut frames = frame(&self.chunk(role, None, usage_field()));
            let content_frame = ContentFrame::new(&self.chunk(content(String::new()), None, usage_field()));
            let (mut failure, mut cut_here) = (None, None);
            let cut = crate::state::cut(state.cut.subscribe());
            tokio::pin!(cut);
            loop {
                let item = tokio::select! {
                    item = answer.next_chunk() => item,
                    () = &mut cut => {
                        failure = Some(shut_down());
                        break;
                    }
                };
                match item {
                    Some(Ok(Chunk::Text(delta))) => {
                        let (delta, now) = cutoff::feed(&mut cutoff, delta);
                        if !delta.is_empty() {
                            text.push_str(&delta);
                            frames.reserve(content_frame.len() + delta.len() + 8);
                            content_frame.write(&delta, &mut frames);
                        }
                        if now.is_some() {
                            cut_here = now;
                            break;
                        }
                    }
                    Some(Ok(Chunk::Reasoning(delta))) if shown.reasoning => {
                        let thought = Delta { reasoning_content: Some(delta), ..Delta::default() };
                        frames.extend_from_slice(&frame(&self.chunk(thought, None, usage_field())));
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(err)) => {
                        failure = Some(ApiError::from_provider(&err));
                        break;
                    }
                    None => {
                        let (rest, now) = cutoff::end(&mut cutoff);
                        if !rest.is_empty() {
                            text.push_str(&rest);
                            content_frame.write(&rest, &mut frames);
                        }
                        cut_here = now;
                        break;
                    }
                }
                if !frames.is_empty() {
                    yield Ok(Bytes::from(std::mem::take(&mut frames)));
                }
            }
            // A cut drops the answer, which cancels the upstream's request.
            let finish = cut_here.map_or_else(|| finish_reason(&answer), Cut::as_str);
            let kept = answer.conversation().cloned();
            drop(answer);
            // Indexed before the last event, so the client's next turn finds it.
            if let (Some(index), None) = (&index, &failure) {
                native::keep(index, kept.as_ref()).await;
            }
            Metrics::observe(&state.metrics.upstream_total, upstream_started.elapsed());
            let mut tail = frames;
            match failure {
                None => {
                    tail.extend_from_slice(&frame(&self.chunk(Delta::default(), Some(finish), usage_field())));
                    if include_usage {
                        let mut last = self.chunk(Delta::default(), None, UsageField::Counts(tokens::usage(self.prompt_tokens, &text)));
                        last.choices.clear();
                        tail.extend_from_slice(&frame(&last));
                    }
                }
                Some(api) => {
                    let cause = api.cause.as_deref().unwrap_or(&api.message);
                    tracing::warn!(request_id = %request_id.0, cause, "the answer failed after output began");
                    tail.extend_from_slice(&frame(&api.body()));
                }
            }
            tail.extend_from_slice(b"data: [DONE]\n\n");
            drop(permit);
            yield Ok(Bytes::from(tail));
        }
    }
}

/// A content chunk's event, serialised once per answer around a hole for
/// the delta: per delta, only the delta itself is escaped and copied. Its
/// output is byte for byte what serialising the whole chunk gives.
struct ContentFrame {
    prefix: Vec<u8>,
    suffix: Vec<u8>,
}

impl ContentFrame {
    /// Splits `template` (a chunk whose content is empty) around its
    /// content string.
    fn new(template: &ChatCompletionChunk) -> Self {
        let whole = frame(template);
        let hole = br#""content":"""#;
        match whole.windows(hole.len()).position(|w| w == hole) {
            Some(at) => {
                let start = at + hole.len() - 2;
                ContentFrame {
                    prefix: whole[..start].to_vec(),
                    suffix: whole[start + 2..].to_vec(),
                }
            }
            // Unreachable with the types above; stays correct if it were not.
            None => ContentFrame {
                prefix: Vec::new(),
                suffix: whole,
            },
        }
    }

    fn len(&self) -> usize {
        self.prefix.len() + self.suffix.len()
    }

    /// Appends the event for `delta` to `out`.
    fn write(&self, delta: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.prefix);
        if serde_json::to_writer(&mut *out, delta).is_err() {
            out.extend_from_slice(b"\"\"");
        }
        out.extend_from_slice(&self.suffix);
    }
}

fn content(text: String) -> Delta {
    Delta {
        content: Some(text),
        ..Delta::default()
    }
}

/// One server-sent event: `data: JSON\n\n`.
fn frame<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = b"data: ".to_vec();
    if serde_json::to_writer(&mut out, value).is_err() {
        out.extend_from_slice(b"{}");
    }
    out.extend_from_slice(b"\n\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_frames_match_serialising_the_whole_chunk() {
        for null in [false, true] {
            let answer = Reply {
                id: "chatcmpl-1".into(),
                created: 7,
                model: "gpt-3.5-turbo".into(),
                prompt_tokens: 1,
            };
            let usage = || {
                if null {
                    UsageField::Null
                } else {
                    UsageField::Absent
                }
            };
            let template = answer.chunk(content(String::new()), None, usage());
            let frames = ContentFrame::new(&template);
            assert!(!frames.prefix.is_empty());
            for delta in ["", "plain", "q\"uote \\ back\nslash", "é 😀 中", "\u{1}"] {
                let mut fast = Vec::new();
                frames.write(delta, &mut fast);
                let slow = frame(&answer.chunk(content(delta.to_owned()), None, usage()));
                assert_eq!(
                    String::from_utf8(fast).unwrap(),
                    String::from_utf8(slow).unwrap()
                );
            }
        }
    }
}
