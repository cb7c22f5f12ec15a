//! `JobBoard` for `SqlStore`: the inbound queue as operators see it, and re-driving a job that
//! failed for good.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend};
use whatsapp_agent::domain::MessageId;
use whatsapp_agent::ports::{JobBoard, JobBoardError, JobSummary};

use crate::error::store_error;
use crate::inbox_clock::now;
use crate::raw::statement;
use crate::store::SqlStore;

fn read(err: sea_orm::DbErr) -> JobBoardError {
    JobBoardError::Unknown(anyhow::Error::new(err))
}

/// A failed job, chosen by `condition`, back in the queue to run now with a fresh attempt
/// count; its id is returned.
fn requeue_sql(backend: DatabaseBackend, condition: &str) -> String {
    let now = now(backend);
    format!(
        "UPDATE inbound_jobs SET status = 'pending', attempts = 0, available_at = {now}, \
           lease_until = NULL, lease_token = NULL, updated_at = {now} \
         WHERE {condition} AND status = 'failed' RETURNING id"
    )
}

/// The job that sends reply `$1`, found among its user's jobs (`ix_inbound_jobs_user`), not by a
/// scan of the whole queue.
const SENDS_REPLY: &str =
    "user_id = (SELECT user_id FROM messages WHERE id = $1) AND reply_message_id = $1";

/// The reply of a re-driven job waits to be sent again: `queued`, without the old error.
/// (Sending it records the provider's id over this status, as for a first send.)
const REPLY_QUEUED_SQL: &str =
    "UPDATE messages SET delivery_status = 'queued', error = NULL WHERE id = $1";

#[async_trait]
impl JobBoard for SqlStore {
    async fn list(
        &self,
        status: Option<&str>,
        limit: usize,
    ) -> Result<Vec<JobSummary>, JobBoardError> {
        let db = self.connection();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let (filter, values) = match status {
            Some(status) => (
                "WHERE status = $2",
                vec![limit.into(), status.to_string().into()],
            ),
            None => ("", vec![limit.into()]),
        };
        let rows = db
            .query_all(statement(
                db.get_database_backend(),
                &format!(
                    "SELECT id, status, attempts, available_at, last_error, created_at, \
                       updated_at FROM inbound_jobs {filter} ORDER BY id DESC LIMIT $1"
                ),
                values,
            ))
            .await
            .map_err(store_error)?;
        rows.into_iter()
            .map(|row| {
                let status: String = row.try_get("", "status").map_err(read)?;
                Ok(JobSummary {
                    id: row.try_get("", "id").map_err(read)?,
                    next_attempt_at: if status == "pending" {
                        Some(row.try_get("", "available_at").map_err(read)?)
                    } else {
                        None
                    },
                    status,
                    attempts: u32::try_from(row.try_get::<i32>("", "attempts").map_err(read)?)
                        .unwrap_or(0),
                    last_error: row.try_get("", "last_error").map_err(read)?,
                    created_at: row.try_get("", "created_at").map_err(read)?,
                    updated_at: row.try_get("", "updated_at").map_err(read)?,
                })
            })
            .collect()
    }

    async fn oldest_pending(&self) -> Result<Option<DateTime<Utc>>, JobBoardError> {
        let db = self.connection();
        let row = db
            .query_one(statement(
                db.get_database_backend(),
                "SELECT MIN(created_at) AS oldest FROM inbound_jobs WHERE status = 'pending'",
                Vec::new(),
            ))
            .await
            .map_err(store_error)?;
        match row {
            Some(row) => Ok(row.try_get("", "oldest").map_err(read)?),
            None => Ok(None),
        }
    }

    async fn retry(&self, id: i64) -> Result<(), JobBoardError> {
        let db = self.connection();
        let backend = db.get_database_backend();
        let requeued = db
            .query_one(statement(
                backend,
                &requeue_sql(backend, "id = $1"),
                vec![id.into()],
            ))
            .await
            .map_err(store_error)?;
        if requeued.is_some() {
            return Ok(());
        }
        let row = db
            .query_one(statement(
                backend,
                "SELECT status FROM inbound_jobs WHERE id = $1",
                vec![id.into()],
            ))
            .await
            .map_err(store_error)?;
        match row {
            None => Err(JobBoardError::NotFound(id)),
            Some(row) => Err(JobBoardError::NotFailed {
                id,
                status: row.try_get("", "status").map_err(read)?,
            }),
        }
    }

    async fn retry_reply(&self, reply: MessageId) -> Result<Option<i64>, JobBoardError> {
        let _writer = self.writer().await;
        let txn = self.begin().await?;
        let backend = txn.get_database_backend();
        let requeued = txn
            .query_one(statement(
                backend,
                &requeue_sql(backend, SENDS_REPLY),
                vec![reply.0.into()],
            ))
            .await
            .map_err(store_error)?;
        if let Some(row) = requeued {
            let id: i64 = row.try_get("", "id").map_err(read)?;
            txn.execute(statement(backend, REPLY_QUEUED_SQL, vec![reply.0.into()]))
                .await
                .map_err(store_error)?;
            txn.commit().await.map_err(store_error)?;
            return Ok(Some(id));
        }
        let row = txn
            .query_one(statement(
                backend,
                &format!(
                    "SELECT id, status FROM inbound_jobs WHERE {SENDS_REPLY} \
                     ORDER BY id DESC LIMIT 1"
                ),
                vec![reply.0.into()],
            ))
            .await
            .map_err(store_error)?;
        match row {
            None => Ok(None),
            Some(row) => Err(JobBoardError::NotFailed {
                id: row.try_get("", "id").map_err(read)?,
                status: row.try_get("", "status").map_err(read)?,
            }),
        }
    }
}
