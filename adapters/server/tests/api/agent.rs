//! The agents end to end through `/chat/`: a hand-off recorded on the stored reply, the red-flag
//! reply without a model call, and a person's takeover released over HTTP.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use serde_json::{json, Value};
use whatsapp_agent::ports::{
    Blob, ChunkStream, LlmChunk, LlmError, LlmPort, LlmReply, LlmRequest, ToolCall,
};

use crate::both_backends;
use crate::helpers::{spawn_with, Backend, TestApp};

/// A model that answers from a script and counts what it was asked.
#[derive(Default)]
struct ScriptedLlm {
    script: Mutex<VecDeque<LlmReply>>,
    asked: Mutex<Vec<LlmRequest>>,
}

impl ScriptedLlm {
    fn new(script: Vec<LlmReply>) -> Arc<Self> {
        Arc::new(Self {
            script: Mutex::new(script.into()),
            ..Self::default()
        })
    }

    fn asked(&self) -> Vec<LlmRequest> {
        self.asked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl LlmPort for ScriptedLlm {
    fn label(&self) -> String {
        "scripted".into()
    }
    async fn complete(&self, request: &LlmRequest) -> Result<LlmReply, LlmError> {
        self.asked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(request.clone());
        self.script
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
            .ok_or_else(|| LlmError::Rejected("script exhausted".into()))
    }
    /// Streams the next scripted reply: its text word by word, then its tool calls.
    async fn stream(&self, request: &LlmRequest) -> Result<ChunkStream, LlmError> {
        use futures::StreamExt;
        let reply = self.complete(request).await?;
        let mut chunks: Vec<Result<LlmChunk, LlmError>> = reply
            .text
            .split_inclusive(' ')
            .map(|word| Ok(LlmChunk::Text(word.to_string())))
            .collect();
        chunks.extend(
            reply
                .tool_calls
                .into_iter()
                .map(|c| Ok(LlmChunk::ToolCall(c))),
        );
        Ok(futures::stream::iter(chunks).boxed())
    }
    async fn transcribe(&self, _: &Blob) -> Result<String, LlmError> {
        Err(LlmError::Rejected("not scripted".into()))
    }
}

fn transfer(to: &str) -> LlmReply {
    LlmReply {
        tool_calls: vec![ToolCall {
            id: "call_1".into(),
            name: format!("transfer_to_{to}"),
            arguments: "{}".into(),
        }],
        ..LlmReply::default()
    }
}

async fn say(app: &TestApp, text: &str) -> Value {
    let response = app.post_json("/chat/", &json!({"content": text})).await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("json body")
}

both_backends!(
    a_hand_off_is_recorded_on_the_stored_reply,
    |backend| async move {
        let llm = ScriptedLlm::new(vec![
            transfer("appointments"),
            LlmReply::text("Which day suits you?"),
        ]);
        let app = spawn_with(backend, |_| {}, Some(llm.clone())).await;

        let body = say(&app, "I would like to book an appointment").await;

        assert_eq!(body["content"], "Which day suits you?");
        assert_eq!(body["agent"], "appointments");
        assert_eq!(body["state"], "bot");
        let agents = app
            .texts("SELECT agent FROM messages WHERE direction = 'outgoing'")
            .await;
        assert_eq!(agents, [Some("appointments".to_string())]);
        let active = app.texts("SELECT active_agent FROM conversations").await;
        assert_eq!(active, [Some("appointments".to_string())]);
        assert!(body["conversation_id"].is_string(), "{body}");
        let filed = app
            .count(
                "SELECT COUNT(*) FROM messages m
                 JOIN conversations c ON m.conversation_id = c.id",
            )
            .await;
        assert_eq!(filed, 2, "both messages belong to the conversation");
        assert_eq!(llm.asked().len(), 2);
    }
);

both_backends!(
    a_red_flag_gets_the_safe_reply_without_a_model_call,
    |backend| async move {
        let llm = ScriptedLlm::new(vec![]);
        let app = spawn_with(backend, |_| {}, Some(llm.clone())).await;

        let body = say(&app, "Tengo un DOLOR en el pecho muy fuerte").await;

        let content = body["content"].as_str().expect("content");
        assert!(content.contains("112"), "{content}");
        assert!(
            content.contains("urgencias"),
            "answered in Spanish: {content}"
        );
        assert_eq!(body["agent"], "guardrail");
        assert!(llm.asked().is_empty(), "the model must not be asked");
        let reasons = app.texts("SELECT flag_reason FROM conversations").await;
        assert_eq!(reasons, [Some("chest_pain".to_string())]);
    }
);

both_backends!(
    a_person_takes_over_and_releases_the_conversation,
    |backend| async move {
        let llm = ScriptedLlm::new(vec![LlmReply::text("Welcome back!")]);
        let app = spawn_with(backend, |_| {}, Some(llm.clone())).await;

        let notice = say(&app, "I want to talk to a human").await;
        let silent = say(&app, "hello? anyone?").await;
        let id = notice["conversation_id"].as_str().expect("id").to_string();
        let released = app
            .post_json(&format!("/conversations/{id}/release"), &json!({}))
            .await;
        let released_status = released.status();
        let released: Value = released.json().await.expect("json");
        let answered = say(&app, "hi again").await;

        assert_eq!(notice["agent"], "system");
        assert_eq!(notice["state"], "waiting_for_human");
        assert_eq!(silent["content"], "");
        assert!(silent.get("outgoing_message_id").is_none(), "{silent}");
        assert_eq!(silent["state"], "waiting_for_human");
        assert_eq!(released_status, 200);
        assert_eq!(released["state"], "bot");
        assert_eq!(released["id"], id.as_str());
        assert_eq!(answered["content"], "Welcome back!");
        assert_eq!(answered["state"], "bot");
        assert_eq!(llm.asked().len(), 1);
        assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 5);
    }
);

both_backends!(
    releasing_an_unknown_conversation_is_a_json_404,
    |backend| async move {
        let app = spawn_with(backend, |_| {}, Some(ScriptedLlm::new(vec![]))).await;

        let response = app
            .post_json(
                "/conversations/0191e8f0-0000-7000-8000-000000000000/release",
                &json!({}),
            )
            .await;

        assert_eq!(response.status(), 404);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"]["code"], "not_found");
    }
);

both_backends!(
    a_streamed_reply_through_a_hand_off_shows_only_the_specialist,
    |backend| async move {
        let llm = ScriptedLlm::new(vec![
            transfer("appointments"),
            LlmReply::text("Which day suits you?"),
        ]);
        let app = spawn_with(backend, |_| {}, Some(llm.clone())).await;

        let text = app
            .post_json("/chat/stream", &json!({"content": "I want an appointment"}))
            .await
            .text()
            .await
            .expect("body");

        let events: Vec<Value> = text
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .map(|d| serde_json::from_str(d).expect("json"))
            .collect();
        let (last, deltas) = events.split_last().expect("events");
        let shown: String = deltas
            .iter()
            .map(|e| e["content"].as_str().expect("str").to_string())
            .collect();
        assert_eq!(shown, "Which day suits you?");
        assert_eq!(last["is_final"], true);
        assert_eq!(last["agent"], "appointments");
        let agents = app
            .texts("SELECT agent FROM messages WHERE direction = 'outgoing'")
            .await;
        assert_eq!(agents, [Some("appointments".to_string())]);
    }
);
