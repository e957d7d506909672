//! [`Wakes`]: the tasks the core wakes, at once or once the adapter's lock is released.

use alloc::vec::Vec;
use core::task::Waker;

/// Where the core sends the wakers it wakes.
///
/// By default it wakes them at once. An adapter that shares the core between threads behind
/// a lock asks for them to be deferred ([`Core::defer_wakes`](crate::Core::defer_wakes)) and
/// wakes them after releasing the lock: a task woken on another thread while the lock is
/// still held would otherwise run straight into it and sleep again until it is released,
/// two more trips through the kernel on every round trip.
#[derive(Default)]
pub(crate) struct Wakes {
    deferred: bool,
    pending: Vec<Waker>,
}

impl Wakes {
    pub(crate) fn defer(&mut self) {
        self.deferred = true;
    }

    pub(crate) fn wake(&mut self, waker: Waker) {
        if self.deferred {
            self.pending.push(waker);
        } else {
            waker.wake();
        }
    }

    pub(crate) fn wake_by_ref(&mut self, waker: &Waker) {
        if !self.deferred {
            waker.wake_by_ref();
        } else if !self.pending.iter().any(|w| w.will_wake(waker)) {
            self.pending.push(waker.clone());
        }
    }

    /// The deferred wakers, for the adapter to wake.
    pub(crate) fn take(&mut self) -> Vec<Waker> {
        core::mem::take(&mut self.pending)
    }
}
