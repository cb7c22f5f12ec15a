//! The inbound worker: claims a job, runs the same turn as the chat API, stores the reply, then
//! sends it. Each step is recorded so an attempt that dies is resumed, not repeated: a stored
//! reply is not generated again, and a part is not sent again (see `send`).
//!
//! Two budgets: the turn (the model call) is tried `max_attempts` times, after which the
//! agents file's fixed fallback reply (in the user's language) is sent instead; sending is retried, with capped exponential backoff
//! and jitter, for as long as the channel accepts a reply (`send_window` after the user's last
//! message). A reply that still cannot go out is marked failed with the reason and its
//! conversation flagged for staff.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::chat::{ChatError, ChatService};
use crate::domain::{Message, MessageId};
use crate::ports::{DeliveryLog, Job, JobContext, JobFailure, JobLeases, LeaseError, Messenger};

use super::backoff;

/// The `agent` recorded on the fallback reply sent when the model fails for good.
pub const FALLBACK_AGENT: &str = "fallback";
/// The flag put on a conversation whose reply could not be delivered.
pub const DELIVERY_FAILED: &str = "delivery_failed";

/// Worker settings.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// How long a claim holds without renewal; a dead worker's job is reclaimed after it.
    pub lease: Duration,
    /// Attempts at the turn before the fallback reply is sent instead.
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt, with jitter.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// How long after the user's last message a reply may still be sent (WhatsApp's
    /// customer-service window: 24 hours). Sending is retried until then.
    pub send_window: Duration,
    /// Allowed difference between the database's clock and the provider's when asking the
    /// provider whether a part went out.
    pub clock_skew: Duration,
}

impl Default for WorkerConfig {
    /// Production values: a minute's lease, five turns, backoff from 2 s to 5 min, the
    /// 24-hour reply window.
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(60),
            max_attempts: 5,
            retry_base: Duration::from_secs(2),
            retry_max: Duration::from_secs(300),
            send_window: Duration::from_secs(24 * 3600),
            clock_skew: Duration::from_secs(5),
        }
    }
}

/// How a job ended this time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobResult {
    /// Answered and sent (or there was nothing to send).
    Done,
    /// Failed for now; queued to run again.
    Retrying(String),
    /// Failed for good; the error is recorded on the job.
    Failed(String),
    /// Another worker took the job over (our lease expired); nothing more was done.
    LostLease,
}

/// Answers queued inbound messages.
#[derive(Clone)]
pub struct InboundWorker {
    pub(super) chat: ChatService,
    pub(super) leases: Arc<dyn JobLeases>,
    pub(super) deliveries: Arc<dyn DeliveryLog>,
    pub(super) messenger: Arc<dyn Messenger>,
    pub(super) config: WorkerConfig,
}

/// Internal outcome of a failed step.
pub(super) enum Step {
    /// Worth trying again later.
    Retry(String),
    /// Will never work (e.g. the provider refused the recipient).
    Fail(String),
    /// The lease is gone: stop, write nothing more.
    Lost,
}

impl From<LeaseError> for Step {
    fn from(err: LeaseError) -> Self {
        match err {
            LeaseError::Lost => Step::Lost,
            other => Step::Retry(other.to_string()),
        }
    }
}

/// Where the job stopped. Retries run while the reply window, from the user's last message,
/// is open; the model's own budget is kept by `answer`.
enum Phase {
    /// No reply yet: the turn failed (or the job's context could not be read).
    Turn {
        last_incoming_at: Option<DateTime<Utc>>,
    },
    /// The reply is stored; sending it failed.
    Send {
        reply: MessageId,
        last_incoming_at: DateTime<Utc>,
    },
}

impl InboundWorker {
    pub fn new(
        chat: ChatService,
        leases: Arc<dyn JobLeases>,
        deliveries: Arc<dyn DeliveryLog>,
        messenger: Arc<dyn Messenger>,
        config: WorkerConfig,
    ) -> Self {
        Self {
            chat,
            leases,
            deliveries,
            messenger,
            config,
        }
    }

    pub fn config(&self) -> &WorkerConfig {
        &self.config
    }

    /// Claims the next runnable job, if any.
    ///
    /// # Errors
    /// [`LeaseError`] when the database is unavailable.
    pub async fn claim(&self) -> Result<Option<Job>, LeaseError> {
        self.leases.claim(self.config.lease).await
    }

    /// Extends the claim while a slow turn runs.
    ///
    /// # Errors
    /// [`LeaseError::Lost`] once the job is no longer ours; others when the database is
    /// unavailable.
    pub async fn renew(&self, job: &Job) -> Result<(), LeaseError> {
        self.leases.renew(job, self.config.lease).await
    }

    /// Runs one claimed job to its next resting state.
    pub async fn process(&self, job: &Job) -> JobResult {
        let context = match self.leases.context(job).await {
            Ok(context) => context,
            Err(err) => {
                let phase = Phase::Turn {
                    last_incoming_at: None,
                };
                return self.settle(job, Step::from(err), phase).await;
            }
        };
        let reply = match context.reply.clone() {
            Some(reply) => reply,
            None => match self.answer(job, &context).await {
                Ok(Some(reply)) => reply,
                Ok(None) => return self.finish(job).await,
                Err(step) => {
                    let phase = Phase::Turn {
                        last_incoming_at: Some(context.last_incoming_at),
                    };
                    return self.settle(job, step, phase).await;
                }
            },
        };
        if reply.provider_message_id.is_some() || reply.body.trim().is_empty() {
            return self.finish(job).await;
        }
        let to = context.user.phone_number.clone();
        match self.send_reply(job, &to, &reply).await {
            Ok(()) => self.finish(job).await,
            Err(step) => {
                let phase = Phase::Send {
                    reply: reply.id,
                    last_incoming_at: context.last_incoming_at,
                };
                self.settle(job, step, phase).await
            }
        }
    }

    /// Runs the turn and links its reply to the job; `None` when there is nothing to send.
    /// When the model has failed for good, the fallback reply takes its place.
    async fn answer(&self, job: &Job, context: &JobContext) -> Result<Option<Message>, Step> {
        let error = match self
            .chat
            .reply_to(context.user.clone(), context.incoming.clone())
            .await
        {
            Ok(outcome) => {
                // The job's span (see `MessageSpan`) names the conversation, never the number.
                tracing::Span::current().record(
                    "conversation",
                    tracing::field::display(outcome.conversation.id),
                );
                let Some(outgoing) = outcome.outgoing else {
                    // A person has the conversation and the user was told: nothing to send.
                    return Ok(None);
                };
                self.leases.attach_reply(job, outgoing.id).await?;
                return Ok(Some(outgoing));
            }
            Err(error) => error,
        };
        let retryable = turn_retryable(&error);
        if retryable && job.attempts < self.config.max_attempts {
            return Err(Step::Retry(error.to_string()));
        }
        if matches!(
            error,
            ChatError::Store(_) | ChatError::TurnInProgress { .. } | ChatError::UserErased
        ) {
            // Not the model's failure: the database (which the fallback needs too) or the
            // user's previous turn. Wait for it, without spending the model's budget.
            return Err(Step::Retry(error.to_string()));
        }
        // The agents file's fixed reply, in the language the user wrote in, instead of silence.
        let agents = self.chat.agents();
        let language = agents.triage.language_of(&context.incoming.body);
        let fallback = agents.language(language.as_deref()).fallback.clone();
        if fallback.trim().is_empty() {
            return Err(Step::Fail(error.to_string()));
        }
        tracing::warn!(job = job.id, %error, "the model failed for good; sending the fallback reply");
        let reply = self
            .leases
            .attach_fixed_reply(job, &fallback, FALLBACK_AGENT)
            .await?;
        Ok(Some(reply))
    }

    /// Records how a failed attempt ends: retried later, or failed for good.
    async fn settle(&self, job: &Job, step: Step, phase: Phase) -> JobResult {
        let (error, retry) = match step {
            Step::Lost => return JobResult::LostLease,
            Step::Retry(error) => (error, true),
            Step::Fail(error) => (error, false),
        };
        let delay = backoff::delay(job.attempts, self.config.retry_base, self.config.retry_max);
        let (reply, last_incoming_at) = match phase {
            Phase::Turn { last_incoming_at } => (None, last_incoming_at),
            Phase::Send {
                reply,
                last_incoming_at,
            } => (Some(reply), Some(last_incoming_at)),
        };
        let window_closed = last_incoming_at.is_some_and(|last| {
            let deadline = last
                + chrono::Duration::from_std(self.config.send_window)
                    .unwrap_or(chrono::Duration::MAX);
            Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default() > deadline
        });
        let (retry, error) = if retry && window_closed {
            (false, format!("{error}; the reply window closed"))
        } else {
            (retry, error)
        };
        let recorded = if retry {
            self.leases
                .retry_later(job, delay, &error)
                .await
                .map(|()| JobResult::Retrying(error.clone()))
        } else {
            let failure = JobFailure {
                error: error.clone(),
                reply,
                flag_reason: DELIVERY_FAILED.to_string(),
            };
            self.leases
                .fail(job, &failure)
                .await
                .map(|()| JobResult::Failed(error.clone()))
        };
        match recorded {
            Ok(result) => result,
            Err(LeaseError::Lost) => JobResult::LostLease,
            // Nothing recorded: the lease runs out and the job is taken up again.
            Err(store) => JobResult::Retrying(format!("{error}; {store}")),
        }
    }

    async fn finish(&self, job: &Job) -> JobResult {
        match self.leases.complete(job).await {
            Ok(()) => JobResult::Done,
            Err(LeaseError::Lost) => JobResult::LostLease,
            Err(err) => JobResult::Retrying(err.to_string()),
        }
    }
}

/// Whether the turn may succeed if tried again.
fn turn_retryable(err: &ChatError) -> bool {
    match err {
        ChatError::Llm { source, .. } => source.is_retryable(),
        ChatError::Store(_) | ChatError::TurnInProgress { .. } | ChatError::UserErased => true,
        ChatError::Media {
            source: crate::ports::MediaError::Unavailable(_),
            ..
        } => true,
        _ => false,
    }
}
