//! `POST /chat/stream`: real SSE parsed with an SSE parser, and what ends up stored.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use eventsource_stream::Eventsource;
use futures::{future::join_all, StreamExt};
use serde_json::{json, Value};
use whatsapp_agent::ports::{Blob, ChunkStream, LlmChunk, LlmError, LlmPort, LlmReply, LlmRequest};

use crate::both_backends;
use crate::helpers::{spawn, spawn_with, Backend, TestApp};

/// Posts to the stream endpoint and parses every event's JSON, checking ids as it goes.
pub async fn stream_events(app: &TestApp, body: &Value) -> Vec<Value> {
    let response = app.post_json("/chat/stream", body).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(headers["cache-control"], "no-cache");
    assert_eq!(headers["x-accel-buffering"], "no");
    let mut events = Vec::new();
    let mut stream = response.bytes_stream().eventsource();
    while let Some(event) = stream.next().await {
        let event = event.expect("well-formed SSE");
        assert_eq!(
            event.id,
            (events.len() + 1).to_string(),
            "ids count up from 1"
        );
        events.push(serde_json::from_str(&event.data).expect("JSON data"));
    }
    events
}

/// Polls until the query returns a row or ten seconds pass; returns the rows.
async fn eventually(app: &TestApp, sql: &str) -> Vec<sea_orm::QueryResult> {
    for _ in 0..200 {
        let rows = app.query(sql).await;
        if !rows.is_empty() {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no rows for {sql}");
}

both_backends!(
    events_arrive_in_order_and_add_up_to_the_stored_reply,
    |backend| async move {
        let app = spawn(backend).await;

        let events = stream_events(
        &app,
        &json!({"content": "I need help with my medical consultation", "media_urls": [], "audio_urls": []}),
    )
    .await;

        let (last, deltas) = events.split_last().expect("at least one event");
        assert!(deltas.len() > 3, "word-by-word deltas");
        assert!(deltas.iter().all(|e| e["is_final"] == false));
        assert!(deltas.iter().all(|e| chrono::DateTime::parse_from_rfc3339(
            e["timestamp"].as_str().expect("ts")
        )
        .is_ok()));
        assert_eq!(last["is_final"], true);
        assert_eq!(last["content"], "");
        assert_eq!(last["user_id"], "chat_user");
        let text: String = deltas
            .iter()
            .map(|e| e["content"].as_str().expect("str"))
            .collect();
        let rows = app
            .query("SELECT id, body, error FROM messages WHERE direction = 'outgoing'")
            .await;
        assert_eq!(rows.len(), 1);
        let stored: String = rows[0].try_get("", "body").expect("body");
        assert_eq!(stored, text);
        assert!(stored.starts_with("[offline]"));
        let id: uuid::Uuid = rows[0].try_get("", "id").expect("id");
        assert_eq!(last["outgoing_message_id"], id.to_string());
        let incoming = app
            .query("SELECT id FROM messages WHERE direction = 'incoming'")
            .await;
        let incoming_id: uuid::Uuid = incoming[0].try_get("", "id").expect("id");
        assert_eq!(last["incoming_message_id"], incoming_id.to_string());
    }
);

both_backends!(
    stream_validation_errors_are_plain_4xx,
    |backend| async move {
        let app = spawn(backend).await;

        let missing = app
            .post_json("/chat/stream", &json!({"media_urls": []}))
            .await;
        assert_eq!(missing.status(), 422);
        let body: Value = missing.json().await.expect("json");
        assert_eq!(body["error"]["field"], "content");
        let empty = app
            .post_json("/chat/stream", &json!({"content": " "}))
            .await;
        assert_eq!(empty.status(), 422);
        let wrong_type = app
            .client
            .post(app.url("/chat/stream"))
            .header("content-type", "text/plain")
            .body("hi")
            .send()
            .await
            .expect("sent");
        assert_eq!(wrong_type.status(), 415);
        assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 0);
    }
);

both_backends!(
    a_client_that_leaves_still_gets_a_complete_stored_reply,
    |backend| async move {
        let app = spawn_with(backend, |s| s.llm.offline_word_delay_ms = 30, None).await;

        let response = app
            .post_json(
                "/chat/stream",
                &json!({"content": "please remember this whole sentence"}),
            )
            .await;
        let mut stream = response.bytes_stream().eventsource();
        let first = stream.next().await.expect("first event").expect("valid");
        drop(stream);

        let rows = eventually(
            &app,
            "SELECT body, error FROM messages WHERE direction = 'outgoing'",
        )
        .await;
        let body: String = rows[0].try_get("", "body").expect("body");
        let error: Option<String> = rows[0].try_get("", "error").expect("error");
        let first: Value = serde_json::from_str(&first.data).expect("json");
        assert!(body.starts_with(first["content"].as_str().expect("str")));
        assert!(body.contains("please remember this whole sentence"));
        assert!(body.ends_with("images)"), "complete reply stored: {body}");
        assert_eq!(error, None);
    }
);

/// Streams a few deltas, then fails like a dropped upstream connection.
struct FailsMidStream;

#[async_trait]
impl LlmPort for FailsMidStream {
    fn label(&self) -> String {
        "fails-mid-stream".into()
    }
    async fn complete(&self, _: &LlmRequest) -> Result<LlmReply, LlmError> {
        Err(LlmError::Unavailable("not used".into()))
    }
    async fn stream(&self, _: &LlmRequest) -> Result<ChunkStream, LlmError> {
        let items = vec![
            Ok(LlmChunk::Text("Hello ".to_string())),
            Ok(LlmChunk::Text("wor".to_string())),
            Err(LlmError::Unavailable("upstream connection reset".into())),
        ];
        Ok(futures::stream::iter(items).boxed())
    }
    async fn transcribe(&self, _: &Blob) -> Result<String, LlmError> {
        Err(LlmError::Unavailable("no speech model here".into()))
    }
}

both_backends!(
    a_model_failure_mid_stream_ends_with_an_error_event,
    |backend| async move {
        let app = spawn_with(backend, |_| {}, Some(Arc::new(FailsMidStream))).await;

        let events = stream_events(&app, &json!({"content": "hi"})).await;

        let (last, deltas) = events.split_last().expect("events");
        let text: String = deltas
            .iter()
            .map(|e| e["content"].as_str().expect("str"))
            .collect();
        assert_eq!(text, "Hello wor");
        assert_eq!(last["is_final"], true);
        assert_eq!(last["error"]["code"], "llm_unavailable");
        assert!(last["error"]["message"]
            .as_str()
            .expect("msg")
            .contains("reset"));
        let rows = app
            .query("SELECT id, body, error FROM messages WHERE direction = 'outgoing'")
            .await;
        assert_eq!(rows.len(), 1);
        let body: String = rows[0].try_get("", "body").expect("body");
        let error: Option<String> = rows[0].try_get("", "error").expect("error");
        assert_eq!(body, "Hello wor");
        assert!(error.expect("marked").starts_with("interrupted"));
        let id: uuid::Uuid = rows[0].try_get("", "id").expect("id");
        assert_eq!(last["outgoing_message_id"], id.to_string());
        assert_eq!(
            app.count("SELECT COUNT(*) FROM messages WHERE direction = 'incoming'")
                .await,
            1
        );
    }
);

/// Refuses to start at all.
struct RefusesToStart;

#[async_trait]
impl LlmPort for RefusesToStart {
    fn label(&self) -> String {
        "refuses".into()
    }
    async fn complete(&self, _: &LlmRequest) -> Result<LlmReply, LlmError> {
        Err(LlmError::Timeout)
    }
    async fn stream(&self, _: &LlmRequest) -> Result<ChunkStream, LlmError> {
        Err(LlmError::Timeout)
    }
    async fn transcribe(&self, _: &Blob) -> Result<String, LlmError> {
        Err(LlmError::Unavailable("no speech model here".into()))
    }
}

#[tokio::test]
async fn a_model_that_cannot_start_gives_an_http_error_before_the_stream() {
    let app = spawn_with(Backend::Sqlite, |_| {}, Some(Arc::new(RefusesToStart))).await;

    let response = app
        .post_json("/chat/stream", &json!({"content": "hi"}))
        .await;

    assert_eq!(response.status(), 504);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "llm_timeout");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM messages WHERE direction = 'incoming'")
            .await,
        1
    );
}

#[tokio::test]
async fn streams_past_the_limit_get_503_with_retry_after() {
    let app = spawn_with(
        Backend::Sqlite,
        |s| {
            s.stream.max_concurrent = 1;
            s.llm.offline_word_delay_ms = 100;
        },
        None,
    )
    .await;
    let first = app
        .post_json("/chat/stream", &json!({"content": "one"}))
        .await;
    assert_eq!(first.status(), 200);

    let second = app
        .post_json("/chat/stream", &json!({"content": "two"}))
        .await;

    assert_eq!(second.status(), 503);
    assert!(second.headers().contains_key("retry-after"));
    let body: Value = second.json().await.expect("json");
    assert_eq!(body["error"]["code"], "too_many_streams");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM messages WHERE body = 'two'")
            .await,
        0,
        "a refused stream stores nothing"
    );
    drop(first);
}

#[tokio::test]
async fn keep_alive_comments_flow_while_the_model_is_slow() {
    let app = spawn_with(
        Backend::Sqlite,
        |s| {
            s.stream.keep_alive_secs = 1;
            s.llm.offline_word_delay_ms = 700;
        },
        None,
    )
    .await;

    let response = app
        .post_json("/chat/stream", &json!({"content": "hi"}))
        .await;
    let raw = response.text().await.expect("body");

    assert!(
        raw.lines().any(|l| l.starts_with(':')),
        "a keep-alive comment: {raw}"
    );
    assert!(raw.contains("\"is_final\":true"));
}

#[tokio::test]
async fn one_hundred_concurrent_streams_on_postgres_all_complete() {
    let app = spawn(Backend::Postgres).await;

    let runs = (0..100).map(|i| {
        let app = &app;
        async move {
            let events = stream_events(
                app,
                &json!({"content": format!("stream {i}"), "user_id": format!("s{i}")}),
            )
            .await;
            let last = events.last().expect("events").clone();
            (
                last["is_final"] == true && last.get("error").is_none(),
                events.len(),
            )
        }
    });
    let results = join_all(runs).await;

    assert!(results.iter().all(|(ok, n)| *ok && *n > 3));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM messages WHERE direction = 'outgoing'")
            .await,
        100
    );
}

#[tokio::test]
async fn graceful_shutdown_lets_running_streams_finish() {
    let mut app = spawn_with(Backend::Sqlite, |s| s.llm.offline_word_delay_ms = 60, None).await;
    let response = app
        .post_json("/chat/stream", &json!({"content": "finish me please"}))
        .await;
    let mut stream = response.bytes_stream().eventsource();
    let first = stream.next().await.expect("first").expect("valid");
    assert_eq!(first.id, "1");

    app.stop
        .take()
        .expect("stop handle")
        .send(())
        .expect("signal");
    let mut rest = Vec::new();
    while let Some(event) = stream.next().await {
        rest.push(serde_json::from_str::<Value>(&event.expect("valid").data).expect("json"));
    }

    let last = rest.last().expect("more events after shutdown began");
    assert_eq!(last["is_final"], true);
    assert!(last.get("error").is_none());
    (&mut app.server).await.expect("join").expect("server ran");
    let rows = app
        .query("SELECT body FROM messages WHERE direction = 'outgoing'")
        .await;
    let body: String = rows[0].try_get("", "body").expect("body");
    assert!(body.contains("finish me please"));
    let refused = app.client.get(app.url("/health")).send().await;
    assert!(refused.is_err(), "no new connections after shutdown");
}
