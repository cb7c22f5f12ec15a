//! `[llm]`: the model server and what it supports.

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use wa_openai::TokenLimitField;
use whatsapp_agent::ports::ToolChoice;

use super::SettingsError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LlmProvider {
    Auto,
    Offline,
    Openai,
}

/// `llm.tool_choice`: how the model must use the tools it is offered (an agent may override).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolChoiceSetting {
    Auto,
    None,
    Required,
}

/// `llm.max_tokens_field`: the request field that carries the completion-token limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenLimitSetting {
    MaxCompletionTokens,
    MaxTokens,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LlmSettings {
    pub provider: LlmProvider,
    #[serde(default)]
    pub api_key: Option<SecretString>,
    #[serde(default)]
    pub base_url: Option<String>,
    pub model: String,
    #[serde(default)]
    pub vision_model: Option<String>,
    pub transcription_model: String,
    #[serde(default)]
    pub organization: Option<String>,
    #[serde(default)]
    pub project: Option<String>,
    pub connect_timeout_secs: u64,
    pub request_timeout_secs: u64,
    pub idle_stream_timeout_secs: u64,
    pub max_retries: u32,
    pub supports_tools: bool,
    pub tool_choice: ToolChoiceSetting,
    pub stream_tools: bool,
    pub supports_vision: bool,
    pub stream_usage: bool,
    #[serde(default)]
    pub temperature: Option<f32>,
    #[serde(default)]
    pub max_completion_tokens: Option<u32>,
    pub max_tokens_field: TokenLimitSetting,
    pub offline_word_delay_ms: u64,
    pub inline_images: bool,
}

impl LlmSettings {
    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        if let Some(base) = &self.base_url {
            if !(base.starts_with("http://") || base.starts_with("https://")) {
                return Err(SettingsError::key("llm.base_url", "must be an http(s) URL"));
            }
        }
        Ok(())
    }

    /// Whether a model server is configured (a key or a base URL).
    pub fn configured(&self) -> bool {
        self.api_key.is_some() || self.base_url.is_some()
    }

    /// Settings of the OpenAI-compatible adapter; the official default base URL when only a
    /// key is given.
    pub fn openai_settings(&self) -> wa_openai::OpenAiSettings {
        let base = self
            .base_url
            .clone()
            .unwrap_or_else(|| "https://api.openai.com/v1".to_string());
        let mut s = wa_openai::OpenAiSettings::new(base, self.model.clone());
        s.api_key.clone_from(&self.api_key);
        s.vision_model = self.vision_model.clone();
        s.transcription_model = self.transcription_model.clone();
        s.organization = self.organization.clone();
        s.project = self.project.clone();
        s.connect_timeout = Duration::from_secs(self.connect_timeout_secs);
        s.request_timeout = Duration::from_secs(self.request_timeout_secs);
        s.idle_stream_timeout = Duration::from_secs(self.idle_stream_timeout_secs);
        s.max_retries = self.max_retries;
        s.supports_tools = self.supports_tools;
        s.tool_choice = match self.tool_choice {
            ToolChoiceSetting::Auto => ToolChoice::Auto,
            ToolChoiceSetting::None => ToolChoice::None,
            ToolChoiceSetting::Required => ToolChoice::Required,
        };
        s.stream_tools = self.stream_tools;
        s.supports_vision = self.supports_vision;
        s.stream_usage = self.stream_usage;
        s.temperature = self.temperature;
        s.max_completion_tokens = self.max_completion_tokens;
        s.token_limit_field = match self.max_tokens_field {
            TokenLimitSetting::MaxCompletionTokens => TokenLimitField::MaxCompletionTokens,
            TokenLimitSetting::MaxTokens => TokenLimitField::MaxTokens,
        };
        s
    }
}
