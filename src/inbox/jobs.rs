//! The job queue for operators (scope `admin`): what is queued, failed or done, and
//! re-driving a job that failed for good.

use crate::access::{AccessError, Caller, Scope};
use crate::ports::{JobBoardError, JobSummary};

use super::Inbox;

/// Why an operator's request about the job queue was refused.
#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    /// No credential, a wrong one, or one without the `admin` scope.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// This instance has no job queue wired.
    #[error("the job queue is not available on this instance")]
    NotWired,
    #[error(transparent)]
    Board(#[from] JobBoardError),
}

impl Inbox {
    /// Jobs newest first, optionally only those with `status`, at most `limit`.
    ///
    /// # Errors
    /// [`JobsError::Access`] unless `caller` has the `admin` scope.
    pub async fn jobs(
        &self,
        caller: &Caller,
        status: Option<&str>,
        limit: usize,
    ) -> Result<Vec<JobSummary>, JobsError> {
        caller.require(Scope::Admin)?;
        let jobs = self.jobs.as_ref().ok_or(JobsError::NotWired)?;
        Ok(jobs.list(status, limit).await?)
    }

    /// Runs a failed job again now; its stored reply is sent rather than generated again.
    ///
    /// # Errors
    /// [`JobsError::Access`] unless `caller` has the `admin` scope;
    /// [`JobBoardError::NotFound`] or [`JobBoardError::NotFailed`] inside
    /// [`JobsError::Board`] for an unknown job or one that is not failed.
    pub async fn retry_job(&self, caller: &Caller, id: i64) -> Result<(), JobsError> {
        caller.require(Scope::Admin)?;
        let jobs = self.jobs.as_ref().ok_or(JobsError::NotWired)?;
        jobs.retry(id).await?;
        tracing::info!(job = id, "failed job re-driven by an operator");
        Ok(())
    }
}
