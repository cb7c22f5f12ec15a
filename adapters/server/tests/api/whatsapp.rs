//! WhatsApp through the webhook: signatures, the durable inbox, exactly one reply per message
//! in order, long replies split, and delivery status callbacks.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use serde_json::Value;
use wa_sql::SqlStore;
use whatsapp_agent::ports::{
    Blob, ChunkStream, JobLeases, LeaseError, LlmChunk, LlmError, LlmPort, LlmReply, LlmRequest,
};

use crate::both_backends;
use crate::fake_twilio::{
    self, encode, sign, FakeTwilio, ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, PUBLIC_BASE,
};
use crate::helpers::{fresh_database, spawn_at, Backend, TestApp};

pub(crate) fn configure(s: &mut wa_server::Settings, twilio: &str, workers: usize) {
    s.twilio.account_sid = Some(ACCOUNT_SID.into());
    s.twilio.auth_token = Some(AUTH_TOKEN.to_string().into());
    s.twilio.phone_number = Some(FROM_NUMBER.into());
    s.twilio.public_base_url = PUBLIC_BASE.into();
    s.twilio.api_base_url = twilio.into();
    s.twilio.max_send_retries = 1;
    s.worker.concurrency = workers;
    s.worker.poll_interval_ms = 20;
    s.worker.retry_base_ms = 50;
}

async fn whatsapp_app(backend: Backend, workers: usize) -> (TestApp, FakeTwilio, String) {
    let twilio = fake_twilio::start().await;
    let (url, pg) = fresh_database(backend).await;
    let base = twilio.base_url.clone();
    let app = spawn_at(url.clone(), pg, move |s| configure(s, &base, workers), None).await;
    (app, twilio, url)
}

pub(crate) fn message(sid: &str, from: &str, body: &str) -> Vec<(String, String)> {
    vec![
        ("SmsMessageSid".into(), sid.into()),
        ("NumMedia".into(), "0".into()),
        ("ProfileName".into(), "Ana".into()),
        ("MessageType".into(), "text".into()),
        ("SmsSid".into(), sid.into()),
        ("WaId".into(), from.trim_start_matches('+').into()),
        ("SmsStatus".into(), "received".into()),
        ("Body".into(), body.into()),
        ("To".into(), format!("whatsapp:{FROM_NUMBER}")),
        ("NumSegments".into(), "1".into()),
        ("ReferralNumMedia".into(), "0".into()),
        ("MessageSid".into(), sid.into()),
        ("AccountSid".into(), ACCOUNT_SID.into()),
        ("From".into(), format!("whatsapp:{from}")),
        ("ApiVersion".into(), "2010-04-01".into()),
    ]
}

fn pairs(params: &[(String, String)]) -> Vec<(&str, &str)> {
    params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

pub(crate) async fn post_signed(
    app: &TestApp,
    path: &str,
    params: &[(String, String)],
) -> reqwest::Response {
    let signature = sign(&format!("{PUBLIC_BASE}{path}"), &pairs(params));
    app.client
        .post(app.url(path))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("X-Twilio-Signature", signature)
        .body(encode(&pairs(params)))
        .send()
        .await
        .expect("sent")
}

async fn wait_for_sends(twilio: &FakeTwilio, count: usize) -> Vec<fake_twilio::Sent> {
    for _ in 0..600 {
        {
            let sent = twilio.sent.lock().expect("lock");
            if sent.len() >= count {
                return sent.clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "expected {count} sends, got {}",
        twilio.sent.lock().expect("lock").len()
    );
}

both_backends!(
    a_signed_post_is_stored_answered_and_sent,
    |backend| async move {
        let (app, twilio, _) = whatsapp_app(backend, 2).await;
        let params = message(
            "SM11111111111111111111111111111111",
            "+14155550100",
            "Hola, ¿abren el sábado?",
        );

        let response = post_signed(&app, "/webhook", &params).await;

        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/xml"));
        assert!(response.text().await.expect("body").contains("<Response/>"));
        let sent = wait_for_sends(&twilio, 1).await;
        assert_eq!(sent[0].to, "whatsapp:+14155550100");
        assert_eq!(sent[0].from, format!("whatsapp:{FROM_NUMBER}"));
        assert!(sent[0].body.contains("¿abren el sábado?"));
        assert_eq!(
            sent[0].status_callback.as_deref(),
            Some("https://agent.example.com/webhook/status")
        );
        let users = app
            .query("SELECT phone_number, display_name, wa_id, channel FROM users")
            .await;
        assert_eq!(
            users[0].try_get::<String>("", "phone_number").expect("p"),
            "+14155550100"
        );
        assert_eq!(
            users[0]
                .try_get::<Option<String>>("", "display_name")
                .expect("n")
                .as_deref(),
            Some("Ana")
        );
        assert_eq!(
            users[0]
                .try_get::<Option<String>>("", "wa_id")
                .expect("w")
                .as_deref(),
            Some("14155550100")
        );
        let incoming = app
            .query("SELECT raw FROM messages WHERE direction = 'incoming'")
            .await;
        let raw: Value = incoming[0].try_get("", "raw").expect("raw");
        assert_eq!(raw["ReferralNumMedia"], "0", "unknown parameters are kept");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let outgoing = app
        .query("SELECT provider_message_id, delivery_status FROM messages WHERE direction = 'outgoing'")
        .await;
        assert_eq!(
            outgoing[0]
                .try_get::<Option<String>>("", "provider_message_id")
                .expect("sid"),
            Some(sent[0].sid.clone())
        );
    }
);

#[tokio::test]
async fn a_signed_get_is_accepted() {
    let (app, twilio, _) = whatsapp_app(Backend::Sqlite, 1).await;
    let params = message(
        "SM22222222222222222222222222222222",
        "+14155550101",
        "hi by GET",
    );
    let path = format!("/webhook?{}", encode(&pairs(&params)));
    let signature = sign(&format!("{PUBLIC_BASE}{path}"), &[]);

    let response = app
        .client
        .get(app.url(&path))
        .header("X-Twilio-Signature", signature)
        .send()
        .await
        .expect("sent");

    assert_eq!(response.status(), 200);
    let sent = wait_for_sends(&twilio, 1).await;
    assert!(sent[0].body.contains("hi by GET"));
}

both_backends!(
    forged_and_unsigned_webhooks_get_403_and_store_nothing,
    |backend| async move {
        let (app, _twilio, _) = whatsapp_app(backend, 1).await;
        let params = message(
            "SM33333333333333333333333333333333",
            "+14155550102",
            "forged",
        );
        let good = sign(&format!("{PUBLIC_BASE}/webhook"), &pairs(&params));
        let mut tampered = params.clone();
        tampered[7].1 = "something else".into();

        let unsigned = app
            .client
            .post(app.url("/webhook"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(encode(&pairs(&params)))
            .send()
            .await
            .expect("sent");
        let forged = app
            .client
            .post(app.url("/webhook"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("X-Twilio-Signature", good)
            .body(encode(&pairs(&tampered)))
            .send()
            .await
            .expect("sent");
        let garbage = app
            .client
            .post(app.url("/webhook"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("X-Twilio-Signature", "bm90IGEgc2lnbmF0dXJl")
            .body(encode(&pairs(&params)))
            .send()
            .await
            .expect("sent");

        for response in [unsigned, forged, garbage] {
            assert_eq!(response.status(), 403);
            let body: Value = response.json().await.expect("json");
            assert_eq!(body["error"]["code"], "invalid_signature");
        }
        assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 0);
        assert_eq!(app.count("SELECT COUNT(*) FROM inbound_jobs").await, 0);
    }
);

both_backends!(
    three_concurrent_deliveries_of_one_message_give_one_reply,
    |backend| async move {
        let (app, twilio, _) = whatsapp_app(backend, 2).await;
        let params = message(
            "SM44444444444444444444444444444444",
            "+14155550103",
            "only once please",
        );

        let statuses = join_all((0..3).map(|_| post_signed(&app, "/webhook", &params))).await;

        assert!(statuses.iter().all(|r| r.status() == 200));
        wait_for_sends(&twilio, 1).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(twilio.sent.lock().expect("lock").len(), 1);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM messages WHERE direction = 'incoming'")
                .await,
            1
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM messages WHERE direction = 'outgoing'")
                .await,
            1
        );
    }
);

both_backends!(
    a_job_whose_worker_died_is_answered_exactly_once,
    |backend| async move {
        let twilio = fake_twilio::start().await;
        let (url, pg) = fresh_database(backend).await;
        let api = twilio.base_url.clone();
        // An instance that only receives: the job waits in the database.
        let receiver = spawn_at(url.clone(), pg.clone(), |s| configure(s, &api, 0), None).await;
        let params = message(
            "SM55555555555555555555555555555555",
            "+14155550104",
            "survive a crash",
        );
        assert_eq!(
            post_signed(&receiver, "/webhook", &params).await.status(),
            200
        );
        // A worker claims the job with a short lease, then dies without finishing it.
        let db = wa_sql::connect(&db_settings(&url)).await.expect("connect");
        let dead_worker = SqlStore::new(db);
        let job = dead_worker
            .claim(Duration::from_millis(800))
            .await
            .expect("claim")
            .expect("a job to claim");
        assert_eq!(job.attempts, 1);

        let api = twilio.base_url.clone();
        let _worker = spawn_at(url, pg, move |s| configure(s, &api, 2), None).await;
        let sent = wait_for_sends(&twilio, 1).await;
        tokio::time::sleep(Duration::from_millis(700)).await;

        assert_eq!(twilio.sent.lock().expect("lock").len(), 1);
        assert!(sent[0].body.contains("survive a crash"));
        let jobs = receiver
            .query("SELECT status, attempts FROM inbound_jobs")
            .await;
        assert_eq!(
            jobs[0].try_get::<String>("", "status").expect("status"),
            "done"
        );
        assert_eq!(jobs[0].try_get::<i32>("", "attempts").expect("attempts"), 2);
        // The dead worker's late completion is refused: the job is no longer its own.
        assert!(matches!(
            dead_worker.complete(&job).await,
            Err(LeaseError::Lost)
        ));
    }
);

fn db_settings(url: &str) -> wa_sql::DbSettings {
    wa_sql::DbSettings {
        url: url.into(),
        max_connections: 2,
        min_connections: 0,
        connect_timeout: Duration::from_secs(5),
        acquire_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(60),
        max_lifetime: Duration::from_secs(600),
        test_before_acquire: true,
        sqlite_busy_timeout: Duration::from_secs(10),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_answer_200_deliveries_once_each_in_order() {
    let twilio = fake_twilio::start().await;
    let (url, pg) = fresh_database(Backend::Postgres).await;
    let api = twilio.base_url.clone();
    let a = spawn_at(url.clone(), pg.clone(), |s| configure(s, &api, 3), None).await;
    let api = twilio.base_url.clone();
    let b = spawn_at(url, pg, move |s| configure(s, &api, 3), None).await;
    let instances = [&a, &b];

    // 20 users x 8 unique messages, sent in order per user; 40 of the 200 deliveries repeat
    // an earlier message (a provider retry), some to the other instance.
    let runs = (0..20).map(|user| async move {
        let from = format!("+1415555{user:04}");
        let mut statuses = Vec::new();
        for k in 0..8 {
            let sid = format!("SM{user:02}{k:02}{:028}", 0);
            let params = message(&sid, &from, &format!("user {user} message {k}"));
            let instance = instances[(user + k) % 2];
            statuses.push(
                post_signed(instance, "/webhook", &params)
                    .await
                    .status()
                    .as_u16(),
            );
            if k % 4 == 1 {
                let other = instances[(user + k + 1) % 2];
                statuses.push(
                    post_signed(other, "/webhook", &params)
                        .await
                        .status()
                        .as_u16(),
                );
            }
        }
        statuses
    });
    let statuses: Vec<u16> = join_all(runs).await.into_iter().flatten().collect();

    assert_eq!(statuses.len(), 200);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let sent = wait_for_sends(&twilio, 160).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent_after = twilio.sent.lock().expect("lock").clone();
    assert_eq!(
        sent_after.len(),
        160,
        "exactly one reply per unique message"
    );
    for user in 0..20 {
        let to = format!("whatsapp:+1415555{user:04}");
        let order: Vec<usize> = sent
            .iter()
            .filter(|s| s.to == to)
            .map(|s| {
                let tail = s.body.split("message ").nth(1).expect("echoed message");
                tail.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
                    .parse()
                    .expect("k")
            })
            .collect();
        assert_eq!(
            order,
            (0..8).collect::<Vec<_>>(),
            "replies to {to} in order"
        );
    }
    assert_eq!(
        a.count("SELECT COUNT(*) FROM messages WHERE direction = 'incoming'")
            .await,
        160
    );
}

/// Always answers with a long reply of several paragraphs.
struct LongReply;

const PARAGRAPH: &str =
    "Gracias por escribirnos. Nuestro horario es de lunes a viernes de 8 a 20 horas. ";

#[async_trait::async_trait]
impl LlmPort for LongReply {
    fn label(&self) -> String {
        "long".into()
    }
    async fn complete(&self, _: &LlmRequest) -> Result<LlmReply, LlmError> {
        let paragraph = PARAGRAPH.repeat(8);
        Ok(LlmReply::text(
            vec![paragraph.trim().to_string(); 6].join("\n\n"),
        ))
    }
    async fn stream(&self, request: &LlmRequest) -> Result<ChunkStream, LlmError> {
        use futures::StreamExt;
        let reply = self.complete(request).await?;
        Ok(futures::stream::iter([Ok(LlmChunk::Text(reply.text))]).boxed())
    }
    async fn transcribe(&self, _: &Blob) -> Result<String, LlmError> {
        Err(LlmError::Unavailable("not used".into()))
    }
}

#[tokio::test]
async fn a_long_reply_is_split_and_sent_in_order() {
    let twilio = fake_twilio::start().await;
    let (url, pg) = fresh_database(Backend::Sqlite).await;
    let api = twilio.base_url.clone();
    let app = spawn_at(
        url,
        pg,
        move |s| configure(s, &api, 1),
        Some(Arc::new(LongReply)),
    )
    .await;
    let params = message(
        "SM66666666666666666666666666666666",
        "+14155550105",
        "horario?",
    );

    assert_eq!(post_signed(&app, "/webhook", &params).await.status(), 200);
    wait_for_sends(&twilio, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let sent = twilio.sent.lock().expect("lock").clone();
    let stored = app
        .query("SELECT body FROM messages WHERE direction = 'outgoing'")
        .await;
    let stored: String = stored[0].try_get("", "body").expect("body");
    assert!(stored.chars().count() > 1600);
    assert!(sent.len() >= 2);
    assert!(sent
        .iter()
        .all(|s| s.body.chars().count() <= 1600 && !s.body.trim().is_empty()));
    let rejoined: String = sent
        .iter()
        .map(|s| s.body.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(
        rejoined,
        stored.split_whitespace().collect::<Vec<_>>().join(" "),
        "parts in order"
    );
    drop(sent);
}

both_backends!(
    status_callbacks_out_of_order_keep_the_newest,
    |backend| async move {
        let (app, twilio, _) = whatsapp_app(backend, 1).await;
        let params = message(
            "SM77777777777777777777777777777777",
            "+14155550106",
            "status please",
        );
        assert_eq!(post_signed(&app, "/webhook", &params).await.status(), 200);
        let sid = wait_for_sends(&twilio, 1).await[0].sid.clone();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let callback = |status: &str| {
            vec![
                ("MessageSid".to_string(), sid.clone()),
                ("MessageStatus".to_string(), status.to_string()),
                ("AccountSid".to_string(), ACCOUNT_SID.to_string()),
                ("To".to_string(), "whatsapp:+14155550106".to_string()),
            ]
        };

        for s in ["delivered", "sent", "read", "queued", "delivered"] {
            let r = post_signed(&app, "/webhook/status", &callback(s)).await;
            assert_eq!(r.status(), 200);
        }
        assert_eq!(delivery_status(&app).await.as_deref(), Some("read"));

        let mut failed = callback("failed");
        failed.push(("ErrorCode".into(), "63016".into()));
        assert_eq!(
            post_signed(&app, "/webhook/status", &failed).await.status(),
            200
        );
        assert_eq!(
            post_signed(&app, "/webhook/status", &callback("delivered"))
                .await
                .status(),
            200
        );
        assert_eq!(delivery_status(&app).await.as_deref(), Some("failed"));
        let rows = app.query("SELECT error_code FROM deliveries").await;
        assert_eq!(
            rows[0]
                .try_get::<Option<String>>("", "error_code")
                .expect("code")
                .as_deref(),
            Some("63016")
        );
        let unsigned = app
            .client
            .post(app.url("/webhook/status"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(encode(&pairs(&callback("sent"))))
            .send()
            .await
            .expect("sent");
        assert_eq!(unsigned.status(), 403);
    }
);

async fn delivery_status(app: &TestApp) -> Option<String> {
    let rows = app
        .query("SELECT delivery_status FROM messages WHERE direction = 'outgoing'")
        .await;
    rows[0]
        .try_get::<Option<String>>("", "delivery_status")
        .expect("status")
}

both_backends!(
    without_a_public_url_the_arrival_url_is_what_is_signed,
    |backend| async move {
        let twilio = fake_twilio::start().await;
        let (url, pg) = fresh_database(backend).await;
        let api = twilio.base_url.clone();
        let app = spawn_at(
            url,
            pg,
            move |s| {
                configure(s, &api, 1);
                s.twilio.public_base_url = String::new();
                // The test client stands in for the reverse proxy.
                s.server.trusted_proxies = vec!["127.0.0.1".into()];
            },
            None,
        )
        .await;
        let direct = message(
            "SM88888888888888888888888888888888",
            "+14155550107",
            "direct",
        );
        let proxied = message(
            "SM99999999999999999999999999999999",
            "+14155550108",
            "via proxy",
        );
        let send = |params: &[(String, String)], signed_url: String, forwarded: bool| {
            let mut request = app
                .client
                .post(app.url("/webhook"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("X-Twilio-Signature", sign(&signed_url, &pairs(params)))
                .body(encode(&pairs(params)));
            if forwarded {
                request = request
                    .header("X-Forwarded-Proto", "https")
                    .header("X-Forwarded-Host", "public.example.org");
            }
            request.send()
        };

        let direct_status = send(&direct, app.url("/webhook"), false)
            .await
            .expect("sent")
            .status();
        let proxied_status = send(&proxied, "https://public.example.org/webhook".into(), true)
            .await
            .expect("sent")
            .status();
        let wrong_host = send(&proxied, "https://elsewhere.example/webhook".into(), true)
            .await
            .expect("sent")
            .status();

        assert_eq!(direct_status, 200);
        assert_eq!(proxied_status, 200);
        assert_eq!(wrong_host, 403);
        let sent = wait_for_sends(&twilio, 2).await;
        assert!(sent.iter().all(|s| s.status_callback.is_none()));
    }
);

#[tokio::test]
async fn a_voice_note_is_fetched_with_the_account_credentials_and_transcribed() {
    let (app, twilio, model) = whatsapp_with_model().await;
    let mut params = message("SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "+14155550109", "");
    params.retain(|(k, _)| k != "NumMedia");
    params.push(("NumMedia".into(), "1".into()));
    let private = model.media_url.replace("voice.ogg", "private.ogg");
    params.push(("MediaUrl0".into(), private));
    params.push(("MediaContentType0".into(), "audio/ogg".into()));

    assert_eq!(post_signed(&app, "/webhook", &params).await.status(), 200);
    let sent = wait_for_sends(&twilio, 1).await;

    assert_eq!(sent[0].body, crate::fake_openai::REPLY);
    let (file, turn) = {
        let seen = model.seen.lock().expect("lock");
        let turn = seen.chat_bodies[0]["messages"]
            .as_array()
            .expect("messages")
            .last()
            .expect("turn")
            .clone();
        (seen.transcription_files[0].clone(), turn)
    };
    assert_eq!(file.0, "voice.ogg");
    assert!(turn["content"]
        .as_str()
        .expect("text")
        .contains(crate::fake_openai::TRANSCRIPT));
    let rows = app
        .query("SELECT media, media_url FROM messages WHERE direction = 'incoming'")
        .await;
    let media: Value = rows[0].try_get("", "media").expect("media");
    assert_eq!(media[0]["transcript"], crate::fake_openai::TRANSCRIPT);
    assert_eq!(media[0]["content_type"], "audio/ogg");
}

async fn job_row(app: &TestApp) -> (String, i32, Option<String>) {
    for _ in 0..200 {
        let rows = app
            .query("SELECT status, attempts, last_error FROM inbound_jobs")
            .await;
        let status: String = rows[0].try_get("", "status").expect("status");
        if status == "failed" || status == "done" {
            return (
                status,
                rows[0].try_get("", "attempts").expect("attempts"),
                rows[0].try_get("", "last_error").expect("error"),
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the job never finished");
}

both_backends!(
    an_opted_out_recipient_is_recorded_and_not_retried,
    |backend| async move {
        let (app, twilio, _) = whatsapp_app(backend, 1).await;
        let from = fake_twilio::OPTED_OUT.trim_start_matches("whatsapp:");
        let params = message("SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", from, "hola");

        assert_eq!(post_signed(&app, "/webhook", &params).await.status(), 200);
        let (status, attempts, error) = job_row(&app).await;
        tokio::time::sleep(Duration::from_millis(300)).await;

        assert_eq!(status, "failed");
        assert_eq!(attempts, 1);
        assert!(error.expect("error").contains("21610"));
        assert_eq!(twilio.sent.lock().expect("lock").len(), 1, "tried once");
        let rows = app
            .query("SELECT error FROM messages WHERE direction = 'outgoing'")
            .await;
        let recorded: Option<String> = rows[0].try_get("", "error").expect("error");
        assert!(recorded.expect("recorded on the reply").contains("21610"));
        assert_eq!(
            app.count("SELECT COUNT(*) FROM messages WHERE direction = 'incoming'")
                .await,
            1
        );
    }
);

/// A model that is always down.
struct DownLlm;

#[async_trait::async_trait]
impl LlmPort for DownLlm {
    fn label(&self) -> String {
        "down".into()
    }
    async fn complete(&self, _: &LlmRequest) -> Result<LlmReply, LlmError> {
        Err(LlmError::Unavailable("connection refused".into()))
    }
    async fn stream(&self, _: &LlmRequest) -> Result<ChunkStream, LlmError> {
        Err(LlmError::Unavailable("connection refused".into()))
    }
    async fn transcribe(&self, _: &Blob) -> Result<String, LlmError> {
        Err(LlmError::Unavailable("connection refused".into()))
    }
}

both_backends!(
    a_model_that_keeps_failing_gets_the_fallback_reply_after_its_attempts,
    |backend| async move {
        let twilio = fake_twilio::start().await;
        let (url, pg) = fresh_database(backend).await;
        let api = twilio.base_url.clone();
        let app = spawn_at(
            url,
            pg,
            move |s| {
                configure(s, &api, 1);
                s.worker.max_attempts = 3;
                s.worker.retry_base_ms = 20;
            },
            Some(Arc::new(DownLlm)),
        )
        .await;
        let params = message(
            "SMcccccccccccccccccccccccccccccccc",
            "+14155550110",
            "anyone there? my knee hurts",
        );

        assert_eq!(post_signed(&app, "/webhook", &params).await.status(), 200);
        let (status, attempts, error) = job_row(&app).await;

        assert_eq!(status, "done");
        assert_eq!(attempts, 3);
        assert!(error
            .expect("the model's error is kept")
            .contains("unavailable"));
        let sent = twilio.sent.lock().expect("lock").clone();
        assert_eq!(sent.len(), 1, "the patient is not left in silence");
        assert!(
            sent[0].body.contains("cannot answer right now"),
            "{}",
            sent[0].body
        );
        assert!(sent[0].body.contains("112"), "{}", sent[0].body);
        let agents = app
            .texts("SELECT agent FROM messages WHERE direction = 'outgoing'")
            .await;
        assert_eq!(agents, [Some("fallback".to_string())]);
        let bodies = app
            .texts("SELECT body FROM messages WHERE direction = 'incoming'")
            .await;
        assert_eq!(bodies, [Some("anyone there? my knee hurts".to_string())]);
    }
);

both_backends!(
    odd_but_signed_parameters_are_stored_not_refused,
    |backend| async move {
        let (app, twilio, _) = whatsapp_app(backend, 1).await;
        let long_sid = format!("SM{}", "d".repeat(100));
        let mut params = message(&long_sid, "+14155550111", "nul\u{0}inside");
        params.retain(|(k, _)| k != "ProfileName");
        params.push(("ProfileName".into(), "N".repeat(300)));
        params.push(("Odd\u{0}Key".into(), "x".into()));

        let response = post_signed(&app, "/webhook", &params).await;

        assert_eq!(response.status(), 200);
        wait_for_sends(&twilio, 1).await;
        let bodies = app
            .texts("SELECT body FROM messages WHERE direction = 'incoming'")
            .await;
        assert_eq!(bodies, [Some("nul\u{FFFD}inside".to_string())]);
    }
);

both_backends!(
    a_status_callback_that_beats_the_send_record_is_kept,
    |backend| async move {
        let (app, twilio, _) = whatsapp_app(backend, 1).await;
        // The fake numbers its message sids from 1: this is the sid the reply will get.
        let sid = format!("SM{:032x}", 1);
        let early = vec![
            ("MessageSid".to_string(), sid.clone()),
            ("MessageStatus".to_string(), "delivered".to_string()),
            ("AccountSid".to_string(), ACCOUNT_SID.to_string()),
        ];
        assert_eq!(
            post_signed(&app, "/webhook/status", &early).await.status(),
            200
        );

        let params = message(
            "SMeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
            "+14155550112",
            "early bird",
        );
        assert_eq!(post_signed(&app, "/webhook", &params).await.status(), 200);
        let sent = wait_for_sends(&twilio, 1).await;
        assert_eq!(sent[0].sid, sid);
        job_row(&app).await;

        assert_eq!(delivery_status(&app).await.as_deref(), Some("delivered"));
    }
);

#[tokio::test]
async fn a_photo_reaches_the_model_inline() {
    let (app, twilio, model) = whatsapp_with_model().await;
    let photo = model.media_url.replace("voice.ogg", "private.png");
    let mut params = message(
        "SMffffffffffffffffffffffffffffffff",
        "+14155550113",
        "¿Qué es esto?",
    );
    params.retain(|(k, _)| k != "NumMedia");
    params.push(("NumMedia".into(), "1".into()));
    params.push(("MediaUrl0".into(), photo.clone()));
    params.push(("MediaContentType0".into(), "image/png".into()));

    assert_eq!(post_signed(&app, "/webhook", &params).await.status(), 200);
    wait_for_sends(&twilio, 1).await;

    let turn = {
        let seen = model.seen.lock().expect("lock");
        seen.chat_bodies[0]["messages"]
            .as_array()
            .expect("messages")
            .last()
            .expect("turn")
            .clone()
    };
    let parts = turn["content"].as_array().expect("content parts");
    let image = parts
        .iter()
        .find(|p| p["type"] == "image_url")
        .expect("an image part");
    let data_url = image["image_url"]["url"].as_str().expect("url");
    assert!(data_url.starts_with("data:image/png;base64,"), "{data_url}");
    let rows = app
        .query("SELECT media_url FROM messages WHERE direction = 'incoming'")
        .await;
    assert_eq!(
        rows[0]
            .try_get::<Option<String>>("", "media_url")
            .expect("media_url"),
        Some(photo)
    );
}

/// An instance whose model server is a local fake that also hosts media, reachable as
/// provider media (with the account's credentials).
async fn whatsapp_with_model() -> (TestApp, FakeTwilio, crate::fake_openai::FakeOpenAi) {
    let twilio = fake_twilio::start().await;
    let model = crate::fake_openai::start().await;
    let media_host = model
        .media_url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .expect("host")
        .to_string();
    let (url, pg) = fresh_database(Backend::Sqlite).await;
    let api = twilio.base_url.clone();
    let base = model.base_url.clone();
    let app = spawn_at(
        url,
        pg,
        move |s| {
            configure(s, &api, 1);
            s.llm.base_url = Some(base);
            s.twilio.media_hosts = vec![media_host];
            s.twilio.media_not_found_retry_ms = vec![10];
        },
        None,
    )
    .await;
    (app, twilio, model)
}
