//! `append` and `recent_messages`: oldest first, newest kept by the limit, `exclude` honoured.

use whatsapp_agent::domain::{Direction, Message, NewUser, User};

use crate::support::{message, TestDb};

on_both_backends!(
    append_returns_the_message_as_stored,
    recent_messages_are_oldest_first_and_the_limit_keeps_the_newest,
    exclude_leaves_that_message_out,
    incoming_sorts_before_its_reply_when_created_back_to_back,
    incoming_sorts_before_its_reply_when_timestamps_tie,
    history_is_per_user,
);

async fn user(t: &TestDb, name: &str) -> User {
    t.store
        .find_or_create_user(&NewUser::chat(name))
        .await
        .expect("user")
}

fn bodies(messages: &[Message]) -> Vec<&str> {
    messages.iter().map(|m| m.body.as_str()).collect()
}

async fn append_returns_the_message_as_stored(t: &TestDb) {
    // Arrange
    let u = user(t, "alice").await;
    let mut new = message(u.id, Direction::Outgoing, "hello");
    new.agent = Some("persona-1".to_string());
    new.error = Some("cut short".to_string());

    // Act
    let stored = t.store.append(&new).await.expect("append");
    let read = t.store.recent_messages(u.id, 10, None).await.expect("read");

    // Assert
    assert_eq!(stored.id, new.id);
    assert_eq!(stored.user_id, u.id);
    assert_eq!(stored.direction, Direction::Outgoing);
    assert_eq!(stored.body, "hello");
    assert_eq!(stored.agent.as_deref(), Some("persona-1"));
    assert_eq!(stored.error.as_deref(), Some("cut short"));
    assert_eq!(read, [stored]);
}

async fn recent_messages_are_oldest_first_and_the_limit_keeps_the_newest(t: &TestDb) {
    // Arrange
    let u = user(t, "alice").await;
    for body in ["one", "two", "three", "four", "five"] {
        t.store
            .append(&message(u.id, Direction::Incoming, body))
            .await
            .expect("append");
    }

    // Act
    let all = t.store.recent_messages(u.id, 10, None).await.expect("all");
    let newest = t.store.recent_messages(u.id, 2, None).await.expect("two");
    let none = t.store.recent_messages(u.id, 0, None).await.expect("none");

    // Assert
    assert_eq!(bodies(&all), ["one", "two", "three", "four", "five"]);
    assert_eq!(bodies(&newest), ["four", "five"]);
    assert!(none.is_empty());
}

async fn exclude_leaves_that_message_out(t: &TestDb) {
    // Arrange
    let u = user(t, "alice").await;
    let mut ids = Vec::new();
    for body in ["one", "two", "three"] {
        let stored = t
            .store
            .append(&message(u.id, Direction::Incoming, body))
            .await
            .expect("append");
        ids.push(stored.id);
    }

    // Act
    let without_last = t
        .store
        .recent_messages(u.id, 2, Some(ids[2]))
        .await
        .expect("read");
    let without_middle = t
        .store
        .recent_messages(u.id, 10, Some(ids[1]))
        .await
        .expect("read");

    // Assert
    assert_eq!(bodies(&without_last), ["one", "two"]);
    assert_eq!(bodies(&without_middle), ["one", "three"]);
}

async fn incoming_sorts_before_its_reply_when_created_back_to_back(t: &TestDb) {
    // Arrange
    let u = user(t, "alice").await;
    for turn in 0..20 {
        let question = format!("question {turn}");
        let answer = format!("answer {turn}");
        t.store
            .append(&message(u.id, Direction::Incoming, &question))
            .await
            .expect("incoming");
        t.store
            .append(&message(u.id, Direction::Outgoing, &answer))
            .await
            .expect("outgoing");
    }

    // Act
    let history = t.store.recent_messages(u.id, 40, None).await.expect("read");

    // Assert
    let expected: Vec<(Direction, String)> = (0..20)
        .flat_map(|turn| {
            [
                (Direction::Incoming, format!("question {turn}")),
                (Direction::Outgoing, format!("answer {turn}")),
            ]
        })
        .collect();
    let got: Vec<(Direction, String)> =
        history.into_iter().map(|m| (m.direction, m.body)).collect();
    assert_eq!(got, expected);
}

async fn incoming_sorts_before_its_reply_when_timestamps_tie(t: &TestDb) {
    // Arrange
    let u = user(t, "alice").await;
    for body in ["question", "answer", "follow-up", "second answer"] {
        let direction = if body.contains("answer") {
            Direction::Outgoing
        } else {
            Direction::Incoming
        };
        t.store
            .append(&message(u.id, direction, body))
            .await
            .expect("append");
    }
    t.query("UPDATE messages SET created_at = (SELECT MIN(created_at) FROM messages)")
        .await;
    let distinct = "SELECT COUNT(DISTINCT created_at) FROM messages";
    assert_eq!(t.count(distinct).await, 1, "all timestamps tie");

    // Act
    let history = t.store.recent_messages(u.id, 3, None).await.expect("read");

    // Assert
    assert_eq!(bodies(&history), ["answer", "follow-up", "second answer"]);
}

async fn history_is_per_user(t: &TestDb) {
    // Arrange
    let alice = user(t, "alice").await;
    let bob = user(t, "bob").await;
    t.store
        .append(&message(alice.id, Direction::Incoming, "from alice"))
        .await
        .expect("alice");
    t.store
        .append(&message(bob.id, Direction::Incoming, "from bob"))
        .await
        .expect("bob");

    // Act
    let history = t
        .store
        .recent_messages(bob.id, 10, None)
        .await
        .expect("read");

    // Assert
    assert_eq!(bodies(&history), ["from bob"]);
}
