//! Safety first, whatever fails: a red flag in the typed words gets the emergency reply even
//! when the message's attachment cannot be fetched, on app chat and on WhatsApp.

use std::time::Duration;

use serde_json::{json, Value};

use crate::both_backends;
use crate::fake_twilio;
use crate::helpers::{fresh_database, spawn_at, spawn_with, Backend};
use crate::whatsapp::{configure, message, post_signed};

const EMERGENCY: &str = "I have crushing chest pain and I can't breathe";

both_backends!(
    a_red_flag_with_an_unreachable_attachment_gets_the_emergency_reply_on_chat,
    |backend| async move {
        let app = spawn_with(backend, |_| {}, None).await;
        // Nothing listens on port 9, and the address guard refuses loopback anyway: either
        // would be a 422 for an ordinary message.
        for body in [
            json!({"content": EMERGENCY, "media_urls": ["http://127.0.0.1:9/photo.jpg"]}),
            json!({"content": EMERGENCY, "audio_urls": ["http://127.0.0.1:9/note.ogg"]}),
        ] {
            let response = app.post_json("/chat/", &body).await;
            assert_eq!(response.status(), 200);
            let reply: Value = response.json().await.expect("json");
            assert_eq!(reply["agent"], "guardrail", "{reply}");
            assert!(
                reply["content"].as_str().is_some_and(|c| !c.is_empty()),
                "{reply}"
            );
        }
        // The same attachment without a red flag is refused, naming the field.
        let response = app
            .post_json(
                "/chat/",
                &json!({"content": "here is my rash", "media_urls": ["http://127.0.0.1:9/photo.jpg"]}),
            )
            .await;
        assert_eq!(response.status(), 422);
        let error: Value = response.json().await.expect("json");
        assert_eq!(error["error"]["field"], "media_urls[0]");
    }
);

both_backends!(
    a_red_flag_with_an_unreachable_attachment_gets_the_emergency_reply_on_whatsapp,
    |backend| async move {
        let twilio = fake_twilio::start().await;
        let (url, pg) = fresh_database(backend).await;
        let base = twilio.base_url.clone();
        let app = spawn_at(url, pg, move |s| configure(s, &base, 1), None).await;
        let mut params = message(
            "SM5afe0000000000000000000000000001",
            "+14155550177",
            EMERGENCY,
        );
        for (key, value) in &mut params {
            if key == "NumMedia" {
                *value = "1".into();
            }
        }
        // The provider's media URL answers nothing (the fake has no such media).
        params.push((
            "MediaUrl0".into(),
            format!(
                "{}/2010-04-01/Accounts/{}/Messages/MM0/Media/ME0",
                twilio.base_url,
                fake_twilio::ACCOUNT_SID
            ),
        ));
        params.push(("MediaContentType0".into(), "image/jpeg".into()));

        let response = post_signed(&app, "/webhook", &params).await;
        assert_eq!(response.status(), 200);

        let mut sent = Vec::new();
        for _ in 0..400 {
            sent = twilio.sent.lock().expect("lock").clone();
            if !sent.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(sent.len(), 1, "exactly one reply is sent");
        assert_eq!(sent[0].to, "whatsapp:+14155550177");
        let agents = app
            .texts("SELECT agent FROM messages WHERE direction = 'outgoing'")
            .await;
        assert_eq!(agents, vec![Some("guardrail".to_string())]);
        let flags = app.texts("SELECT flag_reason FROM conversations").await;
        assert_eq!(flags, vec![Some("chest_pain".to_string())]);
    }
);
