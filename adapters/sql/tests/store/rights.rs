//! `DataRights`: a user's data exported whole and erased whole (checked against every table the
//! database's catalogue lists), old rows purged in batches, and task leases.

use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement, Value};
use uuid::Uuid;
use whatsapp_agent::domain::{
    Channel, ConversationId, Direction, Media, MessageId, NewMessage, NewUser, User, UserId,
};
use whatsapp_agent::ports::{
    DataRights, DeliveryLog, DeliveryStatus, Enqueued, Erasure, InboundDelivery, InboundIntake,
    JobLeases, KeyStore, NewApiKey, Page, SendOutcome, StaffStore, StatusUpdate, UserRef,
};

use crate::support::{whatsapp_delivery, TestDb};

on_both_backends!(
    an_export_holds_the_users_conversations_messages_and_deliveries,
    erasure_leaves_no_row_of_the_user_in_any_table,
    erasing_an_unknown_user_changes_nothing,
    purging_removes_old_rows_in_batches_and_keeps_new_ones,
    a_task_lease_has_one_holder_until_it_expires,
);

/// What one seeded WhatsApp user left in the store: everything the checks look for.
struct Seeded {
    user: User,
    conversation: ConversationId,
    messages: Vec<MessageId>,
    /// Provider ids of the incoming message and of every sent part.
    provider_ids: Vec<String>,
    /// A word that only this user's message bodies hold.
    word: String,
}

fn number_of(tag: &str) -> String {
    match tag {
        "target" => "+14155550100".into(),
        "bystander" => "+14155550199".into(),
        _ => "+14155550150".into(),
    }
}

fn delivery(tag: &str, sid: &str) -> InboundDelivery {
    let number = number_of(tag);
    let body = format!("my {tag}word knee hurts");
    let mut delivery = whatsapp_delivery(&number, sid, &body);
    let mut voice = Media::audio(format!("https://media.example/{tag}/voice.ogg"));
    voice.transcript = Some(format!("{tag}word transcript"));
    delivery.message.media = vec![voice];
    delivery.user.display_name = Some(format!("{tag}word name"));
    delivery.raw = serde_json::json!({
        "From": format!("whatsapp:{number}"),
        "WaId": number.trim_start_matches('+'),
        "Body": body,
        "MessageSid": sid,
    });
    delivery
}

/// A WhatsApp user with every kind of row: an incoming message with raw parameters and its
/// job, a conversation the team opened, a bot reply sent in two parts with a status callback,
/// and a person's reply sent and tracked.
async fn seed(t: &TestDb, tag: &str) -> Seeded {
    let sid_in = format!("SM{tag}in");
    let Enqueued::Accepted { message, .. } = t
        .store
        .enqueue(&delivery(tag, &sid_in))
        .await
        .expect("enqueue")
    else {
        panic!("a new delivery is accepted");
    };
    let job = t
        .store
        .claim(StdDuration::from_secs(60))
        .await
        .expect("claim")
        .expect("a job");
    assert_eq!(job.message, message);
    let user = t
        .store
        .user_messages(
            &UserRef::Identity(number_of(tag)),
            Page {
                before: None,
                limit: 1,
            },
        )
        .await
        .expect("user")
        .expect("known")
        .0;
    let conversation = t
        .store
        .current(user.id, "anna", Duration::minutes(30), Utc::now())
        .await
        .expect("conversation");
    t.store
        .attach(message, conversation.id)
        .await
        .expect("file");
    let mut reply = NewMessage::new(
        user.id,
        Channel::WhatsApp,
        Direction::Outgoing,
        format!("bot answer to {tag}word"),
    );
    reply.agent = Some("anna".into());
    let reply = t.store.append(&reply).await.expect("reply");
    t.store
        .attach(reply.id, conversation.id)
        .await
        .expect("file reply");
    t.store
        .attach_reply(&job, reply.id)
        .await
        .expect("attach reply");
    let parts = vec![format!("SM{tag}bot0"), format!("SM{tag}bot1")];
    for (part, sid) in (0u32..).zip(&parts) {
        t.store
            .begin_attempt(&job, part, StdDuration::from_secs(60))
            .await
            .expect("attempt");
        t.store
            .record_sent(&job, reply.id, part, sid)
            .await
            .expect("record sent");
    }
    t.store.finish_sending(&job, reply.id).await.expect("sent");
    t.store.complete(&job).await.expect("complete");
    t.store
        .update_delivery(&StatusUpdate {
            provider_message_id: parts[0].clone(),
            status: DeliveryStatus::Delivered,
            error_code: None,
        })
        .await
        .expect("callback");
    t.store
        .conversation(
            conversation.id,
            Page {
                before: None,
                limit: 10,
            },
            Utc::now(),
        )
        .await
        .expect("the team looks");
    let mut staff = NewMessage::new(
        user.id,
        Channel::WhatsApp,
        Direction::Outgoing,
        format!("Maria about {tag}word"),
    );
    staff.agent = Some("human:Maria".into());
    let (_, _, staff) = t
        .store
        .store_staff_reply(conversation.id, &staff)
        .await
        .expect("staff reply")
        .expect("known conversation");
    let staff_sid = format!("SM{tag}staff0");
    t.store
        .record_staff_send(staff.id, &SendOutcome::Sent(vec![staff_sid.clone()]))
        .await
        .expect("record staff send");
    Seeded {
        user,
        conversation: conversation.id,
        messages: vec![message, reply.id, staff.id],
        provider_ids: vec![sid_in, parts[0].clone(), parts[1].clone(), staff_sid],
        word: format!("{tag}word"),
    }
}

/// Rows unrelated to any user, so that those tables are not empty either.
async fn seed_unrelated(t: &TestDb) {
    t.store
        .create_key(&NewApiKey {
            id: Uuid::now_v7(),
            prefix: "wak_unrelated".into(),
            name: "ops".into(),
            scopes: vec![whatsapp_agent::access::Scope::Admin],
            lookup_hash: "0".repeat(64),
            token_secret: vec![1, 2, 3],
            created_at: Utc::now(),
        })
        .await
        .expect("key");
    assert!(t
        .store
        .lead_task("retention", Uuid::now_v7(), 60)
        .await
        .expect("lease"));
}

/// Every table the database's catalogue lists, but the migrations' bookkeeping.
async fn tables(t: &TestDb) -> Vec<String> {
    let sql = match t.db.get_database_backend() {
        DatabaseBackend::Postgres => {
            "SELECT table_name FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
        }
        _ => {
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
    };
    texts(t, sql)
        .await
        .into_iter()
        .filter(|name| name != "seaql_migrations")
        .collect()
}

async fn columns(t: &TestDb, table: &str) -> Vec<String> {
    let sql = match t.db.get_database_backend() {
        DatabaseBackend::Postgres => format!(
            "SELECT column_name FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = '{table}'"
        ),
        _ => format!("SELECT name FROM pragma_table_info('{table}')"),
    };
    texts(t, &sql).await
}

async fn texts(t: &TestDb, sql: &str) -> Vec<String> {
    t.query(sql)
        .await
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).expect("a name"))
        .collect()
}

/// The strings that give a user away: their number (with and without `+`), ids, provider
/// ids and a word of their messages.
fn needles(seeded: &Seeded) -> Vec<String> {
    let mut needles = vec![
        seeded.user.phone_number.clone(),
        seeded.user.phone_number.trim_start_matches('+').to_string(),
        seeded.user.id.to_string(),
        seeded.conversation.to_string(),
        seeded.word.clone(),
    ];
    needles.extend(seeded.messages.iter().map(ToString::to_string));
    needles.extend(seeded.provider_ids.iter().cloned());
    needles
}

/// Rows of `table` in which any column holds any needle, as text or (SQLite keeps UUIDs as
/// blobs) as bytes.
async fn rows_holding(t: &TestDb, table: &str, needles: &[String]) -> i64 {
    let sqlite = t.db.get_database_backend() == DatabaseBackend::Sqlite;
    let mut conditions = Vec::new();
    for column in columns(t, table).await {
        for needle in needles {
            conditions.push(format!("CAST(\"{column}\" AS TEXT) LIKE '%{needle}%'"));
            if sqlite {
                if let Ok(id) = Uuid::parse_str(needle) {
                    let hex = id.simple().to_string().to_uppercase();
                    conditions.push(format!("hex(\"{column}\") LIKE '%{hex}%'"));
                }
            }
        }
    }
    t.count(&format!(
        "SELECT COUNT(*) FROM \"{table}\" WHERE {}",
        conditions.join(" OR ")
    ))
    .await
}

async fn exec(t: &TestDb, sql: &str, values: Vec<Value>) -> u64 {
    let backend = t.db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => sql.to_string(),
        _ => sql.replace('$', "?"),
    };
    t.db.execute(Statement::from_sql_and_values(backend, sql.clone(), values))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .rows_affected()
}

async fn an_export_holds_the_users_conversations_messages_and_deliveries(t: &TestDb) {
    // Arrange
    let target = seed(t, "target").await;
    seed(t, "bystander").await;

    // Act
    let export = t
        .store
        .export_user(&UserRef::Identity("+14155550100".into()))
        .await
        .expect("export")
        .expect("known");
    let by_id = t
        .store
        .export_user(&UserRef::Id(target.user.id))
        .await
        .expect("export by id")
        .expect("known");
    let unknown = t
        .store
        .export_user(&UserRef::Identity("+19999999999".into()))
        .await
        .expect("export unknown");

    // Assert
    assert_eq!(export.user, target.user);
    assert_eq!(
        export
            .conversations
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        vec![target.conversation]
    );
    let messages: Vec<_> = export.messages.iter().map(|f| f.message.id).collect();
    assert_eq!(messages, target.messages, "oldest first");
    assert!(export
        .messages
        .iter()
        .all(|f| f.conversation == Some(target.conversation)));
    let incoming = &export.messages[0].message;
    assert_eq!(
        incoming.media[0].transcript.as_deref(),
        Some("targetword transcript")
    );
    assert_eq!(
        export.messages[1].message.delivery_status.as_deref(),
        Some("delivered")
    );
    assert_eq!(
        export.messages[2].message.agent.as_deref(),
        Some("human:Maria")
    );
    let mut sids: Vec<&str> = export
        .deliveries
        .iter()
        .map(|d| d.provider_message_id.as_str())
        .collect();
    sids.sort_unstable();
    assert_eq!(sids, ["SMtargetbot0", "SMtargetbot1", "SMtargetstaff0"]);
    let delivered = export
        .deliveries
        .iter()
        .find(|d| d.provider_message_id == "SMtargetbot0")
        .expect("part 0");
    assert_eq!(delivered.status.as_deref(), Some("delivered"));
    assert_eq!(delivered.part, Some(0));
    assert_eq!(delivered.message_id, Some(target.messages[1].0));
    assert_eq!(by_id, export);
    assert!(unknown.is_none());
}

async fn erasure_leaves_no_row_of_the_user_in_any_table(t: &TestDb) {
    // Arrange
    let target = seed(t, "target").await;
    let bystander = seed(t, "bystander").await;
    seed_unrelated(t).await;
    let tables = tables(t).await;
    for known in [
        "users",
        "messages",
        "conversations",
        "inbound_jobs",
        "deliveries",
        "api_keys",
        "task_leases",
        "erasures",
    ] {
        assert!(tables.iter().any(|name| name == known), "{known} listed");
    }
    let checked: Vec<&String> = tables.iter().filter(|name| *name != "erasures").collect();
    let mut before = 0;
    for table in &checked {
        before += rows_holding(t, table, &needles(&target)).await;
    }
    // The user, 3 messages, 1 job, 1 conversation, 3 deliveries and 2 send attempts.
    assert_eq!(before, 11, "the check sees the user's rows first");

    // Act
    let report = t
        .store
        .erase_user(
            &UserRef::Identity("+14155550100".into()),
            &Erasure {
                at: Utc::now(),
                actor: "key:wak_staff".into(),
            },
        )
        .await
        .expect("erase")
        .expect("known");

    // Assert
    assert_eq!(report.user, target.user.id);
    assert_eq!(report.rows, 9);
    for table in &checked {
        assert_eq!(
            rows_holding(t, table, &needles(&target)).await,
            0,
            "{table} still holds the erased user's data"
        );
    }
    let mut kept = 0;
    for table in &checked {
        kept += rows_holding(t, table, &needles(&bystander)).await;
    }
    assert_eq!(kept, 11, "other users keep their rows");
    assert_eq!(t.count("SELECT COUNT(*) FROM api_keys").await, 1);
    assert_eq!(t.count("SELECT COUNT(*) FROM task_leases").await, 1);

    let mut audit_columns = columns(t, "erasures").await;
    audit_columns.sort();
    assert_eq!(audit_columns, ["actor", "erased_at", "id"]);
    assert_eq!(t.count("SELECT COUNT(*) FROM erasures").await, 1);
    assert_eq!(
        t.count("SELECT COUNT(*) FROM erasures WHERE actor = 'key:wak_staff'")
            .await,
        1
    );
    assert_eq!(rows_holding(t, "erasures", &needles(&target)).await, 0);

    let again = t
        .store
        .enqueue(&delivery("target", "SMtargetagain"))
        .await
        .expect("a later delivery");
    assert!(matches!(again, Enqueued::Accepted { .. }));
    let (newcomer, messages) = t
        .store
        .user_messages(
            &UserRef::Identity("+14155550100".into()),
            Page {
                before: None,
                limit: 10,
            },
        )
        .await
        .expect("read")
        .expect("a new user");
    assert_ne!(newcomer.id, target.user.id);
    assert_eq!(messages.len(), 1);
}

async fn erasing_an_unknown_user_changes_nothing(t: &TestDb) {
    // Arrange
    let kept = seed(t, "bystander").await;

    // Act
    let report = t
        .store
        .erase_user(
            &UserRef::Id(UserId::new()),
            &Erasure {
                at: Utc::now(),
                actor: "admin_token".into(),
            },
        )
        .await
        .expect("erase");

    // Assert
    assert!(report.is_none());
    assert_eq!(t.count("SELECT COUNT(*) FROM erasures").await, 0);
    assert_eq!(t.count("SELECT COUNT(*) FROM messages").await, 3);
    assert!(t
        .store
        .export_user(&UserRef::Id(kept.user.id))
        .await
        .expect("export")
        .is_some());
}

async fn purging_removes_old_rows_in_batches_and_keeps_new_ones(t: &TestDb) {
    // Arrange: an old user whose every row is old, a user with an old and a new message, a
    // new user, and an old message whose job has not run yet.
    let old = seed(t, "target").await;
    let mixed = seed(t, "bystander").await;
    let long_ago = Utc::now() - Duration::days(40);
    let cutoff = Utc::now() - Duration::days(30);
    let old_id: Value = old.user.id.0.into();
    exec(
        t,
        "UPDATE users SET created_at = $1 WHERE id = $2",
        vec![long_ago.into(), old_id.clone()],
    )
    .await;
    exec(
        t,
        "UPDATE messages SET created_at = $1 WHERE user_id = $2",
        vec![long_ago.into(), old_id.clone()],
    )
    .await;
    exec(
        t,
        "UPDATE conversations SET last_activity_at = $1 WHERE user_id = $2",
        vec![long_ago.into(), old_id.clone()],
    )
    .await;
    exec(
        t,
        "UPDATE inbound_jobs SET updated_at = $1 WHERE user_id = $2",
        vec![long_ago.into(), old_id],
    )
    .await;
    let mixed_id: Value = mixed.user.id.0.into();
    exec(
        t,
        "UPDATE users SET created_at = $1 WHERE id = $2",
        vec![long_ago.into(), mixed_id.clone()],
    )
    .await;
    exec(
        t,
        "UPDATE conversations SET last_activity_at = $1 WHERE user_id = $2",
        vec![long_ago.into(), mixed_id],
    )
    .await;
    exec(
        t,
        "UPDATE messages SET created_at = $1 WHERE id = $2",
        vec![long_ago.into(), mixed.messages[0].0.into()],
    )
    .await;
    let fresh = t
        .store
        .find_or_create_user(&NewUser::chat("fresh"))
        .await
        .expect("fresh user");
    let Enqueued::Accepted {
        message: waiting, ..
    } = t
        .store
        .enqueue(&delivery("waiting", "SMwaiting"))
        .await
        .expect("enqueue")
    else {
        panic!("accepted");
    };
    exec(
        t,
        "UPDATE messages SET created_at = $1 WHERE id = $2",
        vec![long_ago.into(), waiting.0.into()],
    )
    .await;
    exec(
        t,
        "UPDATE inbound_jobs SET updated_at = $1 WHERE message_id = $2",
        vec![long_ago.into(), waiting.0.into()],
    )
    .await;

    // Act
    let first = t.store.purge_before(cutoff, 1).await.expect("first batch");
    let mut total = first.clone();
    loop {
        let batch = t.store.purge_before(cutoff, 1).await.expect("batch");
        if batch.total() == 0 {
            break;
        }
        total.messages += batch.messages;
        total.jobs += batch.jobs;
        total.conversations += batch.conversations;
        total.users += batch.users;
    }

    // Assert
    assert!(first.messages <= 1 && first.conversations <= 1 && first.users <= 1);
    assert_eq!(
        total.messages, 4,
        "the old user's three and the mixed user's old one"
    );
    assert_eq!(
        total.jobs, 2,
        "the old user's finished job, and the mixed user's with its old message"
    );
    assert_eq!(total.conversations, 1);
    assert_eq!(total.users, 1);
    let gone = t
        .store
        .export_user(&UserRef::Id(old.user.id))
        .await
        .expect("export");
    assert!(gone.is_none(), "the old user is gone");
    let left = t
        .store
        .export_user(&UserRef::Id(mixed.user.id))
        .await
        .expect("export")
        .expect("the mixed user stays");
    assert_eq!(
        left.messages
            .iter()
            .map(|f| f.message.id)
            .collect::<Vec<_>>(),
        mixed.messages[1..].to_vec()
    );
    assert_eq!(left.conversations.len(), 1);
    assert_eq!(left.deliveries.len(), 3);
    assert!(t
        .store
        .export_user(&UserRef::Id(fresh.id))
        .await
        .expect("export")
        .is_some());
    assert_eq!(
        t.count("SELECT COUNT(*) FROM inbound_jobs WHERE status = 'pending'")
            .await,
        1,
        "a job still to run keeps its message"
    );
    let pending = t
        .count("SELECT COUNT(*) FROM messages WHERE provider_message_id = 'SMwaiting'")
        .await;
    assert_eq!(pending, 1);
    let deliveries_of_old = t
        .count("SELECT COUNT(*) FROM deliveries WHERE provider_message_id LIKE 'SMtarget%'")
        .await;
    assert_eq!(deliveries_of_old, 0);
}

async fn a_task_lease_has_one_holder_until_it_expires(t: &TestDb) {
    // Arrange
    let (first, second) = (Uuid::now_v7(), Uuid::now_v7());

    // Act
    let taken = t
        .store
        .lead_task("retention", first, 60)
        .await
        .expect("take");
    let refused = t
        .store
        .lead_task("retention", second, 60)
        .await
        .expect("try");
    let renewed = t
        .store
        .lead_task("retention", first, 60)
        .await
        .expect("renew");
    let other_task = t
        .store
        .lead_task("reindex", second, 60)
        .await
        .expect("other");
    let short = t.store.lead_task("short", first, 0).await.expect("short");
    tokio::time::sleep(StdDuration::from_millis(50)).await;
    let after_expiry = t
        .store
        .lead_task("short", second, 60)
        .await
        .expect("expired");
    let former = t.store.lead_task("short", first, 60).await.expect("former");

    // Assert
    assert!(taken, "a free lease is taken");
    assert!(!refused, "a running lease belongs to its holder");
    assert!(renewed, "the holder renews");
    assert!(other_task, "tasks are leased apart");
    assert!(short);
    assert!(after_expiry, "an expired lease is free");
    assert!(!former, "the former holder lost it");
}
