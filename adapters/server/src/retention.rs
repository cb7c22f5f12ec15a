//! The retention purge: with `privacy.retention_days` set, one instance at a time (whichever
//! holds the `purge` lease) removes data older than the retention period every
//! `privacy.purge_interval_secs`, in batches of `privacy.purge_batch` rows.
//!
//! Logs carry counts only. The lease outlasts two intervals, so a live holder keeps it and a
//! dead one's is taken over after that; should a purge outrun its lease, a second instance
//! purging the same old rows only repeats deletes that find nothing.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;
use whatsapp_agent::access::Caller;
use whatsapp_agent::ports::DataRights;
use whatsapp_agent::rights::Rights;

use crate::settings::PrivacySettings;

const TASK: &str = "purge";

/// What the purge needs: the use case, the lease store and the settings.
#[derive(Clone)]
pub struct Retention {
    pub rights: Rights,
    pub leases: Arc<dyn DataRights>,
    pub settings: PrivacySettings,
}

impl Retention {
    /// Starts the purge loop on `tracker` until `stop` is cancelled; with no retention
    /// period, says at start-up that data is kept forever and starts nothing.
    pub fn spawn(self, stop: &CancellationToken, tracker: &TaskTracker) {
        let Some(retention) = self.settings.retention() else {
            tracing::info!(
                "privacy.retention_days is unset: conversations and messages are kept until a user is erased"
            );
            return;
        };
        tracing::info!(
            retention_days = self.settings.retention_days,
            interval_secs = self.settings.purge_interval_secs,
            "retention purge enabled"
        );
        tracker.spawn(self.run(retention, stop.clone()));
    }

    async fn run(self, retention: Duration, stop: CancellationToken) {
        let holder = Uuid::now_v7();
        let interval = self.settings.purge_interval();
        let lease = u32::try_from(self.settings.purge_interval_secs.saturating_mul(2))
            .unwrap_or(u32::MAX)
            .max(30);
        let batch = usize::try_from(self.settings.purge_batch).unwrap_or(usize::MAX);
        // The operator's own setting decides what is purged: it runs with the authority of
        // the bootstrap admin credential.
        let caller = Caller::AdminToken;
        while !stop.is_cancelled() {
            match self.leases.lead_task(TASK, holder, lease).await {
                Ok(true) => {
                    let purge = self.rights.purge(&caller, retention, batch);
                    tokio::select! {
                        result = purge => match result {
                            Ok(report) if report.total() > 0 => tracing::info!(
                                messages = report.messages,
                                conversations = report.conversations,
                                jobs = report.jobs,
                                users = report.users,
                                "retention purge removed old data"
                            ),
                            Ok(_) => tracing::debug!("retention purge found nothing to remove"),
                            Err(error) => tracing::warn!(%error, "retention purge failed; retrying next interval"),
                        },
                        () = stop.cancelled() => return,
                    }
                }
                Ok(false) => tracing::debug!("another instance runs the retention purge"),
                Err(error) => tracing::warn!(%error, "cannot take the retention purge lease"),
            }
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = stop.cancelled() => {}
            }
        }
    }
}
