//! `[worker]`: the workers that answer inbound WhatsApp messages.

use std::time::Duration;

use serde::Deserialize;
use whatsapp_agent::inbox::WorkerConfig;

use super::SettingsError;

#[derive(Debug, Clone, Deserialize)]
pub struct WorkerSettings {
    /// Inbound workers per instance; 0 makes an instance that only receives webhooks.
    pub concurrency: usize,
    pub lease_secs: u64,
    pub max_attempts: u32,
    pub retry_base_ms: u64,
    pub retry_max_secs: u64,
    pub poll_interval_ms: u64,
    /// How long after the user's last message sending a reply is retried (WhatsApp's
    /// customer-service window: 24 hours).
    pub send_window_secs: u64,
    /// Allowed difference between the database's clock and the provider's, when asking the
    /// provider whether a part whose send had no known outcome went out.
    pub clock_skew_secs: u64,
}

impl WorkerSettings {
    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        if self.lease_secs < 3 {
            return Err(SettingsError::key(
                "worker.lease_secs",
                "must be at least 3",
            ));
        }
        if self.max_attempts == 0 {
            return Err(SettingsError::key(
                "worker.max_attempts",
                "must be at least 1",
            ));
        }
        Ok(())
    }

    /// Settings of the inbound worker.
    pub fn worker_config(&self) -> WorkerConfig {
        WorkerConfig {
            lease: Duration::from_secs(self.lease_secs),
            max_attempts: self.max_attempts,
            retry_base: Duration::from_millis(self.retry_base_ms),
            retry_max: Duration::from_secs(self.retry_max_secs),
            send_window: Duration::from_secs(self.send_window_secs),
            clock_skew: Duration::from_secs(self.clock_skew_secs),
        }
    }

    /// How often an idle worker looks for a job.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms)
    }
}
