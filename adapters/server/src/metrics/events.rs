//! Counters for what the core reports only as tracing events: red flags, with their category.
//! The core stays free of any metrics dependency; this layer reads its events.

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// The message of the core's red-flag event (`src/chat/opening.rs`); its `reason` field is
/// the category.
const RED_FLAG_EVENT: &str = "red flag; fixed reply";

/// Counts `red_flags_total{category}` from the core's red-flag events.
pub struct RedFlagCounter;

#[derive(Default)]
struct RedFlag {
    message: bool,
    reason: Option<String>,
}

impl Visit for RedFlag {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "reason" {
            self.reason = Some(value.to_string());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}") == RED_FLAG_EVENT,
            "reason" => self.reason = Some(format!("{value:?}")),
            _ => {}
        }
    }
}

impl<S: Subscriber> Layer<S> for RedFlagCounter {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if !event.metadata().target().starts_with("whatsapp_agent") {
            return;
        }
        let mut seen = RedFlag::default();
        event.record(&mut seen);
        if let (true, Some(category)) = (seen.message, seen.reason) {
            metrics::counter!("red_flags_total", "category" => category).increment(1);
        }
    }
}
