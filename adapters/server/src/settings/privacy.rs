//! `[privacy]`: how long conversations are kept.

use std::time::Duration;

use serde::Deserialize;

use super::SettingsError;

#[derive(Debug, Clone, Deserialize)]
pub struct PrivacySettings {
    /// Messages, raw webhook parameters, finished jobs and conversations older than this are
    /// purged; unset keeps them forever.
    #[serde(default)]
    pub retention_days: Option<u32>,
    /// How often the purge runs.
    pub purge_interval_secs: u64,
    /// Rows deleted per statement, so a purge never holds locks for long.
    pub purge_batch: u32,
}

impl PrivacySettings {
    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        if self.retention_days == Some(0) {
            return Err(SettingsError::key(
                "privacy.retention_days",
                "must be at least 1 (leave it unset to keep data forever)",
            ));
        }
        if self.purge_interval_secs == 0 {
            return Err(SettingsError::key(
                "privacy.purge_interval_secs",
                "must be at least 1",
            ));
        }
        if self.purge_batch == 0 {
            return Err(SettingsError::key(
                "privacy.purge_batch",
                "must be at least 1",
            ));
        }
        Ok(())
    }

    /// The retention period, if data is not kept forever.
    pub fn retention(&self) -> Option<Duration> {
        self.retention_days
            .map(|days| Duration::from_secs(u64::from(days) * 86_400))
    }

    pub fn purge_interval(&self) -> Duration {
        Duration::from_secs(self.purge_interval_secs)
    }
}
