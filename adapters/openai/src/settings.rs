//! Settings of the OpenAI-compatible adapter.

use std::time::Duration;

use secrecy::SecretString;

use whatsapp_agent::ports::ToolChoice;

/// The request field that carries the completion-token limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenLimitField {
    /// `max_completion_tokens`, the current name.
    MaxCompletionTokens,
    /// `max_tokens`, the older name, which some servers read instead (and ignore the new one).
    MaxTokens,
}

/// Where the model server is and how to talk to it.
#[derive(Clone, Debug)]
pub struct OpenAiSettings {
    /// E.g. `https://api.openai.com/v1` or `http://localhost:11434/v1`.
    pub base_url: String,
    /// Sent as a bearer token; a secret, so `Debug` never shows it.
    pub api_key: Option<SecretString>,
    pub model: String,
    /// Used instead of `model` for turns with images, when set.
    pub vision_model: Option<String>,
    pub transcription_model: String,
    pub organization: Option<String>,
    pub project: Option<String>,
    pub connect_timeout: Duration,
    /// Time allowed for a whole completion, or for a stream's response headers.
    pub request_timeout: Duration,
    /// Longest silence allowed between two events of a stream.
    pub idle_stream_timeout: Duration,
    /// Extra attempts after the first, for retryable failures.
    pub max_retries: u32,
    /// First backoff delay; doubles each attempt, with jitter.
    pub retry_base_delay: Duration,
    /// A `Retry-After` longer than this is not waited for; the error is returned instead.
    pub max_retry_delay: Duration,
    pub supports_tools: bool,
    /// How the model must use the tools offered, unless a request says otherwise. Always sent
    /// with tools: some servers read a missing `tool_choice` as `none`.
    pub tool_choice: ToolChoice,
    /// Whether the server can stream replies to requests with tools. When it cannot (found out
    /// at run time too), such requests are made whole and the answer streamed in one piece.
    pub stream_tools: bool,
    pub supports_vision: bool,
    /// Ask for a usage chunk at the end of streams (`stream_options.include_usage`).
    pub stream_usage: bool,
    pub temperature: Option<f32>,
    /// The limit for requests that set none of their own.
    pub max_completion_tokens: Option<u32>,
    pub token_limit_field: TokenLimitField,
}

impl OpenAiSettings {
    /// Defaults for `base_url` and `model`; everything else as OpenAI supports it.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: None,
            model: model.into(),
            vision_model: None,
            transcription_model: "whisper-1".into(),
            organization: None,
            project: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(60),
            idle_stream_timeout: Duration::from_secs(30),
            max_retries: 2,
            retry_base_delay: Duration::from_millis(500),
            max_retry_delay: Duration::from_secs(20),
            supports_tools: true,
            tool_choice: ToolChoice::Auto,
            stream_tools: true,
            supports_vision: true,
            stream_usage: true,
            temperature: None,
            max_completion_tokens: None,
            token_limit_field: TokenLimitField::MaxCompletionTokens,
        }
    }

    pub(crate) fn endpoint(&self, path: &str) -> String {
        format!("{}/{}", self.base_url.trim_end_matches('/'), path)
    }
}
