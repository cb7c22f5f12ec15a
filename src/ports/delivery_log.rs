//! The delivery-log port: what was attempted, and what the provider accepted, for each part of
//! a reply, and the delivery statuses the provider reports afterwards.
//!
//! An attempt is recorded before a part is sent and its provider id after, so that a worker
//! that finds an attempt without an id knows the part's fate is unknown and asks the
//! provider before sending it again. Writes made on behalf of a job are fenced like every
//! lease write (see [`super::JobLeases`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::MessageId;

use super::{DeliveryStatus, Job, StatusUpdate, StoreError};

/// One part of a job's reply as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartAttempt {
    /// Zero-based position of the part in the reply.
    pub part: u32,
    /// When the first attempt to send this part began (the database's clock).
    pub first_attempt_at: DateTime<Utc>,
    /// How many times sending it began.
    pub attempts: u32,
    /// The provider's id once the part is known to have been accepted.
    pub provider_message_id: Option<String>,
}

/// Why the delivery log could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryLogError {
    /// The job is no longer the caller's; nothing was written.
    #[error("the job's lease was lost")]
    Lost,
    /// The database cannot be reached; nothing was written.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

impl From<StoreError> for DeliveryLogError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(m) => DeliveryLogError::Unavailable(m),
            StoreError::Duplicate(m) => {
                DeliveryLogError::Unknown(anyhow::anyhow!("duplicate: {m}"))
            }
            StoreError::Unknown(e) => DeliveryLogError::Unknown(e),
        }
    }
}

impl From<DeliveryLogError> for StoreError {
    fn from(err: DeliveryLogError) -> Self {
        match err {
            DeliveryLogError::Unavailable(m) => StoreError::Unavailable(m),
            other => StoreError::Unknown(anyhow::Error::new(other)),
        }
    }
}

/// Sends attempted and accepted, per part, and the provider's status callbacks.
#[async_trait]
pub trait DeliveryLog: Send + Sync {
    /// The recorded parts of the job's reply, in part order.
    ///
    /// # Errors
    /// [`DeliveryLogError::Unavailable`] when the database is down.
    async fn attempts(&self, job: &Job) -> Result<Vec<PartAttempt>, DeliveryLogError>;

    /// Durably records that sending `part` begins now under the job's lease, before anything
    /// goes to the provider, and extends the lease to `lease` from now, so that the send ends
    /// before another worker could take the job over. Returns the part's first attempt time.
    ///
    /// # Errors
    /// MUST return [`DeliveryLogError::Lost`], writing nothing, when the lease was lost: the
    /// caller must not send then.
    async fn begin_attempt(
        &self,
        job: &Job,
        part: u32,
        lease: std::time::Duration,
    ) -> Result<DateTime<Utc>, DeliveryLogError>;

    /// Records the provider's id for a part of `reply`.
    ///
    /// # Errors
    /// MUST return [`DeliveryLogError::Lost`], writing nothing, when the lease was lost.
    async fn record_sent(
        &self,
        job: &Job,
        reply: MessageId,
        part: u32,
        provider_message_id: &str,
    ) -> Result<(), DeliveryLogError>;

    /// Whether a provider id is already recorded for a part of some reply: a message found
    /// with the provider that is already ours belongs to an earlier reply with the same text,
    /// not to the part being looked for.
    ///
    /// # Errors
    /// [`DeliveryLogError::Unavailable`] when the database is down.
    async fn is_recorded(&self, provider_message_id: &str) -> Result<bool, DeliveryLogError>;

    /// Every part of `reply` is accepted: the first part's id becomes the reply's provider id,
    /// its status `queued` (unless a callback already told more), and callbacks that arrived
    /// before the parts were recorded are applied.
    ///
    /// # Errors
    /// MUST return [`DeliveryLogError::Lost`], writing nothing, when the lease was lost.
    async fn finish_sending(&self, job: &Job, reply: MessageId) -> Result<(), DeliveryLogError>;

    /// Applies a delivery status callback, never letting an older status overwrite a newer
    /// one. `false` when the status was older.
    ///
    /// # Errors
    /// [`DeliveryLogError::Unavailable`] when the database is down.
    async fn update_delivery(&self, update: &StatusUpdate) -> Result<bool, DeliveryLogError>;
}

/// Whether `new` may replace `current` (callbacks arrive out of order).
pub fn status_advances(current: Option<DeliveryStatus>, new: DeliveryStatus) -> bool {
    match current {
        None => true,
        Some(c) => new.rank() > c.rank(),
    }
}
