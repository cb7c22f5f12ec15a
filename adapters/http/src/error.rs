//! The one JSON error shape every endpoint answers with, and how domain and request errors map
//! onto it. Each operation has its own response type listing exactly the statuses it answers;
//! a `Failure` is converted into it.

use poem::http::StatusCode;
use poem_openapi::types::Example;
use poem_openapi::Object;
use uuid::Uuid;
use whatsapp_agent::access::AccessError;
use whatsapp_agent::ports::{JobBoardError, LlmError, MediaError, StaffStoreError, StoreError};
use whatsapp_agent::staff::StaffError;
use whatsapp_agent::ChatError;

use crate::json_body::BodyError;

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
#[oai(example)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

impl Example for ErrorBody {
    fn example() -> Self {
        ErrorBody::new(
            "validation_error",
            "content: must not be empty unless media_urls or audio_urls are given",
        )
        .with_field("content")
    }
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

/// A failed request, before it is shaped into the operation's own response type.
#[derive(Debug)]
pub enum Failure {
    BadRequest(ErrorBody),
    Unauthorized(ErrorBody),
    Forbidden(ErrorBody),
    NotFound(ErrorBody),
    Conflict(ErrorBody),
    PayloadTooLarge(ErrorBody),
    UnsupportedMediaType(ErrorBody),
    Unprocessable(ErrorBody),
    Internal(ErrorBody),
    BadGateway(ErrorBody),
    TooManyRequests(ErrorBody, u64),
    Unavailable(ErrorBody, u64),
    GatewayTimeout(ErrorBody),
}

impl Failure {
    pub fn unavailable(code: &str, message: impl Into<String>, retry_after: u64) -> Self {
        Failure::Unavailable(ErrorBody::new(code, message), retry_after)
    }

    pub fn internal() -> Self {
        Failure::Internal(ErrorBody::new(
            "internal_error",
            "an internal error occurred; it has been logged",
        ))
    }

    /// A request the framework refused before the handler ran: unreadable or oversized body,
    /// wrong content type, a parameter that does not parse.
    pub fn from_request_error(err: &poem::Error) -> Self {
        if let Some(body) = err.downcast_ref::<BodyError>() {
            return match body {
                BodyError::TooLarge(_) => {
                    Failure::PayloadTooLarge(ErrorBody::new("payload_too_large", body.to_string()))
                }
                BodyError::Unreadable(_) | BodyError::Malformed(_) => {
                    Failure::BadRequest(ErrorBody::new("malformed_json", body.to_string()))
                }
                BodyError::Invalid { field, .. } => Failure::Unprocessable(
                    ErrorBody::new("validation_error", body.to_string()).with_field(field.clone()),
                ),
            };
        }
        if let Some(param) = err.downcast_ref::<poem_openapi::error::ParseParamError>() {
            return Failure::Unprocessable(
                ErrorBody::new(
                    "validation_error",
                    format!("{}: {}", param.name, param.reason),
                )
                .with_field(param.name),
            );
        }
        match err.status() {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Failure::UnsupportedMediaType(ErrorBody::new(
                "unsupported_media_type",
                err.to_string(),
            )),
            StatusCode::PAYLOAD_TOO_LARGE => {
                Failure::PayloadTooLarge(ErrorBody::new("payload_too_large", err.to_string()))
            }
            _ => Failure::BadRequest(ErrorBody::new("bad_request", err.to_string())),
        }
    }
}

impl From<AccessError> for Failure {
    fn from(err: AccessError) -> Self {
        match err {
            AccessError::Unauthenticated(message) => {
                Failure::Unauthorized(ErrorBody::new("unauthorized", message))
            }
            AccessError::Forbidden(message) => {
                Failure::Forbidden(ErrorBody::new("forbidden", message))
            }
            AccessError::Unavailable(message) => {
                Failure::unavailable("auth_unavailable", message, 1)
            }
        }
    }
}

fn store_failure(err: StoreError) -> Failure {
    match err {
        StoreError::Unavailable(cause) => {
            tracing::warn!(%cause, "database unavailable");
            Failure::unavailable(
                "database_unavailable",
                "the database is unavailable; retry shortly",
                1,
            )
        }
        StoreError::Duplicate(_) | StoreError::Unknown(_) => {
            tracing::error!(error = ?err, "store failure");
            Failure::internal()
        }
    }
}

impl From<StaffError> for Failure {
    fn from(err: StaffError) -> Self {
        match err {
            StaffError::Access(err) => err.into(),
            StaffError::NotFound(message) => {
                Failure::NotFound(ErrorBody::new("not_found", message))
            }
            StaffError::Invalid { field, message } => Failure::Unprocessable(
                ErrorBody::new("validation_error", format!("{field}: {message}")).with_field(field),
            ),
            StaffError::Store(StaffStoreError::Unavailable(cause)) => {
                store_failure(StoreError::Unavailable(cause))
            }
            StaffError::Store(StaffStoreError::Unknown(cause)) => {
                store_failure(StoreError::Unknown(cause))
            }
            // The team asked about a reply, not a job: say what its job is doing.
            StaffError::Job(JobBoardError::NotFailed { id, status }) => Failure::Conflict(
                ErrorBody::new(
                    "job_not_failed",
                    format!(
                        "message_id: the job that sends this reply (job {id}) is {status}, not \
                         failed: {}",
                        match status.as_str() {
                            "done" =>
                                "the provider took the reply, so there is nothing to re-drive",
                            _ => "the reply is being sent already",
                        }
                    ),
                )
                .with_field("message_id"),
            ),
            StaffError::Job(err) => err.into(),
        }
    }
}

impl From<JobBoardError> for Failure {
    fn from(err: JobBoardError) -> Self {
        match err {
            JobBoardError::NotFound(id) => {
                Failure::NotFound(ErrorBody::new("not_found", format!("no job {id}")))
            }
            err @ JobBoardError::NotFailed { .. } => {
                Failure::Conflict(ErrorBody::new("job_not_failed", err.to_string()))
            }
            JobBoardError::Unavailable(cause) => store_failure(StoreError::Unavailable(cause)),
            err @ JobBoardError::Unknown(_) => {
                tracing::error!(error = ?err, "job board failure");
                Failure::internal()
            }
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
        ChatError::TurnInProgress { .. } => ("turn_in_progress", err.to_string()),
        ChatError::UserErased => ("user_erased", err.to_string()),
        ChatError::Access(AccessError::Unauthenticated(_)) => ("unauthorized", err.to_string()),
        ChatError::Access(AccessError::Forbidden(_)) => ("forbidden", err.to_string()),
        ChatError::Access(AccessError::Unavailable(_)) => ("auth_unavailable", err.to_string()),
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

fn llm_failure(err: &LlmError, incoming: Uuid) -> Failure {
    tracing::warn!(error = %err, "language model failed; incoming message kept");
    let mut body = ErrorBody::new(llm_code(err), err.to_string());
    body.error.incoming_message_id = Some(incoming);
    match err {
        LlmError::Unavailable(_) => Failure::Unavailable(body, 5),
        LlmError::RateLimited { retry_after } => {
            Failure::Unavailable(body, retry_after.map_or(5, |d| d.as_secs().max(1)))
        }
        LlmError::Timeout => Failure::GatewayTimeout(body),
        LlmError::Rejected(_) | LlmError::BadResponse(_) => Failure::BadGateway(body),
    }
}

impl From<ChatError> for Failure {
    fn from(err: ChatError) -> Self {
        match err {
            ChatError::Invalid { field, message } => Failure::Unprocessable(
                ErrorBody::new("validation_error", format!("{field}: {message}")).with_field(field),
            ),
            ChatError::Access(err) => err.into(),
            ChatError::Store(err) => store_failure(err),
            ChatError::TurnInProgress { .. } => Failure::Conflict(ErrorBody::new(
                "turn_in_progress",
                format!("{err}; retry once its reply has arrived"),
            )),
            ChatError::UserErased => {
                Failure::Conflict(ErrorBody::new("user_erased", err.to_string()))
            }
            ChatError::Llm { source, incoming } => llm_failure(&source, incoming.0),
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
                    MediaError::Unavailable(_) => Failure::BadGateway(body),
                    _ => Failure::Unprocessable(body),
                }
            }
        }
    }
}

/// `From<Failure>` and the request-error handler for the response type of an operation that
/// runs a chat turn (`ChatReply`, `StreamReply`): they answer every `Failure`.
macro_rules! turn_failures {
    ($name:ident) => {
        impl $name {
            fn from_request_error(err: poem::Error) -> Self {
                $crate::error::Failure::from_request_error(&err).into()
            }
        }

        impl From<$crate::error::Failure> for $name {
            fn from(failure: $crate::error::Failure) -> Self {
                use poem_openapi::payload::Json;
                use $crate::error::Failure as F;
                match failure {
                    F::BadRequest(body) => Self::BadRequest(Json(body)),
                    F::Unauthorized(body) => Self::Unauthorized(Json(body), "Bearer".into()),
                    F::Forbidden(body) => Self::Forbidden(Json(body)),
                    F::NotFound(body) => {
                        tracing::error!(?body, "a chat turn cannot answer 404");
                        F::internal().into()
                    }
                    F::Conflict(body) => Self::Conflict(Json(body)),
                    F::PayloadTooLarge(body) => Self::PayloadTooLarge(Json(body)),
                    F::UnsupportedMediaType(body) => Self::UnsupportedMediaType(Json(body)),
                    F::Unprocessable(body) => Self::Unprocessable(Json(body)),
                    F::Internal(body) => Self::Internal(Json(body)),
                    F::BadGateway(body) => Self::BadGateway(Json(body)),
                    F::TooManyRequests(body, retry) => Self::TooManyRequests(Json(body), retry),
                    F::Unavailable(body, retry) => Self::Unavailable(Json(body), retry),
                    F::GatewayTimeout(body) => Self::GatewayTimeout(Json(body)),
                }
            }
        }
    };
}
pub(crate) use turn_failures;

/// `From<Failure>` for an operation's response type: the statuses it lists are answered as
/// themselves (401 always with `WWW-Authenticate: Bearer`), any other failure is a bug (500).
/// With `(request errors)` it also gives the type the request-error handler its
/// `bad_request_handler` names.
macro_rules! operation_failures {
    ($name:ident (request errors): $($variant:ident),*) => {
        impl $name {
            fn from_request_error(err: poem::Error) -> Self {
                $crate::error::Failure::from_request_error(&err).into()
            }
        }

        $crate::error::operation_failures!($name: $($variant),*);
    };
    ($name:ident: $($variant:ident),*) => {
        impl From<$crate::error::Failure> for $name {
            fn from(failure: $crate::error::Failure) -> Self {
                use poem_openapi::payload::Json;
                use $crate::error::Failure as F;
                match failure {
                    F::Unauthorized(body) => Self::Unauthorized(Json(body), "Bearer".into()),
                    F::Unavailable(body, retry) => Self::Unavailable(Json(body), retry),
                    F::Internal(body) => Self::Internal(Json(body)),
                    $(F::$variant(body) => Self::$variant(Json(body)),)*
                    other => {
                        tracing::error!(
                            failure = ?other,
                            response = stringify!($name),
                            "an operation cannot answer this failure"
                        );
                        F::internal().into()
                    }
                }
            }
        }
    };
}
pub(crate) use operation_failures;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_erased_during_the_turn_is_a_conflict_that_says_so() {
        let Failure::Conflict(body) = Failure::from(ChatError::UserErased) else {
            panic!("not a 409");
        };
        assert_eq!(body.error.code, "user_erased");
        assert_eq!(stream_error(&ChatError::UserErased).code, "user_erased");
    }
}
