//! The language-model port: one chat turn, whole or streamed.

use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;

/// Who said a message in the prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

/// One message of the prompt: text plus, for user turns, image URLs (http(s) or `data:`).
#[derive(Clone, Debug, PartialEq)]
pub struct LlmMessage {
    pub role: Role,
    pub text: String,
    pub images: Vec<String>,
}

impl LlmMessage {
    pub fn user(text: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            text: text.into(),
            images: Vec::new(),
        }
    }

    pub fn assistant(text: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            text: text.into(),
            images: Vec::new(),
        }
    }
}

/// A complete prompt: the system persona, then history oldest first, ending with the new user turn.
#[derive(Clone, Debug, PartialEq)]
pub struct LlmRequest {
    pub system: String,
    pub messages: Vec<LlmMessage>,
}

/// Token accounting, when the model reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

/// A whole reply.
#[derive(Clone, Debug, PartialEq)]
pub struct LlmReply {
    pub text: String,
    pub usage: Option<Usage>,
}

/// A reply as a stream of text deltas. An `Err` item ends the stream.
pub type TextStream = BoxStream<'static, Result<String, LlmError>>;

/// Why the model could not answer. Each variant says whether trying again can help.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    /// The model service could not be reached or said it is overloaded. Retrying may help.
    #[error("language model unavailable: {0}")]
    Unavailable(String),
    /// The model service asked us to slow down.
    #[error("language model rate limit reached")]
    RateLimited { retry_after: Option<Duration> },
    /// No answer within the configured time.
    #[error("language model timed out")]
    Timeout,
    /// The service refused the request for a reason retrying will not fix (bad key, quota, bad input).
    #[error("language model rejected the request: {0}")]
    Rejected(String),
    /// The service answered with something we cannot use.
    #[error("language model sent an invalid response: {0}")]
    BadResponse(String),
}

impl LlmError {
    /// Whether the same request may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            LlmError::Unavailable(_) | LlmError::RateLimited { .. } | LlmError::Timeout
        )
    }
}

/// A chat-completion model.
#[async_trait]
pub trait LlmPort: Send + Sync {
    /// A short label for logs and health output, e.g. `offline` or `openai:gpt-4o-mini`.
    fn label(&self) -> String;

    /// Answers the prompt in one piece.
    ///
    /// # Errors
    /// MUST return an [`LlmError`] that says whether a retry can help; never panics on any reply.
    async fn complete(&self, request: &LlmRequest) -> Result<LlmReply, LlmError>;

    /// Answers the prompt as text deltas, in order. Concatenated, they are the whole reply.
    ///
    /// # Errors
    /// Fails before the first delta when the request cannot start; a failure after that arrives
    /// as the stream's last item.
    async fn stream(&self, request: &LlmRequest) -> Result<TextStream, LlmError>;
}
