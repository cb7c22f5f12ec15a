//! `[twilio]`: the WhatsApp provider's account, webhooks and media.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::SettingsError;

#[derive(Debug, Clone, Deserialize)]
pub struct TwilioSettings {
    #[serde(default)]
    pub account_sid: Option<String>,
    #[serde(default)]
    pub auth_token: Option<SecretString>,
    /// Accepted for webhook signatures too, during auth-token rotation.
    #[serde(default)]
    pub secondary_auth_token: Option<SecretString>,
    #[serde(default)]
    pub phone_number: Option<String>,
    /// The service's public URL as the provider calls it (behind proxies, the local address
    /// is not what was signed). Empty: the URL each request arrived at (Host, and the
    /// X-Forwarded-Proto/Host headers when the peer is a trusted proxy).
    #[serde(default)]
    pub public_base_url: String,
    pub validate_signatures: bool,
    pub api_base_url: String,
    /// Ask for delivery status callbacks at `<public_base_url>/webhook/status`.
    pub status_callbacks: bool,
    /// Hosts whose media is fetched with the account's credentials.
    pub media_hosts: Vec<String>,
    /// Retries of a media 404 (media can lag behind the webhook), in milliseconds.
    pub media_not_found_retry_ms: Vec<u64>,
    pub max_send_retries: u32,
    /// Time allowed for one request to the REST API, answer included. A send that times out
    /// may still have gone out; the worker asks the provider before sending it again.
    pub request_timeout_ms: u64,
}

impl TwilioSettings {
    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        let public = &self.public_base_url;
        if !(public.is_empty() || public.starts_with("http://") || public.starts_with("https://")) {
            return Err(SettingsError::key(
                "twilio.public_base_url",
                "must be an http(s) URL",
            ));
        }
        Ok(())
    }

    /// The account SID and auth token, when both are set.
    pub fn credentials(&self) -> Option<(String, SecretString)> {
        let sid = self.account_sid.clone().filter(|s| !s.trim().is_empty())?;
        let token = self.auth_token.clone()?;
        (!token.expose_secret().trim().is_empty()).then_some((sid, token))
    }

    /// The configured public URL without a trailing slash, if any.
    pub fn public_base_url(&self) -> Option<String> {
        let configured = self.public_base_url.trim_end_matches('/');
        (!configured.is_empty()).then(|| configured.to_string())
    }
}
