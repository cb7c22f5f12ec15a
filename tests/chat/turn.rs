//! A successful turn: what is stored, in which order, and what the model is asked.

use whatsapp_agent::access::Caller;
use whatsapp_agent::domain::{Channel, Direction};
use whatsapp_agent::ChatInput;

use crate::support::{persona, Harness};

#[tokio::test]
async fn a_turn_stores_the_incoming_then_the_outgoing_message_and_returns_the_reply() {
    // Arrange
    let h = Harness::replying(&["Hi! How can I help?"]);

    // Act
    let outcome = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text("Hello there"))
        .await
        .expect("turn succeeds");

    // Assert
    assert_eq!(
        outcome.outgoing.as_ref().expect("a reply").body,
        "Hi! How can I help?"
    );
    let stored = h.store.messages();
    assert_eq!(stored.len(), 2, "exactly one incoming and one outgoing");
    let (incoming, outgoing) = (&stored[0], &stored[1]);
    assert_eq!(incoming.direction, Direction::Incoming);
    assert_eq!(incoming.body, "Hello there");
    assert_eq!(incoming.agent, None);
    assert_eq!(outgoing.direction, Direction::Outgoing);
    assert_eq!(outgoing.body, "Hi! How can I help?");
    assert_eq!(outgoing.agent.as_deref(), Some(persona().id.as_str()));
    for message in &stored {
        assert_eq!(message.user_id, outcome.user.id);
        assert_eq!(message.channel, Channel::Chat);
        assert_eq!(message.error, None);
    }
    assert_eq!(outcome.incoming, *incoming);
    assert_eq!(outcome.outgoing.as_ref(), Some(outgoing));
}

#[tokio::test]
async fn the_incoming_message_is_stored_before_the_model_is_asked() {
    // Arrange
    let h = Harness::replying(&["noted"]);

    // Act
    let outcome = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text("remember this"))
        .await
        .expect("turn succeeds");

    // Assert
    let calls = h.llm.calls();
    assert_eq!(calls.len(), 1);
    let seen = &calls[0].stored;
    assert_eq!(seen.len(), 1, "only the incoming message exists yet");
    assert_eq!(seen[0].id, outcome.incoming.id);
    assert_eq!(seen[0].direction, Direction::Incoming);
    assert_eq!(seen[0].body, "remember this");
}

#[tokio::test]
async fn the_system_prompt_is_the_persona_instructions() {
    // Arrange
    let h = Harness::replying(&["ok"]);

    // Act
    h.service
        .chat(&Caller::Anonymous, ChatInput::text("who are you?"))
        .await
        .expect("turn succeeds");

    // Assert
    assert_eq!(h.llm.only_request().system, persona().instructions);
}

#[tokio::test]
async fn the_default_chat_user_is_stored_as_chat_chat_user() {
    // Arrange
    let h = Harness::replying(&["ok"]);

    // Act
    let outcome = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text("hi"))
        .await
        .expect("turn succeeds");

    // Assert
    assert_eq!(outcome.user.phone_number, "chat_chat_user");
    assert_eq!(outcome.user.channel, Channel::Chat);
    let users = h.store.users();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].phone_number, "chat_chat_user");
}

#[tokio::test]
async fn a_named_chat_user_is_stored_with_the_chat_prefix_and_reused_across_turns() {
    // Arrange
    let h = Harness::replying(&["one", "two"]);
    let input = |text: &str| ChatInput {
        user_id: Some("alice".to_string()),
        ..ChatInput::text(text)
    };

    // Act
    let first = h
        .service
        .chat(&Caller::Anonymous, input("first"))
        .await
        .expect("first turn");
    let second = h
        .service
        .chat(&Caller::Anonymous, input("second"))
        .await
        .expect("second turn");

    // Assert
    assert_eq!(first.user.phone_number, "chat_alice");
    assert_eq!(first.user.id, second.user.id);
    assert_eq!(h.store.users().len(), 1);
}
