//! `ping` answers on a live database; a vanished PostgreSQL database is `Unavailable`; a
//! connection the server ended while it sat idle costs no request.

use wa_sql::SqlStore;
use whatsapp_agent::domain::{Channel, Direction, NewMessage, NewUser, UserId};
use whatsapp_agent::ports::{Arrival, Incoming, StoreError, TurnStore};

use crate::support::{fresh, message, settings, Backend, TestDb};

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

fn chat_arrival(body: &str) -> Arrival {
    Arrival {
        incoming: Incoming::New {
            user: NewUser::chat("alice"),
            message: NewMessage::new(
                UserId::new(),
                Channel::Chat,
                Direction::Incoming,
                body.to_string(),
            ),
        },
        manager: "anna".to_string(),
        idle_timeout: chrono::Duration::minutes(30),
        history_limit: 10,
        now: chrono::Utc::now(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_broke_while_idle_costs_no_request() {
    // Arrange: a pool of one connection, not pinged before use, whose session the server ends.
    let t = fresh(Backend::Postgres).await;
    let mut one = settings(t.url.clone());
    one.max_connections = 1;
    one.test_before_acquire = false;
    let db = wa_sql::connect(&one).await.expect("connect");
    let store = SqlStore::new(db.clone());
    store
        .accept(&chat_arrival("before"))
        .await
        .expect("accepted before the restart");
    t.terminate_connections().await;

    // Act
    let after = store.accept(&chat_arrival("after")).await;

    // Assert
    let accepted = after.expect("the broken connection is replaced and the request goes through");
    assert_eq!(accepted.history.len(), 1);
    let _ = db.close().await;
    t.cleanup().await;
}
