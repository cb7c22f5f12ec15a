//! `MeteredMessenger`: counts and traces every send around any `Messenger`.

use std::sync::Arc;

use async_trait::async_trait;
use tracing::Instrument;
use whatsapp_agent::ports::{Messenger, MessengerError, OutboundMessage};

pub struct MeteredMessenger(pub Arc<dyn Messenger>);

#[async_trait]
impl Messenger for MeteredMessenger {
    fn label(&self) -> String {
        self.0.label()
    }

    async fn send(&self, message: &OutboundMessage) -> Result<Vec<String>, MessengerError> {
        // The span says how the send went, never to whom or what.
        let span = tracing::info_span!(
            "send",
            otel.name = "send",
            channel = %self.0.label(),
            outcome = tracing::field::Empty,
        );
        let result = self.0.send(message).instrument(span.clone()).await;
        let outcome = match &result {
            Ok(_) => "sent",
            Err(MessengerError::Temporary { .. }) => "temporary_failure",
            Err(MessengerError::Permanent { .. }) => "permanent_failure",
        };
        span.record("outcome", outcome);
        metrics::counter!("messages_sent_total", "outcome" => outcome).increment(1);
        result
    }
}
