//! `POST /conversations/{id}/release`: a person of the team gives a conversation back to the
//! bot, and the conversation state that `/chat/` and the stream report.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::types::Example;
use poem_openapi::{payload::Json, ApiResponse, Enum, Object, OpenApi, Tags};
use uuid::Uuid;
use whatsapp_agent::domain::{Conversation, ConversationId, ConversationState};

use crate::error::{ErrorBody, Failure};
use crate::auth::StaffAuth;
use crate::state::AppState;

#[derive(Tags)]
enum ConversationTags {
    /// Conversations: who answers, and handing them back from a person to the bot.
    Conversations,
}

/// Who answers the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ConversationStateView {
    /// The assistant answers.
    Bot,
    /// A person of the team has the conversation; the assistant stays silent until it is
    /// released.
    WaitingForHuman,
}

impl From<ConversationState> for ConversationStateView {
    fn from(state: ConversationState) -> Self {
        match state {
            ConversationState::Bot => Self::Bot,
            ConversationState::WaitingForHuman => Self::WaitingForHuman,
        }
    }
}

/// A conversation: one session of a user's messages.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ConversationView {
    pub id: Uuid,
    /// Id of the user row.
    pub user_uuid: Uuid,
    pub state: ConversationStateView,
    /// The agent that answers the next message (e.g. `anna`, `appointments`).
    pub active_agent: String,
    /// Why the conversation needs attention (a red flag such as `chest_pain`), if it does.
    #[oai(skip_serializing_if_is_none)]
    pub flag_reason: Option<String>,
    pub started_at: DateTime<Utc>,
    /// Set once the conversation is over (inactivity or `/reset`).
    #[oai(skip_serializing_if_is_none)]
    pub ended_at: Option<DateTime<Utc>>,
}

impl Example for ConversationView {
    fn example() -> Self {
        use crate::chat::example_ids;
        Self {
            id: example_ids::CONVERSATION,
            user_uuid: example_ids::USER,
            state: ConversationStateView::Bot,
            active_agent: "anna".into(),
            flag_reason: None,
            started_at: example_ids::time(),
            ended_at: None,
        }
    }
}

impl From<Conversation> for ConversationView {
    fn from(c: Conversation) -> Self {
        Self {
            id: c.id.0,
            user_uuid: c.user_id.0,
            state: c.state.into(),
            active_agent: c.active_agent,
            flag_reason: c.flag_reason,
            started_at: c.started_at,
            ended_at: c.ended_at,
        }
    }
}

/// Every answer of `POST /conversations/{id}/release`.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "ReleaseReply::from_request_error")]
pub enum ReleaseReply {
    /// The conversation, now answered by the bot again.
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

impl ReleaseReply {
    fn from_request_error(err: poem::Error) -> Self {
        Failure::from_request_error(&err).into()
    }
}

impl From<Failure> for ReleaseReply {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::BadRequest(body) => Self::BadRequest(Json(body)),
            Failure::Unauthorized(body) => Self::Unauthorized(Json(body), "Bearer".into()),
            Failure::Forbidden(body) => Self::Forbidden(Json(body)),
            Failure::Unavailable(body, retry) => Self::Unavailable(Json(body), retry),
            Failure::Internal(body) => Self::Internal(Json(body)),
            other => {
                tracing::error!(failure = ?other, "unexpected failure releasing a conversation");
                Failure::internal().into()
            }
        }
    }
}

/// Whether `header` is `Bearer <expected>`, compared without an early exit on the first
/// differing byte.
pub(crate) fn bearer_matches(header: Option<&str>, expected: &str) -> bool {
    let Some(given) = header.and_then(|h| h.strip_prefix("Bearer ")) else {
        return false;
    };
    let (a, b) = (given.trim().as_bytes(), expected.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub struct ConversationsApi;

#[OpenApi]
impl ConversationsApi {
    /// Give a conversation back to the bot.
    ///
    /// After a person took over (the user asked for one, or the assistant handed over), the
    /// bot stays silent. Releasing lets it answer the next message again; the user gets a new
    /// notice if a person takes over once more.
    #[oai(
        path = "/conversations/:id/release",
        method = "post",
        tag = "ConversationTags::Conversations",
        operation_id = "releaseConversation"
    )]
    async fn release(
        &self,
        state: Data<&AppState>,
        /// The conversation id, as `conversation_id` in `/chat/` responses.
        id: Path<Uuid>,
        auth: StaffAuth,
    ) -> ReleaseReply {
        if let Err(err) = auth.admin() {
            return Failure::from(err).into();
        }
        match state.chat.release(ConversationId(id.0)).await {
            Ok(Some(conversation)) => ReleaseReply::Ok(Json(conversation.into())),
            Ok(None) => ReleaseReply::NotFound(Json(ErrorBody::new(
                "not_found",
                format!("no conversation {}", id.0),
            ))),
            Err(err) => Failure::from(err).into(),
        }
    }
}
