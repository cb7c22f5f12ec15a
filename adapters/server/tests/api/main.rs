//! Full-stack tests: the real binary's wiring on port 0, against SQLite and PostgreSQL.

mod agent;
mod agents_file;
mod bad_input;
mod binary;
mod chat;
mod concurrency;
mod fake_openai;
mod fake_twilio;
mod health;
mod helpers;
mod openai;
mod settings;
mod stream;
mod whatsapp;
