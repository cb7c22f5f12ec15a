//! Streamed turns: the reply is produced by a driver future that the caller runs on its own
//! task, so a client that leaves mid-stream does not stop the generation or lose the reply.
//!
//! Hand-offs happen inside the driver: tool calls are never shown, and when a reply hands the
//! conversation on, the next agent's reply streams on in the same event stream.

use futures::channel::mpsc;
use futures::future::BoxFuture;
use futures::{FutureExt, SinkExt, StreamExt};
use tracing::instrument;

use crate::agent::{self, AgentProfile};
use crate::domain::{Conversation, Message, User};
use crate::ports::{ChunkStream, CutOff, LlmChunk, LlmError};

use super::cut_off;
use super::handoff::{Answer, Next};
use super::opening::Opening;
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

/// The state of a streamed turn that the driver carries from one agent to the next.
struct Turn {
    user: User,
    incoming: Message,
    conversation: Conversation,
    history: Vec<Message>,
    images: Vec<String>,
}

/// The client end of the stream; gone once the client left.
struct Client(Option<mpsc::Sender<StreamEvent>>);

impl Client {
    async fn send(&mut self, event: StreamEvent) {
        if let Some(sink) = self.0.as_mut() {
            if sink.send(event).await.is_err() {
                tracing::info!("client left mid-stream; generation continues");
                self.0 = None;
            }
        }
    }
}

impl ChatService {
    /// Starts answering a stored incoming message as a stream. Returns once the model has
    /// accepted the request, so a model that is down fails here, before any byte is streamed.
    /// Fixed replies and silence need no model: they are stored before this returns.
    ///
    /// # Errors
    /// [`ChatError::Llm`] when the model refuses to start; the incoming message stays stored.
    pub async fn start_stream(
        &self,
        user: User,
        incoming: Message,
    ) -> Result<ReplyStream, ChatError> {
        let (incoming, conversation, opening) = self.open(&user, incoming).await?;
        let (history, images) = match opening {
            Opening::Model { history, images } => (history, images),
            Opening::Fixed { agent, body } => {
                let outgoing = self
                    .store_reply(&user, incoming.channel, &conversation, agent, body, None)
                    .await?;
                return Ok(settled(TurnOutcome {
                    user,
                    incoming,
                    outgoing: Some(outgoing),
                    conversation,
                    cut_off: None,
                }));
            }
            Opening::Silent => {
                return Ok(settled(TurnOutcome {
                    user,
                    incoming,
                    outgoing: None,
                    conversation,
                    cut_off: None,
                }))
            }
        };
        let agent = self.agents().agent(&conversation.active_agent).clone();
        let request = self.request_for(&agent, &history, &incoming, images.clone(), 0);
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
        let turn = Turn {
            user,
            incoming,
            conversation,
            history,
            images,
        };
        let driver = async move { service.drive(turn, agent, deltas, tx).await }.boxed();
        Ok(ReplyStream { events, driver })
    }

    #[instrument(skip_all, fields(incoming = %turn.incoming.id))]
    async fn drive(
        self,
        mut turn: Turn,
        mut agent: AgentProfile,
        mut deltas: ChunkStream,
        tx: mpsc::Sender<StreamEvent>,
    ) {
        let mut client = Client(Some(tx));
        let mut said = String::new();
        let mut hops = 0;
        let result = loop {
            let (calls, cut, failure) = self.relay(&mut deltas, &mut said, &mut client).await;
            if let Some(source) = failure {
                break Err((agent.id.clone(), source));
            }
            let action = agent::action(self.agents(), &agent, &calls);
            let before = said.clone();
            match self
                .follow(&mut turn.conversation, &agent, action, said.clone(), hops)
                .await
            {
                Ok(Next::Done(mut answer)) => {
                    if let Some(cut) = cut {
                        let policy = agent.model.on_cut_off;
                        cut_off::settle(&mut answer, cut, policy, &self.agents().cut_off, true);
                    }
                    if answer.body.trim().is_empty() {
                        break Err((agent.id.clone(), super::handoff::empty_reply()));
                    }
                    // A hand-over notice or a cut-off note is new text the client has not seen.
                    if let Some(rest) = answer.body.strip_prefix(before.as_str()) {
                        if !rest.is_empty() {
                            client.send(StreamEvent::Delta(rest.to_string())).await;
                        }
                    }
                    break Ok(answer);
                }
                Ok(Next::Ask(next)) => {
                    agent = next;
                    hops += 1;
                    let request = self.request_for(
                        &agent,
                        &turn.history,
                        &turn.incoming,
                        turn.images.clone(),
                        hops,
                    );
                    match self.llm().stream(&request).await {
                        Ok(next_deltas) => deltas = next_deltas,
                        Err(source) => break Err((agent.id.clone(), source)),
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "hand-off could not be stored");
                    let Turn { user, incoming, .. } = turn;
                    client
                        .send(StreamEvent::Interrupted {
                            error,
                            user,
                            incoming,
                            partial: None,
                        })
                        .await;
                    return;
                }
            }
        };
        let last = match result {
            Ok(answer) => self.finish(turn, answer).await,
            Err((agent_id, source)) => self.interrupt(turn, &agent_id, said, source).await,
        };
        client.send(last).await;
    }

    /// Relays one model reply's text to the client, adding it to `said`; returns its tool
    /// calls, why the model did not finish it, if it did not, and the error that cut it short,
    /// if one did.
    async fn relay(
        &self,
        deltas: &mut ChunkStream,
        said: &mut String,
        client: &mut Client,
    ) -> (
        Vec<crate::ports::ToolCall>,
        Option<CutOff>,
        Option<LlmError>,
    ) {
        let mut calls = Vec::new();
        let mut cut = None;
        // Later agents' text is set a blank line apart from what the client already saw.
        let mut separated = said.trim().is_empty();
        while let Some(item) = deltas.next().await {
            match item {
                Ok(LlmChunk::ToolCall(call)) => calls.push(call),
                Ok(LlmChunk::Usage(_)) => {}
                Ok(LlmChunk::CutOff(reason)) => cut = Some(reason),
                Ok(LlmChunk::Text(delta)) if delta.is_empty() => {}
                Ok(LlmChunk::Text(mut delta)) => {
                    if !separated {
                        delta.insert_str(0, "\n\n");
                        separated = true;
                    }
                    said.push_str(&delta);
                    client.send(StreamEvent::Delta(delta)).await;
                }
                Err(err) => return (calls, cut, Some(err)),
            }
        }
        (calls, cut, None)
    }

    async fn finish(&self, turn: Turn, answer: Answer) -> StreamEvent {
        let Turn {
            user,
            incoming,
            conversation,
            ..
        } = turn;
        let stored = self
            .store_reply(
                &user,
                incoming.channel,
                &conversation,
                &answer.agent,
                answer.body,
                answer.cut_off.map(cut_off::marker),
            )
            .await;
        match stored {
            Ok(outgoing) => StreamEvent::Finished(TurnOutcome {
                user,
                incoming,
                outgoing: Some(outgoing),
                conversation,
                cut_off: answer.cut_off,
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
        }
    }

    async fn interrupt(
        &self,
        turn: Turn,
        agent: &str,
        said: String,
        source: LlmError,
    ) -> StreamEvent {
        tracing::warn!(error = %source, chars = said.len(), "model failed mid-stream");
        let Turn {
            user,
            incoming,
            conversation,
            ..
        } = turn;
        let partial = if said.is_empty() {
            None
        } else {
            let mark = Some(format!("interrupted: {source}"));
            match self
                .store_reply(&user, incoming.channel, &conversation, agent, said, mark)
                .await
            {
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
}

/// A stream whose reply is already stored: its text, if any, then the end.
fn settled(outcome: TurnOutcome) -> ReplyStream {
    let (mut tx, events) = mpsc::channel(2);
    if let Some(body) = outcome.outgoing.as_ref().map(|m| m.body.clone()) {
        let _ = tx.try_send(StreamEvent::Delta(body));
    }
    let _ = tx.try_send(StreamEvent::Finished(outcome));
    ReplyStream {
        events,
        driver: futures::future::ready(()).boxed(),
    }
}
