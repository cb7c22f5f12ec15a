//! The seed's SQL checks, unchanged, find a chat user and its messages on both databases.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use whatsapp_agent::domain::{Direction, NewUser};

use crate::support::{message, TestDb};

on_both_backends!(the_seed_sql_checks_return_the_chat_user_and_its_messages);

const USERS_SQL: &str = "SELECT * FROM users WHERE phone_number LIKE 'chat_%';";
const MESSAGES_SQL: &str = "SELECT u.phone_number, m.direction, m.body, m.created_at FROM users u JOIN messages m ON u.id = m.user_id WHERE u.phone_number LIKE 'chat_%' ORDER BY m.created_at DESC LIMIT 10;";

async fn the_seed_sql_checks_return_the_chat_user_and_its_messages(t: &TestDb) {
    // Arrange
    let user = t
        .store
        .find_or_create_user(&NewUser::chat("chat_user"))
        .await
        .expect("user");
    let incoming = t
        .store
        .append(&message(user.id, Direction::Incoming, "Hello"))
        .await
        .expect("incoming");
    let mut reply = message(user.id, Direction::Outgoing, "Hi, how can I help?");
    reply.agent = Some("assistant".to_string());
    let outgoing = t.store.append(&reply).await.expect("outgoing");

    // Act
    let users = t.query(USERS_SQL).await;
    let messages = t.query(MESSAGES_SQL).await;

    // Assert
    assert_eq!(users.len(), 1);
    let id: Uuid = users[0].try_get("", "id").expect("id");
    let phone: String = users[0].try_get("", "phone_number").expect("phone_number");
    let channel: String = users[0].try_get("", "channel").expect("channel");
    assert_eq!(id, user.id.0);
    assert_eq!(phone, "chat_chat_user");
    assert_eq!(channel, "chat");

    let got: Vec<(String, String, String, DateTime<Utc>)> = messages
        .iter()
        .map(|row| {
            (
                row.try_get("", "phone_number").expect("phone_number"),
                row.try_get("", "direction").expect("direction"),
                row.try_get("", "body").expect("body"),
                row.try_get("", "created_at").expect("created_at"),
            )
        })
        .collect();
    let expected = vec![
        (
            "chat_chat_user".to_string(),
            "outgoing".to_string(),
            "Hi, how can I help?".to_string(),
            outgoing.created_at,
        ),
        (
            "chat_chat_user".to_string(),
            "incoming".to_string(),
            "Hello".to_string(),
            incoming.created_at,
        ),
    ];
    assert_eq!(got, expected, "newest first");
}
