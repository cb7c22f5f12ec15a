//! One response type per key operation, listing exactly the statuses it answers.

use poem_openapi::payload::Json;
use poem_openapi::ApiResponse;

use super::views::{ApiKeyInfo, ApiKeyList, CreatedApiKey};
use crate::error::{operation_failures, ErrorBody};

/// Every answer of `POST /keys`.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "CreateKeyReply::from_request_error")]
pub enum CreateKeyReply {
    /// The key, shown this once.
    #[oai(status = 201)]
    Created(Json<CreatedApiKey>),
    /// The body is not valid JSON.
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
    /// The body is larger than `server.body_limit_bytes`.
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// The body is not `application/json`.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorBody>),
    /// `name` is missing, empty or longer than 100 characters, or `scopes` is empty or names
    /// an unknown scope; `error.field` names it.
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

operation_failures!(CreateKeyReply (request errors): BadRequest, Forbidden, PayloadTooLarge, UnsupportedMediaType, Unprocessable);

/// Every answer of `GET /keys`.
#[derive(ApiResponse)]
pub enum ListKeysReply {
    /// Every key, newest first; never their secrets.
    #[oai(status = 200)]
    Ok(Json<ApiKeyList>),
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

operation_failures!(ListKeysReply: Forbidden);

/// Every answer of `POST /keys/{prefix}/revoke`.
#[derive(ApiResponse)]
pub enum RevokeKeyReply {
    /// The key, now revoked (revoking it again keeps the first time). This instance refuses
    /// it at once, every other within `auth.key_cache_secs`.
    #[oai(status = 200)]
    Ok(Json<ApiKeyInfo>),
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
    /// No key has this prefix.
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

operation_failures!(RevokeKeyReply: Forbidden);
