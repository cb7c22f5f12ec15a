//! `JobLeases` for `SqlStore`: claiming inbound jobs with a lease and a fencing token, and
//! every later write fenced by it (see [`crate::inbox_clock::fenced`]).
//!
//! Claiming is one `UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING …` statement. On
//! PostgreSQL the inner select takes `FOR UPDATE SKIP LOCKED`, so workers on many instances
//! never wait on each other or take the same job; SQLite serialises writers, which gives the
//! same guarantee on one instance. A job is only runnable when no earlier job of the same user
//! is unfinished, which keeps each conversation's turns in arrival order.

use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;
use whatsapp_agent::domain::{Message, MessageId, UserId};
use whatsapp_agent::ports::{Job, JobContext, JobFailure, JobLeases, LeaseError};

use crate::entity::{inbound_jobs, messages, users};
use crate::error::store_error;
use crate::inbox_clock::{fenced, later, now, seconds};
use crate::raw::statement;
use crate::store::{to_message, to_user, SqlStore};

fn claim_sql(backend: DatabaseBackend) -> String {
    let lock = match backend {
        DatabaseBackend::Postgres => "FOR UPDATE SKIP LOCKED",
        _ => "",
    };
    let (now, until) = (now(backend), later(backend, 1));
    format!(
        "UPDATE inbound_jobs SET status = 'running', attempts = attempts + 1, \
         lease_until = {until}, lease_token = $2, updated_at = {now} \
         WHERE id = ( \
           SELECT j.id FROM inbound_jobs j \
           WHERE ((j.status = 'pending' AND j.available_at <= {now}) \
                  OR (j.status = 'running' AND j.lease_until < {now})) \
             AND NOT EXISTS ( \
               SELECT 1 FROM inbound_jobs e \
               WHERE e.user_id = j.user_id AND e.id < j.id \
                 AND e.status IN ('pending', 'running')) \
           ORDER BY j.id LIMIT 1 {lock}) \
         RETURNING id, message_id, user_id, attempts, lease_token"
    )
}

/// Flags the conversation the job's messages are filed in, or else the user's open one. The
/// failure counts as the conversation's activity (at `$4`, never moving it back), as a
/// takeover does: the team's inbox lists it as recent and its live feed tells of the reply
/// that failed, however long after the turn the sending gave up.
const FLAG_FILED_SQL: &str = "UPDATE conversations SET flag_reason = COALESCE(flag_reason, $1), \
       last_activity_at = CASE WHEN last_activity_at < $4 THEN $4 ELSE last_activity_at END \
     WHERE id IN (SELECT conversation_id FROM messages \
                  WHERE id IN ($2, $3) AND conversation_id IS NOT NULL)";
const FLAG_OPEN_SQL: &str = "UPDATE conversations SET flag_reason = COALESCE(flag_reason, $1), \
       last_activity_at = CASE WHEN last_activity_at < $3 THEN $3 ELSE last_activity_at END \
     WHERE open_user_id = $2";

/// A fixed reply, filed in the conversation of the job's incoming message or the user's open
/// one.
const FIXED_REPLY_SQL: &str = "INSERT INTO messages \
       (id, user_id, direction, body, channel, agent, conversation_id, created_at) \
     VALUES ($1, $2, 'outgoing', $3, 'whatsapp', $4, \
       COALESCE((SELECT conversation_id FROM messages WHERE id = $5), \
                (SELECT id FROM conversations WHERE open_user_id = $2)), $6)";

fn lost_if_not(held: bool) -> Result<(), LeaseError> {
    if held {
        Ok(())
    } else {
        Err(LeaseError::Lost)
    }
}

#[async_trait]
impl JobLeases for SqlStore {
    async fn claim(&self, lease: Duration) -> Result<Option<Job>, LeaseError> {
        let db = self.connection();
        let backend = db.get_database_backend();
        let token = Uuid::now_v7();
        let Some(row) = db
            .query_one(statement(
                backend,
                &claim_sql(backend),
                vec![seconds(lease), token.into()],
            ))
            .await
            .map_err(store_error)?
        else {
            return Ok(None);
        };
        let read = |e: sea_orm::DbErr| LeaseError::Unknown(anyhow::Error::new(e));
        Ok(Some(Job {
            id: row.try_get("", "id").map_err(read)?,
            message: MessageId(row.try_get("", "message_id").map_err(read)?),
            user: UserId(row.try_get("", "user_id").map_err(read)?),
            attempts: u32::try_from(row.try_get::<i32>("", "attempts").map_err(read)?).unwrap_or(0),
            lease_token: row.try_get("", "lease_token").map_err(read)?,
        }))
    }

    async fn renew(&self, job: &Job, lease: Duration) -> Result<(), LeaseError> {
        let db = self.connection();
        let set = format!("lease_until = {}", later(db.get_database_backend(), 3));
        lost_if_not(fenced(db, job, &set, vec![seconds(lease)]).await?)
    }

    async fn context(&self, job: &Job) -> Result<JobContext, LeaseError> {
        let db = self.connection();
        let row = inbound_jobs::Entity::find_by_id(job.id)
            .one(db)
            .await
            .map_err(store_error)?
            .ok_or_else(|| anyhow::anyhow!("job {} not found", job.id))?;
        let user = users::Entity::find_by_id(row.user_id)
            .one(db)
            .await
            .map_err(store_error)?
            .ok_or_else(|| anyhow::anyhow!("user of job {} not found", job.id))?;
        let incoming = messages::Entity::find_by_id(row.message_id)
            .one(db)
            .await
            .map_err(store_error)?
            .ok_or_else(|| anyhow::anyhow!("message of job {} not found", job.id))?;
        let reply = match row.reply_message_id {
            Some(id) => messages::Entity::find_by_id(id)
                .one(db)
                .await
                .map_err(store_error)?
                .map(to_message)
                .transpose()?,
            None => None,
        };
        let last_incoming_at = messages::Entity::find()
            .filter(messages::Column::UserId.eq(row.user_id))
            .filter(messages::Column::Direction.eq("incoming"))
            .order_by_desc(messages::Column::CreatedAt)
            .one(db)
            .await
            .map_err(store_error)?
            .map_or(incoming.created_at, |m| {
                m.created_at.max(incoming.created_at)
            });
        Ok(JobContext {
            user: to_user(user)?,
            incoming: to_message(incoming)?,
            reply,
            last_incoming_at,
        })
    }

    async fn attach_reply(&self, job: &Job, reply: MessageId) -> Result<(), LeaseError> {
        let held = fenced(
            self.connection(),
            job,
            "reply_message_id = $3",
            vec![reply.0.into()],
        )
        .await?;
        lost_if_not(held)
    }

    async fn attach_fixed_reply(
        &self,
        job: &Job,
        body: &str,
        agent: &str,
    ) -> Result<Message, LeaseError> {
        let _writer = self.writer().await;
        let txn = self.begin().await?;
        let backend = txn.get_database_backend();
        let id = Uuid::now_v7();
        lost_if_not(fenced(&txn, job, "reply_message_id = $3", vec![id.into()]).await?)?;
        txn.execute(statement(
            backend,
            FIXED_REPLY_SQL,
            vec![
                id.into(),
                job.user.0.into(),
                body.into(),
                agent.into(),
                job.message.0.into(),
                Utc::now().into(),
            ],
        ))
        .await
        .map_err(store_error)?;
        let row = messages::Entity::find_by_id(id)
            .one(&txn)
            .await
            .map_err(store_error)?
            .ok_or_else(|| anyhow::anyhow!("the fixed reply of job {} vanished", job.id))?;
        txn.commit().await.map_err(store_error)?;
        Ok(to_message(row)?)
    }

    async fn complete(&self, job: &Job) -> Result<(), LeaseError> {
        let held = fenced(
            self.connection(),
            job,
            "status = 'done', lease_until = NULL",
            Vec::new(),
        )
        .await?;
        lost_if_not(held)
    }

    async fn retry_later(&self, job: &Job, delay: Duration, error: &str) -> Result<(), LeaseError> {
        let db = self.connection();
        let set = format!(
            "status = 'pending', available_at = {}, lease_until = NULL, last_error = $4",
            later(db.get_database_backend(), 3)
        );
        lost_if_not(fenced(db, job, &set, vec![seconds(delay), error.into()]).await?)
    }

    async fn fail(&self, job: &Job, failure: &JobFailure) -> Result<(), LeaseError> {
        let _writer = self.writer().await;
        let txn = self.begin().await?;
        let backend = txn.get_database_backend();
        lost_if_not(
            fenced(
                &txn,
                job,
                "status = 'failed', lease_until = NULL, last_error = $3",
                vec![failure.error.clone().into()],
            )
            .await?,
        )?;
        if let Some(reply) = failure.reply {
            txn.execute(statement(
                backend,
                "UPDATE messages SET delivery_status = 'failed', error = $1 WHERE id = $2",
                vec![failure.error.clone().into(), reply.0.into()],
            ))
            .await
            .map_err(store_error)?;
        }
        let filed = failure.reply.unwrap_or(job.message);
        let at = Utc::now();
        let flagged = txn
            .execute(statement(
                backend,
                FLAG_FILED_SQL,
                vec![
                    failure.flag_reason.clone().into(),
                    job.message.0.into(),
                    filed.0.into(),
                    at.into(),
                ],
            ))
            .await
            .map_err(store_error)?;
        if flagged.rows_affected() == 0 {
            txn.execute(statement(
                backend,
                FLAG_OPEN_SQL,
                vec![
                    failure.flag_reason.clone().into(),
                    job.user.0.into(),
                    at.into(),
                ],
            ))
            .await
            .map_err(store_error)?;
        }
        txn.commit().await.map_err(store_error)?;
        Ok(())
    }
}
