//! `messages`: every incoming and outgoing message, with its media and delivery metadata.

use sea_orm_migration::prelude::*;

use crate::m20261124_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Messages::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Messages::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Messages::UserId).uuid().not_null())
                    .col(
                        ColumnDef::new(Messages::Direction)
                            .string_len(16)
                            .not_null()
                            .check(Expr::col(Messages::Direction).is_in(["incoming", "outgoing"])),
                    )
                    .col(ColumnDef::new(Messages::Body).text().not_null())
                    .col(ColumnDef::new(Messages::MediaUrl).text().null())
                    .col(ColumnDef::new(Messages::Media).json().null())
                    .col(ColumnDef::new(Messages::Channel).string_len(32).not_null())
                    .col(ColumnDef::new(Messages::ProviderMessageId).text().null())
                    .col(
                        ColumnDef::new(Messages::DeliveryStatus)
                            .string_len(32)
                            .null(),
                    )
                    .col(ColumnDef::new(Messages::Agent).string_len(64).null())
                    .col(ColumnDef::new(Messages::Error).text().null())
                    .col(
                        ColumnDef::new(Messages::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_messages_user_id")
                            .from(Messages::Table, Messages::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Reading one user's history in order is the hot query.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ix_messages_user_created")
                    .table(Messages::Table)
                    .col(Messages::UserId)
                    .col(Messages::CreatedAt)
                    .col(Messages::Id)
                    .to_owned(),
            )
            .await?;
        // A provider's message id is unique per channel: the dedup key for redelivered webhooks.
        // NULLs (app-chat messages) never collide in either database.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ux_messages_channel_provider_id")
                    .table(Messages::Table)
                    .col(Messages::Channel)
                    .col(Messages::ProviderMessageId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Messages::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Messages {
    Table,
    Id,
    UserId,
    Direction,
    Body,
    MediaUrl,
    Media,
    Channel,
    ProviderMessageId,
    DeliveryStatus,
    Agent,
    Error,
    CreatedAt,
}
