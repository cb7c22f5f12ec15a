//! Streamed replies: text pieces, usage, awkward framing, errors and silence mid-stream.

use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;
use whatsapp_agent::ports::{LlmChunk, LlmError, LlmPort, Usage};

use crate::fake::{FakeOpenAi, Reply};
use crate::openai_wire as wire;
use crate::{drain, text_of};

#[tokio::test]
async fn a_stream_yields_the_whole_text_then_usage() {
    let fake = FakeOpenAi::start().await;
    let pieces = ["Claro", ", ¿a qué", " hora", " te viene", " bien?"];
    fake.push(Reply::sse(wire::text_stream(&pieces, 57, 11)));

    let stream = fake
        .client()
        .stream(&crate::conversation())
        .await
        .expect("the stream starts");
    let items = drain(stream).await;

    assert!(
        items.iter().all(Result::is_ok),
        "no errors expected: {items:?}"
    );
    assert_eq!(text_of(&items), "Claro, ¿a qué hora te viene bien?");
    let texts = items
        .iter()
        .filter(|i| matches!(i, Ok(LlmChunk::Text(_))))
        .count();
    assert_eq!(texts, pieces.len(), "one text chunk per delta: {items:?}");
    assert_eq!(
        items.last(),
        Some(&Ok(LlmChunk::Usage(Usage {
            prompt_tokens: 57,
            completion_tokens: 11
        }))),
        "usage comes last: {items:?}"
    );

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(sent.header("accept"), Some("text/event-stream"));
    let body = sent.json();
    assert_eq!(body["stream"], json!(true));
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["messages"].as_array().map(Vec::len), Some(4));
}

#[tokio::test]
async fn without_stream_usage_the_option_is_not_sent_and_no_usage_is_needed() {
    let fake = FakeOpenAi::start().await;
    let mut writes = wire::text_stream(&["Hola"], 0, 0);
    writes.remove(writes.len() - 2); // no usage chunk
    fake.push(Reply::sse(writes));

    let stream = fake
        .client_with(|s| s.stream_usage = false)
        .stream(&crate::conversation())
        .await
        .expect("the stream starts");
    let items = drain(stream).await;

    assert_eq!(items, vec![Ok(LlmChunk::Text("Hola".into()))]);
    let body = fake.requests()[0].json();
    assert_eq!(body["stream"], json!(true));
    assert!(body.get("stream_options").is_none(), "{body}");
}

#[tokio::test]
async fn events_and_characters_split_across_writes_comments_and_sparse_chunks_still_parse() {
    let fake = FakeOpenAi::start().await;
    let first = wire::event(&wire::text_chunk("Mañana tenemos hueco")).into_bytes();
    // Cut inside the JSON, between the two bytes of "ñ".
    let cut = 1 + first
        .windows(2)
        .position(|w| w == "ñ".as_bytes())
        .expect("in the chunk");
    let (first_head, first_tail) = first.split_at(cut);
    // A chunk as some compatible servers send it: no id, no usage, no logprobs.
    let sparse = r#"{"object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":" a las 10:00"},"finish_reason":null}]}"#;
    let finish = wire::event(&wire::finish_chunk("stop"));
    let (finish_head, finish_tail) = finish.split_at(finish.len() - 1);
    let writes: Vec<Vec<u8>> = vec![
        b": keep-alive\n\n".to_vec(),
        [wire::event(&wire::role_chunk()).as_bytes(), first_head].concat(),
        // The rest of that line, then the next event cut right after its field name.
        [first_tail, b"data:"].concat(),
        format!(" {sparse}\n\n: keep-alive\n").into_bytes(),
        format!("\n{}", wire::event(&wire::text_chunk(" y a las 12:30."))).into_bytes(),
        finish_head.into(),
        format!("{finish_tail}data: [DO").into_bytes(),
        b"NE]\n\n".to_vec(),
    ];
    fake.push(Reply::sse(writes));

    let stream = fake
        .client()
        .stream(&crate::conversation())
        .await
        .expect("the stream starts");
    let items = drain(stream).await;

    assert!(
        items.iter().all(Result::is_ok),
        "no errors expected: {items:?}"
    );
    assert_eq!(
        text_of(&items),
        "Mañana tenemos hueco a las 10:00 y a las 12:30."
    );
    assert!(
        !items.iter().any(|i| matches!(i, Ok(LlmChunk::Usage(_)))),
        "the server sent no usage: {items:?}"
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn an_error_event_mid_stream_ends_it_with_a_retryable_error_after_the_text() {
    let fake = FakeOpenAi::start().await;
    let error = wire::error_body(
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        None,
    );
    fake.push(Reply::sse(vec![
        wire::event(&wire::role_chunk()),
        wire::event(&wire::text_chunk("Déjame ")),
        wire::event(&wire::text_chunk("revisar la agenda")),
        wire::event(&error),
    ]));

    let stream = fake
        .client()
        .stream(&crate::conversation())
        .await
        .expect("the stream starts");
    let items = drain(stream).await;

    assert_eq!(items.len(), 3, "two pieces then the error: {items:?}");
    assert_eq!(items[0], Ok(LlmChunk::Text("Déjame ".into())));
    assert_eq!(items[1], Ok(LlmChunk::Text("revisar la agenda".into())));
    match &items[2] {
        Err(err @ LlmError::Unavailable(detail)) => {
            assert!(err.is_retryable());
            assert!(
                detail.contains("The server had an error"),
                "the server's message is kept: {detail}"
            );
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_eq!(
        fake.requests().len(),
        1,
        "a stream is never retried once text has flowed"
    );
}

#[tokio::test]
async fn a_stream_cut_before_it_finished_ends_with_an_error() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::sse(vec![
        wire::event(&wire::role_chunk()),
        wire::event(&wire::text_chunk("Tenemos hueco")),
    ]));

    let stream = fake
        .client()
        .stream(&crate::conversation())
        .await
        .expect("the stream starts");
    let items = drain(stream).await;

    assert_eq!(
        items.first(),
        Some(&Ok(LlmChunk::Text("Tenemos hueco".into())))
    );
    assert!(
        matches!(items.last(), Some(Err(err)) if err.is_retryable()),
        "a truncated stream is not a complete reply: {items:?}"
    );
    assert_eq!(items.len(), 2);
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_stream_that_goes_silent_ends_with_a_timeout() {
    let fake = FakeOpenAi::start().await;
    fake.push(
        Reply::sse(vec![
            wire::event(&wire::role_chunk()),
            wire::event(&wire::text_chunk("Un momento")),
        ])
        // Far beyond the idle limit; the test ends long before this is written.
        .then_write(Duration::from_secs(600), wire::DONE),
    );
    let client = fake.client_with(|s| {
        s.request_timeout = Duration::from_secs(2);
        s.idle_stream_timeout = Duration::from_secs(1);
    });

    let stream = client
        .stream(&crate::conversation())
        .await
        .expect("the stream starts");
    let started = Instant::now();
    let items = drain(stream).await;
    let waited = started.elapsed();

    assert_eq!(
        items,
        vec![
            Ok(LlmChunk::Text("Un momento".into())),
            Err(LlmError::Timeout)
        ]
    );
    assert!(
        waited >= Duration::from_millis(900),
        "gave up after {waited:?}, before the idle limit"
    );
    assert_eq!(fake.requests().len(), 1, "a stream is not retried");
}

#[tokio::test]
async fn keep_alive_comments_keep_a_slow_stream_open() {
    let fake = FakeOpenAi::start().await;
    let mut reply = Reply::sse(vec![wire::event(&wire::role_chunk())]);
    // Three seconds of comments only, each well inside the one-second idle limit.
    for _ in 0..10 {
        reply = reply.then_write(Duration::from_millis(300), ": keep-alive\n\n");
    }
    fake.push(
        reply
            .then_write(
                Duration::from_millis(10),
                wire::event(&wire::text_chunk("Listo")),
            )
            .then_write(Duration::from_millis(10), wire::DONE),
    );
    let client = fake.client_with(|s| s.idle_stream_timeout = Duration::from_secs(1));

    let stream = client
        .stream(&crate::conversation())
        .await
        .expect("the stream starts");
    let items = drain(stream).await;

    assert_eq!(items, vec![Ok(LlmChunk::Text("Listo".into()))]);
}
