//! `OfflineLlm`: a deterministic stand-in for a language model.

use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use whatsapp_agent::ports::{
    Blob, ChunkStream, LlmChunk, LlmError, LlmPort, LlmReply, LlmRequest, Role,
};

/// Every offline reply starts with this label, so nobody mistakes it for a real model.
pub const OFFLINE_PREFIX: &str = "[offline]";

/// Echoes the user's last message. Streams word by word with a fixed delay so streaming can be
/// watched locally.
#[derive(Clone, Debug, Default)]
pub struct OfflineLlm {
    word_delay: Duration,
}

impl OfflineLlm {
    pub fn new(word_delay: Duration) -> Self {
        Self { word_delay }
    }

    /// The reply for a request: the last user text, how much history came with it, and how many
    /// images the turn carried.
    pub fn reply_for(request: &LlmRequest) -> String {
        let last = request.messages.last();
        let text = last
            .filter(|m| m.role == Role::User)
            .map(|m| m.text.trim())
            .unwrap_or_default();
        let earlier = request.messages.len().saturating_sub(1);
        let images = last.map_or(0, |m| m.images.len());
        format!(
            "{OFFLINE_PREFIX} You said: \"{text}\". (local echo model; {earlier} earlier messages in context, {images} images)"
        )
    }
}

/// Splits a reply into word-sized deltas that concatenate back to it exactly.
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for ch in text.chars() {
        if ch.is_whitespace() && !current.trim().is_empty() {
            out.push(std::mem::take(&mut current));
        }
        current.push(ch);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[async_trait]
impl LlmPort for OfflineLlm {
    fn label(&self) -> String {
        "offline".to_string()
    }

    async fn complete(&self, request: &LlmRequest) -> Result<LlmReply, LlmError> {
        Ok(LlmReply::text(Self::reply_for(request)))
    }

    async fn stream(&self, request: &LlmRequest) -> Result<ChunkStream, LlmError> {
        let delay = self.word_delay;
        let deltas = words(&Self::reply_for(request));
        let stream = futures::stream::iter(deltas).then(move |word| async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Ok(LlmChunk::Text(word))
        });
        Ok(stream.boxed())
    }

    /// No speech model offline: the "transcript" only says what was received.
    async fn transcribe(&self, audio: &Blob) -> Result<String, LlmError> {
        Ok(format!(
            "{OFFLINE_PREFIX} voice note of {} bytes ({})",
            audio.bytes.len(),
            audio.content_type
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use whatsapp_agent::ports::LlmMessage;

    fn request(text: &str) -> LlmRequest {
        LlmRequest::new(
            "persona",
            vec![LlmMessage::assistant("earlier"), LlmMessage::user(text)],
        )
    }

    #[tokio::test]
    async fn reply_is_labelled_and_echoes_the_input() {
        let reply = OfflineLlm::default()
            .complete(&request("héllo there"))
            .await;
        let text = reply.expect("offline never fails").text;
        assert!(text.starts_with("[offline]"));
        assert!(text.contains("héllo there"));
        assert!(text.contains("1 earlier messages"));
    }

    #[tokio::test]
    async fn stream_is_word_by_word_and_adds_up_to_the_whole_reply() {
        let llm = OfflineLlm::default();
        let whole = llm.complete(&request("a  b")).await.expect("reply").text;
        let deltas: Vec<String> = llm
            .stream(&request("a  b"))
            .await
            .expect("stream")
            .map(|d| match d.expect("delta") {
                LlmChunk::Text(text) => text,
                other => panic!("unexpected {other:?}"),
            })
            .collect()
            .await;
        assert!(deltas.len() > 3);
        assert_eq!(deltas.concat(), whole);
    }
}
