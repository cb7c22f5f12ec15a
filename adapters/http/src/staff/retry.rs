//! `POST /conversations/{id}/messages/{message_id}/retry`: a failed WhatsApp reply sent again,
//! a person's at once, a bot's by re-driving the job that sends it.

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, Tags};
use uuid::Uuid;
use whatsapp_agent::domain::{ConversationId, MessageId};

use crate::auth::StaffAuth;
use crate::error::{operation_failures, ErrorBody, Failure};
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
    /// The reply as it now stands. A person's was sent: `delivery_status` is `sent`, or
    /// `failed` again with `error` saying why. A bot's waits for a worker: `delivery_status`
    /// is `queued` and `error` is gone; the conversation events tell when it changes.
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
    /// The job that sends this bot's reply is not failed (`error.code` is `job_not_failed`):
    /// it is pending or running, so the reply is being sent already, or done. Nothing changed.
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// The message is not a WhatsApp reply that failed, part of a person's reply went out, or
    /// no job sends this bot's reply any more; `error.field` is `message_id`. Nothing was sent.
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

operation_failures!(RetryReply (request errors): BadRequest, Forbidden, NotFound, Conflict, Unprocessable);

fn example_message_id() -> Uuid {
    crate::chat::example_ids::OUTGOING
}

pub struct StaffRetryApi;

#[OpenApi]
impl StaffRetryApi {
    /// Send a failed reply again.
    ///
    /// For a WhatsApp reply whose delivery status is `failed` or `undelivered`.
    ///
    /// A person's reply, of which no part went out, is sent again at once as it was written,
    /// with the same delivery tracking; the answer says what the provider said now.
    ///
    /// A bot's reply (Anna, a specialist, a fixed reply) is handed back to the WhatsApp
    /// workers: the job that sends it, which failed for good, is queued to run now with a
    /// fresh attempt count, as `POST /jobs/{id}/retry` does. The stored reply is sent, not
    /// generated again, and parts that went out are not sent again. The answer comes before
    /// the send: the reply with `delivery_status` `queued` and no `error`. The conversation
    /// counts as changed, and `GET /conversations/events` tells each change that follows: the
    /// reply sent (`queued`, with the provider's id, then `sent`, `delivered`, `read` as the
    /// provider reports), or `failed` again with the reason.
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
