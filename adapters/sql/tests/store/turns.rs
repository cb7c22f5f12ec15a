//! `TurnStore`: accepting files the message in the user's current conversation and reads its
//! history; finishing stores the reply and the conversation's change together or not at all.

use chrono::{DateTime, Duration, TimeZone, Utc};
use whatsapp_agent::domain::{
    Channel, ConversationChange, ConversationId, ConversationState, Direction, NewMessage, NewUser,
    UserId,
};
use whatsapp_agent::ports::{
    AcceptError, Accepted, Arrival, Finish, FinishError, Incoming, TurnStore,
};

use crate::support::TestDb;

on_both_backends!(
    a_first_message_opens_a_conversation_and_is_filed_in_it,
    a_later_message_sees_the_history_with_the_reply,
    a_message_after_the_idle_timeout_opens_a_new_conversation,
    a_redelivered_provider_id_is_a_duplicate_and_stores_nothing,
    finishing_applies_the_change_and_links_the_reply,
    finishing_a_vanished_conversation_stores_no_reply,
    concurrent_first_messages_share_one_conversation,
    concurrent_turns_of_many_users_share_commits,
    one_turns_error_in_a_shared_commit_is_only_that_turns,
    a_duplicate_among_concurrent_arrivals_is_refused_alone,
    a_reply_moves_an_activity_older_than_a_minute_and_leaves_a_recent_one,
    a_reply_to_a_user_erased_during_the_turn_finds_the_conversation_gone,
);

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0)
        .single()
        .expect("a valid time")
        + Duration::minutes(minute)
}

fn arrival(user: &str, body: &str, minute: i64) -> Arrival {
    Arrival {
        incoming: Incoming::New {
            user: NewUser::chat(user),
            message: NewMessage::new(
                UserId::new(),
                Channel::Chat,
                Direction::Incoming,
                body.to_string(),
            ),
        },
        manager: "anna".to_string(),
        idle_timeout: Duration::minutes(30),
        history_limit: 10,
        now: at(minute),
    }
}

fn reply_to(accepted: &Accepted, body: &str, minute: i64, change: ConversationChange) -> Finish {
    let mut reply = NewMessage::new(
        accepted.user.id,
        Channel::Chat,
        Direction::Outgoing,
        body.to_string(),
    );
    reply.agent = Some("anna".to_string());
    Finish {
        conversation: accepted.conversation.id,
        change,
        reply: Some(reply),
        transcripts: None,
        now: at(minute),
        accepted_activity: accepted.conversation.last_activity_at,
    }
}

/// How many messages are filed under an existing conversation.
async fn filed(t: &TestDb) -> i64 {
    t.count("SELECT COUNT(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id")
        .await
}

async fn a_first_message_opens_a_conversation_and_is_filed_in_it(t: &TestDb) {
    // Arrange
    let first = arrival("alice", "hello", 0);

    // Act
    let accepted = t.store.accept(&first).await.expect("accepted");

    // Assert
    assert_eq!(accepted.user.phone_number, "chat_alice");
    assert_eq!(accepted.incoming.body, "hello");
    assert_eq!(accepted.incoming.user_id, accepted.user.id);
    assert_eq!(accepted.conversation.active_agent, "anna");
    assert_eq!(accepted.conversation.state, ConversationState::Bot);
    assert_eq!(accepted.conversation.started_at, at(0));
    assert!(accepted.history.is_empty());
    assert_eq!(t.count("SELECT COUNT(*) FROM messages").await, 1);
    assert_eq!(filed(t).await, 1);
}

async fn a_later_message_sees_the_history_with_the_reply(t: &TestDb) {
    // Arrange
    let first = t
        .store
        .accept(&arrival("alice", "hello", 0))
        .await
        .expect("first");
    t.store
        .finish(&reply_to(&first, "hi!", 0, ConversationChange::default()))
        .await
        .expect("finished");

    // Act
    let second = t
        .store
        .accept(&arrival("alice", "how are you?", 10))
        .await
        .expect("second");

    // Assert
    assert_eq!(second.conversation.id, first.conversation.id);
    assert_eq!(second.conversation.last_activity_at, at(10));
    assert_eq!(second.user.id, first.user.id);
    let history: Vec<&str> = second.history.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(history, ["hello", "hi!"]);
}

async fn a_message_after_the_idle_timeout_opens_a_new_conversation(t: &TestDb) {
    // Arrange
    let first = t
        .store
        .accept(&arrival("alice", "hello", 0))
        .await
        .expect("first");

    // Act
    let later = t
        .store
        .accept(&arrival("alice", "back again", 45))
        .await
        .expect("later");

    // Assert
    assert_ne!(later.conversation.id, first.conversation.id);
    assert!(later.history.is_empty());
    let ended = t
        .count("SELECT COUNT(*) FROM conversations WHERE ended_at IS NOT NULL")
        .await;
    assert_eq!(ended, 1, "the idle conversation ended");
}

async fn a_redelivered_provider_id_is_a_duplicate_and_stores_nothing(t: &TestDb) {
    // Arrange
    let with_id = |minute| {
        let mut a = arrival("+15550001234", "hola", minute);
        if let Incoming::New { message, .. } = &mut a.incoming {
            message.channel = Channel::WhatsApp;
            message.provider_message_id = Some("SM0001".to_string());
        }
        a
    };
    t.store.accept(&with_id(0)).await.expect("first delivery");

    // Act
    let again = t.store.accept(&with_id(1)).await;

    // Assert
    assert!(matches!(again, Err(AcceptError::Duplicate(_))), "{again:?}");
    assert_eq!(t.count("SELECT COUNT(*) FROM messages").await, 1);
}

async fn finishing_applies_the_change_and_links_the_reply(t: &TestDb) {
    // Arrange
    let accepted = t
        .store
        .accept(&arrival("alice", "help", 0))
        .await
        .expect("accepted");
    let change = ConversationChange {
        active_agent: Some("appointments".to_string()),
        hand_to_human: true,
        flag_reason: Some("chest_pain".to_string()),
        end: false,
    };

    // Act
    let stored = t
        .store
        .finish(&reply_to(&accepted, "A person will answer.", 2, change))
        .await
        .expect("finished")
        .expect("a reply");

    // Assert
    assert_eq!(stored.body, "A person will answer.");
    assert_eq!(filed(t).await, 2);
    let conversations = t
        .count("SELECT COUNT(DISTINCT conversation_id) FROM messages")
        .await;
    assert_eq!(conversations, 1, "the reply is filed with its question");
    let next = t
        .store
        .accept(&arrival("alice", "hello?", 3))
        .await
        .expect("next");
    assert_eq!(next.conversation.id, accepted.conversation.id);
    assert_eq!(next.conversation.active_agent, "appointments");
    assert_eq!(next.conversation.state, ConversationState::WaitingForHuman);
    assert!(next.conversation.human_notice_sent);
    assert_eq!(next.conversation.flag_reason.as_deref(), Some("chest_pain"));
}

async fn finishing_a_vanished_conversation_stores_no_reply(t: &TestDb) {
    // Arrange
    let accepted = t
        .store
        .accept(&arrival("alice", "help", 0))
        .await
        .expect("accepted");
    let change = ConversationChange {
        active_agent: Some("appointments".to_string()),
        ..ConversationChange::default()
    };
    let mut finish = reply_to(&accepted, "never stored", 1, change);
    finish.conversation = ConversationId::new();

    // Act
    let result = t.store.finish(&finish).await;

    // Assert
    assert!(
        matches!(result, Err(FinishError::ConversationGone(_))),
        "{result:?}"
    );
    assert_eq!(t.count("SELECT COUNT(*) FROM messages").await, 1);
}

async fn concurrent_first_messages_share_one_conversation(t: &TestDb) {
    // Arrange
    let arrivals: Vec<Arrival> = (0..8)
        .map(|i| arrival("bob", &format!("m{i}"), 0))
        .collect();

    // Act
    let accepted = futures::future::join_all(arrivals.iter().map(|a| t.store.accept(a))).await;

    // Assert
    let ids: std::collections::HashSet<_> = accepted
        .into_iter()
        .map(|a| a.expect("accepted").conversation.id)
        .collect();
    assert_eq!(ids.len(), 1, "one conversation for all of them");
    assert_eq!(t.count("SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(t.count("SELECT COUNT(*) FROM messages").await, 8);
}

async fn concurrent_turns_of_many_users_share_commits(t: &TestDb) {
    // Arrange: a first turn each, so every user has a conversation with one exchange.
    let users: Vec<String> = (0..40).map(|i| format!("patient-{i}")).collect();
    let first: Vec<Arrival> = users.iter().map(|u| arrival(u, "first", 0)).collect();
    let accepted = futures::future::join_all(first.iter().map(|a| t.store.accept(a))).await;
    let accepted: Vec<Accepted> = accepted.into_iter().map(|a| a.expect("accepted")).collect();
    let finishes: Vec<Finish> = accepted
        .iter()
        .map(|a| {
            reply_to(
                a,
                &format!("reply to {}", a.user.phone_number),
                0,
                Default::default(),
            )
        })
        .collect();
    let before = t.store.turn_write_stats();

    // Act: every user's reply and next message at once.
    let finished = futures::future::join_all(finishes.iter().map(|f| t.store.finish(f))).await;
    let next: Vec<Arrival> = users.iter().map(|u| arrival(u, "second", 1)).collect();
    let second = futures::future::join_all(next.iter().map(|a| t.store.accept(a))).await;

    // Assert: each turn saw its own conversation and history, and fewer commits than writes.
    for ((first, finished), second) in accepted.iter().zip(finished).zip(second) {
        let reply = finished.expect("finished").expect("a reply");
        let second = second.expect("accepted");
        assert_eq!(second.conversation.id, first.conversation.id);
        assert_eq!(second.user.id, first.user.id);
        let history: Vec<&str> = second.history.iter().map(|m| m.body.as_str()).collect();
        assert_eq!(
            history,
            vec!["first", &format!("reply to {}", first.user.phone_number)]
        );
        assert_eq!(second.history[1].id, reply.id);
    }
    assert_eq!(filed(t).await, 120);
    let after = t.store.turn_write_stats();
    let writes = after.writes - before.writes;
    let commits = after.commits - before.commits;
    assert_eq!(writes, 80);
    assert!(commits < writes, "{commits} commits for {writes} writes");
}

async fn one_turns_error_in_a_shared_commit_is_only_that_turns(t: &TestDb) {
    // Arrange: ten turns accepted; one of them will finish on a conversation that is gone.
    let arrivals: Vec<Arrival> = (0..10)
        .map(|i| arrival(&format!("p{i}"), "help", 0))
        .collect();
    let accepted = futures::future::join_all(arrivals.iter().map(|a| t.store.accept(a))).await;
    let mut finishes: Vec<Finish> = accepted
        .iter()
        .map(|a| {
            let change = ConversationChange {
                active_agent: Some("appointments".to_string()),
                ..ConversationChange::default()
            };
            reply_to(a.as_ref().expect("accepted"), "stored", 1, change)
        })
        .collect();
    finishes[3].conversation = ConversationId::new();

    // Act
    let finished = futures::future::join_all(finishes.iter().map(|f| t.store.finish(f))).await;

    // Assert
    for (i, outcome) in finished.iter().enumerate() {
        if i == 3 {
            assert!(
                matches!(outcome, Err(FinishError::ConversationGone(_))),
                "{outcome:?}"
            );
        } else {
            assert!(matches!(outcome, Ok(Some(_))), "{i}: {outcome:?}");
        }
    }
    assert_eq!(filed(t).await, 19);
    assert_eq!(
        t.count("SELECT COUNT(*) FROM conversations WHERE active_agent = 'appointments'")
            .await,
        9
    );
}

async fn a_duplicate_among_concurrent_arrivals_is_refused_alone(t: &TestDb) {
    // Arrange: WhatsApp arrivals with provider ids; one id is already stored.
    let whatsapp = |user: &str, sid: &str| {
        let mut a = arrival(user, "hola", 0);
        if let Incoming::New { user, message } = &mut a.incoming {
            user.channel = Channel::WhatsApp;
            message.channel = Channel::WhatsApp;
            message.provider_message_id = Some(sid.to_string());
        }
        a
    };
    t.store
        .accept(&whatsapp("+34600000000", "SM-taken"))
        .await
        .expect("the first is accepted");
    let mut arrivals: Vec<Arrival> = (1..12)
        .map(|i| whatsapp(&format!("+3460000000{i:02}"), &format!("SM-{i}")))
        .collect();
    arrivals[5] = whatsapp("+34600000099", "SM-taken");

    // Act
    let accepted = futures::future::join_all(arrivals.iter().map(|a| t.store.accept(a))).await;

    // Assert
    for (i, outcome) in accepted.iter().enumerate() {
        if i == 5 {
            assert!(
                matches!(outcome, Err(AcceptError::Duplicate(_))),
                "{outcome:?}"
            );
        } else {
            assert!(outcome.is_ok(), "{i}: {outcome:?}");
        }
    }
    assert_eq!(t.count("SELECT COUNT(*) FROM messages").await, 11);
}

async fn a_reply_moves_an_activity_older_than_a_minute_and_leaves_a_recent_one(t: &TestDb) {
    // Arrange: two users accepted at minute 0.
    let slow = t
        .store
        .accept(&arrival("slow", "help", 0))
        .await
        .expect("accepted");
    let quick = t
        .store
        .accept(&arrival("quick", "help", 0))
        .await
        .expect("accepted");
    // Act: one reply comes five minutes later (a slow model), the other within the minute.
    t.store
        .finish(&reply_to(&slow, "late", 5, ConversationChange::default()))
        .await
        .expect("finished");
    let mut in_time = reply_to(&quick, "soon", 0, ConversationChange::default());
    in_time.now += Duration::seconds(30);
    t.store.finish(&in_time).await.expect("finished");

    // Assert: only the late reply moved its conversation's activity.
    let moved = "SELECT COUNT(*) FROM conversations WHERE last_activity_at > started_at";
    assert_eq!(t.count(moved).await, 1);
    let late = t
        .store
        .accept(&arrival("slow", "again", 32))
        .await
        .expect("accepted");
    assert_eq!(
        late.conversation.id, slow.conversation.id,
        "minute 32 is within 30 idle minutes of minute 5, not of minute 0"
    );
}

async fn a_reply_to_a_user_erased_during_the_turn_finds_the_conversation_gone(t: &TestDb) {
    // Arrange: the turn is accepted, then the user is erased while the model answers.
    let accepted = t
        .store
        .accept(&arrival("erased", "help", 0))
        .await
        .expect("accepted");
    for table in ["messages", "conversations", "users"] {
        t.query(&format!("DELETE FROM {table}")).await;
    }

    // Act
    let finished = t
        .store
        .finish(&reply_to(
            &accepted,
            "too late",
            0,
            ConversationChange::default(),
        ))
        .await;

    // Assert: a clear outcome, not an unexplained database error, and nothing stored.
    assert!(
        matches!(finished, Err(FinishError::ConversationGone(id)) if id == accepted.conversation.id),
        "{finished:?}"
    );
    assert_eq!(t.count("SELECT COUNT(*) FROM messages").await, 0);
}
