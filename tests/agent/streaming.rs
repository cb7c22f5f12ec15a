//! Streamed turns go through hand-offs: the client sees only the answering agent's text, and
//! fixed replies stream as one piece.

use futures::StreamExt;
use whatsapp_agent::access::Caller;
use whatsapp_agent::agent::GUARDRAIL_AGENT;
use whatsapp_agent::ports::LlmReply;
use whatsapp_agent::{ChatInput, ChatService, StreamEvent};

use crate::support::{calls, Harness};

/// Runs a streamed turn; returns the deltas and the final event.
async fn stream(service: &ChatService, text: &str) -> (String, StreamEvent) {
    let reply = service
        .stream(&Caller::Anonymous, ChatInput::text(text))
        .await
        .expect("stream starts");
    tokio::spawn(reply.driver);
    let events: Vec<StreamEvent> = reply.events.collect().await;
    let mut text = String::new();
    let mut last = None;
    for event in events {
        match event {
            StreamEvent::Delta(delta) => text.push_str(&delta),
            other => last = Some(other),
        }
    }
    (text, last.expect("a final event"))
}

#[tokio::test]
async fn a_streamed_hand_off_shows_only_the_specialists_text() {
    // Arrange
    let h = Harness::scripted(vec![
        calls("transfer_to_medical_info", "{}"),
        LlmReply::text("Fever is the body's defence. This is general information."),
    ]);

    // Act
    let (shown, last) = stream(&h.service, "what is a fever?").await;

    // Assert
    assert_eq!(
        shown,
        "Fever is the body's defence. This is general information."
    );
    let StreamEvent::Finished(outcome) = last else {
        panic!("expected a finished stream, got {last:?}");
    };
    let reply = outcome.outgoing.expect("a reply");
    assert_eq!(reply.body, shown);
    assert_eq!(reply.agent.as_deref(), Some("medical_info"));
    assert_eq!(outcome.conversation.active_agent, "medical_info");
}

#[tokio::test]
async fn a_streamed_red_flag_is_the_fixed_reply_without_a_model() {
    // Arrange
    let h = Harness::scripted(vec![]);

    // Act
    let (shown, last) = stream(&h.service, "chest pain!").await;

    // Assert
    assert_eq!(shown, "[en] Emergency: call 112 now.");
    let StreamEvent::Finished(outcome) = last else {
        panic!("expected a finished stream, got {last:?}");
    };
    assert_eq!(
        outcome.outgoing.expect("a reply").agent.as_deref(),
        Some(GUARDRAIL_AGENT)
    );
    assert!(h.llm.calls().is_empty());
}
