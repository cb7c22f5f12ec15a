//! Migrations are idempotent: running them again changes nothing and loses no data.

use whatsapp_agent::domain::{Direction, NewUser};

use crate::support::{message, TestDb};

on_both_backends!(migrations_can_run_twice);

async fn migrations_can_run_twice(t: &TestDb) {
    // Arrange
    let user = t
        .store
        .find_or_create_user(&NewUser::chat("alice"))
        .await
        .expect("user");
    t.store
        .append(&message(user.id, Direction::Incoming, "kept"))
        .await
        .expect("append");

    // Act
    let again = wa_sql::migrate(&t.db).await;

    // Assert
    assert!(again.is_ok(), "second migrate: {again:?}");
    let history = t
        .store
        .recent_messages(user.id, 10, None)
        .await
        .expect("read");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].body, "kept");
    t.store
        .append(&message(user.id, Direction::Outgoing, "still writable"))
        .await
        .expect("append after the second migrate");
}
