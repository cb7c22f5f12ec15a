//! `SqlStore` as the [`TurnStore`]: accepting a message and finishing a turn, each one write
//! committed by the shared turn writer ([`crate::turn_writer`]) with the statements of
//! [`crate::turn_sql`], the same on PostgreSQL and SQLite.

use async_trait::async_trait;
use sea_orm::{ConnectionTrait, EntityTrait};
use whatsapp_agent::domain::{Conversation, ConversationId, Message};
use whatsapp_agent::ports::{
    AcceptError, Accepted, Arrival, ConversationStore, Finish, FinishError, StoreError, TurnStore,
};

use crate::conversations::to_conversation;
use crate::entity::conversations;
use crate::error::store_error;
use crate::raw::statement;
use crate::store::SqlStore;
use crate::turn_sql::release_sql;

#[async_trait]
impl TurnStore for SqlStore {
    async fn accept(&self, arrival: &Arrival) -> Result<Accepted, AcceptError> {
        self.turns().accept(arrival).await
    }

    async fn finish(&self, finish: &Finish) -> Result<Option<Message>, FinishError> {
        self.turns().finish(finish).await
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
