//! `[log]`: the log format and filter.

use serde::Deserialize;

use super::SettingsError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

impl LogSettings {
    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        if tracing_subscriber::EnvFilter::try_new(&self.level).is_err() {
            return Err(SettingsError::key(
                "log.level",
                "is not a valid level or filter (try info or debug)",
            ));
        }
        Ok(())
    }
}
