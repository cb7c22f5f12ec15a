//! SeaORM entities mirroring the tables the migrations create.

pub mod api_keys;
pub mod conversations;
pub mod deliveries;
pub mod inbound_jobs;
pub mod messages;
pub mod users;
