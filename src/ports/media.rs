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
#[async_trait]
pub trait MediaFetcher: Send + Sync {
    /// Downloads `url`.
    ///
    /// # Errors
    /// [`MediaError::Refused`] for URLs that must not be fetched; the other variants as named.
    async fn fetch(&self, url: &str, purpose: MediaPurpose) -> Result<Blob, MediaError>;
}
