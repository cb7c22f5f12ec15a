//! Erasure: every row that holds one user's data removed in one transaction, with an audit row
//! in `erasures` that keeps only when and by whom, never the number or any content.
//!
//! The deletes run children first (deliveries, jobs, messages, conversations, then the user), so
//! they satisfy the foreign keys without relying on cascades and count every row removed. A new
//! table that holds user data needs its delete here; the store tests list every table from the
//! database's catalogue and fail when one is left holding the user's rows.

use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use uuid::Uuid;
use whatsapp_agent::domain::UserId;
use whatsapp_agent::ports::{Erasure, ErasureReport, RightsError, UserRef};

use crate::entity::users;
use crate::error::{again_on_lost_race, lost_a_lock_race};
use crate::raw::statement;
use crate::rights::{db_error, rights_error};
use crate::store::SqlStore;

const INSERT_AUDIT_SQL: &str = "INSERT INTO erasures (id, erased_at, actor) VALUES ($1, $2, $3)";

/// In foreign-key order; `$1` is the user's id.
const DELETES: [&str; 5] = [
    "DELETE FROM deliveries WHERE message_id IN (SELECT id FROM messages WHERE user_id = $1)",
    "DELETE FROM inbound_jobs WHERE user_id = $1 \
       OR message_id IN (SELECT id FROM messages WHERE user_id = $1)",
    // With the messages go their media, transcripts and raw webhook parameters.
    "DELETE FROM messages WHERE user_id = $1",
    "DELETE FROM conversations WHERE user_id = $1",
    "DELETE FROM users WHERE id = $1",
];

impl SqlStore {
    pub(crate) async fn erase(
        &self,
        user: &UserRef,
        erasure: &Erasure,
    ) -> Result<Option<ErasureReport>, RightsError> {
        // A deadlock's victim (a message of this user arriving meanwhile) is tried again.
        again_on_lost_race(
            || self.erase_once(user, erasure),
            |err| matches!(err, RightsError::Unavailable(cause) if lost_a_lock_race(cause)),
        )
        .await
    }

    async fn erase_once(
        &self,
        user: &UserRef,
        erasure: &Erasure,
    ) -> Result<Option<ErasureReport>, RightsError> {
        let _writer = self.writer().await;
        let txn = self.begin().await.map_err(rights_error)?;
        let Some(report) = Self::erase_in(&txn, user, erasure).await? else {
            // Dropping the transaction rolls the audit row back.
            return Ok(None);
        };
        txn.commit().await.map_err(db_error)?;
        tracing::info!(user = %report.user, rows = report.rows, "user erased");
        Ok(Some(report))
    }

    /// Starts with the audit row, a write: on SQLite that takes the writer lock before
    /// anything is read.
    async fn erase_in(
        txn: &DatabaseTransaction,
        user: &UserRef,
        erasure: &Erasure,
    ) -> Result<Option<ErasureReport>, RightsError> {
        let backend = txn.get_database_backend();
        txn.execute(statement(
            backend,
            INSERT_AUDIT_SQL,
            vec![
                Uuid::now_v7().into(),
                erasure.at.into(),
                erasure.actor.clone().into(),
            ],
        ))
        .await
        .map_err(db_error)?;
        let found = match user {
            UserRef::Id(id) => users::Entity::find_by_id(id.0),
            UserRef::Identity(identity) => {
                users::Entity::find().filter(users::Column::PhoneNumber.eq(identity.as_str()))
            }
        }
        .one(txn)
        .await
        .map_err(db_error)?;
        let Some(found) = found else {
            return Ok(None);
        };
        let mut rows = 0;
        for sql in DELETES {
            rows += txn
                .execute(statement(backend, sql, vec![found.id.into()]))
                .await
                .map_err(db_error)?
                .rows_affected();
        }
        Ok(Some(ErasureReport {
            user: UserId(found.id),
            rows,
        }))
    }
}
