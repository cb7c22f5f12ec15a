//! `LoggingMessenger`: records replies in the log instead of sending them.

use async_trait::async_trait;
use whatsapp_agent::ports::{Messenger, MessengerError, OutboundMessage};

/// Used when no messaging provider is configured. Bodies and addresses are logged only at
/// debug level, since they are personal data.
#[derive(Clone, Debug, Default)]
pub struct LoggingMessenger;

#[async_trait]
impl Messenger for LoggingMessenger {
    fn label(&self) -> String {
        "logging (replies are not sent)".to_string()
    }

    async fn send(&self, message: &OutboundMessage) -> Result<Vec<String>, MessengerError> {
        let id = format!("LOG{:032x}", rand_id());
        tracing::info!(
            provider_id = %id,
            chars = message.body.chars().count(),
            media = message.media_urls.len(),
            "no messaging provider configured; reply logged, not sent"
        );
        tracing::debug!(to = %message.to, body = %message.body, "logged reply");
        Ok(vec![id])
    }
}

fn rand_id() -> u128 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}
