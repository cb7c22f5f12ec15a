//! `POST /chat/` throughput and latency through the real stack with the offline model, so the
//! figures measure HTTP, validation and two database writes per turn.
//!
//! `cargo run --release -p wa-bench --bin chat_bench [sqlite|postgres]`
//! Env: `REQUESTS` (default 2000), `CONCURRENCY` (default 50).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::Semaphore;
use wa_bench::{ms, percentile, start, Backend};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let requests: usize = std::env::var("REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let concurrency: usize = std::env::var("CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    for backend in Backend::from_args() {
        let base = start(backend, None).await?;
        let client = reqwest::Client::new();
        let gate = Arc::new(Semaphore::new(concurrency));
        let started = Instant::now();
        let mut tasks = futures::stream::FuturesUnordered::new();
        for i in 0..requests {
            let permit = Arc::clone(&gate).acquire_owned().await?;
            let client = client.clone();
            let url = format!("{base}/chat/");
            tasks.push(tokio::spawn(async move {
                let sent = Instant::now();
                let body = serde_json::json!({"content": format!("hello {i}"), "user_id": format!("u{}", i % 100)});
                let status = client.post(url).json(&body).send().await.map(|r| r.status().as_u16());
                drop(permit);
                (status, sent.elapsed())
            }));
        }
        let mut latencies = Vec::with_capacity(requests);
        let mut failures = 0;
        while let Some(result) = tasks.next().await {
            let (status, latency) = result?;
            if status.ok() != Some(200) {
                failures += 1;
            }
            latencies.push(latency);
        }
        let wall = started.elapsed();
        latencies.sort();
        let max = latencies.last().copied().unwrap_or(Duration::ZERO);
        println!(
            "{backend:?}: {requests} chats, {concurrency} concurrent: {:.0} req/s; latency p50 {} p99 {} max {}; {failures} non-200",
            requests as f64 / wall.as_secs_f64(),
            ms(percentile(&latencies, 0.5)),
            ms(percentile(&latencies, 0.99)),
            ms(max),
        );
    }
    wa_bench::report_memory();
    Ok(())
}
