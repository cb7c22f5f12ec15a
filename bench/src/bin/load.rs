//! A load generator, run as a process of its own against any HTTP server: `concurrency` clients,
//! each on its own keep-alive connection, send `POST <url>` with a JSON body back to back for
//! `duration` seconds; a request that takes longer than `timeout` seconds or answers other
//! than 200 counts as failed. Prints one line of `key=value` figures.
//!
//! `{client}` in the body becomes the client's number, so that by default each client is a
//! patient of their own: the service answers one user's turns one at a time, and a load of
//! one user would measure that queue instead of the service.
//!
//! `load <url> <concurrency> <duration_secs> <timeout_secs> [json body]`
//!
//! `AUTHORIZATION`, when set, is sent as the `Authorization` header of every request; several
//! lines are one header per client (client N sends line N, wrapping), e.g. a user token each.

use std::time::{Duration, Instant};

const DEFAULT_BODY: &str = r#"{"content":"I need help with my medical consultation","media_urls":[],"audio_urls":[],"user_id":"load-{client}"}"#;

struct Args {
    url: String,
    concurrency: usize,
    duration: Duration,
    timeout: Duration,
    body: String,
    authorization: Vec<String>,
}

fn args() -> anyhow::Result<Args> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: load <url> <concurrency> <duration_secs> <timeout_secs> [json body]";
    let url = args.next().ok_or_else(|| anyhow::anyhow!(usage))?;
    let number = |value: Option<String>| -> anyhow::Result<u64> {
        Ok(value.ok_or_else(|| anyhow::anyhow!(usage))?.parse()?)
    };
    let concurrency = usize::try_from(number(args.next())?)?.max(1);
    let duration = Duration::from_secs(number(args.next())?);
    let timeout = Duration::from_secs(number(args.next())?);
    let body = args.next().unwrap_or_else(|| DEFAULT_BODY.to_string());
    Ok(Args {
        url,
        concurrency,
        duration,
        timeout,
        body,
        authorization: std::env::var("AUTHORIZATION")
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

/// What one client saw: latencies of answered requests in microseconds, and failures.
#[derive(Default)]
struct Tally {
    latencies: Vec<u64>,
    failed: u64,
}

async fn client(args: &Args, number: usize, http: reqwest::Client, deadline: Instant) -> Tally {
    let mut tally = Tally::default();
    let body = args.body.replace("{client}", &number.to_string());
    let authorization = (!args.authorization.is_empty())
        .then(|| &args.authorization[number % args.authorization.len()]);
    while Instant::now() < deadline {
        let started = Instant::now();
        let mut request = http
            .post(&args.url)
            .header("content-type", "application/json")
            .body(body.clone())
            .timeout(args.timeout);
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        let sent = request.send().await;
        let ok = match sent {
            Ok(response) => {
                let status = response.status();
                // The body is read so the connection is reused, as any client would.
                response.bytes().await.is_ok() && status.as_u16() == 200
            }
            Err(_) => false,
        };
        if ok {
            let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            tally.latencies.push(micros);
        } else {
            tally.failed += 1;
        }
    }
    tally
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let started = Instant::now();
    let deadline = started + args.duration;
    let args = std::sync::Arc::new(args);
    let clients = (0..args.concurrency).map(|number| {
        let args = std::sync::Arc::clone(&args);
        tokio::spawn(async move {
            // One connection per client, like a load tool's `-c`.
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .tcp_nodelay(true)
                .build()?;
            anyhow::Ok(client(&args, number, http, deadline).await)
        })
    });
    let tallies = futures::future::join_all(clients.collect::<Vec<_>>()).await;
    let elapsed = started.elapsed().as_secs_f64();
    let mut latencies = Vec::new();
    let mut failed = 0;
    for tally in tallies {
        let tally = tally??;
        latencies.extend(tally.latencies);
        failed += tally.failed;
    }
    latencies.sort_unstable();
    let ok = latencies.len() as u64;
    println!(
        "requests={} ok={ok} failed={failed} rps={:.0} p50_ms={:.2} p99_ms={:.2}",
        ok + failed,
        ok as f64 / elapsed,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
    );
    Ok(())
}
