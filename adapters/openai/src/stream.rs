//! Turns a Chat Completions event stream into `LlmChunk`s.
//!
//! Tolerates what compatible servers do differently: comment and keep-alive lines, events split
//! across network reads (the SSE parser reassembles them), chunks without `id` or `usage`,
//! tool calls sent whole or in fragments. An `error` object inside the stream ends it with a
//! typed error; a `finish_reason` of `length` or `content_filter` says the reply was cut off.

use std::collections::BTreeMap;
use std::time::Duration;

use eventsource_stream::Eventsource;
use futures::stream::BoxStream;
use futures::StreamExt;
use whatsapp_agent::ports::{ChunkStream, LlmChunk, LlmError, ToolCall};

use crate::error::{from_stream_error, from_transport};
use crate::wire::{WireCompletion, WireToolCall};

/// Tool-call fragments, assembled per `index`.
#[derive(Default)]
struct ToolCalls {
    calls: BTreeMap<usize, ToolCall>,
}

impl ToolCalls {
    fn add(&mut self, position: usize, fragment: WireToolCall) {
        let index = fragment.index.unwrap_or(position);
        let call = self.calls.entry(index).or_insert_with(|| ToolCall {
            id: String::new(),
            name: String::new(),
            arguments: String::new(),
        });
        if let Some(id) = fragment.id.filter(|id| !id.is_empty()) {
            call.id = id;
        }
        if let Some(function) = fragment.function {
            if let Some(name) = function.name.filter(|n| !n.is_empty()) {
                call.name = name;
            }
            if let Some(arguments) = function.arguments {
                call.arguments.push_str(&arguments);
            }
        }
    }

    fn drain(&mut self) -> Vec<LlmChunk> {
        std::mem::take(&mut self.calls)
            .into_iter()
            .map(|(index, mut call)| {
                if call.id.is_empty() {
                    call.id = format!("call_{index}");
                }
                LlmChunk::ToolCall(call)
            })
            .collect()
    }
}

type Events = BoxStream<
    'static,
    Result<eventsource_stream::Event, eventsource_stream::EventStreamError<BodyError>>,
>;

/// A failure reading the response body.
#[derive(Debug, thiserror::Error)]
enum BodyError {
    #[error(transparent)]
    Transport(#[from] reqwest::Error),
    #[error("no data within the idle timeout")]
    Idle,
}

/// The body's bytes, failing with `Idle` after a silence longer than `idle`. Any bytes count as
/// activity, including keep-alive comments, which the SSE parser drops before we see them.
fn idle_guarded(
    response: reqwest::Response,
    idle: Duration,
) -> impl futures::Stream<Item = Result<impl AsRef<[u8]>, BodyError>> + Send + 'static {
    let body = response.bytes_stream().boxed();
    futures::stream::unfold((body, false), move |(mut body, done)| async move {
        if done {
            return None;
        }
        match tokio::time::timeout(idle, body.next()).await {
            Err(_) => Some((Err(BodyError::Idle), (body, true))),
            Ok(None) => None,
            Ok(Some(item)) => Some((item.map_err(BodyError::Transport), (body, false))),
        }
    })
}

struct State {
    events: Events,
    tools: ToolCalls,
    pending: std::collections::VecDeque<Result<LlmChunk, LlmError>>,
    finished: bool,
    saw_finish_reason: bool,
}

/// Parses the body of a streaming response.
pub fn parse(response: reqwest::Response, idle: Duration) -> ChunkStream {
    let events = idle_guarded(response, idle).eventsource().boxed();
    let state = State {
        events,
        tools: ToolCalls::default(),
        pending: std::collections::VecDeque::new(),
        finished: false,
        saw_finish_reason: false,
    };
    futures::stream::unfold(state, |mut state| async move {
        loop {
            if let Some(item) = state.pending.pop_front() {
                return Some((item, state));
            }
            if state.finished {
                return None;
            }
            match state.events.next().await {
                None => {
                    state.finished = true;
                    let calls = state.tools.drain();
                    if calls.is_empty() && !state.saw_finish_reason {
                        return Some((
                            Err(LlmError::Unavailable(
                                "stream ended before the reply was complete".into(),
                            )),
                            state,
                        ));
                    }
                    state.pending.extend(calls.into_iter().map(Ok));
                }
                Some(Err(err)) => {
                    state.finished = true;
                    let error = match err {
                        eventsource_stream::EventStreamError::Transport(BodyError::Idle) => {
                            LlmError::Timeout
                        }
                        eventsource_stream::EventStreamError::Transport(BodyError::Transport(
                            e,
                        )) => from_transport(&e),
                        other => LlmError::BadResponse(other.to_string()),
                    };
                    return Some((Err(error), state));
                }
                Some(Ok(event)) => handle(&mut state, &event.data),
            }
        }
    })
    .boxed()
}

fn handle(state: &mut State, data: &str) {
    let data = data.trim();
    if data.is_empty() {
        return;
    }
    if data == "[DONE]" {
        state.finished = true;
        state.saw_finish_reason = true;
        let calls = state.tools.drain();
        state.pending.extend(calls.into_iter().map(Ok));
        return;
    }
    let chunk: WireCompletion = match serde_json::from_str(data) {
        Ok(chunk) => chunk,
        Err(err) => {
            state.finished = true;
            state.pending.push_back(Err(LlmError::BadResponse(format!(
                "unreadable stream chunk: {err}"
            ))));
            return;
        }
    };
    if let Some(error) = chunk.error.as_ref().filter(|e| !e.is_null()) {
        state.finished = true;
        state.pending.push_back(Err(from_stream_error(error)));
        return;
    }
    for choice in chunk.choices {
        if let Some(delta) = choice.delta.or(choice.message) {
            if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
                state.pending.push_back(Ok(LlmChunk::Text(text)));
            }
            if let Some(text) = delta.refusal.filter(|t| !t.is_empty()) {
                state.pending.push_back(Ok(LlmChunk::Text(text)));
            }
            for (position, fragment) in delta.tool_calls.unwrap_or_default().into_iter().enumerate()
            {
                state.tools.add(position, fragment);
            }
        }
        if choice.finish_reason.is_some() {
            state.saw_finish_reason = true;
            let calls = state.tools.drain();
            state.pending.extend(calls.into_iter().map(Ok));
            if let Some(cut) = crate::wire::cut_off(choice.finish_reason.as_deref()) {
                state.pending.push_back(Ok(LlmChunk::CutOff(cut)));
            }
        }
    }
    if let Some(usage) = chunk.usage {
        state.pending.push_back(Ok(LlmChunk::Usage(usage.into())));
    }
}
