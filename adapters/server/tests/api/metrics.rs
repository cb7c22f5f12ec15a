//! `GET /metrics`: Prometheus text that moves with what the service does. The registry is one
//! per process and tests run in parallel, so each check compares a series before and after.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;

use crate::fake_twilio::{self, FakeTwilio, OPTED_OUT};
use crate::helpers::{fresh_database, spawn_at, Backend, TestApp};
use crate::whatsapp::{configure, message, post_signed};

type Series = HashMap<String, f64>;

/// `name{labels} value` lines, keyed by `name{labels}` exactly as printed.
fn parse(text: &str) -> Series {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            Some((key.to_string(), value.parse().ok()?))
        })
        .collect()
}

async fn scrape(app: &TestApp) -> Series {
    let response = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().expect("ascii");
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    parse(&response.text().await.expect("body"))
}

fn value(series: &Series, key: &str) -> f64 {
    series.get(key).copied().unwrap_or(0.0)
}

async fn app_with_whatsapp() -> (TestApp, FakeTwilio) {
    let twilio = fake_twilio::start().await;
    let (url, pg) = fresh_database(Backend::Sqlite).await;
    let base = twilio.base_url.clone();
    let app = spawn_at(url, pg, move |s| configure(s, &base, 1), None).await;
    (app, twilio)
}

/// Scrapes until every `key` moved past its value in `before` (the worker answers webhooks in
/// the background), then returns the scrape.
async fn scrape_until_moved(app: &TestApp, before: &Series, keys: &[&str]) -> Series {
    let mut last = Series::new();
    for _ in 0..200 {
        last = scrape(app).await;
        if keys.iter().all(|k| value(&last, k) > value(before, k)) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let stuck: Vec<_> = keys
        .iter()
        .filter(|k| value(&last, k) <= value(before, k))
        .collect();
    panic!("these series did not move: {stuck:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_move_after_a_turn_a_webhook_a_red_flag_and_a_failed_send() {
    let (app, _twilio) = app_with_whatsapp().await;
    let before = scrape(&app).await;

    let turn = app.post_json("/chat/", &json!({"content": "hello"})).await;
    assert_eq!(turn.status(), 200);
    let red_flag = app
        .post_json(
            "/chat/",
            &json!({"content": "there's a crushing weight on my chest and it spreads to my jaw"}),
        )
        .await;
    assert_eq!(red_flag.status(), 200);
    let webhook = message("SMmetrics0000000000000000000000001", "+14155550123", "hola");
    assert_eq!(post_signed(&app, "/webhook", &webhook).await.status(), 200);
    let opted_out = OPTED_OUT.trim_start_matches("whatsapp:");
    let refused = message("SMmetrics0000000000000000000000002", opted_out, "hola");
    assert_eq!(post_signed(&app, "/webhook", &refused).await.status(), 200);
    assert_eq!(post_signed(&app, "/webhook", &refused).await.status(), 200);

    let after = scrape_until_moved(
        &app,
        &before,
        &[
            r#"http_server_requests_total{method="POST",route="/chat",status="200"}"#,
            r#"http_server_request_duration_seconds_count{method="POST",route="/chat",status="200"}"#,
            r#"llm_requests_total{operation="stream",outcome="ok"}"#,
            r#"red_flags_total{category="chest_pain"}"#,
            r#"webhook_deliveries_total{kind="message",result="accepted"}"#,
            r#"webhook_deliveries_total{kind="message",result="duplicate"}"#,
            r#"inbound_jobs_processed_total{result="done"}"#,
            r#"inbound_jobs_processed_total{result="failed"}"#,
            r#"messages_sent_total{outcome="sent"}"#,
            r#"messages_sent_total{outcome="permanent_failure"}"#,
        ],
    )
    .await;

    for gauge in [
        r#"inbound_jobs{status="done"}"#,
        r#"inbound_jobs{status="pending"}"#,
        "inbound_jobs_oldest_pending_age_seconds",
        r#"db_pool_connections{state="idle"}"#,
        "chat_streams_active",
        "db_turn_writes_total",
        "db_turn_write_transactions_total",
    ] {
        assert!(after.contains_key(gauge), "{gauge} is exported");
    }
    assert!(value(&after, r#"inbound_jobs{status="done"}"#) >= 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_rejection_is_counted() {
    let (app, _twilio) = app_with_whatsapp().await;
    let before = scrape(&app).await;

    let response = app
        .client
        .post(app.url("/webhook"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("X-Twilio-Signature", "forged")
        .body("MessageSid=SMx&From=whatsapp%3A%2B14155550123&Body=hi")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 403);

    scrape_until_moved(
        &app,
        &before,
        &[r#"webhook_deliveries_total{kind="message",result="invalid_signature"}"#],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_token_metrics_ask_for_it() {
    let (url, pg) = fresh_database(Backend::Sqlite).await;
    let app = spawn_at(
        url,
        pg,
        |s| s.server.metrics_token = Some("scrape-me".to_string().into()),
        None,
    )
    .await;

    let without = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("sent");
    assert_eq!(without.status(), 401);
    let wrong = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("guess")
        .send()
        .await
        .expect("sent");
    assert_eq!(wrong.status(), 401);
    let with = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-me")
        .send()
        .await
        .expect("sent");
    assert_eq!(with.status(), 200);
    assert!(with.text().await.expect("body").contains("# TYPE"));
}
