//! `SqlStore`: the [`TurnStore`](whatsapp_agent::ports::TurnStore), the conversation store, the
//! inbound queue, the key store, the staff's view and data rights over SeaORM.
//!
//! One code path serves PostgreSQL (production, many instances) and SQLite (the embedded
//! default). SQL and database errors stay inside this crate: callers only see `StoreError`.

mod connect;
mod conversations;
mod entity;
mod erasure;
mod error;
mod inbox;
mod keys;
mod raw;
mod retention;
mod rights;
mod staff;
mod staff_reply;
mod stats;
mod store;
mod turns;
mod upsert;

pub use connect::{connect, migrate, DbSettings};
pub use sea_orm::DatabaseConnection;
pub use stats::{pool_stats, queue_stats, PoolStats, QueueStats};
pub use store::SqlStore;
