//! `StaffStore` for `SqlStore`: the team's reads (conversation listing, one conversation, one
//! user's messages), newest first with keyset cursors on (time, id).
//!
//! A listing page is two statements whatever its size: the conversations with their users, the
//! id of each one's last message and its unread count (correlated subqueries served by
//! `ix_messages_conversation_created`), then those last messages by id. The writes (take over,
//! a person's reply, its send) are in `staff_reply`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter};
use uuid::Uuid;
use whatsapp_agent::domain::{Conversation, ConversationId, Message, MessageId, NewMessage, User};
use whatsapp_agent::ports::{
    ConversationFilter, ConversationSummary, FiledMessage, Page, SendOutcome, StaffStore,
    StaffStoreError, StoreError, UserRef,
};

use crate::conversations::to_conversation;
use crate::entity::{conversations, messages, users};
use crate::error::store_error;
use crate::raw::{statement, Query};
use crate::store::{to_message, to_user, SqlStore};

pub(crate) const MESSAGE_COLUMNS: &str = "id, user_id, direction, body, media_url, media, \
     channel, provider_message_id, delivery_status, agent, error, created_at, conversation_id";

const SUMMARY_SELECT: &str = "SELECT \
       c.id AS c_id, c.user_id AS c_user_id, c.open_user_id AS c_open_user_id, \
       c.active_agent AS c_active_agent, c.state AS c_state, \
       c.human_notice_sent AS c_human_notice_sent, c.flag_reason AS c_flag_reason, \
       c.started_at AS c_started_at, c.last_activity_at AS c_last_activity_at, \
       c.ended_at AS c_ended_at, \
       u.id AS u_id, u.phone_number AS u_phone_number, u.display_name AS u_display_name, \
       u.channel AS u_channel, u.created_at AS u_created_at, u.updated_at AS u_updated_at, \
       (SELECT m.id FROM messages m WHERE m.conversation_id = c.id \
         ORDER BY m.created_at DESC, m.id DESC LIMIT 1) AS last_message_id, \
       (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id \
         AND m.direction = 'incoming' \
         AND (c.staff_seen_at IS NULL OR m.created_at > c.staff_seen_at)) AS unread \
     FROM conversations c JOIN users u ON u.id = c.user_id";

pub(crate) fn staff_error(err: StoreError) -> StaffStoreError {
    match err {
        StoreError::Unavailable(m) => StaffStoreError::Unavailable(m),
        StoreError::Duplicate(m) => StaffStoreError::Unknown(anyhow::anyhow!("duplicate: {m}")),
        StoreError::Unknown(e) => StaffStoreError::Unknown(e),
    }
}

pub(crate) fn db_error(err: DbErr) -> StaffStoreError {
    staff_error(store_error(err))
}

/// `conversations.staff_seen_at`, which the `conversations` entity leaves out.
fn staff_seen_column() -> Alias {
    Alias::new("staff_seen_at")
}

/// A message row with the conversation it is filed in.
pub(crate) fn filed(row: &sea_orm::QueryResult) -> Result<FiledMessage, StoreError> {
    let model = messages::Model::from_query_result(row, "").map_err(store_error)?;
    let conversation = row
        .try_get::<Option<Uuid>>("", "conversation_id")
        .map_err(store_error)?;
    Ok(FiledMessage {
        conversation: conversation.map(ConversationId),
        message: to_message(model)?,
    })
}

impl SqlStore {
    async fn summaries(
        &self,
        mut query: Query,
        limit: usize,
    ) -> Result<Vec<ConversationSummary>, StaffStoreError> {
        let db = self.connection();
        let sql = query.sql(SUMMARY_SELECT, "c.last_activity_at DESC, c.id DESC", limit);
        let rows = db
            .query_all(statement(db.get_database_backend(), &sql, query.values))
            .await
            .map_err(db_error)?;
        let mut found = Vec::with_capacity(rows.len());
        for row in &rows {
            let conversation = conversations::Model::from_query_result(row, "c_")
                .map_err(db_error)
                .and_then(|c| to_conversation(c).map_err(staff_error))?;
            let user = users::Model::from_query_result(row, "u_")
                .map_err(db_error)
                .and_then(|u| to_user(u).map_err(staff_error))?;
            let last: Option<Uuid> = row.try_get("", "last_message_id").map_err(db_error)?;
            let unread: i64 = row.try_get("", "unread").map_err(db_error)?;
            found.push((conversation, user, last, u64::try_from(unread).unwrap_or(0)));
        }
        let ids: Vec<Uuid> = found.iter().filter_map(|(_, _, last, _)| *last).collect();
        let mut last_messages = if ids.is_empty() {
            Vec::new()
        } else {
            messages::Entity::find()
                .filter(messages::Column::Id.is_in(ids))
                .all(db)
                .await
                .map_err(db_error)?
        };
        found
            .into_iter()
            .map(|(conversation, user, last, unread)| {
                let last_message = last
                    .and_then(|id| last_messages.iter().position(|m| m.id == id))
                    .map(|at| to_message(last_messages.swap_remove(at)))
                    .transpose()
                    .map_err(staff_error)?;
                Ok(ConversationSummary {
                    conversation,
                    user,
                    last_message,
                    unread,
                })
            })
            .collect()
    }

    async fn conversation_messages(
        &self,
        id: ConversationId,
        page: Page,
    ) -> Result<Vec<Message>, StaffStoreError> {
        let db = self.connection();
        let mut query = Query::default();
        let own = query.bind(id.0);
        query.conditions.push(format!("conversation_id = {own}"));
        query.before(page.before, "created_at", "id");
        let sql = query.sql(
            &format!("SELECT {MESSAGE_COLUMNS} FROM messages"),
            "created_at DESC, id DESC",
            page.limit,
        );
        let rows = messages::Entity::find()
            .from_raw_sql(statement(db.get_database_backend(), &sql, query.values))
            .all(db)
            .await
            .map_err(db_error)?;
        rows.into_iter()
            .map(|m| to_message(m).map_err(staff_error))
            .collect()
    }

    async fn find_user(&self, user: &UserRef) -> Result<Option<users::Model>, StoreError> {
        let query = match user {
            UserRef::Id(id) => users::Entity::find_by_id(id.0),
            UserRef::Identity(identity) => {
                users::Entity::find().filter(users::Column::PhoneNumber.eq(identity.as_str()))
            }
        };
        query.one(self.connection()).await.map_err(store_error)
    }

    /// The user `user` names, for the staff's and data rights' lookups.
    pub(crate) async fn user_by_ref(&self, user: &UserRef) -> Result<Option<User>, StoreError> {
        self.find_user(user).await?.map(to_user).transpose()
    }
}

#[async_trait]
impl StaffStore for SqlStore {
    async fn conversations(
        &self,
        filter: &ConversationFilter,
    ) -> Result<Vec<ConversationSummary>, StaffStoreError> {
        if filter.page.limit == 0 {
            return Ok(Vec::new());
        }
        let mut query = Query::default();
        if let Some(state) = filter.state {
            let state = query.bind(state.as_str());
            query.conditions.push(format!("c.state = {state}"));
        }
        match filter.flagged {
            Some(true) => query.conditions.push("c.flag_reason IS NOT NULL".into()),
            Some(false) => query.conditions.push("c.flag_reason IS NULL".into()),
            None => {}
        }
        if let Some(channel) = filter.channel {
            let channel = query.bind(channel.as_str());
            query.conditions.push(format!("u.channel = {channel}"));
        }
        query.before(filter.page.before, "c.last_activity_at", "c.id");
        self.summaries(query, filter.page.limit).await
    }

    async fn conversation(
        &self,
        id: ConversationId,
        page: Page,
        seen_at: DateTime<Utc>,
    ) -> Result<Option<(ConversationSummary, Vec<Message>)>, StaffStoreError> {
        {
            let _writer = self.writer().await;
            // Only forward: a late request with an older time does not bring back unread ones.
            conversations::Entity::update_many()
                .col_expr(staff_seen_column(), Expr::value(seen_at))
                .filter(conversations::Column::Id.eq(id.0))
                .filter(
                    Expr::col(staff_seen_column())
                        .is_null()
                        .or(Expr::col(staff_seen_column()).lt(seen_at)),
                )
                .exec(self.connection())
                .await
                .map_err(db_error)?;
        }
        let mut query = Query::default();
        let own = query.bind(id.0);
        query.conditions.push(format!("c.id = {own}"));
        let Some(summary) = self.summaries(query, 1).await?.pop() else {
            return Ok(None);
        };
        let messages = if page.limit == 0 {
            Vec::new()
        } else {
            self.conversation_messages(id, page).await?
        };
        Ok(Some((summary, messages)))
    }

    async fn user_messages(
        &self,
        user: &UserRef,
        page: Page,
    ) -> Result<Option<(User, Vec<FiledMessage>)>, StaffStoreError> {
        let Some(user) = self.user_by_ref(user).await.map_err(staff_error)? else {
            return Ok(None);
        };
        if page.limit == 0 {
            return Ok(Some((user, Vec::new())));
        }
        let db = self.connection();
        let mut query = Query::default();
        let own = query.bind(user.id.0);
        query.conditions.push(format!("user_id = {own}"));
        query.before(page.before, "created_at", "id");
        let sql = query.sql(
            &format!("SELECT {MESSAGE_COLUMNS} FROM messages"),
            "created_at DESC, id DESC",
            page.limit,
        );
        let rows = db
            .query_all(statement(db.get_database_backend(), &sql, query.values))
            .await
            .map_err(db_error)?;
        let messages = rows
            .iter()
            .map(|row| filed(row).map_err(staff_error))
            .collect::<Result<_, _>>()?;
        Ok(Some((user, messages)))
    }

    async fn take_over(
        &self,
        id: ConversationId,
        at: DateTime<Utc>,
    ) -> Result<Option<Conversation>, StaffStoreError> {
        self.take_over_at(id, at).await
    }

    async fn store_staff_reply(
        &self,
        id: ConversationId,
        reply: &NewMessage,
    ) -> Result<Option<(Conversation, User, Message)>, StaffStoreError> {
        self.store_reply(id, reply).await
    }

    async fn record_staff_send(
        &self,
        message: MessageId,
        outcome: &SendOutcome,
    ) -> Result<Option<Message>, StaffStoreError> {
        self.record_send(message, outcome).await
    }

    async fn mark_changed(
        &self,
        id: ConversationId,
        at: DateTime<Utc>,
    ) -> Result<(), StaffStoreError> {
        let _writer = self.writer().await;
        conversations::Entity::update_many()
            .col_expr(conversations::Column::LastActivityAt, Expr::value(at))
            .filter(conversations::Column::Id.eq(id.0))
            .filter(conversations::Column::LastActivityAt.lt(at))
            .exec(self.connection())
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn stored_reply(
        &self,
        id: ConversationId,
        message: MessageId,
    ) -> Result<Option<(User, Message, usize)>, StaffStoreError> {
        let db = self.connection();
        let Some(found) = messages::Entity::find_by_id(message.0)
            .filter(Expr::col(Alias::new("conversation_id")).eq(id.0))
            .one(db)
            .await
            .map_err(db_error)?
        else {
            return Ok(None);
        };
        let Some(user) = users::Entity::find_by_id(found.user_id)
            .one(db)
            .await
            .map_err(db_error)?
        else {
            return Ok(None);
        };
        let mut query = Query::default();
        let own = query.bind(message.0);
        let rows = db
            .query_all(statement(
                db.get_database_backend(),
                &format!(
                    "SELECT provider_message_id FROM deliveries \
                     WHERE message_id = {own} AND part IS NOT NULL"
                ),
                query.values,
            ))
            .await
            .map_err(db_error)?;
        let user = to_user(user).map_err(staff_error)?;
        let stored = to_message(found).map_err(staff_error)?;
        Ok(Some((user, stored, rows.len())))
    }

    async fn changed_since(
        &self,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(ConversationSummary, DateTime<Utc>)>, StaffStoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let delivered = self.delivery_changes(since, limit).await?;
        let mut query = Query::default();
        let at = query.bind(since);
        let mut condition = format!("c.last_activity_at >= {at}");
        if !delivered.is_empty() {
            let ids: Vec<String> = delivered.keys().map(|id| query.bind(*id)).collect();
            condition = format!("({condition} OR c.id IN ({}))", ids.join(", "));
        }
        query.conditions.push(condition);
        let found = self.summaries(query, limit).await?;
        Ok(found
            .into_iter()
            .map(|s| {
                let activity = s.conversation.last_activity_at;
                let at = delivered
                    .get(&s.conversation.id.0)
                    .map_or(activity, |d| activity.max(*d));
                (s, at)
            })
            .collect())
    }
}

impl SqlStore {
    /// The conversations whose replies had a delivery status reported at or after `since`,
    /// with the latest such report. Status reports come within minutes of a send, so this
    /// reads few rows of `deliveries`.
    async fn delivery_changes(
        &self,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<std::collections::HashMap<Uuid, DateTime<Utc>>, StaffStoreError> {
        let db = self.connection();
        let mut query = Query::default();
        let at = query.bind(since);
        query.conditions.push(format!("d.updated_at >= {at}"));
        query
            .conditions
            .push("m.conversation_id IS NOT NULL".to_string());
        let sql = query.sql(
            "SELECT m.conversation_id AS conversation_id, d.updated_at AS updated_at \
             FROM deliveries d JOIN messages m ON m.id = d.message_id",
            "d.updated_at DESC",
            limit,
        );
        let rows = db
            .query_all(statement(db.get_database_backend(), &sql, query.values))
            .await
            .map_err(db_error)?;
        let mut latest = std::collections::HashMap::new();
        for row in &rows {
            let id: Uuid = row.try_get("", "conversation_id").map_err(db_error)?;
            let at: DateTime<Utc> = row.try_get("", "updated_at").map_err(db_error)?;
            latest
                .entry(id)
                .and_modify(|seen: &mut DateTime<Utc>| *seen = (*seen).max(at))
                .or_insert(at);
        }
        Ok(latest)
    }
}
