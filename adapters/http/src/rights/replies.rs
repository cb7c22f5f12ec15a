//! One response type per data rights operation, listing exactly the statuses it answers.

use poem_openapi::payload::Json;
use poem_openapi::ApiResponse;

use super::views::{ErasureResult, UserExportDocument};
use crate::error::{operation_failures, ErrorBody};

/// Every answer of `GET /users/{user}/export`.
#[derive(ApiResponse)]
pub enum ExportReply {
    /// Everything stored about the user.
    #[oai(status = 200)]
    Ok(Json<UserExportDocument>),
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

/// Every answer of `DELETE /users/{user}`.
#[derive(ApiResponse)]
pub enum EraseReply {
    /// Every row holding the user's data is gone; an audit record keeps only when and by
    /// which credential.
    #[oai(status = 200)]
    Ok(Json<ErasureResult>),
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
    /// No user has this id or identity (never existed, or already erased).
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// A bug on our side; details are in the server log, never in the response.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The database is down; nothing was removed. Retry later.
    #[oai(status = 503)]
    Unavailable(
        Json<ErrorBody>,
        /// Seconds to wait before retrying.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

operation_failures!(ExportReply: Forbidden);
operation_failures!(EraseReply: Forbidden);
