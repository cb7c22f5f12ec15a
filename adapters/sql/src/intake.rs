//! `InboundIntake` for `SqlStore`: a delivery's user, message and pending job in one
//! transaction. The unique (channel, provider id) index on messages is the dedup: a redelivery
//! fails there and its whole transaction is dropped.

use async_trait::async_trait;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseBackend, Set};
use whatsapp_agent::ports::{Enqueued, InboundDelivery, InboundIntake, IntakeError, StoreError};

use crate::entity::messages;
use crate::error::{again_on_lost_race, lost_a_race, store_error};
use crate::inbox_clock::now;
use crate::raw::statement;
use crate::store::SqlStore;
use crate::upsert::upsert_user;

#[async_trait]
impl InboundIntake for SqlStore {
    async fn enqueue(&self, delivery: &InboundDelivery) -> Result<Enqueued, IntakeError> {
        // The sender erased between reading them and filing the message, or a deadlock's
        // victim: done again, it goes through.
        Ok(again_on_lost_race(|| self.enqueue_once(delivery), lost_a_race).await?)
    }
}

impl SqlStore {
    async fn enqueue_once(&self, delivery: &InboundDelivery) -> Result<Enqueued, StoreError> {
        let txn = self.begin().await?;
        let backend = txn.get_database_backend();
        let user = upsert_user(&txn, &delivery.user).await?;
        // Serialise one user's deliveries until commit, so job ids (the order workers follow)
        // are handed out in commit order; SQLite's single writer already does this.
        if backend == DatabaseBackend::Postgres {
            txn.execute(statement(
                backend,
                "SELECT id FROM users WHERE id = $1 FOR UPDATE",
                vec![user.id.into()],
            ))
            .await
            .map_err(store_error)?;
        }
        if let Some(channel_id) = &delivery.channel_user_id {
            txn.execute(statement(
                backend,
                "UPDATE users SET wa_id = $1 WHERE id = $2",
                vec![channel_id.clone().into(), user.id.into()],
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
            created_at: Set(Utc::now()),
        };
        match row.insert(&txn).await.map_err(store_error) {
            Err(StoreError::Duplicate(_)) => return Ok(Enqueued::Duplicate),
            Err(other) => return Err(other),
            Ok(_) => {}
        }
        txn.execute(statement(
            backend,
            "UPDATE messages SET raw = $1 WHERE id = $2",
            vec![delivery.raw.clone().into(), message.id.0.into()],
        ))
        .await
        .map_err(store_error)?;
        let now = now(backend);
        let job = txn
            .query_one(statement(
                backend,
                &format!(
                    "INSERT INTO inbound_jobs \
                       (message_id, user_id, status, attempts, available_at, created_at, updated_at) \
                     VALUES ($1, $2, 'pending', 0, {now}, {now}, {now}) RETURNING id"
                ),
                vec![message.id.0.into(), user.id.into()],
            ))
            .await
            .map_err(store_error)?
            .ok_or_else(|| anyhow::anyhow!("the job insert returned no id"))?;
        let job: i64 = job.try_get("", "id").map_err(anyhow::Error::new)?;
        match txn.commit().await.map_err(store_error) {
            Err(StoreError::Duplicate(_)) => Ok(Enqueued::Duplicate),
            Err(other) => Err(other),
            Ok(()) => Ok(Enqueued::Accepted {
                message: message.id,
                job,
            }),
        }
    }
}
