//! A person takes over when the user asks or the model requests it: one notice, then silence
//! while incoming messages are still stored, until the conversation is released.

use whatsapp_agent::access::Caller;
use whatsapp_agent::agent::SYSTEM_AGENT;
use whatsapp_agent::domain::{ConversationState, Direction};
use whatsapp_agent::ports::LlmReply;
use whatsapp_agent::ChatInput;

use crate::support::{calls, Harness};

#[tokio::test]
async fn asking_for_a_person_gets_one_notice_then_silence() {
    // Arrange
    let h = Harness::scripted(vec![]);

    // Act
    let first = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text("Quiero hablar con una persona, por favor"))
        .await
        .expect("takeover");
    let second = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text("¿hola?"))
        .await
        .expect("silent turn");
    let third = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text("¿hay alguien?"))
        .await
        .expect("silent turn");

    // Assert
    let notice = first.outgoing.expect("the notice");
    assert_eq!(
        notice.body,
        "Una persona de nuestro equipo te responderá aquí."
    );
    assert_eq!(notice.agent.as_deref(), Some(SYSTEM_AGENT));
    assert_eq!(first.conversation.state, ConversationState::WaitingForHuman);
    assert!(second.outgoing.is_none());
    assert!(third.outgoing.is_none());
    let stored = h.store.messages();
    let incoming = stored.iter().filter(|m| m.direction == Direction::Incoming);
    assert_eq!(incoming.count(), 3, "every message is still stored");
    assert_eq!(stored.len(), 4, "and only one notice was sent");
    assert!(h.llm.calls().is_empty());
}

#[tokio::test]
async fn the_model_can_hand_the_conversation_to_a_person() {
    // Arrange
    let h = Harness::scripted(vec![calls("request_human", r#"{"language":"de"}"#)]);

    // Act
    let outcome = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text("Ich habe eine Frage zu meiner Rechnung"))
        .await
        .expect("turn");

    // Assert
    let notice = outcome.outgoing.expect("the notice");
    assert_eq!(
        notice.body,
        "Eine Person aus unserem Team antwortet Ihnen hier."
    );
    assert_eq!(notice.agent.as_deref(), Some(SYSTEM_AGENT));
    assert_eq!(
        outcome.conversation.state,
        ConversationState::WaitingForHuman
    );
    assert!(outcome.conversation.human_notice_sent);
}

#[tokio::test]
async fn after_release_the_bot_answers_again() {
    // Arrange
    let h = Harness::scripted(vec![LlmReply::text("I'm back, how can I help?")]);
    let taken = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text("let me talk to a human"))
        .await
        .expect("takeover");
    h.service
        .chat(&Caller::Anonymous, ChatInput::text("still there?"))
        .await
        .expect("silent turn");

    // Act
    let released = h
        .service
        .release(taken.conversation.id)
        .await
        .expect("release")
        .expect("the conversation exists");
    let outcome = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text("hello again"))
        .await
        .expect("turn");

    // Assert
    assert_eq!(released.state, ConversationState::Bot);
    assert_eq!(outcome.conversation.id, taken.conversation.id);
    let reply = outcome.outgoing.expect("the bot answers");
    assert_eq!(reply.body, "I'm back, how can I help?");
    assert_eq!(h.llm.calls().len(), 1);
}

#[tokio::test]
async fn releasing_an_unknown_conversation_finds_nothing() {
    // Arrange
    let h = Harness::scripted(vec![]);

    // Act
    let released = h
        .service
        .release(whatsapp_agent::domain::ConversationId::new())
        .await
        .expect("release");

    // Assert
    assert_eq!(released, None);
}
