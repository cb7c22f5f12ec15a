//! A person takes over when the user asks or the model requests it: one notice, then silence
//! while incoming messages are still stored, until the conversation is released.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use whatsapp_agent::access::Caller;
use whatsapp_agent::agent::SYSTEM_AGENT;
use whatsapp_agent::domain::{
    Conversation, ConversationId, ConversationState, Direction, Message, MessageId, NewMessage,
    User,
};
use whatsapp_agent::ports::{
    ConversationFilter, ConversationSummary, FiledMessage, LlmReply, Page, SendOutcome, StaffStore,
    StaffStoreError, UserRef,
};
use whatsapp_agent::staff::{Staff, StaffError};
use whatsapp_agent::ChatInput;

use crate::support::{calls, Harness};

#[tokio::test]
async fn asking_for_a_person_gets_one_notice_then_silence() {
    // Arrange
    let h = Harness::scripted(vec![]);

    // Act
    let first = h
        .service
        .chat(
            &Caller::Anonymous,
            ChatInput::text("Quiero hablar con una persona, por favor"),
        )
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
        .chat(
            &Caller::Anonymous,
            ChatInput::text("Ich habe eine Frage zu meiner Rechnung"),
        )
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
        .chat(
            &Caller::Anonymous,
            ChatInput::text("let me talk to a human"),
        )
        .await
        .expect("takeover");
    h.service
        .chat(&Caller::Anonymous, ChatInput::text("still there?"))
        .await
        .expect("silent turn");

    // Act
    let released = staff(&h)
        .release(&Caller::AdminToken, taken.conversation.id)
        .await
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
    let released = staff(&h)
        .release(&Caller::AdminToken, ConversationId::new())
        .await;

    // Assert
    assert!(
        matches!(released, Err(StaffError::NotFound(_))),
        "{released:?}"
    );
}

#[tokio::test]
async fn releasing_needs_the_admin_scope() {
    // Arrange
    let h = Harness::scripted(vec![]);
    let chat_key = Caller::Key {
        prefix: "wak_12345678".into(),
        name: "app backend".into(),
        scopes: vec![whatsapp_agent::access::Scope::Chat],
    };

    // Act
    let released = staff(&h).release(&chat_key, ConversationId::new()).await;

    // Assert
    assert!(
        matches!(released, Err(StaffError::Access(_))),
        "{released:?}"
    );
}

/// The staff operations over the harness's store; only releasing is exercised here.
fn staff(h: &Harness) -> Staff {
    Staff::new(Arc::new(NoReads), h.store.clone())
}

/// A staff store for tests that only release: every read or write fails.
struct NoReads;

fn unused<T>() -> Result<T, StaffStoreError> {
    Err(StaffStoreError::Unavailable(
        "not used by these tests".into(),
    ))
}

#[async_trait]
impl StaffStore for NoReads {
    async fn conversations(
        &self,
        _: &ConversationFilter,
    ) -> Result<Vec<ConversationSummary>, StaffStoreError> {
        unused()
    }

    async fn conversation(
        &self,
        _: ConversationId,
        _: Page,
        _: DateTime<Utc>,
    ) -> Result<Option<(ConversationSummary, Vec<Message>)>, StaffStoreError> {
        unused()
    }

    async fn user_messages(
        &self,
        _: &UserRef,
        _: Page,
    ) -> Result<Option<(User, Vec<FiledMessage>)>, StaffStoreError> {
        unused()
    }

    async fn take_over(
        &self,
        _: ConversationId,
        _: DateTime<Utc>,
    ) -> Result<Option<Conversation>, StaffStoreError> {
        unused()
    }

    async fn store_staff_reply(
        &self,
        _: ConversationId,
        _: &NewMessage,
    ) -> Result<Option<(Conversation, User, Message)>, StaffStoreError> {
        unused()
    }

    async fn record_staff_send(
        &self,
        _: MessageId,
        _: &SendOutcome,
    ) -> Result<Option<Message>, StaffStoreError> {
        unused()
    }
}
