//! `InboundWorker::process` on one job.

use std::sync::Arc;
use std::time::Duration;

use whatsapp_agent::inbox::{InboundWorker, JobResult, WorkerConfig, FALLBACK_AGENT};
use whatsapp_agent::ports::LlmError;

use crate::fakes::{time, Lookup, Provider, Queue};
use crate::support::{agents, Harness};

fn worker(harness: &Harness, queue: &Arc<Queue>, provider: &Arc<Provider>) -> InboundWorker {
    InboundWorker::new(
        harness.service.clone(),
        queue.clone(),
        queue.clone(),
        provider.clone(),
        WorkerConfig {
            max_attempts: 3,
            clock_skew: Duration::from_secs(5),
            ..WorkerConfig::default()
        },
    )
}

#[tokio::test]
async fn a_part_the_provider_has_is_recorded_not_sent_again() {
    let harness = Harness::replying(&[]);
    let queue = Queue::new(2).with_unknown_attempt("we open at 9");
    let provider = Provider::new(Lookup::Found("SM-earlier".into()));

    let result = worker(&harness, &queue, &provider)
        .process(&queue.job)
        .await;

    assert_eq!(result, JobResult::Done);
    assert!(provider.sends().is_empty(), "not sent again");
    let lookups = provider.lookups();
    assert_eq!(lookups.len(), 1);
    assert_eq!(lookups[0].0, "+14155550100");
    assert_eq!(lookups[0].1, "we open at 9");
    assert_eq!(lookups[0].2, time() - chrono::Duration::seconds(5));
    let record = queue.record();
    assert_eq!(record.sent, [(0, "SM-earlier".to_string())]);
    assert!(record.finished && record.completed);
}

#[tokio::test]
async fn a_part_the_provider_does_not_have_is_sent_once() {
    let harness = Harness::replying(&[]);
    let queue = Queue::new(2).with_unknown_attempt("we open at 9");
    let provider = Provider::new(Lookup::NotFound);

    let result = worker(&harness, &queue, &provider)
        .process(&queue.job)
        .await;

    assert_eq!(result, JobResult::Done);
    let sends = provider.sends();
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].body, "we open at 9");
    let record = queue.record();
    assert_eq!(
        record.begun, 1,
        "the new attempt is recorded before the send"
    );
    assert_eq!(record.sent, [(0, "SM1".to_string())]);
}

#[tokio::test]
async fn a_part_is_held_back_while_the_provider_cannot_say() {
    let harness = Harness::replying(&[]);
    let queue = Queue::new(2).with_unknown_attempt("we open at 9");
    let provider = Provider::new(Lookup::CannotSay);

    let result = worker(&harness, &queue, &provider)
        .process(&queue.job)
        .await;

    assert!(matches!(result, JobResult::Retrying(_)), "{result:?}");
    assert!(provider.sends().is_empty());
    assert_eq!(queue.record().begun, 0);
}

#[tokio::test]
async fn a_worker_whose_lease_was_taken_sends_nothing() {
    let harness = Harness::replying(&[]);
    let queue = Queue::new(1);
    queue.record.lock().expect("lock").reply = Some(crate::fakes::message(
        queue.user.id,
        whatsapp_agent::domain::Direction::Outgoing,
        "we open at 9",
    ));
    *queue.lost.lock().expect("lock") = true;
    let provider = Provider::new(Lookup::NotFound);

    let result = worker(&harness, &queue, &provider)
        .process(&queue.job)
        .await;

    assert_eq!(result, JobResult::LostLease);
    assert!(provider.sends().is_empty());
    let record = queue.record();
    assert!(record.sent.is_empty() && !record.completed && record.failed.is_none());
}

#[tokio::test]
async fn a_model_that_fails_for_good_gets_the_fallback_reply() {
    let mut agents = agents(10);
    for language in &mut agents.languages {
        language.fallback = "I cannot answer right now. In an emergency call 112.".into();
    }
    let harness = Harness::with_agents(
        agents,
        vec![Err(LlmError::Unavailable("connection refused".into()))],
    );
    let queue = Queue::new(3);
    let provider = Provider::new(Lookup::NotFound);

    let result = worker(&harness, &queue, &provider)
        .process(&queue.job)
        .await;

    assert_eq!(result, JobResult::Done);
    let sends = provider.sends();
    assert_eq!(sends.len(), 1);
    assert!(sends[0].body.contains("112"));
    let reply = queue.record().reply.expect("the fallback is stored");
    assert_eq!(reply.agent.as_deref(), Some(FALLBACK_AGENT));
}

#[tokio::test]
async fn a_model_failure_before_the_last_attempt_is_retried() {
    let harness = Harness::new(10, vec![Err(LlmError::Timeout)]);
    let queue = Queue::new(1);
    let provider = Provider::new(Lookup::NotFound);

    let result = worker(&harness, &queue, &provider)
        .process(&queue.job)
        .await;

    assert!(matches!(result, JobResult::Retrying(_)), "{result:?}");
    assert!(provider.sends().is_empty());
    assert!(queue.record().retried.is_some());
}
