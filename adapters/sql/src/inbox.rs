//! `InboundQueue` for `SqlStore`: the durable inbox and its job queue.
//!
//! Claiming is one `UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING …` statement. On
//! PostgreSQL the inner select takes `FOR UPDATE SKIP LOCKED`, so workers on many instances
//! never wait on each other or take the same job; SQLite serialises writers, which gives the
//! same guarantee on one instance. A job is only runnable when no earlier job of the same user
//! is unfinished, which keeps each conversation's turns in arrival order.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, Set,
    Statement, Value,
};
use uuid::Uuid;
use whatsapp_agent::domain::{MessageId, UserId};
use whatsapp_agent::ports::{
    status_advances, DeliveryStatus, Enqueued, InboundDelivery, InboundQueue, Job, JobContext,
    StatusUpdate, StoreError,
};

use crate::entity::{deliveries, inbound_jobs, messages, users};
use crate::error::store_error;
use crate::store::{to_message, to_user, SqlStore};
use crate::upsert::upsert_user;

fn later(now: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX)
}

fn claim_sql(backend: DatabaseBackend) -> String {
    let (p, lock) = match backend {
        DatabaseBackend::Postgres => ("$", "FOR UPDATE SKIP LOCKED"),
        _ => ("?", ""),
    };
    format!(
        "UPDATE inbound_jobs SET status = 'running', attempts = attempts + 1, \
         lease_until = {p}1, lease_token = {p}2, updated_at = {p}3 \
         WHERE id = ( \
           SELECT j.id FROM inbound_jobs j \
           WHERE ((j.status = 'pending' AND j.available_at <= {p}3) \
                  OR (j.status = 'running' AND j.lease_until < {p}3)) \
             AND NOT EXISTS ( \
               SELECT 1 FROM inbound_jobs e \
               WHERE e.user_id = j.user_id AND e.id < j.id \
                 AND e.status IN ('pending', 'running')) \
           ORDER BY j.id LIMIT 1 {lock}) \
         RETURNING id, message_id, user_id, attempts, lease_token"
    )
}

impl SqlStore {
    /// Conditions that prove the caller still owns the job.
    fn owned(job: &Job) -> sea_orm::Condition {
        sea_orm::Condition::all()
            .add(inbound_jobs::Column::Id.eq(job.id))
            .add(inbound_jobs::Column::LeaseToken.eq(job.lease_token))
            .add(inbound_jobs::Column::Status.eq("running"))
    }

    async fn update_owned(
        &self,
        job: &Job,
        update: sea_orm::UpdateMany<inbound_jobs::Entity>,
    ) -> Result<bool, StoreError> {
        let result = update
            .col_expr(
                inbound_jobs::Column::UpdatedAt,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .filter(Self::owned(job))
            .exec(self.connection())
            .await
            .map_err(store_error)?;
        Ok(result.rows_affected == 1)
    }
}

fn set<T: Into<Value>>(
    column: inbound_jobs::Column,
    value: T,
) -> (inbound_jobs::Column, sea_orm::sea_query::SimpleExpr) {
    (column, sea_orm::sea_query::Expr::value(value.into()))
}

fn jobs_update(
    columns: Vec<(inbound_jobs::Column, sea_orm::sea_query::SimpleExpr)>,
) -> sea_orm::UpdateMany<inbound_jobs::Entity> {
    columns.into_iter().fold(
        inbound_jobs::Entity::update_many(),
        |update, (column, value)| update.col_expr(column, value),
    )
}

#[async_trait]
impl InboundQueue for SqlStore {
    async fn enqueue(&self, delivery: &InboundDelivery) -> Result<Enqueued, StoreError> {
        let txn = self.begin().await?;
        let user = upsert_user(&txn, &delivery.user).await?;
        // Serialise one user's deliveries until commit, so job ids (the order workers follow)
        // are handed out in commit order; SQLite's single writer already does this.
        if txn.get_database_backend() == DatabaseBackend::Postgres {
            txn.execute(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT id FROM users WHERE id = $1 FOR UPDATE",
                [user.id.into()],
            ))
            .await
            .map_err(store_error)?;
        }
        if let Some(wa_id) = delivery.raw.get("WaId").and_then(|v| v.as_str()) {
            txn.execute(Statement::from_sql_and_values(
                txn.get_database_backend(),
                match txn.get_database_backend() {
                    DatabaseBackend::Postgres => "UPDATE users SET wa_id = $1 WHERE id = $2",
                    _ => "UPDATE users SET wa_id = ?1 WHERE id = ?2",
                },
                [wa_id.into(), user.id.into()],
            ))
            .await
            .map_err(store_error)?;
        }
        let message = &delivery.message;
        let media = if message.media.is_empty() {
            None
        } else {
            Some(serde_json::to_value(&message.media).map_err(anyhow::Error::from)?)
        };
        let now = Utc::now();
        let row = messages::ActiveModel {
            id: Set(message.id.0),
            user_id: Set(user.id),
            direction: Set(message.direction.as_str().to_string()),
            body: Set(message.body.clone()),
            media_url: Set(message.media_url().map(str::to_string)),
            media: Set(media),
            channel: Set(message.channel.as_str().to_string()),
            provider_message_id: Set(message.provider_message_id.clone()),
            delivery_status: Set(None),
            agent: Set(None),
            error: Set(None),
            created_at: Set(now),
        };
        // The unique (channel, provider id) index is the dedup: a redelivery fails here and
        // the whole transaction is dropped, so nothing of it is stored.
        match row.insert(&txn).await.map_err(store_error) {
            Err(StoreError::Duplicate(_)) => return Ok(Enqueued::Duplicate),
            Err(other) => return Err(other),
            Ok(_) => {}
        }
        txn.execute(Statement::from_sql_and_values(
            txn.get_database_backend(),
            match txn.get_database_backend() {
                DatabaseBackend::Postgres => "UPDATE messages SET raw = $1 WHERE id = $2",
                _ => "UPDATE messages SET raw = ?1 WHERE id = ?2",
            },
            [delivery.raw.clone().into(), message.id.0.into()],
        ))
        .await
        .map_err(store_error)?;
        let job = inbound_jobs::ActiveModel {
            message_id: Set(message.id.0),
            user_id: Set(user.id),
            status: Set("pending".into()),
            attempts: Set(0),
            available_at: Set(now),
            lease_until: Set(None),
            lease_token: Set(None),
            reply_message_id: Set(None),
            sent_parts: Set(None),
            last_error: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(store_error)?;
        match txn.commit().await.map_err(store_error) {
            Err(StoreError::Duplicate(_)) => Ok(Enqueued::Duplicate),
            Err(other) => Err(other),
            Ok(()) => Ok(Enqueued::Accepted {
                message: message.id,
                job: job.id,
            }),
        }
    }

    async fn claim(&self, lease: Duration) -> Result<Option<Job>, StoreError> {
        let db = self.connection();
        let now = Utc::now();
        let token = Uuid::now_v7();
        let statement = Statement::from_sql_and_values(
            db.get_database_backend(),
            claim_sql(db.get_database_backend()),
            [later(now, lease).into(), token.into(), now.into()],
        );
        let Some(row) = db.query_one(statement).await.map_err(store_error)? else {
            return Ok(None);
        };
        let read = |e: sea_orm::DbErr| StoreError::Unknown(anyhow::Error::new(e));
        Ok(Some(Job {
            id: row.try_get("", "id").map_err(read)?,
            message: MessageId(row.try_get("", "message_id").map_err(read)?),
            user: UserId(row.try_get("", "user_id").map_err(read)?),
            attempts: row.try_get::<i32>("", "attempts").map_err(read)?.max(0) as u32,
            lease_token: row.try_get("", "lease_token").map_err(read)?,
        }))
    }

    async fn renew(&self, job: &Job, lease: Duration) -> Result<bool, StoreError> {
        let update = jobs_update(vec![set(
            inbound_jobs::Column::LeaseUntil,
            later(Utc::now(), lease),
        )]);
        self.update_owned(job, update).await
    }

    async fn context(&self, job: &Job) -> Result<JobContext, StoreError> {
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
        let sent_parts = row
            .sent_parts
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        Ok(JobContext {
            user: to_user(user)?,
            incoming: to_message(incoming)?,
            reply,
            sent_parts,
        })
    }

    async fn attach_reply(&self, job: &Job, reply: MessageId) -> Result<bool, StoreError> {
        let update = jobs_update(vec![set(inbound_jobs::Column::ReplyMessageId, reply.0)]);
        self.update_owned(job, update).await
    }

    async fn record_sent(
        &self,
        job: &Job,
        reply: MessageId,
        sent: &[String],
        complete: bool,
    ) -> Result<(), StoreError> {
        let db = self.connection();
        let now = Utc::now();
        let parts = serde_json::to_value(sent).map_err(anyhow::Error::from)?;
        jobs_update(vec![
            set(inbound_jobs::Column::SentParts, parts),
            set(inbound_jobs::Column::UpdatedAt, now),
        ])
        .filter(inbound_jobs::Column::Id.eq(job.id))
        .exec(db)
        .await
        .map_err(store_error)?;
        for (part, sid) in sent.iter().enumerate() {
            let row = deliveries::ActiveModel {
                provider_message_id: Set(sid.clone()),
                message_id: Set(Some(reply.0)),
                part: Set(Some(part as i32)),
                status: Set(None),
                error_code: Set(None),
                updated_at: Set(now),
            };
            // A callback may have arrived before this record: keep its status, link the row.
            deliveries::Entity::insert(row)
                .on_conflict(
                    OnConflict::column(deliveries::Column::ProviderMessageId)
                        .update_columns([deliveries::Column::MessageId, deliveries::Column::Part])
                        .to_owned(),
                )
                .exec_without_returning(db)
                .await
                .map_err(store_error)?;
        }
        if complete {
            if let Some(first) = sent.first() {
                messages::Entity::update_many()
                    .col_expr(
                        messages::Column::ProviderMessageId,
                        sea_orm::sea_query::Expr::value(first.clone()),
                    )
                    .col_expr(
                        messages::Column::DeliveryStatus,
                        sea_orm::sea_query::Expr::value(DeliveryStatus::Queued.as_str()),
                    )
                    .filter(messages::Column::Id.eq(reply.0))
                    .filter(messages::Column::DeliveryStatus.is_null())
                    .exec(db)
                    .await
                    .map_err(store_error)?;
            }
        }
        let early = deliveries::Entity::find()
            .filter(deliveries::Column::MessageId.eq(reply.0))
            .filter(deliveries::Column::Status.is_not_null())
            .all(db)
            .await
            .map_err(store_error)?;
        for row in early {
            if let Some(status) = row.status.as_deref().and_then(DeliveryStatus::parse) {
                let update = StatusUpdate {
                    provider_message_id: row.provider_message_id,
                    status,
                    error_code: row.error_code,
                };
                self.advance_message_status(reply.0, &update).await?;
            }
        }
        Ok(())
    }

    async fn complete(&self, job: &Job) -> Result<bool, StoreError> {
        let update = jobs_update(vec![
            set(inbound_jobs::Column::Status, "done"),
            set(
                inbound_jobs::Column::LeaseUntil,
                Option::<DateTime<Utc>>::None,
            ),
        ]);
        self.update_owned(job, update).await
    }

    async fn retry_later(&self, job: &Job, delay: Duration, error: &str) -> Result<(), StoreError> {
        let update = jobs_update(vec![
            set(inbound_jobs::Column::Status, "pending"),
            set(inbound_jobs::Column::AvailableAt, later(Utc::now(), delay)),
            set(
                inbound_jobs::Column::LeaseUntil,
                Option::<DateTime<Utc>>::None,
            ),
            set(inbound_jobs::Column::LastError, error),
        ]);
        self.update_owned(job, update).await.map(|_| ())
    }

    async fn fail(&self, job: &Job, error: &str) -> Result<(), StoreError> {
        let update = jobs_update(vec![
            set(inbound_jobs::Column::Status, "failed"),
            set(
                inbound_jobs::Column::LeaseUntil,
                Option::<DateTime<Utc>>::None,
            ),
            set(inbound_jobs::Column::LastError, error),
        ]);
        self.update_owned(job, update).await.map(|_| ())
    }

    async fn mark_message_error(&self, message: MessageId, error: &str) -> Result<(), StoreError> {
        messages::Entity::update_many()
            .col_expr(
                messages::Column::Error,
                sea_orm::sea_query::Expr::value(error),
            )
            .filter(messages::Column::Id.eq(message.0))
            .exec(self.connection())
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn update_delivery(&self, update: &StatusUpdate) -> Result<bool, StoreError> {
        let db = self.connection();
        // Compare-and-set on the status read, retried if a concurrent callback won the race.
        for _ in 0..5 {
            let Some(row) = deliveries::Entity::find_by_id(update.provider_message_id.clone())
                .one(db)
                .await
                .map_err(store_error)?
            else {
                // Not recorded as sent yet (callbacks can beat the send's bookkeeping): keep
                // the status; recording the send links it to the message.
                let early = deliveries::ActiveModel {
                    provider_message_id: Set(update.provider_message_id.clone()),
                    message_id: Set(None),
                    part: Set(None),
                    status: Set(Some(update.status.as_str().to_string())),
                    error_code: Set(update.error_code.clone()),
                    updated_at: Set(Utc::now()),
                };
                let inserted = deliveries::Entity::insert(early)
                    .on_conflict(
                        OnConflict::column(deliveries::Column::ProviderMessageId)
                            .do_nothing()
                            .to_owned(),
                    )
                    .exec_without_returning(db)
                    .await
                    .map_err(store_error)?;
                if inserted == 1 {
                    return Ok(true);
                }
                continue;
            };
            let current = row.status.as_deref().and_then(DeliveryStatus::parse);
            if !status_advances(current, update.status) {
                return Ok(false);
            }
            let mut change = deliveries::Entity::update_many()
                .col_expr(
                    deliveries::Column::Status,
                    sea_orm::sea_query::Expr::value(update.status.as_str()),
                )
                .col_expr(
                    deliveries::Column::UpdatedAt,
                    sea_orm::sea_query::Expr::value(Utc::now()),
                )
                .filter(
                    deliveries::Column::ProviderMessageId.eq(update.provider_message_id.clone()),
                );
            if let Some(code) = &update.error_code {
                change = change.col_expr(
                    deliveries::Column::ErrorCode,
                    sea_orm::sea_query::Expr::value(code.clone()),
                );
            }
            change = match &row.status {
                Some(old) => change.filter(deliveries::Column::Status.eq(old.clone())),
                None => change.filter(deliveries::Column::Status.is_null()),
            };
            if change.exec(db).await.map_err(store_error)?.rows_affected == 0 {
                continue;
            }
            if let Some(message) = row.message_id {
                self.advance_message_status(message, update).await?;
            }
            return Ok(true);
        }
        Ok(false)
    }
}

impl SqlStore {
    /// The message shows the most advanced status of its parts (a failure outranks all).
    async fn advance_message_status(
        &self,
        message: Uuid,
        update: &StatusUpdate,
    ) -> Result<(), StoreError> {
        let db = self.connection();
        for _ in 0..5 {
            let Some(row) = messages::Entity::find_by_id(message)
                .one(db)
                .await
                .map_err(store_error)?
            else {
                return Ok(());
            };
            let current = row
                .delivery_status
                .as_deref()
                .and_then(DeliveryStatus::parse);
            if !status_advances(current, update.status) {
                return Ok(());
            }
            let mut change = messages::Entity::update_many()
                .col_expr(
                    messages::Column::DeliveryStatus,
                    sea_orm::sea_query::Expr::value(update.status.as_str()),
                )
                .filter(messages::Column::Id.eq(message));
            if let Some(code) = &update.error_code {
                change = change.col_expr(
                    messages::Column::Error,
                    sea_orm::sea_query::Expr::value(format!(
                        "delivery {}: error code {code}",
                        update.status.as_str()
                    )),
                );
            }
            change = match &row.delivery_status {
                Some(old) => change.filter(messages::Column::DeliveryStatus.eq(old.clone())),
                None => change.filter(messages::Column::DeliveryStatus.is_null()),
            };
            if change.exec(db).await.map_err(store_error)?.rows_affected > 0 {
                return Ok(());
            }
        }
        Ok(())
    }
}
