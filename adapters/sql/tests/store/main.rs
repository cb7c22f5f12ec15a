//! `SqlStore` against real databases: each test runs once on SQLite and once on PostgreSQL, each
//! time on a fresh database of its own.

/// Declares, for each named `async fn(&TestDb)`, a `sqlite` and a `postgres` test that run it on a
/// fresh database and drop that database afterwards.
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            use crate::support::{fresh, Backend};

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = fresh(Backend::Sqlite).await;
                super::$name(&db).await;
                db.cleanup().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = fresh(Backend::Postgres).await;
                super::$name(&db).await;
                db.cleanup().await;
            }
        }
    )+};
}

mod conversations;
mod deadlock;
mod duplicates;
mod inbox;
mod keys;
mod media;
mod messages;
mod migrations;
mod outage;
mod rights;
mod seed_queries;
mod staff;
mod support;
mod turns;
mod users;
