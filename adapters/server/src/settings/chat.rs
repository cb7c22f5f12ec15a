//! `[chat]` and `[stream]`: limits of the chat API and of streamed replies.

use serde::Deserialize;
use whatsapp_agent::chat::InputLimits;
use whatsapp_agent::ChatConfig;

use super::SettingsError;

#[derive(Debug, Clone, Deserialize)]
pub struct ChatSettings {
    pub max_content_chars: usize,
}

impl ChatSettings {
    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        if self.max_content_chars == 0 {
            return Err(SettingsError::key(
                "chat.max_content_chars",
                "must be at least 1",
            ));
        }
        Ok(())
    }

    /// Settings of the chat use case; `inline_images` comes from `[llm]`.
    pub fn chat_config(&self, inline_images: bool) -> ChatConfig {
        ChatConfig {
            limits: InputLimits {
                max_content_chars: self.max_content_chars,
                ..InputLimits::default()
            },
            inline_images,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct StreamSettings {
    pub keep_alive_secs: u64,
    pub max_concurrent: usize,
}

impl StreamSettings {
    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        if self.keep_alive_secs == 0 {
            return Err(SettingsError::key(
                "stream.keep_alive_secs",
                "must be at least 1",
            ));
        }
        if self.max_concurrent == 0 {
            return Err(SettingsError::key(
                "stream.max_concurrent",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}
