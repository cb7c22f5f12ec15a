//! The staff store port: what the clinic's team reads and does outside a turn, a port call per
//! question or action.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::{
    Channel, Conversation, ConversationId, ConversationState, Message, MessageId, NewMessage, User,
    UserId,
};

/// Where a page of a newest-first listing starts: strictly older than this point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// The sort time of the last item of the previous page (last activity for conversations,
    /// creation for messages).
    pub at: DateTime<Utc>,
    /// Its id, which breaks ties between equal times.
    pub id: Uuid,
}

/// One page of a newest-first listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub before: Option<Cursor>,
    /// At most this many items (the use case bounds it).
    pub limit: usize,
}

/// Which conversations to list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationFilter {
    pub state: Option<ConversationState>,
    /// `Some(true)`: only those with a flag reason; `Some(false)`: only those without.
    pub flagged: Option<bool>,
    pub channel: Option<Channel>,
    pub page: Page,
}

/// A conversation as the inbox lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct ConversationSummary {
    pub conversation: Conversation,
    pub user: User,
    pub last_message: Option<Message>,
    /// Incoming messages newer than the team last opened the conversation.
    pub unread: u64,
}

/// A message with the conversation it was filed in.
#[derive(Clone, Debug, PartialEq)]
pub struct FiledMessage {
    pub conversation: Option<ConversationId>,
    pub message: Message,
}

/// How the team names a user: the row id or the identity (`+14155550100`, `chat_alice`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserRef {
    Id(UserId),
    Identity(String),
}

impl UserRef {
    /// A path segment: a UUID is a row id, anything else an identity.
    pub fn parse(value: &str) -> Self {
        match Uuid::parse_str(value) {
            Ok(id) => UserRef::Id(UserId(id)),
            Err(_) => UserRef::Identity(value.to_string()),
        }
    }
}

/// What became of sending a staff reply through the messenger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    /// The provider accepted every part; its ids, in order.
    Sent(Vec<String>),
    /// The provider refused or could not be reached; `sent` holds the parts that went out.
    Failed { error: String, sent: Vec<String> },
}

/// Why a staff store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StaffStoreError {
    /// The store cannot be reached; trying again later may work.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected database state.
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Durable storage as the team sees it.
#[async_trait]
pub trait StaffStore: Send + Sync {
    /// Conversations matching `filter`, newest last activity first (ties: larger id first),
    /// strictly after the page's cursor, at most `page.limit`.
    ///
    /// # Errors
    /// [`StaffStoreError::Unavailable`] when the store cannot be reached.
    async fn conversations(
        &self,
        filter: &ConversationFilter,
    ) -> Result<Vec<ConversationSummary>, StaffStoreError>;

    /// One conversation with a page of its messages, newest first, after recording that the
    /// team saw it at `seen_at` (its unread count becomes 0). `None` when there is no such
    /// conversation.
    ///
    /// # Errors
    /// [`StaffStoreError::Unavailable`] when the store cannot be reached.
    async fn conversation(
        &self,
        id: ConversationId,
        page: Page,
        seen_at: DateTime<Utc>,
    ) -> Result<Option<(ConversationSummary, Vec<Message>)>, StaffStoreError>;

    /// A page of one user's messages across conversations, newest first. `None` when there is
    /// no such user.
    ///
    /// # Errors
    /// [`StaffStoreError::Unavailable`] when the store cannot be reached.
    async fn user_messages(
        &self,
        user: &UserRef,
        page: Page,
    ) -> Result<Option<(User, Vec<FiledMessage>)>, StaffStoreError>;

    /// A person takes the conversation over at `at`: its state becomes waiting for a person
    /// and the bot stays silent. `None` when there is no such conversation.
    ///
    /// # Errors
    /// [`StaffStoreError::Unavailable`] when the store cannot be reached.
    async fn take_over(
        &self,
        id: ConversationId,
        at: DateTime<Utc>,
    ) -> Result<Option<Conversation>, StaffStoreError>;

    /// Stores a person's reply in one transaction: the outgoing message linked to the
    /// conversation (its `user_id` is replaced by the conversation's user), the conversation
    /// taken over (a person answering holds it) with its last activity at `reply.created_at`.
    /// Returns the conversation, its user and the stored reply; `None` when there is no such
    /// conversation.
    ///
    /// # Errors
    /// [`StaffStoreError::Unavailable`] when the store cannot be reached; nothing is stored.
    async fn store_staff_reply(
        &self,
        id: ConversationId,
        reply: &NewMessage,
    ) -> Result<Option<(Conversation, User, Message)>, StaffStoreError>;

    /// Records what sending a stored staff reply gave: the provider ids of its parts (so that
    /// the provider's status callbacks update it, as for the bot's replies), its delivery
    /// status (`sent`, or `failed` with the error), and returns the message as it now stands.
    ///
    /// # Errors
    /// [`StaffStoreError::Unavailable`] when the store cannot be reached.
    async fn record_staff_send(
        &self,
        message: MessageId,
        outcome: &SendOutcome,
    ) -> Result<Option<Message>, StaffStoreError>;

    /// Records that the team changed conversation `id` at `at` without writing in it (it was
    /// given back to the bot): its last activity moves forward to `at`, so that it sorts as
    /// recent and [`StaffStore::changed_since`] reports it.
    ///
    /// The default records nothing.
    ///
    /// # Errors
    /// [`StaffStoreError::Unavailable`] when the store cannot be reached.
    async fn mark_changed(
        &self,
        id: ConversationId,
        at: DateTime<Utc>,
    ) -> Result<(), StaffStoreError> {
        let _ = (id, at);
        Ok(())
    }

    /// A reply stored in conversation `id`, with the conversation's user and how many of its
    /// parts the provider accepted so far (to send a failed one again). `None` when the
    /// conversation has no such message.
    ///
    /// The default finds none.
    ///
    /// # Errors
    /// [`StaffStoreError::Unavailable`] when the store cannot be reached.
    async fn stored_reply(
        &self,
        id: ConversationId,
        message: MessageId,
    ) -> Result<Option<(User, Message, usize)>, StaffStoreError> {
        let _ = (id, message);
        Ok(None)
    }

    /// Conversations that changed at or after `since`, each with when it last changed: a
    /// newer last activity (a message, a new conversation, a takeover, a person's reply) or a
    /// delivery status reported for one of its replies. Newest activity first, at most
    /// `limit`. Several instances share the answer, since it is read from the store.
    ///
    /// The default reads the newest page of the listing and keeps what was active since
    /// `since`; it sees no delivery status change.
    ///
    /// # Errors
    /// [`StaffStoreError::Unavailable`] when the store cannot be reached.
    async fn changed_since(
        &self,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(ConversationSummary, DateTime<Utc>)>, StaffStoreError> {
        let filter = ConversationFilter {
            state: None,
            flagged: None,
            channel: None,
            page: Page {
                before: None,
                limit,
            },
        };
        Ok(self
            .conversations(&filter)
            .await?
            .into_iter()
            .filter(|s| s.conversation.last_activity_at >= since)
            .map(|s| {
                let at = s.conversation.last_activity_at;
                (s, at)
            })
            .collect())
    }
}
