//! The team's writes: taking a conversation over, storing a person's reply with the takeover in
//! one transaction, and recording what sending it gave so that the provider's status callbacks
//! reach it exactly as they reach the bot's replies (through `deliveries`).

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set, Value,
};
use whatsapp_agent::domain::{Conversation, ConversationId, Message, MessageId, NewMessage, User};
use whatsapp_agent::ports::{status_advances, DeliveryStatus, SendOutcome, StaffStoreError};

use crate::conversations::to_conversation;
use crate::entity::{conversations, deliveries, messages, users};
use crate::raw::statement;
use crate::staff::{db_error, staff_error, MESSAGE_COLUMNS};
use crate::store::{to_message, to_user, SqlStore};

const CONVERSATION_COLUMNS: &str = "id, user_id, open_user_id, active_agent, state, \
     human_notice_sent, flag_reason, started_at, last_activity_at, ended_at";

/// A person holds the conversation: the bot stays silent (the notice counts as given, the
/// person speaks for themselves), and the takeover counts as activity.
fn take_over_sql() -> String {
    format!(
        "UPDATE conversations SET state = 'waiting_for_human', human_notice_sent = true, \
           last_activity_at = CASE WHEN last_activity_at < $2 THEN $2 ELSE last_activity_at END \
         WHERE id = $1 RETURNING {CONVERSATION_COLUMNS}"
    )
}

fn reply_sql() -> String {
    format!(
        "UPDATE conversations SET state = 'waiting_for_human', human_notice_sent = true, \
           last_activity_at = $2 \
         WHERE id = $1 RETURNING {CONVERSATION_COLUMNS}"
    )
}

fn insert_reply_sql() -> String {
    format!(
        "INSERT INTO messages ({MESSAGE_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10, $11, $12)"
    )
}

const RECORD_SEND_SQL: &str = "UPDATE messages SET provider_message_id = COALESCE($2, \
     provider_message_id), delivery_status = $3, error = COALESCE($4, error) WHERE id = $1";

impl SqlStore {
    pub(crate) async fn take_over_at(
        &self,
        id: ConversationId,
        at: DateTime<Utc>,
    ) -> Result<Option<Conversation>, StaffStoreError> {
        let _writer = self.writer().await;
        let db = self.connection();
        conversations::Entity::find()
            .from_raw_sql(statement(
                db.get_database_backend(),
                &take_over_sql(),
                vec![id.0.into(), at.into()],
            ))
            .one(db)
            .await
            .map_err(db_error)?
            .map(|c| to_conversation(c).map_err(staff_error))
            .transpose()
    }

    pub(crate) async fn store_reply(
        &self,
        id: ConversationId,
        reply: &NewMessage,
    ) -> Result<Option<(Conversation, User, Message)>, StaffStoreError> {
        let _writer = self.writer().await;
        let txn = self.begin().await.map_err(staff_error)?;
        let stored = Self::store_reply_in(&txn, id, reply).await?;
        if stored.is_some() {
            txn.commit().await.map_err(db_error)?;
        }
        Ok(stored)
    }

    /// Starts with the conversation's update: on SQLite that takes the writer lock before
    /// anything is read.
    async fn store_reply_in(
        txn: &DatabaseTransaction,
        id: ConversationId,
        reply: &NewMessage,
    ) -> Result<Option<(Conversation, User, Message)>, StaffStoreError> {
        let backend = txn.get_database_backend();
        // Microseconds, as PostgreSQL keeps them: the reply returned equals the reply read back,
        // and a cursor taken from it matches the stored row.
        let now = Utc::now().trunc_subsecs(6);
        let Some(conversation) = conversations::Entity::find()
            .from_raw_sql(statement(
                backend,
                &reply_sql(),
                vec![id.0.into(), now.into()],
            ))
            .one(txn)
            .await
            .map_err(db_error)?
        else {
            return Ok(None);
        };
        let conversation = to_conversation(conversation).map_err(staff_error)?;
        let user = users::Entity::find_by_id(conversation.user_id.0)
            .one(txn)
            .await
            .map_err(db_error)?
            .ok_or_else(|| anyhow::anyhow!("user of conversation {id} not found"))?;
        let media = if reply.media.is_empty() {
            None
        } else {
            Some(serde_json::to_value(&reply.media).map_err(anyhow::Error::from)?)
        };
        let values: Vec<Value> = vec![
            reply.id.0.into(),
            conversation.user_id.0.into(),
            reply.direction.as_str().into(),
            reply.body.clone().into(),
            reply.media_url().map(str::to_string).into(),
            media.into(),
            reply.channel.as_str().into(),
            reply.provider_message_id.clone().into(),
            reply.agent.clone().into(),
            reply.error.clone().into(),
            now.into(),
            id.0.into(),
        ];
        txn.execute(statement(backend, &insert_reply_sql(), values))
            .await
            .map_err(db_error)?;
        let message = Message {
            id: reply.id,
            user_id: conversation.user_id,
            direction: reply.direction,
            body: reply.body.clone(),
            media: reply.media.clone(),
            channel: reply.channel,
            provider_message_id: reply.provider_message_id.clone(),
            delivery_status: None,
            agent: reply.agent.clone(),
            error: reply.error.clone(),
            created_at: now,
        };
        Ok(Some((
            conversation,
            to_user(user).map_err(staff_error)?,
            message,
        )))
    }

    pub(crate) async fn record_send(
        &self,
        message: MessageId,
        outcome: &SendOutcome,
    ) -> Result<Option<Message>, StaffStoreError> {
        let _writer = self.writer().await;
        let txn = self.begin().await.map_err(staff_error)?;
        let recorded = Self::record_send_in(&txn, message, outcome).await?;
        if recorded.is_some() {
            txn.commit().await.map_err(db_error)?;
        }
        Ok(recorded)
    }

    async fn record_send_in(
        txn: &DatabaseTransaction,
        message: MessageId,
        outcome: &SendOutcome,
    ) -> Result<Option<Message>, StaffStoreError> {
        let backend = txn.get_database_backend();
        let (parts, status, error) = match outcome {
            SendOutcome::Sent(parts) => (parts, DeliveryStatus::Sent, None),
            SendOutcome::Failed { error, sent } => {
                (sent, DeliveryStatus::Failed, Some(error.clone()))
            }
        };
        let updated = txn
            .execute(statement(
                backend,
                RECORD_SEND_SQL,
                vec![
                    message.0.into(),
                    parts.first().cloned().into(),
                    status.as_str().into(),
                    error.into(),
                ],
            ))
            .await
            .map_err(db_error)?;
        if updated.rows_affected() == 0 {
            return Ok(None);
        }
        let now = Utc::now();
        for (part, sid) in parts.iter().enumerate() {
            let row = deliveries::ActiveModel {
                provider_message_id: Set(sid.clone()),
                message_id: Set(Some(message.0)),
                part: Set(Some(i32::try_from(part).unwrap_or(i32::MAX))),
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
                .exec_without_returning(txn)
                .await
                .map_err(db_error)?;
        }
        let mut stored = messages::Entity::find_by_id(message.0)
            .one(txn)
            .await
            .map_err(db_error)?
            .ok_or_else(|| anyhow::anyhow!("message {message} vanished"))?;
        Self::apply_early_callbacks(txn, &mut stored).await?;
        to_message(stored).map(Some).map_err(staff_error)
    }

    /// Statuses that callbacks reported before the send was recorded, applied to the message
    /// as the callbacks themselves would have been: the most advanced status wins.
    async fn apply_early_callbacks(
        txn: &DatabaseTransaction,
        stored: &mut messages::Model,
    ) -> Result<(), StaffStoreError> {
        let early = deliveries::Entity::find()
            .filter(deliveries::Column::MessageId.eq(stored.id))
            .filter(deliveries::Column::Status.is_not_null())
            .all(txn)
            .await
            .map_err(db_error)?;
        let mut changed = false;
        for row in early {
            let Some(status) = row.status.as_deref().and_then(DeliveryStatus::parse) else {
                continue;
            };
            let current = stored
                .delivery_status
                .as_deref()
                .and_then(DeliveryStatus::parse);
            if status_advances(current, status) {
                stored.delivery_status = Some(status.as_str().to_string());
                if let Some(code) = &row.error_code {
                    stored.error = Some(format!("delivery {}: error code {code}", status.as_str()));
                }
                changed = true;
            }
        }
        if changed {
            messages::Entity::update_many()
                .col_expr(
                    messages::Column::DeliveryStatus,
                    sea_orm::sea_query::Expr::value(stored.delivery_status.clone()),
                )
                .col_expr(
                    messages::Column::Error,
                    sea_orm::sea_query::Expr::value(stored.error.clone()),
                )
                .filter(messages::Column::Id.eq(stored.id))
                .exec(txn)
                .await
                .map_err(db_error)?;
        }
        Ok(())
    }
}
