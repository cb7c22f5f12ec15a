//! The one JSON error shape every endpoint answers with, and how domain errors map onto it.

use poem_openapi::{payload::Json, ApiResponse, Object};
use uuid::Uuid;
use whatsapp_agent::ports::{LlmError, MediaError, StoreError};
use whatsapp_agent::ChatError;

/// What went wrong.
#[derive(Debug, Clone, Object)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `validation_error`, `llm_unavailable`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// The request field at fault, for validation errors (e.g. `content`, `media_urls[0]`).
    #[oai(skip_serializing_if_is_none)]
    pub field: Option<String>,
    /// Set when the user's message was stored before the failure, so nothing was lost.
    #[oai(skip_serializing_if_is_none)]
    pub incoming_message_id: Option<Uuid>,
}

/// The body of every error response.
#[derive(Debug, Clone, Object)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

impl ErrorBody {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                code: code.to_string(),
                message: message.into(),
                field: None,
                incoming_message_id: None,
            },
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.error.field = Some(field.into());
        self
    }
}

/// Error responses of the API operations.
#[derive(Debug, ApiResponse)]
pub enum ApiError {
    /// Malformed JSON.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// A record with the same key exists.
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// The body exceeds the configured size limit.
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// The request is not `application/json`.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorBody>),
    /// A field is missing, has the wrong type or an invalid value; `error.field` names it.
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// A bug on our side; details are in the server log, never in the response.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The language model answered with an error or nonsense.
    #[oai(status = 502)]
    BadGateway(Json<ErrorBody>),
    /// A dependency (database, language model) is down or overloaded; retry later.
    #[oai(status = 503)]
    Unavailable(
        Json<ErrorBody>,
        /// Seconds to wait before retrying.
        #[oai(header = "Retry-After")]
        Option<u64>,
    ),
    /// The language model did not answer in time.
    #[oai(status = 504)]
    GatewayTimeout(Json<ErrorBody>),
}

impl ApiError {
    pub fn unavailable(code: &str, message: impl Into<String>, retry_after: u64) -> Self {
        ApiError::Unavailable(Json(ErrorBody::new(code, message)), Some(retry_after))
    }
}

fn store_error(err: StoreError) -> ApiError {
    match err {
        StoreError::Unavailable(cause) => {
            tracing::warn!(%cause, "database unavailable");
            ApiError::unavailable(
                "database_unavailable",
                "the database is unavailable; retry shortly",
                1,
            )
        }
        StoreError::Duplicate(_) => ApiError::Conflict(Json(ErrorBody::new(
            "duplicate",
            "a record with the same key already exists",
        ))),
        StoreError::Unknown(cause) => {
            tracing::error!(error = ?cause, "store failure");
            ApiError::Internal(Json(ErrorBody::new(
                "internal_error",
                "an internal error occurred; it has been logged",
            )))
        }
    }
}

/// The stable code of a model failure.
fn llm_code(err: &LlmError) -> &'static str {
    match err {
        LlmError::Unavailable(_) => "llm_unavailable",
        LlmError::RateLimited { .. } => "llm_rate_limited",
        LlmError::Timeout => "llm_timeout",
        LlmError::Rejected(_) => "llm_rejected",
        LlmError::BadResponse(_) => "llm_bad_response",
    }
}

/// Code and message for a failure reported inside a stream, where the status is already sent.
pub fn stream_error(err: &ChatError) -> ErrorDetail {
    let (code, message) = match err {
        ChatError::Invalid { .. } => ("validation_error", err.to_string()),
        ChatError::Store(StoreError::Unavailable(_)) => {
            ("database_unavailable", "the database is unavailable".into())
        }
        ChatError::Store(_) => ("internal_error", "an internal error occurred".into()),
        ChatError::Llm { source, .. } => (llm_code(source), source.to_string()),
        ChatError::Media { source, .. } => (media_code(source), err.to_string()),
    };
    ErrorDetail {
        code: code.into(),
        message,
        field: None,
        incoming_message_id: None,
    }
}

fn media_code(err: &MediaError) -> &'static str {
    match err {
        MediaError::Unavailable(_) => "media_unavailable",
        _ => "media_rejected",
    }
}

fn llm_error(err: &LlmError, incoming: Uuid) -> ApiError {
    tracing::warn!(error = %err, "language model failed; incoming message kept");
    let mut body = ErrorBody::new(llm_code(err), err.to_string());
    body.error.incoming_message_id = Some(incoming);
    let body = Json(body);
    match err {
        LlmError::Unavailable(_) => ApiError::Unavailable(body, Some(5)),
        LlmError::RateLimited { retry_after } => {
            ApiError::Unavailable(body, Some(retry_after.map_or(5, |d| d.as_secs().max(1))))
        }
        LlmError::Timeout => ApiError::GatewayTimeout(body),
        LlmError::Rejected(_) | LlmError::BadResponse(_) => ApiError::BadGateway(body),
    }
}

impl From<ChatError> for ApiError {
    fn from(err: ChatError) -> Self {
        match err {
            ChatError::Invalid { field, message } => ApiError::Unprocessable(Json(
                ErrorBody::new("validation_error", format!("{field}: {message}")).with_field(field),
            )),
            ChatError::Store(err) => store_error(err),
            ChatError::Llm { source, incoming } => llm_error(&source, incoming.0),
            ChatError::Media {
                field,
                source,
                incoming,
            } => {
                let mut body = ErrorBody::new(media_code(&source), format!("{field}: {source}"))
                    .with_field(field);
                body.error.incoming_message_id = Some(incoming.0);
                // The user's URL is at fault unless the media host is merely down.
                match source {
                    MediaError::Unavailable(_) => ApiError::BadGateway(Json(body)),
                    _ => ApiError::Unprocessable(Json(body)),
                }
            }
        }
    }
}
