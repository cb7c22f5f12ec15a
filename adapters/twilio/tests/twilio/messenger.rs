//! `TwilioMessenger` against a fake Messages API: form fields, auth, parts in order, retries
//! that never resend a delivered part, and permanent refusals.

use std::time::Duration;

use base64::Engine as _;
use wa_twilio::{TwilioMessenger, TwilioMessengerSettings};
use whatsapp_agent::ports::{Messenger, MessengerError, OutboundMessage};

use crate::fake::{self, Fake, Reply};

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "test_auth_token";
const FROM: &str = "+14155238886";
const TO: &str = "+15005550006";

fn settings(base_url: &str) -> TwilioMessengerSettings {
    let mut settings = TwilioMessengerSettings::new(ACCOUNT, TOKEN, FROM);
    settings.api_base_url = base_url.to_string();
    settings.max_retries = 2;
    settings.retry_base_delay = Duration::from_millis(1);
    settings.max_retry_delay = Duration::from_millis(50);
    settings.connect_timeout = Duration::from_secs(2);
    settings.request_timeout = Duration::from_secs(10);
    settings
}

fn messenger(fake: &Fake) -> TwilioMessenger {
    TwilioMessenger::new(settings(&fake.base_url())).expect("client")
}

fn message(body: &str) -> OutboundMessage {
    OutboundMessage {
        to: TO.into(),
        body: body.into(),
        media_urls: Vec::new(),
        skip_parts: 0,
    }
}

/// About 3300 characters in three paragraphs: three parts.
fn long_reply() -> String {
    ["first", "second", "third"]
        .iter()
        .map(|name| {
            format!("The {name} paragraph. ")
                .repeat(50)
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn bodies(fake: &Fake) -> Vec<String> {
    fake.requests()
        .iter()
        .map(|r| r.field("Body").unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn a_reply_is_posted_as_a_form_with_basic_auth() {
    let fake = Fake::start(Reply::Created).await;
    let mut settings = settings(&fake.base_url());
    settings.status_callback_url = Some("https://agent.example.com/twilio/status".into());
    let messenger = TwilioMessenger::new(settings).expect("client");
    let outbound = OutboundMessage {
        media_urls: vec![
            "https://cdn.example.com/a.png".into(),
            "https://cdn.example.com/b.png".into(),
        ],
        ..message("Hello & welcome = 100% ✓")
    };
    let sids = messenger.send(&outbound).await.expect("sent");
    assert_eq!(sids, vec![fake::sid(1)]);
    assert_eq!(messenger.label(), "twilio");

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.path,
        format!("/2010-04-01/Accounts/{ACCOUNT}/Messages.json")
    );
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT}:{TOKEN}"));
    assert_eq!(
        request.authorization.as_deref(),
        Some(format!("Basic {credentials}").as_str())
    );
    assert!(request
        .content_type
        .as_deref()
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded")));
    let form: Vec<(&str, &str)> = request
        .form
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        form,
        vec![
            ("To", "whatsapp:+15005550006"),
            ("From", "whatsapp:+14155238886"),
            ("Body", "Hello & welcome = 100% ✓"),
            ("MediaUrl", "https://cdn.example.com/a.png"),
            ("MediaUrl", "https://cdn.example.com/b.png"),
            ("StatusCallback", "https://agent.example.com/twilio/status"),
        ]
    );
}

#[test]
fn the_fake_answers_like_the_official_spec() {
    let spec_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/specs/twilio_api_v2010.json"
    );
    let Ok(spec) = std::fs::read_to_string(spec_path) else {
        eprintln!("{spec_path} not found; skipping the spec comparison");
        return;
    };
    let spec: serde_json::Value = serde_json::from_str(&spec).expect("spec parses");
    let properties = spec["components"]["schemas"]["api.v2010.account.message"]["properties"]
        .as_object()
        .expect("message schema");
    let recorded = fake::Recorded {
        method: "POST".into(),
        path: format!("/2010-04-01/Accounts/{ACCOUNT}/Messages.json"),
        query: Vec::new(),
        authorization: None,
        content_type: None,
        form: crate::pairs(&[
            ("To", "whatsapp:+1"),
            ("From", "whatsapp:+2"),
            ("Body", "x"),
        ]),
    };
    let resource = fake::message_resource(&recorded, 1);
    for key in resource.as_object().expect("object").keys() {
        assert!(properties.contains_key(key), "{key} is not in the spec");
    }
    assert_eq!(resource["status"], "queued");
}

#[tokio::test]
async fn a_long_reply_goes_out_as_ordered_parts_one_at_a_time() {
    let fake = Fake::start(Reply::Created).await;
    let text = long_reply();
    assert!(text.chars().count() > 3200);
    let outbound = OutboundMessage {
        media_urls: vec!["https://cdn.example.com/chart.png".into()],
        ..message(&text)
    };
    let sids = messenger(&fake).send(&outbound).await.expect("sent");
    assert_eq!(sids, vec![fake::sid(1), fake::sid(2), fake::sid(3)]);
    let sent = bodies(&fake);
    assert_eq!(sent.len(), 3);
    assert!(sent[0].starts_with("The first paragraph."));
    assert!(sent[1].starts_with("The second paragraph."));
    assert!(sent[2].starts_with("The third paragraph."));
    assert!(sent.iter().all(|b| b.chars().count() <= 1600));
    assert_eq!(sent.join("\n\n"), text);
    let media: Vec<usize> = fake
        .requests()
        .iter()
        .map(|r| r.form.iter().filter(|(k, _)| k == "MediaUrl").count())
        .collect();
    assert_eq!(media, vec![1, 0, 0], "media go with the first part only");
    assert_eq!(fake.max_in_flight(), 1, "parts must not overlap");
}

#[tokio::test]
async fn a_resumed_send_skips_the_parts_already_delivered() {
    let fake = Fake::start(Reply::Created).await;
    let text = long_reply();
    let resumed = OutboundMessage {
        media_urls: vec!["https://cdn.example.com/chart.png".into()],
        skip_parts: 1,
        ..message(&text)
    };
    let sids = messenger(&fake).send(&resumed).await.expect("sent");
    assert_eq!(
        sids,
        vec![fake::sid(1), fake::sid(2)],
        "ids of this call's parts"
    );
    let sent = bodies(&fake);
    assert_eq!(sent.len(), 2);
    assert!(sent[0].starts_with("The second paragraph."));
    assert!(sent[1].starts_with("The third paragraph."));
    assert!(fake
        .requests()
        .iter()
        .all(|r| r.field("MediaUrl").is_none()));

    let done = OutboundMessage {
        skip_parts: 3,
        ..message(&text)
    };
    assert_eq!(messenger(&fake).send(&done).await, Ok(Vec::new()));
    assert_eq!(fake.requests().len(), 2, "nothing left to send");
}

#[tokio::test]
async fn a_rate_limit_is_retried_without_resending_earlier_parts() {
    let fake = Fake::start(Reply::Created).await;
    fake.push(Reply::Created);
    fake.push(Reply::twilio_error(429, 20429, "Too Many Requests").with_header("retry-after", "0"));
    let text = long_reply();
    let sids = messenger(&fake).send(&message(&text)).await.expect("sent");
    assert_eq!(sids.len(), 3);
    let sent = bodies(&fake);
    assert_eq!(sent.len(), 4);
    assert_eq!(sent[1], sent[2], "the limited part is sent again");
    assert_ne!(sent[0], sent[1]);
    let mut unique = sent.clone();
    unique.dedup();
    assert_eq!(unique.len(), 3, "each part delivered once: {unique:?}");
}

#[tokio::test]
async fn a_server_error_is_retried() {
    let fake = Fake::start(Reply::Created).await;
    fake.push(Reply::twilio_error(500, 20500, "Internal Server Error"));
    let sids = messenger(&fake)
        .send(&message("hello"))
        .await
        .expect("sent");
    assert_eq!(sids, vec![fake::sid(1)]);
    assert_eq!(bodies(&fake), vec!["hello", "hello"]);
}

#[tokio::test]
async fn an_opted_out_recipient_is_permanent_and_not_retried() {
    let fake = Fake::start(Reply::Created).await;
    fake.push(Reply::twilio_error(
        400,
        21610,
        "Attempt to send to unsubscribed recipient",
    ));
    let err = messenger(&fake)
        .send(&message("hello"))
        .await
        .expect_err("refused");
    match err {
        MessengerError::Permanent {
            message,
            code,
            sent,
        } => {
            assert_eq!(code.as_deref(), Some("21610"));
            assert!(message.contains("unsubscribed"), "{message}");
            assert!(sent.is_empty());
        }
        other => panic!("expected Permanent, got {other:?}"),
    }
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_refusal_midway_reports_the_parts_already_sent() {
    let fake = Fake::start(Reply::Created).await;
    fake.push(Reply::Created);
    fake.push(Reply::twilio_error(
        400,
        63016,
        "Outside the allowed window",
    ));
    let err = messenger(&fake)
        .send(&message(&long_reply()))
        .await
        .expect_err("refused");
    assert_eq!(
        err,
        MessengerError::Permanent {
            message: "Twilio error 63016: Outside the allowed window (HTTP 400)".into(),
            code: Some("63016".into()),
            sent: vec![fake::sid(1)],
        }
    );
    assert_eq!(fake.requests().len(), 2, "the third part is not attempted");
}

#[tokio::test]
async fn exhausted_retries_are_temporary_and_list_what_was_sent() {
    let fake = Fake::start(Reply::twilio_error(503, 20503, "Service Unavailable")).await;
    fake.push(Reply::Created);
    let err = messenger(&fake)
        .send(&message(&long_reply()))
        .await
        .expect_err("unavailable");
    match err {
        MessengerError::Temporary { message, sent } => {
            assert_eq!(sent, vec![fake::sid(1)]);
            assert!(message.contains("503"), "{message}");
        }
        other => panic!("expected Temporary, got {other:?}"),
    }
    let sent = bodies(&fake);
    assert_eq!(sent.len(), 4, "one success, then 1 + max_retries attempts");
    assert!(sent[1..].iter().all(|b| *b == sent[1]));
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_is_returned_at_once() {
    let fake = Fake::start(Reply::Created).await;
    fake.push(
        Reply::twilio_error(429, 20429, "Too Many Requests").with_header("retry-after", "120"),
    );
    let err = messenger(&fake)
        .send(&message("hello"))
        .await
        .expect_err("limited");
    assert!(
        matches!(err, MessengerError::Temporary { ref sent, .. } if sent.is_empty()),
        "{err:?}"
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_refused_connection_is_temporary() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let messenger = TwilioMessenger::new(settings(&format!("http://{addr}"))).expect("client");
    let err = messenger
        .send(&message("hello"))
        .await
        .expect_err("no server");
    assert!(
        matches!(err, MessengerError::Temporary { ref sent, .. } if sent.is_empty()),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_empty_reply_without_media_is_not_sent() {
    let fake = Fake::start(Reply::Created).await;
    let err = messenger(&fake)
        .send(&message("  \n "))
        .await
        .expect_err("empty");
    assert!(matches!(err, MessengerError::Permanent { code: None, .. }));
    assert!(fake.requests().is_empty());

    let media_only = OutboundMessage {
        media_urls: vec!["https://cdn.example.com/a.png".into()],
        ..message("")
    };
    messenger(&fake).send(&media_only).await.expect("sent");
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].field("Body"), None);
    assert_eq!(
        requests[0].field("MediaUrl"),
        Some("https://cdn.example.com/a.png")
    );
}

#[tokio::test]
async fn an_answer_without_a_sid_is_not_resent() {
    let fake = Fake::start(Reply::Created).await;
    fake.push(Reply::bytes(
        201,
        "application/json",
        b"{\"status\": \"queued\"}",
    ));
    let err = messenger(&fake)
        .send(&message("hello"))
        .await
        .expect_err("no sid");
    assert!(
        matches!(err, MessengerError::Temporary { ref message, ref sent }
            if sent.is_empty() && message.contains("may have been sent")),
        "{err:?}"
    );
    assert_eq!(
        fake.requests().len(),
        1,
        "an ambiguous outcome is not retried"
    );
}

fn listed(sid: &str, body: &str, created: &str) -> serde_json::Value {
    serde_json::json!({
        "sid": sid, "account_sid": ACCOUNT, "to": format!("whatsapp:{TO}"),
        "from": format!("whatsapp:{FROM}"), "body": body, "status": "queued",
        "direction": "outbound-api", "date_created": created, "date_updated": created,
        "date_sent": null, "error_code": null, "error_message": null,
    })
}

fn page(messages: Vec<serde_json::Value>, next: Option<&str>) -> Reply {
    let body = serde_json::json!({
        "messages": messages, "page": 0, "page_size": 50, "start": 0, "end": 0,
        "first_page_uri": "/first", "next_page_uri": next, "previous_page_uri": null,
        "uri": "/this",
    });
    Reply::bytes(200, "application/json", body.to_string().as_bytes())
}

fn attempt_time() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-11-29T18:00:00Z")
        .expect("time")
        .with_timezone(&chrono::Utc)
}

#[tokio::test]
async fn a_part_is_found_in_the_list_by_body_and_creation_time() {
    let fake = Fake::start(Reply::Created).await;
    fake.push(page(
        vec![
            listed("SM3", "something else", "Sun, 29 Nov 2026 18:00:09 +0000"),
            listed("SM2", "hola", "Sun, 29 Nov 2026 18:00:01 +0000"),
            listed("SM1", "hola", "Sun, 29 Nov 2026 17:59:00 +0000"),
        ],
        None,
    ));

    let found = messenger(&fake)
        .find_sent(TO, "hola", attempt_time())
        .await
        .expect("listed");

    assert_eq!(found.as_deref(), Some("SM2"));
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(
        requests[0].path,
        format!("/2010-04-01/Accounts/{ACCOUNT}/Messages.json")
    );
    let query = |k: &str| {
        requests[0]
            .query
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(query("To"), Some(format!("whatsapp:{TO}")));
    assert_eq!(query("From"), Some(format!("whatsapp:{FROM}")));
    assert_eq!(query("PageSize").as_deref(), Some("50"));
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT}:{TOKEN}"));
    assert_eq!(
        requests[0].authorization.as_deref(),
        Some(format!("Basic {basic}").as_str())
    );
}

#[tokio::test]
async fn pages_are_read_until_messages_are_older_than_the_attempt() {
    let fake = Fake::start(Reply::Created).await;
    let next =
        format!("/2010-04-01/Accounts/{ACCOUNT}/Messages.json?PageSize=50&Page=1&PageToken=PASM9");
    fake.push(page(
        vec![listed("SM9", "newer", "Sun, 29 Nov 2026 18:00:30 +0000")],
        Some(&next),
    ));
    fake.push(page(
        vec![listed("SM1", "hola", "Sun, 29 Nov 2026 17:59:59 +0000")],
        None,
    ));

    let found = messenger(&fake)
        .find_sent(TO, "hola", attempt_time())
        .await
        .expect("listed");

    assert_eq!(
        found, None,
        "only a message older than the attempt has the body"
    );
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[1]
        .query
        .iter()
        .any(|(k, v)| k == "PageToken" && v == "PASM9"));
}

#[tokio::test]
async fn a_list_that_fails_cannot_say_and_sends_nothing() {
    let fake = Fake::start(Reply::twilio_error(500, 20500, "Internal Server Error")).await;

    let found = messenger(&fake).find_sent(TO, "hola", attempt_time()).await;

    assert!(matches!(found, Err(MessengerError::Temporary { .. })));
    assert!(fake.requests().iter().all(|r| r.method == "GET"));
}
