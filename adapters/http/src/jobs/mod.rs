//! `GET /jobs` and `POST /jobs/{id}/retry`: the inbound job queue for operators (scope
//! `admin`), the same as `whatsapp-agent jobs` and `whatsapp-agent jobs retry ID`.
//!
//! Handlers read the request and shape the answer; the core's `Inbox` checks the caller's
//! scope and does the work.

mod replies;
mod views;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{OpenApi, Tags};
use whatsapp_agent::inbox::{Inbox, JobsError};

use crate::auth::StaffAuth;
use crate::error::Failure;
use crate::state::AppState;

use replies::{JobsReply, RetryJobReply};
use views::{JobList, JobRetried, JobStatusView};

#[derive(Tags)]
enum JobTags {
    /// The inbound WhatsApp job queue (scope `admin`): job states, attempts, next attempt
    /// and last error, and re-driving a job that failed for good.
    Jobs,
}

fn example_status() -> Option<JobStatusView> {
    Some(JobStatusView::Failed)
}

fn example_limit() -> Option<u32> {
    Some(50)
}

fn example_id() -> i64 {
    42
}

fn inbox(state: &AppState) -> Result<&Inbox, Failure> {
    state.inbox.as_ref().ok_or_else(|| {
        Failure::unavailable(
            "jobs_unavailable",
            "the job queue is not available on this instance",
            5,
        )
    })
}

pub struct JobsApi;

#[OpenApi]
impl JobsApi {
    /// List inbound jobs.
    ///
    /// Newest first: each job's state, attempts, when a pending one runs next and its last
    /// error. No phone number, no message text.
    #[oai(
        path = "/jobs",
        method = "get",
        tag = "JobTags::Jobs",
        operation_id = "listJobs"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: StaffAuth,
        /// Only jobs in this state.
        #[oai(example = "example_status")]
        status: Query<Option<JobStatusView>>,
        /// At most this many jobs (1 to 500, default 50).
        #[oai(
            example = "example_limit",
            validator(minimum(value = "1"), maximum(value = "500"))
        )]
        limit: Query<Option<u32>>,
    ) -> JobsReply {
        let answer = async {
            let inbox = inbox(&state)?;
            let caller = auth.0?;
            let limit = limit.0.unwrap_or(50) as usize;
            let status = status.0.map(JobStatusView::as_str);
            let jobs = inbox.jobs(&caller, status, limit).await?;
            Ok::<_, Failure>(JobList {
                jobs: jobs.into_iter().map(Into::into).collect(),
            })
        };
        match answer.await {
            Ok(list) => JobsReply::Ok(Json(list)),
            Err(failure) => failure.into(),
        }
    }

    /// Run a failed job again.
    ///
    /// The job is queued to run now with a fresh attempt count; its stored reply is sent
    /// rather than generated again, and a part already sent is not sent again.
    #[oai(
        path = "/jobs/:id/retry",
        method = "post",
        tag = "JobTags::Jobs",
        operation_id = "retryJob"
    )]
    async fn retry(
        &self,
        state: Data<&AppState>,
        auth: StaffAuth,
        /// The job's id, as listed.
        #[oai(example = "example_id")]
        id: Path<i64>,
    ) -> RetryJobReply {
        let answer = async {
            let inbox = inbox(&state)?;
            let caller = auth.0?;
            inbox.retry_job(&caller, id.0).await?;
            Ok::<_, Failure>(())
        };
        match answer.await {
            Ok(()) => RetryJobReply::Ok(Json(JobRetried {
                id: id.0,
                status: JobStatusView::Pending,
            })),
            Err(failure) => failure.into(),
        }
    }
}

impl From<JobsError> for Failure {
    fn from(err: JobsError) -> Self {
        match err {
            JobsError::Access(err) => err.into(),
            JobsError::NotWired => Failure::unavailable(
                "jobs_unavailable",
                "the job queue is not available on this instance",
                5,
            ),
            JobsError::Board(err) => err.into(),
        }
    }
}
