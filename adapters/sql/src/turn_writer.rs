//! The shared turn writer: one task commits the turns' writes (accepting messages, finishing
//! turns) for the whole process, and every write that arrived while the previous commit was in
//! flight goes into the next transaction together. Under concurrency a commit, its wait for the
//! log to reach the disk and its round trips are shared by many turns; each caller is answered
//! only after the transaction holding its write committed, so nothing is acknowledged before it
//! is durable. Alone, a write is its own transaction, as before.
//!
//! A shared transaction that fails (one turn's duplicate message, a conversation erased
//! meanwhile, a deadlock) is rolled back and each of its writes is tried again in a
//! transaction of its own, so one turn's error is only ever that turn's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sea_orm::DatabaseConnection;
use tokio::sync::{mpsc, oneshot};
use whatsapp_agent::domain::Message;
use whatsapp_agent::ports::{AcceptError, Accepted, Arrival, Finish, FinishError, StoreError};

use crate::error::{
    again_on_lost_race, lost_a_lock_race, lost_a_race, lost_a_race_with_erasure, store_error,
};
use crate::store::{begin, WriterLock};
use crate::turn_sql::{accept_all, finish_all, from_store};

/// The most writes one transaction takes.
const MAX_BATCH: usize = 256;

/// How many transactions of turn writes may be in flight at once where the database admits
/// concurrent writers: while one waits for its commit to reach the disk, the next is written.
const WRITERS: usize = 2;

/// How many writes may wait for the writer before callers wait to hand theirs over.
const QUEUE: usize = 4096;

type Reply<T, E> = oneshot::Sender<Result<T, E>>;

/// A turn's write, with where its outcome goes.
enum Write {
    Accept(Arrival, Reply<Accepted, AcceptError>),
    Finish(Finish, Reply<Option<Message>, FinishError>),
}

/// What the writer has done, for operators and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TurnWriteStats {
    /// Writes committed.
    pub writes: u64,
    /// Transactions that committed them.
    pub commits: u64,
}

#[derive(Default)]
struct Counters {
    writes: AtomicU64,
    commits: AtomicU64,
}

/// The handle every clone of the store shares. The task holds the connection pool but not this
/// handle, so it ends when the last store is dropped.
pub(crate) struct TurnWriter {
    db: DatabaseConnection,
    lock: WriterLock,
    counters: Arc<Counters>,
    /// Started on first use, on the runtime of that use, and again if that runtime has gone.
    sender: Mutex<Option<mpsc::Sender<Write>>>,
}

impl TurnWriter {
    pub(crate) fn new(db: DatabaseConnection, lock: WriterLock) -> Self {
        Self {
            db,
            lock,
            counters: Arc::default(),
            sender: Mutex::new(None),
        }
    }

    pub(crate) fn stats(&self) -> TurnWriteStats {
        TurnWriteStats {
            writes: self.counters.writes.load(Ordering::Relaxed),
            commits: self.counters.commits.load(Ordering::Relaxed),
        }
    }

    fn sender(&self) -> mpsc::Sender<Write> {
        let mut sender = self.sender.lock().unwrap_or_else(|p| p.into_inner());
        match sender.as_ref() {
            Some(live) if !live.is_closed() => live.clone(),
            _ => {
                let (tx, rx) = mpsc::channel(QUEUE);
                let rx = Arc::new(tokio::sync::Mutex::new(rx));
                let writers = if self.lock.is_exclusive() { 1 } else { WRITERS };
                for _ in 0..writers {
                    let task = Task {
                        db: self.db.clone(),
                        lock: self.lock.clone(),
                        counters: Arc::clone(&self.counters),
                    };
                    tokio::spawn(task.run(Arc::clone(&rx)));
                }
                *sender = Some(tx.clone());
                tx
            }
        }
    }

    async fn submit(&self, write: Write) -> Result<(), ()> {
        match self.sender().send(write).await {
            Ok(()) => Ok(()),
            // The runtime that ran the task has shut down: start it again here, once.
            Err(mpsc::error::SendError(write)) => self.sender().send(write).await.map_err(|_| ()),
        }
    }

    pub(crate) async fn accept(&self, arrival: &Arrival) -> Result<Accepted, AcceptError> {
        let (tx, rx) = oneshot::channel();
        let stopped = || AcceptError::Unavailable("the store's writer stopped".into());
        self.submit(Write::Accept(arrival.clone(), tx))
            .await
            .map_err(|()| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    pub(crate) async fn finish(&self, finish: &Finish) -> Result<Option<Message>, FinishError> {
        let (tx, rx) = oneshot::channel();
        let stopped = || FinishError::Unavailable("the store's writer stopped".into());
        self.submit(Write::Finish(finish.clone(), tx))
            .await
            .map_err(|()| stopped())?;
        rx.await.map_err(|_| stopped())?
    }
}

struct Task {
    db: DatabaseConnection,
    lock: WriterLock,
    counters: Arc<Counters>,
}

impl Task {
    /// Takes whatever waits (or the next write to come) and writes it; meanwhile another
    /// writer takes what arrives next, so one transaction runs while the other commits.
    async fn run(self, rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Write>>>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        loop {
            let taken = rx.lock().await.recv_many(&mut batch, MAX_BATCH).await;
            if taken == 0 {
                return;
            }
            self.write(std::mem::take(&mut batch)).await;
        }
    }

    async fn write(&self, batch: Vec<Write>) {
        if batch.len() == 1 {
            for write in batch {
                self.write_alone(write).await;
            }
            return;
        }
        let (accepts, finishes): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .partition(|w| matches!(w, Write::Accept(..)));
        let arrivals: Vec<&Arrival> = accepts
            .iter()
            .filter_map(|w| match w {
                Write::Accept(a, _) => Some(a),
                Write::Finish(..) => None,
            })
            .collect();
        let ends: Vec<&Finish> = finishes
            .iter()
            .filter_map(|w| match w {
                Write::Finish(f, _) => Some(f),
                Write::Accept(..) => None,
            })
            .collect();
        let together = async {
            let _writer = self.lock.acquire().await;
            let txn = begin(&self.db).await?;
            // A finish goes first: a user's next message is accepted after their turn finished.
            let finished = finish_all(&txn, &ends)
                .await
                .map_err(|e| StoreError::Unknown(anyhow::Error::new(e)))?;
            let accepted = accept_all(&txn, &arrivals).await?;
            txn.commit().await.map_err(store_error)?;
            Ok::<_, StoreError>((finished, accepted))
        };
        match together.await {
            Ok((finished, accepted)) => {
                self.committed(finished.len() + accepted.len());
                for (write, outcome) in finishes.into_iter().zip(finished) {
                    if let Write::Finish(_, reply) = write {
                        let _ = reply.send(Ok(outcome));
                    }
                }
                for (write, outcome) in accepts.into_iter().zip(accepted) {
                    if let Write::Accept(_, reply) = write {
                        let _ = reply.send(Ok(outcome));
                    }
                }
            }
            Err(err) => {
                tracing::debug!(error = %err, "a shared turn transaction failed; writing each alone");
                let alone = finishes
                    .into_iter()
                    .chain(accepts)
                    .map(|w| self.write_alone(w));
                futures::future::join_all(alone).await;
            }
        }
    }

    /// One write in a transaction of its own, with its own outcome.
    async fn write_alone(&self, write: Write) {
        match write {
            Write::Accept(arrival, reply) => {
                let outcome = self.accept_alone(&arrival).await.map_err(accept_error);
                if outcome.is_ok() {
                    self.committed(1);
                }
                let _ = reply.send(outcome);
            }
            Write::Finish(finish, reply) => {
                let outcome = self.finish_alone(&finish).await.map_err(|err| match err {
                    // The user and their conversation were erased while the turn ran.
                    FinishError::Unknown(err) if lost_a_race_with_erasure(&err) => {
                        FinishError::ConversationGone(finish.conversation)
                    }
                    other => other,
                });
                if outcome.is_ok() {
                    self.committed(1);
                }
                let _ = reply.send(outcome);
            }
        }
    }

    /// Accepts in a transaction of its own, again when it lost a race that another try wins:
    /// the user erased between reading and filing (accepting again makes them anew, as for any
    /// first message), or a deadlock's victim.
    async fn accept_alone(&self, arrival: &Arrival) -> Result<Accepted, StoreError> {
        let attempt = || async {
            let _writer = self.lock.acquire().await;
            let txn = begin(&self.db).await?;
            let mut accepted = accept_all(&txn, &[arrival]).await?;
            txn.commit().await.map_err(store_error)?;
            accepted
                .pop()
                .ok_or_else(|| StoreError::from(anyhow::anyhow!("nothing was accepted")))
        };
        again_on_lost_race(attempt, lost_a_race).await
    }

    /// Finishes in a transaction of its own, again when it was a deadlock's victim.
    async fn finish_alone(&self, finish: &Finish) -> Result<Option<Message>, FinishError> {
        let attempt = || async {
            let _writer = self.lock.acquire().await;
            let txn = begin(&self.db).await.map_err(from_store)?;
            let mut finished = finish_all(&txn, &[finish]).await?;
            txn.commit().await.map_err(|e| from_store(store_error(e)))?;
            Ok(finished.pop().flatten())
        };
        again_on_lost_race(
            attempt,
            |err| matches!(err, FinishError::Unavailable(cause) if lost_a_lock_race(cause)),
        )
        .await
    }

    fn committed(&self, writes: usize) {
        self.counters
            .writes
            .fetch_add(writes as u64, Ordering::Relaxed);
        self.counters.commits.fetch_add(1, Ordering::Relaxed);
    }
}

fn accept_error(err: StoreError) -> AcceptError {
    match err {
        StoreError::Unavailable(m) => AcceptError::Unavailable(m),
        StoreError::Duplicate(m) => AcceptError::Duplicate(m),
        StoreError::Unknown(e) => AcceptError::Unknown(e),
    }
}
