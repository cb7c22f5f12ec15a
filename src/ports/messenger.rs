//! The messenger port: sends replies to a user over a messaging channel.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A reply to deliver.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboundMessage {
    /// The channel address, e.g. an E.164 phone number.
    pub to: String,
    pub body: String,
    pub media_urls: Vec<String>,
    /// Parts of a long body already sent by an earlier attempt; sending resumes after them.
    pub skip_parts: usize,
}

/// Why a message could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessengerError {
    /// A temporary failure (rate limit, outage); sending again later may work. `sent` holds
    /// the ids of the parts that did go out before the failure, so a retry can skip them.
    #[error("messaging provider temporarily unavailable: {message}")]
    Temporary { message: String, sent: Vec<String> },
    /// The provider refused for good (opted-out recipient, invalid number); `code` is the
    /// provider's error code when it gave one (e.g. `21610`).
    #[error("messaging provider refused the message: {message}")]
    Permanent {
        message: String,
        code: Option<String>,
        sent: Vec<String>,
    },
}

/// One part of a reply, sent on its own.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboundPart {
    /// The channel address, e.g. an E.164 phone number.
    pub to: String,
    /// The part's text, one of [`Messenger::split`]'s.
    pub body: String,
    /// Media go with the first part only.
    pub media_urls: Vec<String>,
}

/// Delivers outgoing messages and returns the provider's message id.
#[async_trait]
pub trait Messenger: Send + Sync {
    /// A short label for logs, e.g. `logging` or `twilio`.
    fn label(&self) -> String;

    /// The parts a body is sent as, in order; the same body always splits the same way, so
    /// that a resumed send knows which parts went out. Empty for an empty body.
    fn split(&self, body: &str) -> Vec<String>;

    /// Sends one part once; returns the provider's id for it.
    ///
    /// # Errors
    /// MUST return [`MessengerError::Permanent`] when retrying cannot succeed, and
    /// [`MessengerError::Temporary`] when the part may or may not have gone out.
    async fn send_part(&self, part: &OutboundPart) -> Result<String, MessengerError>;

    /// Whether a part with this exact body went to `to` at or after `since`, as the provider
    /// knows it: its id if so. Asked before sending again a part whose earlier attempt has no
    /// recorded outcome, since the channel has no idempotency key.
    ///
    /// # Errors
    /// [`MessengerError::Temporary`] when the provider cannot say now; the caller must not
    /// send the part then.
    async fn find_sent(
        &self,
        to: &str,
        body: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<String>, MessengerError>;

    /// Sends one message, split into parts if it is longer than the channel allows; returns
    /// the provider's id of each part, in order.
    ///
    /// # Errors
    /// MUST return [`MessengerError::Permanent`] when retrying cannot succeed.
    async fn send(&self, message: &OutboundMessage) -> Result<Vec<String>, MessengerError>;
}
