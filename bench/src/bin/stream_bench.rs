//! Streaming, in two parts.
//!
//! Throughput: an LLM double that has all N tokens ready at once, so the figures measure the
//! server (SSE framing, channel, storage), not a model.
//!
//! Relay: the service talks to a model double over HTTP on 127.0.0.1 in the OpenAI-compatible
//! streaming wire format ([`wa_bench::model_double`]). The double sends its headers at once,
//! waits `FIRST_DELAY_MS` (so the turn's accept write is long done) and flushes the first content
//! delta, noting the instant; the client notes the instant the first delta event arrives. The
//! figure is the difference (one process, one monotonic clock): what the service adds between
//! the model's first delta and the client's first event.
//!
//! `cargo run --release -p wa-bench --bin stream_bench [sqlite|postgres]`
//! Env: `TOKENS` (default 500), `STREAMS` (concurrent streams, default 50), `FIRST_DELAY_MS`
//! (default 50), `RELAY_SINGLE` (one-at-a-time replies, default 100), `RELAY_ROUNDS` (rounds of
//! `STREAMS` concurrent replies, default 5).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use eventsource_stream::Eventsource;
use futures::{future::join_all, StreamExt};
use wa_bench::model_double::{ModelDouble, Pace};
use wa_bench::{ms, percentile, start, start_with, Backend};
use whatsapp_agent::ports::{Blob, ChunkStream, LlmChunk, LlmError, LlmPort, LlmReply, LlmRequest};

struct InstantTokens(usize);

#[async_trait]
impl LlmPort for InstantTokens {
    fn label(&self) -> String {
        format!("instant-{}", self.0)
    }
    async fn complete(&self, _: &LlmRequest) -> Result<LlmReply, LlmError> {
        Ok(LlmReply::text("tok ".repeat(self.0)))
    }
    async fn stream(&self, _: &LlmRequest) -> Result<ChunkStream, LlmError> {
        let tokens = (0..self.0).map(|_| Ok(LlmChunk::Text("tok ".to_string())));
        Ok(futures::stream::iter(tokens.collect::<Vec<_>>()).boxed())
    }
    async fn transcribe(&self, _: &Blob) -> Result<String, LlmError> {
        Err(LlmError::Unavailable("no speech model here".into()))
    }
}

struct Run {
    first_event: Duration,
    total: Duration,
    events: usize,
}

async fn one_stream(client: &reqwest::Client, base: &str, i: usize) -> anyhow::Result<Run> {
    let started = Instant::now();
    let response = client
        .post(format!("{base}/chat/stream"))
        .json(&serde_json::json!({"content": "benchmark", "user_id": format!("bench-{i}")}))
        .send()
        .await?;
    anyhow::ensure!(response.status() == 200, "status {}", response.status());
    let mut events = response.bytes_stream().eventsource();
    let mut first_event = None;
    let mut count = 0;
    while let Some(event) = events.next().await {
        event?;
        count += 1;
        first_event.get_or_insert_with(|| started.elapsed());
    }
    Ok(Run {
        first_event: first_event.unwrap_or_default(),
        total: started.elapsed(),
        events: count,
    })
}

/// Time from the model double's flush of the first delta to the client's receipt of the first
/// delta event, for one reply to `marker` (its message and its user).
async fn relay(
    client: &reqwest::Client,
    base: &str,
    model: &ModelDouble,
    marker: &str,
) -> anyhow::Result<Duration> {
    let response = client
        .post(format!("{base}/chat/stream"))
        .json(&serde_json::json!({"content": marker, "user_id": marker}))
        .send()
        .await?;
    anyhow::ensure!(response.status() == 200, "status {}", response.status());
    let mut events = response.bytes_stream().eventsource();
    let mut received = None;
    // Read to the end: the reply is stored before the next one-at-a-time reply starts.
    while let Some(event) = events.next().await {
        let arrived = Instant::now();
        let event = event?;
        if received.is_none() {
            let chunk: serde_json::Value = serde_json::from_str(&event.data)?;
            anyhow::ensure!(
                chunk["is_final"] == false,
                "no delta before the end: {chunk}"
            );
            received = Some(arrived);
        }
    }
    let received = received.ok_or_else(|| anyhow::anyhow!("no event"))?;
    let sent = model
        .first_delta_sent(marker)
        .ok_or_else(|| anyhow::anyhow!("the model double saw no request for {marker}"))?;
    anyhow::ensure!(received >= sent, "delta received before it was sent");
    Ok(received - sent)
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn fine(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// The relay figures: one reply at a time, then rounds of `streams` at once. The client runs
/// apart from the service, as the model double does.
async fn relay_figures(backend: Backend, streams: usize) -> anyhow::Result<()> {
    let pace = Pace {
        first_delay: Duration::from_millis(env_or("FIRST_DELAY_MS", 50) as u64),
        deltas: 10,
        gap: Duration::from_millis(10),
    };
    let model = ModelDouble::start(pace)?;
    let base_url = model.base_url.clone();
    let base = start_with(backend, None, move |s| {
        s.llm.base_url = Some(base_url);
    })
    .await?;
    let single = env_or("RELAY_SINGLE", 100);
    let rounds = env_or("RELAY_ROUNDS", 5);
    wa_bench::apart(async move {
        let client = reqwest::Client::new();
        relay(&client, &base, &model, "relay-warm-up").await?;
        for (concurrency, rounds) in [(1, single), (streams, rounds)] {
            let mut gaps = Vec::with_capacity(concurrency * rounds);
            for round in 0..rounds {
                let markers: Vec<String> = (0..concurrency)
                    .map(|i| format!("relay-{concurrency}-{round}-{i}"))
                    .collect();
                let runs = join_all(markers.iter().map(|m| relay(&client, &base, &model, m))).await;
                for run in runs {
                    gaps.push(run?);
                }
            }
            gaps.sort();
            println!(
                "{backend:?}: first delta relay (model double over HTTP, first delta after {} ms), \
                 {concurrency} stream(s) at once, {} replies: p50 {} p99 {} max {}",
                pace.first_delay.as_millis(),
                gaps.len(),
                fine(percentile(&gaps, 0.5)),
                fine(percentile(&gaps, 0.99)),
                fine(gaps.last().copied().unwrap_or_default()),
            );
        }
        anyhow::Ok(())
    })
    .await?
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let tokens = env_or("TOKENS", 500);
    let streams = env_or("STREAMS", 50);
    for backend in Backend::from_args() {
        relay_figures(backend, streams).await?;
        let base = start(backend, Some(Arc::new(InstantTokens(tokens)))).await?;
        let client = reqwest::Client::new();
        one_stream(&client, &base, usize::MAX).await?; // warm-up
        for concurrency in [1, streams] {
            let started = Instant::now();
            let runs = join_all((0..concurrency).map(|i| one_stream(&client, &base, i))).await;
            let wall = started.elapsed();
            let runs: Vec<Run> = runs.into_iter().collect::<Result<_, _>>()?;
            let mut firsts: Vec<Duration> = runs.iter().map(|r| r.first_event).collect();
            firsts.sort();
            let events: usize = runs.iter().map(|r| r.events).sum();
            let slowest = runs.iter().map(|r| r.total).max().unwrap_or_default();
            println!(
                "{backend:?}: {concurrency} stream(s) x {tokens} tokens: first event p50 {} p99 {}; \
                 {events} events in {} ({:.0} events/s); slowest stream {}",
                ms(percentile(&firsts, 0.5)),
                ms(percentile(&firsts, 0.99)),
                ms(wall),
                events as f64 / wall.as_secs_f64(),
                ms(slowest),
            );
        }
    }
    wa_bench::report_memory();
    Ok(())
}
