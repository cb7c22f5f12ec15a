//! Fresh databases for one test each: a temp SQLite file, or a new PostgreSQL database named
//! `wa_test_<uuid>` created through the admin URL (`TEST_DATABASE_URL`).

use std::path::PathBuf;
use std::time::Duration;

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, QueryResult, Statement};
use uuid::Uuid;
use wa_sql::{DbSettings, SqlStore};
use whatsapp_agent::domain::{Channel, Direction, NewMessage, NewUser, UserId};
use whatsapp_agent::ports::InboundDelivery;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A migrated, empty database with a store over it.
pub struct TestDb {
    pub store: SqlStore,
    /// Where the database is, for a second pool of other settings.
    pub url: String,
    /// The store's own pool, for raw SQL checks.
    pub db: DatabaseConnection,
    place: Place,
}

enum Place {
    SqliteFile(PathBuf),
    Postgres {
        admin: DatabaseConnection,
        name: String,
    },
}

pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

pub fn settings(url: String) -> DbSettings {
    DbSettings {
        url: url.into(),
        max_connections: 10,
        min_connections: 1,
        connect_timeout: Duration::from_secs(5),
        acquire_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(300),
        max_lifetime: Duration::from_secs(1800),
        test_before_acquire: false,
        sqlite_busy_timeout: Duration::from_secs(10),
    }
}

/// Creates, connects and migrates a database of its own. Panics (fails the test) when
/// PostgreSQL cannot be reached: these tests never skip.
pub async fn fresh(backend: Backend) -> TestDb {
    let name = format!("wa_test_{}", Uuid::now_v7().simple());
    let (url, place) = match backend {
        Backend::Sqlite => {
            let path = std::env::temp_dir().join(format!("{name}.db"));
            let url = format!("sqlite://{}?mode=rwc", path.display());
            (url, Place::SqliteFile(path))
        }
        Backend::Postgres => {
            let base = admin_url();
            let admin = Database::connect(base.as_str())
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL must be reachable at {base}: {e}"));
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create the test database");
            let server = base.split('?').next().unwrap_or(&base);
            let server = server.rsplit_once('/').map_or(server, |(s, _)| s);
            (format!("{server}/{name}"), Place::Postgres { admin, name })
        }
    };
    let db = wa_sql::connect(&settings(url.clone()))
        .await
        .expect("connect to the test database");
    wa_sql::migrate(&db).await.expect("migrations apply");
    TestDb {
        store: SqlStore::new(db.clone()),
        url,
        db,
        place,
    }
}

impl TestDb {
    /// Runs raw SQL on the store's pool.
    pub async fn query(&self, sql: &str) -> Vec<QueryResult> {
        self.db
            .query_all(Statement::from_string(self.db.get_database_backend(), sql))
            .await
            .unwrap_or_else(|e| panic!("{sql} runs: {e}"))
    }

    pub async fn count(&self, sql: &str) -> i64 {
        self.query(sql).await[0]
            .try_get_by_index::<i64>(0)
            .expect("a count")
    }

    /// Takes the PostgreSQL database away under the store's feet.
    pub async fn drop_postgres_database(&self) {
        let Place::Postgres { admin, name } = &self.place else {
            panic!("only a PostgreSQL test database can be dropped");
        };
        drop_database(admin, name).await;
    }

    /// Ends every session on the PostgreSQL test database from the server side, as a restart
    /// would, and waits until they are gone.
    pub async fn terminate_connections(&self) {
        let Place::Postgres { admin, name } = &self.place else {
            panic!("only PostgreSQL sessions can be terminated");
        };
        admin
            .execute_unprepared(&format!(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity \
                 WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            ))
            .await
            .expect("terminate the sessions");
    }

    /// Closes the pool and removes the database.
    pub async fn cleanup(self) {
        let TestDb {
            store, db, place, ..
        } = self;
        drop(store);
        let _ = db.close().await;
        match place {
            Place::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Place::Postgres { admin, name } => drop_database(&admin, &name).await,
        }
    }
}

async fn drop_database(admin: &DatabaseConnection, name: &str) {
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .expect("drop the test database");
}

/// A chat message with a fresh id and no media.
pub fn message(user: UserId, direction: Direction, body: &str) -> NewMessage {
    NewMessage::new(user, Channel::Chat, direction, body.to_string())
}

/// A WhatsApp message from `phone` as the webhook files it: provider id `sid`, text `body`.
pub fn whatsapp_delivery(phone: &str, sid: &str, body: &str) -> InboundDelivery {
    let mut message = NewMessage::new(
        UserId::new(),
        Channel::WhatsApp,
        Direction::Incoming,
        body.to_string(),
    );
    message.provider_message_id = Some(sid.to_string());
    InboundDelivery {
        user: NewUser {
            phone_number: phone.into(),
            display_name: None,
            channel: Channel::WhatsApp,
        },
        channel_user_id: Some(phone.trim_start_matches('+').into()),
        message,
        raw: serde_json::json!({"MessageSid": sid}),
    }
}
