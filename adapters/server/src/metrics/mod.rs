//! Metrics: one Prometheus registry per process, filled by decorators around the ports (model,
//! messenger), the HTTP adapter (requests, webhooks, streams), the workers (jobs), a tracing
//! layer (red flags, which the core reports as events) and figures read at scrape time
//! (queue depth, pool use).

mod events;
mod llm;
mod messenger;

use std::sync::{Arc, OnceLock};

use futures::FutureExt;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use wa_http::{MetricsExport, RenderMetrics};
use wa_sql::{DatabaseConnection, SqlStore};

pub use events::RedFlagCounter;
pub use llm::MeteredLlm;
pub use messenger::MeteredMessenger;

/// Latency buckets in seconds: HTTP handlers answer in milliseconds, model calls take seconds.
const SECONDS_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process-wide registry, installed on first use. `None` when another recorder was
/// installed first (metrics then go there, and `/metrics` is not served).
pub fn registry() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets(SECONDS_BUCKETS)
                .ok()?
                .install_recorder()
                .ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "http_server_requests_total",
        "HTTP requests by method, route template and status."
    );
    describe_histogram!(
        "http_server_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request (to the first byte of a stream)."
    );
    describe_counter!(
        "llm_requests_total",
        "Model calls by operation (complete, stream) and outcome."
    );
    describe_histogram!(
        "llm_request_duration_seconds",
        Unit::Seconds,
        "Model call time, to the whole reply (streams: to their end)."
    );
    describe_counter!(
        "llm_tokens_total",
        "Tokens the model reported, by kind (prompt, completion)."
    );
    describe_counter!(
        "llm_transcriptions_total",
        "Voice-note transcriptions by outcome."
    );
    describe_counter!(
        "webhook_deliveries_total",
        "Webhooks by kind (message, status) and result (accepted, duplicate, invalid_signature, …)."
    );
    describe_counter!(
        "inbound_jobs_processed_total",
        "Inbound jobs a worker finished, by result (done, retrying, failed, lost_lease)."
    );
    describe_gauge!("inbound_jobs", "Inbound jobs by status, at scrape time.");
    describe_gauge!(
        "inbound_jobs_oldest_pending_age_seconds",
        Unit::Seconds,
        "Age of the oldest pending inbound job; 0 when none waits."
    );
    describe_counter!(
        "messages_sent_total",
        "Replies handed to the messaging provider, by outcome (sent, temporary_failure, permanent_failure)."
    );
    describe_counter!("red_flags_total", "Red-flag messages, by category.");
    describe_gauge!(
        "chat_streams_active",
        "Replies streaming now (including ones whose client left)."
    );
    describe_gauge!(
        "db_pool_connections",
        "Database connections by state (idle, in_use)."
    );
    describe_counter!(
        "db_turn_writes_total",
        "Turn writes (accepting a message, finishing a turn) committed by the shared writer."
    );
    describe_counter!(
        "db_turn_write_transactions_total",
        "Transactions that committed them: writes per transaction is how many turns share a commit."
    );
}

/// What `GET /metrics` serves: the registry, with the queue, pool and turn writer's figures read
/// first.
pub fn export(store: Arc<SqlStore>, token: Option<String>) -> Option<MetricsExport> {
    let handle = registry()?;
    let render: RenderMetrics = Arc::new(move || {
        let store = Arc::clone(&store);
        async move {
            let turns = store.turn_write_stats();
            metrics::counter!("db_turn_writes_total").absolute(turns.writes);
            metrics::counter!("db_turn_write_transactions_total").absolute(turns.commits);
            scrape_database(store.connection()).await;
            handle.run_upkeep();
            handle.render()
        }
        .boxed()
    });
    Some(MetricsExport { render, token })
}

async fn scrape_database(db: &DatabaseConnection) {
    let pool = wa_sql::pool_stats(db);
    metrics::gauge!("db_pool_connections", "state" => "idle").set(f64::from(pool.idle));
    metrics::gauge!("db_pool_connections", "state" => "in_use")
        .set(f64::from(pool.open.saturating_sub(pool.idle)));
    match wa_sql::queue_stats(db).await {
        Ok(queue) => {
            for status in ["pending", "running", "done", "failed"] {
                let count = queue
                    .by_status
                    .iter()
                    .find(|(s, _)| s == status)
                    .map_or(0, |(_, n)| *n);
                metrics::gauge!("inbound_jobs", "status" => status).set(count as f64);
            }
            let age = queue.oldest_pending.map_or(0.0, |at| {
                (chrono::Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0
            });
            metrics::gauge!("inbound_jobs_oldest_pending_age_seconds").set(age);
        }
        Err(error) => tracing::warn!(%error, "cannot read the job queue for metrics"),
    }
}
