//! `POST /conversations/{id}/messages/{message_id}/retry`: a person's failed WhatsApp reply,
//! sent again.

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, Tags};
use uuid::Uuid;
use whatsapp_agent::domain::{ConversationId, MessageId};

use crate::auth::StaffAuth;
use crate::error::{ErrorBody, Failure};
use crate::state::AppState;

use super::request::staff_caller;
use super::views::StaffMessageView;

#[derive(Tags)]
enum StaffRetryTags {
    /// The clinic's team (API keys with the `admin` scope): read conversations, take them
    /// over, reply as a person and give them back to the bot.
    Staff,
}

/// Every answer of `POST /conversations/{id}/messages/{message_id}/retry`.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "RetryReply::from_request_error")]
pub enum RetryReply {
    /// The reply as it now stands: `delivery_status` is `sent`, or `failed` again with `error`
    /// saying why.
    #[oai(status = 200)]
    Ok(Json<StaffMessageView>),
    /// `id` or `message_id` is not a UUID.
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
    /// The conversation has no such message.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The message is not a person's WhatsApp reply that failed, or part of it went out;
    /// `error.field` is `message_id`. Nothing was sent.
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// A bug on our side; details are in the server log, never in the response.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The database is down; retry later. Nothing was sent.
    #[oai(status = 503)]
    Unavailable(
        Json<ErrorBody>,
        /// Seconds to wait before retrying.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

impl RetryReply {
    fn from_request_error(err: poem::Error) -> Self {
        Failure::from_request_error(&err).into()
    }
}

impl From<Failure> for RetryReply {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::BadRequest(body) => Self::BadRequest(Json(body)),
            Failure::Unauthorized(body) => Self::Unauthorized(Json(body), "Bearer".into()),
            Failure::Forbidden(body) => Self::Forbidden(Json(body)),
            Failure::NotFound(body) => Self::NotFound(Json(body)),
            Failure::Unprocessable(body) => Self::Unprocessable(Json(body)),
            Failure::Unavailable(body, retry) => Self::Unavailable(Json(body), retry),
            Failure::Internal(body) => Self::Internal(Json(body)),
            other => {
                tracing::error!(failure = ?other, "sending a reply again cannot answer this");
                Failure::internal().into()
            }
        }
    }
}

fn example_message_id() -> Uuid {
    crate::chat::example_ids::OUTGOING
}

pub struct StaffRetryApi;

#[OpenApi]
impl StaffRetryApi {
    /// Send a failed reply again.
    ///
    /// A person's WhatsApp reply whose delivery status is `failed` or `undelivered`, and of
    /// which no part went out, is sent again as it was written, with the same delivery
    /// tracking.
    #[oai(
        path = "/conversations/:id/messages/:message_id/retry",
        method = "post",
        tag = "StaffRetryTags::Staff",
        operation_id = "retryReply"
    )]
    async fn retry(
        &self,
        state: Data<&AppState>,
        auth: StaffAuth,
        /// The conversation id.
        id: Path<Uuid>,
        /// The failed reply's id.
        #[oai(example = "example_message_id")]
        message_id: Path<Uuid>,
    ) -> RetryReply {
        let (staff, caller) = match staff_caller(&state, auth.0) {
            Ok(found) => found,
            Err(failure) => return failure.into(),
        };
        match staff
            .retry(&caller, ConversationId(id.0), MessageId(message_id.0))
            .await
        {
            Ok(message) => RetryReply::Ok(Json(StaffMessageView::new(&message, Some(id.0)))),
            Err(err) => Failure::from(err).into(),
        }
    }
}
