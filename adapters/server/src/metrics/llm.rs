//! `MeteredLlm`: counts, times and traces every model call around any `LlmPort`.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use futures::{Stream, StreamExt};
use tracing::Instrument;
use whatsapp_agent::ports::{
    Blob, ChunkStream, LlmChunk, LlmError, LlmPort, LlmReply, LlmRequest, Usage,
};

pub struct MeteredLlm(pub Arc<dyn LlmPort>);

fn outcome(error: Option<&LlmError>) -> &'static str {
    match error {
        None => "ok",
        Some(LlmError::Unavailable(_)) => "unavailable",
        Some(LlmError::RateLimited { .. }) => "rate_limited",
        Some(LlmError::Timeout) => "timeout",
        Some(LlmError::Rejected(_)) => "rejected",
        Some(LlmError::BadResponse(_)) => "bad_response",
    }
}

fn record(operation: &'static str, error: Option<&LlmError>, started: Instant) {
    let labels = [("operation", operation), ("outcome", outcome(error))];
    metrics::counter!("llm_requests_total", &labels).increment(1);
    metrics::histogram!("llm_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
}

/// The span of one model call: which call, and how it ended (never the prompt or the reply).
fn model_span(operation: &'static str) -> tracing::Span {
    tracing::info_span!(
        "model",
        otel.name = format!("model {operation}"),
        operation,
        outcome = tracing::field::Empty,
    )
}

fn tokens(usage: Usage) {
    metrics::counter!("llm_tokens_total", "kind" => "prompt")
        .increment(u64::from(usage.prompt_tokens));
    metrics::counter!("llm_tokens_total", "kind" => "completion")
        .increment(u64::from(usage.completion_tokens));
}

#[async_trait]
impl LlmPort for MeteredLlm {
    fn label(&self) -> String {
        self.0.label()
    }

    async fn complete(&self, request: &LlmRequest) -> Result<LlmReply, LlmError> {
        let started = Instant::now();
        let span = model_span("complete");
        let result = self.0.complete(request).instrument(span.clone()).await;
        span.record("outcome", outcome(result.as_ref().err()));
        record("complete", result.as_ref().err(), started);
        if let Some(usage) = result.as_ref().ok().and_then(|r| r.usage) {
            tokens(usage);
        }
        result
    }

    async fn stream(&self, request: &LlmRequest) -> Result<ChunkStream, LlmError> {
        let started = Instant::now();
        // The span covers the request up to its first byte; the reply streams into the turn.
        let span = model_span("stream");
        let stream = match self.0.stream(request).instrument(span.clone()).await {
            Ok(stream) => stream,
            Err(error) => {
                span.record("outcome", outcome(Some(&error)));
                record("stream", Some(&error), started);
                return Err(error);
            }
        };
        span.record("outcome", "started");
        Ok(Box::pin(MeteredStream {
            inner: stream,
            started,
            error: None,
            recorded: false,
        }))
    }

    async fn transcribe(&self, audio: &Blob) -> Result<String, LlmError> {
        let span = model_span("transcribe");
        let result = self.0.transcribe(audio).instrument(span.clone()).await;
        span.record("outcome", outcome(result.as_ref().err()));
        metrics::counter!(
            "llm_transcriptions_total",
            "outcome" => outcome(result.as_ref().err())
        )
        .increment(1);
        result
    }
}

/// A reply stream that records its call when it ends: the outcome is its error item, if any.
struct MeteredStream {
    inner: ChunkStream,
    started: Instant,
    error: Option<LlmError>,
    recorded: bool,
}

impl Stream for MeteredStream {
    type Item = Result<LlmChunk, LlmError>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let polled = self.inner.poll_next_unpin(cx);
        match &polled {
            std::task::Poll::Ready(Some(Ok(LlmChunk::Usage(usage)))) => tokens(*usage),
            std::task::Poll::Ready(Some(Err(error))) => self.error = Some(error.clone()),
            std::task::Poll::Ready(None) if !self.recorded => {
                self.recorded = true;
                record("stream", self.error.as_ref(), self.started);
            }
            _ => {}
        }
        polled
    }
}

impl Drop for MeteredStream {
    fn drop(&mut self) {
        // Dropped before its end: the turn stopped reading (an error item ends a turn too).
        if !self.recorded {
            record("stream", self.error.as_ref(), self.started);
        }
    }
}
