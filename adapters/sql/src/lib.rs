//! `SqlStore`: the [`TurnStore`](whatsapp_agent::ports::TurnStore), the conversation store, the
//! inbound queue (intake, job leases, delivery log, job board), the key store, the staff's view
//! and data rights over SeaORM.
//!
//! One code path serves PostgreSQL (production, many instances) and SQLite (the embedded
//! default). SQL and database errors stay inside this crate: callers only see `StoreError`.

mod connect;
mod conversations;
mod delivery_log;
mod entity;
mod erasure;
mod error;
mod inbox_clock;
mod inbox_jobs;
mod intake;
mod keys;
mod leases;
mod raw;
mod retention;
mod rights;
mod staff;
mod staff_reply;
mod stats;
mod store;
mod turn_sql;
mod turn_writer;
mod turns;
mod upsert;

pub use connect::{connect, migrate, DbSettings};
pub use sea_orm::DatabaseConnection;
pub use stats::{pool_stats, queue_stats, PoolStats, QueueStats};
pub use store::SqlStore;
pub use turn_writer::TurnWriteStats;
