//! Probes, docs and the served spec.

use sea_orm::{ConnectionTrait, Database};
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{admin_url, spawn, Backend};

both_backends!(liveness_and_readiness_answer, |backend| async move {
    let app = spawn(backend).await;

    let live = app
        .client
        .get(app.url("/health"))
        .send()
        .await
        .expect("sent");
    assert_eq!(live.status(), 200);
    let ready = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .expect("sent");
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.expect("json");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["checks"]["database"], "ok");
    assert_eq!(body["llm"], "offline");
});

#[tokio::test]
async fn readiness_is_503_when_the_database_is_gone() {
    let app = spawn(Backend::Postgres).await;
    let name = app.pg_name.clone().expect("postgres database name");
    let admin = Database::connect(admin_url()).await.expect("admin");

    admin
        .execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .await
        .expect("drop database");
    let ready = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .expect("sent");
    let chat = app
        .post_json("/chat/", &serde_json::json!({"content": "anyone there?"}))
        .await;

    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.expect("json");
    assert_eq!(body["status"], "unavailable");
    assert_eq!(chat.status(), 503);
    let body: Value = chat.json().await.expect("json");
    assert_eq!(body["error"]["code"], "database_unavailable");
}

both_backends!(docs_and_spec_are_served, |backend| async move {
    let app = spawn(backend).await;

    let docs = app.client.get(app.url("/docs")).send().await.expect("sent");
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.expect("html").contains("swagger"));
    let spec: Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json spec");
    assert!(spec["paths"]["/chat"]["post"].is_object());
    let yaml = app
        .client
        .get(app.url("/openapi.yaml"))
        .send()
        .await
        .expect("sent");
    assert_eq!(yaml.status(), 200);
});

#[tokio::test]
async fn browser_apps_get_cors_only_for_allowed_origins() {
    let app = crate::helpers::spawn_with(
        Backend::Sqlite,
        |s| s.server.cors_allowed_origins = vec!["https://app.example.com".into()],
        None,
    )
    .await;

    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/chat/stream"))
        .header("Origin", "https://app.example.com")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .expect("sent");
    let allowed = app
        .client
        .post(app.url("/chat/"))
        .header("Origin", "https://app.example.com")
        .json(&serde_json::json!({"content": "hola"}))
        .send()
        .await
        .expect("sent");
    let other = app
        .client
        .post(app.url("/chat/"))
        .header("Origin", "https://evil.example")
        .json(&serde_json::json!({"content": "hola"}))
        .send()
        .await
        .expect("sent");

    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert_eq!(allowed.status(), 200);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert!(!other.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn readiness_names_the_dependency_that_is_down_but_not_the_driver_error() {
    let app = spawn(Backend::Postgres).await;
    let name = app.pg_name.clone().expect("postgres database name");
    let admin = Database::connect(admin_url()).await.expect("admin");

    admin
        .execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .await
        .expect("drop database");
    let ready = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .expect("sent");

    assert_eq!(ready.status(), 503);
    let text = ready.text().await.expect("body");
    let body: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["checks"]["database"], "down");
    assert_eq!(body["database"], "down");
    for driver_text in [
        name.as_str(),
        "does not exist",
        "terminat",
        "error",
        "postgres",
    ] {
        assert!(
            !text.to_lowercase().contains(driver_text),
            "{driver_text:?} in {text}"
        );
    }
}
