//! `GET /conversations/events`: the inbox's live feed, as Server-Sent Events.
//!
//! Each connection asks the core for what changed every [`POLL`], so a change written by any
//! instance reaches pages connected to every instance within about a second; the core tells
//! each change once per connection. The credential is checked again every [`RECHECK`], so a
//! revoked key stops following soon after; the feed ends when the server starts shutting down.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream};
use futures::StreamExt;
use poem::web::sse::Event;
use poem::web::Data;
use poem::{IntoResponse, Request, Response};
use poem_openapi::payload::{EventStream, Json, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{Example, ToJSON, Type};
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};
use whatsapp_agent::access::{Access, Caller};
use whatsapp_agent::staff::{Change, ChangeFeed, Staff, StaffError};

use crate::auth::StaffAuth;
use crate::error::{ErrorBody, Failure};
use crate::state::AppState;

use super::request::staff_caller;
use super::views::ConversationSummaryView;

/// How often a connection asks what changed.
const POLL: Duration = Duration::from_secs(1);
/// How often the connection's credential is checked again.
const RECHECK: Duration = Duration::from_secs(60);

#[derive(Tags)]
enum StaffEventTags {
    /// The clinic's team (API keys with the `admin` scope): read conversations, take them
    /// over, reply as a person and give them back to the bot.
    Staff,
}

/// One event of the feed (`data:` holds this object as JSON): a conversation as it now stands.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ConversationEventView {
    /// When it changed: its last activity, or the latest delivery status of one of its replies.
    pub changed_at: DateTime<Utc>,
    /// The conversation as `GET /conversations` lists it.
    pub conversation: ConversationSummaryView,
}

impl Example for ConversationEventView {
    fn example() -> Self {
        let conversation = ConversationSummaryView::example();
        Self {
            changed_at: conversation.last_activity_at,
            conversation,
        }
    }
}

impl From<&Change> for ConversationEventView {
    fn from(change: &Change) -> Self {
        Self {
            changed_at: change.changed_at,
            conversation: (&change.summary).into(),
        }
    }
}

/// The feed, declared as `text/event-stream` whose schema is one `ConversationEventView`.
pub struct ConversationEvents(EventStream<BoxStream<'static, ConversationEventView>>);

impl Payload for ConversationEvents {
    const CONTENT_TYPE: &'static str = "text/event-stream";

    fn schema_ref() -> MetaSchemaRef {
        ConversationEventView::schema_ref()
    }

    fn register(registry: &mut Registry) {
        ConversationEventView::register(registry);
    }
}

impl IntoResponse for ConversationEvents {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

/// Every answer of `GET /conversations/events`.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "EventsReply::from_request_error")]
pub enum EventsReply {
    /// The feed: one event per change, `event: conversation`, `id: <n>` and `data:
    /// <ConversationEventView as JSON>`; comment lines keep the connection alive. Changes made
    /// before the connection opened are not sent: read `GET /conversations` first.
    #[oai(status = 200)]
    Events(
        ConversationEvents,
        /// Always `no-cache`.
        #[oai(header = "Cache-Control")]
        String,
        /// Always `no`, so proxies do not buffer the stream.
        #[oai(header = "X-Accel-Buffering")]
        String,
    ),
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
    /// The staff operations are not available; retry later.
    #[oai(status = 503)]
    Unavailable(
        Json<ErrorBody>,
        /// Seconds to wait before retrying.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

impl EventsReply {
    fn from_request_error(err: poem::Error) -> Self {
        Failure::from_request_error(&err).into()
    }
}

impl From<Failure> for EventsReply {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Unauthorized(body) => Self::Unauthorized(Json(body), "Bearer".into()),
            Failure::Forbidden(body) => Self::Forbidden(Json(body)),
            Failure::Unavailable(body, retry) => Self::Unavailable(Json(body), retry),
            Failure::Internal(body) => Self::Internal(Json(body)),
            other => {
                tracing::error!(failure = ?other, "the staff feed cannot answer this");
                Failure::internal().into()
            }
        }
    }
}

pub struct StaffEventsApi;

#[OpenApi]
impl StaffEventsApi {
    /// Follow conversations as they change.
    ///
    /// Server-Sent Events: one event each time a conversation changes on any instance (a new
    /// conversation, a message, a takeover or release, a person's reply, a delivery status),
    /// within about a second, with the conversation as the listing shows it. Browsers read it with
    /// `fetch()` to send the `Authorization` header.
    #[oai(
        path = "/conversations/events",
        method = "get",
        tag = "StaffEventTags::Staff",
        operation_id = "followConversations"
    )]
    async fn events(&self, state: Data<&AppState>, auth: StaffAuth, req: &Request) -> EventsReply {
        match start(&state, auth, req) {
            Ok(events) => EventsReply::Events(events, "no-cache".into(), "no".into()),
            Err(failure) => failure.into(),
        }
    }
}

/// What one connection carries from one question to the next.
struct Follower {
    staff: Staff,
    access: Access,
    caller: Caller,
    header: Option<String>,
    feed: ChangeFeed,
    checked: tokio::time::Instant,
    ticks: tokio::time::Interval,
}

fn start(state: &AppState, auth: StaffAuth, req: &Request) -> Result<ConversationEvents, Failure> {
    let (staff, caller) = staff_caller(state, auth.0)?;
    let feed = staff.follow(&caller)?;
    let mut ticks = tokio::time::interval(POLL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let follower = Follower {
        staff: staff.clone(),
        access: state.access.clone(),
        caller,
        header: req.header("Authorization").map(str::to_string),
        feed,
        checked: tokio::time::Instant::now(),
        ticks,
    };
    // The feed never ends by itself; it ends when the server starts shutting down, and the
    // page reconnects to another instance.
    let views = stream::unfold(follower, next_changes)
        .flat_map(stream::iter)
        .take_until(state.stopping.clone().cancelled_owned())
        .boxed();
    let mut sequence: u64 = 0;
    let events = EventStream::new(views)
        .keep_alive(state.http.stream_keep_alive)
        .to_event(move |view| {
            sequence += 1;
            Event::message(view.to_json_string())
                .event_type("conversation")
                .id(sequence.to_string())
        });
    Ok(ConversationEvents(events))
}

/// Waits for the next tick and asks what changed; `None` ends the stream (the credential no
/// longer holds).
async fn next_changes(mut f: Follower) -> Option<(Vec<ConversationEventView>, Follower)> {
    f.ticks.tick().await;
    if f.checked.elapsed() >= RECHECK {
        f.checked = tokio::time::Instant::now();
        match f.access.authenticate(f.header.as_deref()).await {
            Ok(caller) => f.caller = caller,
            Err(err) => {
                tracing::info!(error = %err, "staff feed closed: the credential no longer holds");
                return None;
            }
        }
    }
    match f.staff.changes(&f.caller, &mut f.feed).await {
        Ok(changes) => Some((changes.iter().map(Into::into).collect(), f)),
        Err(StaffError::Access(err)) => {
            tracing::info!(error = %err, "staff feed closed");
            None
        }
        Err(err) => {
            // The store is down for a moment: the feed keeps its place and asks again.
            tracing::warn!(error = %err, "staff feed could not read changes");
            Some((Vec::new(), f))
        }
    }
}
