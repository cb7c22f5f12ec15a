//! The model sees a bounded, ordered history plus the new turn, never the new turn twice.

use whatsapp_agent::access::Caller;
use whatsapp_agent::ports::{LlmMessage, Role};
use whatsapp_agent::ChatInput;

use crate::support::Harness;

fn said(messages: &[LlmMessage]) -> Vec<(Role, &str)> {
    messages.iter().map(|m| (m.role, m.text.as_str())).collect()
}

#[tokio::test]
async fn only_the_newest_history_messages_go_to_the_model_oldest_first() {
    // Arrange
    let replies = ["answer 1", "answer 2", "answer 3", "answer 4"];
    let h = Harness::new(2, replies.iter().map(|r| Ok(r.to_string())).collect());
    for question in ["question 1", "question 2", "question 3"] {
        h.service
            .chat(&Caller::Anonymous, ChatInput::text(question))
            .await
            .expect("earlier turn succeeds");
    }

    // Act
    h.service
        .chat(&Caller::Anonymous, ChatInput::text("question 4"))
        .await
        .expect("turn succeeds");

    // Assert
    let request = &h.llm.calls()[3].request;
    assert_eq!(
        said(&request.messages),
        [
            (Role::User, "question 3"),
            (Role::Assistant, "answer 3"),
            (Role::User, "question 4"),
        ]
    );
}

#[tokio::test]
async fn the_new_message_is_sent_once_even_with_room_in_the_history() {
    // Arrange
    let h = Harness::replying(&["answer 1", "answer 2"]);
    h.service
        .chat(&Caller::Anonymous, ChatInput::text("question 1"))
        .await
        .expect("first turn succeeds");

    // Act
    h.service
        .chat(&Caller::Anonymous, ChatInput::text("question 2"))
        .await
        .expect("second turn succeeds");

    // Assert
    let request = &h.llm.calls()[1].request;
    assert_eq!(
        said(&request.messages),
        [
            (Role::User, "question 1"),
            (Role::Assistant, "answer 1"),
            (Role::User, "question 2"),
        ]
    );
}
