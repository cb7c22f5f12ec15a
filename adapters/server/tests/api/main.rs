//! Full-stack tests: the real binary's wiring on port 0, against SQLite and PostgreSQL.

mod bad_input;
mod chat;
mod concurrency;
mod health;
mod helpers;
mod settings;
mod stream;
