//! `POST /chat/stream`: the same turn as `/chat/`, answered as Server-Sent Events.
//!
//! Validation and the model's refusal to start are ordinary 4xx/5xx responses sent before the
//! stream. Once streaming, the reply is generated on a task the connection does not own, so a
//! client that disconnects still gets a complete stored reply.

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::StreamExt;
use poem::web::sse::Event;
use poem::web::Data;
use poem::{IntoResponse, Response};
use poem_openapi::payload::{EventStream, Json, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{Example, ToJSON, Type};
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;
use whatsapp_agent::StreamEvent;

use crate::auth::ChatAuth;
use crate::chat::{ApiTags, ChatRequest, CutOffView};
use crate::conversations::ConversationStateView;
use crate::error::{stream_error, turn_failures, ErrorBody, ErrorDetail, Failure};
use crate::json_body::ApiJson;
use crate::state::AppState;

/// One Server-Sent Event of a streamed reply (`data:` holds this object as JSON).
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ChatChunk {
    /// A piece of the reply; empty on the final event.
    pub content: String,
    /// When the event was produced (RFC 3339).
    pub timestamp: DateTime<Utc>,
    /// `true` only on the last event.
    pub is_final: bool,
    /// Final event: the `user_id` the turn was stored under.
    #[oai(skip_serializing_if_is_none)]
    pub user_id: Option<String>,
    /// Final event: id of the stored incoming message.
    #[oai(skip_serializing_if_is_none)]
    pub incoming_message_id: Option<Uuid>,
    /// Final event: id of the stored reply (also set for a stored partial reply).
    #[oai(skip_serializing_if_is_none)]
    pub outgoing_message_id: Option<Uuid>,
    /// Final event: the agent that wrote the reply.
    #[oai(skip_serializing_if_is_none)]
    pub agent: Option<String>,
    /// Final event: the conversation the message belongs to.
    #[oai(skip_serializing_if_is_none)]
    pub conversation_id: Option<Uuid>,
    /// Final event: who answers the user now (`waiting_for_human`: the assistant stays silent).
    #[oai(skip_serializing_if_is_none)]
    pub state: Option<ConversationStateView>,
    /// Final event of a failed reply: what went wrong. Deltas sent so far are stored as a
    /// reply marked interrupted.
    #[oai(skip_serializing_if_is_none)]
    pub error: Option<ErrorDetail>,
    /// Final event of a reply the model did not finish (`length`: the token limit;
    /// `content_filter`). The stored reply's `error` says so too; a note or the fallback reply
    /// the agents file asks for arrives as the last deltas.
    #[oai(skip_serializing_if_is_none)]
    pub cut_off: Option<CutOffView>,
}

impl Example for ChatChunk {
    fn example() -> Self {
        use crate::chat::example_ids;
        Self {
            content: String::new(),
            timestamp: example_ids::time(),
            is_final: true,
            user_id: Some("patient-42".into()),
            incoming_message_id: Some(example_ids::INCOMING),
            outgoing_message_id: Some(example_ids::OUTGOING),
            agent: Some("anna".into()),
            conversation_id: Some(example_ids::CONVERSATION),
            state: Some(ConversationStateView::Bot),
            error: None,
            cut_off: None,
        }
    }
}

impl ChatChunk {
    fn delta(content: String) -> Self {
        Self {
            content,
            timestamp: Utc::now(),
            is_final: false,
            user_id: None,
            incoming_message_id: None,
            outgoing_message_id: None,
            agent: None,
            conversation_id: None,
            state: None,
            error: None,
            cut_off: None,
        }
    }

    fn last(event: StreamEvent, user_id: &str) -> Self {
        let mut chunk = Self::delta(String::new());
        chunk.is_final = true;
        chunk.user_id = Some(user_id.to_string());
        match event {
            StreamEvent::Delta(content) => return Self::delta(content),
            StreamEvent::Finished(outcome) => {
                chunk.incoming_message_id = Some(outcome.incoming.id.0);
                chunk.outgoing_message_id = outcome.outgoing.as_ref().map(|m| m.id.0);
                chunk.agent = outcome.outgoing.and_then(|m| m.agent);
                chunk.conversation_id = Some(outcome.conversation.id.0);
                chunk.state = Some(outcome.conversation.state.into());
                chunk.cut_off = outcome.cut_off.map(Into::into);
            }
            StreamEvent::Interrupted {
                error,
                incoming,
                partial,
                ..
            } => {
                chunk.incoming_message_id = Some(incoming.id.0);
                chunk.outgoing_message_id = partial.as_ref().map(|m| m.id.0);
                chunk.agent = partial.and_then(|m| m.agent);
                chunk.error = Some(stream_error(&error));
            }
        }
        chunk
    }
}

/// The reply as Server-Sent Events, declared as `text/event-stream` whose schema is one
/// `ChatChunk`: each event's `data:` is one such object. That is the form SDK generators read
/// as "a stream of `ChatChunk`" (rather than the framework's default, an array of chunks).
pub struct ChatEvents(EventStream<BoxStream<'static, ChatChunk>>);

impl Payload for ChatEvents {
    const CONTENT_TYPE: &'static str = "text/event-stream";

    fn schema_ref() -> MetaSchemaRef {
        ChatChunk::schema_ref()
    }

    fn register(registry: &mut Registry) {
        ChatChunk::register(registry);
    }
}

impl IntoResponse for ChatEvents {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

/// Every answer of `POST /chat/stream`.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "StreamReply::from_request_error")]
pub enum StreamReply {
    /// The reply as Server-Sent Events: each event is `id: <n>` and `data: <ChatChunk as
    /// JSON>`; the last has `is_final: true` and the stored ids. Comment lines keep the
    /// connection alive while the model thinks.
    #[oai(status = 200)]
    Events(
        ChatEvents,
        /// Always `no-cache`.
        #[oai(header = "Cache-Control")]
        String,
        /// Always `no`, so proxies do not buffer the stream.
        #[oai(header = "X-Accel-Buffering")]
        String,
    ),
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
    /// The language model or a media host answered with an error before the first event.
    #[oai(status = 502)]
    BadGateway(Json<ErrorBody>),
    /// The database or the language model is down, or `stream.max_concurrent` replies are
    /// streaming already; retry later.
    #[oai(status = 503)]
    Unavailable(
        Json<ErrorBody>,
        /// Seconds to wait before retrying.
        #[oai(header = "Retry-After")]
        u64,
    ),
    /// The language model did not start answering in time.
    #[oai(status = 504)]
    GatewayTimeout(Json<ErrorBody>),
}

turn_failures!(StreamReply);

pub struct StreamApi;

#[OpenApi]
impl StreamApi {
    /// Send a message and receive the reply as Server-Sent Events.
    ///
    /// Same request and validation as `POST /chat/`. The incoming message is stored before the
    /// first byte; the reply is stored once, complete, when it ends, even if the client has
    /// disconnected. Past `stream.max_concurrent` running streams the answer is 503 with
    /// `Retry-After`.
    #[oai(
        path = "/chat/stream",
        method = "post",
        tag = "ApiTags::Chat",
        operation_id = "chatStream"
    )]
    async fn stream(
        &self,
        state: Data<&AppState>,
        auth: ChatAuth,
        body: ApiJson<ChatRequest>,
    ) -> StreamReply {
        match Self::start(&state, auth, body.0).await {
            Ok(events) => StreamReply::Events(events, "no-cache".into(), "no".into()),
            Err(failure) => failure.into(),
        }
    }
}

impl StreamApi {
    async fn start(
        state: &AppState,
        auth: ChatAuth,
        body: ChatRequest,
    ) -> Result<ChatEvents, Failure> {
        let caller = auth.0?;
        if let Ok(user_id) = caller.chat_user(body.user_id.as_deref()) {
            state.limits.admit_user(&user_id)?;
        }
        // The permit belongs to the generation task, not the connection: a reply that goes on
        // after its client left still counts against the limit.
        let permit = state.streams.clone().try_acquire_owned().map_err(|_| {
            Failure::unavailable(
                "too_many_streams",
                "too many replies are streaming right now; retry shortly",
                1,
            )
        })?;
        let body_user = body.user_id.clone();
        let input = body.into_input();
        let reply = state.chat.stream(&caller, input).await?;
        let user_id = caller.chat_user(body_user.as_deref()).unwrap_or_default();
        let driver = reply.driver;
        state.tasks.spawn(async move {
            driver.await;
            drop(permit);
        });
        let chunks = reply
            .events
            .map(move |event| match event {
                StreamEvent::Delta(content) => ChatChunk::delta(content),
                last => ChatChunk::last(last, &user_id),
            })
            .boxed();
        let mut sequence: u64 = 0;
        let events = EventStream::new(chunks)
            .keep_alive(state.http.stream_keep_alive)
            .to_event(move |chunk| {
                sequence += 1;
                Event::message(chunk.to_json_string()).id(sequence.to_string())
            });
        Ok(ChatEvents(events))
    }
}
