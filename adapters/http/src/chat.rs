//! `POST /chat/` (and `/chat`): one app-chat turn, answered in one piece.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{payload::Json, types::Example, ApiResponse, Enum, Object, OpenApi, Tags};
use serde::{Deserialize, Deserializer};
use uuid::Uuid;
use whatsapp_agent::ports::CutOff;
use whatsapp_agent::{ChatInput, TurnOutcome};

use crate::conversations::ConversationStateView;

use crate::auth::ChatAuth;
use crate::error::{turn_failures, ErrorBody, Failure};
use crate::json_body::ApiJson;
use crate::state::AppState;

#[derive(Tags)]
pub enum ApiTags {
    /// The app-chat API: talk to the assistant over HTTP.
    Chat,
    /// Liveness and readiness probes.
    Health,
    /// Callbacks from the WhatsApp provider (signed).
    Webhook,
}

fn null_as_empty<'de, D: Deserializer<'de>>(de: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(de)?.unwrap_or_default())
}

/// A user's message to the assistant.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example)]
pub struct ChatRequest {
    /// The message text. May be empty only when `media_urls` or `audio_urls` are given.
    pub content: String,
    /// Image URLs (http or https). The first is stored in the message's `media_url`.
    #[oai(default)]
    #[serde(default, deserialize_with = "null_as_empty")]
    pub media_urls: Vec<String>,
    /// Voice note or audio URLs (http or https).
    #[oai(default)]
    #[serde(default, deserialize_with = "null_as_empty")]
    pub audio_urls: Vec<String>,
    /// Your app's id for the user; stored as `chat_{user_id}`. Defaults to `chat_user`.
    #[serde(default)]
    pub user_id: Option<String>,
}

impl Example for ChatRequest {
    fn example() -> Self {
        Self {
            content: "I need help with my medical consultation".into(),
            media_urls: vec![],
            audio_urls: vec![],
            user_id: Some("patient-42".into()),
        }
    }
}

impl ChatRequest {
    pub fn into_input(self) -> ChatInput {
        ChatInput {
            user_id: self.user_id,
            content: self.content,
            media_urls: self.media_urls,
            audio_urls: self.audio_urls,
        }
    }
}

/// Why the model did not finish a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum CutOffView {
    /// The reply reached the agent's completion-token limit.
    Length,
    /// The model service's content filter stopped the reply.
    ContentFilter,
}

impl From<CutOff> for CutOffView {
    fn from(cut: CutOff) -> Self {
        match cut {
            CutOff::TokenLimit => Self::Length,
            CutOff::ContentFilter => Self::ContentFilter,
        }
    }
}

/// The assistant's reply and the ids of what was stored.
///
/// While a person of the team has the conversation (`state` is `waiting_for_human`), the
/// assistant stays silent: the message is stored, the user got one notice, and later replies
/// have an empty `content` and no `outgoing_message_id`.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ChatResponse {
    /// The assistant's reply; empty when it stays silent.
    pub content: String,
    /// The `user_id` the turn was stored under.
    pub user_id: String,
    /// Id of the stored user row.
    pub user_uuid: Uuid,
    /// Id of the stored incoming message.
    pub incoming_message_id: Uuid,
    /// Id of the stored outgoing message; absent when the assistant stays silent.
    #[oai(skip_serializing_if_is_none)]
    pub outgoing_message_id: Option<Uuid>,
    /// The agent that wrote the reply: `anna`, a specialist such as `appointments`,
    /// `guardrail` for the fixed emergency reply, or `system` for service notices.
    #[oai(skip_serializing_if_is_none)]
    pub agent: Option<String>,
    /// When the reply was stored (RFC 3339); the incoming message's time when there is none.
    pub created_at: DateTime<Utc>,
    /// The conversation the message belongs to; use it to release a conversation back to the
    /// bot (`POST /conversations/{id}/release`).
    pub conversation_id: Uuid,
    /// Who answers the user now.
    pub state: ConversationStateView,
    /// Set when the model did not finish the reply (`length`: the token limit; `content_filter`).
    /// The stored reply's `error` says so too; the agents file decides whether `content` got a
    /// short note or is the fixed fallback reply.
    #[oai(skip_serializing_if_is_none)]
    pub cut_off: Option<CutOffView>,
}

/// The app's `user_id` of a stored chat user (`chat_alice` → `alice`).
pub(crate) fn chat_user_id(user: &whatsapp_agent::domain::User) -> String {
    user.phone_number
        .strip_prefix(whatsapp_agent::domain::CHAT_USER_PREFIX)
        .unwrap_or(&user.phone_number)
        .to_string()
}

/// Fixed ids and a time for the spec's examples.
pub(crate) mod example_ids {
    use chrono::{DateTime, TimeZone, Utc};
    use uuid::Uuid;

    pub const USER: Uuid = Uuid::from_u128(0x0190_f5a0_0000_7000_8000_0000_0000_0001);
    pub const INCOMING: Uuid = Uuid::from_u128(0x0190_f5a0_0001_7000_8000_0000_0000_0002);
    pub const OUTGOING: Uuid = Uuid::from_u128(0x0190_f5a0_0002_7000_8000_0000_0000_0003);
    pub const CONVERSATION: Uuid = Uuid::from_u128(0x0190_f5a0_0003_7000_8000_0000_0000_0004);

    pub fn time() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 15, 9, 30, 0)
            .single()
            .unwrap_or_default()
    }
}

impl Example for ChatResponse {
    fn example() -> Self {
        Self {
            content: "Hello, I'm Anna. I can help you book, move or cancel an appointment. \
                      What would you like to do?"
                .into(),
            user_id: "patient-42".into(),
            user_uuid: example_ids::USER,
            incoming_message_id: example_ids::INCOMING,
            outgoing_message_id: Some(example_ids::OUTGOING),
            agent: Some("anna".into()),
            created_at: example_ids::time(),
            conversation_id: example_ids::CONVERSATION,
            state: ConversationStateView::Bot,
            cut_off: None,
        }
    }
}

impl ChatResponse {
    pub fn from_outcome(user_id: String, outcome: TurnOutcome) -> Self {
        let created_at = outcome
            .outgoing
            .as_ref()
            .map_or(outcome.incoming.created_at, |m| m.created_at);
        let (content, outgoing_message_id, agent) = match outcome.outgoing {
            Some(m) => (m.body, Some(m.id.0), m.agent),
            None => (String::new(), None, None),
        };
        Self {
            content,
            user_id,
            user_uuid: outcome.user.id.0,
            incoming_message_id: outcome.incoming.id.0,
            outgoing_message_id,
            agent,
            created_at,
            conversation_id: outcome.conversation.id.0,
            state: outcome.conversation.state.into(),
            cut_off: outcome.cut_off.map(Into::into),
        }
    }
}

/// Every answer of `POST /chat`.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "ChatReply::from_request_error")]
pub enum ChatReply {
    /// The reply; both messages are stored.
    #[oai(status = 200)]
    Ok(Json<ChatResponse>),
    /// The body is not valid JSON.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// No credential (when one is required), or a wrong, revoked or expired one.
    #[oai(status = 401)]
    Unauthorized(
        Json<ErrorBody>,
        /// `Bearer`: send an API key or a user token.
        #[oai(header = "WWW-Authenticate")]
        String,
    ),
    /// The credential may not do this: a key without the `chat` scope, or a user token for
    /// another `user_id`.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// Another message of the same `user_id` was still being answered after
    /// `limits.turn_wait_secs` (30 s by default): one user's turns run one at a time, in order
    /// (`turn_in_progress`); or the user was erased while the message was being answered
    /// (`user_erased`).
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// The body is larger than `server.body_limit_bytes` (1 MiB by default).
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// The body is not `application/json`.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorBody>),
    /// A field is missing, has the wrong type or breaks a limit of `ChatRequest`, or an
    /// attachment cannot be used; `error.field` names it.
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// Over a request rate: the credential's (`limits.per_key_per_minute`) or the `user_id`'s
    /// (`limits.per_user_per_minute`).
    #[oai(status = 429)]
    TooManyRequests(
        Json<ErrorBody>,
        /// Seconds to wait before retrying.
        #[oai(header = "Retry-After")]
        u64,
    ),
    /// A bug on our side; details are in the server log, never in the response.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The language model or a media host answered with an error or nonsense.
    #[oai(status = 502)]
    BadGateway(Json<ErrorBody>),
    /// The database or the language model is down or overloaded; retry later.
    #[oai(status = 503)]
    Unavailable(
        Json<ErrorBody>,
        /// Seconds to wait before retrying.
        #[oai(header = "Retry-After")]
        u64,
    ),
    /// The language model did not answer in time.
    #[oai(status = 504)]
    GatewayTimeout(Json<ErrorBody>),
}

turn_failures!(ChatReply);

pub struct ChatApi;

impl ChatApi {
    async fn turn(
        state: &AppState,
        auth: ChatAuth,
        body: ChatRequest,
    ) -> Result<ChatResponse, Failure> {
        let caller = auth.0?;
        if let Ok(user_id) = caller.chat_user(body.user_id.as_deref()) {
            state.limits.admit_user(&user_id)?;
        }
        let input = body.into_input();
        let outcome = state.chat.chat(&caller, input).await?;
        let user_id = chat_user_id(&outcome.user);
        tracing::Span::current().record(
            "conversation",
            tracing::field::display(outcome.conversation.id),
        );
        Ok(ChatResponse::from_outcome(user_id, outcome))
    }
}

#[OpenApi]
impl ChatApi {
    /// Send a message and get the assistant's reply.
    ///
    /// Served at both `/chat` and `/chat/` (no redirect).
    ///
    /// The incoming message is stored before the model is asked, so it is kept even when the
    /// model fails (the error then carries `incoming_message_id`).
    #[oai(
        path = "/chat",
        method = "post",
        tag = "ApiTags::Chat",
        operation_id = "chat"
    )]
    async fn chat(
        &self,
        state: Data<&AppState>,
        auth: ChatAuth,
        body: ApiJson<ChatRequest>,
    ) -> ChatReply {
        match Self::turn(&state, auth, body.0).await {
            Ok(response) => ChatReply::Ok(Json(response)),
            Err(failure) => failure.into(),
        }
    }
}
