//! The intake port: an inbound delivery is stored with the job that will answer it, in one
//! transaction, so an acknowledged webhook is never lost and a redelivery is never stored twice.

use async_trait::async_trait;

use crate::domain::{MessageId, NewMessage, NewUser};

use super::StoreError;

/// An inbound message to store and answer later.
#[derive(Clone, Debug, PartialEq)]
pub struct InboundDelivery {
    pub user: NewUser,
    /// The sender's id inside the channel (WhatsApp's `wa_id`), when the channel gives one.
    pub channel_user_id: Option<String>,
    /// The incoming message; its `provider_message_id` is the dedup key.
    pub message: NewMessage,
    /// Every webhook parameter as received.
    pub raw: serde_json::Value,
}

/// What `enqueue` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Enqueued {
    /// Stored with a pending job.
    Accepted { message: MessageId, job: i64 },
    /// A delivery with the same provider message id was stored before; nothing was added.
    Duplicate,
}

/// Why a delivery was not stored.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The database cannot be reached; nothing was stored, the provider should retry.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

impl From<IntakeError> for StoreError {
    fn from(err: IntakeError) -> Self {
        match err {
            IntakeError::Unavailable(m) => StoreError::Unavailable(m),
            IntakeError::Unknown(e) => StoreError::Unknown(e),
        }
    }
}

impl From<StoreError> for IntakeError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(m) => IntakeError::Unavailable(m),
            other => IntakeError::Unknown(anyhow::Error::new(other)),
        }
    }
}

/// Where inbound deliveries are stored.
#[async_trait]
pub trait InboundIntake: Send + Sync {
    /// Stores the user, the message and a pending job atomically.
    ///
    /// MUST return [`Enqueued::Duplicate`], storing nothing, when a message with the same
    /// channel and provider message id exists, also when two deliveries race.
    ///
    /// # Errors
    /// [`IntakeError::Unavailable`] when the database is down; nothing is stored then.
    async fn enqueue(&self, delivery: &InboundDelivery) -> Result<Enqueued, IntakeError>;
}
