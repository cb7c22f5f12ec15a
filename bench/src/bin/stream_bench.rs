//! Streaming throughput: an LLM double that has all N tokens ready at once, so the figures
//! measure the server (SSE framing, channel, storage), not a model.
//!
//! `cargo run --release -p wa-bench --bin stream_bench [sqlite|postgres]`
//! Env: `TOKENS` (default 500), `STREAMS` (concurrent streams, default 50).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use eventsource_stream::Eventsource;
use futures::{future::join_all, StreamExt};
use wa_bench::{ms, percentile, start, Backend};
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let tokens: usize = std::env::var("TOKENS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let streams: usize = std::env::var("STREAMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    for backend in Backend::from_args() {
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
