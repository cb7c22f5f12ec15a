//! A chat request as the app-chat API receives it, and the rules it must meet.

use crate::domain::{Media, DEFAULT_CHAT_USER_ID};

use super::ChatError;

/// Bounds on what one chat request may carry.
#[derive(Clone, Debug)]
pub struct InputLimits {
    pub max_content_chars: usize,
    pub max_urls: usize,
    pub max_url_len: usize,
    pub max_user_id_len: usize,
}

impl Default for InputLimits {
    fn default() -> Self {
        Self {
            max_content_chars: 16_000,
            max_urls: 10,
            max_url_len: 2_048,
            max_user_id_len: 128,
        }
    }
}

/// One user message from the app-chat API.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatInput {
    /// The app's id for the user, as the request named it; `None` lets the caller decide
    /// (an end-user token's own id, or the default `chat_user`).
    pub user_id: Option<String>,
    pub content: String,
    pub media_urls: Vec<String>,
    pub audio_urls: Vec<String>,
}

impl ChatInput {
    /// A text-only message from the default chat user.
    pub fn text(content: impl Into<String>) -> Self {
        Self {
            user_id: None,
            content: content.into(),
            media_urls: Vec::new(),
            audio_urls: Vec::new(),
        }
    }

    /// Checks the input against `limits`.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] naming the first offending field.
    pub fn validate(&self, limits: &InputLimits) -> Result<(), ChatError> {
        let user_id = self.user_id.as_deref().unwrap_or(DEFAULT_CHAT_USER_ID);
        if user_id.trim().is_empty() {
            return Err(ChatError::invalid("user_id", "must not be empty"));
        }
        if user_id.chars().count() > limits.max_user_id_len {
            return Err(ChatError::invalid(
                "user_id",
                format!("must be at most {} characters", limits.max_user_id_len),
            ));
        }
        if user_id.chars().any(char::is_control) {
            return Err(ChatError::invalid(
                "user_id",
                "must not contain control characters",
            ));
        }
        if self.content.trim().is_empty()
            && self.media_urls.is_empty()
            && self.audio_urls.is_empty()
        {
            return Err(ChatError::invalid(
                "content",
                "must not be empty unless media_urls or audio_urls are given",
            ));
        }
        if self.content.contains('\0') {
            return Err(ChatError::invalid(
                "content",
                "must not contain NUL (\\u0000) characters",
            ));
        }
        if self.content.chars().count() > limits.max_content_chars {
            return Err(ChatError::invalid(
                "content",
                format!("must be at most {} characters", limits.max_content_chars),
            ));
        }
        check_urls("media_urls", &self.media_urls, limits)?;
        check_urls("audio_urls", &self.audio_urls, limits)
    }

    /// The attachments in the order they were given: images first, then audio.
    pub fn media(&self) -> Vec<Media> {
        let images = self.media_urls.iter().map(|u| Media::image(u.trim()));
        let audio = self.audio_urls.iter().map(|u| Media::audio(u.trim()));
        images.chain(audio).collect()
    }
}

fn check_urls(field: &str, urls: &[String], limits: &InputLimits) -> Result<(), ChatError> {
    if urls.len() > limits.max_urls {
        return Err(ChatError::invalid(
            field,
            format!("must hold at most {} URLs", limits.max_urls),
        ));
    }
    for (index, url) in urls.iter().enumerate() {
        let url = url.trim();
        let lower = url.to_ascii_lowercase();
        let scheme_ok = lower.starts_with("https://") || lower.starts_with("http://");
        // The host starts with a letter, a digit or `[` (an IPv6 literal).
        let host_ok = url
            .split_once("://")
            .and_then(|(_, rest)| rest.chars().next())
            .is_some_and(|first| first.is_ascii_alphanumeric() || first == '[');
        // Printable ASCII only: international names travel as punycode, other characters
        // percent-encoded, as in any URL on the wire.
        if !scheme_ok
            || !host_ok
            || url.chars().count() > limits.max_url_len
            || !url.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(ChatError::invalid(
                format!("{field}[{index}]"),
                format!(
                    "must be an http(s) URL of at most {} printable ASCII characters \
                     (international names in punycode, other characters percent-encoded)",
                    limits.max_url_len
                ),
            ));
        }
    }
    Ok(())
}
