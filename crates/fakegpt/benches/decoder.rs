//! The event-stream decoder on realistic streams of both dialects, beside
//! a plain `memchr` scan of the same bytes (the practical ceiling: any
//! client must at least find the line ends): cumulative events with fixed
//! fields, cumulative events whose timestamps change in every event (as a
//! real upstream sends them), and delta-encoded frames.
//!
//! ```text
//! cargo bench -p fakegpt --bench decoder
//! ```

#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]
#![allow(
    clippy::expect_used,
    reason = "a benchmark's set-up may stop on a broken invariant"
)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use eventsource_stream::Eventsource;
use fakegpt::decode::Decoder;
use fakegpt::sse::EventSplitter;
use futures_util::StreamExt;

/// A cumulative stream whose events carry their send time before the
/// answer and an update time after it, different in every event, with the
/// keys in the real service's order.
fn fresh_stream(answer: &str, step: usize) -> (Vec<u8>, usize) {
    let ends: Vec<usize> = answer
        .char_indices()
        .map(|(i, c)| i + c.len_utf8())
        .collect();
    let mut body = Vec::new();
    let mut events = 0;
    let mut n = 0;
    while n < ends.len() {
        n = (n + step).min(ends.len());
        let text = serde_json::to_string(&answer[..ends[n - 1]]).expect("serialises");
        let created = 1_700_000_000.0 + events as f64 * 0.000_213;
        body.extend_from_slice(
            format!(
                "data: {{\"message\": {{\"id\": \"4c7d7e1e-4b6a-4f7e-9d3c-8e2f1a0b5c6d\", \"author\": {{\"role\": \"assistant\", \"name\": null, \"metadata\": {{}}}}, \"create_time\": {created:.6}, \"update_time\": null, \"content\": {{\"content_type\": \"text\", \"parts\": [{text}]}}, \"status\": \"in_progress\", \"end_turn\": null, \"weight\": 1.0, \"metadata\": {{\"message_type\": \"next\", \"model_slug\": \"text-davinci-002-render-sha\", \"finish_details\": null, \"seq\": {events}}}, \"recipient\": \"all\"}}, \"conversation_id\": \"0d9c1f1e-2b3a-4c5d-8e7f-6a5b4c3d2e1f\", \"error\": null}}\n\n"
            )
            .as_bytes(),
        );
        events += 1;
    }
    body.extend_from_slice(b"data: [DONE]\n\n");
    (body, events)
}

/// A delta-encoded turn: the hidden system message and the user's echo,
/// then the answer `step` characters per frame, mostly `{"v": …}`
/// shorthands, with a metadata detour and a patch and batch now and then.
fn delta_stream(answer: &str, step: usize) -> (Vec<u8>, usize) {
    let chars: Vec<char> = answer.chars().collect();
    let mut frames: Vec<serde_json::Value> = vec![
        serde_json::json!({"p": "", "o": "add", "c": 0, "v": {"message": {"id": "s", "author": {"role": "system"},
            "content": {"content_type": "text", "parts": [""]}, "metadata": {"is_visually_hidden_from_conversation": true},
            "recipient": "all"}, "conversation_id": "c", "error": null}}),
        serde_json::json!({"p": "", "o": "add", "c": 1, "v": {"message": {"id": "u", "author": {"role": "user"},
            "content": {"content_type": "text", "parts": ["benchmark"]}, "recipient": "all"}, "conversation_id": "c", "error": null}}),
        serde_json::json!({"p": "", "o": "add", "c": 2, "v": {"message": {"id": "a", "author": {"role": "assistant"},
            "content": {"content_type": "text", "parts": []}, "status": "in_progress", "metadata": {"message_type": "next"},
            "recipient": "all", "channel": "final"}, "conversation_id": "c", "error": null}}),
    ];
    for (i, piece) in chars.chunks(step).enumerate() {
        let piece: String = piece.iter().collect();
        let explicit =
            serde_json::json!({"p": "/message/content/parts/0", "o": "append", "v": piece});
        match i % 16 {
            0 => frames.push(explicit),
            7 => {
                frames.push(serde_json::json!({"p": "/message/metadata", "o": "append", "v": {"citations": []}}));
                frames.push(explicit);
            }
            13 => {
                frames.push(serde_json::json!({"p": "", "o": "patch", "v": [{"p": "/message/metadata", "o": "append", "v": {"n": i}}]}));
                frames.push(serde_json::json!({"v": [{"p": "/message/content/parts/0", "o": "append", "v": piece}]}));
            }
            14 => frames.push(explicit),
            _ => frames.push(serde_json::json!({"v": piece})),
        }
    }
    frames.push(serde_json::json!({"p": "", "o": "patch", "v": [
        {"p": "/message/status", "o": "replace", "v": "finished_successfully"},
        {"p": "/message/end_turn", "o": "replace", "v": true}]}));
    let mut body = b"event: delta_encoding\ndata: \"v1\"\n\n".to_vec();
    for frame in &frames {
        body.extend_from_slice(b"event: delta\ndata: ");
        serde_json::to_writer(&mut body, frame).expect("serialises");
        body.extend_from_slice(b"\n\n");
    }
    body.extend_from_slice(b"data: {\"type\": \"message_stream_complete\"}\n\ndata: [DONE]\n\n");
    (body, frames.len())
}

/// A cumulative stream as the upstream sends it: the answer grows
/// `step` characters per event, each event repeating it whole.
fn stream(answer: &str, step: usize) -> (Vec<u8>, usize) {
    let ends: Vec<usize> = answer
        .char_indices()
        .map(|(i, c)| i + c.len_utf8())
        .collect();
    let mut body = Vec::new();
    let mut events = 0;
    let mut n = 0;
    while n < ends.len() {
        n = (n + step).min(ends.len());
        let text = &answer[..ends[n - 1]];
        let event = serde_json::json!({
            "message": {
                "id": "4c7d7e1e-4b6a-4f7e-9d3c-8e2f1a0b5c6d",
                "author": {"role": "assistant", "name": null, "metadata": {}},
                "create_time": 1_700_000_000.0, "update_time": null,
                "content": {"content_type": "text", "parts": [text]},
                "status": "in_progress", "end_turn": null, "weight": 1.0,
                "metadata": {"message_type": "next", "model_slug": "text-davinci-002-render-sha", "finish_details": null},
                "recipient": "all"
            },
            "conversation_id": "0d9c1f1e-2b3a-4c5d-8e7f-6a5b4c3d2e1f", "error": null
        });
        body.extend_from_slice(b"data: ");
        serde_json::to_writer(&mut body, &event).expect("serialises");
        body.extend_from_slice(b"\n\n");
        events += 1;
    }
    body.extend_from_slice(b"data: [DONE]\n\n");
    (body, events)
}

/// Reads of this size, as a socket would hand them out.
const READ: usize = 16 * 1024;

fn decode(body: &[u8]) -> usize {
    let mut decoder = Decoder::new(16 << 20).with_max_answer(16 << 20);
    let mut total = 0;
    for chunk in body.chunks(READ) {
        total += decoder.feed(chunk).map(|d| d.len()).unwrap_or(0);
    }
    total + decoder.finish().map(|d| d.len()).unwrap_or(0)
}

/// The body cut after every event, as an unpaced stream whose events are
/// each their own HTTP chunk reaches the decoder.
fn events_of(body: &[u8]) -> Vec<&[u8]> {
    let mut events = Vec::new();
    let mut start = 0;
    for end in memchr::memmem::find_iter(body, b"\n\n") {
        events.push(&body[start..end + 2]);
        start = end + 2;
    }
    events.push(&body[start..]);
    events
}

/// The decoder fed one event at a time: what each feed costs beyond its
/// bytes (the result's allocation, the splitter's bookkeeping).
fn decode_per_event(events: &[&[u8]]) -> usize {
    let mut decoder = Decoder::new(16 << 20).with_max_answer(16 << 20);
    let mut total = 0;
    for event in events {
        total += decoder.feed(event).map(|d| d.len()).unwrap_or(0);
    }
    total + decoder.finish().map(|d| d.len()).unwrap_or(0)
}

/// Our event splitter alone: the framing part of the decoder's work.
fn sse_split(body: &[u8]) -> usize {
    let mut splitter = EventSplitter::new(16 << 20);
    let mut total = 0;
    for chunk in body.chunks(READ) {
        splitter
            .feed(chunk, |event| {
                total += event.data.len();
                true
            })
            .expect("sane events");
    }
    total
}

/// The `eventsource-stream` crate on the same reads: the well-kept
/// alternative for the framing (it copies every event into `String`s).
fn eventsource_split(runtime: &tokio::runtime::Runtime, body: &[u8]) -> usize {
    let chunks = futures_util::stream::iter(
        body.chunks(READ)
            .map(|c| Ok::<_, std::convert::Infallible>(bytes::Bytes::copy_from_slice(c))),
    );
    runtime.block_on(async {
        let mut events = std::pin::pin!(chunks.eventsource());
        let mut total = 0;
        while let Some(event) = events.next().await {
            total += event.expect("sane events").data.len();
        }
        total
    })
}

fn memchr_scan(body: &[u8]) -> usize {
    body.chunks(READ)
        .map(|c| memchr::memchr_iter(b'\n', c).count())
        .sum()
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    for (kind, chars) in [
        ("cumulative", 2_000usize),
        ("cumulative", 32_000),
        ("fresh", 32_000),
        ("delta", 2_000),
        ("delta", 32_000),
    ] {
        let answer = fakegpt_upstream::reply_for("benchmark", chars);
        let answer: String = answer.chars().take(chars).collect();
        let (body, events) = match kind {
            "cumulative" => stream(&answer, 4),
            "fresh" => fresh_stream(&answer, 4),
            _ => delta_stream(&answer, 4),
        };
        assert_eq!(
            decode(&body),
            answer.len(),
            "the decoder yields the whole answer"
        );
        let mut group = c.benchmark_group(format!("{kind}_{chars}_chars"));
        group
            .sample_size(10)
            .throughput(Throughput::Bytes(body.len() as u64));
        eprintln!(
            "{kind}, {chars} characters: {} events, {:.1} MB",
            events,
            body.len() as f64 / 1e6
        );
        group.bench_with_input(BenchmarkId::new("decoder", events), &body, |b, body| {
            b.iter(|| decode(body))
        });
        let cut = events_of(&body);
        assert_eq!(decode_per_event(&cut), answer.len(), "the same, per event");
        group.bench_with_input(
            BenchmarkId::new("decoder_per_event", events),
            &cut,
            |b, cut| b.iter(|| decode_per_event(cut)),
        );
        group.bench_with_input(BenchmarkId::new("sse_split", events), &body, |b, body| {
            b.iter(|| sse_split(body))
        });
        group.bench_with_input(
            BenchmarkId::new("eventsource_stream", events),
            &body,
            |b, body| b.iter(|| eventsource_split(&runtime, body)),
        );
        group.bench_with_input(BenchmarkId::new("memchr_scan", events), &body, |b, body| {
            b.iter(|| memchr_scan(body))
        });
        group.finish();
    }
}

criterion_group!(decoder, benches);
criterion_main!(decoder);
