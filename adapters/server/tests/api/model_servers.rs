//! The service on model servers that differ from OpenAI: a hand-off streamed through a server
//! that cannot stream tools, and replies the model did not finish, as the client and the
//! database see them.

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use serde_json::{json, Value};
use whatsapp_agent::agent::CutOffReplies;
use whatsapp_agent::ports::{
    Blob, ChunkStream, CutOff, LlmChunk, LlmError, LlmPort, LlmReply, LlmRequest,
};

use crate::both_backends;
use crate::fake_tool_server::{self, SPECIALIST_REPLY};
use crate::helpers::{spawn_with, Backend};
use crate::stream::stream_events;

both_backends!(
    a_streamed_hand_off_reaches_the_specialist_on_a_server_that_cannot_stream_tools,
    |backend| async move {
        // Arrange
        let fake = fake_tool_server::start().await;
        let base = fake.base_url.clone();
        let app = spawn_with(backend, move |s| s.llm.base_url = Some(base), None).await;

        // Act
        let events = stream_events(&app, &json!({"content": "When are you open?"})).await;

        // Assert
        let (last, deltas) = events.split_last().expect("events");
        let shown: String = deltas
            .iter()
            .map(|e| e["content"].as_str().expect("content"))
            .collect();
        assert_eq!(shown, SPECIALIST_REPLY);
        assert_eq!(last["is_final"], true);
        assert_eq!(last["agent"], "appointments", "{last}");
        assert!(last.get("error").is_none(), "{last}");
        let stored = app
            .texts("SELECT body FROM messages WHERE direction = 'outgoing'")
            .await;
        assert_eq!(stored, [Some(SPECIALIST_REPLY.to_string())]);
        let streamed: Vec<bool> = fake
            .seen
            .lock()
            .expect("lock")
            .iter()
            .map(|body| body["stream"] == true)
            .collect();
        assert_eq!(
            streamed,
            [true, false, false],
            "one failed stream, then the manager and the specialist asked whole"
        );
    }
);

/// A model whose replies are cut at the token limit.
struct CutLlm;

const CUT: &str = "To book, I need your full name and the day you";

#[async_trait]
impl LlmPort for CutLlm {
    fn label(&self) -> String {
        "cut".into()
    }
    async fn complete(&self, _: &LlmRequest) -> Result<LlmReply, LlmError> {
        Ok(LlmReply {
            cut_off: Some(CutOff::TokenLimit),
            ..LlmReply::text(CUT)
        })
    }
    async fn stream(&self, _: &LlmRequest) -> Result<ChunkStream, LlmError> {
        let chunks = [
            Ok(LlmChunk::Text(CUT.to_string())),
            Ok(LlmChunk::CutOff(CutOff::TokenLimit)),
        ];
        Ok(futures::stream::iter(chunks).boxed())
    }
    async fn transcribe(&self, _: &Blob) -> Result<String, LlmError> {
        Err(LlmError::Rejected("not scripted".into()))
    }
}

both_backends!(
    a_reply_cut_at_the_token_limit_is_marked_for_client_and_database,
    |backend| async move {
        // Arrange
        let app = spawn_with(backend, |_| {}, Some(Arc::new(CutLlm))).await;
        let with_note = format!("{CUT}\n\n{}", CutOffReplies::default().length_note);

        // Act
        let response = app
            .post_json("/chat/", &json!({"content": "book me in"}))
            .await;
        let events = stream_events(&app, &json!({"content": "book me in"})).await;

        // Assert
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["content"], with_note.as_str());
        assert_eq!(body["cut_off"], "length");
        let (last, _) = events.split_last().expect("events");
        assert_eq!(last["cut_off"], "length", "{last}");
        let errors = app
            .texts("SELECT error FROM messages WHERE direction = 'outgoing'")
            .await;
        assert_eq!(errors.len(), 2);
        for error in errors {
            assert_eq!(
                error.as_deref(),
                Some("length: the reply reached the completion-token limit")
            );
        }
    }
);
