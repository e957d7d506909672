//! [`WakeFlag`]: how the core wakes the connection task without the task taking the core's
//! lock to wait.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

/// A flag the core's driver waker raises, and the task's waker to wake with it.
///
/// The task is woken only while it waits ([`poll`](Self::poll) returned `Pending` and
/// [`disarm`](Self::disarm) has not been called since). A command that comes while the task is
/// busy only raises the flag, which the task finds at its next wait: waking a running task
/// would make the runtime schedule it again, and tokio then wakes a second worker thread to
/// share the work, which finds none and goes back to sleep, on every round trip.
#[derive(Default)]
pub(crate) struct WakeFlag {
    raised: AtomicBool,
    /// The task waits and wants waking.
    armed: AtomicBool,
    task: Mutex<Option<Waker>>,
}

impl WakeFlag {
    /// `Ready` once raised since the last `Ready`; otherwise registers the task and arms.
    pub(crate) fn poll(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.raised.swap(false, Ordering::SeqCst) {
            return Poll::Ready(());
        }
        {
            let mut task = self.task.lock().unwrap_or_else(PoisonError::into_inner);
            match &*task {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                _ => *task = Some(cx.waker().clone()),
            }
        }
        self.armed.store(true, Ordering::SeqCst);
        // Raised while arming: not lost (the raiser may have seen the flag down).
        if self.raised.swap(false, Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// The task stopped waiting (something else woke it): raising no longer wakes it.
    pub(crate) fn disarm(&self) {
        self.armed.store(false, Ordering::SeqCst);
    }
}

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.raised.store(true, Ordering::SeqCst);
        if self.armed.swap(false, Ordering::SeqCst) {
            // Woken outside the lock, which the task takes when it polls.
            let task = self
                .task
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            if let Some(task) = task {
                task.wake();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts its wake-ups.
    #[derive(Default)]
    struct Count(std::sync::atomic::AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn wakes_a_waiting_task_once_and_a_busy_one_never() {
        let flag = Arc::new(WakeFlag::default());
        let count = Arc::new(Count::default());
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let driver = Waker::from(flag.clone());

        assert!(flag.poll(&mut cx).is_pending());
        driver.wake_by_ref();
        driver.wake_by_ref();
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            1,
            "woken once while waiting"
        );
        assert!(flag.poll(&mut cx).is_ready(), "the flag is up");

        // Busy (woken by something else): raising does not wake, the next wait sees it.
        assert!(flag.poll(&mut cx).is_pending());
        flag.disarm();
        driver.wake_by_ref();
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "not woken while busy");
        assert!(flag.poll(&mut cx).is_ready(), "not lost");
        assert!(flag.poll(&mut cx).is_pending());
    }
}
