//! `NoFetch`: a `MediaFetcher` that refuses every download and counts the attempts.

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use whatsapp_agent::ports::{Blob, MediaError, MediaFetcher, MediaPurpose};

#[derive(Default)]
pub struct NoFetch {
    attempts: AtomicUsize,
}

impl NoFetch {
    /// How many downloads were asked for.
    pub fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl MediaFetcher for NoFetch {
    async fn fetch(&self, url: &str, _purpose: MediaPurpose) -> Result<Blob, MediaError> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        Err(MediaError::Refused(url.to_string()))
    }
}
