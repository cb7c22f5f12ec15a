//! `/chat/` and `/chat/stream` are one turn engine: for the same scripted model, a turn answered
//! whole and the same turn streamed store the same rows, hand-offs and hand-overs included.

use futures::StreamExt;
use whatsapp_agent::access::Caller;
use whatsapp_agent::domain::{Conversation, Direction};
use whatsapp_agent::ports::{CutOff, LlmReply};
use whatsapp_agent::{ChatInput, StreamEvent};

use crate::support::{calls, Harness};

/// What a turn left in the store, without the ids and times that differ between runs.
#[derive(Debug, PartialEq)]
struct Row {
    direction: Direction,
    body: String,
    agent: Option<String>,
    error: Option<String>,
    /// Index of the conversation the message is filed under, in start order.
    conversation: Option<usize>,
}

#[derive(Debug, PartialEq)]
struct ConversationRow {
    active_agent: String,
    state: &'static str,
    flag_reason: Option<String>,
    ended: bool,
}

fn rows(h: &Harness) -> (Vec<Row>, Vec<ConversationRow>) {
    let conversations: Vec<Conversation> = h.store.conversations();
    let index = |id| conversations.iter().position(|c| c.id == id);
    let messages = h
        .store
        .messages()
        .into_iter()
        .map(|m| Row {
            conversation: h.store.conversation_of(m.id).and_then(index),
            direction: m.direction,
            body: m.body,
            agent: m.agent,
            error: m.error,
        })
        .collect();
    let conversations = conversations
        .iter()
        .map(|c| ConversationRow {
            active_agent: c.active_agent.clone(),
            state: c.state.as_str(),
            flag_reason: c.flag_reason.clone(),
            ended: c.ended_at.is_some(),
        })
        .collect();
    (messages, conversations)
}

/// Runs `turns` whole on one harness and streamed on another with the same script; returns
/// both stores' rows.
async fn both_ways(
    script: Vec<LlmReply>,
    turns: &[&str],
) -> (
    (Vec<Row>, Vec<ConversationRow>),
    (Vec<Row>, Vec<ConversationRow>),
) {
    let whole = Harness::scripted(script.clone());
    let streamed = Harness::scripted(script);
    for text in turns {
        whole
            .service
            .chat(&Caller::Anonymous, ChatInput::text(*text))
            .await
            .expect("whole turn");
        let reply = streamed
            .service
            .stream(&Caller::Anonymous, ChatInput::text(*text))
            .await
            .expect("stream starts");
        tokio::spawn(reply.driver);
        let events: Vec<StreamEvent> = reply.events.collect().await;
        assert!(
            matches!(events.last(), Some(StreamEvent::Finished(_))),
            "the stream finishes: {events:?}"
        );
    }
    (rows(&whole), rows(&streamed))
}

#[tokio::test]
async fn a_hand_off_stores_the_same_rows_whole_and_streamed() {
    // Arrange
    let mut transfer = calls("transfer_to_appointments", "{}");
    transfer.text = "Let me pass you on.".to_string();
    let script = vec![
        transfer,
        LlmReply::text("Which day suits you?"),
        LlmReply::text("Tuesday at 10 is noted."),
    ];

    // Act
    let (whole, streamed) = both_ways(script, &["I want to book", "Tuesday morning"]).await;

    // Assert
    assert_eq!(whole, streamed);
    let (messages, conversations) = whole;
    assert_eq!(
        messages[1].body,
        "Let me pass you on.\n\nWhich day suits you?"
    );
    assert_eq!(messages[1].agent.as_deref(), Some("appointments"));
    assert_eq!(messages[3].agent.as_deref(), Some("appointments"));
    assert!(messages.iter().all(|m| m.conversation == Some(0)));
    assert_eq!(conversations[0].active_agent, "appointments");
}

#[tokio::test]
async fn hand_offs_back_and_forth_store_the_same_rows_whole_and_streamed() {
    // Arrange
    let script = vec![
        calls("transfer_to_appointments", "{}"),
        calls("transfer_back_to_manager", "{}"),
        calls("transfer_to_medical_info", "{}"),
        LlmReply::text("Here is some general information."),
    ];

    // Act
    let (whole, streamed) = both_ways(script, &["help"]).await;

    // Assert
    assert_eq!(whole, streamed);
    assert_eq!(whole.0[1].agent.as_deref(), Some("medical_info"));
    assert_eq!(whole.1[0].active_agent, "medical_info");
}

#[tokio::test]
async fn a_hand_over_to_a_person_stores_the_same_rows_whole_and_streamed() {
    // Arrange
    let script = vec![
        calls("transfer_to_appointments", "{}"),
        calls("request_human", r#"{"language":"de"}"#),
    ];

    // Act
    let (whole, streamed) = both_ways(script, &["Rechnung?", "hallo?"]).await;

    // Assert
    assert_eq!(whole, streamed);
    let (messages, conversations) = whole;
    assert_eq!(messages.len(), 3, "one notice, then silence");
    assert_eq!(conversations[0].state, "waiting_for_human");
    assert_eq!(conversations[0].active_agent, "appointments");
}

#[tokio::test]
async fn fixed_replies_store_the_same_rows_whole_and_streamed() {
    // Arrange
    let script = vec![LlmReply::text("Hello!")];

    // Act
    let (whole, streamed) = both_ways(script, &["hi", "chest pain", "/reset"]).await;

    // Assert
    assert_eq!(whole, streamed);
    let (messages, conversations) = whole;
    assert_eq!(messages.len(), 6);
    assert_eq!(conversations[0].flag_reason.as_deref(), Some("chest_pain"));
    assert!(conversations[0].ended);
}

#[tokio::test]
async fn a_reply_cut_at_the_token_limit_stores_the_same_rows_whole_and_streamed() {
    // Arrange
    let script = vec![LlmReply {
        cut_off: Some(CutOff::TokenLimit),
        ..LlmReply::text("To book, I need your")
    }];

    // Act
    let (whole, streamed) = both_ways(script, &["book me in"]).await;

    // Assert
    assert_eq!(whole, streamed);
    assert!(whole.0[1]
        .error
        .as_deref()
        .is_some_and(|e| e.starts_with("length")));
}
