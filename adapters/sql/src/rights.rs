//! `DataRights` for `SqlStore`: a user's data exported whole. Erasure is in `erasure`, the
//! retention purge and task leases in `retention`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
};
use uuid::Uuid;
use whatsapp_agent::ports::{
    DataRights, DeliveryRecord, Erasure, ErasureReport, PurgeReport, RightsError, StoreError,
    UserExport, UserRef,
};

use crate::conversations::to_conversation;
use crate::entity::{conversations, deliveries, messages};
use crate::error::store_error;
use crate::raw::statement;
use crate::staff::{filed, MESSAGE_COLUMNS};
use crate::store::SqlStore;

pub(crate) fn rights_error(err: StoreError) -> RightsError {
    match err {
        StoreError::Unavailable(m) => RightsError::Unavailable(m),
        StoreError::Duplicate(m) => RightsError::Unknown(anyhow::anyhow!("duplicate: {m}")),
        StoreError::Unknown(e) => RightsError::Unknown(e),
    }
}

pub(crate) fn db_error(err: DbErr) -> RightsError {
    rights_error(store_error(err))
}

fn to_delivery(row: deliveries::Model) -> DeliveryRecord {
    DeliveryRecord {
        provider_message_id: row.provider_message_id,
        message_id: row.message_id,
        part: row.part,
        status: row.status,
        error_code: row.error_code,
        updated_at: row.updated_at,
    }
}

impl SqlStore {
    async fn export(&self, user: &UserRef) -> Result<Option<UserExport>, RightsError> {
        let Some(user) = self.user_by_ref(user).await.map_err(rights_error)? else {
            return Ok(None);
        };
        let db = self.connection();
        let conversations = conversations::Entity::find()
            .filter(conversations::Column::UserId.eq(user.id.0))
            .order_by_asc(conversations::Column::StartedAt)
            .order_by_asc(conversations::Column::Id)
            .all(db)
            .await
            .map_err(db_error)?
            .into_iter()
            .map(|c| to_conversation(c).map_err(rights_error))
            .collect::<Result<_, _>>()?;
        let rows = db
            .query_all(statement(
                db.get_database_backend(),
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE user_id = $1 \
                     ORDER BY created_at, id"
                ),
                vec![user.id.0.into()],
            ))
            .await
            .map_err(db_error)?;
        let messages = rows
            .iter()
            .map(|row| filed(row).map_err(rights_error))
            .collect::<Result<Vec<_>, _>>()?;
        let theirs = messages::Entity::find()
            .select_only()
            .column(messages::Column::Id)
            .filter(messages::Column::UserId.eq(user.id.0))
            .into_query();
        let deliveries = deliveries::Entity::find()
            .filter(deliveries::Column::MessageId.in_subquery(theirs))
            .order_by_asc(deliveries::Column::MessageId)
            .order_by_asc(deliveries::Column::Part)
            .all(db)
            .await
            .map_err(db_error)?
            .into_iter()
            .map(to_delivery)
            .collect();
        Ok(Some(UserExport {
            user,
            conversations,
            messages,
            deliveries,
        }))
    }
}

#[async_trait]
impl DataRights for SqlStore {
    async fn export_user(&self, user: &UserRef) -> Result<Option<UserExport>, RightsError> {
        self.export(user).await
    }

    async fn erase_user(
        &self,
        user: &UserRef,
        erasure: &Erasure,
    ) -> Result<Option<ErasureReport>, RightsError> {
        self.erase(user, erasure).await
    }

    async fn purge_before(
        &self,
        cutoff: DateTime<Utc>,
        batch: usize,
    ) -> Result<PurgeReport, RightsError> {
        self.purge(cutoff, batch).await
    }

    async fn lead_task(
        &self,
        task: &str,
        holder: Uuid,
        lease_secs: u32,
    ) -> Result<bool, RightsError> {
        self.lead(task, holder, lease_secs).await
    }
}
