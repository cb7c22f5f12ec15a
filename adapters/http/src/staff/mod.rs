//! The staff API (scope `admin`): the team reads conversations and one user's messages, takes a
//! conversation over, gives it back to the bot, and replies as a person.
//!
//! Handlers only read the request and shape the answer; the core's `Staff` use case checks the
//! caller's scope and does the work.

mod actions;
mod conversations;
mod cursor;
mod events;
mod replies;
mod request;
mod retry;
mod users;
mod views;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::{OpenApi, Tags};
use uuid::Uuid;

use crate::auth::StaffAuth;
use crate::conversations::ConversationStateView;
use crate::json_body::ApiJson;
use crate::state::AppState;

use actions::{Hand, PersonReplyRequest};
use conversations::ListParams;
use replies::{ConversationReply, ListReply, ReplyReply, StateReply, UserMessagesReply};
use views::ChannelView;

pub use events::StaffEventsApi;
pub use retry::StaffRetryApi;

#[derive(Tags)]
enum StaffTags {
    /// The clinic's team (API keys with the `admin` scope): read conversations, take them
    /// over, reply as a person and give them back to the bot.
    Staff,
}

fn example_cursor() -> Option<String> {
    Some("AYmgYJwXUAABkPWgAAN3AIAAAAAAAAAE".into())
}

fn example_limit() -> Option<u32> {
    Some(50)
}

fn example_state() -> Option<ConversationStateView> {
    Some(ConversationStateView::WaitingForHuman)
}

fn example_flagged() -> Option<bool> {
    Some(true)
}

fn example_channel() -> Option<ChannelView> {
    Some(ChannelView::Whatsapp)
}

fn example_user() -> String {
    "+14155550100".into()
}

pub struct StaffApi;

#[OpenApi]
impl StaffApi {
    /// List conversations.
    ///
    /// Most recently active first, each with its user (WhatsApp numbers masked), last message,
    /// active agent, flag reason and the number of the user's messages since the team last
    /// opened it. Filter by state, red flag and channel; page with `cursor`.
    #[oai(
        path = "/conversations",
        method = "get",
        tag = "StaffTags::Staff",
        operation_id = "listConversations"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: StaffAuth,
        /// Only conversations the bot answers (`bot`) or a person holds (`waiting_for_human`).
        #[oai(name = "state", example = "example_state")]
        filter_state: Query<Option<ConversationStateView>>,
        /// `true`: only red-flagged conversations; `false`: only the others.
        #[oai(example = "example_flagged")]
        flagged: Query<Option<bool>>,
        /// Only users of this channel.
        #[oai(example = "example_channel")]
        channel: Query<Option<ChannelView>>,
        /// `next_cursor` of the previous page.
        #[oai(example = "example_cursor", validator(pattern = "^[A-Za-z0-9_-]{32}$"))]
        cursor: Query<Option<String>>,
        /// Conversations per page, 1 to 200 (default 50).
        #[oai(
            example = "example_limit",
            validator(minimum(value = "1"), maximum(value = "200"))
        )]
        limit: Query<Option<u32>>,
    ) -> ListReply {
        let params = ListParams {
            state: filter_state.0,
            flagged: flagged.0,
            channel: channel.0,
            cursor: cursor.0,
            limit: limit.0,
        };
        conversations::list(&state, auth.0, params).await
    }

    /// Read a conversation.
    ///
    /// The conversation and a page of its messages, newest first, with their media, delivery
    /// status and errors. Opening it marks it seen: its `unread` count becomes 0.
    #[oai(
        path = "/conversations/:id",
        method = "get",
        tag = "StaffTags::Staff",
        operation_id = "getConversation"
    )]
    async fn conversation(
        &self,
        state: Data<&AppState>,
        auth: StaffAuth,
        /// The conversation id.
        id: Path<Uuid>,
        /// `next_cursor` of the previous page.
        #[oai(example = "example_cursor", validator(pattern = "^[A-Za-z0-9_-]{32}$"))]
        cursor: Query<Option<String>>,
        /// Messages per page, 1 to 200 (default 50).
        #[oai(
            example = "example_limit",
            validator(minimum(value = "1"), maximum(value = "200"))
        )]
        limit: Query<Option<u32>>,
    ) -> ConversationReply {
        conversations::one(&state, auth.0, id.0, cursor.0, limit.0).await
    }

    /// Read one user's messages.
    ///
    /// Across all their conversations, newest first, each with its `conversation_id`.
    #[oai(
        path = "/users/:user/messages",
        method = "get",
        tag = "StaffTags::Staff",
        operation_id = "listUserMessages"
    )]
    async fn user_messages(
        &self,
        state: Data<&AppState>,
        auth: StaffAuth,
        /// The user's id, or their identity: a WhatsApp number (`+14155550100`, URL-encoded as
        /// `%2B14155550100`) or `chat_{user_id}`.
        #[oai(example = "example_user")]
        user: Path<String>,
        /// `next_cursor` of the previous page.
        #[oai(example = "example_cursor", validator(pattern = "^[A-Za-z0-9_-]{32}$"))]
        cursor: Query<Option<String>>,
        /// Messages per page, 1 to 200 (default 50).
        #[oai(
            example = "example_limit",
            validator(minimum(value = "1"), maximum(value = "200"))
        )]
        limit: Query<Option<u32>>,
    ) -> UserMessagesReply {
        users::messages(&state, auth.0, &user.0, cursor.0, limit.0).await
    }

    /// Take a conversation over.
    ///
    /// A person of the team holds the conversation: the bot stays silent (the user's messages
    /// are still stored) until it is released.
    #[oai(
        path = "/conversations/:id/takeover",
        method = "post",
        tag = "StaffTags::Staff",
        operation_id = "takeOverConversation"
    )]
    async fn take_over(
        &self,
        state: Data<&AppState>,
        auth: StaffAuth,
        /// The conversation id.
        id: Path<Uuid>,
    ) -> StateReply {
        actions::change_hands(&state, auth.0, id.0, Hand::TakeOver).await
    }

    /// Give a conversation back to the bot.
    ///
    /// After a person took over (the user asked for one, the assistant handed over, or the
    /// team took it), the bot stays silent. Releasing lets it answer the next message again;
    /// the user gets a new notice if a person takes over once more.
    #[oai(
        path = "/conversations/:id/release",
        method = "post",
        tag = "StaffTags::Staff",
        operation_id = "releaseConversation"
    )]
    async fn release(
        &self,
        state: Data<&AppState>,
        auth: StaffAuth,
        /// The conversation id, as `conversation_id` in `/chat/` responses.
        id: Path<Uuid>,
    ) -> StateReply {
        actions::change_hands(&state, auth.0, id.0, Hand::Release).await
    }

    /// Reply as a person.
    ///
    /// Stored as an outgoing message by `human:<author>`; the person now holds the
    /// conversation. On WhatsApp it is sent to the user at once, with the same delivery
    /// tracking as the bot's replies; on app chat it appears in the conversation's history.
    #[oai(
        path = "/conversations/:id/messages",
        method = "post",
        tag = "StaffTags::Staff",
        operation_id = "replyAsPerson"
    )]
    async fn reply(
        &self,
        state: Data<&AppState>,
        auth: StaffAuth,
        /// The conversation id.
        id: Path<Uuid>,
        body: ApiJson<PersonReplyRequest>,
    ) -> ReplyReply {
        actions::reply(&state, auth.0, id.0, body.0).await
    }
}
