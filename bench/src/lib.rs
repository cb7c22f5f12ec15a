//! Shared pieces of the benchmark programs: starting the server on a fresh database and
//! summarising latencies.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::{ConnectionTrait, Database};
use wa_server::{Application, Settings};
use whatsapp_agent::ports::LlmPort;

pub mod model_double;

/// Where the benchmark's database lives.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_args() -> Vec<Backend> {
        match std::env::args().nth(1).as_deref() {
            Some("sqlite") => vec![Backend::Sqlite],
            Some("postgres") => vec![Backend::Postgres],
            _ => vec![Backend::Sqlite, Backend::Postgres],
        }
    }
}

/// Starts the service on 127.0.0.1 with a fresh database; returns its base URL.
///
/// # Errors
/// When the database cannot be created or the server cannot start.
pub async fn start(backend: Backend, llm: Option<Arc<dyn LlmPort>>) -> anyhow::Result<String> {
    start_with(backend, llm, |_| {}).await
}

/// Like [`start`], with settings adjusted by `tweak`.
///
/// # Errors
/// When the database cannot be created or the server cannot start.
pub async fn start_with(
    backend: Backend,
    llm: Option<Arc<dyn LlmPort>>,
    tweak: impl FnOnce(&mut Settings),
) -> anyhow::Result<String> {
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../config").to_string();
    let env: HashMap<String, String> = [("APP_CONFIG_DIR".to_string(), config)].into();
    let mut settings = Settings::load_from(&env)?;
    settings.server.host = "127.0.0.1".into();
    settings.server.port = 0;
    settings.llm.offline_word_delay_ms = 0;
    settings.stream.max_concurrent = 10_000;
    let name = format!("wa_bench_{}", uuid::Uuid::new_v4().simple());
    let url = match backend {
        Backend::Sqlite => {
            let path = std::env::temp_dir().join(format!("{name}.db"));
            format!("sqlite://{}?mode=rwc", path.display())
        }
        Backend::Postgres => {
            let admin = std::env::var("TEST_DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let db = Database::connect(&admin).await?;
            db.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await?;
            let server = admin.rsplit_once('/').map_or(admin.as_str(), |(s, _)| s);
            format!("{server}/{name}")
        }
    };
    settings.database.url = url.into();
    // The rate limits would answer most of the load with 429; the benchmarks measure the work.
    settings.limits.per_key_per_minute = 0;
    settings.limits.per_user_per_minute = 0;
    tweak(&mut settings);
    let app = match llm {
        Some(llm) => Application::build_with_llm(settings, llm).await?,
        None => Application::build(settings).await?,
    };
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until(std::future::pending()));
    Ok(base)
}

/// Runs `work` on a thread and runtime of its own, as a separate program (a client, a model
/// server) would run, so that it does not share the service's run queue.
///
/// # Errors
/// When the runtime cannot be built or the thread panicked.
pub async fn apart<F>(work: F) -> anyhow::Result<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(runtime.block_on(work))
    })
    .await?
}

/// The value below which `q` (0..=1) of the samples fall.
pub fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Peak resident memory of this process (server and load generator together), from
/// `/proc/self/status`; `None` where that file does not exist.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Prints the peak memory line every benchmark ends with.
pub fn report_memory() {
    match peak_rss_mib() {
        Some(mib) => println!("peak RSS (server + load generator): {mib:.1} MiB"),
        None => println!("peak RSS: not available on this platform"),
    }
}
