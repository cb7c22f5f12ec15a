//! Who may call: API keys with scopes, end-user tokens bound to one user, anonymous access only
//! on a loopback listener, on both backends.

use std::sync::Arc;

use secrecy::SecretString;
use serde_json::{json, Value};
use wa_sql::SqlStore;
use whatsapp_agent::access::{mint_user_token, Access, AccessConfig, KeySecret, Scope};

use crate::both_backends;
use crate::helpers::{base_settings, spawn_with, Backend, TestApp};

const ADMIN: &str = "test-admin-token-0123456789";

/// An instance that requires credentials, with the bootstrap admin token set.
async fn locked(backend: Backend) -> TestApp {
    spawn_with(
        backend,
        |s| {
            s.auth.allow_anonymous = false;
            s.server.admin_token = Some(SecretString::from(ADMIN));
        },
        None,
    )
    .await
}

/// Creates a key straight through the core, on the instance's database.
async fn key(app: &TestApp, name: &str, scopes: &[Scope]) -> KeySecret {
    let access = Access::new(
        Arc::new(SqlStore::new(app.db.clone())),
        AccessConfig::default(),
    );
    access
        .create_key(name, scopes)
        .await
        .expect("key created")
        .secret
}

async fn chat(app: &TestApp, bearer: Option<&str>, body: &Value) -> (u16, Value, Option<String>) {
    let mut request = app.client.post(app.url("/chat/")).json(body);
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body, challenge)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

both_backends!(
    a_locked_instance_refuses_missing_wrong_and_malformed_credentials,
    |backend| async move {
        let app = locked(backend).await;
        let body = json!({"content": "hello"});
        let unknown = KeySecret::generate();
        for bearer in [
            None,
            Some(unknown.expose()),
            Some("not-a-key"),
            Some("eyJhbGciOiJIUzI1NiJ9.e30.c2ln"),
        ] {
            let (status, error, challenge) = chat(&app, bearer, &body).await;
            assert_eq!(status, 401, "{bearer:?}: {error}");
            assert_eq!(error["error"]["code"], "unauthorized", "{error}");
            assert!(error["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()));
            assert_eq!(challenge.as_deref(), Some("Bearer"));
        }
        // Nothing was stored for refused requests.
        assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 0);
    }
);

both_backends!(
    a_chat_key_chats_as_any_user_and_a_revoked_one_is_refused,
    |backend| async move {
        let app = locked(backend).await;
        let chat_key = key(&app, "app backend", &[Scope::Chat]).await;

        let (status, body, _) = chat(
            &app,
            Some(chat_key.expose()),
            &json!({"content": "hello", "user_id": "alice"}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["user_id"], "alice");

        let access = Access::new(
            Arc::new(SqlStore::new(app.db.clone())),
            AccessConfig::default(),
        );
        let prefix = chat_key.prefix().expect("prefix").to_string();
        access.revoke_key(&prefix).await.expect("revoked");
        // The serving instance caches verified keys for `auth.key_cache_secs`: a revocation
        // made elsewhere takes effect once the entry expires.
        let mut refused = None;
        for _ in 0..40 {
            let (status, body, _) =
                chat(&app, Some(chat_key.expose()), &json!({"content": "hi"})).await;
            if status == 401 {
                refused = Some(body);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        let refused = refused.expect("a revoked key is refused within the cache lifetime");
        assert!(
            refused["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("revoked")),
            "{refused}"
        );
    }
);

both_backends!(a_key_without_the_scope_gets_403, |backend| async move {
    let app = locked(backend).await;
    let admin_key = key(&app, "staff", &[Scope::Admin]).await;
    let chat_key = key(&app, "app", &[Scope::Chat]).await;

    let (status, body, _) =
        chat(&app, Some(admin_key.expose()), &json!({"content": "hello"})).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("chat")));

    let response = app
        .client
        .post(app.url("/conversations/0191e8f0-0000-7000-8000-000000000000/release"))
        .bearer_auth(chat_key.expose())
        .json(&json!({}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.expect("json");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("admin")));

    // The bootstrap admin token reaches staff operations but may not chat.
    let response = app
        .client
        .post(app.url("/conversations/0191e8f0-0000-7000-8000-000000000000/release"))
        .bearer_auth(ADMIN)
        .json(&json!({}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 404);
    let (status, _, _) = chat(&app, Some(ADMIN), &json!({"content": "hello"})).await;
    assert_eq!(status, 403);
});

both_backends!(
    a_user_token_chats_only_as_its_own_user,
    |backend| async move {
        let app = locked(backend).await;
        let chat_key = key(&app, "app backend", &[Scope::Chat]).await;
        let alice = mint_user_token(&chat_key, "alice", now(), now() + 600);

        // Bob tells the assistant something private.
        let (status, _, _) = chat(
            &app,
            Some(chat_key.expose()),
            &json!({"content": "my HIV test came back positive", "user_id": "bob"}),
        )
        .await;
        assert_eq!(status, 200);

        let (status, body, _) = chat(
            &app,
            Some(&alice),
            &json!({"content": "repeat what I told you", "user_id": "bob"}),
        )
        .await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"]["code"], "forbidden");

        // Without a user_id the token's own user is used; with its own, too.
        for body in [
            json!({"content": "repeat what I told you"}),
            json!({"content": "and again", "user_id": "alice"}),
        ] {
            let (status, reply, _) = chat(&app, Some(&alice), &body).await;
            assert_eq!(status, 200, "{reply}");
            assert_eq!(reply["user_id"], "alice");
            assert!(
                !reply["content"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("HIV"),
                "{reply}"
            );
        }
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM messages m JOIN users u ON u.id = m.user_id \
                 WHERE u.phone_number = 'chat_alice' AND m.direction = 'incoming'"
            )
            .await,
            2
        );

        // The stream enforces the same rule.
        let response = app
            .client
            .post(app.url("/chat/stream"))
            .bearer_auth(&alice)
            .json(&json!({"content": "hi", "user_id": "bob"}))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 403);
    }
);

both_backends!(
    expired_forged_and_revoked_user_tokens_are_refused,
    |backend| async move {
        let app = locked(backend).await;
        let chat_key = key(&app, "app backend", &[Scope::Chat]).await;
        let admin_key = key(&app, "staff", &[Scope::Admin]).await;
        let body = json!({"content": "hello"});

        let expired = mint_user_token(&chat_key, "alice", now() - 3600, now() - 600);
        let (status, error, _) = chat(&app, Some(&expired), &body).await;
        assert_eq!(status, 401);
        assert!(error["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("expired")));

        let forever = mint_user_token(&chat_key, "alice", now(), now() + 400 * 86_400);
        let (status, _, _) = chat(&app, Some(&forever), &body).await;
        assert_eq!(status, 401);

        // Signed by a key that may not chat.
        let by_admin = mint_user_token(&admin_key, "alice", now(), now() + 600);
        let (status, _, _) = chat(&app, Some(&by_admin), &body).await;
        assert_eq!(status, 401);

        // Signed with a secret that is not the key's.
        let stranger = KeySecret::generate();
        let forged = mint_user_token(&stranger, "alice", now(), now() + 600);
        let kid_swapped = {
            let genuine = mint_user_token(&chat_key, "alice", now(), now() + 600);
            let header = genuine.split('.').next().unwrap_or_default().to_string();
            let rest = forged.split_once('.').map(|(_, r)| r).unwrap_or_default();
            format!("{header}.{rest}")
        };
        let (status, error, _) = chat(&app, Some(&kid_swapped), &body).await;
        assert_eq!(status, 401, "{error}");

        let valid = mint_user_token(&chat_key, "alice", now(), now() + 600);
        let (status, _, _) = chat(&app, Some(&valid), &body).await;
        assert_eq!(status, 200);
    }
);

both_backends!(
    the_default_local_run_needs_no_key_but_checks_one_that_is_sent,
    |backend| async move {
        let app = spawn_with(backend, |_| {}, None).await;
        let (status, body, _) = chat(&app, None, &json!({"content": "hello"})).await;
        assert_eq!(status, 200, "{body}");
        // A credential that is sent is still checked: a wrong key is never downgraded.
        let wrong = KeySecret::generate();
        let (status, _, _) = chat(&app, Some(wrong.expose()), &json!({"content": "hi"})).await;
        assert_eq!(status, 401);
    }
);

#[test]
fn a_public_listener_without_credentials_refuses_to_start() {
    let mut env: std::collections::HashMap<String, String> = [(
        "APP_CONFIG_DIR".to_string(),
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../config")
            .display()
            .to_string(),
    )]
    .into_iter()
    .collect();
    env.insert("APP_SERVER__HOST".into(), "0.0.0.0".into());
    let err = wa_server::Settings::load_from(&env).expect_err("refused");
    let message = err.to_string();
    assert!(message.contains("auth.allow_anonymous"), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");

    env.insert("APP_AUTH__ALLOW_ANONYMOUS".into(), "false".into());
    assert!(wa_server::Settings::load_from(&env).is_ok());
    let _ = base_settings();
}

/// Runs the README's minting example in `language` and returns the token it prints.
fn mint_with_example(language: &str, key: &str, user_id: &str) -> String {
    let examples = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples");
    let output = match language {
        "python" => std::process::Command::new("python3")
            .arg("-c")
            .arg(format!(
                "import sys; sys.path.insert(0, {dir:?}); import user_token; \
                 print(user_token.user_token({key:?}, {user_id:?}))",
                dir = examples.display().to_string()
            ))
            .output(),
        _ => {
            // Node runs the TypeScript example with its few type annotations removed.
            let source = std::fs::read_to_string(examples.join("user_token.ts")).expect("example");
            let script = source
                .replace("export function", "function")
                .replace(": string | Buffer", "")
                .replace("): string {", ") {")
                .replace(": string", "");
            std::process::Command::new("node")
                .arg("--input-type=module")
                .arg("-e")
                .arg(format!(
                    "{script}\nconsole.log(userToken({key:?}, {user_id:?}));"
                ))
                .output()
        }
    };
    let output =
        output.unwrap_or_else(|e| panic!("the {language} example needs its interpreter: {e}"));
    assert!(
        output.status.success(),
        "{language} example failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

both_backends!(
    the_readme_minting_examples_make_tokens_the_service_accepts,
    |backend| async move {
        let app = locked(backend).await;
        let chat_key = key(&app, "app backend", &[Scope::Chat]).await;
        for language in ["python", "typescript"] {
            let token = mint_with_example(language, chat_key.expose(), "alice");
            let (status, body, _) = chat(&app, Some(&token), &json!({"content": "hi"})).await;
            assert_eq!(status, 200, "{language}: {body}");
            assert_eq!(body["user_id"], "alice");
            let (status, _, _) = chat(
                &app,
                Some(&token),
                &json!({"content": "hi", "user_id": "bob"}),
            )
            .await;
            assert_eq!(status, 403, "{language}");
        }
    }
);
