//! Conversations row by row: sessions, who answers in them, and their history.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Alias, Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;
use whatsapp_agent::domain::{
    Conversation, ConversationId, ConversationState, Message, MessageId, UserId,
};
use whatsapp_agent::ports::StoreError;

use crate::entity::{conversations, messages};
use crate::error::store_error;
use crate::store::{to_message, SqlStore};

/// `messages.conversation_id`, kept out of the `messages` entity so that code inserting whole
/// message rows does not need to know about conversations.
fn conversation_column() -> Alias {
    Alias::new("conversation_id")
}

pub(crate) fn to_conversation(model: conversations::Model) -> Result<Conversation, StoreError> {
    let state = ConversationState::parse(&model.state).ok_or_else(|| {
        anyhow::anyhow!(
            "unknown state {:?} on conversation {}",
            model.state,
            model.id
        )
    })?;
    Ok(Conversation {
        id: ConversationId(model.id),
        user_id: UserId(model.user_id),
        active_agent: model.active_agent,
        state,
        human_notice_sent: model.human_notice_sent,
        flag_reason: model.flag_reason,
        started_at: model.started_at,
        last_activity_at: model.last_activity_at,
        ended_at: model.ended_at,
    })
}

impl SqlStore {
    async fn open_conversation(
        &self,
        user: UserId,
    ) -> Result<Option<conversations::Model>, StoreError> {
        conversations::Entity::find()
            .filter(conversations::Column::OpenUserId.eq(user.0))
            .one(self.connection())
            .await
            .map_err(store_error)
    }

    /// Inserts an open conversation unless the user already has one (a concurrent turn may
    /// have started it first).
    async fn start_conversation(
        &self,
        user: UserId,
        agent: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let row = conversations::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(user.0),
            open_user_id: Set(Some(user.0)),
            active_agent: Set(agent.to_string()),
            state: Set(ConversationState::Bot.as_str().to_string()),
            human_notice_sent: Set(false),
            flag_reason: Set(None),
            started_at: Set(now),
            last_activity_at: Set(now),
            ended_at: Set(None),
        };
        conversations::Entity::insert(row)
            .on_conflict(
                OnConflict::column(conversations::Column::OpenUserId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(self.connection())
            .await
            .map_err(store_error)?;
        Ok(())
    }
}

/// Single-table conversation operations. Turns go through [`whatsapp_agent::ports::TurnStore`];
/// these serve the adapter's tests and tooling.
impl SqlStore {
    pub async fn current(
        &self,
        user: UserId,
        agent: &str,
        idle_timeout: Duration,
        now: DateTime<Utc>,
    ) -> Result<Conversation, StoreError> {
        if let Some(open) = self.open_conversation(user).await? {
            if now - open.last_activity_at <= idle_timeout {
                let mut touched: conversations::ActiveModel = open.into();
                touched.last_activity_at = Set(now);
                let touched = touched
                    .update(self.connection())
                    .await
                    .map_err(store_error)?;
                return to_conversation(touched);
            }
            self.end(ConversationId(open.id), now).await?;
        }
        self.start_conversation(user, agent, now).await?;
        let open = self
            .open_conversation(user)
            .await?
            .ok_or_else(|| anyhow::anyhow!("conversation vanished right after it started"))?;
        to_conversation(open)
    }

    pub async fn get(&self, id: ConversationId) -> Result<Option<Conversation>, StoreError> {
        conversations::Entity::find_by_id(id.0)
            .one(self.connection())
            .await
            .map_err(store_error)?
            .map(to_conversation)
            .transpose()
    }

    pub async fn attach(&self, message: MessageId, id: ConversationId) -> Result<(), StoreError> {
        let result = messages::Entity::update_many()
            .col_expr(conversation_column(), Expr::value(id.0))
            .filter(messages::Column::Id.eq(message.0))
            .exec(self.connection())
            .await
            .map_err(store_error)?;
        if result.rows_affected == 0 {
            return Err(anyhow::anyhow!("message {message} not found").into());
        }
        Ok(())
    }

    pub async fn set_active_agent(
        &self,
        id: ConversationId,
        agent: &str,
    ) -> Result<(), StoreError> {
        conversations::Entity::update_many()
            .col_expr(conversations::Column::ActiveAgent, Expr::value(agent))
            .filter(conversations::Column::Id.eq(id.0))
            .exec(self.connection())
            .await
            .map_err(store_error)?;
        Ok(())
    }

    pub async fn set_state(
        &self,
        id: ConversationId,
        state: ConversationState,
        human_notice_sent: bool,
    ) -> Result<Option<Conversation>, StoreError> {
        conversations::Entity::update_many()
            .col_expr(conversations::Column::State, Expr::value(state.as_str()))
            .col_expr(
                conversations::Column::HumanNoticeSent,
                Expr::value(human_notice_sent),
            )
            .filter(conversations::Column::Id.eq(id.0))
            .exec(self.connection())
            .await
            .map_err(store_error)?;
        self.get(id).await
    }

    pub async fn flag(&self, id: ConversationId, reason: &str) -> Result<(), StoreError> {
        conversations::Entity::update_many()
            .col_expr(conversations::Column::FlagReason, Expr::value(reason))
            .filter(conversations::Column::Id.eq(id.0))
            .exec(self.connection())
            .await
            .map_err(store_error)?;
        Ok(())
    }

    pub async fn end(&self, id: ConversationId, now: DateTime<Utc>) -> Result<(), StoreError> {
        // Ending twice (two turns racing past the same timeout) keeps the first end time.
        conversations::Entity::update_many()
            .col_expr(conversations::Column::EndedAt, Expr::value(now))
            .col_expr(
                conversations::Column::OpenUserId,
                Expr::value(Option::<Uuid>::None),
            )
            .filter(conversations::Column::Id.eq(id.0))
            .filter(conversations::Column::EndedAt.is_null())
            .exec(self.connection())
            .await
            .map_err(store_error)?;
        Ok(())
    }

    pub async fn history(
        &self,
        id: ConversationId,
        limit: usize,
        exclude: Option<MessageId>,
    ) -> Result<Vec<Message>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut query = messages::Entity::find().filter(Expr::col(conversation_column()).eq(id.0));
        if let Some(excluded) = exclude {
            query = query.filter(messages::Column::Id.ne(excluded.0));
        }
        let rows = query
            .order_by_desc(messages::Column::CreatedAt)
            .order_by_desc(messages::Column::Id)
            .limit(limit as u64)
            .all(self.connection())
            .await
            .map_err(store_error)?;
        rows.into_iter().rev().map(to_message).collect()
    }
}
