//! What a turn is. Every reply, on `/chat/`, `/chat/stream` and WhatsApp alike, is one run of
//! this engine:
//!
//! 1. **Accept** (one store call): find or create the user, find, touch or open their
//!    conversation, store the incoming message in it, read the history the model will see.
//! 2. **Open**: the fixed rules (reset, red flag, a person in charge, a request for a person)
//!    decide whether a fixed reply, silence, or the agents answer. Nothing is stored.
//! 3. **Answer**: the active agent's model streams its reply; a hand-off lets the next agent
//!    answer in the same turn, within `max_handoffs`; an empty reply is an error, never an
//!    answer; a reply the model did not finish is settled as the agent's policy says.
//! 4. **Finish** (one store call): the reply, linked to its conversation, and what the turn
//!    changed about the conversation (active agent, hand-over, flag, end) are stored together.
//!
//! Nothing is held open across the model call. A turn dropped between accepting and finishing
//! leaves the incoming message stored in its conversation and no reply at all.
//!
//! One user's turns run one at a time in a process, in arrival order, from before accepting
//! until finishing (see `turn_lock`): a quick second message is answered after the first.
//!
//! A streamed turn sends the text to its client as it comes ([`Delivery::Streamed`]); a whole
//! turn is the same run with nobody watching ([`Delivery::Whole`]). The only differences follow
//! from what the user has seen: a cut-off reply's fallback follows shown text instead of
//! replacing it, and a reply that fails midway is stored as far as it was shown.

use futures::channel::mpsc;
use futures::{FutureExt, StreamExt};
use tracing::instrument;

use crate::agent::{self, AgentProfile};
use crate::domain::{
    storable_text, Conversation, ConversationChange, Direction, Message, NewMessage, User,
};
use crate::ports::{
    Accepted, Arrival, ChunkStream, CutOff, Finish, Incoming, LlmChunk, LlmError, ToolCall,
};

use super::handoff::{self, Answer, Next};
use super::opening::{self, Opening};
use super::stream::{Client, Interruption, BUFFERED_DELTAS};
use super::{cut_off, ChatError, ChatService, ReplyStream, StreamEvent, TurnOutcome};

/// Whether the reply reaches its reader while it is generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Piece by piece, as the model writes it.
    Streamed,
    /// In one piece, when the turn ends.
    Whole,
}

/// A turn between accepting and finishing.
pub(crate) struct Turn {
    pub user: User,
    pub incoming: Message,
    /// The conversation as accepted; `change` says what the turn does to it.
    pub conversation: Conversation,
    /// The conversation's earlier messages, oldest first.
    pub history: Vec<Message>,
    /// The incoming message's images as the model gets them.
    pub images: Vec<String>,
    pub change: ConversationChange,
    /// The incoming message's voice notes were transcribed: its media is stored again.
    pub transcribed: bool,
    pub delivery: Delivery,
}

/// A reply to store when the turn finishes.
struct Reply {
    agent: String,
    body: String,
    /// Why the reply is incomplete, when it is.
    error: Option<String>,
}

/// How far a turn got before any model text.
enum Started {
    /// Settled without a model: a fixed reply or silence, already stored.
    Settled(Box<TurnOutcome>),
    /// The active agent's model accepted the request and is answering.
    Answering {
        turn: Box<Turn>,
        agent: AgentProfile,
        deltas: ChunkStream,
    },
}

/// Runs a turn for `arrival` and streams its reply. Returns once the model has accepted the
/// request, so a model that is down fails here, before any byte is streamed.
///
/// # Errors
/// [`ChatError::Store`] when the message could not be accepted (nothing is stored then); any
/// later failure keeps the incoming message.
pub(crate) async fn stream(
    service: &ChatService,
    arrival: Incoming,
) -> Result<ReplyStream, ChatError> {
    let place = service.enter_turn(&arrival).await?;
    match start(service, arrival, Delivery::Streamed).await? {
        Started::Settled(outcome) => Ok(ReplyStream::settled(*outcome)),
        Started::Answering {
            turn,
            agent,
            deltas,
        } => {
            let (tx, events) = mpsc::channel(BUFFERED_DELTAS);
            let service = service.clone();
            let driver = async move {
                // The user's next turn starts once this one has stored its reply.
                let _place = place;
                let mut client = Client::live(tx);
                let result = drive(&service, *turn, agent, deltas, &mut client).await;
                client.send(StreamEvent::last(result)).await;
            }
            .boxed();
            Ok(ReplyStream { events, driver })
        }
    }
}

/// Runs a turn for `arrival` and returns its reply in one piece: the streamed turn with
/// nobody watching.
///
/// # Errors
/// As for [`stream`]; a failure while answering is returned instead of ending the stream.
pub(crate) async fn whole(
    service: &ChatService,
    arrival: Incoming,
) -> Result<TurnOutcome, ChatError> {
    let _place = service.enter_turn(&arrival).await?;
    match start(service, arrival, Delivery::Whole).await? {
        Started::Settled(outcome) => Ok(*outcome),
        Started::Answering {
            turn,
            agent,
            deltas,
        } => drive(service, *turn, agent, deltas, &mut Client::none())
            .await
            .map_err(|interruption| interruption.error),
    }
}

/// Accepts the message, applies the fixed rules and, when the agents answer, starts the
/// active agent's model.
async fn start(
    service: &ChatService,
    arrival: Incoming,
    delivery: Delivery,
) -> Result<Started, ChatError> {
    let mut turn = accept(service, arrival, delivery).await?;
    let opening = opening::open(service, &mut turn).await?;
    let body = match opening {
        Opening::Model => None,
        Opening::Silent => Some(None),
        Opening::Fixed { agent, body } => Some(Some(Reply {
            agent: agent.to_string(),
            body,
            error: None,
        })),
    };
    if let Some(reply) = body {
        let outcome = finish(service, turn, reply, None).await?;
        return Ok(Started::Settled(Box::new(outcome)));
    }
    let agent = service
        .agents()
        .agent(&turn.conversation.active_agent)
        .clone();
    let request = handoff::request_for(
        service.agents(),
        &agent,
        &turn.history,
        &turn.incoming,
        turn.images.clone(),
        0,
    );
    match service.llm().stream(&request).await {
        Ok(deltas) => Ok(Started::Answering {
            turn: Box::new(turn),
            agent,
            deltas,
        }),
        Err(source) => {
            let incoming = turn.incoming.id;
            // Boxed for the same reason as `interrupt`: rare, and larger than the common path.
            Box::pin(keep_transcripts(service, turn)).await;
            Err(ChatError::Llm { source, incoming })
        }
    }
}

/// Runs the agents over the model's replies until one answers, relaying text to `client`, and
/// finishes the turn with the answer, or with what was shown when the model fails.
#[instrument(skip_all, fields(incoming = %turn.incoming.id))]
async fn drive(
    service: &ChatService,
    mut turn: Turn,
    mut agent: AgentProfile,
    mut deltas: ChunkStream,
    client: &mut Client,
) -> Result<TurnOutcome, Interruption> {
    let agents = service.agents();
    let shown = turn.delivery == Delivery::Streamed;
    let mut said = String::new();
    let mut hops = 0;
    let answered = loop {
        let (calls, cut, failure) = relay(&mut deltas, &mut said, client).await;
        if let Some(source) = failure {
            break Err((agent.id.clone(), source));
        }
        let action = agent::action(agents, &agent, &calls);
        let before = said.clone();
        match handoff::follow(agents, &mut turn.change, &agent, action, said.clone(), hops) {
            Next::Done(mut answer) => {
                if let Some(cut) = cut {
                    let policy = agent.model.on_cut_off;
                    let replies = agents.cut_off_replies(&turn.incoming.body);
                    cut_off::settle(&mut answer, cut, policy, replies, shown);
                }
                if answer.body.trim().is_empty() {
                    break Err((agent.id.clone(), handoff::empty_reply()));
                }
                // A hand-over notice or a cut-off note is new text the client has not seen.
                if let Some(rest) = answer.body.strip_prefix(before.as_str()) {
                    if !rest.is_empty() {
                        client.send(StreamEvent::Delta(rest.to_string())).await;
                    }
                }
                break Ok(answer);
            }
            Next::Ask(next) => {
                agent = next;
                hops += 1;
                let request = handoff::request_for(
                    agents,
                    &agent,
                    &turn.history,
                    &turn.incoming,
                    turn.images.clone(),
                    hops,
                );
                match service.llm().stream(&request).await {
                    Ok(next_deltas) => deltas = next_deltas,
                    Err(source) => break Err((agent.id.clone(), source)),
                }
            }
        }
    };
    match answered {
        Ok(Answer {
            agent,
            body,
            cut_off,
        }) => {
            let reply = Reply {
                agent,
                body,
                error: cut_off.map(cut_off::marker),
            };
            let (user, incoming) = (turn.user.clone(), turn.incoming.clone());
            finish(service, turn, Some(reply), cut_off)
                .await
                .map_err(|error| {
                    tracing::error!(%error, "reply could not be stored");
                    Interruption {
                        error,
                        user,
                        incoming,
                        partial: None,
                    }
                })
        }
        // Boxed: a failed model is rare, and its larger state would otherwise be reserved in
        // every turn in flight.
        Err((agent, source)) => Err(Box::pin(interrupt(service, turn, agent, said, source)).await),
    }
}

/// Relays one model reply's text to the client, adding it to `said`; returns its tool calls,
/// why the model did not finish it, if it did not, and the error that cut it short, if one did.
async fn relay(
    deltas: &mut ChunkStream,
    said: &mut String,
    client: &mut Client,
) -> (Vec<ToolCall>, Option<CutOff>, Option<LlmError>) {
    let mut calls = Vec::new();
    let mut cut = None;
    // Later agents' text is set a blank line apart from what was already said.
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

/// Ends a turn whose model failed: what the user was shown is stored, marked interrupted;
/// a whole turn's user saw nothing, so nothing of the reply is stored.
async fn interrupt(
    service: &ChatService,
    turn: Turn,
    agent: String,
    said: String,
    source: LlmError,
) -> Interruption {
    tracing::warn!(error = %source, chars = said.len(), "model failed mid-turn");
    let (user, incoming) = (turn.user.clone(), turn.incoming.clone());
    let error = ChatError::Llm {
        source: source.clone(),
        incoming: incoming.id,
    };
    if turn.delivery == Delivery::Whole || said.is_empty() {
        keep_transcripts(service, turn).await;
        return Interruption {
            error,
            user,
            incoming,
            partial: None,
        };
    }
    let reply = Reply {
        agent,
        body: said,
        error: Some(format!("interrupted: {source}")),
    };
    let partial = match finish(service, turn, Some(reply), None).await {
        Ok(outcome) => outcome.outgoing,
        Err(error) => {
            tracing::error!(%error, "partial reply could not be stored");
            None
        }
    };
    Interruption {
        error,
        user,
        incoming,
        partial,
    }
}

/// A turn that ends without a reply still stores the transcripts it made.
async fn keep_transcripts(service: &ChatService, turn: Turn) {
    if turn.transcribed {
        let turn = Turn {
            change: ConversationChange::default(),
            ..turn
        };
        if let Err(error) = finish(service, turn, None, None).await {
            tracing::error!(%error, "transcripts could not be stored");
        }
    }
}

/// Accepts the incoming message of a turn: the turn's first store call.
async fn accept(
    service: &ChatService,
    incoming: Incoming,
    delivery: Delivery,
) -> Result<Turn, ChatError> {
    let agents = service.agents();
    // A reset is answered without the model, so it needs no history.
    let reset = match &incoming {
        Incoming::New { message, .. } => message.media.is_empty() && agents.is_reset(&message.body),
        Incoming::Stored { message, .. } => {
            message.media.is_empty() && agents.is_reset(&message.body)
        }
    };
    let arrival = Arrival {
        incoming,
        manager: agents.manager.id.clone(),
        idle_timeout: chrono::Duration::from_std(agents.memory.session_timeout)
            .unwrap_or(chrono::Duration::MAX),
        history_limit: if reset { 0 } else { agents.memory.max_messages },
        now: service.clock().now(),
    };
    let Accepted {
        user,
        incoming,
        conversation,
        history,
    } = service.turns().accept(&arrival).await?;
    Ok(Turn {
        user,
        incoming,
        conversation,
        history,
        images: Vec::new(),
        change: ConversationChange::default(),
        transcribed: false,
        delivery,
    })
}

/// Stores the end of a turn: its reply, linked to the conversation, what the turn changed about
/// the conversation, and the incoming message's transcripts, in one write: the turn's second
/// store call. None is made when there is nothing to store.
async fn finish(
    service: &ChatService,
    turn: Turn,
    reply: Option<Reply>,
    cut_off: Option<CutOff>,
) -> Result<TurnOutcome, ChatError> {
    let Turn {
        user,
        incoming,
        mut conversation,
        change,
        transcribed,
        ..
    } = turn;
    let now = service.clock().now();
    let reply = reply.map(|reply| {
        let body = storable_text(&reply.body).into_owned();
        let mut message = NewMessage::new(user.id, incoming.channel, Direction::Outgoing, body);
        message.agent = Some(reply.agent);
        message.error = reply.error;
        message
    });
    let outgoing = if reply.is_none() && change.is_empty() && !transcribed {
        None
    } else {
        let finish = Finish {
            conversation: conversation.id,
            change: change.clone(),
            reply,
            transcripts: transcribed.then(|| (incoming.id, incoming.media.clone())),
            now,
            accepted_activity: conversation.last_activity_at,
        };
        let stored = service.turns().finish(&finish).await?;
        conversation.apply(&change, now);
        stored
    };
    Ok(TurnOutcome {
        user,
        incoming,
        outgoing,
        conversation,
        cut_off,
    })
}
