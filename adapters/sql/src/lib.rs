//! `SqlStore`: the [`MessageStore`](whatsapp_agent::ports::MessageStore) over SeaORM.
//!
//! One code path serves PostgreSQL (production, many instances) and SQLite (the embedded
//! default). SQL and database errors stay inside this crate: callers only see `StoreError`.

mod connect;
mod conversations;
mod entity;
mod error;
mod inbox;
mod store;
mod upsert;

pub use connect::{connect, migrate, DbSettings};
pub use sea_orm::DatabaseConnection;
pub use store::SqlStore;
