//! The job-lease port: workers claim inbound jobs with a lease and a fencing token, renew it
//! while they work, and end the job (done, retry later, failed). Every write is fenced: it
//! lands only while the writer's token is the job's and the lease has not run out, both judged
//! by the database's clock, so a worker whose lease was taken over changes nothing.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{Message, MessageId, User, UserId};

use super::StoreError;

/// A claimed job: the worker holds it until its lease runs out, renewing as it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub message: MessageId,
    pub user: UserId,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// The fencing token: every later call is refused once another worker took the job over.
    pub lease_token: uuid::Uuid,
}

/// Everything a worker needs to answer a job.
#[derive(Clone, Debug, PartialEq)]
pub struct JobContext {
    pub user: User,
    pub incoming: Message,
    /// The stored reply, if an earlier attempt got that far.
    pub reply: Option<Message>,
    /// When the user last wrote (any of their incoming messages): the channel's reply window
    /// runs from there.
    pub last_incoming_at: DateTime<Utc>,
}

/// Why a job has failed for good, as recorded for staff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobFailure {
    /// Shown to operators on the job and on the reply.
    pub error: String,
    /// The reply that could not be delivered, if there is one: marked `failed` with the error.
    pub reply: Option<MessageId>,
    /// Put on the conversation so that staff see it (e.g. `delivery_failed`).
    pub flag_reason: String,
}

/// Why a lease operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// The job is no longer the caller's: its lease ran out and another worker may hold it.
    /// Nothing was written.
    #[error("the job's lease was lost")]
    Lost,
    /// The database cannot be reached; nothing was written.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

impl From<StoreError> for LeaseError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(m) => LeaseError::Unavailable(m),
            StoreError::Duplicate(m) => LeaseError::Unknown(anyhow::anyhow!("duplicate: {m}")),
            StoreError::Unknown(e) => LeaseError::Unknown(e),
        }
    }
}

/// The queue of inbound jobs, as workers see it.
#[async_trait]
pub trait JobLeases: Send + Sync {
    /// Claims the next job that may run: pending and due, or running with an expired lease;
    /// never a job whose user has an earlier unfinished job (per-user order), and never a job
    /// another worker holds. The lease runs `lease` from the database's clock. Safe across many
    /// processes on one database.
    ///
    /// # Errors
    /// [`LeaseError::Unavailable`] when the database is down.
    async fn claim(&self, lease: Duration) -> Result<Option<Job>, LeaseError>;

    /// Extends the lease to `lease` from now (the database's clock).
    ///
    /// # Errors
    /// MUST return [`LeaseError::Lost`] when the token is no longer the job's or the lease has
    /// run out.
    async fn renew(&self, job: &Job, lease: Duration) -> Result<(), LeaseError>;

    /// Loads the job's user, incoming message and any stored reply.
    ///
    /// # Errors
    /// [`LeaseError::Unavailable`] when the database is down.
    async fn context(&self, job: &Job) -> Result<JobContext, LeaseError>;

    /// Links the stored reply to the job, so a later attempt does not generate another.
    ///
    /// # Errors
    /// MUST return [`LeaseError::Lost`], writing nothing, when the lease was lost.
    async fn attach_reply(&self, job: &Job, reply: MessageId) -> Result<(), LeaseError>;

    /// Stores `body` as the reply in the user's conversation (a fixed text, no model call)
    /// and links it to the job, in one transaction.
    ///
    /// # Errors
    /// MUST return [`LeaseError::Lost`], writing nothing, when the lease was lost.
    async fn attach_fixed_reply(
        &self,
        job: &Job,
        body: &str,
        agent: &str,
    ) -> Result<Message, LeaseError>;

    /// Marks the job done.
    ///
    /// # Errors
    /// MUST return [`LeaseError::Lost`], writing nothing, when the lease was lost.
    async fn complete(&self, job: &Job) -> Result<(), LeaseError>;

    /// Puts the job back to run again `delay` from now (the database's clock), recording the
    /// error.
    ///
    /// # Errors
    /// MUST return [`LeaseError::Lost`], writing nothing, when the lease was lost.
    async fn retry_later(&self, job: &Job, delay: Duration, error: &str) -> Result<(), LeaseError>;

    /// Marks the job failed for good, the reply (if any) `failed` with the error, and flags the
    /// conversation for staff, in one transaction. The incoming message stays.
    ///
    /// # Errors
    /// MUST return [`LeaseError::Lost`], writing nothing, when the lease was lost.
    async fn fail(&self, job: &Job, failure: &JobFailure) -> Result<(), LeaseError>;
}
