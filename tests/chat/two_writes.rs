//! A turn touches the store twice: accepting files the incoming message in its conversation,
//! finishing stores the reply together with what the turn changed about the conversation.

use std::sync::Arc;
use whatsapp_agent::access::Caller;

use async_trait::async_trait;
use futures::StreamExt;
use tokio::sync::Notify;
use whatsapp_agent::chat::InputLimits;
use whatsapp_agent::domain::Direction;
use whatsapp_agent::ports::{Blob, ChunkStream, LlmChunk, LlmError, LlmPort, LlmReply, LlmRequest};
use whatsapp_agent::{ChatConfig, ChatError, ChatInput, ChatService};

use crate::support::{agents, calls, Harness, MemoryStore, NoFetch};

/// A model that starts answering, says it did, and then never finishes.
struct Stalled {
    asked: Arc<Notify>,
}

#[async_trait]
impl LlmPort for Stalled {
    fn label(&self) -> String {
        "stalled".into()
    }
    async fn complete(&self, _: &LlmRequest) -> Result<LlmReply, LlmError> {
        Err(LlmError::Timeout)
    }
    async fn stream(&self, _: &LlmRequest) -> Result<ChunkStream, LlmError> {
        self.asked.notify_one();
        let first = futures::stream::iter([Ok(LlmChunk::Text("Let me".to_string()))]);
        Ok(first.chain(futures::stream::pending()).boxed())
    }
    async fn transcribe(&self, _: &Blob) -> Result<String, LlmError> {
        Err(LlmError::Timeout)
    }
}

#[tokio::test]
async fn a_turn_dropped_before_it_finishes_leaves_the_message_in_its_conversation_and_no_reply() {
    // Arrange
    let store = Arc::new(MemoryStore::default());
    let asked = Arc::new(Notify::new());
    let service = ChatService::new(
        store.clone(),
        store.clone(),
        Arc::new(Stalled {
            asked: Arc::clone(&asked),
        }),
        Arc::new(NoFetch::default()),
        ChatConfig {
            limits: InputLimits::default(),
            inline_images: false,
        },
        agents(10),
    );
    let turn = tokio::spawn(async move {
        service
            .chat(&Caller::Anonymous, ChatInput::text("are you there?"))
            .await
    });
    asked.notified().await;

    // Act
    turn.abort();
    let ended = turn.await;

    // Assert
    assert!(ended.is_err_and(|e| e.is_cancelled()));
    let stored = store.messages();
    assert_eq!(stored.len(), 1, "no reply, not even a part of one");
    assert_eq!(stored[0].direction, Direction::Incoming);
    let conversation = store.conversations()[0].id;
    assert_eq!(store.conversation_of(stored[0].id), Some(conversation));
    assert!(store.finishes().is_empty(), "the turn never finished");
}

#[tokio::test]
async fn a_reply_and_its_hand_off_are_stored_in_one_write() {
    // Arrange
    let h = Harness::scripted(vec![
        calls("transfer_to_appointments", "{}"),
        LlmReply::text("Which day suits you?"),
    ]);

    // Act
    let outcome = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text("I want to book"))
        .await
        .expect("turn");

    // Assert
    let finishes = h.store.finishes();
    assert_eq!(finishes.len(), 1, "one write finishes the turn");
    let finish = &finishes[0];
    assert_eq!(finish.conversation, outcome.conversation.id);
    assert_eq!(finish.change.active_agent.as_deref(), Some("appointments"));
    let reply = finish
        .reply
        .as_ref()
        .expect("the reply is in the same write");
    assert_eq!(reply.body, "Which day suits you?");
    assert_eq!(Some(reply.id), outcome.outgoing.map(|m| m.id));
}

#[tokio::test]
async fn a_failed_finish_stores_neither_the_reply_nor_the_hand_off() {
    // Arrange
    let h = Harness::scripted(vec![
        calls("transfer_to_appointments", "{}"),
        LlmReply::text("Which day suits you?"),
    ]);
    h.store.refuse_finishing("the database went away");

    // Act
    let result = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text("I want to book"))
        .await;

    // Assert
    assert!(matches!(result, Err(ChatError::Store(_))), "{result:?}");
    let stored = h.store.messages();
    assert_eq!(stored.len(), 1, "only the incoming message");
    assert_eq!(
        h.store.conversations()[0].active_agent,
        "test-persona",
        "the hand-off went with the reply"
    );
}

#[tokio::test]
async fn a_turn_whose_user_is_erased_before_it_finishes_is_refused_as_erased() {
    // Arrange
    let h = Harness::scripted(vec![LlmReply::text("Which day suits you?")]);
    h.store.erase_before_finishing();

    // Act
    let result = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text("I want to book"))
        .await;

    // Assert: a clear outcome the caller can act on, and nothing of the turn kept.
    assert!(matches!(result, Err(ChatError::UserErased)), "{result:?}");
    assert!(h.store.messages().is_empty());
}
