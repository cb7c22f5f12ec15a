//! The inbox page as the binary serves it, and the staff's live feed of conversation changes
//! through the real wiring with credentials enforced, on both backends.

use std::sync::Arc;
use std::time::Duration;

use eventsource_stream::Eventsource;
use futures::StreamExt;
use secrecy::SecretString;
use serde_json::{json, Value};
use wa_sql::SqlStore;
use whatsapp_agent::access::{Access, AccessConfig, Scope};

use crate::both_backends;
use crate::fake_twilio::{self, FakeTwilio, Faults, ACCOUNT_SID};
use crate::helpers::{spawn_with, Backend, TestApp};
use crate::whatsapp::{configure, message, post_signed};

const ADMIN: &str = "inbox-test-admin-token-0123456789";

/// An instance that requires credentials, with WhatsApp sent through `twilio` when given.
async fn locked(backend: Backend) -> TestApp {
    locked_with(backend, None).await
}

async fn locked_with(backend: Backend, twilio: Option<&FakeTwilio>) -> TestApp {
    let provider = twilio.map(|t| t.base_url.clone());
    spawn_with(
        backend,
        move |s| {
            s.auth.allow_anonymous = false;
            s.server.admin_token = Some(SecretString::from(ADMIN));
            if let Some(base) = provider {
                configure(s, &base, 1);
            }
        },
        None,
    )
    .await
}

async fn chat_key(app: &TestApp) -> String {
    let access = Access::new(
        Arc::new(SqlStore::new(app.db.clone())),
        AccessConfig::default(),
    );
    let created = access
        .create_key("inbox test", &[Scope::Chat])
        .await
        .expect("key created");
    created.secret.expose().to_string()
}

fn header(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn the_page_and_its_script_are_served_with_a_strict_policy() {
    let app = locked(Backend::Sqlite).await;

    let page = app
        .client
        .get(app.url("/inbox"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200, "the page needs no credential");
    assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
    let csp = header(&page, "content-security-policy");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(header(&page, "cache-control"), "no-cache");
    let html = page.text().await.expect("html");
    let script = html
        .split("src=\"")
        .find_map(|rest| {
            rest.split('"')
                .next()
                .filter(|s| s.starts_with("/inbox/app.js"))
        })
        .expect("the page names its script")
        .to_string();

    let js = app
        .client
        .get(app.url(&script))
        .send()
        .await
        .expect("script");
    assert_eq!(js.status(), 200);
    assert_eq!(
        header(&js, "content-type"),
        "text/javascript; charset=utf-8"
    );
    assert!(header(&js, "cache-control").contains("immutable"));
    let trailing = app
        .client
        .get(app.url("/inbox/"))
        .send()
        .await
        .expect("page");
    assert_eq!(trailing.status(), 200);
}

/// The next feed event, within `wait`.
async fn next_event(
    events: &mut (impl futures::Stream<Item = Result<eventsource_stream::Event, impl std::fmt::Debug>>
              + Unpin),
    wait: Duration,
) -> Value {
    let event = tokio::time::timeout(wait, events.next())
        .await
        .expect("an event arrives in time")
        .expect("the feed stays open")
        .expect("a well-formed event");
    assert_eq!(event.event, "conversation");
    serde_json::from_str(&event.data).expect("JSON data")
}

both_backends!(
    the_feed_needs_a_staff_key_and_tells_each_change,
    |backend| async move {
        let app = locked(backend).await;
        let feed = app.url("/conversations/events");

        let anonymous = app.client.get(&feed).send().await.expect("feed");
        assert_eq!(anonymous.status(), 401);
        assert_eq!(header(&anonymous, "www-authenticate"), "Bearer");
        let chat = chat_key(&app).await;
        let chatter = app
            .client
            .get(&feed)
            .bearer_auth(&chat)
            .send()
            .await
            .expect("feed");
        assert_eq!(chatter.status(), 403, "a chat key may not follow the inbox");

        let resp = app
            .client
            .get(&feed)
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("feed");
        assert_eq!(resp.status(), 200);
        assert!(header(&resp, "content-type").starts_with("text/event-stream"));
        let mut events = resp.bytes_stream().eventsource();

        let turn = app
            .client
            .post(app.url("/chat/"))
            .bearer_auth(&chat)
            .json(&json!({"content": "I have crushing chest pain and can't breathe", "user_id": "feed-1"}))
            .send()
            .await
            .expect("chat");
        assert_eq!(turn.status(), 200);
        let turn: Value = turn.json().await.expect("reply");
        let id = turn["conversation_id"]
            .as_str()
            .expect("conversation id")
            .to_string();

        let event = loop {
            let event = next_event(&mut events, Duration::from_secs(10)).await;
            if event["conversation"]["flag_reason"].is_string() {
                break event;
            }
        };
        let conversation = &event["conversation"];
        assert_eq!(conversation["id"], id.as_str());
        assert_eq!(conversation["user"]["identity"], "chat_feed-1");
        assert!(event["changed_at"].is_string());

        let reply = app
            .client
            .post(app.url(&format!("/conversations/{id}/messages")))
            .bearer_auth(ADMIN)
            .json(&json!({"text": "This is Dr Ruiz; I am calling you now.", "author": "Dr Ruiz"}))
            .send()
            .await
            .expect("reply");
        assert_eq!(reply.status(), 201);
        let event = loop {
            let event = next_event(&mut events, Duration::from_secs(10)).await;
            if event["conversation"]["last_message"]["agent"] == "human:Dr Ruiz" {
                break event;
            }
        };
        assert_eq!(event["conversation"]["id"], id.as_str());
        assert_eq!(event["conversation"]["state"], "waiting_for_human");

        let release = app
            .client
            .post(app.url(&format!("/conversations/{id}/release")))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("release");
        assert_eq!(release.status(), 200);
        let released = next_event(&mut events, Duration::from_secs(10)).await;
        assert_eq!(released["conversation"]["id"], id.as_str());
        assert_eq!(released["conversation"]["state"], "bot", "{released}");
    }
);

/// Waits until the fake provider has recorded `count` sends; their ids.
async fn sent_ids(twilio: &FakeTwilio, count: usize) -> Vec<(String, String)> {
    for _ in 0..600 {
        {
            let sent = twilio.sent.lock().expect("lock");
            if sent.len() >= count {
                return sent
                    .iter()
                    .map(|s| (s.sid.clone(), s.body.clone()))
                    .collect();
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("expected {count} sends");
}

both_backends!(
    the_feed_tells_a_delivery_status_of_a_persons_reply,
    |backend| async move {
        let twilio = fake_twilio::start().await;
        let app = locked_with(backend, Some(&twilio)).await;
        let inbound = message("SM5a000000000000000000000000000099", "+14155550142", "hola");
        assert_eq!(post_signed(&app, "/webhook", &inbound).await.status(), 200);
        sent_ids(&twilio, 1).await;
        let list: Value = app
            .client
            .get(app.url("/conversations?channel=whatsapp"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        let id = list["conversations"][0]["id"]
            .as_str()
            .expect("a WhatsApp conversation")
            .to_string();
        let resp = app
            .client
            .get(app.url("/conversations/events"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("feed");
        let mut events = resp.bytes_stream().eventsource();

        let text = "Hola Ana, soy la Dra. Ruiz.";
        let reply = app
            .client
            .post(app.url(&format!("/conversations/{id}/messages")))
            .bearer_auth(ADMIN)
            .json(&json!({"text": text, "author": "Dra. Ruiz"}))
            .send()
            .await
            .expect("reply");
        assert_eq!(reply.status(), 201);
        let replied = loop {
            let event = next_event(&mut events, Duration::from_secs(10)).await;
            if event["conversation"]["last_message"]["agent"] == "human:Dra. Ruiz" {
                break event;
            }
        };
        let sid = sent_ids(&twilio, 2)
            .await
            .into_iter()
            .find(|(_, body)| body == text)
            .map(|(sid, _)| sid)
            .expect("the reply was sent");
        let callback = vec![
            ("MessageSid".to_string(), sid),
            ("MessageStatus".to_string(), "delivered".to_string()),
            ("AccountSid".to_string(), ACCOUNT_SID.to_string()),
            ("To".to_string(), "whatsapp:+14155550142".to_string()),
        ];
        assert_eq!(
            post_signed(&app, "/webhook/status", &callback)
                .await
                .status(),
            200
        );

        let delivered = next_event(&mut events, Duration::from_secs(10)).await;
        assert_eq!(delivered["conversation"]["id"], id.as_str());
        let when = |event: &Value| {
            chrono::DateTime::parse_from_rfc3339(event["changed_at"].as_str().unwrap_or_default())
                .expect("an RFC 3339 time")
        };
        assert!(
            when(&delivered) > when(&replied),
            "{delivered} after {replied}"
        );
    }
);

both_backends!(
    a_persons_failed_reply_is_sent_again_once,
    |backend| async move {
        let twilio = fake_twilio::start().await;
        let app = locked_with(backend, Some(&twilio)).await;
        let inbound = message("SM5a000000000000000000000000000077", "+14155550177", "hola");
        assert_eq!(post_signed(&app, "/webhook", &inbound).await.status(), 200);
        sent_ids(&twilio, 1).await;
        let list: Value = app
            .client
            .get(app.url("/conversations?channel=whatsapp"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        let id = list["conversations"][0]["id"]
            .as_str()
            .expect("a WhatsApp conversation")
            .to_string();
        twilio.set_faults(Faults {
            fail_status: Some(400),
            remaining: Some(1),
            ..Faults::default()
        });
        let text = "Hola, soy la Dra. Ruiz: llame al 112 ahora.";
        let failed: Value = app
            .client
            .post(app.url(&format!("/conversations/{id}/messages")))
            .bearer_auth(ADMIN)
            .json(&json!({"text": text, "author": "Dra. Ruiz"}))
            .send()
            .await
            .expect("reply")
            .json()
            .await
            .expect("json");
        assert_eq!(failed["delivery_status"], "failed", "{failed}");
        let retry = |message: &str| {
            app.client
                .post(app.url(&format!("/conversations/{id}/messages/{message}/retry")))
                .bearer_auth(ADMIN)
                .send()
        };

        let again = retry(failed["id"].as_str().expect("id"))
            .await
            .expect("retry");

        assert_eq!(again.status(), 200);
        let again: Value = again.json().await.expect("json");
        assert_eq!(again["id"], failed["id"]);
        assert_eq!(again["delivery_status"], "sent", "{again}");
        let sends: Vec<_> = sent_ids(&twilio, 2)
            .await
            .into_iter()
            .filter(|(sid, body)| body == text && !sid.is_empty())
            .collect();
        assert_eq!(sends.len(), 1, "sent once, the second time");
        let twice = retry(failed["id"].as_str().expect("id"))
            .await
            .expect("retry");
        assert_eq!(twice.status(), 422, "a sent reply is not sent again");
        let unknown = retry(&uuid::Uuid::new_v4().to_string())
            .await
            .expect("retry");
        assert_eq!(unknown.status(), 404);
    }
);

#[tokio::test]
async fn the_feed_ends_when_the_server_shuts_down() {
    let mut app = locked(Backend::Sqlite).await;
    let resp = app
        .client
        .get(app.url("/conversations/events"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("feed");
    let mut events = resp.bytes_stream().eventsource();

    let _ = app.stop.take().expect("running").send(());

    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while events.next().await.is_some() {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "the feed ends, it does not hold the shutdown"
    );
    let stopped = tokio::time::timeout(Duration::from_secs(10), &mut app.server).await;
    assert!(
        stopped.is_ok(),
        "the server stops well before its shutdown deadline"
    );
}

/// The only job's status once it is done or failed.
async fn settled_job(app: &TestApp) -> String {
    for _ in 0..600 {
        let status = app.texts("SELECT status FROM inbound_jobs").await;
        if let Some(Some(status)) = status.first() {
            if status == "done" || status == "failed" {
                return status.clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the job never settled");
}

/// A WhatsApp conversation, opened: its id and the bot's reply in it.
async fn bots_reply(app: &TestApp) -> (String, Value) {
    let list: Value = app
        .client
        .get(app.url("/conversations?channel=whatsapp"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let id = list["conversations"][0]["id"]
        .as_str()
        .expect("a WhatsApp conversation")
        .to_string();
    let opened: Value = app
        .client
        .get(app.url(&format!("/conversations/{id}")))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("conversation")
        .json()
        .await
        .expect("json");
    let reply = opened["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .find(|m| m["direction"] == "outgoing")
        .cloned()
        .expect("the bot replied");
    (id, reply)
}

both_backends!(
    a_bots_failed_reply_is_re_driven_sent_once_and_told_live,
    |backend| async move {
        let twilio = fake_twilio::start().await;
        let app = locked_with(backend, Some(&twilio)).await;
        // The provider refuses the bot's reply for good (a 400 is not retried).
        twilio.set_faults(Faults {
            fail_status: Some(400),
            remaining: Some(1),
            ..Faults::default()
        });
        let inbound = message("SM5a000000000000000000000000000066", "+14155550166", "hola");
        assert_eq!(post_signed(&app, "/webhook", &inbound).await.status(), 200);
        assert_eq!(settled_job(&app).await, "failed");
        let (id, failed) = bots_reply(&app).await;
        assert_eq!(failed["delivery_status"], "failed", "{failed}");
        assert_eq!(failed["agent"], "anna");
        assert!(twilio.created().is_empty(), "nothing went out");
        let message_id = failed["id"].as_str().expect("id").to_string();
        let body = failed["body"].as_str().expect("body").to_string();
        let resp = app
            .client
            .get(app.url("/conversations/events"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("feed");
        let mut events = resp.bytes_stream().eventsource();
        let retry = || {
            app.client
                .post(app.url(&format!("/conversations/{id}/messages/{message_id}/retry")))
                .bearer_auth(ADMIN)
                .send()
        };

        let again = retry().await.expect("retry");

        assert_eq!(again.status(), 200);
        let again: Value = again.json().await.expect("json");
        assert_eq!(again["id"], failed["id"]);
        assert_eq!(
            again["body"], failed["body"],
            "the stored reply, not a new one"
        );
        assert_eq!(again["delivery_status"], "queued", "{again}");
        assert!(again["error"].is_null(), "{again}");
        assert_eq!(settled_job(&app).await, "done");
        let sent: Vec<_> = twilio
            .created()
            .into_iter()
            .filter(|s| s.body == body)
            .collect();
        assert_eq!(sent.len(), 1, "sent once, by the re-driven job");
        assert_eq!(sent[0].to, "whatsapp:+14155550166");
        let (_, stored) = bots_reply(&app).await;
        assert_eq!(stored["id"], failed["id"]);
        assert_eq!(stored["provider_message_id"], sent[0].sid.as_str());
        assert_eq!(stored["delivery_status"], "queued", "{stored}");
        assert!(stored["error"].is_null(), "{stored}");
        // The page reloads the conversation on each event: one tells of the send.
        let told = loop {
            let event = next_event(&mut events, Duration::from_secs(10)).await;
            let at = chrono::DateTime::parse_from_rfc3339(
                event["changed_at"].as_str().unwrap_or_default(),
            )
            .expect("an RFC 3339 time");
            if event["conversation"]["id"] == id.as_str() && at >= sent[0].date_created {
                break event;
            }
        };
        assert_eq!(told["conversation"]["id"], id.as_str());
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(twilio.created().len(), 1, "and nothing more afterwards");
        let twice = retry().await.expect("retry");
        assert_eq!(twice.status(), 422, "a reply on its way is not sent again");
    }
);

both_backends!(
    a_bots_reply_whose_job_is_not_failed_is_not_re_driven,
    |backend| async move {
        let twilio = fake_twilio::start().await;
        let app = locked_with(backend, Some(&twilio)).await;
        let inbound = message("SM5a000000000000000000000000000055", "+14155550155", "hola");
        assert_eq!(post_signed(&app, "/webhook", &inbound).await.status(), 200);
        assert_eq!(settled_job(&app).await, "done");
        let (id, reply) = bots_reply(&app).await;
        let sid = reply["provider_message_id"]
            .as_str()
            .expect("the provider took it")
            .to_string();
        // The provider took the reply but could not deliver it.
        let callback = vec![
            ("MessageSid".to_string(), sid),
            ("MessageStatus".to_string(), "undelivered".to_string()),
            ("ErrorCode".to_string(), "63016".to_string()),
            ("AccountSid".to_string(), ACCOUNT_SID.to_string()),
            ("To".to_string(), "whatsapp:+14155550155".to_string()),
        ];
        assert_eq!(
            post_signed(&app, "/webhook/status", &callback)
                .await
                .status(),
            200
        );
        let (_, undelivered) = bots_reply(&app).await;
        assert_eq!(undelivered["delivery_status"], "undelivered");
        let message_id = reply["id"].as_str().expect("id");

        let refused = app
            .client
            .post(app.url(&format!("/conversations/{id}/messages/{message_id}/retry")))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("retry");

        assert_eq!(refused.status(), 409);
        let refused: Value = refused.json().await.expect("json");
        assert_eq!(refused["error"]["code"], "job_not_failed", "{refused}");
        assert_eq!(refused["error"]["field"], "message_id");
        let said = refused["error"]["message"].as_str().unwrap_or_default();
        assert!(said.contains("done"), "{said}");
        assert_eq!(settled_job(&app).await, "done", "the job is left alone");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(twilio.created().len(), 1, "nothing is sent again");
    }
);
