//! One response type per job operation, listing exactly the statuses it answers.

use poem_openapi::payload::Json;
use poem_openapi::ApiResponse;

use super::views::{JobList, JobRetried};
use crate::error::{ErrorBody, Failure};

/// Every answer of `GET /jobs`.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "JobsReply::from_request_error")]
pub enum JobsReply {
    /// Jobs, newest first.
    #[oai(status = 200)]
    Ok(Json<JobList>),
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
    /// `status` or `limit` is not valid; `error.field` names it.
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// A bug on our side; details are in the server log, never in the response.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The database is down, or this instance has no job queue; retry later.
    #[oai(status = 503)]
    Unavailable(
        Json<ErrorBody>,
        /// Seconds to wait before retrying.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

impl JobsReply {
    fn from_request_error(err: poem::Error) -> Self {
        match Failure::from_request_error(&err) {
            // A query parameter that does not parse is a validation error here.
            Failure::BadRequest(body) => Self::Unprocessable(Json(body)),
            other => other.into(),
        }
    }
}

impl From<Failure> for JobsReply {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Unauthorized(body) => Self::Unauthorized(Json(body), "Bearer".into()),
            Failure::Forbidden(body) => Self::Forbidden(Json(body)),
            Failure::Unprocessable(body) => Self::Unprocessable(Json(body)),
            Failure::Unavailable(body, retry) => Self::Unavailable(Json(body), retry),
            Failure::Internal(body) => Self::Internal(Json(body)),
            other => {
                tracing::error!(failure = ?other, "unexpected failure listing jobs");
                Failure::internal().into()
            }
        }
    }
}

/// Every answer of `POST /jobs/{id}/retry`.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "RetryJobReply::from_request_error")]
pub enum RetryJobReply {
    /// The job is queued to run now.
    #[oai(status = 200)]
    Ok(Json<JobRetried>),
    /// The id is not a number.
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
    /// No job has this id.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The job is not failed (pending, running or done): there is nothing to re-drive.
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// A bug on our side; details are in the server log, never in the response.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The database is down, or this instance has no job queue; retry later.
    #[oai(status = 503)]
    Unavailable(
        Json<ErrorBody>,
        /// Seconds to wait before retrying.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

impl RetryJobReply {
    fn from_request_error(err: poem::Error) -> Self {
        Failure::from_request_error(&err).into()
    }
}

impl From<Failure> for RetryJobReply {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::BadRequest(body) | Failure::Unprocessable(body) => {
                Self::BadRequest(Json(body))
            }
            Failure::Unauthorized(body) => Self::Unauthorized(Json(body), "Bearer".into()),
            Failure::Forbidden(body) => Self::Forbidden(Json(body)),
            Failure::NotFound(body) => Self::NotFound(Json(body)),
            Failure::Conflict(body) => Self::Conflict(Json(body)),
            Failure::Unavailable(body, retry) => Self::Unavailable(Json(body), retry),
            Failure::Internal(body) => Self::Internal(Json(body)),
            other => {
                tracing::error!(failure = ?other, "unexpected failure re-driving a job");
                Failure::internal().into()
            }
        }
    }
}
