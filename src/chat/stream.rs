//! Streamed turns: the reply is produced by a driver future that the caller runs on its own
//! task, so a client that leaves mid-stream does not stop the generation or lose the reply.

use futures::channel::mpsc;
use futures::future::BoxFuture;
use futures::{FutureExt, SinkExt, StreamExt};
use tracing::instrument;

use crate::domain::{Message, User};
use crate::ports::{ChunkStream, LlmChunk};

use super::{ChatError, ChatService, TurnOutcome};

/// How many deltas may wait for a slow client before generation pauses.
const BUFFERED_DELTAS: usize = 64;

/// What a streaming client sees, in order: deltas, then exactly one `Finished` or `Interrupted`.
#[derive(Debug)]
pub enum StreamEvent {
    /// A piece of the reply text.
    Delta(String),
    /// The reply is complete and stored.
    Finished(TurnOutcome),
    /// The reply stopped early. What was generated is stored in `partial`, marked with the
    /// error; the incoming message is stored either way.
    Interrupted {
        error: ChatError,
        user: User,
        incoming: Message,
        partial: Option<Message>,
    },
}

/// A reply in progress. Run `driver` to completion on a task of its own and read `events`.
/// Dropping `events` (the client left) lets the driver finish and store the reply regardless.
pub struct ReplyStream {
    pub events: mpsc::Receiver<StreamEvent>,
    pub driver: BoxFuture<'static, ()>,
}

impl ChatService {
    /// Starts answering a stored incoming message as a stream. Returns once the model has
    /// accepted the request, so a model that is down fails here, before any byte is streamed.
    ///
    /// # Errors
    /// [`ChatError::Llm`] when the model refuses to start; the incoming message stays stored.
    pub async fn start_stream(
        &self,
        user: User,
        incoming: Message,
    ) -> Result<ReplyStream, ChatError> {
        let (incoming, request) = self.prompt_for(&user, incoming).await?;
        let deltas = self
            .llm()
            .stream(&request)
            .await
            .map_err(|source| ChatError::Llm {
                source,
                incoming: incoming.id,
            })?;
        let (tx, events) = mpsc::channel(BUFFERED_DELTAS);
        let service = self.clone();
        let driver = async move { service.drive(user, incoming, deltas, tx).await }.boxed();
        Ok(ReplyStream { events, driver })
    }

    #[instrument(skip_all, fields(incoming = %incoming.id))]
    async fn drive(
        self,
        user: User,
        incoming: Message,
        mut deltas: ChunkStream,
        tx: mpsc::Sender<StreamEvent>,
    ) {
        let mut client = Some(tx);
        let mut text = String::new();
        let mut failure = None;
        while let Some(item) = deltas.next().await {
            match item {
                // Tool calls are the agent's business; usage is not shown to clients.
                Ok(LlmChunk::ToolCall(_) | LlmChunk::Usage(_)) => {}
                Ok(LlmChunk::Text(delta)) if delta.is_empty() => {}
                Ok(LlmChunk::Text(delta)) => {
                    text.push_str(&delta);
                    if let Some(sink) = client.as_mut() {
                        if sink.send(StreamEvent::Delta(delta)).await.is_err() {
                            tracing::info!("client left mid-stream; generation continues");
                            client = None;
                        }
                    }
                }
                Err(err) => {
                    failure = Some(err);
                    break;
                }
            }
        }
        let last = match failure {
            None => match self.store_reply(&user, incoming.channel, text, None).await {
                Ok(outgoing) => StreamEvent::Finished(TurnOutcome {
                    user,
                    incoming,
                    outgoing,
                }),
                Err(error) => {
                    tracing::error!(%error, "streamed reply could not be stored");
                    StreamEvent::Interrupted {
                        error,
                        user,
                        incoming,
                        partial: None,
                    }
                }
            },
            Some(source) => {
                tracing::warn!(error = %source, chars = text.len(), "model failed mid-stream");
                let partial = if text.is_empty() {
                    None
                } else {
                    let mark = Some(format!("interrupted: {source}"));
                    match self.store_reply(&user, incoming.channel, text, mark).await {
                        Ok(message) => Some(message),
                        Err(error) => {
                            tracing::error!(%error, "partial reply could not be stored");
                            None
                        }
                    }
                };
                StreamEvent::Interrupted {
                    error: ChatError::Llm {
                        source,
                        incoming: incoming.id,
                    },
                    user,
                    incoming,
                    partial,
                }
            }
        };
        if let Some(mut sink) = client {
            let _ = sink.send(last).await;
        }
    }
}
