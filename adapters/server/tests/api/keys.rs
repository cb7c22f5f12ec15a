//! Key management through the admin API and the binary, with credentials enforced, on both
//! backends: a key is shown once, works for its scope only, is listed without its secret, and
//! once revoked is refused at once where it was revoked and within the cache time elsewhere.

use std::process::Output;
use std::time::Duration;

use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::binary::binary;
use crate::both_backends;
use crate::helpers::{fresh_database, spawn_at, Backend, TestApp};

pub(crate) const ADMIN: &str = "keys-test-admin-token-0123456789";

/// Settings of an instance that requires credentials and knows the bootstrap admin token.
pub(crate) fn lock(s: &mut wa_server::Settings) {
    s.auth.allow_anonymous = false;
    s.server.admin_token = Some(SecretString::from(ADMIN));
}

pub(crate) struct Answer {
    pub status: u16,
    pub body: Value,
    pub challenge: Option<String>,
}

pub(crate) async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> Answer {
    let mut request = app.client.request(method, app.url(path));
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = response.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        body,
        challenge,
    }
}

/// Creates a key through `POST /keys` with the admin token; returns the created key's body.
pub(crate) async fn create_key(app: &TestApp, name: &str, scopes: &[&str]) -> Value {
    let answer = call(
        app,
        Method::POST,
        "/keys",
        Some(ADMIN),
        Some(&json!({"name": name, "scopes": scopes})),
    )
    .await;
    assert_eq!(answer.status, 201, "create key: {}", answer.body);
    answer.body
}

/// One `/chat/` turn as `user` with `bearer`; returns the status and body.
pub(crate) async fn chat_as(app: &TestApp, bearer: &str, user: &str, body: Value) -> Answer {
    let mut body = body;
    body["user_id"] = json!(user);
    call(app, Method::POST, "/chat/", Some(bearer), Some(&body)).await
}

async fn hello(app: &TestApp, bearer: &str) -> u16 {
    chat_as(app, bearer, "alice", json!({"content": "hello"}))
        .await
        .status
}

both_backends!(
    an_admin_creates_a_chat_key_that_chats_and_is_listed_without_its_secret,
    |backend| async move {
        // Arrange
        let (url, pg) = fresh_database(backend).await;
        let app = spawn_at(url, pg, lock, None).await;

        // Act
        let created = create_key(&app, "patient app backend", &["chat"]).await;
        let key = created["key"]
            .as_str()
            .expect("the key is shown")
            .to_string();
        let prefix = created["prefix"].as_str().expect("prefix").to_string();
        let chatted = hello(&app, &key).await;
        let listed = call(&app, Method::GET, "/keys", Some(ADMIN), None).await;

        // Assert
        assert!(
            key.starts_with(&prefix) && prefix.starts_with("wak_"),
            "{created}"
        );
        assert_eq!(created["name"], "patient app backend");
        assert_eq!(created["scopes"], json!(["chat"]));
        assert!(created["created_at"].is_string(), "{created}");
        assert_eq!(chatted, 200);
        assert_eq!(listed.status, 200, "{}", listed.body);
        let keys = listed.body["keys"].as_array().expect("keys");
        let entry = keys
            .iter()
            .find(|k| k["prefix"] == prefix.as_str())
            .expect("the key is listed");
        assert_eq!(entry["name"], "patient app backend");
        assert_eq!(entry["scopes"], json!(["chat"]));
        assert!(entry.get("key").is_none() && entry.get("revoked_at").is_none());
        let secret_part = &key[prefix.len()..];
        assert!(
            !listed.body.to_string().contains(secret_part),
            "no secret listed"
        );
        let stored = app.texts("SELECT name FROM api_keys").await;
        assert_eq!(stored, [Some("patient app backend".to_string())]);
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) FROM api_keys WHERE lookup_hash LIKE '%{secret_part}%'"
            ))
            .await,
            0,
            "only a hash is stored"
        );
    }
);

both_backends!(
    key_management_needs_the_admin_scope_and_a_valid_request,
    |backend| async move {
        // Arrange
        let (url, pg) = fresh_database(backend).await;
        let app = spawn_at(url, pg, lock, None).await;
        let chat_key = create_key(&app, "app", &["chat"]).await["key"]
            .as_str()
            .expect("key")
            .to_string();
        let admin_key = create_key(&app, "front desk", &["admin"]).await["key"]
            .as_str()
            .expect("key")
            .to_string();
        let body = json!({"name": "x", "scopes": ["chat"]});

        // Act
        let anonymous = call(&app, Method::GET, "/keys", None, None).await;
        let chat_lists = call(&app, Method::GET, "/keys", Some(&chat_key), None).await;
        let chat_creates = call(&app, Method::POST, "/keys", Some(&chat_key), Some(&body)).await;
        let admin_key_lists = call(&app, Method::GET, "/keys", Some(&admin_key), None).await;
        let admin_key_chats = hello(&app, &admin_key).await;
        let invalid = [
            (json!({"name": "x", "scopes": []}), "scopes"),
            (json!({"scopes": ["chat"]}), "name"),
            (json!({"name": "   ", "scopes": ["chat"]}), "name"),
            (json!({"name": "x", "scopes": ["root"]}), "scopes"),
        ];
        let mut refused = Vec::new();
        for (body, _) in &invalid {
            refused.push(call(&app, Method::POST, "/keys", Some(ADMIN), Some(body)).await);
        }
        let unknown = call(
            &app,
            Method::POST,
            "/keys/wak_00000000/revoke",
            Some(ADMIN),
            None,
        )
        .await;

        // Assert
        assert_eq!(anonymous.status, 401, "{}", anonymous.body);
        assert_eq!(anonymous.challenge.as_deref(), Some("Bearer"));
        assert_eq!(anonymous.body["error"]["code"], "unauthorized");
        for forbidden in [&chat_lists, &chat_creates] {
            assert_eq!(forbidden.status, 403, "{}", forbidden.body);
            assert_eq!(forbidden.body["error"]["code"], "forbidden");
        }
        assert_eq!(admin_key_lists.status, 200, "{}", admin_key_lists.body);
        assert_eq!(admin_key_chats, 403, "an admin key does not chat");
        for ((body, field), answer) in invalid.iter().zip(&refused) {
            assert_eq!(answer.status, 422, "{body}: {}", answer.body);
            assert_eq!(answer.body["error"]["code"], "validation_error", "{body}");
            let named = answer.body["error"]["field"].as_str().unwrap_or_default();
            assert!(named.starts_with(field), "{body}: field {named}");
        }
        assert_eq!(unknown.status, 404, "{}", unknown.body);
        assert_eq!(unknown.body["error"]["code"], "not_found");
    }
);

both_backends!(
    a_revoked_key_gets_401_at_once_and_stays_listed,
    |backend| async move {
        // Arrange
        let (url, pg) = fresh_database(backend).await;
        let app = spawn_at(url, pg, lock, None).await;
        let created = create_key(&app, "app", &["chat"]).await;
        let key = created["key"].as_str().expect("key");
        let prefix = created["prefix"].as_str().expect("prefix");
        assert_eq!(hello(&app, key).await, 200, "the key works and is cached");

        // Act
        let path = format!("/keys/{prefix}/revoke");
        let revoked = call(&app, Method::POST, &path, Some(ADMIN), None).await;
        let after = chat_as(&app, key, "alice", json!({"content": "hello"})).await;
        let again = call(&app, Method::POST, &path, Some(ADMIN), None).await;
        let listed = call(&app, Method::GET, "/keys", Some(ADMIN), None).await;

        // Assert
        assert_eq!(revoked.status, 200, "{}", revoked.body);
        assert_eq!(revoked.body["prefix"], prefix);
        assert!(revoked.body["revoked_at"].is_string(), "{}", revoked.body);
        assert!(revoked.body.get("key").is_none());
        assert_eq!(after.status, 401, "{}", after.body);
        assert_eq!(after.challenge.as_deref(), Some("Bearer"));
        assert_eq!(after.body["error"]["code"], "unauthorized");
        assert_eq!(again.status, 200);
        assert_eq!(again.body["revoked_at"], revoked.body["revoked_at"]);
        assert_eq!(
            listed.body["keys"][0]["revoked_at"],
            revoked.body["revoked_at"]
        );
    }
);

/// Polls `/chat/` on `app` with `key` until it answers 401, for at most 10 s.
async fn refused_within(app: &TestApp, key: &str) -> u16 {
    let mut status = 0;
    for _ in 0..100 {
        status = hello(app, key).await;
        if status == 401 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    status
}

both_backends!(
    a_key_revoked_on_another_instance_is_refused_there_too,
    |backend| async move {
        // Arrange: two instances on one database that trust a verified key for 1 s.
        let (url, pg) = fresh_database(backend).await;
        let short_cache = |s: &mut wa_server::Settings| {
            lock(s);
            s.auth.key_cache_secs = 1;
        };
        let a = spawn_at(url.clone(), pg, short_cache, None).await;
        let b = spawn_at(url, None, short_cache, None).await;
        let created = create_key(&a, "app", &["chat"]).await;
        let key = created["key"].as_str().expect("key");
        let prefix = created["prefix"].as_str().expect("prefix");
        assert_eq!(hello(&b, key).await, 200, "B verifies and caches the key");

        // Act
        let revoked = call(
            &a,
            Method::POST,
            &format!("/keys/{prefix}/revoke"),
            Some(ADMIN),
            None,
        )
        .await;

        // Assert
        assert_eq!(revoked.status, 200, "{}", revoked.body);
        assert_eq!(
            refused_within(&b, key).await,
            401,
            "B refuses the revoked key"
        );
    }
);

fn run(url: &str, args: &[&str]) -> Output {
    binary()
        .arg("keys")
        .args(args)
        .env("DATABASE_URL", url)
        .output()
        .expect("binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

both_backends!(
    the_binary_creates_lists_and_revokes_keys,
    |backend| async move {
        // Arrange
        let (url, pg) = fresh_database(backend).await;

        // Act
        let created = run(
            &url,
            &[
                "create", "--name", "ops desk", "--scope", "chat", "--scope", "admin",
            ],
        );
        let text = stdout(&created);
        let key = text
            .lines()
            .find_map(|l| l.strip_prefix("key:"))
            .map(str::trim)
            .expect("the key is printed")
            .to_string();
        let prefix = text
            .lines()
            .find_map(|l| l.strip_prefix("prefix:"))
            .map(str::trim)
            .expect("the prefix is printed")
            .to_string();
        let app = spawn_at(
            url.clone(),
            pg,
            |s| {
                lock(s);
                s.auth.key_cache_secs = 1;
            },
            None,
        )
        .await;
        let works = hello(&app, &key).await;
        let listed = run(&url, &["list"]);
        let revoked = run(&url, &["revoke", &prefix]);
        let listed_after = run(&url, &["list"]);
        let unknown = run(&url, &["revoke", "wak_00000000"]);

        // Assert
        assert!(created.status.success(), "{created:?}");
        assert!(key.starts_with(&prefix), "{text}");
        assert!(text.contains("SHA-256 of \"user-token:\""), "{text}");
        assert_eq!(works, 200, "a key made by the binary works");
        assert!(listed.status.success(), "{listed:?}");
        let table = stdout(&listed);
        let row = table
            .lines()
            .find(|l| l.starts_with(&prefix))
            .expect("listed");
        assert!(
            row.contains("ops desk") && row.contains("admin,chat"),
            "{table}"
        );
        assert!(!table.contains(&key[prefix.len()..]), "no secret listed");
        assert!(revoked.status.success(), "{revoked:?}");
        assert!(stdout(&revoked).starts_with(&format!("revoked {prefix}")));
        let row = stdout(&listed_after)
            .lines()
            .find(|l| l.starts_with(&prefix))
            .map(str::to_string)
            .expect("still listed");
        assert!(
            !row.trim_end().ends_with('-'),
            "revocation time shown: {row}"
        );
        assert_eq!(refused_within(&app, &key).await, 401);
        assert_eq!(unknown.status.code(), Some(1), "{unknown:?}");
        assert!(String::from_utf8_lossy(&unknown.stderr).contains("no API key"));
    }
);

#[test]
fn bad_key_commands_exit_2_with_one_line() {
    for args in [
        &["create", "--scope", "chat"][..],
        &["create", "--name", "x"],
        &["create", "--name", "x", "--scope", "root"],
        &["revoke"],
        &["rotate"],
        &[],
    ] {
        let output = binary().arg("keys").args(args).output().expect("runs");

        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
    }
}
