//! The manager answers or hands the conversation to a specialist, who answers in the same turn
//! and keeps the conversation until it hands it back.

use whatsapp_agent::access::Caller;
use whatsapp_agent::ports::LlmReply;
use whatsapp_agent::ChatInput;

use crate::support::{calls, persona, Harness};

#[tokio::test]
async fn the_manager_answers_a_plain_question_herself() {
    // Arrange
    let h = Harness::scripted(vec![LlmReply::text("Hello! How can I help?")]);

    // Act
    let outcome = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text("hi"))
        .await
        .expect("turn");

    // Assert
    let reply = outcome.outgoing.expect("a reply");
    assert_eq!(reply.body, "Hello! How can I help?");
    assert_eq!(reply.agent.as_deref(), Some("test-persona"));
    let request = h.llm.only_request();
    assert_eq!(request.system, persona().instructions);
    let tools: Vec<&str> = request.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        tools,
        [
            "transfer_to_appointments",
            "transfer_to_medical_info",
            "request_human"
        ]
    );
}

#[tokio::test]
async fn a_transfer_lets_the_specialist_answer_in_the_same_turn() {
    // Arrange
    let h = Harness::scripted(vec![
        calls("transfer_to_appointments", "{}"),
        LlmReply::text("Which day suits you?"),
    ]);

    // Act
    let outcome = h
        .service
        .chat(
            &Caller::Anonymous,
            ChatInput::text("I want to book an appointment"),
        )
        .await
        .expect("turn");

    // Assert
    let reply = outcome.outgoing.expect("a reply");
    assert_eq!(reply.body, "Which day suits you?");
    assert_eq!(reply.agent.as_deref(), Some("appointments"));
    assert_eq!(outcome.conversation.active_agent, "appointments");
    let asked = h.llm.calls();
    assert_eq!(asked.len(), 2);
    assert_eq!(
        asked[1].request.system,
        "You are the appointments specialist."
    );
    let last_user_turn = asked[1].request.messages.last().expect("the turn");
    assert_eq!(last_user_turn.text, "I want to book an appointment");
    assert_eq!(h.store.messages().len(), 2, "one question, one answer");
}

#[tokio::test]
async fn a_later_turn_stays_with_the_specialist() {
    // Arrange
    let h = Harness::scripted(vec![
        calls("transfer_to_appointments", "{}"),
        LlmReply::text("Which day suits you?"),
        LlmReply::text("Tuesday at 10 is noted."),
    ]);
    h.service
        .chat(&Caller::Anonymous, ChatInput::text("I want to book"))
        .await
        .expect("first turn");

    // Act
    let outcome = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text("Tuesday morning"))
        .await
        .expect("second turn");

    // Assert
    let reply = outcome.outgoing.expect("a reply");
    assert_eq!(reply.agent.as_deref(), Some("appointments"));
    let third = &h.llm.calls()[2].request;
    assert_eq!(third.system, "You are the appointments specialist.");
    let tools: Vec<&str> = third.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tools, ["transfer_back_to_manager", "request_human"]);
    let said: Vec<&str> = third.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(
        said,
        ["I want to book", "Which day suits you?", "Tuesday morning"]
    );
}

#[tokio::test]
async fn handing_back_lets_the_manager_answer_and_keep_the_conversation() {
    // Arrange
    let h = Harness::scripted(vec![
        calls("transfer_to_appointments", "{}"),
        LlmReply::text("Which day suits you?"),
        calls("transfer_back_to_manager", "{}"),
        LlmReply::text("Happy to help with anything else!"),
    ]);
    h.service
        .chat(&Caller::Anonymous, ChatInput::text("I want to book"))
        .await
        .expect("first turn");

    // Act
    let outcome = h
        .service
        .chat(
            &Caller::Anonymous,
            ChatInput::text("actually, a different question"),
        )
        .await
        .expect("second turn");

    // Assert
    let reply = outcome.outgoing.expect("a reply");
    assert_eq!(reply.body, "Happy to help with anything else!");
    assert_eq!(reply.agent.as_deref(), Some("test-persona"));
    assert_eq!(outcome.conversation.active_agent, "test-persona");
    assert_eq!(h.llm.calls()[3].request.system, persona().instructions);
}

#[tokio::test]
async fn a_model_that_keeps_transferring_is_stopped_and_made_to_answer() {
    // Arrange
    let h = Harness::scripted(vec![
        calls("transfer_to_appointments", "{}"),
        calls("transfer_back_to_manager", "{}"),
        calls("transfer_to_medical_info", "{}"),
        LlmReply::text("Here is some general information."),
    ]);

    // Act
    let outcome = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text("help"))
        .await
        .expect("turn");

    // Assert
    let asked = h.llm.calls();
    assert_eq!(asked.len(), 4, "three hand-offs, then an answer");
    assert!(
        asked[3].request.tools.is_empty(),
        "the last agent gets no tools"
    );
    let reply = outcome.outgoing.expect("a reply");
    assert_eq!(reply.agent.as_deref(), Some("medical_info"));
    assert_eq!(reply.body, "Here is some general information.");
}
