//! Sends each media download to the right fetcher. Media that arrived in a signed provider
//! webhook and is hosted by the provider goes to the provider's fetcher, which sends the
//! account's credentials; everything else, and every URL an API caller supplied (even one on
//! the provider's host), goes to the guarded HTTP fetcher, which sends none.

use async_trait::async_trait;
use whatsapp_agent::ports::{Blob, MediaError, MediaFetcher, MediaPurpose};

pub struct MediaRouter {
    pub general: Box<dyn MediaFetcher>,
    /// Hosts (exact, or `*.suffix`) served by `provider`.
    pub provider_hosts: Vec<String>,
    pub provider: Option<Box<dyn MediaFetcher>>,
}

fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    Some(host.to_ascii_lowercase())
}

fn matches(host: &str, pattern: &str) -> bool {
    let host_only = host.split(':').next().unwrap_or(host);
    match pattern.strip_prefix("*.") {
        Some(suffix) => host_only.ends_with(&format!(".{suffix}")),
        None => host == pattern || host_only == pattern,
    }
}

#[async_trait]
impl MediaFetcher for MediaRouter {
    async fn fetch(&self, url: &str, purpose: MediaPurpose) -> Result<Blob, MediaError> {
        self.general.fetch(url, purpose).await
    }

    async fn fetch_provider_media(
        &self,
        url: &str,
        purpose: MediaPurpose,
    ) -> Result<Blob, MediaError> {
        let host = host_of(url).unwrap_or_default();
        match &self.provider {
            Some(provider) if self.provider_hosts.iter().any(|p| matches(&host, p)) => {
                provider.fetch_provider_media(url, purpose).await
            }
            _ => self.general.fetch(url, purpose).await,
        }
    }

    async fn check_url(&self, url: &str) -> Result<(), MediaError> {
        self.general.check_url(url).await
    }
}
