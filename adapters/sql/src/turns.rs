//! `SqlStore` as the [`TurnStore`]: accepting a message and finishing a turn, one transaction
//! each, with the same statements on PostgreSQL and SQLite.
//!
//! Every statement is parameterised text that never changes, so the driver prepares it once per
//! connection and reuses it. Each transaction starts with a write: on SQLite that takes the
//! writer lock up front, so a transaction never has to upgrade a read snapshot (which fails at
//! once instead of waiting when another writer got in between).

use async_trait::async_trait;
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseTransaction, DbErr, EntityTrait, FromQueryResult,
    Statement, Value,
};
use uuid::Uuid;
use whatsapp_agent::domain::{
    first_image_url, Conversation, ConversationId, Message, NewMessage, NewUser, User,
};
use whatsapp_agent::ports::{
    AcceptError, Accepted, Arrival, ConversationStore, Finish, FinishError, Incoming, StoreError,
    TurnStore,
};

use crate::conversations::to_conversation;
use crate::entity::{conversations, messages, users};
use crate::error::store_error;
use crate::store::{to_message, to_user, SqlStore};

const USER_COLUMNS: &str = "id, phone_number, display_name, channel, created_at, updated_at";
const CONVERSATION_COLUMNS: &str = "id, user_id, open_user_id, active_agent, state, \
     human_notice_sent, flag_reason, started_at, last_activity_at, ended_at";
const MESSAGE_COLUMNS: &str = "id, user_id, direction, body, media_url, media, channel, \
     provider_message_id, delivery_status, agent, error, created_at";

/// How stale a conversation's recorded last activity may get before a turn writes it again.
/// Within it, a turn reads its conversation without writing (or locking) the row, so turns of
/// one user never queue behind each other; the idle timeout is kept to within this much.
const ACTIVITY_RESOLUTION: chrono::Duration = chrono::Duration::seconds(60);

/// Creates the user unless they exist. A write without effect on an existing user that locks
/// nothing on PostgreSQL, and takes SQLite's writer lock before anything is read.
fn ensure_user_sql() -> String {
    format!(
        "INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $5) \
         ON CONFLICT (phone_number) DO NOTHING"
    )
}

const RENAME_USER_SQL: &str = "UPDATE users SET display_name = $1, updated_at = $2 WHERE id = $3";

/// The user and their open conversation, if any, in one read.
const USER_AND_CONVERSATION_SQL: &str =
    "SELECT u.id, u.phone_number, u.display_name, u.channel, u.created_at, u.updated_at, \
           c.id AS c_id, c.user_id AS c_user_id, c.open_user_id AS c_open_user_id, \
           c.active_agent AS c_active_agent, c.state AS c_state, \
           c.human_notice_sent AS c_human_notice_sent, c.flag_reason AS c_flag_reason, \
           c.started_at AS c_started_at, c.last_activity_at AS c_last_activity_at, \
           c.ended_at AS c_ended_at \
         FROM users u LEFT JOIN conversations c ON c.open_user_id = u.id \
         WHERE u.phone_number = $1";

fn touch_conversation_sql() -> String {
    format!(
        "UPDATE conversations SET last_activity_at = $1 WHERE id = $2 \
         RETURNING {CONVERSATION_COLUMNS}"
    )
}

const END_IDLE_SQL: &str =
    "UPDATE conversations SET ended_at = $1, open_user_id = NULL WHERE open_user_id = $2";

/// Opens a conversation; one a concurrent turn opened first is returned instead.
fn open_conversation_sql() -> String {
    format!(
        "INSERT INTO conversations ({CONVERSATION_COLUMNS}) \
         VALUES ($1, $2, $2, $3, 'bot', false, NULL, $4, $4, NULL) \
         ON CONFLICT (open_user_id) DO UPDATE SET last_activity_at = excluded.last_activity_at \
         RETURNING {CONVERSATION_COLUMNS}"
    )
}

fn history_sql() -> String {
    format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 \
         ORDER BY created_at DESC, id DESC LIMIT $2"
    )
}

fn insert_message_sql() -> String {
    format!(
        "INSERT INTO messages ({MESSAGE_COLUMNS}, conversation_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10, $11, $12)"
    )
}

const LINK_MESSAGE_SQL: &str = "UPDATE messages SET conversation_id = $1 WHERE id = $2";

/// Applies a turn's change: `$3` the new agent or NULL, `$4` hand to a person, `$5` the flag or
/// NULL, `$6` end the conversation; `$7` whether there is a change at all. Without one, only an
/// activity older than `$8` is written, so the row is neither written nor locked in the common
/// case.
const UPDATE_CONVERSATION_SQL: &str = "UPDATE conversations SET \
       last_activity_at = $2, \
       active_agent = COALESCE($3, active_agent), \
       state = CASE WHEN $4 THEN 'waiting_for_human' ELSE state END, \
       human_notice_sent = CASE WHEN $4 THEN true ELSE human_notice_sent END, \
       flag_reason = COALESCE($5, flag_reason), \
       ended_at = CASE WHEN $6 AND ended_at IS NULL THEN $2 ELSE ended_at END, \
       open_user_id = CASE WHEN $6 THEN NULL ELSE open_user_id END \
     WHERE id = $1 AND ($7 OR last_activity_at < $8)";

const UPDATE_MEDIA_SQL: &str = "UPDATE messages SET media = $1, media_url = $2 WHERE id = $3";

fn release_sql() -> String {
    format!(
        "UPDATE conversations SET state = 'bot', human_notice_sent = false WHERE id = $1 \
         RETURNING {CONVERSATION_COLUMNS}"
    )
}

/// `sql` with placeholders as `backend` writes them: `$1` for PostgreSQL, `?1` for SQLite.
fn statement(backend: DatabaseBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DatabaseBackend::Postgres => sql.to_string(),
        _ => sql.replace('$', "?"),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

fn media_json(
    media: &[whatsapp_agent::domain::Media],
) -> Result<Option<serde_json::Value>, anyhow::Error> {
    if media.is_empty() {
        return Ok(None);
    }
    Ok(Some(serde_json::to_value(media)?))
}

/// Inserts a message filed under `conversation` and returns it as stored.
async fn insert_message(
    txn: &DatabaseTransaction,
    message: &NewMessage,
    user: Uuid,
    conversation: ConversationId,
) -> Result<Message, StoreError> {
    let backend = txn.get_database_backend();
    let now = chrono::Utc::now();
    let media = media_json(&message.media)?;
    let values: Vec<Value> = vec![
        message.id.0.into(),
        user.into(),
        message.direction.as_str().into(),
        message.body.clone().into(),
        message.media_url().map(str::to_string).into(),
        media.into(),
        message.channel.as_str().into(),
        message.provider_message_id.clone().into(),
        message.agent.clone().into(),
        message.error.clone().into(),
        now.into(),
        conversation.0.into(),
    ];
    txn.execute(statement(backend, &insert_message_sql(), values))
        .await
        .map_err(store_error)?;
    Ok(Message {
        id: message.id,
        user_id: whatsapp_agent::domain::UserId(user),
        direction: message.direction,
        body: message.body.clone(),
        media: message.media.clone(),
        channel: message.channel,
        provider_message_id: message.provider_message_id.clone(),
        delivery_status: None,
        agent: message.agent.clone(),
        error: message.error.clone(),
        created_at: now,
    })
}

impl SqlStore {
    /// The user's open conversation, its activity brought up to date, or a new one when there
    /// is none or it idled out.
    async fn current_conversation(
        txn: &DatabaseTransaction,
        user: Uuid,
        open: Option<conversations::Model>,
        arrival: &Arrival,
    ) -> Result<Conversation, StoreError> {
        let backend = txn.get_database_backend();
        let now = arrival.now;
        if let Some(open) = open {
            let idle = now - open.last_activity_at;
            if idle <= arrival.idle_timeout {
                if idle < ACTIVITY_RESOLUTION {
                    return to_conversation(open);
                }
                let touched = conversations::Entity::find()
                    .from_raw_sql(statement(
                        backend,
                        &touch_conversation_sql(),
                        vec![now.into(), open.id.into()],
                    ))
                    .one(txn)
                    .await
                    .map_err(store_error)?
                    .ok_or_else(|| anyhow::anyhow!("conversation {} vanished", open.id))?;
                return to_conversation(touched);
            }
            txn.execute(statement(
                backend,
                END_IDLE_SQL,
                vec![now.into(), user.into()],
            ))
            .await
            .map_err(store_error)?;
        }
        let opened = conversations::Entity::find()
            .from_raw_sql(statement(
                backend,
                &open_conversation_sql(),
                vec![
                    Uuid::now_v7().into(),
                    user.into(),
                    arrival.manager.clone().into(),
                    now.into(),
                ],
            ))
            .one(txn)
            .await
            .map_err(store_error)?
            .ok_or_else(|| anyhow::anyhow!("opening a conversation returned no row"))?;
        to_conversation(opened)
    }

    /// The arrival's user, created if needed, and their open conversation, if any.
    async fn user_and_conversation(
        txn: &DatabaseTransaction,
        arrival: &Arrival,
    ) -> Result<(User, Option<conversations::Model>), StoreError> {
        let backend = txn.get_database_backend();
        let now = arrival.now;
        let (id, identity) = match &arrival.incoming {
            Incoming::New { user, .. } => (Uuid::now_v7(), user.clone()),
            Incoming::Stored { user, .. } => (
                user.id.0,
                NewUser {
                    phone_number: user.phone_number.clone(),
                    display_name: user.display_name.clone(),
                    channel: user.channel,
                },
            ),
        };
        txn.execute(statement(
            backend,
            &ensure_user_sql(),
            vec![
                id.into(),
                identity.phone_number.clone().into(),
                identity.display_name.clone().into(),
                identity.channel.as_str().into(),
                now.into(),
            ],
        ))
        .await
        .map_err(store_error)?;
        let row = txn
            .query_one(statement(
                backend,
                USER_AND_CONVERSATION_SQL,
                vec![identity.phone_number.clone().into()],
            ))
            .await
            .map_err(store_error)?
            .ok_or_else(|| anyhow::anyhow!("user vanished right after it was ensured"))?;
        let mut user = users::Model::from_query_result(&row, "").map_err(store_error)?;
        let open = match row
            .try_get::<Option<Uuid>>("", "c_id")
            .map_err(store_error)?
        {
            Some(_) => {
                Some(conversations::Model::from_query_result(&row, "c_").map_err(store_error)?)
            }
            None => None,
        };
        if identity.display_name.is_some() && user.display_name != identity.display_name {
            txn.execute(statement(
                backend,
                RENAME_USER_SQL,
                vec![
                    identity.display_name.clone().into(),
                    now.into(),
                    user.id.into(),
                ],
            ))
            .await
            .map_err(store_error)?;
            user.display_name = identity.display_name;
        }
        Ok((to_user(user)?, open))
    }

    async fn accept_in(
        txn: &DatabaseTransaction,
        arrival: &Arrival,
    ) -> Result<Accepted, StoreError> {
        let backend = txn.get_database_backend();
        let (user, open) = Self::user_and_conversation(txn, arrival).await?;
        let conversation = Self::current_conversation(txn, user.id.0, open, arrival).await?;
        let history = if arrival.history_limit == 0 {
            Vec::new()
        } else {
            let limit = i64::try_from(arrival.history_limit).unwrap_or(i64::MAX);
            let rows = messages::Entity::find()
                .from_raw_sql(statement(
                    backend,
                    &history_sql(),
                    vec![conversation.id.0.into(), limit.into()],
                ))
                .all(txn)
                .await
                .map_err(store_error)?;
            rows.into_iter()
                .rev()
                .map(to_message)
                .collect::<Result<Vec<_>, _>>()?
        };
        let incoming = match &arrival.incoming {
            Incoming::New { message, .. } => {
                insert_message(txn, message, user.id.0, conversation.id).await?
            }
            Incoming::Stored { message, .. } => {
                let linked = txn
                    .execute(statement(
                        backend,
                        LINK_MESSAGE_SQL,
                        vec![conversation.id.0.into(), message.id.0.into()],
                    ))
                    .await
                    .map_err(store_error)?;
                if linked.rows_affected() == 0 {
                    return Err(anyhow::anyhow!("message {} not found", message.id).into());
                }
                message.clone()
            }
        };
        // The history was read before the message was stored, so it never holds it; a stored
        // message answered again (a retried delivery) may already be filed there.
        let history = history
            .into_iter()
            .filter(|m: &Message| m.id != incoming.id)
            .collect();
        Ok(Accepted {
            user,
            incoming,
            conversation,
            history,
        })
    }

    async fn finish_in(
        txn: &DatabaseTransaction,
        finish: &Finish,
    ) -> Result<Option<Message>, FinishError> {
        let backend = txn.get_database_backend();
        let stored = match &finish.reply {
            Some(reply) => Some(
                insert_message(txn, reply, reply.user_id.0, finish.conversation)
                    .await
                    .map_err(FinishError::from_store)?,
            ),
            None => None,
        };
        let change = &finish.change;
        let changed = !change.is_empty();
        let updated = txn
            .execute(statement(
                backend,
                UPDATE_CONVERSATION_SQL,
                vec![
                    finish.conversation.0.into(),
                    finish.now.into(),
                    change.active_agent.clone().into(),
                    change.hand_to_human.into(),
                    change.flag_reason.clone().into(),
                    change.end.into(),
                    changed.into(),
                    (finish.now - ACTIVITY_RESOLUTION).into(),
                ],
            ))
            .await
            .map_err(finish_error)?;
        if changed && updated.rows_affected() == 0 {
            return Err(FinishError::ConversationGone(finish.conversation));
        }
        if let Some((id, media)) = &finish.transcripts {
            let value = media_json(media)?;
            let first_image = first_image_url(media).map(str::to_string);
            txn.execute(statement(
                backend,
                UPDATE_MEDIA_SQL,
                vec![value.into(), first_image.into(), id.0.into()],
            ))
            .await
            .map_err(finish_error)?;
        }
        Ok(stored)
    }
}

fn finish_error(err: DbErr) -> FinishError {
    FinishError::from_store(store_error(err))
}

/// Maps the store's classification of a failure onto one operation's error.
trait FromStore {
    fn from_store(err: StoreError) -> Self;
}

impl FromStore for FinishError {
    fn from_store(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(m) => FinishError::Unavailable(m),
            StoreError::Duplicate(m) => FinishError::Unknown(anyhow::anyhow!("duplicate: {m}")),
            StoreError::Unknown(e) => FinishError::Unknown(e),
        }
    }
}

impl FromStore for AcceptError {
    fn from_store(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(m) => AcceptError::Unavailable(m),
            StoreError::Duplicate(m) => AcceptError::Duplicate(m),
            StoreError::Unknown(e) => AcceptError::Unknown(e),
        }
    }
}

#[async_trait]
impl TurnStore for SqlStore {
    async fn accept(&self, arrival: &Arrival) -> Result<Accepted, AcceptError> {
        let _writer = self.writer().await;
        let txn = self.begin().await.map_err(AcceptError::from_store)?;
        let accepted = Self::accept_in(&txn, arrival)
            .await
            .map_err(AcceptError::from_store)?;
        txn.commit()
            .await
            .map_err(|e| AcceptError::from_store(store_error(e)))?;
        Ok(accepted)
    }

    async fn finish(&self, finish: &Finish) -> Result<Option<Message>, FinishError> {
        let _writer = self.writer().await;
        let txn = self.begin().await.map_err(FinishError::from_store)?;
        let stored = Self::finish_in(&txn, finish).await?;
        txn.commit().await.map_err(finish_error)?;
        Ok(stored)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.connection()
            .execute_unprepared("SELECT 1")
            .await
            .map(|_| ())
            .map_err(store_error)
    }
}

#[async_trait]
impl ConversationStore for SqlStore {
    async fn release(&self, id: ConversationId) -> Result<Option<Conversation>, StoreError> {
        let db = self.connection();
        conversations::Entity::find()
            .from_raw_sql(statement(
                db.get_database_backend(),
                &release_sql(),
                vec![id.0.into()],
            ))
            .one(db)
            .await
            .map_err(store_error)?
            .map(to_conversation)
            .transpose()
    }
}
