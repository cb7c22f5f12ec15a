//! `TracedTurnStore`: a span per store transaction of a turn (`store accept`, `store finish`),
//! around any `TurnStore`, with the conversation id once known.

use std::sync::Arc;

use async_trait::async_trait;
use tracing::Instrument;
use whatsapp_agent::domain::Message;
use whatsapp_agent::ports::{
    AcceptError, Accepted, Arrival, Finish, FinishError, StoreError, TurnStore,
};

pub struct TracedTurnStore(pub Arc<dyn TurnStore>);

fn transaction_span(name: &'static str) -> tracing::Span {
    tracing::info_span!(
        "store",
        otel.name = name,
        conversation = tracing::field::Empty,
        outcome = tracing::field::Empty,
    )
}

#[async_trait]
impl TurnStore for TracedTurnStore {
    async fn accept(&self, arrival: &Arrival) -> Result<Accepted, AcceptError> {
        let span = transaction_span("store accept");
        let result = self.0.accept(arrival).instrument(span.clone()).await;
        match &result {
            Ok(accepted) => {
                span.record(
                    "conversation",
                    tracing::field::display(accepted.conversation.id),
                );
                span.record("outcome", "ok");
            }
            Err(_) => {
                span.record("outcome", "error");
            }
        }
        result
    }

    async fn finish(&self, finish: &Finish) -> Result<Option<Message>, FinishError> {
        let span = transaction_span("store finish");
        span.record("conversation", tracing::field::display(finish.conversation));
        let result = self.0.finish(finish).instrument(span.clone()).await;
        span.record("outcome", if result.is_ok() { "ok" } else { "error" });
        result
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.0.ping().await
    }
}
