//! The response type of each staff operation: exactly the statuses it answers.

use poem_openapi::payload::Json;
use poem_openapi::ApiResponse;

use crate::conversations::ConversationView;
use crate::error::{operation_failures, ErrorBody};

use super::views::{
    ConversationDetailView, ConversationListView, StaffMessageView, UserMessagesView,
};

/// Every answer of `GET /conversations`.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "ListReply::from_request_error")]
pub enum ListReply {
    /// A page of conversations.
    #[oai(status = 200)]
    Ok(Json<ConversationListView>),
    /// No credential, or a wrong, revoked or expired one.
    #[oai(status = 401)]
    Unauthorized(
        Json<ErrorBody>,
        /// Always `Bearer`.
        #[oai(header = "WWW-Authenticate")]
        String,
    ),
    /// The credential does not have the `admin` scope.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// A filter, `cursor` or `limit` is not valid; `error.field` names it.
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// A bug on our side; details are in the server log, never in the response.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The database is down; retry later.
    #[oai(status = 503)]
    Unavailable(
        Json<ErrorBody>,
        /// Seconds to wait before retrying.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

operation_failures!(ListReply (request errors): Forbidden, Unprocessable);

/// Every answer of `GET /conversations/{id}`.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "ConversationReply::from_request_error")]
pub enum ConversationReply {
    /// The conversation and a page of its messages; it now counts as seen.
    #[oai(status = 200)]
    Ok(Json<ConversationDetailView>),
    /// `id` is not a UUID.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// No credential, or a wrong, revoked or expired one.
    #[oai(status = 401)]
    Unauthorized(
        Json<ErrorBody>,
        /// Always `Bearer`.
        #[oai(header = "WWW-Authenticate")]
        String,
    ),
    /// The credential does not have the `admin` scope.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// No conversation has this id.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// `cursor` or `limit` is not valid; `error.field` names it.
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// A bug on our side; details are in the server log, never in the response.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The database is down; retry later.
    #[oai(status = 503)]
    Unavailable(
        Json<ErrorBody>,
        /// Seconds to wait before retrying.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

operation_failures!(ConversationReply (request errors): BadRequest, Forbidden, NotFound, Unprocessable);

/// Every answer of `GET /users/{user}/messages`.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "UserMessagesReply::from_request_error")]
pub enum UserMessagesReply {
    /// The user and a page of their messages.
    #[oai(status = 200)]
    Ok(Json<UserMessagesView>),
    /// No credential, or a wrong, revoked or expired one.
    #[oai(status = 401)]
    Unauthorized(
        Json<ErrorBody>,
        /// Always `Bearer`.
        #[oai(header = "WWW-Authenticate")]
        String,
    ),
    /// The credential does not have the `admin` scope.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// No user has this id or identity.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// `cursor` or `limit` is not valid; `error.field` names it.
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// A bug on our side; details are in the server log, never in the response.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The database is down; retry later.
    #[oai(status = 503)]
    Unavailable(
        Json<ErrorBody>,
        /// Seconds to wait before retrying.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

operation_failures!(UserMessagesReply (request errors): Forbidden, NotFound, Unprocessable);

/// Every answer of `POST /conversations/{id}/takeover` and `/release`.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "StateReply::from_request_error")]
pub enum StateReply {
    /// The conversation as it now stands.
    #[oai(status = 200)]
    Ok(Json<ConversationView>),
    /// `id` is not a UUID.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// No credential, or a wrong, revoked or expired one.
    #[oai(status = 401)]
    Unauthorized(
        Json<ErrorBody>,
        /// Always `Bearer`.
        #[oai(header = "WWW-Authenticate")]
        String,
    ),
    /// The credential does not have the `admin` scope.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// No conversation has this id.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// A bug on our side; details are in the server log, never in the response.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The database is down; retry later.
    #[oai(status = 503)]
    Unavailable(
        Json<ErrorBody>,
        /// Seconds to wait before retrying.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

operation_failures!(StateReply (request errors): BadRequest, Forbidden, NotFound);

/// Every answer of `POST /conversations/{id}/messages`.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "ReplyReply::from_request_error")]
pub enum ReplyReply {
    /// The reply as stored. On WhatsApp it was sent: `delivery_status` is `sent`, or `failed`
    /// with `error` saying why.
    #[oai(status = 201)]
    Created(Json<StaffMessageView>),
    /// `id` is not a UUID, or the body is not valid JSON.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// No credential, or a wrong, revoked or expired one.
    #[oai(status = 401)]
    Unauthorized(
        Json<ErrorBody>,
        /// Always `Bearer`.
        #[oai(header = "WWW-Authenticate")]
        String,
    ),
    /// The credential does not have the `admin` scope.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// No conversation has this id.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The body is larger than `server.body_limit_bytes`.
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// The body is not `application/json`.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorBody>),
    /// `text` or `author` is missing or breaks a limit; `error.field` names it.
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// A bug on our side; details are in the server log, never in the response.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The database is down; retry later. Nothing was stored or sent.
    #[oai(status = 503)]
    Unavailable(
        Json<ErrorBody>,
        /// Seconds to wait before retrying.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

operation_failures!(ReplyReply (request errors): BadRequest,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    Unprocessable
);
