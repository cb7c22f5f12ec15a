//! The inbound worker: claims a job, runs the same turn as the chat API, stores the reply, then
//! sends it. Each step is recorded so an attempt that dies is resumed, not repeated: a stored
//! reply is not generated again, and sent parts are not sent again.

use std::sync::Arc;
use std::time::Duration;

use crate::chat::{ChatError, ChatService};
use crate::ports::{InboundQueue, Job, Messenger, MessengerError, OutboundMessage, StoreError};

/// Worker settings.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// How long a claim holds without renewal; a dead worker's job is reclaimed after it.
    pub lease: Duration,
    /// Attempts before a job is marked failed.
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt.
    pub retry_base: Duration,
    pub retry_max: Duration,
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
    chat: ChatService,
    queue: Arc<dyn InboundQueue>,
    messenger: Arc<dyn Messenger>,
    config: WorkerConfig,
}

impl InboundWorker {
    pub fn new(
        chat: ChatService,
        queue: Arc<dyn InboundQueue>,
        messenger: Arc<dyn Messenger>,
        config: WorkerConfig,
    ) -> Self {
        Self {
            chat,
            queue,
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
    /// [`StoreError`] when the database is unavailable.
    pub async fn claim(&self) -> Result<Option<Job>, StoreError> {
        self.queue.claim(self.config.lease).await
    }

    /// Extends the claim while a slow turn runs. `false` once the job is no longer ours.
    ///
    /// # Errors
    /// [`StoreError`] when the database is unavailable.
    pub async fn renew(&self, job: &Job) -> Result<bool, StoreError> {
        self.queue.renew(job, self.config.lease).await
    }

    fn backoff(&self, attempts: u32) -> Duration {
        self.config
            .retry_base
            .saturating_mul(2u32.saturating_pow(attempts.saturating_sub(1)))
            .min(self.config.retry_max)
    }

    async fn retry_or_fail(&self, job: &Job, error: String) -> JobResult {
        let recorded = if job.attempts >= self.config.max_attempts {
            self.queue
                .fail(job, &error)
                .await
                .map(|()| JobResult::Failed(error.clone()))
        } else {
            self.queue
                .retry_later(job, self.backoff(job.attempts), &error)
                .await
                .map(|()| JobResult::Retrying(error.clone()))
        };
        recorded.unwrap_or_else(|store| JobResult::Retrying(format!("{error}; {store}")))
    }

    /// Runs one claimed job to its next resting state.
    pub async fn process(&self, job: &Job) -> JobResult {
        match self.try_process(job).await {
            Ok(result) => result,
            Err(Step::Retry(error)) => self.retry_or_fail(job, error).await,
            Err(Step::Fail(error)) => match self.queue.fail(job, &error).await {
                Ok(()) => JobResult::Failed(error),
                Err(store) => JobResult::Retrying(format!("{error}; {store}")),
            },
        }
    }

    async fn try_process(&self, job: &Job) -> Result<JobResult, Step> {
        let context = self.queue.context(job).await?;
        let reply = match context.reply {
            Some(reply) => reply,
            None => {
                let outcome = self
                    .chat
                    .reply_to(context.user.clone(), context.incoming)
                    .await
                    .map_err(Step::from_chat)?;
                // The job's span (see `MessageSpan`) names the conversation, never the number.
                tracing::Span::current().record(
                    "conversation",
                    tracing::field::display(outcome.conversation.id),
                );
                let Some(outgoing) = outcome.outgoing else {
                    // A person has the conversation and the user was told: nothing to send.
                    return self.finish(job).await;
                };
                if !self.queue.attach_reply(job, outgoing.id).await? {
                    return Ok(JobResult::LostLease);
                }
                outgoing
            }
        };
        if reply.provider_message_id.is_some() || reply.body.trim().is_empty() {
            return self.finish(job).await;
        }
        // The last check before a side effect nobody can undo.
        if !self.queue.renew(job, self.config.lease).await? {
            return Ok(JobResult::LostLease);
        }
        let message = OutboundMessage {
            to: context.user.phone_number.clone(),
            body: reply.body.clone(),
            media_urls: Vec::new(),
            skip_parts: context.sent_parts.len(),
        };
        let mut sent = context.sent_parts.clone();
        match self.messenger.send(&message).await {
            Ok(ids) => {
                sent.extend(ids);
                self.queue.record_sent(job, reply.id, &sent, true).await?;
                self.finish(job).await
            }
            Err(MessengerError::Temporary { message, sent: ids }) => {
                sent.extend(ids);
                self.queue.record_sent(job, reply.id, &sent, false).await?;
                Err(Step::Retry(format!("send failed: {message}")))
            }
            Err(MessengerError::Permanent {
                message,
                code,
                sent: ids,
            }) => {
                sent.extend(ids);
                self.queue.record_sent(job, reply.id, &sent, false).await?;
                let error = match code {
                    Some(code) => format!("send refused ({code}): {message}"),
                    None => format!("send refused: {message}"),
                };
                self.queue.mark_message_error(reply.id, &error).await?;
                Err(Step::Fail(error))
            }
        }
    }

    async fn finish(&self, job: &Job) -> Result<JobResult, Step> {
        Ok(if self.queue.complete(job).await? {
            JobResult::Done
        } else {
            JobResult::LostLease
        })
    }
}

/// Internal outcome of a failed step.
enum Step {
    Retry(String),
    Fail(String),
}

impl From<StoreError> for Step {
    fn from(err: StoreError) -> Self {
        Step::Retry(err.to_string())
    }
}

impl Step {
    fn from_chat(err: ChatError) -> Self {
        match &err {
            ChatError::Llm { source, .. } if source.is_retryable() => Step::Retry(err.to_string()),
            ChatError::Store(_) | ChatError::TurnInProgress { .. } => Step::Retry(err.to_string()),
            ChatError::Media {
                source: crate::ports::MediaError::Unavailable(_),
                ..
            } => Step::Retry(err.to_string()),
            _ => Step::Fail(err.to_string()),
        }
    }
}
