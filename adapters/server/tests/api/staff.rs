//! The staff API through the real wiring, with credentials enforced: reading the inbox with
//! filters and cursors, taking over, replying as a person on app chat and on WhatsApp (sent to
//! the provider once, its delivery tracked), and releasing, on both backends.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use wa_sql::SqlStore;
use whatsapp_agent::access::{Access, AccessConfig, KeySecret, Scope};

use crate::both_backends;
use crate::fake_openai;
use crate::fake_twilio::{self, FakeTwilio, ACCOUNT_SID, OPTED_OUT};
use crate::helpers::{fresh_database, spawn_at, Backend, TestApp};
use crate::whatsapp::{configure, message, post_signed};

const ADMIN: &str = "staff-test-admin-token-0123456789";
const RED_FLAG: &str = "I have crushing chest pain and can't breathe";

/// An instance that requires credentials, with the bootstrap admin token set and, when given,
/// WhatsApp sent through a fake provider.
async fn locked(backend: Backend, twilio: Option<&FakeTwilio>) -> TestApp {
    locked_with(backend, twilio, None).await
}

/// [`locked`], with the model behind an OpenAI-compatible server at `model` when given.
async fn locked_with(
    backend: Backend,
    twilio: Option<&FakeTwilio>,
    model: Option<String>,
) -> TestApp {
    let (url, pg) = fresh_database(backend).await;
    let provider = twilio.map(|t| t.base_url.clone());
    spawn_at(
        url,
        pg,
        move |s| {
            s.auth.allow_anonymous = false;
            s.server.admin_token = Some(SecretString::from(ADMIN));
            if let Some(base) = provider {
                configure(s, &base, 1);
            }
            if let Some(base) = model {
                s.llm.base_url = Some(base);
                s.llm.api_key = Some("sk-test".to_string().into());
            }
        },
        None,
    )
    .await
}

/// Creates a key straight through the core, on the instance's database.
async fn key(app: &TestApp, name: &str, scope: Scope) -> String {
    let access = Access::new(
        Arc::new(SqlStore::new(app.db.clone())),
        AccessConfig::default(),
    );
    let created: KeySecret = access
        .create_key(name, &[scope])
        .await
        .expect("key created")
        .secret;
    created.expose().to_string()
}

struct Answer {
    status: u16,
    body: Value,
    challenge: Option<String>,
}

async fn call(
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

async fn get(app: &TestApp, path: &str) -> Value {
    let answer = call(app, Method::GET, path, Some(ADMIN), None).await;
    assert_eq!(answer.status, 200, "GET {path}: {}", answer.body);
    answer.body
}

async fn post(app: &TestApp, path: &str, body: Option<&Value>) -> Answer {
    call(app, Method::POST, path, Some(ADMIN), body).await
}

/// One `/chat/` turn as `user`; returns the response body.
async fn chat(app: &TestApp, chat_key: &str, user: &str, content: &str) -> Value {
    let body = json!({"content": content, "user_id": user});
    let answer = call(app, Method::POST, "/chat/", Some(chat_key), Some(&body)).await;
    assert_eq!(answer.status, 200, "chat: {}", answer.body);
    answer.body
}

fn ids(list: &Value) -> Vec<String> {
    list["conversations"]
        .as_array()
        .expect("conversations")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_string())
        .collect()
}

fn summary<'a>(list: &'a Value, id: &str) -> &'a Value {
    list["conversations"]
        .as_array()
        .expect("conversations")
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("{id} is listed in {list}"))
}

both_backends!(
    staff_operations_need_an_admin_credential,
    |backend| async move {
        let app = locked(backend, None).await;
        let chat_key = key(&app, "app backend", Scope::Chat).await;
        let unknown = "0191e8f0-0000-7000-8000-000000000000";
        let reply = json!({"text": "Hello"});
        let operations: Vec<(Method, String, Option<&Value>)> = vec![
            (Method::GET, "/conversations".into(), None),
            (Method::GET, format!("/conversations/{unknown}"), None),
            (Method::GET, "/users/chat_alice/messages".into(), None),
            (
                Method::POST,
                format!("/conversations/{unknown}/takeover"),
                None,
            ),
            (
                Method::POST,
                format!("/conversations/{unknown}/release"),
                None,
            ),
            (
                Method::POST,
                format!("/conversations/{unknown}/messages"),
                Some(&reply),
            ),
        ];

        for (method, path, body) in &operations {
            let anonymous = call(&app, method.clone(), path, None, *body).await;
            let wrong = call(&app, method.clone(), path, Some("not-a-key"), *body).await;
            let chat_scope = call(&app, method.clone(), path, Some(&chat_key), *body).await;

            for refused in [&anonymous, &wrong] {
                assert_eq!(refused.status, 401, "{method} {path}: {}", refused.body);
                assert_eq!(
                    refused.challenge.as_deref(),
                    Some("Bearer"),
                    "{method} {path}"
                );
                assert_eq!(refused.body["error"]["code"], "unauthorized");
            }
            assert_eq!(
                chat_scope.status, 403,
                "{method} {path}: {}",
                chat_scope.body
            );
            assert_eq!(chat_scope.body["error"]["code"], "forbidden");
        }
        let empty = get(&app, "/conversations").await;
        assert_eq!(empty, json!({"conversations": [], "next_cursor": null}));
        for (method, path, body) in operations.into_iter().skip(1) {
            let missing = call(&app, method.clone(), &path, Some(ADMIN), body).await;
            assert_eq!(missing.status, 404, "{method} {path}: {}", missing.body);
            assert_eq!(missing.body["error"]["code"], "not_found");
        }
    }
);

both_backends!(
    unusable_parameters_are_422_naming_them,
    |backend| async move {
        let app = locked(backend, None).await;
        let chat_key = key(&app, "app backend", Scope::Chat).await;
        let turn = chat(&app, &chat_key, "alice", "hello").await;
        let id = turn["conversation_id"].as_str().expect("id").to_string();
        let cases = [
            (
                Method::GET,
                "/conversations?cursor=not-a-cursor".to_string(),
                None,
                "cursor",
            ),
            (Method::GET, "/conversations?limit=0".into(), None, "limit"),
            (
                Method::GET,
                "/conversations?limit=201".into(),
                None,
                "limit",
            ),
            (
                Method::GET,
                "/conversations?state=asleep".into(),
                None,
                "state",
            ),
            (
                Method::GET,
                "/conversations?flagged=maybe".into(),
                None,
                "flagged",
            ),
            (
                Method::GET,
                "/conversations?channel=fax".into(),
                None,
                "channel",
            ),
            (
                Method::GET,
                format!("/conversations/{id}?cursor=AAAA"),
                None,
                "cursor",
            ),
            (
                Method::GET,
                "/users/chat_alice/messages?limit=500".into(),
                None,
                "limit",
            ),
            (
                Method::POST,
                format!("/conversations/{id}/messages"),
                Some(json!({"text": "  "})),
                "text",
            ),
            (
                Method::POST,
                format!("/conversations/{id}/messages"),
                Some(json!({"text": "x".repeat(4097)})),
                "text",
            ),
            (
                Method::POST,
                format!("/conversations/{id}/messages"),
                Some(json!({"author": "Dr Ruiz"})),
                "text",
            ),
            (
                Method::POST,
                format!("/conversations/{id}/messages"),
                Some(json!({"text": "hi", "author": ""})),
                "author",
            ),
        ];

        for (method, path, body, field) in cases {
            let answer = call(&app, method.clone(), &path, Some(ADMIN), body.as_ref()).await;

            assert_eq!(answer.status, 422, "{method} {path}: {}", answer.body);
            assert_eq!(answer.body["error"]["field"], field, "{method} {path}");
        }
        let stored = app
            .count("SELECT COUNT(*) FROM messages WHERE agent LIKE 'human:%'")
            .await;
        assert_eq!(stored, 0, "nothing invalid was stored");
    }
);

both_backends!(
    the_inbox_filters_pages_and_counts_unread,
    |backend| async move {
        let app = locked(backend, None).await;
        let chat_key = key(&app, "app backend", Scope::Chat).await;
        let flagged = chat(&app, &chat_key, "alice", RED_FLAG).await;
        let handed = chat(&app, &chat_key, "carol", "I want to talk to a human").await;
        let mut calm = Vec::new();
        for n in 0..5 {
            let turn = chat(&app, &chat_key, &format!("user{n}"), "What are your hours?").await;
            calm.push(turn["conversation_id"].as_str().expect("id").to_string());
        }
        let flagged_id = flagged["conversation_id"].as_str().expect("id");
        let handed_id = handed["conversation_id"].as_str().expect("id");

        let all = get(&app, "/conversations").await;
        let red = get(&app, "/conversations?flagged=true").await;
        let not_red = get(&app, "/conversations?flagged=false").await;
        let waiting = get(&app, "/conversations?state=waiting_for_human").await;
        let bot = get(&app, "/conversations?state=bot&flagged=false").await;
        let whatsapp = get(&app, "/conversations?channel=whatsapp").await;
        let app_chat = get(&app, "/conversations?channel=chat").await;

        assert_eq!(ids(&all).len(), 7);
        assert_eq!(all["next_cursor"], Value::Null);
        assert_eq!(ids(&all)[6], flagged_id, "most recently active first");
        assert_eq!(ids(&red), [flagged_id]);
        let alice = summary(&red, flagged_id);
        assert_eq!(alice["flag_reason"], "chest_pain");
        assert_eq!(alice["user"]["identity"], "chat_alice");
        assert_eq!(alice["user"]["channel"], "chat");
        assert_eq!(alice["last_message"]["direction"], "outgoing");
        assert_eq!(alice["last_message"]["agent"], "guardrail");
        assert_eq!(alice["unread"], 1);
        assert_eq!(ids(&not_red).len(), 6);
        assert!(!ids(&not_red).contains(&flagged_id.to_string()));
        assert_eq!(ids(&waiting), [handed_id]);
        assert_eq!(summary(&waiting, handed_id)["state"], "waiting_for_human");
        assert_eq!(ids(&bot).len(), 5);
        assert!(calm.iter().all(|id| ids(&bot).contains(id)));
        assert!(ids(&whatsapp).is_empty());
        assert_eq!(ids(&app_chat), ids(&all));

        // Pages of 2 walk the same list: nothing repeated, nothing skipped.
        let mut walked = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10 {
            let path = match &cursor {
                Some(c) => format!("/conversations?limit=2&cursor={c}"),
                None => "/conversations?limit=2".to_string(),
            };
            let page = get(&app, &path).await;
            assert!(ids(&page).len() <= 2);
            walked.extend(ids(&page));
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => break,
            }
        }
        assert_eq!(walked, ids(&all));

        // Opening a conversation shows its messages newest first and marks it seen.
        let opened = get(&app, &format!("/conversations/{flagged_id}")).await;
        let messages = opened["messages"].as_array().expect("messages");
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0]["direction"], "outgoing");
        assert_eq!(messages[0]["agent"], "guardrail");
        assert_eq!(messages[1]["direction"], "incoming");
        assert_eq!(messages[1]["body"], RED_FLAG);
        assert_eq!(messages[1]["media"], json!([]));
        assert_eq!(opened["next_cursor"], Value::Null);
        let after = get(&app, "/conversations?flagged=true").await;
        assert_eq!(summary(&after, flagged_id)["unread"], 0);
        let first = get(&app, &format!("/conversations/{flagged_id}?limit=1")).await;
        let next = first["next_cursor"].as_str().expect("a second page");
        let second = get(
            &app,
            &format!("/conversations/{flagged_id}?limit=1&cursor={next}"),
        )
        .await;
        assert_eq!(first["messages"][0]["id"], messages[0]["id"]);
        assert_eq!(second["messages"][0]["id"], messages[1]["id"]);
        assert_eq!(second["next_cursor"], Value::Null);

        // One user's messages, by identity or by id.
        let by_identity = get(&app, "/users/chat_alice/messages").await;
        let user_id = by_identity["user"]["id"].as_str().expect("user id");
        let by_id = get(&app, &format!("/users/{user_id}/messages?limit=1")).await;
        assert_eq!(by_identity["user"]["identity"], "chat_alice");
        let theirs = by_identity["messages"].as_array().expect("messages");
        assert_eq!(theirs.len(), 2);
        assert!(theirs.iter().all(|m| m["conversation_id"] == flagged_id));
        assert_eq!(by_id["messages"][0]["id"], theirs[0]["id"]);
        assert!(by_id["next_cursor"].is_string());
    }
);

both_backends!(
    a_person_takes_over_replies_on_app_chat_and_releases,
    |backend| async move {
        let app = locked(backend, None).await;
        let chat_key = key(&app, "app backend", Scope::Chat).await;
        let desk_key = key(&app, "Front desk", Scope::Admin).await;
        let first = chat(&app, &chat_key, "bob", "hello").await;
        let id = first["conversation_id"].as_str().expect("id").to_string();

        let taken = post(&app, &format!("/conversations/{id}/takeover"), None).await;
        let silent = chat(&app, &chat_key, "bob", "are you there?").await;
        let signed = post(
            &app,
            &format!("/conversations/{id}/messages"),
            Some(&json!({"text": "Hi Bob, this is Dr Ruiz.", "author": "Dr Ruiz"})),
        )
        .await;
        let by_key = call(
            &app,
            Method::POST,
            &format!("/conversations/{id}/messages"),
            Some(&desk_key),
            Some(&json!({"text": "The front desk here."})),
        )
        .await;
        let by_token = post(
            &app,
            &format!("/conversations/{id}/messages"),
            Some(&json!({"text": "And the team."})),
        )
        .await;
        let opened = get(&app, &format!("/conversations/{id}")).await;
        let released = post(&app, &format!("/conversations/{id}/release"), None).await;
        let answered = chat(&app, &chat_key, "bob", "hello again").await;

        assert_eq!(taken.status, 200, "{}", taken.body);
        assert_eq!(taken.body["state"], "waiting_for_human");
        assert_eq!(silent["content"], "", "the bot stays silent: {silent}");
        assert!(silent.get("outgoing_message_id").is_none());
        assert_eq!(signed.status, 201, "{}", signed.body);
        assert_eq!(signed.body["agent"], "human:Dr Ruiz");
        assert_eq!(signed.body["direction"], "outgoing");
        assert_eq!(signed.body["body"], "Hi Bob, this is Dr Ruiz.");
        assert_eq!(signed.body["conversation_id"], id.as_str());
        assert!(
            signed.body.get("delivery_status").is_none(),
            "app chat sends nothing"
        );
        assert_eq!(by_key.status, 201, "{}", by_key.body);
        assert_eq!(by_key.body["agent"], "human:Front desk");
        assert_eq!(by_token.body["agent"], "human:staff");
        let shown: Vec<&str> = opened["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| m["agent"].as_str().unwrap_or("user"))
            .collect();
        assert_eq!(
            shown[..3],
            ["human:staff", "human:Front desk", "human:Dr Ruiz"],
            "newest first: {shown:?}"
        );
        assert_eq!(opened["conversation"]["state"], "waiting_for_human");
        assert_eq!(released.status, 200, "{}", released.body);
        assert_eq!(released.body["state"], "bot");
        assert!(
            answered["content"].as_str().is_some_and(|c| !c.is_empty()),
            "the bot answers again: {answered}"
        );
        let agents = app
            .texts("SELECT agent FROM messages WHERE agent LIKE 'human:%' ORDER BY agent")
            .await;
        assert_eq!(agents.len(), 3);
    }
);

both_backends!(
    a_persons_reply_on_app_chat_is_in_the_next_turns_history,
    |backend| async move {
        let model = fake_openai::start().await;
        let app = locked_with(backend, None, Some(model.base_url.clone())).await;
        let chat_key = key(&app, "app backend", Scope::Chat).await;
        let first = chat(&app, &chat_key, "dana", "Hola").await;
        let id = first["conversation_id"].as_str().expect("id").to_string();
        let text = "Soy la Dra. Ruiz: su cita es el lunes a las 9.";
        let reply = post(
            &app,
            &format!("/conversations/{id}/messages"),
            Some(&json!({"text": text, "author": "Dra. Ruiz"})),
        )
        .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        assert_eq!(
            post(&app, &format!("/conversations/{id}/release"), None)
                .await
                .status,
            200
        );

        let next = chat(&app, &chat_key, "dana", "¿A qué hora?").await;

        assert_eq!(next["content"], fake_openai::REPLY);
        let seen = model.seen.lock().expect("lock").chat_bodies.clone();
        let last = seen.last().expect("the model was asked").to_string();
        assert!(
            last.contains(text),
            "the person's reply is in the history: {last}"
        );
    }
);

/// Waits until the fake provider has recorded `count` sends.
async fn sends(twilio: &FakeTwilio, count: usize) -> Vec<fake_twilio::Sent> {
    for _ in 0..600 {
        {
            let sent = twilio.sent.lock().expect("lock");
            if sent.len() >= count {
                return sent.clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("expected {count} sends");
}

/// The conversation of the only WhatsApp user whose masked identity ends in `last4`.
async fn whatsapp_conversation(app: &TestApp, last4: &str) -> Value {
    for _ in 0..200 {
        let list = get(app, "/conversations?channel=whatsapp").await;
        let found = list["conversations"]
            .as_array()
            .expect("conversations")
            .iter()
            .find(|c| {
                c["user"]["identity"]
                    .as_str()
                    .is_some_and(|i| i.ends_with(last4))
            })
            .cloned();
        if let Some(found) = found {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no WhatsApp conversation for …{last4}");
}

both_backends!(
    a_reply_on_whatsapp_is_sent_once_and_its_delivery_tracked,
    |backend| async move {
        let twilio = fake_twilio::start().await;
        let app = locked(backend, Some(&twilio)).await;
        let inbound = message("SM5a000000000000000000000000000001", "+14155550107", "hola");
        assert_eq!(post_signed(&app, "/webhook", &inbound).await.status(), 200);
        sends(&twilio, 1).await;
        let conversation = whatsapp_conversation(&app, "0107").await;
        let id = conversation["id"].as_str().expect("id").to_string();
        let text = "Hola Ana, soy la Dra. Ruiz. ¿Cómo se encuentra?";

        let reply = post(
            &app,
            &format!("/conversations/{id}/messages"),
            Some(&json!({"text": text, "author": "Dra. Ruiz"})),
        )
        .await;

        assert_eq!(conversation["user"]["identity"], "+1415•••0107");
        assert_eq!(conversation["user"]["display_name"], "Ana");
        assert_eq!(conversation["user"]["channel"], "whatsapp");
        assert_eq!(reply.status, 201, "{}", reply.body);
        assert_eq!(reply.body["delivery_status"], "sent");
        assert_eq!(reply.body["agent"], "human:Dra. Ruiz");
        let sent = sends(&twilio, 2).await;
        let ours: Vec<_> = sent.iter().filter(|s| s.body == text).collect();
        assert_eq!(ours.len(), 1, "sent exactly once");
        assert_eq!(ours[0].to, "whatsapp:+14155550107");
        assert_eq!(reply.body["provider_message_id"], ours[0].sid.as_str());
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            twilio.sent.lock().expect("lock").len(),
            2,
            "and nothing more afterwards"
        );

        // The provider reports the delivery, as for the bot's replies.
        let callback = vec![
            ("MessageSid".to_string(), ours[0].sid.clone()),
            ("MessageStatus".to_string(), "delivered".to_string()),
            ("AccountSid".to_string(), ACCOUNT_SID.to_string()),
            ("To".to_string(), "whatsapp:+14155550107".to_string()),
        ];
        assert_eq!(
            post_signed(&app, "/webhook/status", &callback)
                .await
                .status(),
            200
        );
        let opened = get(&app, &format!("/conversations/{id}")).await;
        let stored = opened["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .find(|m| m["id"] == reply.body["id"])
            .cloned()
            .expect("the reply is in the conversation");
        assert_eq!(stored["delivery_status"], "delivered");
        assert_eq!(stored["provider_message_id"], ours[0].sid.as_str());
        let by_number = get(&app, "/users/%2B14155550107/messages").await;
        assert_eq!(by_number["messages"][0]["id"], reply.body["id"]);
    }
);

both_backends!(
    a_reply_the_provider_refuses_is_marked_failed,
    |backend| async move {
        let twilio = fake_twilio::start().await;
        let app = locked(backend, Some(&twilio)).await;
        let number = OPTED_OUT.trim_start_matches("whatsapp:");
        let inbound = message("SM5b000000000000000000000000000001", number, "hola");
        assert_eq!(post_signed(&app, "/webhook", &inbound).await.status(), 200);
        let last4 = &number[number.len() - 4..];
        let conversation = whatsapp_conversation(&app, last4).await;
        let id = conversation["id"].as_str().expect("id").to_string();

        let reply = post(
            &app,
            &format!("/conversations/{id}/messages"),
            Some(&json!({"text": "Can you hear us?"})),
        )
        .await;

        assert_eq!(reply.status, 201, "{}", reply.body);
        assert_eq!(reply.body["delivery_status"], "failed");
        let error = reply.body["error"].as_str().expect("the error is kept");
        assert!(error.contains("21610"), "{error}");
        let tries = twilio
            .sent
            .lock()
            .expect("lock")
            .iter()
            .filter(|s| s.body == "Can you hear us?")
            .count();
        assert_eq!(tries, 1, "tried once");
        let stored = app
            .texts("SELECT delivery_status FROM messages WHERE agent = 'human:staff'")
            .await;
        assert_eq!(stored, [Some("failed".to_string())]);
    }
);
