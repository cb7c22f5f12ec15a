//! Replies the model did not finish: the agent's policy decides what the user gets, the stored
//! reply is marked, and each agent's token limit and tool choice reach the model.

use futures::StreamExt;
use whatsapp_agent::access::Caller;
use whatsapp_agent::agent::{AgentsConfig, CutOffPolicy, CutOffReplies};
use whatsapp_agent::ports::{CutOff, LlmReply, ToolChoice};
use whatsapp_agent::{ChatInput, ChatService, StreamEvent};

use crate::support::{agents, calls, Harness};

const CUT: &str = "To book, I need your full name and the day you";

fn cut(cut_off: CutOff) -> LlmReply {
    LlmReply {
        cut_off: Some(cut_off),
        ..LlmReply::text(CUT)
    }
}

/// The test agents, every one with `policy` and a limit of 120 tokens.
fn with_policy(policy: CutOffPolicy) -> AgentsConfig {
    let mut config = agents(10);
    for agent in std::iter::once(&mut config.manager).chain(config.specialists.iter_mut()) {
        agent.model.on_cut_off = policy;
        agent.model.max_completion_tokens = Some(120);
    }
    config
}

async fn stream(service: &ChatService, text: &str) -> (String, StreamEvent) {
    let reply = service
        .stream(&Caller::Anonymous, ChatInput::text(text))
        .await
        .expect("starts");
    tokio::spawn(reply.driver);
    let mut shown = String::new();
    let mut last = None;
    for event in reply.events.collect::<Vec<_>>().await {
        match event {
            StreamEvent::Delta(delta) => shown.push_str(&delta),
            other => last = Some(other),
        }
    }
    (shown, last.expect("a final event"))
}

#[tokio::test]
async fn a_reply_cut_at_the_token_limit_gets_the_note_and_is_marked() {
    // Arrange
    let h = Harness::with_agents(
        with_policy(CutOffPolicy::Note),
        vec![Ok(cut(CutOff::TokenLimit))],
    );

    // Act
    let outcome = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text("book me in"))
        .await
        .expect("turn");

    // Assert
    let note = CutOffReplies::default().length_note;
    let reply = outcome.outgoing.expect("a reply");
    assert_eq!(reply.body, format!("{CUT}\n\n{note}"));
    assert_eq!(
        reply.error.as_deref(),
        Some("length: the reply reached the completion-token limit")
    );
    assert_eq!(outcome.cut_off, Some(CutOff::TokenLimit));
    assert_eq!(h.llm.only_request().max_completion_tokens, Some(120));
}

#[tokio::test]
async fn a_filtered_reply_becomes_the_fallback_reply_when_the_agent_says_so() {
    // Arrange
    let h = Harness::with_agents(
        with_policy(CutOffPolicy::Fallback),
        vec![Ok(cut(CutOff::ContentFilter))],
    );

    // Act
    let outcome = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text("tell me"))
        .await
        .expect("turn");

    // Assert
    let reply = outcome.outgoing.expect("a reply");
    assert_eq!(reply.body, CutOffReplies::default().fallback_reply);
    assert!(reply
        .error
        .as_deref()
        .is_some_and(|e| e.starts_with("content_filter: ")));
    assert_eq!(outcome.cut_off, Some(CutOff::ContentFilter));
}

#[tokio::test]
async fn an_empty_filtered_reply_kept_as_is_is_a_model_failure() {
    // Arrange
    let empty = LlmReply {
        cut_off: Some(CutOff::ContentFilter),
        ..LlmReply::default()
    };
    let h = Harness::with_agents(with_policy(CutOffPolicy::Keep), vec![Ok(empty)]);

    // Act
    let result = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text("tell me"))
        .await;

    // Assert
    assert!(result.is_err(), "nothing to send: {result:?}");
    assert_eq!(h.store.messages().len(), 1, "only the incoming message");
}

#[tokio::test]
async fn a_streamed_cut_reply_ends_with_the_note_and_says_why_in_the_final_event() {
    // Arrange
    let h = Harness::with_agents(
        with_policy(CutOffPolicy::Note),
        vec![Ok(cut(CutOff::TokenLimit))],
    );

    // Act
    let (shown, last) = stream(&h.service, "book me in").await;

    // Assert
    let note = CutOffReplies::default().length_note;
    assert_eq!(shown, format!("{CUT}\n\n{note}"));
    let StreamEvent::Finished(outcome) = last else {
        panic!("expected a finished stream, got {last:?}");
    };
    assert_eq!(outcome.cut_off, Some(CutOff::TokenLimit));
    let reply = outcome.outgoing.expect("a reply");
    assert_eq!(reply.body, shown, "stored as shown");
    assert!(reply.error.is_some());
}

#[tokio::test]
async fn a_streamed_fallback_follows_the_text_already_shown() {
    // Arrange
    let h = Harness::with_agents(
        with_policy(CutOffPolicy::Fallback),
        vec![Ok(cut(CutOff::TokenLimit))],
    );

    // Act
    let (shown, last) = stream(&h.service, "book me in").await;

    // Assert
    let fallback = CutOffReplies::default().fallback_reply;
    assert_eq!(shown, format!("{CUT}\n\n{fallback}"));
    let StreamEvent::Finished(outcome) = last else {
        panic!("expected a finished stream, got {last:?}");
    };
    assert_eq!(outcome.outgoing.expect("a reply").body, shown);
}

#[tokio::test]
async fn each_agent_asks_with_its_own_tool_choice_and_the_last_hop_offers_no_tools() {
    // Arrange
    let mut config = agents(10);
    config.manager.model.tool_choice = Some(ToolChoice::Required);
    config.max_handoffs = 1;
    let h = Harness::with_agents(
        config,
        vec![
            Ok(calls("transfer_to_appointments", "{}")),
            Ok(LlmReply::text("Monday at 9 works.")),
        ],
    );

    // Act
    h.service
        .chat(&Caller::Anonymous, ChatInput::text("book me in"))
        .await
        .expect("turn");

    // Assert
    let asked = h.llm.calls();
    assert_eq!(asked[0].request.tool_choice, Some(ToolChoice::Required));
    assert!(asked[1].request.tools.is_empty());
    assert_eq!(asked[1].request.tool_choice, None, "no tools, no choice");
}

#[tokio::test]
async fn the_note_on_a_cut_reply_is_in_the_language_the_user_writes_in() {
    // Arrange: Spanish has its own texts, English uses the general ones.
    let mut config = with_policy(CutOffPolicy::Note);
    let spanish = CutOffReplies {
        length_note: "(Mi respuesta se ha cortado.)".to_string(),
        ..CutOffReplies::default()
    };
    for language in &mut config.languages {
        if language.code == "es" {
            language.cut_off = Some(spanish.clone());
        }
    }
    let h = Harness::with_agents(
        config,
        vec![Ok(cut(CutOff::TokenLimit)), Ok(cut(CutOff::TokenLimit))],
    );

    // Act
    let spanish_turn = h
        .service
        .chat(
            &Caller::Anonymous,
            ChatInput::text("quiero pedir una cita para el lunes"),
        )
        .await
        .expect("turn");
    let english_turn = h
        .service
        .chat(
            &Caller::Anonymous,
            ChatInput::text("I want to book an appointment for Monday"),
        )
        .await
        .expect("turn");

    // Assert
    let body = |o: &whatsapp_agent::TurnOutcome| o.outgoing.as_ref().expect("a reply").body.clone();
    assert!(
        body(&spanish_turn).ends_with(&spanish.length_note),
        "{}",
        body(&spanish_turn)
    );
    assert!(
        body(&english_turn).ends_with(&CutOffReplies::default().length_note),
        "{}",
        body(&english_turn)
    );
}
