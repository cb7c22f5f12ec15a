//! `ScriptedLlm`: an `LlmPort` that replies from a queue and records what it was asked, and what
//! the store held at that moment. Replies may carry tool calls; streamed, a reply is its text in
//! word-sized chunks, then its tool calls, then why it was cut off, if it was.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use futures::StreamExt;
use whatsapp_agent::domain::Message;
use whatsapp_agent::ports::{
    Blob, ChunkStream, LlmChunk, LlmError, LlmPort, LlmReply, LlmRequest, ToolCall,
};

use super::MemoryStore;

pub struct ScriptedLlm {
    store: Arc<MemoryStore>,
    script: Mutex<VecDeque<Result<LlmReply, LlmError>>>,
    calls: Mutex<Vec<Call>>,
}

/// One call the model received.
#[derive(Clone, Debug)]
pub struct Call {
    pub request: LlmRequest,
    /// The store's messages when the model was called.
    pub stored: Vec<Message>,
}

/// A reply that only calls `tool` (with `arguments` as JSON text).
pub fn calls(tool: &str, arguments: &str) -> LlmReply {
    LlmReply {
        tool_calls: vec![ToolCall {
            id: format!("call_{tool}"),
            name: tool.to_string(),
            arguments: arguments.to_string(),
        }],
        ..LlmReply::default()
    }
}

impl ScriptedLlm {
    pub fn new(store: Arc<MemoryStore>, script: Vec<Result<LlmReply, LlmError>>) -> Self {
        Self {
            store,
            script: Mutex::new(script.into()),
            calls: Mutex::new(Vec::new()),
        }
    }

    /// Every call received so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The request of the only call received; fails the test otherwise.
    pub fn only_request(&self) -> LlmRequest {
        let calls = self.calls();
        assert_eq!(calls.len(), 1, "expected exactly one model call");
        calls[0].request.clone()
    }

    fn answer(&self, request: &LlmRequest) -> Result<LlmReply, LlmError> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Call {
                request: request.clone(),
                stored: self.store.messages(),
            });
        self.script
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
            .expect("ScriptedLlm was called more often than scripted")
    }
}

#[async_trait]
impl LlmPort for ScriptedLlm {
    fn label(&self) -> String {
        "scripted".to_string()
    }

    async fn complete(&self, request: &LlmRequest) -> Result<LlmReply, LlmError> {
        self.answer(request)
    }

    async fn stream(&self, request: &LlmRequest) -> Result<ChunkStream, LlmError> {
        let reply = self.answer(request)?;
        let words = reply
            .text
            .split_inclusive(' ')
            .map(|w| Ok(LlmChunk::Text(w.to_string())));
        let tools = reply
            .tool_calls
            .into_iter()
            .map(|c| Ok(LlmChunk::ToolCall(c)));
        let cut = reply.cut_off.map(|c| Ok(LlmChunk::CutOff(c)));
        let chunks: Vec<_> = words.chain(tools).chain(cut).collect();
        Ok(futures::stream::iter(chunks).boxed())
    }

    async fn transcribe(&self, _audio: &Blob) -> Result<String, LlmError> {
        Err(LlmError::Rejected(
            "transcription is not scripted".to_string(),
        ))
    }
}
