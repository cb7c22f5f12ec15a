//! `conversations`: the sessions a user's messages are grouped into, with the agent that answers
//! and whether a person has taken over; `messages.conversation_id` files each message under one.

use sea_orm_migration::prelude::*;

use crate::m20261124_000001_create_users::Users;
use crate::m20261124_000002_create_messages::Messages;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Conversations::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Conversations::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Conversations::UserId).uuid().not_null())
                    // The user's id while the conversation is open, NULL once it ended. Its
                    // unique index allows one open conversation per user on both databases
                    // (NULLs never collide), without partial indexes.
                    .col(
                        ColumnDef::new(Conversations::OpenUserId)
                            .uuid()
                            .null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(Conversations::ActiveAgent)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Conversations::State)
                            .string_len(32)
                            .not_null()
                            .check(
                                Expr::col(Conversations::State).is_in(["bot", "waiting_for_human"]),
                            ),
                    )
                    .col(
                        ColumnDef::new(Conversations::HumanNoticeSent)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(ColumnDef::new(Conversations::FlagReason).text().null())
                    .col(
                        ColumnDef::new(Conversations::StartedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Conversations::LastActivityAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Conversations::EndedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_conversations_user_id")
                            .from(Conversations::Table, Conversations::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ix_conversations_user_started")
                    .table(Conversations::Table)
                    .col(Conversations::UserId)
                    .col(Conversations::StartedAt)
                    .to_owned(),
            )
            .await?;
        // No foreign key: SQLite cannot add one to an existing table. Conversations are only
        // removed with their user, whose messages go with them.
        manager
            .alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .add_column(
                        ColumnDef::new(MessageConversation::ConversationId)
                            .uuid()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        // Reading one conversation's messages in order is the agent's hot query.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ix_messages_conversation_created")
                    .table(Messages::Table)
                    .col(MessageConversation::ConversationId)
                    .col(Messages::CreatedAt)
                    .col(Messages::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_messages_conversation_created")
                    .table(Messages::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .drop_column(MessageConversation::ConversationId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Conversations::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Conversations {
    Table,
    Id,
    UserId,
    OpenUserId,
    ActiveAgent,
    State,
    HumanNoticeSent,
    FlagReason,
    StartedAt,
    LastActivityAt,
    EndedAt,
}

#[derive(DeriveIden)]
enum MessageConversation {
    ConversationId,
}
