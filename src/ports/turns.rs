//! The turn store port: a conversation turn touches the store twice, once to accept the user's
//! message and once to finish with the reply, each call one atomic write. A store may commit the
//! writes of several concurrent turns in one transaction, as long as each call returns only once
//! its write is durable and one turn's error is never another's.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::domain::{
    Conversation, ConversationChange, ConversationId, Media, Message, MessageId, NewMessage,
    NewUser, User,
};

use super::StoreError;

/// The message a turn answers.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    /// A new message; accepting finds or creates `user` and stores `message` for them (its
    /// `user_id` is replaced by the stored user's).
    New { user: NewUser, message: NewMessage },
    /// A message stored earlier with its user (a queued delivery).
    Stored { user: User, message: Message },
}

/// Everything accepting a message needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Arrival {
    pub incoming: Incoming,
    /// The agent a newly opened conversation starts with.
    pub manager: String,
    /// A conversation idle for longer than this is ended and a new one opened.
    pub idle_timeout: Duration,
    /// How many of the conversation's earlier messages to read, newest first.
    pub history_limit: usize,
    pub now: DateTime<Utc>,
}

/// A message accepted into its conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct Accepted {
    pub user: User,
    /// The incoming message as stored, linked to `conversation`.
    pub incoming: Message,
    /// The user's current conversation, its last activity moved to the arrival time.
    pub conversation: Conversation,
    /// The conversation's messages before the incoming one, at most `history_limit`, oldest
    /// first.
    pub history: Vec<Message>,
}

/// The end of a turn, stored as one write.
#[derive(Clone, Debug, PartialEq)]
pub struct Finish {
    pub conversation: ConversationId,
    /// What the turn changed about the conversation; its last activity becomes `now`.
    pub change: ConversationChange,
    /// The reply, stored linked to `conversation`; `None` when the turn ends without one.
    pub reply: Option<NewMessage>,
    /// The incoming message's media with the transcripts the turn made, to replace the stored
    /// list.
    pub transcripts: Option<(MessageId, Vec<Media>)>,
    pub now: DateTime<Utc>,
    /// The conversation's last activity as accepting found or left it. A store that keeps
    /// activities to a resolution (see [`TurnStore::accept`]) need not write one that is still
    /// within it, nor even look.
    pub accepted_activity: DateTime<Utc>,
}

/// Why a message could not be accepted. Nothing of the arrival is stored then.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// The store cannot be reached or is overloaded; accepting again later may work.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A message with the same channel and provider message id is already stored.
    #[error("duplicate message: {0}")]
    Duplicate(String),
    /// A bug or an unexpected database state.
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Why a turn could not be finished. Nothing of the finish is stored then.
#[derive(Debug, thiserror::Error)]
pub enum FinishError {
    /// The store cannot be reached or is overloaded; finishing again later may work.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The conversation no longer exists (its user was erased meanwhile).
    #[error("conversation {0} not found")]
    ConversationGone(ConversationId),
    /// A bug or an unexpected database state.
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Durable storage of conversation turns.
#[async_trait]
pub trait TurnStore: Send + Sync {
    /// Accepts the user's message, in one transaction: finds or creates the user (for a new
    /// message), finds the user's open conversation and moves its last activity to `now` (a
    /// store may leave an activity less than a minute old as it is, so that turns do not queue
    /// on the conversation's row), or,
    /// when there is none or it was idle for longer than `idle_timeout`, ends it and opens a new
    /// one with `manager` active; stores the message (or links a stored one) in that
    /// conversation; and reads the conversation's history before it.
    ///
    /// Safe under concurrent calls for one user: all of them file their messages in the same
    /// conversation.
    ///
    /// # Errors
    /// MUST return [`AcceptError::Duplicate`] if a new message's channel and provider message id
    /// are taken, and [`AcceptError::Unavailable`] when the store cannot be reached. Nothing is
    /// stored on any error.
    async fn accept(&self, arrival: &Arrival) -> Result<Accepted, AcceptError>;

    /// Finishes a turn, in one transaction: stores the reply linked to the conversation, applies
    /// the change to the conversation (its last activity becomes `now`) and replaces the incoming
    /// message's media with its transcripts. Returns the stored reply.
    ///
    /// # Errors
    /// MUST return [`FinishError::ConversationGone`] if the change is not empty and the
    /// conversation does not exist, and
    /// [`FinishError::Unavailable`] when the store cannot be reached. Nothing is stored on any
    /// error: never a reply without its conversation update, nor the reverse.
    async fn finish(&self, finish: &Finish) -> Result<Option<Message>, FinishError>;

    /// Checks that the store answers.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when it does not.
    async fn ping(&self) -> Result<(), StoreError>;
}
