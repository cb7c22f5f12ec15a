//! Spawns the application on a random port with a fresh database per test.

use std::path::PathBuf;
use std::sync::Arc;

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, QueryResult, Statement};
use wa_server::{Application, Settings};
use whatsapp_agent::ports::LlmPort;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub db: DatabaseConnection,
    /// The database name on PostgreSQL, for tests that take it down.
    pub pg_name: Option<String>,
    /// Sending (or dropping) this starts a graceful shutdown.
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// Completes when the server has shut down.
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
}

pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

fn config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

/// Settings as the binary would load them, with no process environment leaking in.
pub fn base_settings() -> Settings {
    let env = [(
        "APP_CONFIG_DIR".to_string(),
        config_dir().display().to_string(),
    )];
    Settings::load_from(&env.into_iter().collect()).expect("base settings load")
}

/// A fresh database URL for one test.
pub async fn fresh_database(backend: Backend) -> (String, Option<String>) {
    let name = format!("wa_test_{}", uuid::Uuid::new_v4().simple());
    match backend {
        Backend::Sqlite => {
            let path = std::env::temp_dir().join(format!("{name}.db"));
            (format!("sqlite://{}?mode=rwc", path.display()), None)
        }
        Backend::Postgres => {
            let admin = Database::connect(admin_url())
                .await
                .expect("PostgreSQL must be reachable at TEST_DATABASE_URL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            let base = admin_url();
            let server = base.rsplit_once('/').map_or(base.as_str(), |(s, _)| s);
            (format!("{server}/{name}"), Some(name))
        }
    }
}

pub async fn spawn(backend: Backend) -> TestApp {
    spawn_with(backend, |_| {}, None).await
}

pub async fn spawn_with(
    backend: Backend,
    tweak: impl FnOnce(&mut Settings),
    llm: Option<Arc<dyn LlmPort>>,
) -> TestApp {
    let (url, pg_name) = fresh_database(backend).await;
    spawn_at(url, pg_name, tweak, llm).await
}

/// Starts an instance on an existing database (several instances may share one).
pub async fn spawn_at(
    url: String,
    pg_name: Option<String>,
    tweak: impl FnOnce(&mut Settings),
    llm: Option<Arc<dyn LlmPort>>,
) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        wa_server::telemetry::init(&base_settings().log);
    } else {
        wa_server::telemetry::init_metrics_only();
    }
    let mut settings = base_settings();
    settings.server.host = "127.0.0.1".into();
    settings.server.port = 0;
    settings.database.url = url.clone().into();
    settings.llm.offline_word_delay_ms = 0;
    // Tests send bursts as one caller and one user; the rate limits' own tests turn them on.
    settings.limits.per_key_per_minute = 0;
    settings.limits.per_user_per_minute = 0;
    tweak(&mut settings);
    let app = match llm {
        Some(llm) => Application::build_with_llm(settings, llm).await,
        None => Application::build(settings).await,
    }
    .expect("application builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let db = Database::connect(url).await.expect("test connection");
    TestApp {
        base,
        client: reqwest::Client::new(),
        db,
        pg_name,
        stop: Some(stop),
        server,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn query(&self, sql: &str) -> Vec<QueryResult> {
        self.db
            .query_all(Statement::from_string(self.db.get_database_backend(), sql))
            .await
            .expect("query runs")
    }

    /// The first column of every row, as optional text.
    pub async fn texts(&self, sql: &str) -> Vec<Option<String>> {
        self.query(sql)
            .await
            .iter()
            .map(|r| {
                r.try_get_by_index::<Option<String>>(0)
                    .expect("a text column")
            })
            .collect()
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let rows = self.query(sql).await;
        rows[0].try_get_by_index::<i64>(0).expect("count column")
    }
}

/// Runs an async test body once per backend.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)(Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                ($body)(Backend::Postgres).await;
            }
        }
    };
}
