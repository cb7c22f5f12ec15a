//! The `conversations` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "conversations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// The user's id while the conversation is open; NULL once it ended.
    #[sea_orm(unique)]
    pub open_user_id: Option<Uuid>,
    pub active_agent: String,
    pub state: String,
    pub human_notice_sent: bool,
    pub flag_reason: Option<String>,
    pub started_at: DateTimeUtc,
    pub last_activity_at: DateTimeUtc,
    pub ended_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
