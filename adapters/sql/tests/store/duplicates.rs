//! The provider message id is unique per channel: a redelivery is `Duplicate`, nothing else is.

use whatsapp_agent::domain::{Channel, Direction, NewMessage, NewUser, UserId};
use whatsapp_agent::ports::StoreError;

use crate::support::TestDb;

on_both_backends!(
    same_channel_and_provider_id_is_a_duplicate,
    same_provider_id_on_another_channel_is_fine,
    messages_without_provider_id_never_collide,
);

fn from_provider(user: UserId, channel: Channel, provider_id: Option<&str>) -> NewMessage {
    let mut new = NewMessage::new(user, channel, Direction::Incoming, "hi".to_string());
    new.provider_message_id = provider_id.map(str::to_string);
    new
}

async fn user(t: &TestDb) -> UserId {
    let identity = NewUser {
        phone_number: "+15550001234".to_string(),
        display_name: None,
        channel: Channel::WhatsApp,
    };
    t.store
        .find_or_create_user(&identity)
        .await
        .expect("user")
        .id
}

async fn same_channel_and_provider_id_is_a_duplicate(t: &TestDb) {
    // Arrange
    let u = user(t).await;
    t.store
        .append(&from_provider(u, Channel::WhatsApp, Some("SM0001")))
        .await
        .expect("first delivery");

    // Act
    let redelivery = t
        .store
        .append(&from_provider(u, Channel::WhatsApp, Some("SM0001")))
        .await;

    // Assert
    assert!(
        matches!(redelivery, Err(StoreError::Duplicate(_))),
        "expected StoreError::Duplicate, got {redelivery:?}"
    );
    assert_eq!(t.count("SELECT COUNT(*) FROM messages").await, 1);
}

async fn same_provider_id_on_another_channel_is_fine(t: &TestDb) {
    // Arrange
    let u = user(t).await;
    t.store
        .append(&from_provider(u, Channel::WhatsApp, Some("SM0001")))
        .await
        .expect("whatsapp message");

    // Act
    let other_channel = t
        .store
        .append(&from_provider(u, Channel::Chat, Some("SM0001")))
        .await;

    // Assert
    assert!(other_channel.is_ok(), "got {other_channel:?}");
    assert_eq!(t.count("SELECT COUNT(*) FROM messages").await, 2);
}

async fn messages_without_provider_id_never_collide(t: &TestDb) {
    // Arrange
    let u = user(t).await;

    // Act
    for channel in [
        Channel::Chat,
        Channel::Chat,
        Channel::WhatsApp,
        Channel::WhatsApp,
    ] {
        t.store
            .append(&from_provider(u, channel, None))
            .await
            .expect("a message without provider id");
    }

    // Assert
    assert_eq!(t.count("SELECT COUNT(*) FROM messages").await, 4);
}
