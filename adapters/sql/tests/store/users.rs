//! `find_or_create_user`: one row per identity, even under concurrent first contact.

use futures::future::join_all;
use whatsapp_agent::domain::{Channel, NewUser};

use crate::support::TestDb;

on_both_backends!(
    find_or_create_is_idempotent,
    fifty_concurrent_calls_end_on_one_user,
    a_display_name_given_later_updates_the_row,
);

fn whatsapp_user(display_name: Option<&str>) -> NewUser {
    NewUser {
        phone_number: "+15550001234".to_string(),
        display_name: display_name.map(str::to_string),
        channel: Channel::WhatsApp,
    }
}

async fn find_or_create_is_idempotent(t: &TestDb) {
    // Arrange
    let identity = NewUser::chat("alice");

    // Act
    let first = t.store.find_or_create_user(&identity).await.expect("first");
    let second = t
        .store
        .find_or_create_user(&identity)
        .await
        .expect("second");

    // Assert
    assert_eq!(first, second);
    assert_eq!(first.phone_number, "chat_alice");
    assert_eq!(first.channel, Channel::Chat);
    assert_eq!(t.count("SELECT COUNT(*) FROM users").await, 1);
}

async fn fifty_concurrent_calls_end_on_one_user(t: &TestDb) {
    // Arrange
    let identity = whatsapp_user(None);

    // Act
    let results = join_all((0..50).map(|_| {
        let store = t.store.clone();
        let identity = identity.clone();
        tokio::spawn(async move { store.find_or_create_user(&identity).await })
    }))
    .await;

    // Assert
    let ids: Vec<_> = results
        .into_iter()
        .map(|r| r.expect("task finishes").expect("call succeeds").id)
        .collect();
    assert_eq!(ids.len(), 50);
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "all callers get one user"
    );
    assert_eq!(t.count("SELECT COUNT(*) FROM users").await, 1);
}

async fn a_display_name_given_later_updates_the_row(t: &TestDb) {
    // Arrange
    let created = t
        .store
        .find_or_create_user(&whatsapp_user(None))
        .await
        .expect("created without a name");

    // Act
    let named = t
        .store
        .find_or_create_user(&whatsapp_user(Some("Ana")))
        .await
        .expect("found with a name");
    let again = t
        .store
        .find_or_create_user(&whatsapp_user(None))
        .await
        .expect("found again without a name");

    // Assert
    assert_eq!(created.display_name, None);
    assert_eq!(named.id, created.id);
    assert_eq!(named.display_name.as_deref(), Some("Ana"));
    assert_eq!(
        again.display_name.as_deref(),
        Some("Ana"),
        "no name keeps the old one"
    );
    let rows = t.query("SELECT display_name FROM users").await;
    assert_eq!(rows.len(), 1);
    let stored: Option<String> = rows[0].try_get("", "display_name").expect("column");
    assert_eq!(stored.as_deref(), Some("Ana"));
}
