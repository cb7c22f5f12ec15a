//! The HTTP contract as the spec states it: 405 names the allowed methods, the webhooks'
//! framework-level refusals are typed JSON errors, and the request limits of the spec are the
//! ones the server enforces.

use serde_json::{json, Value};

use crate::helpers::{spawn, spawn_with, Backend};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_method_a_path_does_not_serve_is_405_with_allow() {
    let app = spawn(Backend::Sqlite).await;
    let cases = [
        (reqwest::Method::PUT, "/chat", "POST"),
        (reqwest::Method::DELETE, "/chat/", "POST"),
        (reqwest::Method::GET, "/chat/stream", "POST"),
        (reqwest::Method::POST, "/health", "GET, HEAD"),
        (reqwest::Method::PATCH, "/webhook", "GET, HEAD, POST"),
        (
            reqwest::Method::GET,
            "/conversations/0190f5a0-0003-7000-8000-000000000004/release",
            "POST",
        ),
        (reqwest::Method::POST, "/openapi.json", "GET, HEAD"),
    ];
    for (method, path, allow) in cases {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .expect("sent");

        assert_eq!(response.status(), 405, "{method} {path}");
        assert_eq!(
            response
                .headers()
                .get("allow")
                .and_then(|v| v.to_str().ok()),
            Some(allow),
            "{method} {path}"
        );
        let body: Value = response.json().await.expect("json error body");
        assert_eq!(body["error"]["code"], "method_not_allowed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_refuse_a_wrong_content_type_with_a_typed_415() {
    let app = spawn_with(
        Backend::Sqlite,
        |s| s.twilio.auth_token = Some("token".to_string().into()),
        None,
    )
    .await;
    for path in ["/webhook", "/webhook/status"] {
        let response = app
            .client
            .post(app.url(path))
            .header("Content-Type", "application/json")
            .header("X-Twilio-Signature", "x")
            .body("{}")
            .send()
            .await
            .expect("sent");

        assert_eq!(response.status(), 415, "{path}");
        let body: Value = response.json().await.expect("json error body");
        assert_eq!(body["error"]["code"], "unsupported_media_type", "{path}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_body_over_the_limit_is_a_typed_413() {
    let app = spawn_with(Backend::Sqlite, |s| s.server.body_limit_bytes = 1024, None).await;

    let response = app
        .client
        .post(app.url("/webhook"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("Body={}", "a".repeat(4096)))
        .send()
        .await
        .expect("sent");

    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.expect("json error body");
    assert_eq!(body["error"]["code"], "payload_too_large");
}

/// The limits the spec publishes on `ChatRequest`, read from the served spec, hold at the
/// server: one past each is a 422 naming the field, and the limit itself is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_published_request_limits_are_the_enforced_ones() {
    let app = spawn(Backend::Sqlite).await;
    let spec: Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("spec");
    let props = &spec["components"]["schemas"]["ChatRequest"]["properties"];
    let max_content = props["content"]["maxLength"]
        .as_u64()
        .expect("content limit") as usize;
    let max_user_id = props["user_id"]["maxLength"]
        .as_u64()
        .expect("user_id limit") as usize;
    let max_urls = props["media_urls"]["maxItems"].as_u64().expect("url count") as usize;

    let refused = [
        (json!({"content": "a".repeat(max_content + 1)}), "content"),
        (json!({"content": " \n\t"}), "content"),
        (json!({"content": "hi", "user_id": ""}), "user_id"),
        (
            json!({"content": "hi", "user_id": "u".repeat(max_user_id + 1)}),
            "user_id",
        ),
        (
            json!({"content": "hi", "media_urls": vec!["https://a.example/x.png"; max_urls + 1]}),
            "media_urls",
        ),
        (
            json!({"content": "hi", "media_urls": ["ftp://a.example/x.png"]}),
            "media_urls[0]",
        ),
    ];
    for (body, field) in refused {
        let response = app.post_json("/chat/", &body).await;
        assert_eq!(response.status(), 422, "{field}");
        let error: Value = response.json().await.expect("json");
        assert_eq!(error["error"]["field"], field);
    }

    let accepted = [
        json!({"content": "a".repeat(max_content)}),
        json!({"content": "hi", "user_id": "u".repeat(max_user_id)}),
        json!({"content": "hi", "user_id": null, "media_urls": null, "audio_urls": null}),
    ];
    for body in accepted {
        let response = app.post_json("/chat/", &body).await;
        assert_eq!(response.status(), 200);
    }
}

/// Swagger UI shows the completed document (limits, links), not the framework's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_page_shows_the_served_spec() {
    let app = spawn(Backend::Sqlite).await;

    let html = app
        .client
        .get(app.url("/docs"))
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("html");

    assert!(html.contains("\"maxLength\": 16000"), "limits are shown");
    assert!(
        html.contains("\"ReleaseConversation\""),
        "the link is shown"
    );
}
