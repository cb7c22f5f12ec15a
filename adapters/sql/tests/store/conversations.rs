//! `ConversationStore`: one open conversation per user, a new one after inactivity or an end,
//! the agent and takeover state kept, and history read per conversation.

use chrono::{DateTime, Duration, TimeZone, Utc};
use whatsapp_agent::domain::{ConversationId, ConversationState, Direction, NewUser, User};

use crate::support::{message, TestDb};

on_both_backends!(
    a_first_message_starts_a_conversation_answered_by_the_given_agent,
    activity_within_the_timeout_keeps_the_same_conversation,
    inactivity_past_the_timeout_ends_it_and_starts_a_new_one,
    an_ended_conversation_is_not_continued,
    concurrent_first_turns_share_one_conversation,
    agent_state_and_flag_are_kept,
    unknown_conversations_are_reported_as_absent,
    history_holds_only_the_conversations_messages_newest_kept,
    attaching_an_unknown_message_fails,
);

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0)
        .single()
        .expect("a valid time")
        + Duration::minutes(minute)
}

const TIMEOUT: Duration = Duration::minutes(30);

async fn user(t: &TestDb, name: &str) -> User {
    t.store
        .find_or_create_user(&NewUser::chat(name))
        .await
        .expect("user")
}

async fn a_first_message_starts_a_conversation_answered_by_the_given_agent(t: &TestDb) {
    // Arrange
    let u = user(t, "alice").await;

    // Act
    let c = t
        .store
        .current(u.id, "anna", TIMEOUT, at(0))
        .await
        .expect("current");

    // Assert
    assert_eq!(c.user_id, u.id);
    assert_eq!(c.active_agent, "anna");
    assert_eq!(c.state, ConversationState::Bot);
    assert!(!c.human_notice_sent);
    assert_eq!(c.flag_reason, None);
    assert_eq!(c.ended_at, None);
    assert_eq!(c.started_at, at(0));
    assert_eq!(t.store.get(c.id).await.expect("get"), Some(c));
}

async fn activity_within_the_timeout_keeps_the_same_conversation(t: &TestDb) {
    // Arrange
    let u = user(t, "alice").await;
    let first = t
        .store
        .current(u.id, "anna", TIMEOUT, at(0))
        .await
        .expect("first");

    // Act
    let second = t
        .store
        .current(u.id, "anna", TIMEOUT, at(20))
        .await
        .expect("second");
    let third = t
        .store
        .current(u.id, "anna", TIMEOUT, at(45))
        .await
        .expect("third");

    // Assert
    assert_eq!(second.id, first.id);
    assert_eq!(
        third.id, first.id,
        "the timeout counts from the last activity"
    );
    assert_eq!(third.last_activity_at, at(45));
}

async fn inactivity_past_the_timeout_ends_it_and_starts_a_new_one(t: &TestDb) {
    // Arrange
    let u = user(t, "alice").await;
    let old = t
        .store
        .current(u.id, "anna", TIMEOUT, at(0))
        .await
        .expect("old");
    t.store
        .set_active_agent(old.id, "appointments")
        .await
        .expect("set agent");

    // Act
    let new = t
        .store
        .current(u.id, "anna", TIMEOUT, at(31))
        .await
        .expect("new");

    // Assert
    assert_ne!(new.id, old.id);
    assert_eq!(
        new.active_agent, "anna",
        "a new conversation starts with the manager"
    );
    let ended = t.store.get(old.id).await.expect("get").expect("kept");
    assert_eq!(ended.ended_at, Some(at(31)));
    assert_eq!(
        t.count("SELECT COUNT(*) FROM conversations").await,
        2,
        "the old conversation stays stored"
    );
}

async fn an_ended_conversation_is_not_continued(t: &TestDb) {
    // Arrange
    let u = user(t, "alice").await;
    let old = t
        .store
        .current(u.id, "anna", TIMEOUT, at(0))
        .await
        .expect("old");

    // Act
    t.store.end(old.id, at(1)).await.expect("end");
    let new = t
        .store
        .current(u.id, "anna", TIMEOUT, at(2))
        .await
        .expect("new");

    // Assert
    assert_ne!(new.id, old.id);
    assert_eq!(new.started_at, at(2));
}

async fn concurrent_first_turns_share_one_conversation(t: &TestDb) {
    // Arrange
    let u = user(t, "alice").await;

    // Act
    let turns = (0..8).map(|_| t.store.current(u.id, "anna", TIMEOUT, at(0)));
    let results = futures::future::join_all(turns).await;

    // Assert
    let ids: Vec<ConversationId> = results
        .into_iter()
        .map(|r| r.expect("current").id)
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(t.count("SELECT COUNT(*) FROM conversations").await, 1);
}

async fn agent_state_and_flag_are_kept(t: &TestDb) {
    // Arrange
    let u = user(t, "alice").await;
    let c = t
        .store
        .current(u.id, "anna", TIMEOUT, at(0))
        .await
        .expect("current");

    // Act
    t.store
        .set_active_agent(c.id, "medical_info")
        .await
        .expect("agent");
    let waiting = t
        .store
        .set_state(c.id, ConversationState::WaitingForHuman, true)
        .await
        .expect("state")
        .expect("exists");
    t.store.flag(c.id, "chest_pain").await.expect("flag");
    let again = t
        .store
        .current(u.id, "anna", TIMEOUT, at(1))
        .await
        .expect("again");

    // Assert
    assert_eq!(waiting.state, ConversationState::WaitingForHuman);
    assert!(waiting.human_notice_sent);
    assert_eq!(again.id, c.id);
    assert_eq!(again.active_agent, "medical_info");
    assert_eq!(again.state, ConversationState::WaitingForHuman);
    assert!(again.human_notice_sent);
    assert_eq!(again.flag_reason.as_deref(), Some("chest_pain"));
}

async fn unknown_conversations_are_reported_as_absent(t: &TestDb) {
    // Arrange
    let unknown = ConversationId::new();

    // Act
    let got = t.store.get(unknown).await.expect("get");
    let released = t
        .store
        .set_state(unknown, ConversationState::Bot, false)
        .await
        .expect("set state");

    // Assert
    assert_eq!(got, None);
    assert_eq!(released, None);
}

async fn history_holds_only_the_conversations_messages_newest_kept(t: &TestDb) {
    // Arrange
    let u = user(t, "alice").await;
    let old = t
        .store
        .current(u.id, "anna", TIMEOUT, at(0))
        .await
        .expect("old");
    let before = t
        .store
        .append(&message(u.id, Direction::Incoming, "last week"))
        .await
        .expect("append");
    t.store.attach(before.id, old.id).await.expect("attach");
    t.store.end(old.id, at(1)).await.expect("end");
    let c = t
        .store
        .current(u.id, "anna", TIMEOUT, at(2))
        .await
        .expect("new");
    let mut ids = Vec::new();
    for body in ["one", "two", "three", "four"] {
        let m = t
            .store
            .append(&message(u.id, Direction::Incoming, body))
            .await
            .expect("append");
        t.store.attach(m.id, c.id).await.expect("attach");
        ids.push(m.id);
    }

    // Act
    let all = t.store.history(c.id, 10, None).await.expect("all");
    let newest = t
        .store
        .history(c.id, 2, Some(ids[3]))
        .await
        .expect("newest");

    // Assert
    let bodies = |ms: &[whatsapp_agent::domain::Message]| {
        ms.iter().map(|m| m.body.clone()).collect::<Vec<_>>()
    };
    assert_eq!(bodies(&all), ["one", "two", "three", "four"]);
    assert_eq!(bodies(&newest), ["two", "three"]);
    assert_eq!(
        t.store
            .recent_messages(u.id, 10, None)
            .await
            .expect("all")
            .len(),
        5,
        "everything stays stored"
    );
}

async fn attaching_an_unknown_message_fails(t: &TestDb) {
    // Arrange
    let u = user(t, "alice").await;
    let c = t
        .store
        .current(u.id, "anna", TIMEOUT, at(0))
        .await
        .expect("current");

    // Act
    let result = t
        .store
        .attach(whatsapp_agent::domain::MessageId::new(), c.id)
        .await;

    // Assert
    assert!(result.is_err());
}
