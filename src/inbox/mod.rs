//! The WhatsApp-style inbox: webhooks are verified and stored with a job before they are
//! acknowledged; workers answer the jobs later, one turn per conversation at a time, in order.

mod receive;
mod worker;

pub use receive::{plain_message_span, Inbox, InboxError, MessageSpan, Received};
pub use worker::{InboundWorker, JobResult, WorkerConfig};
