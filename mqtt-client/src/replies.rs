//! Who waits for which outcome: publishes by [`PublishId`](mqtt_session::PublishId),
//! subscribes and unsubscribes by [`RequestId`](mqtt_session::RequestId).

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use core::task::{Poll, Waker};

use crate::event::Failure;
use crate::wakes::Wakes;

/// Outcomes of failed operations nobody has asked for yet, kept per table; older ones are
/// forgotten.
const KEPT_OUTCOMES: usize = 10_000;

/// Whether, and how, the caller of a command will ask for its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Interest {
    /// Nobody asks: fire and forget.
    None,
    /// A waiter asks for the outcome (an awaited publish): it is kept until taken or
    /// [forgotten](crate::Core::forget_publish).
    Outcome,
    /// Someone may ask later, or never (the seed's `wait_for_publish`): a failure is kept
    /// (the last 10,000 of them), a success is not, so asking about a publish that is
    /// neither pending nor failed means it completed.
    Failure,
}

enum Entry<T> {
    Waiting {
        waker: Option<Waker>,
        /// [`Interest::Outcome`]: a waiter holds a handle and will take the outcome.
        awaited: bool,
    },
    /// `awaited` as it was while waiting: an outcome nobody holds a handle for may be
    /// forgotten to make room.
    Done {
        outcome: Box<Result<T, Failure>>,
        awaited: bool,
    },
}

/// One table of outcomes by id.
pub(crate) struct Replies<K, T> {
    entries: BTreeMap<K, Entry<T>>,
    /// How many entries are `Done` and not awaited: the ones kept within [`KEPT_OUTCOMES`].
    done: usize,
}

impl<K: Ord + Copy, T> Replies<K, T> {
    pub(crate) fn new() -> Self {
        Replies {
            entries: BTreeMap::new(),
            done: 0,
        }
    }

    /// Starts waiting for `id`, as `interest` says.
    pub(crate) fn watch(&mut self, id: K, interest: Interest) {
        let awaited = match interest {
            Interest::None => return,
            Interest::Outcome => true,
            Interest::Failure => false,
        };
        self.entries.insert(
            id,
            Entry::Waiting {
                waker: None,
                awaited,
            },
        );
    }

    /// Records the outcome of `id`, if anyone watches it, and wakes its waiter. An outcome
    /// nobody awaits is kept only if it is a failure, and only the last 10,000 of those.
    pub(crate) fn complete(&mut self, id: K, outcome: Result<T, Failure>, wakes: &mut Wakes) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        let Entry::Waiting { waker, awaited } = entry else {
            return;
        };
        let awaited = *awaited;
        if let Some(waker) = waker.take() {
            wakes.wake(waker);
        }
        if outcome.is_ok() && !awaited {
            self.entries.remove(&id);
            return;
        }
        *entry = Entry::Done {
            outcome: Box::new(outcome),
            awaited,
        };
        if awaited {
            return;
        }
        self.done += 1;
        if self.done > KEPT_OUTCOMES {
            let oldest = self
                .entries
                .iter()
                .find(|(_, e)| matches!(e, Entry::Done { awaited: false, .. }))
                .map(|(id, _)| *id);
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
                self.done -= 1;
            }
        }
    }

    /// The outcome of `id`: `Ready(Some)` once (it is then forgotten), `Pending` while it is
    /// not complete (`waker` is woken when it is), `Ready(None)` for an id nobody watches.
    pub(crate) fn poll(
        &mut self,
        id: K,
        waker: Option<&Waker>,
    ) -> Poll<Option<Result<T, Failure>>> {
        match self.entries.get_mut(&id) {
            None => Poll::Ready(None),
            Some(Entry::Waiting { waker: slot, .. }) => {
                if let Some(waker) = waker {
                    match slot {
                        Some(old) if old.will_wake(waker) => {}
                        _ => *slot = Some(waker.clone()),
                    }
                }
                Poll::Pending
            }
            Some(Entry::Done { .. }) => match self.entries.remove(&id) {
                Some(Entry::Done { outcome, awaited }) => {
                    self.done -= usize::from(!awaited);
                    Poll::Ready(Some(*outcome))
                }
                _ => Poll::Ready(None),
            },
        }
    }

    /// Stops watching `id`.
    pub(crate) fn forget(&mut self, id: K) {
        if let Some(Entry::Done { awaited: false, .. }) = self.entries.remove(&id) {
            self.done -= 1;
        }
    }

    /// Completes everything still waiting with `failure`.
    pub(crate) fn fail_all(&mut self, failure: &Failure, wakes: &mut Wakes) {
        let waiting: alloc::vec::Vec<K> = self
            .entries
            .iter()
            .filter(|(_, e)| matches!(e, Entry::Waiting { .. }))
            .map(|(id, _)| *id)
            .collect();
        for id in waiting {
            self.complete(id, Err(failure.clone()), wakes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mqtt_session::FailReason;

    #[test]
    fn outcomes_are_kept_as_the_interest_says() {
        let mut replies: Replies<u32, &str> = Replies::new();
        replies.watch(1, Interest::Outcome);
        replies.watch(2, Interest::Failure);
        replies.watch(3, Interest::Failure);
        replies.watch(4, Interest::None);
        assert_eq!(replies.poll(1, None), Poll::Pending);
        replies.complete(1, Ok("one"), &mut Wakes::default());
        replies.complete(2, Ok("two"), &mut Wakes::default());
        replies.complete(
            3,
            Err(Failure::Failed(FailReason::Expired)),
            &mut Wakes::default(),
        );
        replies.complete(4, Ok("four"), &mut Wakes::default());
        assert_eq!(replies.poll(1, None), Poll::Ready(Some(Ok("one"))));
        assert_eq!(replies.poll(1, None), Poll::Ready(None), "taken once");
        assert_eq!(
            replies.poll(2, None),
            Poll::Ready(None),
            "successes not kept"
        );
        assert_eq!(
            replies.poll(3, None),
            Poll::Ready(Some(Err(Failure::Failed(FailReason::Expired))))
        );
        assert_eq!(replies.poll(4, None), Poll::Ready(None));
        assert_eq!(replies.done, 0);
    }

    #[test]
    fn awaited_outcomes_are_never_dropped() {
        let mut replies: Replies<u32, ()> = Replies::new();
        let n = KEPT_OUTCOMES as u32 + 5;
        for id in 0..n {
            replies.watch(id, Interest::Outcome);
            replies.complete(id, Ok(()), &mut Wakes::default());
        }
        for id in 0..n {
            assert_eq!(replies.poll(id, None), Poll::Ready(Some(Ok(()))), "{id}");
        }
    }

    #[test]
    fn kept_failures_are_bounded() {
        let mut replies: Replies<u32, ()> = Replies::new();
        let n = KEPT_OUTCOMES as u32 + 5;
        for id in 0..n {
            replies.watch(id, Interest::Failure);
            replies.complete(
                id,
                Err(Failure::Failed(FailReason::Expired)),
                &mut Wakes::default(),
            );
        }
        assert_eq!(replies.done, KEPT_OUTCOMES);
        assert_eq!(
            replies.poll(0, None),
            Poll::Ready(None),
            "the oldest went first"
        );
        assert!(matches!(
            replies.poll(n - 1, None),
            Poll::Ready(Some(Err(_)))
        ));
    }
}
