//! Failures: rate limits, quota, server errors, timeouts and unreachable servers, with the number
//! of attempts each one costs.

use std::time::Duration;

use tokio::time::Instant;
use whatsapp_agent::ports::{Blob, LlmError, LlmPort};

use crate::fake::{self, FakeOpenAi, Reply};
use crate::openai_wire as wire;
use crate::{drain, text_of};

fn rate_limited() -> Reply {
    Reply::json(
        429,
        wire::error_body(
            "Rate limit reached for gpt-4o-mini in organization org-clinica on requests per min \
             (RPM): Limit 3, Used 3, Requested 1. Please try again in 1s.",
            "requests",
            Some("rate_limit_exceeded"),
        ),
    )
    .header("x-ratelimit-limit-requests", "3")
    .header("x-ratelimit-remaining-requests", "0")
    .header("x-ratelimit-reset-requests", "1s")
}

fn quota_exceeded() -> Reply {
    Reply::json(
        429,
        wire::error_body(
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            Some("insufficient_quota"),
        ),
    )
}

#[tokio::test]
async fn a_rate_limit_with_retry_after_is_waited_out_then_retried() {
    let fake = FakeOpenAi::start().await;
    fake.push(rate_limited().header("retry-after", "1"));
    fake.push(Reply::json(200, wire::completion("Listo", 9, 2)));

    let started = Instant::now();
    let reply = fake
        .client()
        .complete(&crate::conversation())
        .await
        .expect("the retry succeeds");
    let waited = started.elapsed();

    assert_eq!(reply.text, "Listo");
    assert_eq!(fake.requests().len(), 2);
    assert!(
        waited >= Duration::from_millis(900),
        "Retry-After: 1 was not honoured; retried after {waited:?}"
    );
}

#[tokio::test]
async fn a_rate_limit_longer_than_allowed_is_returned_without_waiting() {
    let fake = FakeOpenAi::start().await;
    fake.push(rate_limited().header("retry-after", "120"));

    let result = fake
        .client_with(|s| s.max_retry_delay = Duration::from_secs(5))
        .complete(&crate::conversation())
        .await;

    assert_eq!(
        result,
        Err(LlmError::RateLimited {
            retry_after: Some(Duration::from_secs(120))
        })
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_server_error_is_retried() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::json(
        500,
        wire::error_body(
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
        ),
    ));
    fake.push(Reply::json(200, wire::completion("Listo", 9, 2)));

    let reply = fake
        .client()
        .complete(&crate::conversation())
        .await
        .expect("the retry succeeds");

    assert_eq!(reply.text, "Listo");
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn a_stream_request_refused_with_503_is_retried_before_any_text() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::json(
        503,
        wire::error_body(
            "The engine is currently overloaded, please try again later.",
            "server_error",
            None,
        ),
    ));
    fake.push(Reply::sse(wire::text_stream(&["Listo"], 9, 1)));

    let stream = fake
        .client()
        .stream(&crate::conversation())
        .await
        .expect("the retry starts the stream");
    let items = drain(stream).await;

    assert_eq!(text_of(&items), "Listo");
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn retries_stop_after_the_configured_number() {
    let fake = FakeOpenAi::start().await;
    for _ in 0..5 {
        fake.push(Reply::json(
            502,
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        ));
    }

    let result = fake
        .client_with(|s| s.max_retries = 2)
        .complete(&crate::conversation())
        .await;

    assert!(
        matches!(&result, Err(LlmError::Unavailable(detail)) if detail.contains("502")),
        "{result:?}"
    );
    assert_eq!(
        fake.requests().len(),
        3,
        "the first attempt and two retries"
    );
}

#[tokio::test]
async fn an_exhausted_quota_is_rejected_at_once() {
    let fake = FakeOpenAi::start().await;
    fake.push(quota_exceeded());
    fake.push(Reply::json(200, wire::completion("never sent", 1, 1)));

    let result = fake.client().complete(&crate::conversation()).await;

    match &result {
        Err(err @ LlmError::Rejected(detail)) => {
            assert!(!err.is_retryable());
            assert!(detail.contains("insufficient_quota"), "{detail}");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert_eq!(fake.requests().len(), 1, "quota errors are never retried");
}

#[tokio::test]
async fn an_exhausted_quota_rejects_a_stream_at_once() {
    let fake = FakeOpenAi::start().await;
    fake.push(quota_exceeded());
    fake.push(Reply::sse(wire::text_stream(&["never sent"], 1, 1)));

    let result = fake.client().stream(&crate::conversation()).await;

    assert!(
        matches!(&result, Err(LlmError::Rejected(_))),
        "expected Rejected, got {:?}",
        result.as_ref().err()
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_bad_key_is_rejected_at_once() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::json(
        401,
        wire::error_body(
            "Incorrect API key provided: sk-test. You can find your API key at \
             https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            Some("invalid_api_key"),
        ),
    ));

    let result = fake.client().complete(&crate::conversation()).await;

    assert!(
        matches!(&result, Err(LlmError::Rejected(detail)) if detail.contains("invalid_api_key")),
        "{result:?}"
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_server_slower_than_the_request_timeout_times_out() {
    let fake = FakeOpenAi::start().await;
    fake.push(
        Reply::json(200, wire::completion("too late", 1, 1)).delay_headers(Duration::from_secs(30)),
    );
    let client = fake.client_with(|s| {
        s.request_timeout = Duration::from_secs(1);
        s.max_retries = 0;
    });

    let started = Instant::now();
    let result = client.complete(&crate::conversation()).await;
    let waited = started.elapsed();

    assert_eq!(result, Err(LlmError::Timeout));
    assert!(
        waited >= Duration::from_millis(900),
        "gave up after {waited:?}, before the timeout"
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_stream_whose_headers_never_come_times_out() {
    let fake = FakeOpenAi::start().await;
    fake.push(
        Reply::sse(wire::text_stream(&["too late"], 1, 1)).delay_headers(Duration::from_secs(30)),
    );
    let client = fake.client_with(|s| {
        s.request_timeout = Duration::from_secs(1);
        s.max_retries = 0;
    });

    let result = client.stream(&crate::conversation()).await;

    assert!(
        matches!(result, Err(LlmError::Timeout)),
        "expected Timeout, got {:?}",
        result.as_ref().err()
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_after_the_retries() {
    // A port that was free a moment ago: nothing listens there.
    let port = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        listener.local_addr().expect("address").port()
    };
    let mut settings = fake::test_settings(port);
    settings.max_retries = 2;
    settings.retry_base_delay = Duration::from_millis(100);
    let client = fake::client(settings);

    let started = Instant::now();
    let result = client.complete(&crate::conversation()).await;
    let waited = started.elapsed();
    assert!(
        matches!(&result, Err(err @ LlmError::Unavailable(_)) if err.is_retryable()),
        "{result:?}"
    );
    // Two backoffs of at least half of 100 ms and 200 ms: proof the retries happened.
    assert!(
        waited >= Duration::from_millis(140),
        "returned after {waited:?}: the retries did not happen"
    );

    let stream = client.stream(&crate::conversation()).await;
    assert!(
        matches!(&stream, Err(LlmError::Unavailable(_))),
        "{:?}",
        stream.as_ref().err()
    );
    let audio = Blob {
        bytes: b"OggS".to_vec(),
        content_type: "audio/ogg".into(),
        filename: "voice.ogg".into(),
    };
    let transcription = client.transcribe(&audio).await;
    assert!(
        matches!(&transcription, Err(LlmError::Unavailable(_))),
        "{transcription:?}"
    );
}

#[tokio::test]
async fn an_error_response_whose_body_stalls_still_times_out() {
    let fake = FakeOpenAi::start().await;
    // Headers at once, then a body that never finishes.
    fake.push(
        Reply::json(503, "")
            .then_write(Duration::ZERO, r#"{"error":{"message":"#)
            .then_write(Duration::from_secs(3600), r#""overloaded"}}"#),
    );
    let client = fake.client_with(|s| {
        s.request_timeout = Duration::from_secs(1);
        s.max_retries = 0;
    });

    // Only a guard against hanging for an hour; no timing is asserted.
    let result = tokio::time::timeout(
        Duration::from_secs(120),
        client.complete(&crate::conversation()),
    )
    .await
    .expect("the adapter waited on the error body without a timeout");

    assert!(
        matches!(&result, Err(err) if err.is_retryable()),
        "{result:?}"
    );
    assert_eq!(fake.requests().len(), 1);
}
