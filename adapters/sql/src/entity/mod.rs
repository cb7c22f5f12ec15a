//! SeaORM entities mirroring the tables the migrations create.

pub mod messages;
pub mod users;
