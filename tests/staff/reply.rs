//! Replying as a person: checked, signed and stored; sent only on WhatsApp.

use std::sync::Arc;

use whatsapp_agent::access::{Caller, Scope};
use whatsapp_agent::domain::{Channel, ConversationId, Direction};
use whatsapp_agent::ports::{MessengerError, SendOutcome};
use whatsapp_agent::staff::{PersonReply, Staff, StaffError};

use crate::fakes::{OneConversation, RecordingMessenger};

fn staff(store: &Arc<OneConversation>) -> Staff {
    Staff::new(store.clone(), store.clone())
}

fn reply(text: &str) -> PersonReply {
    PersonReply {
        text: text.into(),
        author: None,
    }
}

#[tokio::test]
async fn a_key_without_the_admin_scope_stores_nothing() {
    // Arrange
    let store = OneConversation::on(Channel::Chat);
    let chat_key = Caller::Key {
        prefix: "wak_12345678".into(),
        name: "app backend".into(),
        scopes: vec![Scope::Chat],
    };
    let end_user = Caller::EndUser {
        user_id: "alice".into(),
        key_prefix: "wak_12345678".into(),
    };

    // Act
    let by_key = staff(&store)
        .reply(&chat_key, store.id(), reply("hi"))
        .await;
    let by_user = staff(&store)
        .reply(&end_user, store.id(), reply("hi"))
        .await;

    // Assert
    assert!(matches!(by_key, Err(StaffError::Access(_))), "{by_key:?}");
    assert!(matches!(by_user, Err(StaffError::Access(_))), "{by_user:?}");
    assert!(store.stored().is_empty());
}

#[tokio::test]
async fn on_app_chat_the_reply_is_stored_signed_and_not_sent() {
    // Arrange
    let store = OneConversation::on(Channel::Chat);
    let desk = Caller::Key {
        prefix: "wak_12345678".into(),
        name: "Front desk".into(),
        scopes: vec![Scope::Admin],
    };

    // Act
    let stored = staff(&store)
        .reply(&desk, store.id(), reply("Your results are ready."))
        .await
        .expect("stored");

    // Assert
    assert_eq!(stored.agent.as_deref(), Some("human:Front desk"));
    assert_eq!(stored.direction, Direction::Outgoing);
    assert_eq!(stored.channel, Channel::Chat);
    assert_eq!(stored.delivery_status, None);
    assert_eq!(store.stored().len(), 1);
    assert!(
        store.outcomes.lock().expect("lock").is_empty(),
        "nothing sent"
    );
}

#[tokio::test]
async fn on_whatsapp_without_a_messenger_the_reply_is_marked_failed() {
    // Arrange
    let store = OneConversation::on(Channel::WhatsApp);

    // Act
    let stored = staff(&store)
        .reply(&Caller::AdminToken, store.id(), reply("Hola"))
        .await
        .expect("stored");

    // Assert
    assert_eq!(stored.channel, Channel::WhatsApp);
    assert_eq!(stored.agent.as_deref(), Some("human:staff"));
    assert_eq!(stored.delivery_status.as_deref(), Some("failed"));
    assert!(matches!(
        store.outcomes.lock().expect("lock").as_slice(),
        [SendOutcome::Failed { sent, .. }] if sent.is_empty()
    ));
}

#[tokio::test]
async fn an_unknown_conversation_is_not_found() {
    // Arrange
    let store = OneConversation::on(Channel::Chat);

    // Act
    let replied = staff(&store)
        .reply(&Caller::AdminToken, ConversationId::new(), reply("hi"))
        .await;
    let released = staff(&store)
        .release(&Caller::AdminToken, ConversationId::new())
        .await;
    let taken = staff(&store)
        .take_over(&Caller::AdminToken, ConversationId::new())
        .await;

    // Assert
    assert!(
        matches!(replied, Err(StaffError::NotFound(_))),
        "{replied:?}"
    );
    assert!(matches!(released, Err(StaffError::NotFound(_))));
    assert!(matches!(taken, Err(StaffError::NotFound(_))));
    assert!(store.stored().is_empty());
}

#[tokio::test]
async fn on_whatsapp_the_reply_is_sent_once_to_the_users_number() {
    // Arrange
    let store = OneConversation::on(Channel::WhatsApp);
    let messenger = RecordingMessenger::answering(Ok(vec!["SM1".into(), "SM2".into()]));
    let staff = staff(&store).with_messenger(messenger.clone());

    // Act
    let stored = staff
        .reply(
            &Caller::AdminToken,
            store.id(),
            reply("Hola, soy la Dra. Ruiz."),
        )
        .await
        .expect("stored");

    // Assert
    let sent = messenger.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "+14155550100");
    assert_eq!(sent[0].body, "Hola, soy la Dra. Ruiz.");
    assert_eq!(stored.delivery_status.as_deref(), Some("sent"));
    assert_eq!(stored.provider_message_id.as_deref(), Some("SM1"));
    assert_eq!(
        store.outcomes.lock().expect("lock").as_slice(),
        [SendOutcome::Sent(vec!["SM1".into(), "SM2".into()])]
    );
}

#[tokio::test]
async fn a_refused_send_is_recorded_with_the_providers_code() {
    // Arrange
    let store = OneConversation::on(Channel::WhatsApp);
    let messenger = RecordingMessenger::answering(Err(MessengerError::Permanent {
        message: "Attempt to send to unsubscribed recipient".into(),
        code: Some("21610".into()),
        sent: Vec::new(),
    }));
    let staff = staff(&store).with_messenger(messenger.clone());

    // Act
    let stored = staff
        .reply(&Caller::AdminToken, store.id(), reply("Hola"))
        .await
        .expect("stored, though not delivered");

    // Assert
    assert_eq!(messenger.sent().len(), 1, "not retried");
    assert_eq!(stored.delivery_status.as_deref(), Some("failed"));
    let error = stored.error.expect("the reason is kept");
    assert!(error.contains("21610"), "{error}");
}
