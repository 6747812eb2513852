//! `fakegpt bench`: a load tool for an OpenAI-compatible endpoint (such as
//! `fakegpt serve`) or for the library talking to an upstream directly.
//! Sends N requests at concurrency C and reports requests per second, time
//! to first token, the gaps between chunks, whole-request latency and the
//! client's own CPU time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fakegpt::sse::EventSplitter;
use fakegpt::{ChatRequest, FakeGpt, Message};
use futures_util::StreamExt;
use serde::Serialize;

use crate::cli::BenchArgs;
use crate::report::Failure;

/// What one request measured.
#[derive(Debug, Default)]
struct Sample {
    first: Option<Duration>,
    gaps: Vec<Duration>,
    /// For stamped answers (`fakegpt upstream --stamp`): how long each
    /// chunk took from the emulator to here.
    latencies: Vec<Duration>,
    total: Duration,
    chunks: usize,
    error: Option<String>,
}

/// Where the load goes.
#[derive(Clone)]
enum Target {
    OpenAi {
        client: reqwest::Client,
        url: String,
        key: Option<String>,
        model: String,
    },
    Library {
        provider: FakeGpt,
    },
}

/// Runs `fakegpt bench`.
pub async fn run(args: BenchArgs) -> Result<(), Failure> {
    let requests = usize::try_from(args.requests).unwrap_or(usize::MAX);
    let concurrency = usize::try_from(args.concurrency)
        .unwrap_or(1)
        .clamp(1, requests);
    let (target, label, _emulator) = match &args.openai {
        Some(url) => {
            let client = reqwest::Client::builder()
                .tcp_nodelay(true)
                .pool_max_idle_per_host(concurrency)
                .build()
                .map_err(|e| {
                    Failure::new(
                        format!("could not set up the HTTP client: {e}"),
                        "try again",
                    )
                })?;
            let target = Target::OpenAi {
                client,
                url: format!("{}/chat/completions", url.trim_end_matches('/')),
                key: args.api_key.clone(),
                model: args.model.clone(),
            };
            (target, format!("{url} (OpenAI API)"), None)
        }
        None => {
            let upstream =
                crate::provider::connect(&args.upstream, &args.timeouts, "bench").await?;
            let label = format!("{} (library)", upstream.provider.base_url());
            let target = Target::Library {
                provider: upstream.provider,
            };
            (target, label, upstream.emulator)
        }
    };
    if let Target::Library { provider } = &target {
        // Log in before the clock starts, as a long-running client would have.
        provider
            .ensure_session()
            .await
            .map_err(|e| Failure::from_error(&e, false))?;
    }
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let load = Load {
        target,
        prompt: args.prompt.clone(),
        stream: !args.no_stream,
    };
    let samples = match args.rate {
        Some(rate) => load.open(requests, concurrency, rate, started).await,
        None => load.closed(requests, concurrency).await,
    };
    let wall = started.elapsed();
    let cpu = cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let report = Report::new(
        &samples,
        wall,
        cpu,
        concurrency,
        args.rate,
        !args.no_stream,
        &label,
    );
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        report.print();
    }
    if report.completed == 0 {
        let first_error = samples
            .iter()
            .find_map(|s| s.error.clone())
            .unwrap_or_default();
        return Err(Failure::new(
            format!("every request failed; the first: {first_error}"),
            "check the URL, the API key and that the server is running",
        ));
    }
    Ok(())
}

/// One load: where it goes and what it asks.
struct Load {
    target: Target,
    prompt: String,
    stream: bool,
}

impl Load {
    /// A closed load: `concurrency` workers, each sending its next request
    /// when its last one ends.
    async fn closed(self, requests: usize, concurrency: usize) -> Vec<Sample> {
        let load = Arc::new(self);
        let next = Arc::new(AtomicUsize::new(0));
        let workers: Vec<_> = (0..concurrency)
            .map(|_| {
                let (load, next) = (Arc::clone(&load), Arc::clone(&next));
                tokio::spawn(async move {
                    let mut samples = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= requests {
                            return samples;
                        }
                        samples.push(load.one(i, Instant::now()).await);
                    }
                })
            })
            .collect();
        let mut samples = Vec::with_capacity(requests);
        for worker in workers {
            samples.extend(worker.await.unwrap_or_default());
        }
        samples
    }

    /// An open load: request `i` is due at `started + i / rate`, whatever
    /// the others are doing, with at most `concurrency` in flight; its
    /// latencies count from when it was due.
    async fn open(
        self,
        requests: usize,
        concurrency: usize,
        rate: f64,
        started: Instant,
    ) -> Vec<Sample> {
        let load = Arc::new(self);
        let slots = Arc::new(tokio::sync::Semaphore::new(concurrency));
        let mut running = tokio::task::JoinSet::new();
        for i in 0..requests {
            let due = started + Duration::from_secs_f64(i as f64 / rate);
            tokio::time::sleep_until(due.into()).await;
            let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                break;
            };
            let load = Arc::clone(&load);
            running.spawn(async move {
                let sample = load.one(i, due).await;
                drop(slot);
                sample
            });
        }
        let mut samples = Vec::with_capacity(requests);
        while let Some(sample) = running.join_next().await {
            samples.extend(sample.ok());
        }
        samples
    }

    /// Request number `i`, timed from `since`.
    async fn one(&self, i: usize, since: Instant) -> Sample {
        one(
            &self.target,
            &format!("{} #{i}", self.prompt),
            self.stream,
            since,
        )
        .await
    }
}

async fn one(target: &Target, prompt: &str, stream: bool, started: Instant) -> Sample {
    let mut sample = Sample::default();
    let mut last = started;
    let mut chunk_seen = |sample: &mut Sample, text: &str| {
        sample.latencies.extend(stamp_latencies(text));
        let now = Instant::now();
        match sample.first {
            None => sample.first = Some(now - started),
            Some(_) => sample.gaps.push(now - last),
        }
        last = now;
        sample.chunks += 1;
    };
    let outcome: Result<(), String> = async {
        match target {
            Target::Library { provider } => {
                let request = ChatRequest::new("gpt-3.5-turbo", vec![Message::user(prompt)]);
                let mut answer = provider.chat(request).await.map_err(|e| e.to_string())?;
                while let Some(chunk) = answer.next().await {
                    chunk_seen(&mut sample, &chunk.map_err(|e| e.to_string())?);
                }
                Ok(())
            }
            Target::OpenAi { client, url, key, model } => {
                let body = serde_json::json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": prompt}]});
                let mut request = client.post(url).json(&body);
                if let Some(key) = key {
                    request = request.bearer_auth(key);
                }
                let response = request.send().await.map_err(|e| e.to_string())?;
                let status = response.status();
                if !status.is_success() {
                    return Err(format!("HTTP {status}"));
                }
                if !stream {
                    let value: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
                    let content = value["choices"][0]["message"]["content"].as_str().ok_or("no content in the answer")?;
                    chunk_seen(&mut sample, content);
                    return Ok(());
                }
                let mut body = response.bytes_stream();
                let mut events = EventSplitter::new(MAX_EVENT_BYTES);
                while let Some(bytes) = body.next().await {
                    let bytes = bytes.map_err(|e| e.to_string())?;
                    let mut outcome = None;
                    events
                        .feed(&bytes, |event| match openai_event(event.data) {
                            Ok(StreamEvent::Content(text)) => {
                                chunk_seen(&mut sample, &text);
                                true
                            }
                            Ok(StreamEvent::Other) => true,
                            Ok(StreamEvent::Done) => {
                                outcome = Some(Ok(()));
                                false
                            }
                            Err(e) => {
                                outcome = Some(Err(e));
                                false
                            }
                        })
                        .map_err(|e| format!("an event longer than {} bytes", e.max))?;
                    if let Some(outcome) = outcome {
                        return outcome;
                    }
                }
                Err("the stream ended without [DONE]".into())
            }
        }
    }
    .await;
    sample.total = started.elapsed();
    sample.error = outcome.err();
    sample
}

/// The longest OpenAI stream event the bench accepts.
const MAX_EVENT_BYTES: usize = 1 << 20;

/// What one event of an OpenAI chat-completion stream says.
enum StreamEvent {
    /// `[DONE]`.
    Done,
    /// Content text (not empty).
    Content(String),
    /// Anything else: a role, a finish reason.
    Other,
}

/// Reads one event of an OpenAI chat-completion stream; an error event is
/// an error.
fn openai_event(data: &[u8]) -> Result<StreamEvent, String> {
    if data == b"[DONE]" {
        return Ok(StreamEvent::Done);
    }
    let value: serde_json::Value = serde_json::from_slice(data).map_err(|e| e.to_string())?;
    if let Some(error) = value.get("error") {
        return Err(error["message"]
            .as_str()
            .unwrap_or("an error event")
            .to_owned());
    }
    Ok(match value["choices"][0]["delta"]["content"].as_str() {
        Some(content) if !content.is_empty() => StreamEvent::Content(content.to_owned()),
        _ => StreamEvent::Other,
    })
}

/// For each `<t:MICROSECONDS>` stamp in `text`, how long ago it was.
fn stamp_latencies(text: &str) -> impl Iterator<Item = Duration> + '_ {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    text.split("<t:").skip(1).filter_map(move |rest| {
        let micros: u64 = rest.split_once('>')?.0.parse().ok()?;
        Some(now.saturating_sub(Duration::from_micros(micros)))
    })
}

/// The process's CPU time (user + system) so far, from /proc (Linux).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on every Linux that matters here.
    Some(ticks / 100.0)
}

/// Latency percentiles, in milliseconds.
#[derive(Debug, Serialize)]
struct Percentiles {
    p50: f64,
    p99: f64,
    max: f64,
}

impl Percentiles {
    fn of(mut values: Vec<Duration>) -> Option<Percentiles> {
        if values.is_empty() {
            return None;
        }
        values.sort_unstable();
        let at = |q: f64| {
            let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
            values[rank - 1].as_secs_f64() * 1000.0
        };
        Some(Percentiles {
            p50: at(0.50),
            p99: at(0.99),
            max: at(1.0),
        })
    }
}

/// What `fakegpt bench` prints.
#[derive(Debug, Serialize)]
struct Report {
    target: String,
    streaming: bool,
    concurrency: usize,
    /// Requests started per second, for an open load.
    rate: Option<f64>,
    requests: usize,
    completed: usize,
    failed: usize,
    seconds: f64,
    requests_per_second: f64,
    chunks: usize,
    time_to_first_token_ms: Option<Percentiles>,
    inter_chunk_ms: Option<Percentiles>,
    /// From the emulator's send time to here, for stamped answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    chunk_latency_ms: Option<Percentiles>,
    request_ms: Option<Percentiles>,
    /// Requests in flight on average: their summed durations over the run's.
    mean_in_flight: f64,
    client_cpu_seconds: Option<f64>,
    errors: Vec<String>,
}

impl Report {
    fn new(
        samples: &[Sample],
        wall: Duration,
        cpu: Option<f64>,
        concurrency: usize,
        rate: Option<f64>,
        streaming: bool,
        target: &str,
    ) -> Self {
        let ok: Vec<&Sample> = samples.iter().filter(|s| s.error.is_none()).collect();
        let mut errors: Vec<String> = samples.iter().filter_map(|s| s.error.clone()).collect();
        errors.sort();
        errors.dedup();
        errors.truncate(5);
        Report {
            target: target.to_owned(),
            streaming,
            concurrency,
            rate,
            requests: samples.len(),
            completed: ok.len(),
            failed: samples.len() - ok.len(),
            seconds: wall.as_secs_f64(),
            requests_per_second: ok.len() as f64 / wall.as_secs_f64().max(1e-9),
            chunks: ok.iter().map(|s| s.chunks).sum(),
            time_to_first_token_ms: Percentiles::of(ok.iter().filter_map(|s| s.first).collect()),
            inter_chunk_ms: Percentiles::of(
                ok.iter().flat_map(|s| s.gaps.iter().copied()).collect(),
            ),
            chunk_latency_ms: Percentiles::of(
                ok.iter()
                    .flat_map(|s| s.latencies.iter().copied())
                    .collect(),
            ),
            request_ms: Percentiles::of(ok.iter().map(|s| s.total).collect()),
            mean_in_flight: samples.iter().map(|s| s.total.as_secs_f64()).sum::<f64>()
                / wall.as_secs_f64().max(1e-9),
            client_cpu_seconds: cpu,
            errors,
        }
    }

    fn print(&self) {
        let mode = if self.streaming {
            "streaming"
        } else {
            "whole answers"
        };
        let load = match self.rate {
            Some(rate) => format!("{rate} per second, at most {} at once", self.concurrency),
            None => format!("concurrency {}", self.concurrency),
        };
        println!(
            "fakegpt bench: {} requests, {load}, {mode}, {}",
            self.requests, self.target
        );
        println!(
            "  completed {}, failed {} in {:.2} s: {:.1} requests/s, {} chunks",
            self.completed, self.failed, self.seconds, self.requests_per_second, self.chunks
        );
        let line = |name: &str, p: &Option<Percentiles>| {
            if let Some(p) = p {
                println!(
                    "  {name:<20} p50 {:>9.3} ms   p99 {:>9.3} ms   max {:>9.3} ms",
                    p.p50, p.p99, p.max
                );
            }
        };
        line("time to first token", &self.time_to_first_token_ms);
        line("between chunks", &self.inter_chunk_ms);
        line("chunk latency", &self.chunk_latency_ms);
        line("whole request", &self.request_ms);
        println!("  in flight on average {:.1}", self.mean_in_flight);
        if let Some(cpu) = self.client_cpu_seconds {
            let per = cpu * 1000.0 / self.completed.max(1) as f64;
            println!("  client CPU {cpu:.2} s ({per:.3} ms per completed request)");
        }
        for error in &self.errors {
            println!("  error: {error}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_become_latencies() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        let ago = |ms: u64| (now - Duration::from_millis(ms)).as_micros();
        let text = format!("<t:{}><t:{}>not a <t:stamp> <t:", ago(5_000), ago(10_000));
        let latencies: Vec<Duration> = stamp_latencies(&text).collect();
        assert_eq!(latencies.len(), 2);
        assert!(latencies[0] >= Duration::from_secs(5) && latencies[0] < Duration::from_secs(9));
        assert!(latencies[1] >= Duration::from_secs(10));
        assert_eq!(stamp_latencies("plain prose").count(), 0);
    }
}
