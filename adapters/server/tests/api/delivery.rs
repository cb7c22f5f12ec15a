//! Delivery guarantees end to end, with a fake provider that fails or answers late: a part
//! whose send had no known outcome is looked up with the provider before it is sent again, and
//! a reply that cannot be sent while the reply window is open is marked failed and flagged.

use std::time::Duration;

use crate::both_backends;
use crate::fake_twilio::{self, FakeTwilio, Faults};
use crate::helpers::{fresh_database, spawn_at, Backend, TestApp};
use crate::whatsapp::{configure, message, post_signed};

async fn app_with(
    backend: Backend,
    tune: impl Fn(&mut wa_server::Settings) + Send + Sync + 'static,
) -> (TestApp, FakeTwilio) {
    let (app, twilio, _) = app_at(backend, tune).await;
    (app, twilio)
}

async fn app_at(
    backend: Backend,
    tune: impl Fn(&mut wa_server::Settings) + Send + Sync + 'static,
) -> (TestApp, FakeTwilio, String) {
    let twilio = fake_twilio::start().await;
    let (url, pg) = fresh_database(backend).await;
    let base = twilio.base_url.clone();
    let app = spawn_at(
        url.clone(),
        pg,
        move |s| {
            configure(s, &base, 1);
            tune(s);
        },
        None,
    )
    .await;
    (app, twilio, url)
}

fn jobs(url: &str, args: &[&str]) -> std::process::Output {
    crate::binary::binary()
        .arg("jobs")
        .args(args)
        .env("DATABASE_URL", url)
        .output()
        .expect("binary runs")
}

/// The job's status once it is done or failed.
async fn settled_job(app: &TestApp) -> String {
    for _ in 0..600 {
        let rows = app.query("SELECT status FROM inbound_jobs").await;
        if let Some(row) = rows.first() {
            let status: String = row.try_get("", "status").expect("status");
            if status == "done" || status == "failed" {
                return status;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the job never settled");
}

async fn reply_row(app: &TestApp) -> (Option<String>, Option<String>, Option<String>) {
    let rows = app
        .query(
            "SELECT provider_message_id, delivery_status, error FROM messages \
             WHERE direction = 'outgoing'",
        )
        .await;
    (
        rows[0].try_get("", "provider_message_id").expect("id"),
        rows[0].try_get("", "delivery_status").expect("status"),
        rows[0].try_get("", "error").expect("error"),
    )
}

both_backends!(
    a_send_answered_after_the_client_timeout_is_found_and_not_sent_again,
    |backend| async move {
        let (app, twilio) = app_with(backend, |s| {
            s.twilio.request_timeout_ms = 300;
        })
        .await;
        // The provider creates the message at once but answers after the client gave up.
        twilio.set_faults(Faults {
            answer_delay: Some(Duration::from_millis(1500)),
            remaining: Some(1),
            ..Faults::default()
        });
        let params = message(
            "SMdddddddddddddddddddddddddddddd01",
            "+14155550120",
            "late?",
        );

        assert_eq!(post_signed(&app, "/webhook", &params).await.status(), 200);
        let status = settled_job(&app).await;

        assert_eq!(status, "done");
        let created = twilio.created();
        assert_eq!(created.len(), 1, "the part went out once");
        let (sid, delivery, _) = reply_row(&app).await;
        assert_eq!(sid.as_deref(), Some(created[0].sid.as_str()));
        assert_eq!(delivery.as_deref(), Some("queued"));
        let attempts = app
            .count("SELECT SUM(attempts) FROM send_attempts WHERE part = 0")
            .await;
        assert_eq!(attempts, 1, "the second attempt asked, it did not send");
    }
);

both_backends!(
    a_send_that_never_reached_the_provider_is_sent_once_after_asking,
    |backend| async move {
        let (app, twilio) = app_with(backend, |s| {
            s.twilio.max_send_retries = 0;
        })
        .await;
        twilio.set_faults(Faults {
            fail_status: Some(500),
            remaining: Some(1),
            ..Faults::default()
        });
        let params = message(
            "SMdddddddddddddddddddddddddddddd02",
            "+14155550121",
            "again?",
        );

        assert_eq!(post_signed(&app, "/webhook", &params).await.status(), 200);
        let status = settled_job(&app).await;

        assert_eq!(status, "done");
        let created = twilio.created();
        assert_eq!(created.len(), 1);
        assert!(created[0].body.contains("again?"));
        let (sid, _, error) = reply_row(&app).await;
        assert_eq!(sid.as_deref(), Some(created[0].sid.as_str()));
        assert_eq!(error, None);
        assert_eq!(
            app.count("SELECT SUM(attempts) FROM send_attempts WHERE part = 0")
                .await,
            2
        );
    }
);

both_backends!(
    a_provider_that_cannot_say_holds_the_part_back,
    |backend| async move {
        let (app, twilio) = app_with(backend, |s| {
            s.twilio.request_timeout_ms = 300;
            s.worker.max_attempts = 2;
        })
        .await;
        twilio.set_faults(Faults {
            answer_delay: Some(Duration::from_millis(1500)),
            remaining: Some(1),
            list_fails: true,
            ..Faults::default()
        });
        let params = message(
            "SMdddddddddddddddddddddddddddddd03",
            "+14155550122",
            "unsure",
        );
        assert_eq!(post_signed(&app, "/webhook", &params).await.status(), 200);
        // Retries that cannot ask the provider do not send.
        for _ in 0..200 {
            if app
                .count("SELECT COUNT(*) FROM inbound_jobs WHERE attempts >= 4")
                .await
                == 1
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(twilio.created().len(), 1);

        twilio.set_faults(Faults::default());
        let status = settled_job(&app).await;

        assert_eq!(status, "done");
        assert_eq!(twilio.created().len(), 1, "found once the provider answers");
    }
);

both_backends!(
    a_reply_that_cannot_go_out_in_the_window_is_marked_failed_and_flagged,
    |backend| async move {
        let (app, twilio) = app_with(backend, |s| {
            s.twilio.max_send_retries = 0;
            s.worker.send_window_secs = 1;
        })
        .await;
        twilio.set_faults(Faults {
            fail_status: Some(500),
            ..Faults::default()
        });
        let params = message(
            "SMdddddddddddddddddddddddddddddd04",
            "+14155550123",
            "hello?",
        );

        assert_eq!(post_signed(&app, "/webhook", &params).await.status(), 200);
        let status = settled_job(&app).await;

        assert_eq!(status, "failed");
        assert!(twilio.created().is_empty());
        let (_, delivery, error) = reply_row(&app).await;
        assert_eq!(delivery.as_deref(), Some("failed"));
        let error = error.expect("the reason is on the reply");
        assert!(error.contains("500"), "{error}");
        assert!(error.contains("window"), "{error}");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM conversations WHERE flag_reason = 'delivery_failed'")
                .await,
            1
        );
    }
);

both_backends!(
    an_operator_sees_a_failed_job_and_re_drives_it_from_the_command_line,
    |backend| async move {
        let (app, twilio, url) = app_at(backend, |s| {
            s.twilio.max_send_retries = 0;
            s.worker.send_window_secs = 1;
        })
        .await;
        twilio.set_faults(Faults {
            fail_status: Some(500),
            ..Faults::default()
        });
        let params = message("SMdddddddddddddddddddddddddddddd05", "+14155550124", "redo");
        assert_eq!(post_signed(&app, "/webhook", &params).await.status(), 200);
        assert_eq!(settled_job(&app).await, "failed");
        let id = app.count("SELECT id FROM inbound_jobs").await.to_string();

        let listed = jobs(&url, &["list", "--status", "failed"]);
        twilio.set_faults(Faults::default());
        let retried = jobs(&url, &["retry", &id]);
        let status = settled_job(&app).await;
        let again = jobs(&url, &["retry", &id]);

        let table = String::from_utf8_lossy(&listed.stdout).into_owned();
        assert!(listed.status.success(), "{table}");
        assert!(table.contains("failed") && table.contains("500"), "{table}");
        assert!(!table.contains("+14155550124"), "no phone number: {table}");
        assert!(retried.status.success());
        assert!(String::from_utf8_lossy(&retried.stdout).contains("queued"));
        assert_eq!(status, "done");
        assert_eq!(twilio.created().len(), 1);
        let (sid, delivery, error) = reply_row(&app).await;
        assert_eq!(sid.as_deref(), Some(twilio.created()[0].sid.as_str()));
        assert_eq!(delivery.as_deref(), Some("queued"));
        assert_eq!(error, None);
        assert_eq!(again.status.code(), Some(1), "a done job is not re-driven");
    }
);

both_backends!(
    readiness_reports_how_long_the_oldest_message_has_waited,
    |backend| async move {
        // An instance that only receives: the job waits in the queue.
        let (app, _twilio) = app_with(backend, |s| s.worker.concurrency = 0).await;
        let empty: serde_json::Value = app
            .client
            .get(app.url("/health/ready"))
            .send()
            .await
            .expect("ready")
            .json()
            .await
            .expect("json");
        let params = message("SMdddddddddddddddddddddddddddddd06", "+14155550125", "wait");
        assert_eq!(post_signed(&app, "/webhook", &params).await.status(), 200);

        let waiting: serde_json::Value = app
            .client
            .get(app.url("/health/ready"))
            .send()
            .await
            .expect("ready")
            .json()
            .await
            .expect("json");

        assert_eq!(empty["queue_oldest_pending_secs"], 0);
        assert!(waiting["queue_oldest_pending_secs"].is_u64(), "{waiting}");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM inbound_jobs WHERE status = 'pending'")
                .await,
            1
        );
    }
);

both_backends!(
    the_staff_api_lists_jobs_and_re_drives_a_failed_one_with_the_admin_scope,
    |backend| async move {
        use crate::keys::{call, create_key, lock, ADMIN};
        use reqwest::Method;

        let (app, twilio) = app_with(backend, |s| {
            lock(s);
            s.twilio.max_send_retries = 0;
            s.worker.send_window_secs = 1;
        })
        .await;
        twilio.set_faults(Faults {
            fail_status: Some(500),
            ..Faults::default()
        });
        let params = message(
            "SMdddddddddddddddddddddddddddddd07",
            "+14155550126",
            "staff",
        );
        assert_eq!(post_signed(&app, "/webhook", &params).await.status(), 200);
        assert_eq!(settled_job(&app).await, "failed");
        let chat_key = create_key(&app, "app", &["chat"]).await["key"]
            .as_str()
            .expect("key")
            .to_string();
        let id = app.count("SELECT id FROM inbound_jobs").await;
        let retry = format!("/jobs/{id}/retry");

        let anonymous = call(&app, Method::GET, "/jobs", None, None).await;
        let chat_only = call(&app, Method::POST, &retry, Some(&chat_key), None).await;
        let listed = call(&app, Method::GET, "/jobs?status=failed", Some(ADMIN), None).await;
        twilio.set_faults(Faults::default());
        let retried = call(&app, Method::POST, &retry, Some(ADMIN), None).await;
        let status = settled_job(&app).await;
        let again = call(&app, Method::POST, &retry, Some(ADMIN), None).await;
        let unknown = call(&app, Method::POST, "/jobs/999999/retry", Some(ADMIN), None).await;

        assert_eq!(anonymous.status, 401);
        assert_eq!(chat_only.status, 403);
        assert_eq!(listed.status, 200, "{}", listed.body);
        assert_eq!(listed.body["jobs"][0]["id"], id);
        assert_eq!(listed.body["jobs"][0]["status"], "failed");
        assert!(listed.body["jobs"][0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("500")));
        assert_eq!(retried.status, 200, "{}", retried.body);
        assert_eq!(retried.body["status"], "pending");
        assert_eq!(status, "done");
        assert_eq!(twilio.created().len(), 1);
        assert_eq!(again.status, 409);
        assert_eq!(again.body["error"]["code"], "job_not_failed");
        assert_eq!(unknown.status, 404);
    }
);
