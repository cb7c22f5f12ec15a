//! A write chosen as a deadlock's victim on PostgreSQL is tried again and goes through, rather
//! than reaching its caller as an outage.
//!
//! The deadlock is made on purpose, so the test does not depend on timing: another transaction
//! files a message (for another user) with the id the incoming delivery will use, so intake,
//! holding the sender's row, waits for it; then it asks for the sender's row. That transaction's own deadlock check is
//! put off for a minute, so the database's check runs in intake's session and picks intake as
//! the victim. The other transaction then rolls back, as a losing racer would.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement, TransactionTrait};
use whatsapp_agent::ports::{Enqueued, InboundDelivery, InboundIntake};

use crate::support::{fresh, whatsapp_delivery, Backend, TestDb};

fn delivery(phone: &str, sid: &str) -> InboundDelivery {
    whatsapp_delivery(phone, sid, "me duele el pecho")
}

const SENDER: &str = "+14155550177";
const OTHER: &str = "+14155550178";

async fn user_id(t: &TestDb, phone: &str) -> uuid::Uuid {
    t.query(&format!(
        "SELECT id FROM users WHERE phone_number = '{phone}'"
    ))
    .await
    .remove(0)
    .try_get::<uuid::Uuid>("", "id")
    .expect("user id")
}

fn sql(text: &str) -> Statement {
    Statement::from_string(DatabaseBackend::Postgres, text.to_string())
}

/// Waits until another session waits on a lock: intake, blocked behind the test's transaction.
async fn until_a_session_waits_on_a_lock(t: &TestDb) {
    for _ in 0..200 {
        let waiting = t
            .count(
                "SELECT COUNT(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .await;
        if waiting > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("intake never waited on the test's transaction");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intake_chosen_as_a_deadlock_victim_is_filed_on_its_next_try() {
    let t = fresh(Backend::Postgres).await;
    // The sender and another user exist, as after earlier messages.
    for (phone, sid) in [(SENDER, "SMdead0"), (OTHER, "SMdead1")] {
        let earlier = t
            .store
            .enqueue(&delivery(phone, sid))
            .await
            .expect("earlier");
        assert!(matches!(earlier, Enqueued::Accepted { .. }));
    }
    let (sender, other) = (user_id(&t, SENDER).await, user_id(&t, OTHER).await);

    let next = delivery(SENDER, "SMdead2");
    let message_id = next.message.id.0;
    let racer = t.db.begin().await.expect("racer begins");
    racer
        .execute(sql("SET LOCAL deadlock_timeout = '60s'"))
        .await
        .expect("deadlock check put off");
    racer
        .execute(sql(&format!(
            "INSERT INTO messages (id, user_id, direction, body, channel, created_at) \
             VALUES ('{message_id}', '{other}', 'incoming', 'racer', 'whatsapp', now())"
        )))
        .await
        .expect("racer files the same message id");

    let store = t.store.clone();
    let intake = tokio::spawn(async move { store.enqueue(&next).await });
    until_a_session_waits_on_a_lock(&t).await;
    // Intake holds the sender's row and waits for the racer's message; asking for the row
    // closes the cycle. Intake's session finds it and is rolled back, which lets this through.
    racer
        .execute(sql(&format!(
            "SELECT id FROM users WHERE id = '{sender}' FOR UPDATE"
        )))
        .await
        .expect("the racer gets the row once intake is the victim");
    racer.rollback().await.expect("racer rolls back");

    let filed = intake
        .await
        .expect("intake task")
        .expect("filed, not an outage");
    assert!(matches!(filed, Enqueued::Accepted { .. }), "{filed:?}");
    let stored = t
        .count(&format!(
            "SELECT COUNT(*) FROM messages WHERE id = '{message_id}' AND body = 'me duele el pecho'"
        ))
        .await;
    assert_eq!(stored, 1, "the delivery's message is stored once");
    let jobs = t
        .count(&format!(
            "SELECT COUNT(*) FROM inbound_jobs WHERE message_id = '{message_id}'"
        ))
        .await;
    assert_eq!(jobs, 1, "one job for it");
    t.cleanup().await;
}
