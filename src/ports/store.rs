//! The message store port: users, messages and their history.

use async_trait::async_trait;

use crate::domain::{Media, Message, MessageId, NewMessage, NewUser, User, UserId};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or the pool is exhausted; retrying later may work.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A record with the same unique key (e.g. provider message id) already exists.
    #[error("duplicate record: {0}")]
    Duplicate(String),
    /// A bug or an unexpected database state.
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Durable storage of users and messages.
#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Returns the user with this identity, creating it if needed. Safe under concurrent calls
    /// for the same identity: all callers get the same user.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn find_or_create_user(&self, user: &NewUser) -> Result<User, StoreError>;

    /// Appends a message and returns it as stored.
    ///
    /// # Errors
    /// MUST return [`StoreError::Duplicate`] if a message with the same channel and provider
    /// message id exists.
    async fn append(&self, message: &NewMessage) -> Result<Message, StoreError>;

    /// Replaces a stored message's media list (e.g. to add voice-note transcripts).
    ///
    /// # Errors
    /// [`StoreError::Unknown`] if the message does not exist.
    async fn update_media(&self, message: MessageId, media: &[Media]) -> Result<(), StoreError>;

    /// The user's newest messages, at most `limit`, oldest first, leaving out `exclude`.
    async fn recent_messages(
        &self,
        user: UserId,
        limit: usize,
        exclude: Option<MessageId>,
    ) -> Result<Vec<Message>, StoreError>;

    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
}
