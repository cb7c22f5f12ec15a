//! Retention: old rows purged in small batches, and task leases so that one instance at a time
//! runs the purge.
//!
//! Each kind of row goes in its own short statement or transaction, at most `batch` rows each,
//! chosen by age through an index, so a purge never holds locks on recent rows or for long.
//! Leases are timed by the database's clock, the one clock every instance shares.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter};
use uuid::Uuid;
use whatsapp_agent::ports::{PurgeReport, RightsError};

use crate::entity::{deliveries, inbound_jobs, messages};
use crate::raw::statement;
use crate::rights::{db_error, rights_error};
use crate::store::SqlStore;

/// Finished jobs last updated before `$1`, at most `$2`.
const PURGE_JOBS_SQL: &str = "DELETE FROM inbound_jobs WHERE id IN ( \
       SELECT id FROM inbound_jobs WHERE status IN ('done', 'failed') AND updated_at < $1 \
       ORDER BY updated_at, id LIMIT $2)";

/// Messages created before `$1`, at most `$2`, oldest first; one whose job is still to run
/// stays until the job finishes.
const OLD_MESSAGES_SQL: &str = "SELECT m.id FROM messages m WHERE m.created_at < $1 \
       AND NOT EXISTS (SELECT 1 FROM inbound_jobs j WHERE j.message_id = m.id \
                       AND j.status IN ('pending', 'running')) \
     ORDER BY m.created_at, m.id LIMIT $2";

/// Conversations idle since before `$1` that no message is filed in any more, at most `$2`.
const PURGE_CONVERSATIONS_SQL: &str = "DELETE FROM conversations WHERE id IN ( \
       SELECT c.id FROM conversations c WHERE c.last_activity_at < $1 \
         AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id) \
       ORDER BY c.last_activity_at, c.id LIMIT $2)";

/// Users created before `$1` left with nothing, at most `$2`.
const PURGE_USERS_SQL: &str = "DELETE FROM users WHERE id IN ( \
       SELECT u.id FROM users u WHERE u.created_at < $1 \
         AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.user_id = u.id) \
         AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.user_id = u.id) \
         AND NOT EXISTS (SELECT 1 FROM inbound_jobs j WHERE j.user_id = u.id) \
       ORDER BY u.created_at, u.id LIMIT $2)";

/// Takes the lease when it is free, expired or already `$2`'s; returns a row only then.
fn lead_sql(backend: DatabaseBackend) -> String {
    let (now, until) = match backend {
        DatabaseBackend::Postgres => (
            "CURRENT_TIMESTAMP",
            "CURRENT_TIMESTAMP + $3 * INTERVAL '1 second'",
        ),
        // The same text form as every other stored time, so that times compare as text.
        _ => (
            "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')",
            "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', '+' || $3 || ' seconds')",
        ),
    };
    format!(
        "INSERT INTO task_leases (task, holder, lease_until) VALUES ($1, $2, {until}) \
         ON CONFLICT (task) DO UPDATE \
           SET holder = excluded.holder, lease_until = excluded.lease_until \
           WHERE task_leases.lease_until < {now} OR task_leases.holder = excluded.holder \
         RETURNING holder"
    )
}

impl SqlStore {
    pub(crate) async fn purge(
        &self,
        cutoff: DateTime<Utc>,
        batch: usize,
    ) -> Result<PurgeReport, RightsError> {
        let mut report = PurgeReport::default();
        if batch == 0 {
            return Ok(report);
        }
        let limit = i64::try_from(batch).unwrap_or(i64::MAX);
        report.jobs = self.purge_statement(PURGE_JOBS_SQL, cutoff, limit).await?;
        let (messages, jobs) = self.purge_messages(cutoff, limit).await?;
        report.messages = messages;
        report.jobs += jobs;
        report.conversations = self
            .purge_statement(PURGE_CONVERSATIONS_SQL, cutoff, limit)
            .await?;
        report.users = self.purge_statement(PURGE_USERS_SQL, cutoff, limit).await?;
        if report.total() > 0 {
            tracing::info!(
                messages = report.messages,
                jobs = report.jobs,
                conversations = report.conversations,
                users = report.users,
                "purged rows past retention"
            );
        }
        Ok(report)
    }

    async fn purge_statement(
        &self,
        sql: &str,
        cutoff: DateTime<Utc>,
        limit: i64,
    ) -> Result<u64, RightsError> {
        let _writer = self.writer().await;
        let db = self.connection();
        let done = db
            .execute(statement(
                db.get_database_backend(),
                sql,
                vec![cutoff.into(), limit.into()],
            ))
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected())
    }

    /// One batch of old messages with their deliveries and finished jobs, in one transaction.
    /// Returns the messages and jobs removed.
    async fn purge_messages(
        &self,
        cutoff: DateTime<Utc>,
        limit: i64,
    ) -> Result<(u64, u64), RightsError> {
        let db = self.connection();
        // Chosen before the transaction, which then starts with a write (SQLite's writer
        // lock is taken up front); old rows do not change meanwhile.
        let rows = db
            .query_all(statement(
                db.get_database_backend(),
                OLD_MESSAGES_SQL,
                vec![cutoff.into(), limit.into()],
            ))
            .await
            .map_err(db_error)?;
        let ids = rows
            .iter()
            .map(|row| row.try_get_by_index::<Uuid>(0))
            .collect::<Result<Vec<_>, _>>()
            .map_err(db_error)?;
        if ids.is_empty() {
            return Ok((0, 0));
        }
        let _writer = self.writer().await;
        let txn = self.begin().await.map_err(rights_error)?;
        deliveries::Entity::delete_many()
            .filter(deliveries::Column::MessageId.is_in(ids.clone()))
            .exec(&txn)
            .await
            .map_err(db_error)?;
        let jobs = inbound_jobs::Entity::delete_many()
            .filter(inbound_jobs::Column::MessageId.is_in(ids.clone()))
            .filter(inbound_jobs::Column::Status.is_in(["done", "failed"]))
            .exec(&txn)
            .await
            .map_err(db_error)?
            .rows_affected;
        // Only the still-old ones, should a row have been rewritten meanwhile.
        let messages = messages::Entity::delete_many()
            .filter(messages::Column::Id.is_in(ids))
            .filter(messages::Column::CreatedAt.lt(cutoff))
            .exec(&txn)
            .await
            .map_err(db_error)?
            .rows_affected;
        txn.commit().await.map_err(db_error)?;
        Ok((messages, jobs))
    }

    pub(crate) async fn lead(
        &self,
        task: &str,
        holder: Uuid,
        lease_secs: u32,
    ) -> Result<bool, RightsError> {
        let _writer = self.writer().await;
        let db = self.connection();
        let backend = db.get_database_backend();
        let secs: sea_orm::Value = match backend {
            DatabaseBackend::Postgres => f64::from(lease_secs).into(),
            _ => i64::from(lease_secs).into(),
        };
        let row = db
            .query_one(statement(
                backend,
                &lead_sql(backend),
                vec![task.into(), holder.into(), secs],
            ))
            .await
            .map_err(db_error)?;
        Ok(row.is_some())
    }
}
