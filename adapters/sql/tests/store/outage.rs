//! `ping` answers on a live database; a vanished PostgreSQL database is `Unavailable`.

use whatsapp_agent::domain::{Direction, NewUser, UserId};
use whatsapp_agent::ports::{StoreError, TurnStore};

use crate::support::{fresh, message, Backend, TestDb};

on_both_backends!(ping_succeeds_on_a_live_database);

async fn ping_succeeds_on_a_live_database(t: &TestDb) {
    // Act
    let result = t.store.ping().await;

    // Assert
    assert!(result.is_ok(), "got {result:?}");
}

fn assert_unavailable<T: std::fmt::Debug>(what: &str, result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{what}: expected StoreError::Unavailable, got {result:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_postgres_database_makes_every_operation_unavailable() {
    // Arrange
    let t = fresh(Backend::Postgres).await;
    let user = t
        .store
        .find_or_create_user(&NewUser::chat("alice"))
        .await
        .expect("user before the outage");
    t.drop_postgres_database().await;

    // Act
    let ping = t.store.ping().await;
    let find = t.store.find_or_create_user(&NewUser::chat("bob")).await;
    let append = t
        .store
        .append(&message(user.id, Direction::Incoming, "anyone?"))
        .await;
    let recent = t.store.recent_messages(UserId::new(), 10, None).await;

    // Assert
    assert_unavailable("ping", ping);
    assert_unavailable("find_or_create_user", find);
    assert_unavailable("append", append);
    assert_unavailable("recent_messages", recent);
    t.cleanup().await;
}
