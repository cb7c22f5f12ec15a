//! The durable inbox: inbound jobs (one per stored WhatsApp message), per-part deliveries of
//! replies, the raw webhook parameters on messages and the WhatsApp id on users.

use sea_orm_migration::prelude::*;

use crate::m20261124_000001_create_users::Users;
use crate::m20261124_000002_create_messages::Messages;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .add_column(ColumnDef::new(Inbox::Raw).json().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(ColumnDef::new(Inbox::WaId).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(InboundJobs::Table)
                    .if_not_exists()
                    // Auto-incremented: the id is the arrival order that per-user ordering uses.
                    .col(
                        ColumnDef::new(InboundJobs::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(InboundJobs::MessageId)
                            .uuid()
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(InboundJobs::UserId).uuid().not_null())
                    .col(
                        ColumnDef::new(InboundJobs::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(InboundJobs::Attempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(InboundJobs::AvailableAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(InboundJobs::LeaseUntil)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(InboundJobs::LeaseToken).uuid().null())
                    .col(ColumnDef::new(InboundJobs::ReplyMessageId).uuid().null())
                    .col(ColumnDef::new(InboundJobs::SentParts).json().null())
                    .col(ColumnDef::new(InboundJobs::LastError).text().null())
                    .col(
                        ColumnDef::new(InboundJobs::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(InboundJobs::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_inbound_jobs_message_id")
                            .from(InboundJobs::Table, InboundJobs::MessageId)
                            .to(Messages::Table, Messages::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ix_inbound_jobs_status_available")
                    .table(InboundJobs::Table)
                    .col(InboundJobs::Status)
                    .col(InboundJobs::AvailableAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ix_inbound_jobs_user")
                    .table(InboundJobs::Table)
                    .col(InboundJobs::UserId)
                    .col(InboundJobs::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Deliveries::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Deliveries::ProviderMessageId)
                            .text()
                            .not_null()
                            .primary_key(),
                    )
                    // Null until the send is recorded: a status callback can arrive first.
                    .col(ColumnDef::new(Deliveries::MessageId).uuid().null())
                    .col(ColumnDef::new(Deliveries::Part).integer().null())
                    .col(ColumnDef::new(Deliveries::Status).string_len(32).null())
                    .col(ColumnDef::new(Deliveries::ErrorCode).text().null())
                    .col(
                        ColumnDef::new(Deliveries::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_deliveries_message_id")
                            .from(Deliveries::Table, Deliveries::MessageId)
                            .to(Messages::Table, Messages::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Deliveries::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(InboundJobs::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Inbox {
    Raw,
    WaId,
}

#[derive(DeriveIden)]
pub enum InboundJobs {
    Table,
    Id,
    MessageId,
    UserId,
    Status,
    Attempts,
    AvailableAt,
    LeaseUntil,
    LeaseToken,
    ReplyMessageId,
    SentParts,
    LastError,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Deliveries {
    Table,
    ProviderMessageId,
    MessageId,
    Part,
    Status,
    ErrorCode,
    UpdatedAt,
}
