//! What operators are shown of the job queue.

use chrono::{DateTime, Utc};
use poem_openapi::types::Example;
use poem_openapi::{Enum, Object};
use whatsapp_agent::ports::JobSummary;

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum JobStatusView {
    /// Waiting to run (first time, or again after a failed attempt).
    Pending,
    /// A worker holds it.
    Running,
    /// Answered and sent, or nothing to send.
    Done,
    /// Failed for good; its reply (if any) is marked failed and its conversation flagged.
    Failed,
}

impl JobStatusView {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatusView::Pending => "pending",
            JobStatusView::Running => "running",
            JobStatusView::Done => "done",
            JobStatusView::Failed => "failed",
        }
    }

    fn parse(value: &str) -> Self {
        match value {
            "pending" => JobStatusView::Pending,
            "running" => JobStatusView::Running,
            "done" => JobStatusView::Done,
            _ => JobStatusView::Failed,
        }
    }
}

/// One inbound job.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct JobView {
    pub id: i64,
    pub status: JobStatusView,
    /// Attempts so far.
    pub attempts: u32,
    /// When a pending job runs next.
    #[oai(skip_serializing_if_is_none)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last attempt's error, if it failed.
    #[oai(skip_serializing_if_is_none)]
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn example_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T18:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

impl Example for JobView {
    fn example() -> Self {
        Self {
            id: 42,
            status: JobStatusView::Failed,
            attempts: 31,
            next_attempt_at: None,
            last_error: Some(
                "send failed: Twilio HTTP 500: Internal Server Error; the reply window closed"
                    .into(),
            ),
            created_at: example_time(),
            updated_at: example_time(),
        }
    }
}

impl From<JobSummary> for JobView {
    fn from(job: JobSummary) -> Self {
        Self {
            id: job.id,
            status: JobStatusView::parse(&job.status),
            attempts: job.attempts,
            next_attempt_at: job.next_attempt_at,
            last_error: job.last_error,
            created_at: job.created_at,
            updated_at: job.updated_at,
        }
    }
}

/// Jobs, newest first.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct JobList {
    pub jobs: Vec<JobView>,
}

impl Example for JobList {
    fn example() -> Self {
        Self {
            jobs: vec![JobView::example()],
        }
    }
}

/// A job queued to run again.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct JobRetried {
    pub id: i64,
    /// Always `pending`.
    pub status: JobStatusView,
}

impl Example for JobRetried {
    fn example() -> Self {
        Self {
            id: 42,
            status: JobStatusView::Pending,
        }
    }
}
