//! Client mistakes get a 4xx JSON error that says what is wrong, and nothing is stored.

use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn, spawn_with, Backend, TestApp};

async fn assert_json_error(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("header")
        .to_string();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: Value = response.json().await.expect("json body");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    body
}

async fn raw(app: &TestApp, content_type: Option<&str>, body: &str) -> reqwest::Response {
    let mut request = app.client.post(app.url("/chat/")).body(body.to_string());
    if let Some(ct) = content_type {
        request = request.header("Content-Type", ct);
    }
    request.send().await.expect("request sent")
}

both_backends!(
    missing_content_is_422_naming_the_field,
    |backend| async move {
        let app = spawn(backend).await;

        let response = app.post_json("/chat/", &json!({"media_urls": []})).await;

        let body = assert_json_error(response, 422).await;
        assert_eq!(body["error"]["field"], "content");
        assert!(body["error"]["message"]
            .as_str()
            .expect("msg")
            .contains("content"));
        assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 0);
    }
);

both_backends!(
    wrongly_typed_fields_are_422_naming_the_field,
    |backend| async move {
        let app = spawn(backend).await;

        let cases = [
            (json!({"content": 42}), "content"),
            (
                json!({"content": "x", "media_urls": "not-a-list"}),
                "media_urls",
            ),
            (json!({"content": "x", "audio_urls": [1]}), "audio_urls[0]"),
            (json!({"content": "x", "user_id": ["a"]}), "user_id"),
        ];
        for (request, field) in cases {
            let body = assert_json_error(app.post_json("/chat/", &request).await, 422).await;
            assert_eq!(body["error"]["field"], field, "for {request}");
        }
        assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 0);
    }
);

both_backends!(empty_content_without_media_is_422, |backend| async move {
    let app = spawn(backend).await;

    for content in ["", "   \n\t"] {
        let response = app.post_json("/chat/", &json!({"content": content})).await;
        let body = assert_json_error(response, 422).await;
        assert_eq!(body["error"]["field"], "content");
    }
    let with_image = app
        .post_json(
            "/chat/",
            &json!({"content": "", "media_urls": ["https://img.example/x.png"]}),
        )
        .await;
    assert_eq!(with_image.status(), 200);
});

both_backends!(invalid_values_are_422, |backend| async move {
    let app = spawn(backend).await;

    let cases = [
        (
            json!({"content": "x", "media_urls": ["ftp://x/y"]}),
            "media_urls[0]",
        ),
        (
            json!({"content": "x", "media_urls": ["https://ok.example/a", "nope"]}),
            "media_urls[1]",
        ),
        (json!({"content": "x", "user_id": ""}), "user_id"),
        (
            json!({"content": "x", "user_id": "a".repeat(500)}),
            "user_id",
        ),
    ];
    for (request, field) in cases {
        let body = assert_json_error(app.post_json("/chat/", &request).await, 422).await;
        assert_eq!(body["error"]["field"], field, "for {request}");
    }
    let not_object = raw(&app, Some("application/json"), "[1, 2]").await;
    assert_json_error(not_object, 422).await;
});

both_backends!(malformed_json_is_400, |backend| async move {
    let app = spawn(backend).await;

    for body in ["{\"content\": ", "{bad json}", "", "\"content\""] {
        let response = raw(&app, Some("application/json"), body).await;
        let status = response.status().as_u16();
        assert!(status == 400 || status == 422, "{body:?} gave {status}");
        let json = assert_json_error(response, status).await;
        if status == 400 {
            assert_eq!(json["error"]["code"], "malformed_json");
        }
    }
    let truncated = raw(&app, Some("application/json"), "{\"content\": \"x\"").await;
    assert_json_error(truncated, 400).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 0);
});

both_backends!(wrong_or_missing_content_type_is_415, |backend| async move {
    let app = spawn(backend).await;

    let body = r#"{"content": "hi"}"#;
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let response = raw(&app, content_type, body).await;
        assert_json_error(response, 415).await;
    }
    let charset = raw(&app, Some("application/json; charset=utf-8"), body).await;
    assert_eq!(charset.status(), 200);
});

both_backends!(oversized_body_is_413, |backend| async move {
    let app = spawn_with(backend, |s| s.server.body_limit_bytes = 4096, None).await;

    let big = json!({"content": "a".repeat(10_000)});
    let response = app.post_json("/chat/", &big).await;
    assert_json_error(response, 413).await;

    // Without a Content-Length the limit still holds while reading.
    let chunks: Vec<Result<String, std::io::Error>> = vec![
        Ok("{\"content\": \"".into()),
        Ok("b".repeat(10_000)),
        Ok("\"}".into()),
    ];
    let streamed = app
        .client
        .post(app.url("/chat/"))
        .header("Content-Type", "application/json")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .expect("sent");
    assert_json_error(streamed, 413).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 0);
});

both_backends!(
    unknown_routes_and_methods_get_json_errors,
    |backend| async move {
        let app = spawn(backend).await;

        let missing = app
            .client
            .get(app.url("/no/such/route"))
            .send()
            .await
            .expect("sent");
        let body = assert_json_error(missing, 404).await;
        assert_eq!(body["error"]["code"], "not_found");

        let wrong_method = app
            .client
            .get(app.url("/chat/"))
            .send()
            .await
            .expect("sent");
        assert_json_error(wrong_method, 405).await;
    }
);

both_backends!(nul_characters_are_422_not_500, |backend| async move {
    let app = spawn(backend).await;

    let content = raw(&app, Some("application/json"), r#"{"content": "a\u0000b"}"#).await;
    let url = raw(
        &app,
        Some("application/json"),
        r#"{"content": "x", "media_urls": ["https://img.example/a\u0000.png"]}"#,
    )
    .await;

    let body = assert_json_error(content, 422).await;
    assert_eq!(body["error"]["field"], "content");
    let body = assert_json_error(url, 422).await;
    assert_eq!(body["error"]["field"], "media_urls[0]");
    assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 0);
});
