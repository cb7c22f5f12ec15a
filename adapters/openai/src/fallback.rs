//! Streamed requests with tools that a server cannot stream. Some servers fail them only once
//! the model picks a tool, after the `200 text/event-stream` headers are out: they send an error
//! event, or close the stream empty. Such a request is made again without streaming and the
//! answer streamed in one piece, so the user still gets a reply (see
//! [`OpenAiClient::answer_whole`](crate::OpenAiClient)).

use futures::StreamExt;
use whatsapp_agent::ports::{ChunkStream, LlmChunk, LlmError, LlmReply, LlmRequest};

use crate::OpenAiClient;

/// A whole reply as a stream: its text in one piece, its tool calls, why it was cut off, if it
/// was, and its usage.
pub fn whole_as_stream(reply: LlmReply) -> ChunkStream {
    let text = Some(reply.text)
        .filter(|t| !t.is_empty())
        .map(LlmChunk::Text);
    let calls = reply.tool_calls.into_iter().map(LlmChunk::ToolCall);
    let cut = reply.cut_off.map(LlmChunk::CutOff);
    let usage = reply.usage.map(LlmChunk::Usage);
    let chunks: Vec<_> = text
        .into_iter()
        .chain(calls)
        .chain(cut)
        .chain(usage)
        .map(Ok)
        .collect();
    futures::stream::iter(chunks).boxed()
}

/// Whether a streamed request that did not start failed because the server refused it (a
/// status it answered with), rather than for reasons asking again cannot help: the connection,
/// the time, the rate limit, the key or the account.
pub fn server_refused(error: &LlmError) -> bool {
    let detail = match error {
        LlmError::Rejected(detail) | LlmError::Unavailable(detail) => detail,
        LlmError::Timeout | LlmError::RateLimited { .. } | LlmError::BadResponse(_) => {
            return false
        }
    };
    // Statuses come as "HTTP <status>…"; failures to connect carry no status.
    detail.starts_with("HTTP ")
        && !["HTTP 401", "HTTP 403", "HTTP 429"]
            .iter()
            .any(|account| detail.starts_with(account))
}

/// Whether a failure after the server answered, but before any reply, may not recur when the
/// request is made whole: anything but running out of time or into the rate limit.
pub fn may_work_whole(error: &LlmError) -> bool {
    !matches!(error, LlmError::Timeout | LlmError::RateLimited { .. })
}

/// `events` as they come, unless they fail before the first piece of reply (text, a tool call
/// or a cut-off): then the request is asked again whole and that answer follows instead. Runs
/// lazily, inside the stream, so the caller starts relaying (and keeping its client alive)
/// while the model thinks.
pub fn guard(mut events: ChunkStream, client: OpenAiClient, request: LlmRequest) -> ChunkStream {
    futures::stream::once(async move {
        let mut head = Vec::new();
        let failure = loop {
            match events.next().await {
                Some(Ok(LlmChunk::Usage(usage))) => head.push(Ok(LlmChunk::Usage(usage))),
                Some(Ok(first)) => {
                    head.push(Ok(first));
                    return futures::stream::iter(head).chain(events).boxed();
                }
                Some(Err(error)) if may_work_whole(&error) => break error,
                Some(Err(error)) => {
                    head.push(Err(error));
                    return futures::stream::iter(head).boxed();
                }
                None => break LlmError::BadResponse("the stream ended without any reply".into()),
            }
        };
        match client.answer_whole(&request, failure).await {
            Ok(answer) => answer,
            Err(error) => futures::stream::iter([Err(error)]).boxed(),
        }
    })
    .flatten()
    .boxed()
}
