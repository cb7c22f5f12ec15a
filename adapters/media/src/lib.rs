//! `HttpMediaFetcher`: downloads attachments for the model, and refuses what it must not fetch.
//!
//! User-supplied URLs are an SSRF risk: without a guard, `http://169.254.169.254/…` or an
//! internal admin page could be fetched and shown to the model. Private, loopback and link-local
//! addresses are refused unless configuration allows them, both for literal IPs and for names
//! (checked on the resolved addresses, so DNS tricks do not help), and on every redirect;
//! metadata services always. A URL handed to the model server instead of downloaded passes the
//! same rules first ([`MediaFetcher::check_url`]). The model server resolves and follows
//! redirects itself, so a name that changes its answer between our check and its fetch is
//! beyond this guard; servers that must never see such URLs set `llm.inline_images`.

mod guard;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use whatsapp_agent::ports::{Blob, MediaError, MediaFetcher, MediaPurpose};

pub use guard::{is_metadata, is_public};

/// Limits of the fetcher.
#[derive(Clone, Debug)]
pub struct MediaSettings {
    pub max_image_bytes: usize,
    pub max_audio_bytes: usize,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    /// Allow private, loopback and link-local addresses (tests and trusted networks only).
    pub allow_private_networks: bool,
}

/// Fetches media over HTTP(S).
pub struct HttpMediaFetcher {
    client: reqwest::Client,
    settings: MediaSettings,
}

impl HttpMediaFetcher {
    /// # Errors
    /// When the HTTP client cannot be built (TLS backend failure).
    pub fn new(settings: MediaSettings) -> Result<Self, reqwest::Error> {
        let allow_private = settings.allow_private_networks;
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 {
                attempt.error("too many redirects")
            } else if let Err(why) = guard::check_literal(attempt.url(), allow_private) {
                attempt.error(why)
            } else {
                attempt.follow()
            }
        });
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .redirect(redirects)
            .user_agent(concat!("whatsapp-agent/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(guard::GuardedResolver { allow_private }))
            .build()?;
        Ok(Self { client, settings })
    }

    fn refused(url: &str, why: guard::Refusal) -> MediaError {
        MediaError::Refused(format!("{}: {why}", redact(url)))
    }
}

#[async_trait]
impl MediaFetcher for HttpMediaFetcher {
    async fn check_url(&self, url: &str) -> Result<(), MediaError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| MediaError::Refused(redact(url)))?;
        guard::check_url(
            &parsed,
            self.settings.allow_private_networks,
            self.settings.connect_timeout,
        )
        .await
        .map_err(|why| Self::refused(url, why))
    }

    async fn fetch(&self, url: &str, purpose: MediaPurpose) -> Result<Blob, MediaError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| MediaError::Refused(redact(url)))?;
        guard::check_literal(&parsed, self.settings.allow_private_networks)
            .map_err(|why| Self::refused(url, why))?;
        let limit = match purpose {
            MediaPurpose::Image => self.settings.max_image_bytes,
            MediaPurpose::Audio => self.settings.max_audio_bytes,
        };
        let response = self
            .client
            .get(parsed.clone())
            .send()
            .await
            .map_err(|err| {
                if let Some(why) = guard::refusal_of(&err) {
                    Self::refused(url, why)
                } else {
                    MediaError::Unavailable(format!("{}: {err}", redact(url)))
                }
            })?;
        let status = response.status();
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(MediaError::Unavailable(format!(
                "{}: HTTP {status}",
                redact(url)
            )));
        }
        if !status.is_success() {
            return Err(MediaError::NotFound(format!(
                "{}: HTTP {status}",
                redact(url)
            )));
        }
        if response
            .content_length()
            .is_some_and(|len| len as usize > limit)
        {
            return Err(MediaError::TooLarge(limit));
        }
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
            let chunk =
                chunk.map_err(|e| MediaError::Unavailable(format!("{}: {e}", redact(url))))?;
            if bytes.len() + chunk.len() > limit {
                return Err(MediaError::TooLarge(limit));
            }
            bytes.extend_from_slice(&chunk);
        }
        whatsapp_agent::ports::blob_from_download(bytes, declared.as_deref(), purpose)
    }
}

/// The URL without its query string, which may carry tokens.
fn redact(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or_default().to_string()
}
