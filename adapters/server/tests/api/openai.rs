//! The service configured with an OpenAI-compatible server: chat, stream and voice notes go
//! through the real adapter to a local fake that speaks the wire format.

use serde_json::{json, Value};

use crate::both_backends;
use crate::fake_openai::{self, REPLY, TRANSCRIPT};
use crate::helpers::{spawn_with, Backend};

both_backends!(
    chat_answers_with_the_configured_model,
    |backend| async move {
        let fake = fake_openai::start().await;
        let base = fake.base_url.clone();
        let app = spawn_with(
            backend,
            move |s| {
                s.llm.base_url = Some(base);
                s.llm.api_key = Some("sk-test".to_string().into());
            },
            None,
        )
        .await;

        let response = app.post_json("/chat/", &json!({"content": "Hola"})).await;

        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["content"], REPLY);
        let seen = fake.seen.lock().expect("lock");
        let sent = &seen.chat_bodies[0];
        assert_eq!(sent["messages"][0]["role"], "system");
        assert!(sent["messages"][0]["content"]
            .as_str()
            .expect("persona")
            .contains("Anna"));
        assert_eq!(
            sent["messages"]
                .as_array()
                .expect("messages")
                .last()
                .expect("turn")["content"],
            "Hola"
        );
    }
);

#[tokio::test]
async fn stream_relays_the_model_deltas() {
    let fake = fake_openai::start().await;
    let base = fake.base_url.clone();
    let app = spawn_with(Backend::Sqlite, move |s| s.llm.base_url = Some(base), None).await;

    let text = app
        .post_json("/chat/stream", &json!({"content": "Hola"}))
        .await
        .text()
        .await
        .expect("body");

    let deltas: String = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str::<Value>(d).expect("json"))
        .filter(|e| e["is_final"] == false)
        .map(|e| e["content"].as_str().expect("str").to_string())
        .collect();
    assert_eq!(deltas, REPLY);
    let rows = app
        .query("SELECT body FROM messages WHERE direction = 'outgoing'")
        .await;
    assert_eq!(rows[0].try_get::<String>("", "body").expect("body"), REPLY);
}

both_backends!(
    voice_notes_are_transcribed_and_the_transcript_is_stored,
    |backend| async move {
        let fake = fake_openai::start().await;
        let base = fake.base_url.clone();
        let app = spawn_with(
            backend,
            move |s| {
                s.llm.base_url = Some(base);
                s.media.allow_private_networks = true;
            },
            None,
        )
        .await;

        let response = app
            .post_json(
                "/chat/",
                &json!({"content": "", "audio_urls": [fake.media_url]}),
            )
            .await;

        assert_eq!(response.status(), 200);
        let (file, turn) = {
            let seen = fake.seen.lock().expect("lock");
            let turn = seen.chat_bodies[0]["messages"]
                .as_array()
                .expect("messages")
                .last()
                .expect("turn")
                .clone();
            (seen.transcription_files[0].clone(), turn)
        };
        let (name, content_type, bytes) = &file;
        assert_eq!(name, "voice.ogg");
        assert_eq!(content_type, "audio/ogg");
        assert!(bytes.starts_with(b"OggS"));
        assert!(turn["content"].as_str().expect("text").contains(TRANSCRIPT));
        let rows = app
            .query("SELECT media FROM messages WHERE direction = 'incoming'")
            .await;
        let media: Value = rows[0].try_get("", "media").expect("media json");
        assert_eq!(media[0]["transcript"], TRANSCRIPT);
        assert_eq!(media[0]["kind"], "audio");
    }
);

both_backends!(
    private_media_urls_are_refused_and_the_message_kept,
    |backend| async move {
        let fake = fake_openai::start().await;
        let base = fake.base_url.clone();
        let app = spawn_with(backend, move |s| s.llm.base_url = Some(base), None).await;

        let response = app
            .post_json(
                "/chat/",
                &json!({"content": "listen", "audio_urls": [fake.media_url]}),
            )
            .await;

        assert_eq!(response.status(), 422);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"]["code"], "media_rejected");
        assert_eq!(body["error"]["field"], "audio_urls[0]");
        assert!(body["error"]["incoming_message_id"].is_string());
        assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 1);
        assert!(fake
            .seen
            .lock()
            .expect("lock")
            .transcription_files
            .is_empty());
    }
);

both_backends!(
    a_model_server_that_is_down_gives_503_and_keeps_the_message,
    |backend| async move {
        let app = spawn_with(
            backend,
            |s| {
                s.llm.base_url = Some("http://127.0.0.1:9/v1".into());
                s.llm.max_retries = 0;
            },
            None,
        )
        .await;

        let response = app.post_json("/chat/", &json!({"content": "hello"})).await;

        assert_eq!(response.status(), 503);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"]["code"], "llm_unavailable");
        assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 1);
    }
);

/// Transcription is down; chat would work.
struct DeafLlm;

#[async_trait::async_trait]
impl whatsapp_agent::ports::LlmPort for DeafLlm {
    fn label(&self) -> String {
        "deaf".into()
    }
    async fn complete(
        &self,
        _: &whatsapp_agent::ports::LlmRequest,
    ) -> Result<whatsapp_agent::ports::LlmReply, whatsapp_agent::ports::LlmError> {
        Ok(whatsapp_agent::ports::LlmReply::text("unused"))
    }
    async fn stream(
        &self,
        _: &whatsapp_agent::ports::LlmRequest,
    ) -> Result<whatsapp_agent::ports::ChunkStream, whatsapp_agent::ports::LlmError> {
        Err(whatsapp_agent::ports::LlmError::Timeout)
    }
    async fn transcribe(
        &self,
        _: &whatsapp_agent::ports::Blob,
    ) -> Result<String, whatsapp_agent::ports::LlmError> {
        Err(whatsapp_agent::ports::LlmError::Unavailable(
            "transcription service overloaded".into(),
        ))
    }
}

both_backends!(
    a_failed_transcription_is_a_clear_error_and_loses_nothing,
    |backend| async move {
        let fake = fake_openai::start().await;
        let app = spawn_with(
            backend,
            |s| s.media.allow_private_networks = true,
            Some(std::sync::Arc::new(DeafLlm)),
        )
        .await;

        let response = app
            .post_json(
                "/chat/",
                &json!({"content": "escucha esto", "audio_urls": [fake.media_url]}),
            )
            .await;

        assert_eq!(response.status(), 503);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"]["code"], "llm_unavailable");
        assert!(body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("transcription"));
        assert!(body["error"]["incoming_message_id"].is_string());
        let rows = app
            .query("SELECT body, media FROM messages WHERE direction = 'incoming'")
            .await;
        assert_eq!(rows.len(), 1);
        assert_eq!(
            rows[0].try_get::<String>("", "body").expect("body"),
            "escucha esto"
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 1);
    }
);
