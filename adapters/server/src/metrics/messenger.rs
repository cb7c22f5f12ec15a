//! `MeteredMessenger`: counts every send by outcome around any `Messenger`.

use std::sync::Arc;

use async_trait::async_trait;
use whatsapp_agent::ports::{Messenger, MessengerError, OutboundMessage};

pub struct MeteredMessenger(pub Arc<dyn Messenger>);

#[async_trait]
impl Messenger for MeteredMessenger {
    fn label(&self) -> String {
        self.0.label()
    }

    async fn send(&self, message: &OutboundMessage) -> Result<Vec<String>, MessengerError> {
        let result = self.0.send(message).await;
        let outcome = match &result {
            Ok(_) => "sent",
            Err(MessengerError::Temporary { .. }) => "temporary_failure",
            Err(MessengerError::Permanent { .. }) => "permanent_failure",
        };
        metrics::counter!("messages_sent_total", "outcome" => outcome).increment(1);
        result
    }
}
