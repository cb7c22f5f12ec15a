//! Send attempts: one row per part of a job's reply, written before the part is sent and given
//! the provider's id after, so that a part whose outcome is unknown is checked with the
//! provider instead of sent again.

use sea_orm_migration::prelude::*;

use crate::m20261124_000004_create_inbox::InboundJobs;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SendAttempts::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(SendAttempts::JobId).big_integer().not_null())
                    .col(ColumnDef::new(SendAttempts::Part).integer().not_null())
                    // The database's clock, like the lease times.
                    .col(
                        ColumnDef::new(SendAttempts::FirstAttemptAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SendAttempts::LastAttemptAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SendAttempts::Attempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    // The lease the last attempt was made under.
                    .col(ColumnDef::new(SendAttempts::LeaseToken).uuid().not_null())
                    .col(
                        ColumnDef::new(SendAttempts::ProviderMessageId)
                            .text()
                            .null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(SendAttempts::JobId)
                            .col(SendAttempts::Part),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_send_attempts_job_id")
                            .from(SendAttempts::Table, SendAttempts::JobId)
                            .to(InboundJobs::Table, InboundJobs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SendAttempts::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum SendAttempts {
    Table,
    JobId,
    Part,
    FirstAttemptAt,
    LastAttemptAt,
    Attempts,
    LeaseToken,
    ProviderMessageId,
}
