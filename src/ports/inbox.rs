//! The durable inbox port: inbound deliveries stored with a pending job in one transaction,
//! and the job queue workers claim from, with leases.

use std::time::Duration;

use async_trait::async_trait;

use crate::domain::{Message, MessageId, NewMessage, NewUser, User, UserId};

use super::{DeliveryStatus, StatusUpdate, StoreError};

/// An inbound message to store and answer later.
#[derive(Clone, Debug, PartialEq)]
pub struct InboundDelivery {
    pub user: NewUser,
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

/// A claimed job: the worker holds it until `lease_until`, renewing as it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub message: MessageId,
    pub user: UserId,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// Proves ownership: every later call is refused once another worker took the job over.
    pub lease_token: uuid::Uuid,
}

/// Everything a worker needs to answer a job.
#[derive(Clone, Debug, PartialEq)]
pub struct JobContext {
    pub user: User,
    pub incoming: Message,
    /// The stored reply, if an earlier attempt got that far.
    pub reply: Option<Message>,
    /// Parts of the reply already sent by an earlier attempt.
    pub sent_parts: Vec<String>,
}

/// Durable inbox and job queue.
#[async_trait]
pub trait InboundQueue: Send + Sync {
    /// Stores the user, the message and a pending job atomically.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database is down; nothing is stored then.
    async fn enqueue(&self, delivery: &InboundDelivery) -> Result<Enqueued, StoreError>;

    /// Claims the next job that may run: pending and due, or running with an expired lease;
    /// never a job whose conversation has an earlier unfinished job (per-user order), and never
    /// a job another worker holds. Safe across many processes on one database.
    async fn claim(&self, lease: Duration) -> Result<Option<Job>, StoreError>;

    /// Extends the lease. `false` when the job is no longer ours.
    async fn renew(&self, job: &Job, lease: Duration) -> Result<bool, StoreError>;

    /// Loads the job's user, incoming message and any stored reply.
    async fn context(&self, job: &Job) -> Result<JobContext, StoreError>;

    /// Links the stored reply to the job, so a later attempt does not generate another.
    async fn attach_reply(&self, job: &Job, reply: MessageId) -> Result<bool, StoreError>;

    /// Records sent parts (provider ids, in order) of the reply; the first becomes the reply's
    /// provider message id once all are sent.
    async fn record_sent(
        &self,
        job: &Job,
        reply: MessageId,
        sent: &[String],
        complete: bool,
    ) -> Result<(), StoreError>;

    /// Marks the job done. `false` when the job was no longer ours.
    async fn complete(&self, job: &Job) -> Result<bool, StoreError>;

    /// Puts the job back to run again after `delay`, recording the error.
    async fn retry_later(&self, job: &Job, delay: Duration, error: &str) -> Result<(), StoreError>;

    /// Marks the job failed for good, recording the error. The incoming message stays.
    async fn fail(&self, job: &Job, error: &str) -> Result<(), StoreError>;

    /// Records an error on a stored message (e.g. a permanent send failure).
    async fn mark_message_error(&self, message: MessageId, error: &str) -> Result<(), StoreError>;

    /// Applies a delivery status callback, never letting an older status overwrite a newer
    /// one. `false` when the id is unknown or the status was older.
    async fn update_delivery(&self, update: &StatusUpdate) -> Result<bool, StoreError>;
}

/// Whether `new` may replace `current` (callbacks arrive out of order).
pub fn status_advances(current: Option<DeliveryStatus>, new: DeliveryStatus) -> bool {
    match current {
        None => true,
        Some(c) => new.rank() > c.rank(),
    }
}
