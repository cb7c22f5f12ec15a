//! `TwilioMediaFetcher`: downloads inbound `MediaUrlN` attachments from Twilio, with the
//! account's credentials sent to Twilio hosts only, and nothing fetched from anywhere else.

use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use whatsapp_agent::ports::{Blob, MediaError, MediaFetcher, MediaPurpose};

use crate::hosts;

const MAX_REDIRECTS: usize = 5;

/// Credentials, trusted hosts and limits of the fetcher. The auth token is a secret: `Debug`
/// never shows it.
#[derive(Clone, Debug)]
pub struct TwilioMediaSettings {
    pub account_sid: String,
    pub auth_token: SecretString,
    /// Hosts media URLs may point at, fetched with HTTP basic auth (AccountSid:AuthToken).
    /// Patterns: a host (`api.twilio.com`, https only), a subdomain wildcard (`*.twilio.com`,
    /// https only), or a host with a port (`127.0.0.1:8080`, http or https, for local servers).
    /// Any other URL is refused.
    pub allowed_hosts: Vec<String>,
    /// Hosts Twilio may redirect to (its media CDN), fetched WITHOUT credentials.
    pub redirect_hosts: Vec<String>,
    /// Waits before fetching again after a 404: Twilio media can appear a moment after the
    /// webhook. One retry per entry.
    pub not_found_retry_delays: Vec<Duration>,
    pub max_image_bytes: usize,
    pub max_audio_bytes: usize,
    pub connect_timeout: Duration,
    /// Time allowed for one request, body included.
    pub timeout: Duration,
}

impl TwilioMediaSettings {
    /// Twilio's hosts and CDN; retries a 404 after 1 s and 3 s; images ≤ 5 MB, audio ≤ 16 MB
    /// (WhatsApp's limits); 5 s to connect, 30 s per download.
    pub fn new(account_sid: impl Into<String>, auth_token: impl Into<SecretString>) -> Self {
        Self {
            account_sid: account_sid.into(),
            auth_token: auth_token.into(),
            allowed_hosts: vec!["api.twilio.com".into(), "*.twilio.com".into()],
            redirect_hosts: vec![
                "*.twiliocdn.com".into(),
                // Where media without enforced authentication is served from.
                "s3-external-1.amazonaws.com".into(),
            ],
            not_found_retry_delays: vec![Duration::from_secs(1), Duration::from_secs(3)],
            max_image_bytes: 5 * 1024 * 1024,
            max_audio_bytes: 16 * 1024 * 1024,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Fetches Twilio media as a [`MediaFetcher`].
#[derive(Debug)]
pub struct TwilioMediaFetcher {
    client: reqwest::Client,
    settings: TwilioMediaSettings,
}

/// A failed download: a 404 may be retried, anything else is final.
enum Failure {
    Missing(String),
    Other(MediaError),
}

impl TwilioMediaFetcher {
    /// # Errors
    /// When the HTTP client cannot be built (TLS backend failure).
    pub fn new(settings: TwilioMediaSettings) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            // Redirects are followed by hand, to check each host and drop credentials.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("whatsapp-agent/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client, settings })
    }

    /// One download, following redirects to allowed hosts.
    async fn download(&self, url: &Url, limit: usize) -> Result<reqwest::Response, Failure> {
        let s = &self.settings;
        let mut current = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let mut request = self.client.get(current.clone());
            if hosts::matches_any(&current, &s.allowed_hosts) {
                request = request.basic_auth(&s.account_sid, Some(s.auth_token.expose_secret()));
            }
            let response = request.send().await.map_err(|err| {
                Failure::Other(MediaError::Unavailable(format!(
                    "{}: {err}",
                    redact(&current)
                )))
            })?;
            let status = response.status();
            if status.is_redirection() {
                current = next_hop(&current, &response, s)?;
                continue;
            }
            let what = format!("{}: HTTP {status}", redact(&current));
            return match status {
                StatusCode::NOT_FOUND => Err(Failure::Missing(what)),
                s if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => {
                    Err(Failure::Other(MediaError::Unavailable(what)))
                }
                s if !s.is_success() => Err(Failure::Other(MediaError::NotFound(what))),
                _ if response.content_length().is_some_and(|n| n > limit as u64) => {
                    Err(Failure::Other(MediaError::TooLarge(limit)))
                }
                _ => Ok(response),
            };
        }
        Err(Failure::Other(MediaError::Unavailable(format!(
            "{}: too many redirects",
            redact(url)
        ))))
    }
}

/// Where a redirect leads, if it stays on Twilio's hosts or CDN.
fn next_hop(
    current: &Url,
    response: &reqwest::Response,
    settings: &TwilioMediaSettings,
) -> Result<Url, Failure> {
    let next = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|location| current.join(location).ok())
        .ok_or_else(|| {
            Failure::Other(MediaError::Unavailable(format!(
                "{}: redirect without a valid Location",
                redact(current)
            )))
        })?;
    if hosts::matches_any(&next, &settings.allowed_hosts)
        || hosts::matches_any(&next, &settings.redirect_hosts)
    {
        Ok(next)
    } else {
        Err(Failure::Other(MediaError::Refused(format!(
            "{}: redirect to a host that is not Twilio's",
            redact(&next)
        ))))
    }
}

/// Reads the body up to `limit` bytes and checks its type.
async fn read_blob(
    response: reqwest::Response,
    url: &Url,
    limit: usize,
    purpose: MediaPurpose,
) -> Result<Blob, MediaError> {
    let declared = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    let mut bytes = Vec::new();
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| MediaError::Unavailable(format!("{}: {e}", redact(url))))?;
        if bytes.len() + chunk.len() > limit {
            return Err(MediaError::TooLarge(limit));
        }
        bytes.extend_from_slice(&chunk);
    }
    whatsapp_agent::ports::blob_from_download(bytes, declared.as_deref(), purpose)
}

#[async_trait]
impl MediaFetcher for TwilioMediaFetcher {
    /// A caller's URL is never fetched with the account's credentials.
    async fn fetch(&self, url: &str, _purpose: MediaPurpose) -> Result<Blob, MediaError> {
        let shown = Url::parse(url).map_or_else(|_| "an invalid URL".into(), |u| redact(&u));
        Err(MediaError::Refused(format!(
            "{shown}: only media from a signed webhook is fetched with the account's credentials"
        )))
    }

    async fn fetch_provider_media(
        &self,
        url: &str,
        purpose: MediaPurpose,
    ) -> Result<Blob, MediaError> {
        let s = &self.settings;
        let parsed = Url::parse(url).map_err(|_| MediaError::Refused("an invalid URL".into()))?;
        if !parsed.username().is_empty()
            || parsed.password().is_some()
            || !hosts::matches_any(&parsed, &s.allowed_hosts)
        {
            return Err(MediaError::Refused(format!(
                "{}: not a Twilio media URL",
                redact(&parsed)
            )));
        }
        let limit = match purpose {
            MediaPurpose::Image => s.max_image_bytes,
            MediaPurpose::Audio => s.max_audio_bytes,
        };
        let mut delays = s.not_found_retry_delays.iter();
        loop {
            match self.download(&parsed, limit).await {
                Ok(response) => return read_blob(response, &parsed, limit, purpose).await,
                Err(Failure::Other(err)) => return Err(err),
                Err(Failure::Missing(what)) => match delays.next() {
                    Some(delay) => {
                        tracing::debug!(
                            wait_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                            "media not there yet, fetching again: {what}"
                        );
                        tokio::time::sleep(*delay).await;
                    }
                    None => return Err(MediaError::NotFound(what)),
                },
            }
        }
    }
}

/// The URL without credentials, query or fragment, which may carry secrets.
fn redact(url: &Url) -> String {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}
