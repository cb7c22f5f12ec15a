//! Logging setup: human-readable or JSON lines, level from settings or `RUST_LOG`; and the
//! layer that turns the core's red-flag events into metrics, whatever the log level.

use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::metrics::RedFlagCounter;
use crate::settings::{LogFormat, LogSettings};

/// The metrics layer sees the core's warnings only, so nothing else is built for it.
fn metrics_layer<S>() -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    RedFlagCounter.with_filter(Targets::new().with_target("whatsapp_agent", Level::WARN))
}

/// Installs the global subscriber. `RUST_LOG`, when set, overrides the configured level.
/// Safe to call more than once (later calls are ignored), which tests rely on. With
/// `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans are exported over OTLP too (see `traces`).
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // Database drivers log every statement at info; keep them quiet unless asked.
    let filter = filter
        .add_directive("sqlx=warn".parse().expect("static directive"))
        .add_directive("sea_orm=warn".parse().expect("static directive"));
    let logs = match settings.format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer().boxed(),
    };
    let traces = match crate::traces::provider() {
        Ok(Some(provider)) => {
            use opentelemetry::trace::TracerProvider as _;
            let tracer = provider.tracer("whatsapp-agent");
            // The service's own spans; drivers' and frameworks' stay out of traces.
            let ours = Targets::new()
                .with_target("whatsapp_agent", Level::INFO)
                .with_target("wa_", Level::INFO);
            Some(
                tracing_opentelemetry::layer()
                    .with_tracer(tracer)
                    .with_filter(ours),
            )
        }
        Ok(None) => None,
        Err(error) => {
            eprintln!("traces are not exported: {error}");
            None
        }
    };
    let _ = tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(metrics_layer())
        .with(traces)
        .try_init();
}

/// Installs a subscriber that logs nothing and only feeds metrics (tests, embedders). Ignored
/// when a subscriber is already installed.
pub fn init_metrics_only() {
    let _ = tracing_subscriber::registry()
        .with(metrics_layer())
        .try_init();
}
