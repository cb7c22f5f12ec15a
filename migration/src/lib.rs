//! Schema migrations, applied in order at start-up and by `whatsapp-agent migrate`.
//!
//! The same migrations run on PostgreSQL and SQLite; column types are the portable subset.

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_create_users;
mod m20261124_000002_create_messages;
mod m20261124_000003_create_conversations;
mod m20261124_000004_create_inbox;
mod m20261129_000005_create_access;
mod m20261129_000006_create_send_attempts;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_create_users::Migration),
            Box::new(m20261124_000002_create_messages::Migration),
            Box::new(m20261124_000003_create_conversations::Migration),
            Box::new(m20261124_000004_create_inbox::Migration),
            Box::new(m20261129_000005_create_access::Migration),
            Box::new(m20261129_000006_create_send_attempts::Migration),
        ]
    }
}
