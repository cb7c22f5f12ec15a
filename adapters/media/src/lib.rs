//! `HttpMediaFetcher`: downloads attachments for the model, and refuses what it must not fetch.
//!
//! User-supplied URLs are an SSRF risk: without a guard, `http://169.254.169.254/…` or an
//! internal admin page could be fetched and shown to the model. Private, loopback and link-local
//! addresses are refused unless configuration allows them, both for literal IPs and for names
//! (checked on the resolved addresses, so DNS tricks do not help), and on every redirect.

mod guard;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use whatsapp_agent::ports::{Blob, MediaError, MediaFetcher, MediaPurpose};

pub use guard::is_public;

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
            } else if !allow_private && !guard::url_allowed_literal(attempt.url()) {
                attempt.error("redirect to a private address")
            } else {
                attempt.follow()
            }
        });
        let mut builder = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .redirect(redirects)
            .user_agent(concat!("whatsapp-agent/", env!("CARGO_PKG_VERSION")));
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(guard::PublicOnlyResolver));
        }
        Ok(Self {
            client: builder.build()?,
            settings,
        })
    }
}

#[async_trait]
impl MediaFetcher for HttpMediaFetcher {
    async fn fetch(&self, url: &str, purpose: MediaPurpose) -> Result<Blob, MediaError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| MediaError::Refused(redact(url)))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(MediaError::Refused(redact(url)));
        }
        if !self.settings.allow_private_networks && !guard::url_allowed_literal(&parsed) {
            return Err(MediaError::Refused(format!(
                "{}: private or local address",
                redact(url)
            )));
        }
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
                if guard::is_refusal(&err) {
                    MediaError::Refused(format!("{}: private or local address", redact(url)))
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
