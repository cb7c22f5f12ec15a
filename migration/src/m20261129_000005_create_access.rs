//! Access and data rights: `api_keys` (stored as hashes), `erasures` (the audit of erased
//! users, nothing about them), `task_leases` (one instance at a time runs a chore),
//! `conversations.staff_seen_at` (the team's unread marker) and the indexes the staff listing
//! and the retention purge read by.

use sea_orm_migration::prelude::*;

use crate::m20261124_000002_create_messages::Messages;
use crate::m20261124_000003_create_conversations::Conversations;
use crate::m20261124_000004_create_inbox::{Deliveries, InboundJobs};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_api_keys(manager).await?;
        manager
            .create_table(
                Table::create()
                    .table(Erasures::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Erasures::Id).uuid().not_null().primary_key())
                    .col(
                        ColumnDef::new(Erasures::ErasedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Erasures::Actor).text().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TaskLeases::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(TaskLeases::Task)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(TaskLeases::Holder).uuid().not_null())
                    .col(
                        ColumnDef::new(TaskLeases::LeaseUntil)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Conversations::Table)
                    .add_column(
                        ColumnDef::new(StaffSeen::StaffSeenAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        for index in indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in INDEXES {
            manager
                .drop_index(
                    Index::drop()
                        .if_exists()
                        .name(*name)
                        .table(Alias::new(*table))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Conversations::Table)
                    .drop_column(StaffSeen::StaffSeenAt)
                    .to_owned(),
            )
            .await?;
        for table in [
            TaskLeases::Table.into_iden(),
            Erasures::Table.into_iden(),
            ApiKeys::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

async fn create_api_keys(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(ApiKeys::Table)
                .if_not_exists()
                .col(ColumnDef::new(ApiKeys::Id).uuid().not_null().primary_key())
                .col(
                    ColumnDef::new(ApiKeys::Prefix)
                        .string_len(64)
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(ApiKeys::Name).text().not_null())
                // Comma-separated scope names, e.g. `admin,chat`.
                .col(ColumnDef::new(ApiKeys::Scopes).text().not_null())
                // Hex SHA-256 of the whole key: what a presented key is found by.
                .col(
                    ColumnDef::new(ApiKeys::LookupHash)
                        .string_len(64)
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(ApiKeys::TokenSecret).binary().not_null())
                .col(
                    ColumnDef::new(ApiKeys::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ApiKeys::LastUsedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(
                    ColumnDef::new(ApiKeys::RevokedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .to_owned(),
        )
        .await
}

/// Every index this migration adds, by name and table, for `down`.
const INDEXES: &[(&str, &str)] = &[
    ("ix_conversations_last_activity", "conversations"),
    ("ix_messages_created", "messages"),
    ("ix_inbound_jobs_status_updated", "inbound_jobs"),
    ("ix_deliveries_message", "deliveries"),
];

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        // The staff listing: newest activity first, keyset-paged on (last_activity_at, id).
        Index::create()
            .if_not_exists()
            .name(INDEXES[0].0)
            .table(Conversations::Table)
            .col(Conversations::LastActivityAt)
            .col(Conversations::Id)
            .to_owned(),
        // Retention: the oldest messages first, in batches.
        Index::create()
            .if_not_exists()
            .name(INDEXES[1].0)
            .table(Messages::Table)
            .col(Messages::CreatedAt)
            .col(Messages::Id)
            .to_owned(),
        // Retention: finished jobs by age.
        Index::create()
            .if_not_exists()
            .name(INDEXES[2].0)
            .table(InboundJobs::Table)
            .col(InboundJobs::Status)
            .col(InboundJobs::UpdatedAt)
            .to_owned(),
        // Deleting a message's deliveries (erasure, retention) and the cascade of its foreign key.
        Index::create()
            .if_not_exists()
            .name(INDEXES[3].0)
            .table(Deliveries::Table)
            .col(Deliveries::MessageId)
            .to_owned(),
    ]
}

#[derive(DeriveIden)]
pub enum ApiKeys {
    Table,
    Id,
    Prefix,
    Name,
    Scopes,
    LookupHash,
    TokenSecret,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
pub enum Erasures {
    Table,
    Id,
    ErasedAt,
    Actor,
}

#[derive(DeriveIden)]
pub enum TaskLeases {
    Table,
    Task,
    Holder,
    LeaseUntil,
}

#[derive(DeriveIden)]
enum StaffSeen {
    StaffSeenAt,
}
