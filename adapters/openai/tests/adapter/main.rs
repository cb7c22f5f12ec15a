//! The OpenAI-compatible adapter against an in-process fake OpenAI server: what it sends, what it
//! returns, how it retries and fails.

mod completion;
mod cut_off;
mod failures;
mod fake;
mod llama_cpp_python;
mod media;
mod openai_wire;
mod refusals;
mod schema;
mod streaming;
mod tools;

use futures::StreamExt;
use whatsapp_agent::ports::{ChunkStream, LlmChunk, LlmError, LlmMessage, LlmRequest};

/// Every item of a stream, until it ends.
pub async fn drain(mut stream: ChunkStream) -> Vec<Result<LlmChunk, LlmError>> {
    let mut items = Vec::new();
    while let Some(item) = stream.next().await {
        items.push(item);
    }
    items
}

/// The text chunks of `items`, concatenated.
pub fn text_of(items: &[Result<LlmChunk, LlmError>]) -> String {
    items
        .iter()
        .filter_map(|item| match item {
            Ok(LlmChunk::Text(text)) => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

/// A short conversation: two past turns, then the new user turn.
pub fn conversation() -> LlmRequest {
    LlmRequest::new(
        "Eres la recepcionista de la Clínica Sol.",
        vec![
            LlmMessage::user("Hola"),
            LlmMessage::assistant("¡Hola! ¿En qué puedo ayudarte?"),
            LlmMessage::user("Quiero pedir una cita para mañana"),
        ],
    )
}
