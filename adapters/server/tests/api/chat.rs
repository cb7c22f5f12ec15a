//! `POST /chat/`: the seed's contract end to end, with what ends up in the database.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Value};
use whatsapp_agent::ports::{Blob, ChunkStream, LlmError, LlmPort, LlmReply, LlmRequest};

use crate::both_backends;
use crate::helpers::{spawn, spawn_with, Backend, TestApp};

const SEED_BODY: &str = r#"{
    "content": "I need help with my medical consultation",
    "media_urls": [],
    "audio_urls": []
  }"#;

async fn seed_post(app: &TestApp, path: &str) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("Content-Type", "application/json")
        .body(SEED_BODY)
        .send()
        .await
        .expect("request sent")
}

both_backends!(
    seed_test_1_stores_one_user_and_two_messages,
    |backend| async move {
        let app = spawn(backend).await;

        let response = seed_post(&app, "/chat/").await;

        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json body");
        let content = body["content"].as_str().expect("content is a string");
        assert!(content.starts_with("[offline]"), "{content}");
        assert!(content.contains("I need help with my medical consultation"));
        assert_eq!(body["user_id"], "chat_user");
        assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);
        assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 2);
        let users = app
            .query("SELECT phone_number FROM users WHERE phone_number LIKE 'chat_%'")
            .await;
        assert_eq!(
            users[0]
                .try_get::<String>("", "phone_number")
                .expect("phone"),
            "chat_chat_user"
        );
    }
);

#[tokio::test]
async fn seed_test_3_sql_returns_incoming_and_outgoing_on_postgres() {
    let app = spawn(Backend::Postgres).await;
    assert_eq!(seed_post(&app, "/chat/").await.status(), 200);

    let users = app
        .query("SELECT * FROM users WHERE phone_number LIKE 'chat_%';")
        .await;
    let rows = app
        .query(
            "SELECT u.phone_number, m.direction, m.body, m.created_at
             FROM users u
             JOIN messages m ON u.id = m.user_id
             WHERE u.phone_number LIKE 'chat_%'
             ORDER BY m.created_at DESC
             LIMIT 10;",
        )
        .await;

    assert_eq!(users.len(), 1);
    let mut seen: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get("", "phone_number").expect("phone_number"),
                r.try_get("", "direction").expect("direction"),
                r.try_get("", "body").expect("body"),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].0, "chat_chat_user");
    assert_eq!(seen[0].1, "incoming");
    assert_eq!(seen[0].2, "I need help with my medical consultation");
    assert_eq!(seen[1].1, "outgoing");
    assert!(seen[1].2.starts_with("[offline]"));
}

both_backends!(
    chat_without_trailing_slash_is_served_directly,
    |backend| async move {
        let app = spawn(backend).await;

        let response = seed_post(&app, "/chat").await;

        assert_eq!(response.status(), 200);
        assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 2);
    }
);

both_backends!(user_id_and_first_image_are_stored, |backend| async move {
    let app = spawn(backend).await;

    let response = app
        .post_json(
            "/chat/",
            &json!({
                "content": "what is this rash?",
                "media_urls": ["https://img.example/one.jpg", "https://img.example/two.jpg"],
                "user_id": "patient-42"
            }),
        )
        .await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["user_id"], "patient-42");
    let rows = app
        .query(
            "SELECT u.phone_number, m.direction, m.media_url FROM users u \
             JOIN messages m ON u.id = m.user_id ORDER BY m.created_at, m.id",
        )
        .await;
    assert_eq!(rows.len(), 2);
    let phone: String = rows[0].try_get("", "phone_number").expect("phone");
    assert_eq!(phone, "chat_patient-42");
    let media_url: Option<String> = rows[0].try_get("", "media_url").expect("media_url");
    assert_eq!(media_url.as_deref(), Some("https://img.example/one.jpg"));
    let direction: String = rows[0].try_get("", "direction").expect("direction");
    assert_eq!(direction, "incoming");
    let agent_rows = app
        .query("SELECT agent FROM messages WHERE direction = 'outgoing'")
        .await;
    let agent: Option<String> = agent_rows[0].try_get("", "agent").expect("agent");
    assert_eq!(agent.as_deref(), Some("anna"));
});

both_backends!(
    history_sent_to_the_model_is_bounded_by_config,
    |backend| async move {
        let app = spawn_with(backend, |s| s.agents.config.memory.max_messages = 2, None).await;

        for turn in 0..3 {
            let r = app
                .post_json("/chat/", &json!({"content": format!("turn {turn}")}))
                .await;
            assert_eq!(r.status(), 200);
        }
        let last: Value = app
            .post_json("/chat/", &json!({"content": "last"}))
            .await
            .json()
            .await
            .expect("json");

        let content = last["content"].as_str().expect("content");
        assert!(content.contains("2 earlier messages"), "{content}");
        assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 8);
    }
);

/// A model that always fails the same way.
struct BrokenLlm(LlmError);

#[async_trait]
impl LlmPort for BrokenLlm {
    fn label(&self) -> String {
        "broken".into()
    }
    async fn complete(&self, _: &LlmRequest) -> Result<LlmReply, LlmError> {
        Err(self.0.clone())
    }
    async fn stream(&self, _: &LlmRequest) -> Result<ChunkStream, LlmError> {
        Err(self.0.clone())
    }
    async fn transcribe(&self, _: &Blob) -> Result<String, LlmError> {
        Err(LlmError::Unavailable("no speech model here".into()))
    }
}

async fn failing(backend: Backend, error: LlmError, expected_status: u16, code: &str) {
    let app = spawn_with(backend, |_| {}, Some(Arc::new(BrokenLlm(error)))).await;

    let response = app.post_json("/chat/", &json!({"content": "hello?"})).await;

    assert_eq!(response.status(), expected_status);
    assert!(response.headers()["content-type"]
        .to_str()
        .expect("header")
        .starts_with("application/json"));
    let body: Value = response.json().await.expect("json error body");
    assert_eq!(body["error"]["code"], code);
    let incoming_id = body["error"]["incoming_message_id"]
        .as_str()
        .expect("incoming id reported");
    let rows = app.query("SELECT id, direction, body FROM messages").await;
    assert_eq!(rows.len(), 1, "only the incoming message is stored");
    let direction: String = rows[0].try_get("", "direction").expect("direction");
    let stored_body: String = rows[0].try_get("", "body").expect("body");
    assert_eq!(direction, "incoming");
    assert_eq!(stored_body, "hello?");
    let stored_id: uuid::Uuid = rows[0].try_get("", "id").expect("id");
    assert_eq!(stored_id.to_string(), incoming_id);
}

both_backends!(model_outage_gives_503_and_keeps_the_message, |backend| {
    failing(
        backend,
        LlmError::Unavailable("connection refused".into()),
        503,
        "llm_unavailable",
    )
});

both_backends!(model_timeout_gives_504_and_keeps_the_message, |backend| {
    failing(backend, LlmError::Timeout, 504, "llm_timeout")
});

both_backends!(model_rejection_gives_502_and_keeps_the_message, |backend| {
    failing(
        backend,
        LlmError::Rejected("insufficient_quota".into()),
        502,
        "llm_rejected",
    )
});

/// A model that answers with nothing at all.
struct EmptyLlm;

#[async_trait]
impl LlmPort for EmptyLlm {
    fn label(&self) -> String {
        "empty".into()
    }
    async fn complete(&self, _: &LlmRequest) -> Result<LlmReply, LlmError> {
        Ok(LlmReply::text("  "))
    }
    async fn stream(&self, _: &LlmRequest) -> Result<ChunkStream, LlmError> {
        Ok(Box::pin(futures::stream::empty()))
    }
    async fn transcribe(&self, _: &Blob) -> Result<String, LlmError> {
        Err(LlmError::Unavailable("no speech model here".into()))
    }
}

both_backends!(
    an_empty_model_reply_is_a_502_not_an_empty_answer,
    |backend| async move {
        let app = spawn_with(backend, |_| {}, Some(Arc::new(EmptyLlm))).await;

        let chat = app.post_json("/chat/", &json!({"content": "hello?"})).await;
        let stream = app
            .post_json("/chat/stream", &json!({"content": "hello again?"}))
            .await
            .text()
            .await
            .expect("body");

        assert_eq!(chat.status(), 502);
        let body: Value = chat.json().await.expect("json");
        assert_eq!(body["error"]["code"], "llm_bad_response");
        assert!(stream.contains("\"llm_bad_response\""), "{stream}");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM messages WHERE direction = 'outgoing'")
                .await,
            0
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM messages WHERE direction = 'incoming'")
                .await,
            2
        );
    }
);
