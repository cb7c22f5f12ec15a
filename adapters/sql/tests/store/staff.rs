//! `StaffStore`: the inbox listing with filters and cursor pages, unread counts and the seen
//! marker, one user's messages, takeover, and a person's reply with its send and delivery
//! statuses.

use std::collections::HashSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use sea_orm::{ConnectionTrait, Statement};
use uuid::Uuid;
use whatsapp_agent::domain::{
    Channel, Conversation, ConversationId, ConversationState, Direction, Message, NewMessage,
    NewUser, User, UserId,
};
use whatsapp_agent::ports::{
    ConversationFilter, Cursor, DeliveryLog, DeliveryStatus, Page, SendOutcome, StaffStore,
    StatusUpdate, UserRef,
};

use crate::support::{message, TestDb};

on_both_backends!(
    the_listing_filters_by_state_flag_and_channel,
    pages_of_equal_activity_times_neither_repeat_nor_skip,
    a_summary_has_the_user_last_message_and_unread_count_until_seen,
    one_conversation_pages_its_messages_newest_first,
    a_users_messages_across_conversations_by_id_or_identity,
    taking_over_silences_the_bot,
    a_staff_reply_is_stored_with_the_takeover,
    a_sent_staff_reply_is_updated_by_status_callbacks,
    a_failed_send_keeps_the_error_and_the_parts_that_went_out,
    a_callback_before_the_send_is_recorded_still_counts,
);

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0)
        .single()
        .expect("a valid time")
        + Duration::minutes(minute)
}

const TIMEOUT: Duration = Duration::minutes(30);

fn whatsapp(number: &str) -> NewUser {
    NewUser {
        phone_number: number.to_string(),
        display_name: None,
        channel: Channel::WhatsApp,
    }
}

fn page(limit: usize) -> Page {
    Page {
        before: None,
        limit,
    }
}

fn all(limit: usize) -> ConversationFilter {
    ConversationFilter {
        state: None,
        flagged: None,
        channel: None,
        page: page(limit),
    }
}

/// A user with a conversation last active at `minute`, holding `messages` in order.
async fn conversation(
    t: &TestDb,
    identity: NewUser,
    minute: i64,
    messages: &[(Direction, &str)],
) -> (User, Conversation, Vec<Message>) {
    let user = t.store.find_or_create_user(&identity).await.expect("user");
    let conversation = t
        .store
        .current(user.id, "anna", TIMEOUT, at(minute))
        .await
        .expect("conversation");
    let mut stored = Vec::new();
    for (direction, body) in messages {
        let mut new = message(user.id, *direction, body);
        new.channel = identity.channel;
        let m = t.store.append(&new).await.expect("append");
        t.store.attach(m.id, conversation.id).await.expect("attach");
        stored.push(m);
    }
    (user, conversation, stored)
}

async fn set_created(t: &TestDb, message: &Message, when: DateTime<Utc>) {
    let backend = t.db.get_database_backend();
    let sql = match backend {
        sea_orm::DatabaseBackend::Postgres => "UPDATE messages SET created_at = $1 WHERE id = $2",
        _ => "UPDATE messages SET created_at = ?1 WHERE id = ?2",
    };
    t.db.execute(Statement::from_sql_and_values(
        backend,
        sql,
        [when.into(), message.id.0.into()],
    ))
    .await
    .expect("set created_at");
}

fn staff_reply(body: &str) -> NewMessage {
    let mut reply = NewMessage::new(
        UserId(Uuid::nil()),
        Channel::WhatsApp,
        Direction::Outgoing,
        body.to_string(),
    );
    reply.agent = Some("human:Maria".to_string());
    reply
}

async fn the_listing_filters_by_state_flag_and_channel(t: &TestDb) {
    // Arrange
    let (_, bot_chat, _) = conversation(t, NewUser::chat("a"), 1, &[]).await;
    let (_, waiting_wa, _) = conversation(t, whatsapp("+14155550101"), 2, &[]).await;
    let (_, flagged_wa, _) = conversation(t, whatsapp("+14155550102"), 3, &[]).await;
    t.store
        .set_state(waiting_wa.id, ConversationState::WaitingForHuman, true)
        .await
        .expect("state");
    t.store
        .flag(flagged_wa.id, "chest_pain")
        .await
        .expect("flag");
    let ids = |list: Vec<whatsapp_agent::ports::ConversationSummary>| -> Vec<ConversationId> {
        list.into_iter().map(|s| s.conversation.id).collect()
    };

    // Act
    let everything = t.store.conversations(&all(10)).await.expect("all");
    let waiting = t
        .store
        .conversations(&ConversationFilter {
            state: Some(ConversationState::WaitingForHuman),
            ..all(10)
        })
        .await
        .expect("waiting");
    let flagged = t
        .store
        .conversations(&ConversationFilter {
            flagged: Some(true),
            ..all(10)
        })
        .await
        .expect("flagged");
    let unflagged_whatsapp = t
        .store
        .conversations(&ConversationFilter {
            flagged: Some(false),
            channel: Some(Channel::WhatsApp),
            ..all(10)
        })
        .await
        .expect("unflagged whatsapp");
    let chat = t
        .store
        .conversations(&ConversationFilter {
            channel: Some(Channel::Chat),
            ..all(10)
        })
        .await
        .expect("chat");

    // Assert
    assert_eq!(
        ids(everything),
        vec![flagged_wa.id, waiting_wa.id, bot_chat.id],
        "newest activity first"
    );
    assert_eq!(ids(waiting), vec![waiting_wa.id]);
    let flagged_list = ids(flagged);
    assert_eq!(flagged_list, vec![flagged_wa.id]);
    assert_eq!(ids(unflagged_whatsapp), vec![waiting_wa.id]);
    assert_eq!(ids(chat), vec![bot_chat.id]);
    let listed = t
        .store
        .conversations(&ConversationFilter {
            flagged: Some(true),
            ..all(10)
        })
        .await
        .expect("flagged again");
    assert_eq!(
        listed[0].conversation.flag_reason.as_deref(),
        Some("chest_pain")
    );
    assert_eq!(listed[0].user.phone_number, "+14155550102");
}

async fn pages_of_equal_activity_times_neither_repeat_nor_skip(t: &TestDb) {
    // Arrange: seven conversations, five of them active at the very same time.
    let mut expected = HashSet::new();
    for (n, minute) in [5, 5, 5, 5, 5, 2, 9].into_iter().enumerate() {
        let (_, c, _) = conversation(t, NewUser::chat(&format!("u{n}")), minute, &[]).await;
        expected.insert(c.id);
    }

    // Act: pages of two, each starting after the last of the previous one.
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = t
            .store
            .conversations(&ConversationFilter {
                page: Page { before, limit: 2 },
                ..all(2)
            })
            .await
            .expect("page");
        let Some(last) = page.last() else { break };
        before = Some(Cursor {
            at: last.conversation.last_activity_at,
            id: last.conversation.id.0,
        });
        seen.extend(page.iter().map(|s| s.conversation.clone()));
    }

    // Assert
    assert_eq!(seen.len(), 7, "every conversation once: {seen:?}");
    assert_eq!(seen.iter().map(|c| c.id).collect::<HashSet<_>>(), expected);
    for pair in seen.windows(2) {
        let key = |c: &Conversation| (c.last_activity_at, c.id);
        assert!(key(&pair[0]) > key(&pair[1]), "strictly newest first");
    }
}

async fn a_summary_has_the_user_last_message_and_unread_count_until_seen(t: &TestDb) {
    // Arrange
    let (user, c, stored) = conversation(
        t,
        whatsapp("+14155550100"),
        1,
        &[
            (Direction::Incoming, "hello"),
            (Direction::Outgoing, "hi, how can I help?"),
            (Direction::Incoming, "my knee hurts"),
        ],
    )
    .await;

    // Act
    let before = t.store.conversations(&all(10)).await.expect("list");
    let opened = t
        .store
        .conversation(c.id, page(10), Utc::now())
        .await
        .expect("open");
    let after = t.store.conversations(&all(10)).await.expect("list again");
    let mut later = message(user.id, Direction::Incoming, "are you there?");
    later.channel = Channel::WhatsApp;
    let later = t.store.append(&later).await.expect("append");
    t.store.attach(later.id, c.id).await.expect("attach");
    let newer = t
        .store
        .conversations(&all(10))
        .await
        .expect("list once more");

    // Assert
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].user, user);
    assert_eq!(before[0].last_message.as_ref(), Some(&stored[2]));
    assert_eq!(before[0].unread, 2, "all incoming before the team looked");
    let (summary, _) = opened.expect("known");
    assert_eq!(summary.unread, 0);
    assert_eq!(after[0].unread, 0);
    assert_eq!(newer[0].unread, 1, "only what came after");
    assert_eq!(newer[0].last_message.as_ref().map(|m| m.id), Some(later.id));
}

async fn one_conversation_pages_its_messages_newest_first(t: &TestDb) {
    // Arrange: five messages, three created at the same time.
    let (_, c, stored) = conversation(
        t,
        NewUser::chat("pager"),
        1,
        &[
            (Direction::Incoming, "m0"),
            (Direction::Outgoing, "m1"),
            (Direction::Incoming, "m2"),
            (Direction::Outgoing, "m3"),
            (Direction::Incoming, "m4"),
        ],
    )
    .await;
    for m in &stored[1..4] {
        set_created(t, m, at(10)).await;
    }
    set_created(t, &stored[0], at(9)).await;
    set_created(t, &stored[4], at(11)).await;
    let (_, other, _) =
        conversation(t, NewUser::chat("other"), 2, &[(Direction::Incoming, "x")]).await;

    // Act
    let mut bodies = Vec::new();
    let mut before = None;
    loop {
        let (_, messages) = t
            .store
            .conversation(c.id, Page { before, limit: 2 }, Utc::now())
            .await
            .expect("read")
            .expect("known");
        let Some(last) = messages.last() else { break };
        before = Some(Cursor {
            at: last.created_at,
            id: last.id.0,
        });
        bodies.extend(messages.iter().map(|m| m.body.clone()));
    }
    let unknown = t
        .store
        .conversation(ConversationId::new(), page(10), Utc::now())
        .await
        .expect("read unknown");

    // Assert
    assert_eq!(bodies.first().map(String::as_str), Some("m4"));
    assert_eq!(bodies.last().map(String::as_str), Some("m0"));
    assert_eq!(bodies.len(), 5, "{bodies:?}");
    assert_eq!(
        bodies.iter().collect::<HashSet<_>>().len(),
        5,
        "no repeats: {bodies:?}"
    );
    assert!(unknown.is_none());
    assert_ne!(other.id, c.id);
}

async fn a_users_messages_across_conversations_by_id_or_identity(t: &TestDb) {
    // Arrange
    let (user, first, old) = conversation(
        t,
        whatsapp("+14155550100"),
        1,
        &[(Direction::Incoming, "a")],
    )
    .await;
    t.store.end(first.id, at(2)).await.expect("end");
    let (_, second, new) = conversation(
        t,
        whatsapp("+14155550100"),
        3,
        &[(Direction::Incoming, "b"), (Direction::Outgoing, "c")],
    )
    .await;
    conversation(
        t,
        NewUser::chat("someone_else"),
        4,
        &[(Direction::Incoming, "z")],
    )
    .await;

    // Act
    let by_id = t
        .store
        .user_messages(&UserRef::Id(user.id), page(10))
        .await
        .expect("by id")
        .expect("known");
    let by_identity = t
        .store
        .user_messages(&UserRef::parse("+14155550100"), page(2))
        .await
        .expect("by identity")
        .expect("known");
    let last = by_identity.1.last().expect("a page").message.clone();
    let rest = t
        .store
        .user_messages(
            &UserRef::Identity("+14155550100".into()),
            Page {
                before: Some(Cursor {
                    at: last.created_at,
                    id: last.id.0,
                }),
                limit: 10,
            },
        )
        .await
        .expect("next page")
        .expect("known");
    let nobody = t
        .store
        .user_messages(&UserRef::Identity("+19999999999".into()), page(10))
        .await
        .expect("unknown");

    // Assert
    assert_eq!(by_id.0, user);
    let filed: Vec<(Option<ConversationId>, &str)> = by_id
        .1
        .iter()
        .map(|f| (f.conversation, f.message.body.as_str()))
        .collect();
    assert_eq!(
        filed,
        vec![
            (Some(second.id), "c"),
            (Some(second.id), "b"),
            (Some(first.id), "a")
        ]
    );
    assert_eq!(by_identity.1.len(), 2);
    assert_eq!(rest.1.len(), 1);
    assert_eq!(rest.1[0].message.id, old[0].id);
    assert_eq!(by_identity.1[0].message.id, new[1].id);
    assert!(nobody.is_none());
}

async fn taking_over_silences_the_bot(t: &TestDb) {
    // Arrange
    let (_, c, _) = conversation(t, NewUser::chat("taken"), 1, &[]).await;

    // Act
    let taken = t.store.take_over(c.id, at(5)).await.expect("take over");
    let unknown = t
        .store
        .take_over(ConversationId::new(), at(5))
        .await
        .expect("unknown");

    // Assert
    let taken = taken.expect("known");
    assert_eq!(taken.state, ConversationState::WaitingForHuman);
    assert!(taken.human_notice_sent, "the bot says nothing more");
    assert_eq!(taken.last_activity_at, at(5));
    assert_eq!(t.store.get(c.id).await.expect("get"), Some(taken));
    assert!(unknown.is_none());
}

async fn a_staff_reply_is_stored_with_the_takeover(t: &TestDb) {
    // Arrange
    let (user, c, _) = conversation(
        t,
        whatsapp("+14155550100"),
        1,
        &[(Direction::Incoming, "is anyone there?")],
    )
    .await;

    // Act
    let stored = t
        .store
        .store_staff_reply(c.id, &staff_reply("Maria here, how can I help?"))
        .await
        .expect("store");
    let unknown = t
        .store
        .store_staff_reply(ConversationId::new(), &staff_reply("lost"))
        .await
        .expect("unknown");

    // Assert
    let (conversation, replied_to, reply) = stored.expect("known");
    assert_eq!(replied_to, user);
    assert_eq!(reply.user_id, user.id, "the conversation's user");
    assert_eq!(reply.agent.as_deref(), Some("human:Maria"));
    assert_eq!(conversation.state, ConversationState::WaitingForHuman);
    assert!(conversation.human_notice_sent);
    assert_eq!(conversation.last_activity_at, reply.created_at);
    let (_, messages) = t
        .store
        .conversation(c.id, page(10), Utc::now())
        .await
        .expect("read")
        .expect("known");
    assert_eq!(messages[0], reply);
    assert!(unknown.is_none());
    assert_eq!(
        t.count("SELECT COUNT(*) FROM messages WHERE body = 'lost'")
            .await,
        0
    );
}

async fn a_sent_staff_reply_is_updated_by_status_callbacks(t: &TestDb) {
    // Arrange
    let (_, c, _) = conversation(t, whatsapp("+14155550100"), 1, &[]).await;
    let (_, _, reply) = t
        .store
        .store_staff_reply(c.id, &staff_reply("two parts"))
        .await
        .expect("store")
        .expect("known");

    // Act
    let sent = t
        .store
        .record_staff_send(
            reply.id,
            &SendOutcome::Sent(vec!["SM_part0".into(), "SM_part1".into()]),
        )
        .await
        .expect("record")
        .expect("known");
    let delivered = t
        .store
        .update_delivery(&StatusUpdate {
            provider_message_id: "SM_part1".into(),
            status: DeliveryStatus::Delivered,
            error_code: None,
        })
        .await
        .expect("callback");

    // Assert
    assert_eq!(sent.provider_message_id.as_deref(), Some("SM_part0"));
    assert_eq!(sent.delivery_status.as_deref(), Some("sent"));
    assert!(delivered);
    let (_, messages) = t
        .store
        .conversation(c.id, page(1), Utc::now())
        .await
        .expect("read")
        .expect("known");
    assert_eq!(messages[0].delivery_status.as_deref(), Some("delivered"));
    assert_eq!(
        t.count("SELECT COUNT(*) FROM deliveries WHERE provider_message_id IN ('SM_part0', 'SM_part1') AND part IS NOT NULL AND message_id IS NOT NULL")
            .await,
        2
    );
    let unknown = t
        .store
        .record_staff_send(
            whatsapp_agent::domain::MessageId::new(),
            &SendOutcome::Sent(vec!["SM_nowhere".into()]),
        )
        .await
        .expect("unknown");
    assert!(unknown.is_none());
    assert_eq!(
        t.count("SELECT COUNT(*) FROM deliveries WHERE provider_message_id = 'SM_nowhere'")
            .await,
        0
    );
}

async fn a_failed_send_keeps_the_error_and_the_parts_that_went_out(t: &TestDb) {
    // Arrange
    let (_, c, _) = conversation(t, whatsapp("+14155550100"), 1, &[]).await;
    let (_, _, reply) = t
        .store
        .store_staff_reply(c.id, &staff_reply("long reply"))
        .await
        .expect("store")
        .expect("known");

    // Act
    let failed = t
        .store
        .record_staff_send(
            reply.id,
            &SendOutcome::Failed {
                error: "provider refused part 2".into(),
                sent: vec!["SM_first".into()],
            },
        )
        .await
        .expect("record")
        .expect("known");

    // Assert
    assert_eq!(failed.delivery_status.as_deref(), Some("failed"));
    assert_eq!(failed.error.as_deref(), Some("provider refused part 2"));
    assert_eq!(failed.provider_message_id.as_deref(), Some("SM_first"));
    assert_eq!(
        t.count(
            "SELECT COUNT(*) FROM deliveries WHERE provider_message_id = 'SM_first' AND part = 0"
        )
        .await,
        1
    );
}

async fn a_callback_before_the_send_is_recorded_still_counts(t: &TestDb) {
    // Arrange
    let (_, c, _) = conversation(t, whatsapp("+14155550100"), 1, &[]).await;
    let (_, _, reply) = t
        .store
        .store_staff_reply(c.id, &staff_reply("quick"))
        .await
        .expect("store")
        .expect("known");
    t.store
        .update_delivery(&StatusUpdate {
            provider_message_id: "SM_early".into(),
            status: DeliveryStatus::Read,
            error_code: None,
        })
        .await
        .expect("early callback");

    // Act
    let recorded = t
        .store
        .record_staff_send(reply.id, &SendOutcome::Sent(vec!["SM_early".into()]))
        .await
        .expect("record")
        .expect("known");

    // Assert
    assert_eq!(recorded.delivery_status.as_deref(), Some("read"));
}
