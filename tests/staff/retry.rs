//! Sending a bot's failed WhatsApp reply again: its job is re-driven, nothing is sent from here.

use std::sync::Arc;

use whatsapp_agent::access::Caller;
use whatsapp_agent::domain::{Channel, MessageId};
use whatsapp_agent::ports::JobBoardError;
use whatsapp_agent::staff::{Staff, StaffError};

use crate::fakes::{OneConversation, RecordingMessenger};

fn staff(store: &Arc<OneConversation>, messenger: &Arc<RecordingMessenger>) -> Staff {
    Staff::new(store.clone(), store.clone())
        .with_messenger(messenger.clone())
        .with_job_board(store.clone())
}

#[tokio::test]
async fn a_bots_failed_reply_is_queued_again_through_its_job() {
    // Arrange
    let store = OneConversation::on(Channel::WhatsApp);
    let messenger = RecordingMessenger::answering(Ok(vec!["SM1".into()]));
    let failed = store.bots_reply("failed", Some("send refused (63016): outside the window"));
    store.job(7, failed.id, "failed");

    // Act
    let again = staff(&store, &messenger)
        .retry(&Caller::AdminToken, store.id(), failed.id)
        .await;

    // Assert
    let again = again.expect("re-driven");
    assert_eq!(again.id, failed.id);
    assert_eq!(again.body, failed.body, "the stored reply, not a new one");
    assert_eq!(again.delivery_status.as_deref(), Some("queued"));
    assert_eq!(again.error, None);
    assert_eq!(store.job_status(7).as_deref(), Some("pending"));
    assert!(
        messenger.sent().is_empty(),
        "the worker sends it, not the team"
    );
    assert_eq!(
        store.changed.lock().expect("lock").len(),
        1,
        "every inbox hears of it"
    );
}

#[tokio::test]
async fn a_bots_reply_whose_job_is_not_failed_is_a_conflict_and_changes_nothing() {
    // Arrange
    let store = OneConversation::on(Channel::WhatsApp);
    let messenger = RecordingMessenger::answering(Ok(vec!["SM1".into()]));
    let running = store.bots_reply("failed", Some("send failed: 500"));
    store.job(8, running.id, "running");

    // Act
    let refused = staff(&store, &messenger)
        .retry(&Caller::AdminToken, store.id(), running.id)
        .await;

    // Assert
    assert!(
        matches!(
            &refused,
            Err(StaffError::Job(JobBoardError::NotFailed { id: 8, status })) if status == "running"
        ),
        "{refused:?}"
    );
    assert_eq!(store.job_status(8).as_deref(), Some("running"));
    assert!(messenger.sent().is_empty());
    assert!(store.changed.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn a_bots_reply_that_no_job_sends_or_that_did_not_fail_is_refused_naming_message_id() {
    // Arrange
    let store = OneConversation::on(Channel::WhatsApp);
    let messenger = RecordingMessenger::answering(Ok(vec!["SM1".into()]));
    let orphan = store.bots_reply("failed", Some("send failed: 500"));
    let delivered = store.bots_reply("delivered", None);
    store.job(9, delivered.id, "done");
    let staff = staff(&store, &messenger);

    // Act
    let outcomes = [
        staff
            .retry(&Caller::AdminToken, store.id(), orphan.id)
            .await,
        staff
            .retry(&Caller::AdminToken, store.id(), delivered.id)
            .await,
    ];
    let unknown = staff
        .retry(&Caller::AdminToken, store.id(), MessageId::new())
        .await;

    // Assert
    for outcome in outcomes {
        assert!(
            matches!(&outcome, Err(StaffError::Invalid { field, .. }) if field == "message_id"),
            "{outcome:?}"
        );
    }
    assert!(
        matches!(unknown, Err(StaffError::NotFound(_))),
        "{unknown:?}"
    );
    assert_eq!(store.job_status(9).as_deref(), Some("done"));
    assert!(messenger.sent().is_empty());
}
