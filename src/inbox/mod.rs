//! The WhatsApp-style inbox: webhooks are verified and stored with a job before they are
//! acknowledged; workers answer the jobs later, one turn per conversation at a time, in order,
//! and send each reply part at most once.

mod backoff;
mod jobs;
mod receive;
mod send;
mod worker;

pub use backoff::delay as retry_delay;
pub use jobs::JobsError;
pub use receive::{plain_message_span, Inbox, InboxError, MessageSpan, Received};
pub use worker::{InboundWorker, JobResult, WorkerConfig, DELIVERY_FAILED, FALLBACK_AGENT};
