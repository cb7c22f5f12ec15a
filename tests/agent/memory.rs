//! What the model remembers: the current conversation only, within a message and a character
//! budget; a new conversation after inactivity or `/reset`.

use chrono::Duration;
use whatsapp_agent::access::Caller;
use whatsapp_agent::agent::SYSTEM_AGENT;
use whatsapp_agent::ports::{LlmMessage, LlmReply};
use whatsapp_agent::ChatInput;

use crate::support::{agents, Harness};

fn said(messages: &[LlmMessage]) -> Vec<&str> {
    messages.iter().map(|m| m.text.as_str()).collect()
}

fn answers(n: usize) -> Vec<LlmReply> {
    (1..=n)
        .map(|i| LlmReply::text(format!("answer {i}")))
        .collect()
}

#[tokio::test]
async fn history_is_trimmed_to_the_message_budget_newest_kept() {
    // Arrange
    let config = agents(3);
    let h = Harness::with_agents(config, answers(3).into_iter().map(Ok).collect());
    for q in ["question 1", "question 2"] {
        h.service
            .chat(&Caller::Anonymous, ChatInput::text(q))
            .await
            .expect("turn");
    }

    // Act
    h.service
        .chat(&Caller::Anonymous, ChatInput::text("question 3"))
        .await
        .expect("turn");

    // Assert
    let last = &h.llm.calls()[2].request;
    assert_eq!(
        said(&last.messages),
        ["answer 1", "question 2", "answer 2", "question 3"]
    );
}

#[tokio::test]
async fn history_is_trimmed_to_the_character_budget_dropping_whole_messages() {
    // Arrange
    let mut config = agents(10);
    config.memory.max_chars = 20;
    let h = Harness::with_agents(config, answers(2).into_iter().map(Ok).collect());
    h.service
        .chat(
            &Caller::Anonymous,
            ChatInput::text("a rather long first question"),
        )
        .await
        .expect("turn");

    // Act
    h.service
        .chat(&Caller::Anonymous, ChatInput::text("and?"))
        .await
        .expect("turn");

    // Assert
    let last = &h.llm.calls()[1].request;
    assert_eq!(
        said(&last.messages),
        ["answer 1", "and?"],
        "the 28-character question does not fit in 20 characters with its answer"
    );
}

#[tokio::test]
async fn reset_starts_a_new_conversation_without_asking_the_model() {
    // Arrange
    let h = Harness::scripted(answers(2));
    let before = h
        .service
        .chat(
            &Caller::Anonymous,
            ChatInput::text("remember my name is Ada"),
        )
        .await
        .expect("turn");

    // Act
    let reset = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text(" /RESET "))
        .await
        .expect("reset");
    let after = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text("what is my name?"))
        .await
        .expect("turn");

    // Assert
    let confirmation = reset.outgoing.expect("a confirmation");
    assert_eq!(confirmation.body, "[en] New conversation.");
    assert_eq!(confirmation.agent.as_deref(), Some(SYSTEM_AGENT));
    assert_eq!(h.llm.calls().len(), 2, "the reset itself asks no model");
    assert_ne!(after.conversation.id, before.conversation.id);
    assert_eq!(
        said(&h.llm.calls()[1].request.messages),
        ["what is my name?"]
    );
    assert_eq!(h.store.messages().len(), 6, "everything stays stored");
}

#[tokio::test]
async fn inactivity_past_the_timeout_starts_a_new_conversation() {
    // Arrange
    let h = Harness::scripted(answers(3));
    let first = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text("question 1"))
        .await
        .expect("turn");
    h.clock.advance(Duration::minutes(29));
    let second = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text("question 2"))
        .await
        .expect("turn");

    // Act
    h.clock.advance(Duration::minutes(31));
    let third = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text("question 3"))
        .await
        .expect("turn");

    // Assert
    assert_eq!(second.conversation.id, first.conversation.id);
    assert_ne!(third.conversation.id, first.conversation.id);
    assert_eq!(said(&h.llm.calls()[2].request.messages), ["question 3"]);
    assert_eq!(third.conversation.active_agent, "test-persona");
}
