//! The conversation store port: sessions of a user's messages, who answers in them, and the
//! history the model may see.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::domain::{Conversation, ConversationId, ConversationState, Message, MessageId, UserId};

use super::StoreError;

/// Durable storage of conversations. Messages are linked to them by `conversation_id`.
#[async_trait]
pub trait ConversationStore: Send + Sync {
    /// The user's current conversation, with its last activity moved to `now`. Ends the current
    /// one and starts a new one (with `agent` active, answered by the bot) when the user has none
    /// or was inactive for longer than `idle_timeout`.
    ///
    /// Safe under concurrent calls for one user: all callers get the same conversation.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn current(
        &self,
        user: UserId,
        agent: &str,
        idle_timeout: Duration,
        now: DateTime<Utc>,
    ) -> Result<Conversation, StoreError>;

    /// The conversation with this id, current or ended.
    async fn get(&self, id: ConversationId) -> Result<Option<Conversation>, StoreError>;

    /// Links a stored message to a conversation.
    ///
    /// # Errors
    /// [`StoreError::Unknown`] if the message does not exist.
    async fn attach(&self, message: MessageId, id: ConversationId) -> Result<(), StoreError>;

    /// Makes `agent` answer the following turns.
    async fn set_active_agent(&self, id: ConversationId, agent: &str) -> Result<(), StoreError>;

    /// Hands the conversation to a person or back to the bot. Returns the updated conversation,
    /// or `None` if there is none with this id.
    async fn set_state(
        &self,
        id: ConversationId,
        state: ConversationState,
        human_notice_sent: bool,
    ) -> Result<Option<Conversation>, StoreError>;

    /// Marks the conversation as needing attention, replacing an earlier reason.
    async fn flag(&self, id: ConversationId, reason: &str) -> Result<(), StoreError>;

    /// Ends the conversation at `now`; the user's next message starts a new one.
    async fn end(&self, id: ConversationId, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// The conversation's newest messages, at most `limit`, oldest first, leaving out `exclude`.
    async fn history(
        &self,
        id: ConversationId,
        limit: usize,
        exclude: Option<MessageId>,
    ) -> Result<Vec<Message>, StoreError>;
}
