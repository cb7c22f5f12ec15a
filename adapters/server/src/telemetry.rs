//! Logging setup: human-readable or JSON lines, level from settings or `RUST_LOG`.

use tracing_subscriber::EnvFilter;

use crate::settings::{LogFormat, LogSettings};

/// Installs the global subscriber. `RUST_LOG`, when set, overrides the configured level.
/// Safe to call more than once (later calls are ignored), which tests rely on.
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // Database drivers log every statement at info; keep them quiet unless asked.
    let filter = filter
        .add_directive("sqlx=warn".parse().expect("static directive"))
        .add_directive("sea_orm=warn".parse().expect("static directive"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match settings.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
