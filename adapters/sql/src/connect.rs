//! Opening the connection pool and applying migrations.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

/// Pool and connection settings.
#[derive(Clone, Debug)]
pub struct DbSettings {
    /// `postgres://…` or `sqlite://path?mode=rwc`; may hold a password, so it is a secret.
    pub url: SecretString,
    pub max_connections: u32,
    pub min_connections: u32,
    pub connect_timeout: Duration,
    pub acquire_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_lifetime: Duration,
    /// Ping each connection before handing it out. Off by default: it costs a round trip per
    /// transaction, and a connection that broke while idle is detected when its transaction
    /// starts and the start retried once instead.
    pub test_before_acquire: bool,
    /// How long SQLite waits for another writer before giving up.
    pub sqlite_busy_timeout: Duration,
}

impl DbSettings {
    pub fn is_sqlite(&self) -> bool {
        self.url.expose_secret().starts_with("sqlite:")
    }
}

/// Each SQLite connection's page cache, in KiB (a negative `cache_size`). The file's pages stay in
/// the system's cache either way; SQLite's default of about 2 MiB per connection, filled by the
/// turns' multi-row statements, cost about 10 MiB more at a thousand clients for no measurable
/// gain in requests per second (`bench/memory.sh`, `bench/load.sh`).
const SQLITE_CACHE_KIB: &str = "-512";

/// Opens the pool. For a SQLite file, creates its folder first so a fresh checkout just runs.
///
/// # Errors
/// The database error when the pool cannot be opened.
pub async fn connect(settings: &DbSettings) -> Result<DatabaseConnection, DbErr> {
    if settings.is_sqlite() {
        ensure_sqlite_dir(settings.url.expose_secret());
    }
    let mut options = ConnectOptions::new(settings.url.expose_secret().to_string());
    options
        .max_connections(settings.max_connections)
        .min_connections(settings.min_connections)
        .connect_timeout(settings.connect_timeout)
        .acquire_timeout(settings.acquire_timeout)
        .idle_timeout(settings.idle_timeout)
        .max_lifetime(settings.max_lifetime)
        .test_before_acquire(settings.test_before_acquire)
        .sqlx_logging(false);
    let busy = settings.sqlite_busy_timeout;
    // WAL lets readers run beside the single writer; the busy timeout queues writers instead
    // of failing them under concurrent load.
    options.map_sqlx_sqlite_opts(move |opts| {
        opts.journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(busy)
            .foreign_keys(true)
            .create_if_missing(true)
            .pragma("cache_size", SQLITE_CACHE_KIB)
    });
    Database::connect(options).await
}

/// Applies every pending migration.
///
/// # Errors
/// The database error of the first migration that fails.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

fn ensure_sqlite_dir(url: &str) {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(":memory:") {
        return;
    }
    if let Some(parent) = std::path::Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            // A failure here surfaces as the connect error that follows, with the path in it.
            let _ = std::fs::create_dir_all(parent);
        }
    }
}
