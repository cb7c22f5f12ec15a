//! Find-or-create of a user row, on any connection or transaction.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;
use whatsapp_agent::domain::NewUser;
use whatsapp_agent::ports::StoreError;

use crate::entity::users;
use crate::error::store_error;

/// Insert-or-ignore, then read: concurrent first messages from one user all end on the same
/// row instead of racing into a unique violation. A newer display name replaces the old one.
pub async fn upsert_user<C: ConnectionTrait>(
    conn: &C,
    user: &NewUser,
) -> Result<users::Model, StoreError> {
    let now = Utc::now();
    let row = users::ActiveModel {
        id: Set(Uuid::now_v7()),
        phone_number: Set(user.phone_number.clone()),
        display_name: Set(user.display_name.clone()),
        channel: Set(user.channel.as_str().to_string()),
        created_at: Set(now),
        updated_at: Set(now),
    };
    users::Entity::insert(row)
        .on_conflict(
            OnConflict::column(users::Column::PhoneNumber)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await
        .map_err(store_error)?;
    let found = users::Entity::find()
        .filter(users::Column::PhoneNumber.eq(user.phone_number.as_str()))
        .one(conn)
        .await
        .map_err(store_error)?
        .ok_or_else(|| anyhow::anyhow!("user row vanished right after upsert"))?;
    if user.display_name.is_some() && found.display_name != user.display_name {
        let mut update: users::ActiveModel = found.into();
        update.display_name = Set(user.display_name.clone());
        update.updated_at = Set(now);
        return update.update(conn).await.map_err(store_error);
    }
    Ok(found)
}
