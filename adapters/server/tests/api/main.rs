//! Full-stack tests: the real binary's wiring on port 0, against SQLite and PostgreSQL.

mod agent;
mod agents_file;
mod auth;
mod bad_input;
mod binary;
mod chat;
mod concurrency;
mod contract;
mod fake_openai;
mod fake_tool_server;
mod fake_twilio;
mod forwarded;
mod health;
mod helpers;
mod limits;
mod metrics;
mod model_servers;
mod openai;
mod read_timeouts;
mod settings;
mod staff;
mod stream;
mod traces;
mod triage;
mod whatsapp;
