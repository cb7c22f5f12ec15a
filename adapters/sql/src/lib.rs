//! `SqlStore`: the [`MessageStore`](whatsapp_agent::ports::MessageStore) over SeaORM.
//!
//! One code path serves PostgreSQL (production, many instances) and SQLite (the embedded
//! default). SQL and database errors stay inside this crate: callers only see `StoreError`.

mod connect;
mod entity;
mod error;
mod store;

pub use connect::{connect, migrate, DbSettings};
pub use sea_orm::DatabaseConnection;
pub use store::SqlStore;
