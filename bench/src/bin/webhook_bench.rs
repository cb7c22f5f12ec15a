//! Webhook acknowledgement time under load: signed deliveries posted concurrently; each is
//! verified, stored with its job and acknowledged. Workers answer in the background (offline
//! model, replies logged), as in production.
//!
//! `cargo run --release -p wa-bench --bin webhook_bench [sqlite|postgres]`
//! Env: `REQUESTS` (default 2000), `CONCURRENCY` (default 50).

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use futures::StreamExt;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use tokio::sync::Semaphore;
use wa_bench::{ms, percentile, start_with, Backend};

const TOKEN: &str = "bench-token";
const PUBLIC: &str = "https://bench.example.com";

fn signed(i: usize) -> (String, String) {
    let sid = format!("SM{i:032}");
    let from = format!("whatsapp:+1415{:07}", i % 500);
    let body = format!("hello {i}");
    let mut params = vec![
        ("AccountSid", "AC0".to_string()),
        ("Body", body),
        ("From", from),
        ("MessageSid", sid),
        ("NumMedia", "0".to_string()),
        ("To", "whatsapp:+14155550000".to_string()),
    ];
    params.sort();
    let mut data = format!("{PUBLIC}/webhook");
    for (k, v) in &params {
        data.push_str(k);
        data.push_str(v);
    }
    let mut mac = Hmac::<Sha1>::new_from_slice(TOKEN.as_bytes()).expect("key");
    mac.update(data.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let form = params
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                v.replace('+', "%2B").replace(':', "%3A").replace(' ', "+")
            )
        })
        .collect::<Vec<_>>()
        .join("&");
    (form, signature)
}

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
        let base = start_with(backend, None, |s| {
            s.twilio.auth_token = Some(TOKEN.to_string().into());
            s.twilio.public_base_url = PUBLIC.into();
        })
        .await?;
        let client = reqwest::Client::new();
        let gate = Arc::new(Semaphore::new(concurrency));
        let started = Instant::now();
        let mut tasks = futures::stream::FuturesUnordered::new();
        for i in 0..requests {
            let permit = Arc::clone(&gate).acquire_owned().await?;
            let client = client.clone();
            let url = format!("{base}/webhook");
            let (form, signature) = signed(i);
            tasks.push(tokio::spawn(async move {
                let sent = Instant::now();
                let status = client
                    .post(url)
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .header("X-Twilio-Signature", signature)
                    .body(form)
                    .send()
                    .await
                    .map(|r| r.status().as_u16());
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
        println!(
            "{backend:?}: {requests} webhook deliveries, {concurrency} concurrent: {:.0} acks/s; ack p50 {} p99 {} max {}; {failures} non-200",
            requests as f64 / wall.as_secs_f64(),
            ms(percentile(&latencies, 0.5)),
            ms(percentile(&latencies, 0.99)),
            ms(latencies.last().copied().unwrap_or(Duration::ZERO)),
        );
    }
    wa_bench::report_memory();
    Ok(())
}
