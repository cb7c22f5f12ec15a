//! One model turn per user at a time, in the order the turns arrived.
//!
//! A patient who sends two messages in quick succession gets them answered in order: the
//! second turn waits until the first has stored its reply, then reads it as history. A turn
//! holds its user's place from before its message is accepted until its reply is stored (a
//! streamed turn: until the generation ends or is dropped). Waiting is first come, first
//! served, and bounded: past the configured wait the turn fails with
//! [`ChatError::TurnInProgress`] and nothing is stored.
//!
//! The places are per process. Across instances the database keeps each conversation's
//! messages in order, but two instances may answer one user's turns at the same time.
//!
//! Memory: a user has an entry only while one of their turns runs or waits.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::channel::oneshot;
use futures::future::{self, Either};

use crate::ports::Timer;

use super::ChatError;

/// The turns running or waiting, per user identity.
#[derive(Default)]
pub(crate) struct TurnLocks {
    /// A user is present while one of their turns holds its place; the queue holds the turns
    /// waiting, first come first.
    lines: Mutex<HashMap<String, VecDeque<oneshot::Sender<()>>>>,
}

/// How long a turn may wait for its user's previous turn, and the timer that measures it.
#[derive(Clone)]
pub(crate) struct TurnWait {
    pub wait: Duration,
    pub timer: Arc<dyn Timer>,
}

/// A turn's place: the next turn of its user starts when this is dropped.
#[must_use]
pub(crate) struct TurnGuard {
    locks: Arc<TurnLocks>,
    key: String,
}

impl Drop for TurnGuard {
    fn drop(&mut self) {
        self.locks.pass_on(&self.key);
    }
}

impl TurnLocks {
    fn lines(&self) -> MutexGuard<'_, HashMap<String, VecDeque<oneshot::Sender<()>>>> {
        self.lines.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes `key`'s place, waiting behind the turns already there for at most `wait`
    /// (forever without one).
    ///
    /// # Errors
    /// [`ChatError::TurnInProgress`] when the wait runs out.
    pub(crate) async fn enter(
        self: &Arc<Self>,
        key: &str,
        wait: Option<&TurnWait>,
    ) -> Result<TurnGuard, ChatError> {
        let guard = || TurnGuard {
            locks: Arc::clone(self),
            key: key.to_string(),
        };
        let turn = {
            let mut lines = self.lines();
            match lines.entry(key.to_string()) {
                Entry::Vacant(free) => {
                    free.insert(VecDeque::new());
                    return Ok(guard());
                }
                Entry::Occupied(mut busy) => {
                    let (tx, rx) = oneshot::channel();
                    let queue = busy.get_mut();
                    queue.retain(|waiting| !waiting.is_canceled());
                    queue.push_back(tx);
                    Waiting {
                        rx,
                        locks: Arc::clone(self),
                        key: key.to_string(),
                        admitted: false,
                    }
                }
            }
        };
        let Some(wait) = wait else {
            turn.await;
            return Ok(guard());
        };
        match future::select(turn, wait.timer.sleep(wait.wait)).await {
            Either::Left(((), _)) => Ok(guard()),
            Either::Right(((), _)) => Err(ChatError::TurnInProgress { waited: wait.wait }),
        }
    }

    /// Hands `key`'s place to the first turn still waiting, or frees it.
    fn pass_on(&self, key: &str) {
        let mut lines = self.lines();
        let Some(queue) = lines.get_mut(key) else {
            return;
        };
        while let Some(next) = queue.pop_front() {
            if next.send(()).is_ok() {
                return;
            }
        }
        lines.remove(key);
    }
}

/// A turn waiting for its place. Dropped after the place was handed to it but before it took
/// it (the wait ran out at that moment), it hands the place on, so the place is never lost.
struct Waiting {
    rx: oneshot::Receiver<()>,
    locks: Arc<TurnLocks>,
    key: String,
    admitted: bool,
}

impl Future for Waiting {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match Pin::new(&mut self.rx).poll(cx) {
            // A dropped sender only happens with the map itself; either way the place is ours.
            Poll::Ready(_) => {
                self.admitted = true;
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if self.admitted {
            return;
        }
        // Closing first means no place can be handed to us after this check.
        self.rx.close();
        if let Ok(Some(())) = self.rx.try_recv() {
            self.locks.pass_on(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::future::BoxFuture;
    use futures::FutureExt;

    /// A timer whose sleeps end only when the test says so.
    #[derive(Default)]
    struct ManualTimer {
        alarms: Mutex<Vec<oneshot::Sender<()>>>,
    }

    impl ManualTimer {
        fn ring(&self) {
            for alarm in self.alarms.lock().expect("lock").drain(..) {
                let _ = alarm.send(());
            }
        }
    }

    impl Timer for ManualTimer {
        fn sleep(&self, _duration: Duration) -> BoxFuture<'static, ()> {
            let (tx, rx) = oneshot::channel();
            self.alarms.lock().expect("lock").push(tx);
            rx.map(|_| ()).boxed()
        }
    }

    fn entries(locks: &TurnLocks) -> usize {
        locks.lines().len()
    }

    #[test]
    fn turns_of_one_user_run_one_at_a_time_in_arrival_order() {
        futures::executor::block_on(async {
            let locks = Arc::new(TurnLocks::default());
            let first = locks.enter("chat_ana", None).await.expect("first");
            let mut second = Box::pin(locks.enter("chat_ana", None));
            let mut third = Box::pin(locks.enter("chat_ana", None));
            assert!(futures::poll!(second.as_mut()).is_pending());
            assert!(futures::poll!(third.as_mut()).is_pending());

            drop(first);
            assert!(
                futures::poll!(third.as_mut()).is_pending(),
                "third before second"
            );
            let second = second.await.expect("second");
            assert!(futures::poll!(third.as_mut()).is_pending());
            drop(second);
            let third = third.await.expect("third");
            drop(third);
            assert_eq!(entries(&locks), 0, "an idle user keeps no entry");
        });
    }

    #[test]
    fn different_users_do_not_wait_for_each_other() {
        futures::executor::block_on(async {
            let locks = Arc::new(TurnLocks::default());
            let _ana = locks.enter("chat_ana", None).await.expect("ana");
            let mut ben = Box::pin(locks.enter("chat_ben", None));
            assert!(futures::poll!(ben.as_mut()).is_ready());
        });
    }

    #[test]
    fn a_wait_that_runs_out_fails_and_leaves_the_line_working() {
        futures::executor::block_on(async {
            let locks = Arc::new(TurnLocks::default());
            let timer = Arc::new(ManualTimer::default());
            let wait = TurnWait {
                wait: Duration::from_secs(1),
                timer: timer.clone(),
            };
            let first = locks.enter("chat_ana", Some(&wait)).await.expect("first");
            let mut second = Box::pin(locks.enter("chat_ana", Some(&wait)));
            assert!(futures::poll!(second.as_mut()).is_pending());

            timer.ring();
            match second.await {
                Err(ChatError::TurnInProgress { waited }) => {
                    assert_eq!(waited, Duration::from_secs(1));
                }
                Err(other) => panic!("unexpected {other:?}"),
                Ok(_) => panic!("the second turn must not start while the first runs"),
            }
            drop(first);
            let third = locks.enter("chat_ana", Some(&wait)).await;
            assert!(third.is_ok());
            drop(third);
            assert_eq!(entries(&locks), 0);
        });
    }

    #[test]
    fn a_place_handed_to_a_turn_that_gave_up_goes_to_the_next() {
        futures::executor::block_on(async {
            let locks = Arc::new(TurnLocks::default());
            let first = locks.enter("chat_ana", None).await.expect("first");
            let mut second = Box::pin(locks.enter("chat_ana", None));
            let mut third = Box::pin(locks.enter("chat_ana", None));
            assert!(futures::poll!(second.as_mut()).is_pending());
            assert!(futures::poll!(third.as_mut()).is_pending());

            // The place reaches the second turn, which is dropped before it looks.
            drop(first);
            drop(second);
            let third = third.await;
            assert!(third.is_ok());
            drop(third);
            assert_eq!(entries(&locks), 0);
        });
    }
}
