//! `LoggingMessenger`: records replies in the log instead of sending them, and answers "was
//! this part sent?" from what it recorded.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use whatsapp_agent::ports::{Messenger, MessengerError, OutboundMessage, OutboundPart};

/// Parts remembered for `find_sent`; older ones are forgotten first.
const REMEMBERED: usize = 1000;

/// One logged part: to whom, what, when, and the id it was given.
#[derive(Clone, Debug)]
struct Logged {
    to: String,
    body: String,
    at: DateTime<Utc>,
    id: String,
}

/// Used when no messaging provider is configured. Bodies and addresses are logged only at
/// debug level, since they are personal data.
#[derive(Clone, Debug, Default)]
pub struct LoggingMessenger {
    log: Arc<Mutex<Vec<Logged>>>,
}

impl LoggingMessenger {
    fn record(&self, to: &str, body: &str, media: usize) -> String {
        let id = format!("LOG{:032x}", rand_id());
        tracing::info!(
            provider_id = %id,
            chars = body.chars().count(),
            media,
            "no messaging provider configured; reply logged, not sent"
        );
        tracing::debug!(to = %to, body = %body, "logged reply");
        let mut log = self
            .log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if log.len() >= REMEMBERED {
            log.remove(0);
        }
        log.push(Logged {
            to: to.to_string(),
            body: body.to_string(),
            at: Utc::now(),
            id: id.clone(),
        });
        id
    }
}

#[async_trait]
impl Messenger for LoggingMessenger {
    fn label(&self) -> String {
        "logging (replies are not sent)".to_string()
    }

    fn split(&self, body: &str) -> Vec<String> {
        if body.is_empty() {
            Vec::new()
        } else {
            vec![body.to_string()]
        }
    }

    async fn send_part(&self, part: &OutboundPart) -> Result<String, MessengerError> {
        Ok(self.record(&part.to, &part.body, part.media_urls.len()))
    }

    async fn find_sent(
        &self,
        to: &str,
        body: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<String>, MessengerError> {
        let log = self
            .log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(log
            .iter()
            .rev()
            .take_while(|logged| logged.at >= since)
            .find(|logged| logged.to == to && logged.body == body)
            .map(|logged| logged.id.clone()))
    }

    async fn send(&self, message: &OutboundMessage) -> Result<Vec<String>, MessengerError> {
        Ok(vec![self.record(
            &message.to,
            &message.body,
            message.media_urls.len(),
        )])
    }
}

fn rand_id() -> u128 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}
