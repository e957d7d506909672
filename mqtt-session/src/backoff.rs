//! When to try again after a connection is lost: exponential backoff with jitter. The session
//! draws no random numbers; the adapter passes one in.

use core::time::Duration;

use crate::time::Instant;

/// Exponential backoff with jitter between reconnection attempts.
///
/// ```
/// use core::time::Duration;
/// use mqtt_session::Backoff;
///
/// let backoff = Backoff { jitter: false, ..Backoff::default() };
/// assert_eq!(backoff.delay(0, 0.5), Duration::from_millis(100));
/// assert_eq!(backoff.delay(3, 0.5), Duration::from_millis(800));
/// assert_eq!(backoff.delay(30, 0.5), Duration::from_secs(30));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The wait before the first attempt after a connection is lost.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
    /// How much the wait grows after each failed attempt (at least 1).
    pub multiplier: f64,
    /// Randomize each wait between half and all of its value, so that many clients that lost
    /// the same broker don't come back at once.
    pub jitter: bool,
}

impl Default for Backoff {
    /// 100 ms doubling up to 30 s, with jitter.
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(30),
            multiplier: 2.0,
            jitter: true,
        }
    }
}

impl Backoff {
    /// The wait before attempt `attempt` (0 for the first), given `random`, a number the
    /// caller drew uniformly from `[0, 1)` (used only with [`jitter`](Self::jitter)).
    pub fn delay(&self, attempt: u32, random: f64) -> Duration {
        let max = self.max.as_secs_f64();
        let mut secs = self.initial.as_secs_f64().min(max);
        for _ in 0..attempt {
            if secs >= max {
                break;
            }
            secs = (secs * self.multiplier.max(1.0)).min(max);
        }
        if self.jitter {
            secs *= 0.5 + random.clamp(0.0, 1.0) * 0.5;
        }
        Duration::from_secs_f64(secs)
    }
}

/// How long an accepted connection must last, with no packet exchanged, for the backoff to
/// start again from its initial wait.
const STABLE: Duration = Duration::from_secs(10);

/// Counts reconnection attempts for a [`Backoff`].
///
/// A connection that worked starts the backoff again, so a cut after minutes of traffic is
/// followed by a reconnection after the initial wait (with jitter). *Worked* means the broker
/// accepted it and then sent at least one more packet ([`worked`](Self::worked)), or it stayed
/// up 10 s (or the backoff's maximum if shorter). Only failures climb the ladder: a transport
/// that does not open, a connection that ends before CONNACK, or one the broker accepts and
/// drops before anything else passes (a flapping broker, a session it can't resume).
#[derive(Debug, Clone)]
pub struct Reconnect {
    backoff: Backoff,
    attempt: u32,
    connected_at: Option<Instant>,
    worked: bool,
}

impl Reconnect {
    /// Attempts counted for `backoff`, none yet.
    pub fn new(backoff: Backoff) -> Reconnect {
        Reconnect {
            backoff,
            attempt: 0,
            connected_at: None,
            worked: false,
        }
    }

    /// The backoff.
    pub fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    /// Failed or short-lived connections in a row.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// A connection was accepted at `now`.
    pub fn connected(&mut self, now: Instant) {
        self.connected_at = Some(now);
        self.worked = false;
    }

    /// The accepted connection exchanged packets: it worked
    /// ([`Session::exchanged`](crate::Session::exchanged)).
    pub fn worked(&mut self) {
        self.worked = true;
    }

    /// The connection ended, or an attempt failed, at `now`: the wait before the next attempt.
    /// `random` is drawn uniformly from `[0, 1)` by the caller.
    pub fn next_delay(&mut self, now: Instant, random: f64) -> Duration {
        let worked = core::mem::take(&mut self.worked);
        let stable = self.connected_at.take().is_some_and(|at| {
            worked || now.saturating_duration_since(at) >= self.backoff.max.min(STABLE)
        });
        self.attempt = if stable {
            0
        } else {
            self.attempt.saturating_add(1)
        };
        self.backoff.delay(self.attempt.saturating_sub(1), random)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact() -> Backoff {
        Backoff {
            jitter: false,
            ..Backoff::default()
        }
    }

    #[test]
    fn delay_grows_and_caps() {
        let b = exact();
        let ms: alloc::vec::Vec<u128> = (0..12).map(|a| b.delay(a, 0.0).as_millis()).collect();
        assert_eq!(&ms[..5], [100, 200, 400, 800, 1600]);
        assert_eq!(ms[11], 30_000);
        assert_eq!(b.delay(u32::MAX, 0.0), Duration::from_secs(30));
    }

    #[test]
    fn jitter_stays_between_half_and_all() {
        let b = Backoff::default();
        assert_eq!(b.delay(2, 0.0), Duration::from_millis(200));
        assert_eq!(
            b.delay(2, 0.999_999),
            Duration::from_secs_f64(0.4 * (0.5 + 0.999_999 * 0.5))
        );
        assert_eq!(
            b.delay(2, 7.0),
            Duration::from_millis(400),
            "out of range is clamped"
        );
    }

    #[test]
    fn short_connections_count_as_failures_and_long_ones_reset() {
        let mut r = Reconnect::new(exact());
        let t = |s: u64| Instant::from_millis(s * 1000);
        assert_eq!(r.next_delay(t(0), 0.0), Duration::from_millis(100)); // first attempt failed
        assert_eq!(r.next_delay(t(1), 0.0), Duration::from_millis(200)); // and again
        r.connected(t(2));
        assert_eq!(
            r.next_delay(t(3), 0.0),
            Duration::from_millis(400),
            "dropped after 1 s"
        );
        r.connected(t(4));
        assert_eq!(
            r.next_delay(t(20), 0.0),
            Duration::from_millis(100),
            "stayed up 16 s"
        );
        assert_eq!(r.attempt(), 0);
    }

    #[test]
    fn a_connection_that_worked_resets_however_short() {
        let mut r = Reconnect::new(exact());
        let t = |ms: u64| Instant::from_millis(ms);
        for n in 0..5 {
            r.next_delay(t(n), 0.0); // failures climb
        }
        assert_eq!(r.attempt(), 5);
        r.connected(t(100));
        r.worked();
        assert_eq!(r.next_delay(t(600), 0.0), Duration::from_millis(100));
        assert_eq!(r.attempt(), 0);
        // Accepted but nothing else passed: a failure again.
        r.connected(t(700));
        assert_eq!(r.next_delay(t(800), 0.0), Duration::from_millis(100));
        assert_eq!(r.attempt(), 1);
        assert_eq!(r.next_delay(t(900), 0.0), Duration::from_millis(200));
    }
}
