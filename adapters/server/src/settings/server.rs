//! `[server]`: the listener, HTTP limits and the staff credentials.

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use wa_http::TrustedProxies;

use super::SettingsError;

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub body_limit_bytes: usize,
    pub shutdown_timeout_secs: u64,
    #[serde(default)]
    pub cors_allowed_origins: Vec<String>,
    /// Bearer token for staff endpoints (`ADMIN_TOKEN`); never logged.
    #[serde(default)]
    pub admin_token: Option<SecretString>,
    /// Bearer token `GET /metrics` asks for (`METRICS_TOKEN`); unset, it is open. Never logged.
    #[serde(default)]
    pub metrics_token: Option<SecretString>,
    /// Peers (IP addresses or CIDRs) whose `X-Forwarded-*` headers are believed.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Time a client has to send a request's headers.
    pub header_read_timeout_secs: u64,
    /// Time a client has to send a request's whole body.
    pub body_read_timeout_secs: u64,
}

impl ServerSettings {
    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        if self.body_limit_bytes < 1024 {
            return Err(SettingsError::key(
                "server.body_limit_bytes",
                "must be at least 1024",
            ));
        }
        TrustedProxies::parse(&self.trusted_proxies)
            .map_err(|e| SettingsError::key("server.trusted_proxies", e))?;
        if self.header_read_timeout_secs == 0 {
            return Err(SettingsError::key(
                "server.header_read_timeout_secs",
                "must be at least 1",
            ));
        }
        if self.body_read_timeout_secs == 0 {
            return Err(SettingsError::key(
                "server.body_read_timeout_secs",
                "must be at least 1",
            ));
        }
        Ok(())
    }

    /// Whether the listener is bound to a loopback address only.
    pub fn is_loopback(&self) -> bool {
        let host = self
            .host
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// The peers whose forwarding headers are believed (validated at load).
    pub fn trusted_proxies(&self) -> TrustedProxies {
        TrustedProxies::parse(&self.trusted_proxies).unwrap_or_default()
    }

    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_secs)
    }

    pub fn body_read_timeout(&self) -> Duration {
        Duration::from_secs(self.body_read_timeout_secs)
    }
}
