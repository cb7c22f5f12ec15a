//! `DeliveryLog` for `SqlStore`: send attempts per part of a reply (`send_attempts`), the
//! provider ids they got (`deliveries`), and the provider's status callbacks.
//!
//! Writes made for a job pass the job's fence first, in the same transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;
use whatsapp_agent::domain::MessageId;
use whatsapp_agent::ports::{
    status_advances, DeliveryLog, DeliveryLogError, DeliveryStatus, Job, PartAttempt, StatusUpdate,
};

use crate::entity::{deliveries, messages};
use crate::error::store_error;
use crate::inbox_clock::{fenced, later, now, seconds};
use crate::raw::statement;
use crate::store::SqlStore;

fn held(held: bool) -> Result<(), DeliveryLogError> {
    if held {
        Ok(())
    } else {
        Err(DeliveryLogError::Lost)
    }
}

fn read(err: sea_orm::DbErr) -> DeliveryLogError {
    DeliveryLogError::Unknown(anyhow::Error::new(err))
}

#[async_trait]
impl DeliveryLog for SqlStore {
    async fn attempts(&self, job: &Job) -> Result<Vec<PartAttempt>, DeliveryLogError> {
        let db = self.connection();
        let rows = db
            .query_all(statement(
                db.get_database_backend(),
                "SELECT part, first_attempt_at, attempts, provider_message_id \
                 FROM send_attempts WHERE job_id = $1 ORDER BY part",
                vec![job.id.into()],
            ))
            .await
            .map_err(store_error)?;
        rows.into_iter()
            .map(|row| {
                Ok(PartAttempt {
                    part: u32::try_from(row.try_get::<i32>("", "part").map_err(read)?).unwrap_or(0),
                    first_attempt_at: row.try_get("", "first_attempt_at").map_err(read)?,
                    attempts: u32::try_from(row.try_get::<i32>("", "attempts").map_err(read)?)
                        .unwrap_or(0),
                    provider_message_id: row.try_get("", "provider_message_id").map_err(read)?,
                })
            })
            .collect()
    }

    async fn begin_attempt(
        &self,
        job: &Job,
        part: u32,
        lease: std::time::Duration,
    ) -> Result<DateTime<Utc>, DeliveryLogError> {
        let _writer = self.writer().await;
        let txn = self.begin().await?;
        let backend = txn.get_database_backend();
        let renew = format!("lease_until = {}", later(backend, 3));
        held(fenced(&txn, job, &renew, vec![seconds(lease)]).await?)?;
        let now = now(backend);
        let row = txn
            .query_one(statement(
                backend,
                &format!(
                    "INSERT INTO send_attempts \
                       (job_id, part, first_attempt_at, last_attempt_at, attempts, lease_token) \
                     VALUES ($1, $2, {now}, {now}, 1, $3) \
                     ON CONFLICT (job_id, part) DO UPDATE SET last_attempt_at = {now}, \
                       attempts = send_attempts.attempts + 1, lease_token = excluded.lease_token \
                     RETURNING first_attempt_at"
                ),
                vec![
                    job.id.into(),
                    i32::try_from(part).unwrap_or(i32::MAX).into(),
                    job.lease_token.into(),
                ],
            ))
            .await
            .map_err(store_error)?
            .ok_or_else(|| anyhow::anyhow!("the attempt insert returned nothing"))?;
        let first: DateTime<Utc> = row.try_get("", "first_attempt_at").map_err(read)?;
        txn.commit().await.map_err(store_error)?;
        Ok(first)
    }

    async fn record_sent(
        &self,
        job: &Job,
        reply: MessageId,
        part: u32,
        provider_message_id: &str,
    ) -> Result<(), DeliveryLogError> {
        let _writer = self.writer().await;
        let txn = self.begin().await?;
        let backend = txn.get_database_backend();
        held(fenced(&txn, job, "", Vec::new()).await?)?;
        let part = i32::try_from(part).unwrap_or(i32::MAX);
        txn.execute(statement(
            backend,
            &format!(
                "INSERT INTO send_attempts \
                   (job_id, part, first_attempt_at, last_attempt_at, attempts, lease_token, \
                    provider_message_id) \
                 VALUES ($1, $2, {now}, {now}, 0, $3, $4) \
                 ON CONFLICT (job_id, part) DO UPDATE \
                   SET provider_message_id = excluded.provider_message_id",
                now = now(backend)
            ),
            vec![
                job.id.into(),
                part.into(),
                job.lease_token.into(),
                provider_message_id.into(),
            ],
        ))
        .await
        .map_err(store_error)?;
        let row = deliveries::ActiveModel {
            provider_message_id: Set(provider_message_id.to_string()),
            message_id: Set(Some(reply.0)),
            part: Set(Some(part)),
            status: Set(None),
            error_code: Set(None),
            updated_at: Set(Utc::now()),
        };
        // A callback may have arrived before this record: keep its status, link the row.
        deliveries::Entity::insert(row)
            .on_conflict(
                OnConflict::column(deliveries::Column::ProviderMessageId)
                    .update_columns([deliveries::Column::MessageId, deliveries::Column::Part])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await
            .map_err(store_error)?;
        txn.commit().await.map_err(store_error)?;
        Ok(())
    }

    async fn is_recorded(&self, provider_message_id: &str) -> Result<bool, DeliveryLogError> {
        let found = deliveries::Entity::find_by_id(provider_message_id.to_string())
            .one(self.connection())
            .await
            .map_err(store_error)?;
        Ok(found.is_some_and(|row| row.message_id.is_some()))
    }

    async fn finish_sending(&self, job: &Job, reply: MessageId) -> Result<(), DeliveryLogError> {
        {
            let _writer = self.writer().await;
            let txn = self.begin().await?;
            held(fenced(&txn, job, "", Vec::new()).await?)?;
            // The first part's id stands for the reply; `failed` is cleared for a re-driven job,
            // whose reply the team's re-drive may have shown as `queued` already.
            txn.execute(statement(
                txn.get_database_backend(),
                "UPDATE messages SET provider_message_id = \
                   (SELECT provider_message_id FROM send_attempts WHERE job_id = $1 AND part = 0), \
                   delivery_status = 'queued', error = NULL \
                 WHERE id = $2 \
                   AND (delivery_status IS NULL OR delivery_status IN ('failed', 'queued'))",
                vec![job.id.into(), reply.0.into()],
            ))
            .await
            .map_err(store_error)?;
            txn.commit().await.map_err(store_error)?;
        }
        let early = deliveries::Entity::find()
            .filter(deliveries::Column::MessageId.eq(reply.0))
            .filter(deliveries::Column::Status.is_not_null())
            .all(self.connection())
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

    async fn update_delivery(&self, update: &StatusUpdate) -> Result<bool, DeliveryLogError> {
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
                    Expr::value(update.status.as_str()),
                )
                .col_expr(deliveries::Column::UpdatedAt, Expr::value(Utc::now()))
                .filter(
                    deliveries::Column::ProviderMessageId.eq(update.provider_message_id.clone()),
                );
            if let Some(code) = &update.error_code {
                change = change.col_expr(deliveries::Column::ErrorCode, Expr::value(code.clone()));
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
    ) -> Result<(), DeliveryLogError> {
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
                    Expr::value(update.status.as_str()),
                )
                .filter(messages::Column::Id.eq(message));
            if let Some(code) = &update.error_code {
                change = change.col_expr(
                    messages::Column::Error,
                    Expr::value(format!(
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
