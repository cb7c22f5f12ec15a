//! `[media]`: attachments fetched for the model.

use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct MediaConfig {
    pub max_image_bytes: usize,
    pub max_audio_bytes: usize,
    pub connect_timeout_secs: u64,
    pub timeout_secs: u64,
    pub allow_private_networks: bool,
}

impl MediaConfig {
    /// Settings of the guarded media fetcher.
    pub fn media_settings(&self) -> wa_media::MediaSettings {
        wa_media::MediaSettings {
            max_image_bytes: self.max_image_bytes,
            max_audio_bytes: self.max_audio_bytes,
            connect_timeout: Duration::from_secs(self.connect_timeout_secs),
            timeout: Duration::from_secs(self.timeout_secs),
            allow_private_networks: self.allow_private_networks,
        }
    }
}
