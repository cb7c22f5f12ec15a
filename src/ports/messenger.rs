//! The messenger port: sends replies to a user over a messaging channel.

use async_trait::async_trait;

/// A reply to deliver.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboundMessage {
    /// The channel address, e.g. an E.164 phone number.
    pub to: String,
    pub body: String,
    pub media_urls: Vec<String>,
}

/// Why a message could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum MessengerError {
    /// A temporary failure (rate limit, outage); sending again later may work.
    #[error("messaging provider temporarily unavailable: {0}")]
    Temporary(String),
    /// The provider refused for good (opted-out recipient, invalid number).
    #[error("messaging provider refused the message: {0}")]
    Permanent(String),
}

/// Delivers outgoing messages and returns the provider's message id.
#[async_trait]
pub trait Messenger: Send + Sync {
    /// A short label for logs, e.g. `logging` or `twilio`.
    fn label(&self) -> String;

    /// Sends one message.
    ///
    /// # Errors
    /// MUST return [`MessengerError::Permanent`] when retrying cannot succeed.
    async fn send(&self, message: &OutboundMessage) -> Result<String, MessengerError>;
}
