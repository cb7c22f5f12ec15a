//! `SqlStore`: users and messages in SQL.

use std::sync::Arc;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use whatsapp_agent::domain::{
    Channel, Direction, Media, Message, MessageId, NewMessage, NewUser, User, UserId,
};
use whatsapp_agent::ports::StoreError;

use crate::entity::{messages, users};
use crate::error::store_error;
use crate::turn_writer::{TurnWriteStats, TurnWriter};

/// SQLite admits one writer at a time. Its own wait for the lock sleeps and polls, so writers
/// that pile up there wait far longer than the writes take; on SQLite writes queue here
/// instead, in order, and find the lock free. On PostgreSQL there is nothing to wait for.
#[derive(Clone)]
pub(crate) struct WriterLock(Option<Arc<tokio::sync::Mutex<()>>>);

impl WriterLock {
    fn for_backend(backend: sea_orm::DatabaseBackend) -> Self {
        Self(
            (backend == sea_orm::DatabaseBackend::Sqlite)
                .then(|| Arc::new(tokio::sync::Mutex::new(()))),
        )
    }

    /// Whether writers take turns (SQLite).
    pub(crate) fn is_exclusive(&self) -> bool {
        self.0.is_some()
    }

    /// Waits for the turn to write, on SQLite; hold the guard until the transaction ends.
    pub(crate) async fn acquire(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match &self.0 {
            Some(lock) => Some(Arc::clone(lock).lock_owned().await),
            None => None,
        }
    }
}

/// Starts a transaction. Connections are not pinged before each checkout (that would cost a
/// round trip per transaction); instead a connection found dead when the transaction starts,
/// before anything ran on it, is dropped and the start retried once.
pub(crate) async fn begin(
    db: &DatabaseConnection,
) -> Result<sea_orm::DatabaseTransaction, StoreError> {
    match sea_orm::TransactionTrait::begin(db).await {
        Ok(txn) => Ok(txn),
        Err(err) if crate::error::broke_while_idle(&err) => {
            tracing::info!(error = %err, "a pooled connection broke while idle; retrying once");
            sea_orm::TransactionTrait::begin(db)
                .await
                .map_err(store_error)
        }
        Err(err) => Err(store_error(err)),
    }
}

/// The message store over a SeaORM connection pool.
#[derive(Clone)]
pub struct SqlStore {
    db: DatabaseConnection,
    writer: WriterLock,
    /// Commits the turns' writes, many turns to a transaction under load.
    turns: Arc<TurnWriter>,
}

impl SqlStore {
    pub fn new(db: DatabaseConnection) -> Self {
        let writer = WriterLock::for_backend(sea_orm::ConnectionTrait::get_database_backend(&db));
        let turns = Arc::new(TurnWriter::new(db.clone(), writer.clone()));
        Self { db, writer, turns }
    }

    /// Waits for the turn to write, on SQLite; hold the guard until the transaction ends.
    pub(crate) async fn writer(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        self.writer.acquire().await
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    pub(crate) fn turns(&self) -> &TurnWriter {
        &self.turns
    }

    /// How many turn writes the shared writer committed, in how many transactions.
    pub fn turn_write_stats(&self) -> TurnWriteStats {
        self.turns.stats()
    }

    /// Starts a transaction; see [`begin`].
    pub(crate) async fn begin(&self) -> Result<sea_orm::DatabaseTransaction, StoreError> {
        begin(&self.db).await
    }
}

pub(crate) fn to_user(model: users::Model) -> Result<User, StoreError> {
    let channel = Channel::parse(&model.channel).ok_or_else(|| {
        anyhow::anyhow!("unknown channel {:?} on user {}", model.channel, model.id)
    })?;
    Ok(User {
        id: UserId(model.id),
        phone_number: model.phone_number,
        display_name: model.display_name,
        channel,
        created_at: model.created_at,
    })
}

pub(crate) fn to_message(model: messages::Model) -> Result<Message, StoreError> {
    let direction = Direction::parse(&model.direction).ok_or_else(|| {
        anyhow::anyhow!(
            "unknown direction {:?} on message {}",
            model.direction,
            model.id
        )
    })?;
    let channel = Channel::parse(&model.channel).ok_or_else(|| {
        anyhow::anyhow!(
            "unknown channel {:?} on message {}",
            model.channel,
            model.id
        )
    })?;
    let media: Vec<Media> = match model.media {
        Some(value) => serde_json::from_value(value)
            .map_err(|e| anyhow::anyhow!("unreadable media on message {}: {e}", model.id))?,
        None => Vec::new(),
    };
    Ok(Message {
        id: MessageId(model.id),
        user_id: UserId(model.user_id),
        direction,
        body: model.body,
        media,
        channel,
        provider_message_id: model.provider_message_id,
        delivery_status: model.delivery_status,
        agent: model.agent,
        error: model.error,
        created_at: model.created_at,
    })
}

/// Single-table user and message operations. Turns go through
/// [`whatsapp_agent::ports::TurnStore`]; these serve the adapter's tests and tooling.
impl SqlStore {
    pub async fn find_or_create_user(&self, user: &NewUser) -> Result<User, StoreError> {
        to_user(crate::upsert::upsert_user(&self.db, user).await?)
    }

    pub async fn append(&self, message: &NewMessage) -> Result<Message, StoreError> {
        let media = if message.media.is_empty() {
            None
        } else {
            Some(serde_json::to_value(&message.media).map_err(anyhow::Error::from)?)
        };
        let row = messages::ActiveModel {
            id: Set(message.id.0),
            user_id: Set(message.user_id.0),
            direction: Set(message.direction.as_str().to_string()),
            body: Set(message.body.clone()),
            media_url: Set(message.media_url().map(str::to_string)),
            media: Set(media),
            channel: Set(message.channel.as_str().to_string()),
            provider_message_id: Set(message.provider_message_id.clone()),
            delivery_status: Set(None),
            agent: Set(message.agent.clone()),
            error: Set(message.error.clone()),
            created_at: Set(Utc::now()),
        };
        to_message(row.insert(&self.db).await.map_err(store_error)?)
    }

    pub async fn update_media(
        &self,
        message: MessageId,
        media: &[Media],
    ) -> Result<(), StoreError> {
        let value = serde_json::to_value(media).map_err(anyhow::Error::from)?;
        let first_image = whatsapp_agent::domain::first_image_url(media).map(str::to_string);
        let result = messages::Entity::update_many()
            .col_expr(
                messages::Column::Media,
                sea_orm::sea_query::Expr::value(value),
            )
            .col_expr(
                messages::Column::MediaUrl,
                sea_orm::sea_query::Expr::value(first_image),
            )
            .filter(messages::Column::Id.eq(message.0))
            .exec(&self.db)
            .await
            .map_err(store_error)?;
        if result.rows_affected == 0 {
            return Err(anyhow::anyhow!("message {message} not found").into());
        }
        Ok(())
    }

    pub async fn recent_messages(
        &self,
        user: UserId,
        limit: usize,
        exclude: Option<MessageId>,
    ) -> Result<Vec<Message>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut query = messages::Entity::find().filter(messages::Column::UserId.eq(user.0));
        if let Some(excluded) = exclude {
            query = query.filter(messages::Column::Id.ne(excluded.0));
        }
        let rows = query
            .order_by_desc(messages::Column::CreatedAt)
            .order_by_desc(messages::Column::Id)
            .limit(limit as u64)
            .all(&self.db)
            .await
            .map_err(store_error)?;
        rows.into_iter().rev().map(to_message).collect()
    }
}
