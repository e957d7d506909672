//! [`Locked`]: the lock guard of a core whose wake-ups are deferred.

use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::vec::Vec;

use crate::Core;

/// State behind an adapter's lock that holds a [`Core`] with deferred wake-ups
/// ([`Core::defer_wakes`]): the core itself, or a struct around it.
pub trait TakeWakes {
    /// The wakers the core woke since the last call ([`Core::take_wakes`]).
    fn take_wakes(&mut self) -> Vec<Waker>;
}

impl<C: 'static> TakeWakes for Core<C> {
    fn take_wakes(&mut self) -> Vec<Waker> {
        Core::take_wakes(self)
    }
}

/// A locked core that wakes what it woke once the lock is released.
///
/// Woken under the lock, a task or thread elsewhere would run straight into the lock and sleep
/// on it again until it is released. With deferred wake-ups every hold of the lock must end
/// with the wakers woken, or the tasks they belong to sleep for ever: taking the lock through
/// this guard makes sure of it.
///
/// ```
/// use std::sync::Mutex;
/// use mqtt_client::{Core, Locked, Settings};
/// use mqtt_client::session::{Config, Version};
///
/// let mut core: Core<()> = Core::new(Config::new("doc", Version::V311), Settings::default(), 7);
/// core.defer_wakes();
/// let shared = Mutex::new(core);
/// let core = Locked::lock(&shared);
/// assert!(!core.is_connected());
/// // Dropped: the lock is released, then the wakers are woken.
/// ```
pub struct Locked<'a, T: TakeWakes>(Option<MutexGuard<'a, T>>);

impl<'a, T: TakeWakes> Locked<'a, T> {
    /// Takes the lock (a poisoned one too: the core's state is consistent between calls).
    pub fn lock(mutex: &'a Mutex<T>) -> Self {
        Locked(Some(mutex.lock().unwrap_or_else(PoisonError::into_inner)))
    }

    /// Guards a lock taken back from a condition variable's wait.
    pub fn from_guard(guard: MutexGuard<'a, T>) -> Self {
        Locked(Some(guard))
    }

    /// The lock itself, for a condition variable to wait on: what the core woke is woken
    /// first, while the lock is still held (the waiter is about to release it).
    pub fn into_guard(mut self) -> MutexGuard<'a, T> {
        let mut guard = self.take_guard();
        for waker in guard.take_wakes() {
            waker.wake();
        }
        guard
    }

    fn take_guard(&mut self) -> MutexGuard<'a, T> {
        match self.0.take() {
            Some(guard) => guard,
            None => unreachable!("a Locked holds its guard until it is dropped"),
        }
    }
}

impl<T: TakeWakes> Deref for Locked<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        match &self.0 {
            Some(guard) => guard,
            None => unreachable!("a Locked holds its guard until it is dropped"),
        }
    }
}

impl<T: TakeWakes> DerefMut for Locked<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        match &mut self.0 {
            Some(guard) => guard,
            None => unreachable!("a Locked holds its guard until it is dropped"),
        }
    }
}

impl<T: TakeWakes> Drop for Locked<'_, T> {
    fn drop(&mut self) {
        let Some(mut guard) = self.0.take() else {
            return;
        };
        let wakes = guard.take_wakes();
        drop(guard);
        for waker in wakes {
            waker.wake();
        }
    }
}
