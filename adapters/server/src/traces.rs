//! Traces: exported over OTLP only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the standard
//! `OTEL_*` variables configure the exporter); unset, no exporter exists and spans cost what
//! logging costs.
//!
//! A WhatsApp turn is one trace: the webhook that stores the message and the job that answers
//! it later (maybe on another instance) both continue a trace whose id is the inbound
//! message's id, so nothing has to be stored to link them and the trace of a message is found
//! by its id.

use std::sync::{Arc, OnceLock};

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use whatsapp_agent::domain::MessageId;
use whatsapp_agent::inbox::MessageSpan;

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// The OTLP tracer provider, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
///
/// # Errors
/// When the exporter cannot be built from the `OTEL_*` settings.
pub fn provider() -> anyhow::Result<Option<SdkTracerProvider>> {
    let configured = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .is_ok_and(|endpoint| !endpoint.trim().is_empty());
    if !configured {
        return Ok(None);
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name("whatsapp-agent")
                .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
                .build(),
        )
        .build();
    let _ = PROVIDER.set(provider.clone());
    Ok(Some(provider))
}

/// Sends the spans still buffered; called once the server has stopped.
pub fn shutdown() {
    if let Some(provider) = PROVIDER.get() {
        if let Err(error) = provider.shutdown() {
            eprintln!("trace export did not finish: {error}");
        }
    }
}

/// The trace every stage of one inbound message continues: its id is the message's id, under a
/// parent span id derived from it.
fn message_trace(id: MessageId) -> Context {
    let bytes = *id.0.as_bytes();
    let trace_id = TraceId::from_bytes(bytes);
    let mut half = [0u8; 8];
    for (i, b) in bytes.iter().enumerate() {
        half[i % 8] ^= *b;
    }
    if half == [0; 8] {
        half[7] = 1;
    }
    let parent = SpanContext::new(
        trace_id,
        SpanId::from_bytes(half),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    Context::new().with_remote_span_context(parent)
}

/// Spans for the `webhook` and `job` stages of a message, in the message's trace.
pub fn message_span() -> MessageSpan {
    Arc::new(|stage, id| {
        let span = tracing::info_span!(
            "inbound",
            otel.name = stage,
            stage,
            inbound_message = %id,
            conversation = tracing::field::Empty,
            job = tracing::field::Empty,
        );
        // Without an OTLP layer there is no trace to continue, and this does nothing.
        let _ = span.set_parent(message_trace(id));
        span
    })
}
