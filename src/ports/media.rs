//! The media port: downloads attachments so the model can see and hear them.

use async_trait::async_trait;

/// Downloaded bytes with what the server said they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blob {
    pub bytes: Vec<u8>,
    /// The MIME type, without parameters, lower case (e.g. `audio/ogg`).
    pub content_type: String,
    /// A file name with an extension matching the type (e.g. `voice.ogg`).
    pub filename: String,
}

/// Why an attachment could not be fetched.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MediaError {
    /// The URL points somewhere we do not fetch from (private network, bad scheme, host not
    /// allowed). The user's input is at fault.
    #[error("refused to fetch {0}")]
    Refused(String),
    /// The remote said the media does not exist, or refused us.
    #[error("media not found: {0}")]
    NotFound(String),
    /// Bigger than allowed.
    #[error("media larger than {0} bytes")]
    TooLarge(usize),
    /// Not a type we accept here.
    #[error("unsupported media type {0}")]
    UnsupportedType(String),
    /// The remote is down or slow; retrying may help.
    #[error("media host unavailable: {0}")]
    Unavailable(String),
}

/// What kind of attachment is being fetched, so the fetcher can check the type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaPurpose {
    Image,
    Audio,
}

/// Fetches attachments, applying size, type and network-safety rules.
///
/// Where a URL came from decides what a download may carry: a URL an API caller supplied is
/// fetched with [`MediaFetcher::fetch`], which MUST NOT add the messaging provider's
/// credentials, even when the URL points at the provider's host (anyone could otherwise read
/// the account's media through us). Only media that arrived in a signed provider webhook goes
/// through [`MediaFetcher::fetch_provider_media`].
#[async_trait]
pub trait MediaFetcher: Send + Sync {
    /// Downloads `url`, a URL an API caller supplied, with no credentials of ours.
    ///
    /// # Errors
    /// [`MediaError::Refused`] for URLs that must not be fetched; the other variants as named.
    async fn fetch(&self, url: &str, purpose: MediaPurpose) -> Result<Blob, MediaError>;

    /// Downloads `url`, a media URL that arrived in a signed webhook of the messaging provider:
    /// the provider's credentials are sent where its hosts need them. Fetchers that hold no
    /// credentials download it like any other URL.
    ///
    /// # Errors
    /// As for [`MediaFetcher::fetch`].
    async fn fetch_provider_media(
        &self,
        url: &str,
        purpose: MediaPurpose,
    ) -> Result<Blob, MediaError> {
        self.fetch(url, purpose).await
    }

    /// Checks a URL an API caller supplied before it is handed to someone who fetches it
    /// without us (the model server): it MUST meet the same address rules as a download.
    /// The default accepts every URL; fetchers that reach a network override it.
    ///
    /// # Errors
    /// [`MediaError::Refused`] when the URL points somewhere that must not be fetched.
    async fn check_url(&self, url: &str) -> Result<(), MediaError> {
        let _ = url;
        Ok(())
    }
}
