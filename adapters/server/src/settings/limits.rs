//! `[limits]`: request rates per key and per end user, and the wait for a user's turn.

use std::time::Duration;

use serde::Deserialize;

use super::SettingsError;

/// Token buckets: `*_per_minute` is the refill rate (0 = unlimited), `*_burst` the bucket size.
#[derive(Debug, Clone, Deserialize)]
pub struct LimitsSettings {
    pub per_key_per_minute: u32,
    pub per_key_burst: u32,
    pub per_user_per_minute: u32,
    pub per_user_burst: u32,
    /// How long a second turn of the same user waits for the first to finish.
    pub turn_wait_secs: u64,
}

impl LimitsSettings {
    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        if self.per_key_per_minute > 0 && self.per_key_burst == 0 {
            return Err(SettingsError::key(
                "limits.per_key_burst",
                "must be at least 1 when limits.per_key_per_minute is set",
            ));
        }
        if self.per_user_per_minute > 0 && self.per_user_burst == 0 {
            return Err(SettingsError::key(
                "limits.per_user_burst",
                "must be at least 1 when limits.per_user_per_minute is set",
            ));
        }
        Ok(())
    }

    pub fn turn_wait(&self) -> Duration {
        Duration::from_secs(self.turn_wait_secs)
    }
}
