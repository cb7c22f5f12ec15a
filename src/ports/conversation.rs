//! The conversation store port: what the team does to a conversation outside a turn.

use async_trait::async_trait;

use crate::domain::{Conversation, ConversationId};

use super::StoreError;

/// Durable storage of conversations, for operations outside a turn.
#[async_trait]
pub trait ConversationStore: Send + Sync {
    /// Gives the conversation back to the bot after a person had it: its state becomes `bot`
    /// and the hand-over notice counts as not sent. Returns the updated conversation, or `None`
    /// if there is none with this id.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store cannot be reached.
    async fn release(&self, id: ConversationId) -> Result<Option<Conversation>, StoreError>;
}
