//! `MeteredMessenger`: counts and traces every send around any `Messenger`.

use std::sync::Arc;

use async_trait::async_trait;
use tracing::Instrument;
use whatsapp_agent::ports::{Messenger, MessengerError, OutboundMessage, OutboundPart};

pub struct MeteredMessenger(pub Arc<dyn Messenger>);

#[async_trait]
impl Messenger for MeteredMessenger {
    fn label(&self) -> String {
        self.0.label()
    }

    fn split(&self, body: &str) -> Vec<String> {
        self.0.split(body)
    }

    async fn send_part(&self, part: &OutboundPart) -> Result<String, MessengerError> {
        let span = send_span(&self.0.label());
        let result = self.0.send_part(part).instrument(span.clone()).await;
        count(&span, result.as_ref().map(|_| ()));
        result
    }

    async fn find_sent(
        &self,
        to: &str,
        body: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<String>, MessengerError> {
        let result = self.0.find_sent(to, body, since).await;
        let outcome = match &result {
            Ok(Some(_)) => "found",
            Ok(None) => "not_found",
            Err(_) => "unknown",
        };
        metrics::counter!("messages_reconciled_total", "outcome" => outcome).increment(1);
        result
    }

    async fn send(&self, message: &OutboundMessage) -> Result<Vec<String>, MessengerError> {
        let span = send_span(&self.0.label());
        let result = self.0.send(message).instrument(span.clone()).await;
        count(&span, result.as_ref().map(|_| ()));
        result
    }
}

/// The span says how the send went, never to whom or what.
fn send_span(channel: &str) -> tracing::Span {
    tracing::info_span!(
        "send",
        otel.name = "send",
        channel = %channel,
        outcome = tracing::field::Empty,
    )
}

fn count(span: &tracing::Span, result: Result<(), &MessengerError>) {
    let outcome = match result {
        Ok(()) => "sent",
        Err(MessengerError::Temporary { .. }) => "temporary_failure",
        Err(MessengerError::Permanent { .. }) => "permanent_failure",
    };
    span.record("outcome", outcome);
    metrics::counter!("messages_sent_total", "outcome" => outcome).increment(1);
}
