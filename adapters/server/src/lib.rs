//! Composition root: loads settings, sets up logging, picks an adapter for every port and
//! serves the HTTP API. `main.rs` only parses the command line and calls into here.

pub mod agents_file;
mod app;
mod header_timeout;
mod media_router;
pub mod metrics;
mod no_delay;
mod retention;
pub mod settings;
pub mod telemetry;
mod tokio_timer;
mod traced_store;
pub mod traces;
mod whatsapp;
mod workers;

pub use app::{shutdown_signal, Application};
pub use settings::Settings;
