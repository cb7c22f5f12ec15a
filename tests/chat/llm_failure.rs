//! When the model fails, the user's message is kept and no reply is stored.

use whatsapp_agent::access::Caller;
use whatsapp_agent::domain::Direction;
use whatsapp_agent::ports::LlmError;
use whatsapp_agent::{ChatError, ChatInput};

use crate::support::Harness;

async fn model_failure_keeps_only_the_incoming_message(failure: LlmError) {
    // Arrange
    let h = Harness::new(10, vec![Err(failure.clone())]);

    // Act
    let result = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text("are you there?"))
        .await;

    // Assert
    let stored = h.store.messages();
    assert_eq!(stored.len(), 1, "no outgoing message is stored");
    assert_eq!(stored[0].direction, Direction::Incoming);
    assert_eq!(stored[0].body, "are you there?");
    match result {
        Err(ChatError::Llm { source, incoming }) => {
            assert_eq!(source, failure);
            assert_eq!(incoming, stored[0].id);
        }
        other => panic!("expected ChatError::Llm, got {other:?}"),
    }
}

#[tokio::test]
async fn a_model_timeout_is_reported_and_the_incoming_message_is_kept() {
    model_failure_keeps_only_the_incoming_message(LlmError::Timeout).await;
}

#[tokio::test]
async fn an_unavailable_model_is_reported_and_the_incoming_message_is_kept() {
    model_failure_keeps_only_the_incoming_message(LlmError::Unavailable("overloaded".into())).await;
}

#[tokio::test]
async fn the_next_turn_after_a_failure_still_shows_the_unanswered_message_to_the_model() {
    // Arrange
    let h = Harness::new(
        10,
        vec![Err(LlmError::Timeout), Ok("sorry for the wait".to_string())],
    );
    let _ = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text("first try"))
        .await;

    // Act
    h.service
        .chat(&Caller::Anonymous, ChatInput::text("second try"))
        .await
        .expect("second turn succeeds");

    // Assert
    let texts: Vec<String> = h.llm.calls()[1]
        .request
        .messages
        .iter()
        .map(|m| m.text.clone())
        .collect();
    assert_eq!(texts, ["first try", "second try"]);
}
