//! The language-model port: one chat turn, whole or streamed, with tools, images and audio.

use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;

use super::media::Blob;

/// Who said a message in the prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
    /// The result of a tool call, answering the assistant message that asked for it.
    Tool,
}

/// A function the model may call.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments.
    pub parameters: serde_json::Value,
}

/// Whether, and which, tool the model must call when tools are offered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToolChoice {
    /// The model decides between answering and calling a tool.
    Auto,
    /// The model must answer in text; the tools are still shown to it.
    None,
    /// The model must call one of the tools.
    Required,
    /// The model must call the tool with this name.
    Function(String),
}

impl ToolChoice {
    /// Reads `auto`, `none` or `required`; any other text names a tool.
    pub fn parse(value: &str) -> Self {
        match value.trim() {
            "auto" => ToolChoice::Auto,
            "none" => ToolChoice::None,
            "required" => ToolChoice::Required,
            name => ToolChoice::Function(name.to_string()),
        }
    }
}

/// Why a reply ended before the model finished it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CutOff {
    /// The reply reached the completion-token limit.
    TokenLimit,
    /// The model service's content filter withheld the rest.
    ContentFilter,
}

impl CutOff {
    /// The short code clients see: the Chat Completions `finish_reason` it comes from.
    pub fn code(self) -> &'static str {
        match self {
            CutOff::TokenLimit => "length",
            CutOff::ContentFilter => "content_filter",
        }
    }
}

/// A call the model asked for. `arguments` is the model's JSON text, which may be invalid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// One message of the prompt.
#[derive(Clone, Debug, PartialEq)]
pub struct LlmMessage {
    pub role: Role,
    pub text: String,
    /// Image URLs for user turns: `https://…` or `data:<type>;base64,…`.
    pub images: Vec<String>,
    /// Calls an assistant message made.
    pub tool_calls: Vec<ToolCall>,
    /// For `Role::Tool`: which call this answers.
    pub tool_call_id: Option<String>,
}

impl LlmMessage {
    fn with_role(role: Role, text: impl Into<String>) -> Self {
        Self {
            role,
            text: text.into(),
            images: Vec::new(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }

    pub fn user(text: impl Into<String>) -> Self {
        Self::with_role(Role::User, text)
    }

    pub fn assistant(text: impl Into<String>) -> Self {
        Self::with_role(Role::Assistant, text)
    }

    /// The result of the call `call_id`.
    pub fn tool_result(call_id: impl Into<String>, text: impl Into<String>) -> Self {
        let mut message = Self::with_role(Role::Tool, text);
        message.tool_call_id = Some(call_id.into());
        message
    }
}

/// A complete prompt: the system persona, then history oldest first, ending with the new turn.
#[derive(Clone, Debug, PartialEq)]
pub struct LlmRequest {
    pub system: String,
    pub messages: Vec<LlmMessage>,
    /// Functions the model may call; empty for plain chat.
    pub tools: Vec<ToolSpec>,
    /// How the model must use `tools`; `None` leaves it to the model server's setting.
    pub tool_choice: Option<ToolChoice>,
    /// Most tokens the reply may use; `None` leaves it to the model server's setting.
    pub max_completion_tokens: Option<u32>,
}

impl LlmRequest {
    pub fn new(system: impl Into<String>, messages: Vec<LlmMessage>) -> Self {
        Self {
            system: system.into(),
            messages,
            tools: Vec::new(),
            tool_choice: None,
            max_completion_tokens: None,
        }
    }
}

/// Token accounting, when the model reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

/// A whole reply.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LlmReply {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    pub usage: Option<Usage>,
    /// Set when the model did not finish the reply.
    pub cut_off: Option<CutOff>,
}

impl LlmReply {
    /// A text-only reply.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::default()
        }
    }
}

/// One item of a streamed reply.
#[derive(Clone, Debug, PartialEq)]
pub enum LlmChunk {
    /// The next piece of text.
    Text(String),
    /// A complete tool call, assembled from its fragments.
    ToolCall(ToolCall),
    /// Token accounting, usually last.
    Usage(Usage),
    /// The reply ended before the model finished it; comes after the reply's text.
    CutOff(CutOff),
}

/// A reply as a stream. An `Err` item ends the stream.
pub type ChunkStream = BoxStream<'static, Result<LlmChunk, LlmError>>;

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

    /// Answers the prompt as a stream. The text chunks, concatenated, are the whole reply. A
    /// model service that cannot stream this request may answer it whole instead: the stream
    /// then carries the whole text in one chunk.
    ///
    /// # Errors
    /// Fails before the first chunk when the request cannot start; a failure after that arrives
    /// as the stream's last item.
    async fn stream(&self, request: &LlmRequest) -> Result<ChunkStream, LlmError>;

    /// Turns speech into text.
    ///
    /// # Errors
    /// As for [`LlmPort::complete`].
    async fn transcribe(&self, audio: &Blob) -> Result<String, LlmError>;
}
