//! The `deliveries` table: one row per sent part of a reply, keyed by the provider's id.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub provider_message_id: String,
    pub message_id: Option<Uuid>,
    pub part: Option<i32>,
    pub status: Option<String>,
    pub error_code: Option<String>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
