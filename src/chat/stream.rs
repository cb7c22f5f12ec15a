//! What a streaming client receives, and the client end the turn engine writes to.
//!
//! A streamed reply is produced by a driver future that the caller runs on a task of its own,
//! so a client that leaves mid-stream does not stop the generation or lose the reply.

use futures::channel::mpsc;
use futures::future::BoxFuture;
use futures::{FutureExt, SinkExt};

use crate::domain::{Message, User};

use super::{ChatError, TurnOutcome};

/// How many deltas may wait for a slow client before generation pauses.
pub(crate) const BUFFERED_DELTAS: usize = 64;

/// What a streaming client sees, in order: deltas, then exactly one `Finished` or `Interrupted`.
#[derive(Debug)]
pub enum StreamEvent {
    /// A piece of the reply text.
    Delta(String),
    /// The reply is complete and stored.
    Finished(TurnOutcome),
    /// The reply stopped early. What was shown is stored in `partial`, marked with the error;
    /// the incoming message is stored either way.
    Interrupted {
        error: ChatError,
        user: User,
        incoming: Message,
        partial: Option<Message>,
    },
}

impl StreamEvent {
    /// The last event of a turn that ended with `result`.
    pub(crate) fn last(result: Result<TurnOutcome, Interruption>) -> Self {
        match result {
            Ok(outcome) => StreamEvent::Finished(outcome),
            Err(Interruption {
                error,
                user,
                incoming,
                partial,
            }) => StreamEvent::Interrupted {
                error,
                user,
                incoming,
                partial,
            },
        }
    }
}

/// A turn that stopped before its reply was complete and stored.
#[derive(Debug)]
pub(crate) struct Interruption {
    pub error: ChatError,
    pub user: User,
    pub incoming: Message,
    /// The part of the reply that was shown and stored, marked with the error.
    pub partial: Option<Message>,
}

/// A reply in progress. Run `driver` to completion on a task of its own and read `events`.
/// Dropping `events` (the client left) lets the driver finish and store the reply regardless.
pub struct ReplyStream {
    pub events: mpsc::Receiver<StreamEvent>,
    pub driver: BoxFuture<'static, ()>,
}

impl ReplyStream {
    /// A stream whose turn is already settled: its reply text, if any, then the end.
    pub(crate) fn settled(outcome: TurnOutcome) -> Self {
        let (mut tx, events) = mpsc::channel(2);
        if let Some(body) = outcome.outgoing.as_ref().map(|m| m.body.clone()) {
            let _ = tx.try_send(StreamEvent::Delta(body));
        }
        let _ = tx.try_send(StreamEvent::Finished(outcome));
        Self {
            events,
            driver: futures::future::ready(()).boxed(),
        }
    }
}

/// Where the reply's text goes while it is generated: a streaming client, or nobody when the
/// turn is answered whole. Gone once the client left.
pub(crate) struct Client(Option<mpsc::Sender<StreamEvent>>);

impl Client {
    /// A streaming client reading `sink`.
    pub(crate) fn live(sink: mpsc::Sender<StreamEvent>) -> Self {
        Self(Some(sink))
    }

    /// Nobody watches: the reply is delivered whole when the turn ends.
    pub(crate) fn none() -> Self {
        Self(None)
    }

    pub(crate) async fn send(&mut self, event: StreamEvent) {
        if let Some(sink) = self.0.as_mut() {
            if sink.send(event).await.is_err() {
                tracing::info!("client left mid-stream; generation continues");
                self.0 = None;
            }
        }
    }
}
