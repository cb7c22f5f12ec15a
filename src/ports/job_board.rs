//! The job-board port: what operators see of the inbound queue and how they re-drive a job
//! that failed for good.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::domain::MessageId;

/// One inbound job as operators see it. No phone number, no body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobSummary {
    pub id: i64,
    /// `pending`, `running`, `done` or `failed`.
    pub status: String,
    pub attempts: u32,
    /// When a pending job may run next.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Why a job could not be re-driven.
#[derive(Debug, thiserror::Error)]
pub enum JobBoardError {
    /// No job has this id.
    #[error("no job {0}")]
    NotFound(i64),
    /// The job is not failed (it is pending, running or done): there is nothing to re-drive.
    #[error("job {id} is {status}, not failed")]
    NotFailed { id: i64, status: String },
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

impl From<StoreError> for JobBoardError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(m) => JobBoardError::Unavailable(m),
            StoreError::Duplicate(m) => JobBoardError::Unknown(anyhow::anyhow!("duplicate: {m}")),
            StoreError::Unknown(e) => JobBoardError::Unknown(e),
        }
    }
}

/// The queue's state for operators.
#[async_trait]
pub trait JobBoard: Send + Sync {
    /// Jobs newest first, optionally only those with `status`, at most `limit`.
    ///
    /// # Errors
    /// [`JobBoardError::Unavailable`] when the database is down.
    async fn list(
        &self,
        status: Option<&str>,
        limit: usize,
    ) -> Result<Vec<JobSummary>, JobBoardError>;

    /// When the oldest job still waiting to run (pending) was queued; `None` when none waits.
    ///
    /// # Errors
    /// [`JobBoardError::Unavailable`] when the database is down.
    async fn oldest_pending(&self) -> Result<Option<DateTime<Utc>>, JobBoardError>;

    /// Puts a failed job back in the queue to run now, with a fresh attempt count; its reply,
    /// if stored, is sent rather than generated again, and parts already sent are not sent
    /// again.
    ///
    /// # Errors
    /// MUST return [`JobBoardError::NotFound`] for an unknown id and
    /// [`JobBoardError::NotFailed`] for a job that is not failed.
    async fn retry(&self, id: i64) -> Result<(), JobBoardError>;

    /// Re-drives the job that sends reply `reply` when it failed for good, as
    /// [`JobBoard::retry`] does (its stored reply is sent, not generated again; parts already
    /// sent are not sent again), and in the same transaction shows the reply as queued again:
    /// its delivery status becomes `queued` and its error is cleared. Returns the job's id, or
    /// `None` when no job sends this reply (then nothing is changed).
    ///
    /// # Errors
    /// MUST return [`JobBoardError::NotFailed`] when the job that sends the reply is pending or
    /// running (it is being sent already) or done (the provider took it), changing nothing;
    /// [`JobBoardError::Unavailable`] when the database is down.
    async fn retry_reply(&self, reply: MessageId) -> Result<Option<i64>, JobBoardError>;
}
