//! A patient's data rights through the real wiring, with credentials enforced, on both
//! backends: the export holds their data, an erasure leaves no row of theirs in any table the
//! database lists, and the retention purge removes old rows and keeps new ones.

use std::time::Duration;

use chrono::Utc;
use reqwest::Method;
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement, Value as SqlValue};
use serde_json::{json, Value};

use crate::both_backends;
use crate::fake_twilio::{self, FakeTwilio};
use crate::helpers::{fresh_database, spawn_at, Backend, TestApp};
use crate::keys::{call, chat_as, create_key, lock, ADMIN};
use crate::whatsapp::{configure, message, post_signed};

const NUMBER: &str = "+14155550100";
const NUMBER_PATH: &str = "%2B14155550100";
const BYSTANDER: &str = "+14155550177";

async fn whatsapp_app(backend: Backend, twilio: &FakeTwilio) -> TestApp {
    let (url, pg) = fresh_database(backend).await;
    let base = twilio.base_url.clone();
    spawn_at(
        url,
        pg,
        move |s| {
            lock(s);
            configure(s, &base, 1);
        },
        None,
    )
    .await
}

/// Polls until `sql` counts at least `n`, for at most 30 s.
async fn wait_count(app: &TestApp, sql: &str, n: i64) {
    for _ in 0..300 {
        if app.count(sql).await >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{sql} never reached {n}");
}

/// A WhatsApp message from `from`, answered by the bot (its reply stored and sent).
async fn whatsapp_turn(app: &TestApp, sid: &str, from: &str, body: &str) {
    let response = post_signed(app, "/webhook", &message(sid, from, body)).await;
    assert_eq!(response.status(), 200);
    wait_count(
        app,
        &format!(
            "SELECT COUNT(*) FROM messages m JOIN users u ON u.id = m.user_id \
             WHERE u.phone_number = '{from}' AND m.direction = 'outgoing' \
             AND m.provider_message_id IS NOT NULL"
        ),
        1,
    )
    .await;
}

async fn admin(app: &TestApp, method: Method, path: &str) -> (u16, Value) {
    let answer = call(app, method, path, Some(ADMIN), None).await;
    (answer.status, answer.body)
}

both_backends!(
    an_export_holds_the_users_conversations_messages_media_and_deliveries,
    |backend| async move {
        // Arrange
        let twilio = fake_twilio::start().await;
        let app = whatsapp_app(backend, &twilio).await;
        let chat_key = create_key(&app, "app", &["chat"]).await["key"]
            .as_str()
            .expect("key")
            .to_string();
        let turn = chat_as(
            &app,
            &chat_key,
            "alice",
            json!({"content": "what is this rash?", "media_urls": ["https://img.example/rash.jpg"]}),
        )
        .await;
        assert_eq!(turn.status, 200, "{}", turn.body);
        whatsapp_turn(&app, "SMexport0001", NUMBER, "Can I book for Monday?").await;

        // Act
        let (chat_status, chat) = admin(&app, Method::GET, "/users/chat_alice/export").await;
        let (wa_status, wa) =
            admin(&app, Method::GET, &format!("/users/{NUMBER_PATH}/export")).await;
        let by_id = admin(
            &app,
            Method::GET,
            &format!(
                "/users/{}/export",
                turn.body["user_uuid"].as_str().expect("uuid")
            ),
        )
        .await;
        let unknown = admin(&app, Method::GET, "/users/chat_nobody/export").await;
        let as_chat_key = call(
            &app,
            Method::GET,
            "/users/chat_alice/export",
            Some(&chat_key),
            None,
        )
        .await;
        let anonymous = call(&app, Method::GET, "/users/chat_alice/export", None, None).await;

        // Assert
        assert_eq!(chat_status, 200, "{chat}");
        assert_eq!(chat["user"]["identity"], "chat_alice");
        assert_eq!(chat["user"]["channel"], "chat");
        assert_eq!(chat["user"]["uuid"], turn.body["user_uuid"]);
        assert_eq!(chat["conversations"].as_array().map(Vec::len), Some(1));
        assert_eq!(chat["conversations"][0]["id"], turn.body["conversation_id"]);
        let messages = chat["messages"].as_array().expect("messages");
        assert_eq!(messages.len(), 2, "{chat}");
        assert_eq!(messages[0]["direction"], "incoming");
        assert_eq!(messages[0]["body"], "what is this rash?");
        assert_eq!(
            messages[0]["media"][0]["url"],
            "https://img.example/rash.jpg"
        );
        assert_eq!(messages[0]["media"][0]["kind"], "image");
        assert_eq!(messages[0]["conversation_id"], turn.body["conversation_id"]);
        assert_eq!(messages[1]["direction"], "outgoing");
        assert_eq!(messages[1]["id"], turn.body["outgoing_message_id"]);
        assert_eq!(by_id.0, 200);
        assert_eq!(by_id.1["user"]["identity"], "chat_alice");

        assert_eq!(wa_status, 200, "{wa}");
        assert_eq!(wa["user"]["identity"], NUMBER);
        assert_eq!(wa["user"]["channel"], "whatsapp");
        let messages = wa["messages"].as_array().expect("messages");
        assert_eq!(messages[0]["body"], "Can I book for Monday?");
        assert_eq!(messages[0]["provider_message_id"], "SMexport0001");
        let reply = messages
            .iter()
            .find(|m| m["direction"] == "outgoing")
            .expect("the reply");
        assert!(reply["delivery_status"].is_string(), "{reply}");
        let deliveries = wa["deliveries"].as_array().expect("deliveries");
        assert!(!deliveries.is_empty(), "{wa}");
        assert_eq!(deliveries[0]["message_id"], reply["id"]);

        assert_eq!(unknown.0, 404, "{}", unknown.1);
        assert_eq!(unknown.1["error"]["code"], "not_found");
        assert_eq!(as_chat_key.status, 403);
        assert_eq!(anonymous.status, 401);
        assert_eq!(anonymous.challenge.as_deref(), Some("Bearer"));
    }
);

/// Every table the database's catalogue lists, but the migrations' bookkeeping: a table added
/// later is checked without anyone remembering to.
async fn tables(app: &TestApp) -> Vec<String> {
    let sql = match app.db.get_database_backend() {
        DatabaseBackend::Postgres => {
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
        }
        _ => {
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
    };
    names(app, sql)
        .await
        .into_iter()
        .filter(|name| name != "seaql_migrations")
        .collect()
}

async fn columns(app: &TestApp, table: &str) -> Vec<String> {
    let sql = match app.db.get_database_backend() {
        DatabaseBackend::Postgres => format!(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = '{table}'"
        ),
        _ => format!("SELECT name FROM pragma_table_info('{table}')"),
    };
    names(app, &sql).await
}

async fn names(app: &TestApp, sql: &str) -> Vec<String> {
    app.texts(sql).await.into_iter().flatten().collect()
}

/// Rows of `table` in which any column holds any needle, as text or (SQLite keeps UUIDs as
/// blobs) as hex bytes.
async fn rows_holding(app: &TestApp, table: &str, needles: &[String]) -> i64 {
    let sqlite = app.db.get_database_backend() == DatabaseBackend::Sqlite;
    let mut conditions = Vec::new();
    for column in columns(app, table).await {
        for needle in needles {
            conditions.push(format!("CAST(\"{column}\" AS TEXT) LIKE '%{needle}%'"));
            if sqlite {
                if let Ok(id) = uuid::Uuid::parse_str(needle) {
                    let hex = id.simple().to_string().to_uppercase();
                    conditions.push(format!("hex(\"{column}\") LIKE '%{hex}%'"));
                }
            }
        }
    }
    app.count(&format!(
        "SELECT COUNT(*) FROM \"{table}\" WHERE {}",
        conditions.join(" OR ")
    ))
    .await
}

/// What gives a user away: the number (with and without `+`), a word only they wrote, and
/// every id in their export.
fn needles(number: &str, word: &str, export: &Value) -> Vec<String> {
    let mut needles = vec![
        number.to_string(),
        number.trim_start_matches('+').to_string(),
        word.to_string(),
    ];
    let mut ids = vec![export["user"]["uuid"].clone()];
    for list in ["conversations", "messages"] {
        for item in export[list].as_array().into_iter().flatten() {
            ids.push(item["id"].clone());
        }
    }
    for message in export["messages"].as_array().into_iter().flatten() {
        ids.push(message["provider_message_id"].clone());
    }
    needles.extend(ids.iter().filter_map(Value::as_str).map(str::to_string));
    needles
}

async fn rows_in_every_table(app: &TestApp, tables: &[String], needles: &[String]) -> i64 {
    let mut total = 0;
    for table in tables {
        total += rows_holding(app, table, needles).await;
    }
    total
}

both_backends!(
    an_erasure_leaves_no_row_of_the_user_in_any_table,
    |backend| async move {
        // Arrange: the user and a bystander talked on WhatsApp; an admin key erases.
        let twilio = fake_twilio::start().await;
        let app = whatsapp_app(backend, &twilio).await;
        let staff = create_key(&app, "front desk", &["admin"]).await;
        let staff_key = staff["key"].as_str().expect("key").to_string();
        let staff_prefix = staff["prefix"].as_str().expect("prefix").to_string();
        whatsapp_turn(&app, "SMerase0001", NUMBER, "my zebrafinch symptoms").await;
        whatsapp_turn(&app, "SMerase0002", NUMBER, "zebrafinch again").await;
        whatsapp_turn(&app, "SMkeep0001", BYSTANDER, "a quokka question").await;
        let (_, export) = admin(&app, Method::GET, &format!("/users/{NUMBER_PATH}/export")).await;
        let (_, kept_export) = admin(&app, Method::GET, "/users/%2B14155550177/export").await;
        let target = needles(NUMBER, "zebrafinch", &export);
        let bystander = needles(BYSTANDER, "quokka", &kept_export);
        let tables = tables(&app).await;
        for known in [
            "users",
            "messages",
            "conversations",
            "inbound_jobs",
            "deliveries",
            "erasures",
        ] {
            assert!(tables.iter().any(|t| t == known), "{known} in {tables:?}");
        }
        let before = rows_in_every_table(&app, &tables, &target).await;
        assert!(
            before >= 8,
            "the check sees the user's rows first: {before}"
        );
        let kept_before = rows_in_every_table(&app, &tables, &bystander).await;

        // Act
        let erased = call(
            &app,
            Method::DELETE,
            &format!("/users/{NUMBER_PATH}"),
            Some(&staff_key),
            None,
        )
        .await;

        // Assert
        assert_eq!(erased.status, 200, "{}", erased.body);
        assert_eq!(erased.body["erased"], true);
        assert!(
            erased.body["rows"].as_u64().is_some_and(|n| n >= 8),
            "{}",
            erased.body
        );
        for table in &tables {
            assert_eq!(
                rows_holding(&app, table, &target).await,
                0,
                "{table} still holds the erased user's data"
            );
        }
        assert_eq!(
            rows_in_every_table(&app, &tables, &bystander).await,
            kept_before
        );
        let audit = app.texts("SELECT actor FROM erasures").await;
        assert_eq!(audit, [Some(format!("key:{staff_prefix}"))]);
        let again = admin(&app, Method::DELETE, &format!("/users/{NUMBER_PATH}")).await;
        assert_eq!(again.0, 404, "{}", again.1);
        let export_after = admin(&app, Method::GET, &format!("/users/{NUMBER_PATH}/export")).await;
        assert_eq!(export_after.0, 404);

        // A later message from the same number starts a new user.
        whatsapp_turn(&app, "SMerase0003", NUMBER, "hello again").await;
        let (status, fresh) =
            admin(&app, Method::GET, &format!("/users/{NUMBER_PATH}/export")).await;
        assert_eq!(status, 200, "{fresh}");
        assert_ne!(fresh["user"]["uuid"], export["user"]["uuid"]);
        assert_eq!(fresh["messages"][0]["body"], "hello again");
    }
);

both_backends!(erasure_needs_the_admin_scope, |backend| async move {
    // Arrange
    let (url, pg) = fresh_database(backend).await;
    let app = spawn_at(url, pg, lock, None).await;
    let chat_key = create_key(&app, "app", &["chat"]).await["key"]
        .as_str()
        .expect("key")
        .to_string();
    let turn = chat_as(&app, &chat_key, "alice", json!({"content": "hello"})).await;
    assert_eq!(turn.status, 200);

    // Act
    let as_chat_key = call(
        &app,
        Method::DELETE,
        "/users/chat_alice",
        Some(&chat_key),
        None,
    )
    .await;
    let anonymous = call(&app, Method::DELETE, "/users/chat_alice", None, None).await;
    let unknown = admin(&app, Method::DELETE, "/users/chat_nobody").await;

    // Assert
    assert_eq!(as_chat_key.status, 403, "{}", as_chat_key.body);
    assert_eq!(as_chat_key.body["error"]["code"], "forbidden");
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.challenge.as_deref(), Some("Bearer"));
    assert_eq!(unknown.0, 404);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM messages").await,
        2,
        "nothing erased"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM erasures").await, 0);
});

async fn exec(app: &TestApp, sql: &str, values: Vec<SqlValue>) {
    let backend = app.db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => sql.to_string(),
        _ => sql.replace('$', "?"),
    };
    app.db
        .execute(Statement::from_sql_and_values(backend, sql.clone(), values))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn messages_of(app: &TestApp, identity: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM messages m JOIN users u ON u.id = m.user_id \
         WHERE u.phone_number = '{identity}'"
    ))
    .await
}

both_backends!(
    retention_purges_old_rows_and_keeps_new_ones,
    |backend| async move {
        // Arrange: a 1-day retention purged every second, two rows per batch.
        let (url, pg) = fresh_database(backend).await;
        let app = spawn_at(
            url,
            pg,
            |s| {
                lock(s);
                s.privacy.retention_days = Some(1);
                s.privacy.purge_interval_secs = 1;
                s.privacy.purge_batch = 2;
            },
            None,
        )
        .await;
        let chat_key = create_key(&app, "app", &["chat"]).await["key"]
            .as_str()
            .expect("key")
            .to_string();
        for (user, content) in [
            ("old", "one"),
            ("old", "two"),
            ("old", "three"),
            ("new", "hi"),
        ] {
            let turn = chat_as(&app, &chat_key, user, json!({"content": content})).await;
            assert_eq!(turn.status, 200, "{}", turn.body);
        }
        assert_eq!(messages_of(&app, "chat_old").await, 6);

        // Act: the old user's rows are three days old.
        let long_ago: SqlValue = (Utc::now() - chrono::Duration::days(3)).into();
        let old: SqlValue = "chat_old".into();
        for sql in [
            "UPDATE messages SET created_at = $1 WHERE user_id IN \
             (SELECT id FROM users WHERE phone_number = $2)",
            "UPDATE conversations SET started_at = $1, last_activity_at = $1 WHERE user_id IN \
             (SELECT id FROM users WHERE phone_number = $2)",
            "UPDATE users SET created_at = $1 WHERE phone_number = $2",
        ] {
            exec(&app, sql, vec![long_ago.clone(), old.clone()]).await;
        }
        let mut purged = false;
        for _ in 0..100 {
            if app
                .count("SELECT COUNT(*) FROM users WHERE phone_number = 'chat_old'")
                .await
                == 0
            {
                purged = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        // Assert
        assert!(purged, "the old user's rows are purged within 10 s");
        assert_eq!(messages_of(&app, "chat_old").await, 0);
        assert_eq!(messages_of(&app, "chat_new").await, 2);
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM conversations c JOIN users u ON u.id = c.user_id \
                 WHERE u.phone_number = 'chat_new'"
            )
            .await,
            1
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM conversations").await, 1);
        let (status, _) = admin(&app, Method::GET, "/users/chat_old/export").await;
        assert_eq!(status, 404);
    }
);

both_backends!(
    an_erased_chat_user_leaves_no_row_and_comes_back_as_a_new_user,
    |backend| async move {
        // Arrange: alice and bob chat; the bootstrap admin token erases alice.
        let (url, pg) = fresh_database(backend).await;
        let app = spawn_at(url, pg, lock, None).await;
        let chat_key = create_key(&app, "app", &["chat"]).await["key"]
            .as_str()
            .expect("key")
            .to_string();
        for (user, content) in [
            ("alice", "my wombat rash"),
            ("alice", "wombat again"),
            ("bob", "hi"),
        ] {
            let turn = chat_as(
                &app,
                &chat_key,
                user,
                json!({"content": content, "media_urls": [format!("https://img.example/{user}.jpg")]}),
            )
            .await;
            assert_eq!(turn.status, 200, "{}", turn.body);
        }
        let (_, export) = admin(&app, Method::GET, "/users/chat_alice/export").await;
        let (_, kept_export) = admin(&app, Method::GET, "/users/chat_bob/export").await;
        let target = needles("chat_alice", "wombat", &export);
        assert_eq!(
            export["messages"][0]["media"][0]["url"],
            "https://img.example/alice.jpg"
        );
        let bystander = needles("chat_bob", "chat_bob", &kept_export);
        let tables = tables(&app).await;
        assert!(rows_in_every_table(&app, &tables, &target).await >= 6);
        let kept_before = rows_in_every_table(&app, &tables, &bystander).await;

        // Act
        let (status, erased) = admin(&app, Method::DELETE, "/users/chat_alice").await;

        // Assert
        assert_eq!(status, 200, "{erased}");
        assert_eq!(erased["erased"], true);
        for table in &tables {
            assert_eq!(
                rows_holding(&app, table, &target).await,
                0,
                "{table} still holds the erased user's data"
            );
        }
        assert_eq!(
            rows_in_every_table(&app, &tables, &bystander).await,
            kept_before
        );
        assert_eq!(
            app.texts("SELECT actor FROM erasures").await,
            [Some("admin_token".to_string())]
        );
        let again = chat_as(&app, &chat_key, "alice", json!({"content": "hello again"})).await;
        assert_eq!(again.status, 200, "{}", again.body);
        assert_ne!(
            again.body["user_uuid"], export["user"]["uuid"],
            "a new user"
        );
        let (_, fresh) = admin(&app, Method::GET, "/users/chat_alice/export").await;
        assert_eq!(fresh["messages"].as_array().map(Vec::len), Some(2));
    }
);

#[tokio::test]
async fn the_access_log_names_a_users_path_by_its_template_not_the_number() {
    // Arrange: the real binary, logging JSON lines to stdout.
    let path = std::env::temp_dir().join(format!("wa_log_{}.db", uuid::Uuid::new_v4().simple()));
    let mut child = crate::binary::binary()
        .env("PORT", "0")
        .env("HOST", "127.0.0.1")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", path.display()),
        )
        .env("ADMIN_TOKEN", ADMIN)
        .env("APP_AUTH__ALLOW_ANONYMOUS", "false")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut logs = Vec::new();
    let addr = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server logs that it listens");
        logs.push(line.clone());
        let entry: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        if entry["message"] == "listening" {
            break entry["addr"].as_str().expect("addr").to_string();
        }
    };
    let client = reqwest::Client::new();

    // Act
    let mut statuses = Vec::new();
    for (method, path) in [
        (Method::GET, format!("/users/{NUMBER_PATH}/export")),
        (Method::DELETE, format!("/users/{NUMBER_PATH}")),
    ] {
        let response = client
            .request(method, format!("http://{addr}{path}"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("request");
        statuses.push(response.status().as_u16());
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(500)) {
        logs.push(line);
    }

    // Assert
    assert_eq!(statuses, [404, 404]);
    let all = logs.join("\n");
    assert!(all.contains("/users/{user}/export"), "{all}");
    assert!(!all.contains("14155550100"), "{all}");
}
