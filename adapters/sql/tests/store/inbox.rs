//! The inbox's three ports on `SqlStore`: intake, job leases fenced by their token on the
//! database's clock, the delivery log of send attempts, and the job board.

use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use whatsapp_agent::domain::MessageId;
use whatsapp_agent::ports::{
    DeliveryLog, DeliveryLogError, Enqueued, InboundDelivery, InboundIntake, Job, JobBoard,
    JobBoardError, JobFailure, JobLeases, LeaseError, StaffStore,
};

use crate::support::{whatsapp_delivery, TestDb};

on_both_backends!(
    a_worker_whose_lease_was_taken_over_writes_nothing,
    a_lease_run_out_by_the_database_clock_refuses_writes,
    attempts_are_recorded_before_the_send_and_keep_their_first_time,
    a_failed_job_marks_its_reply_flags_the_conversation_and_can_be_redriven,
    a_reply_that_failed_long_after_its_turn_is_told_and_its_job_re_driven_by_the_reply,
);

fn delivery(sid: &str) -> InboundDelivery {
    whatsapp_delivery("+14155550142", sid, "hola")
}

async fn claimed(t: &TestDb, sid: &str, lease: StdDuration) -> Job {
    let accepted = t.store.enqueue(&delivery(sid)).await.expect("enqueue");
    assert!(matches!(accepted, Enqueued::Accepted { .. }));
    t.store
        .claim(lease)
        .await
        .expect("claim")
        .expect("a job to claim")
}

/// Waits until the database's clock says the lease has run out; never longer than needed.
async fn until_expired(t: &TestDb, job: &Job) {
    for _ in 0..100 {
        tokio::time::sleep(StdDuration::from_millis(100)).await;
        let expired = t
            .count(&format!(
                "SELECT COUNT(*) FROM inbound_jobs WHERE id = {} AND lease_until < {}",
                job.id,
                if t.url.starts_with("postgres") {
                    "CURRENT_TIMESTAMP"
                } else {
                    "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')"
                }
            ))
            .await;
        if expired == 1 {
            return;
        }
    }
    panic!("the lease never ran out");
}

async fn a_worker_whose_lease_was_taken_over_writes_nothing(t: &TestDb) {
    let first = claimed(t, "SMlease1", StdDuration::from_millis(300)).await;
    until_expired(t, &first).await;
    let second = t
        .store
        .claim(StdDuration::from_secs(60))
        .await
        .expect("claim")
        .expect("the expired job is claimed again");
    assert_eq!(second.id, first.id);
    assert_ne!(second.lease_token, first.lease_token);

    let attempt = t
        .store
        .begin_attempt(&first, 0, StdDuration::from_secs(60))
        .await;
    let sent = t
        .store
        .record_sent(&first, first.message, 0, "SMlate")
        .await;
    let done = t.store.complete(&first).await;
    let renewed = t.store.renew(&first, StdDuration::from_secs(60)).await;
    let later = t
        .store
        .retry_later(&first, StdDuration::from_secs(1), "late")
        .await;
    let failure = JobFailure {
        error: "late".into(),
        reply: None,
        flag_reason: "delivery_failed".into(),
    };
    let failed = t.store.fail(&first, &failure).await;

    assert!(matches!(attempt, Err(DeliveryLogError::Lost)));
    assert!(matches!(sent, Err(DeliveryLogError::Lost)));
    assert!(matches!(done, Err(LeaseError::Lost)));
    assert!(matches!(renewed, Err(LeaseError::Lost)));
    assert!(matches!(later, Err(LeaseError::Lost)));
    assert!(matches!(failed, Err(LeaseError::Lost)));
    assert_eq!(t.count("SELECT COUNT(*) FROM send_attempts").await, 0);
    assert_eq!(t.count("SELECT COUNT(*) FROM deliveries").await, 0);
    assert_eq!(
        t.count(
            "SELECT COUNT(*) FROM inbound_jobs WHERE status = 'running' AND last_error IS NULL"
        )
        .await,
        1
    );
    // The new holder's writes land.
    t.store
        .begin_attempt(&second, 0, StdDuration::from_secs(60))
        .await
        .expect("the holder records its attempt");
    t.store
        .complete(&second)
        .await
        .expect("the holder completes");
}

async fn a_lease_run_out_by_the_database_clock_refuses_writes(t: &TestDb) {
    let job = claimed(t, "SMlease2", StdDuration::from_millis(300)).await;
    until_expired(t, &job).await;

    let attempt = t
        .store
        .begin_attempt(&job, 0, StdDuration::from_secs(60))
        .await;
    let done = t.store.complete(&job).await;

    assert!(matches!(attempt, Err(DeliveryLogError::Lost)));
    assert!(matches!(done, Err(LeaseError::Lost)));
    assert_eq!(t.count("SELECT COUNT(*) FROM send_attempts").await, 0);
}

async fn attempts_are_recorded_before_the_send_and_keep_their_first_time(t: &TestDb) {
    let job = claimed(t, "SMattempts", StdDuration::from_secs(60)).await;
    let reply = t
        .store
        .attach_fixed_reply(&job, "no puedo responder ahora", "fallback")
        .await
        .expect("reply");

    let first = t
        .store
        .begin_attempt(&job, 0, StdDuration::from_secs(60))
        .await
        .expect("attempt");
    let again = t
        .store
        .begin_attempt(&job, 0, StdDuration::from_secs(60))
        .await
        .expect("second attempt");
    let unknown = t.store.attempts(&job).await.expect("attempts");
    t.store
        .record_sent(&job, reply.id, 0, "SMpart0")
        .await
        .expect("sent");
    t.store.finish_sending(&job, reply.id).await.expect("done");
    let known = t.store.attempts(&job).await.expect("attempts");

    assert_eq!(first, again, "the first attempt's time is kept");
    assert!(first <= Utc::now() + Duration::minutes(5));
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0].attempts, 2);
    assert_eq!(unknown[0].provider_message_id, None);
    assert_eq!(known[0].provider_message_id.as_deref(), Some("SMpart0"));
    let rows = t
        .query("SELECT provider_message_id, delivery_status, agent FROM messages WHERE direction = 'outgoing'")
        .await;
    assert_eq!(
        rows[0]
            .try_get::<Option<String>>("", "provider_message_id")
            .expect("id")
            .as_deref(),
        Some("SMpart0")
    );
    assert_eq!(
        rows[0]
            .try_get::<Option<String>>("", "delivery_status")
            .expect("status")
            .as_deref(),
        Some("queued")
    );
}

async fn a_failed_job_marks_its_reply_flags_the_conversation_and_can_be_redriven(t: &TestDb) {
    let job = claimed(t, "SMfailed", StdDuration::from_secs(60)).await;
    let conversation = t
        .store
        .current(job.user, "anna", Duration::minutes(30), Utc::now())
        .await
        .expect("conversation");
    t.store
        .attach(job.message, conversation.id)
        .await
        .expect("file");
    let reply = t
        .store
        .attach_fixed_reply(&job, "respuesta", "anna")
        .await
        .expect("reply");

    t.store
        .fail(
            &job,
            &JobFailure {
                error: "send failed: Twilio HTTP 500".into(),
                reply: Some(reply.id),
                flag_reason: "delivery_failed".into(),
            },
        )
        .await
        .expect("fail");

    let rows = t
        .query("SELECT delivery_status, error FROM messages WHERE direction = 'outgoing'")
        .await;
    assert_eq!(
        rows[0]
            .try_get::<Option<String>>("", "delivery_status")
            .expect("status")
            .as_deref(),
        Some("failed")
    );
    assert!(rows[0]
        .try_get::<Option<String>>("", "error")
        .expect("error")
        .expect("an error")
        .contains("HTTP 500"));
    assert_eq!(
        t.count("SELECT COUNT(*) FROM conversations WHERE flag_reason = 'delivery_failed'")
            .await,
        1
    );
    let listed = t.store.list(Some("failed"), 10).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, job.id);
    assert!(listed[0]
        .last_error
        .as_deref()
        .is_some_and(|e| e.contains("HTTP 500")));

    t.store.retry(job.id).await.expect("re-driven");
    let again = t.store.retry(job.id).await;
    let unknown = t.store.retry(job.id + 1000).await;
    let reclaimed = t
        .store
        .claim(StdDuration::from_secs(60))
        .await
        .expect("claim")
        .expect("the re-driven job runs again");

    assert!(matches!(again, Err(JobBoardError::NotFailed { .. })));
    assert!(matches!(unknown, Err(JobBoardError::NotFound(_))));
    assert_eq!(reclaimed.id, job.id);
    assert_eq!(reclaimed.attempts, 1);
}

async fn a_reply_that_failed_long_after_its_turn_is_told_and_its_job_re_driven_by_the_reply(
    t: &TestDb,
) {
    let job = claimed(t, "SMlate", StdDuration::from_secs(60)).await;
    let an_hour_ago = Utc::now() - Duration::hours(1);
    let conversation = t
        .store
        .current(job.user, "anna", Duration::hours(2), an_hour_ago)
        .await
        .expect("conversation");
    t.store
        .attach(job.message, conversation.id)
        .await
        .expect("file");
    let reply = t
        .store
        .attach_fixed_reply(&job, "respuesta", "anna")
        .await
        .expect("reply");
    let before = Utc::now();
    t.store
        .fail(
            &job,
            &JobFailure {
                error: "send failed: Twilio HTTP 500; the reply window closed".into(),
                reply: Some(reply.id),
                flag_reason: "delivery_failed".into(),
            },
        )
        .await
        .expect("fail");

    let told = t.store.changed_since(before, 10).await.expect("changes");
    let redriven = t.store.retry_reply(reply.id).await;
    let again = t.store.retry_reply(reply.id).await;
    let orphan = t.store.retry_reply(MessageId::new()).await;
    let reclaimed = t
        .store
        .claim(StdDuration::from_secs(60))
        .await
        .expect("claim")
        .expect("the re-driven job runs again");

    assert_eq!(told.len(), 1, "the failure is news an hour after the turn");
    assert_eq!(told[0].0.conversation.id, conversation.id);
    assert!(told[0].1 >= before);
    assert_eq!(redriven.expect("re-driven"), Some(job.id));
    assert!(
        matches!(&again, Err(JobBoardError::NotFailed { id, status }) if *id == job.id && status == "pending"),
        "{again:?}"
    );
    assert!(matches!(orphan, Ok(None)), "{orphan:?}");
    assert_eq!(reclaimed.id, job.id);
    assert_eq!(reclaimed.attempts, 1, "a fresh attempt count");
    let rows = t
        .query("SELECT delivery_status, error FROM messages WHERE direction = 'outgoing'")
        .await;
    assert_eq!(
        rows[0]
            .try_get::<Option<String>>("", "delivery_status")
            .expect("status")
            .as_deref(),
        Some("queued")
    );
    assert_eq!(
        rows[0]
            .try_get::<Option<String>>("", "error")
            .expect("error"),
        None
    );
}
