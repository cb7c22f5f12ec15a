//! `[auth]`: who may call without a credential and how credentials are checked.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use whatsapp_agent::access::AccessConfig;

use super::{ServerSettings, SettingsError};

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    /// Requests without a credential are served; only allowed on a loopback listener.
    pub allow_anonymous: bool,
    /// Seconds a verified key is trusted before the store is asked again (and so how long a
    /// revocation takes to reach every instance).
    pub key_cache_secs: u64,
    /// Seconds an end-user token is still accepted after it expired (clock skew).
    pub token_leeway_secs: i64,
    /// The furthest ahead, in seconds, an end-user token may expire.
    pub token_max_ttl_secs: i64,
}

impl AuthSettings {
    pub(super) fn validate(&self, server: &ServerSettings) -> Result<(), SettingsError> {
        if self.allow_anonymous && !server.is_loopback() {
            return Err(SettingsError::message(format!(
                "auth.allow_anonymous=true is only allowed when server.host is a loopback address \
                 (it is {}); set auth.allow_anonymous=false and create API keys, or bind 127.0.0.1",
                server.host
            )));
        }
        if self.token_leeway_secs < 0 {
            return Err(SettingsError::key(
                "auth.token_leeway_secs",
                "must not be negative",
            ));
        }
        if self.token_max_ttl_secs < 1 {
            return Err(SettingsError::key(
                "auth.token_max_ttl_secs",
                "must be at least 1",
            ));
        }
        Ok(())
    }

    /// How the access checks run; `admin_token` is the bootstrap admin credential.
    pub fn access_config(&self, admin_token: Option<&SecretString>) -> AccessConfig {
        AccessConfig {
            allow_anonymous: self.allow_anonymous,
            admin_token: admin_token
                .map(|t| t.expose_secret().to_string())
                .filter(|t| !t.trim().is_empty()),
            cache_ttl: Duration::from_secs(self.key_cache_secs),
            token_leeway_secs: self.token_leeway_secs,
            token_max_ttl_secs: self.token_max_ttl_secs,
        }
    }
}
