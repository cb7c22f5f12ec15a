//! `[database]`: where the data lives and how the connection pool behaves.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use wa_sql::DbSettings;

use super::SettingsError;

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    /// May hold a password: printed only through [`DatabaseSettings::redacted_url`].
    pub url: SecretString,
    pub max_connections: u32,
    pub min_connections: u32,
    pub connect_timeout_secs: u64,
    pub acquire_timeout_secs: u64,
    pub idle_timeout_secs: u64,
    pub max_lifetime_secs: u64,
    pub test_before_acquire: bool,
    pub sqlite_busy_timeout_ms: u64,
}

impl DatabaseSettings {
    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        let url = self.url.expose_secret();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(SettingsError::key(
                "database.url",
                "must start with sqlite:, postgres:// or postgresql://",
            ));
        }
        if self.max_connections == 0 {
            return Err(SettingsError::key(
                "database.max_connections",
                "must be at least 1",
            ));
        }
        if self.min_connections > self.max_connections {
            return Err(SettingsError::key(
                "database.min_connections",
                "must not exceed database.max_connections",
            ));
        }
        Ok(())
    }

    /// Settings of the SQL adapter.
    pub fn db_settings(&self) -> DbSettings {
        DbSettings {
            url: self.url.clone(),
            max_connections: self.max_connections,
            min_connections: self.min_connections,
            connect_timeout: Duration::from_secs(self.connect_timeout_secs),
            acquire_timeout: Duration::from_secs(self.acquire_timeout_secs),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
            max_lifetime: Duration::from_secs(self.max_lifetime_secs),
            test_before_acquire: self.test_before_acquire,
            sqlite_busy_timeout: Duration::from_millis(self.sqlite_busy_timeout_ms),
        }
    }

    /// The URL with any password replaced, safe for logs.
    pub fn redacted_url(&self) -> String {
        let url = self.url.expose_secret();
        match (url.find("://"), url.rfind('@')) {
            (Some(scheme_end), Some(at)) if at > scheme_end => {
                let userinfo = &url[scheme_end + 3..at];
                let user = userinfo.split(':').next().unwrap_or_default();
                format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..])
            }
            _ => url.to_string(),
        }
    }
}
