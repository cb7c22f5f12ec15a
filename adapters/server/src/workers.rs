//! Runs the inbound workers: each loops claim → process, renewing its lease while a slow turn
//! runs, and stops claiming on shutdown while finishing the job in hand.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;
use whatsapp_agent::inbox::{InboundWorker, JobResult};

/// Starts `count` workers on `tracker`; they stop when `stop` is cancelled.
pub fn spawn(
    worker: &InboundWorker,
    count: usize,
    poll: Duration,
    stop: &CancellationToken,
    tracker: &TaskTracker,
) {
    for index in 0..count {
        tracker.spawn(run(worker.clone(), index, poll, stop.clone()));
    }
}

async fn run(worker: InboundWorker, index: usize, poll: Duration, stop: CancellationToken) {
    while !stop.is_cancelled() {
        match worker.claim().await {
            Ok(Some(job)) => {
                let heartbeat = tokio::spawn(renew_while_running(worker.clone(), job.clone()));
                let span = crate::traces::message_span()("job", job.message);
                span.record("job", job.id);
                let result = worker.process(&job).instrument(span).await;
                heartbeat.abort();
                let outcome = match &result {
                    JobResult::Done => "done",
                    JobResult::Retrying(_) => "retrying",
                    JobResult::Failed(_) => "failed",
                    JobResult::LostLease => "lost_lease",
                };
                metrics::counter!("inbound_jobs_processed_total", "result" => outcome).increment(1);
                match &result {
                    JobResult::Done => tracing::info!(job = job.id, "inbound message answered"),
                    JobResult::Retrying(error) => {
                        tracing::warn!(job = job.id, attempts = job.attempts, %error, "job will be retried");
                    }
                    JobResult::Failed(error) => {
                        tracing::error!(job = job.id, attempts = job.attempts, %error, "job failed for good");
                    }
                    JobResult::LostLease => {
                        tracing::warn!(job = job.id, "job was taken over by another worker");
                    }
                }
            }
            Ok(None) => {
                tokio::select! {
                    () = tokio::time::sleep(poll) => {}
                    () = stop.cancelled() => {}
                }
            }
            Err(error) => {
                tracing::warn!(worker = index, %error, "cannot claim jobs; backing off");
                tokio::select! {
                    () = tokio::time::sleep(poll * 8) => {}
                    () = stop.cancelled() => {}
                }
            }
        }
    }
}

/// Renews the lease at a third of its length so a live worker never loses its job.
async fn renew_while_running(worker: InboundWorker, job: whatsapp_agent::ports::Job) {
    let every = worker.config().lease / 3;
    loop {
        tokio::time::sleep(every).await;
        match worker.renew(&job).await {
            Ok(()) => {}
            Err(whatsapp_agent::ports::LeaseError::Lost) => return,
            Err(error) => tracing::warn!(job = job.id, %error, "lease renewal failed"),
        }
    }
}
