//! The session's deadlines, in one table.

use crate::time::Instant;

/// A deadline the session keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// Send PINGREQ when nothing has been sent since (MQTT-3.1.2-23).
    KeepAlive,
    /// Give up the connection when nothing has arrived since a PINGREQ.
    PingResp,
    /// Give up the connection when CONNACK has not arrived.
    ConnAck,
}

impl Timer {
    const COUNT: usize = 3;
}

/// One optional deadline per [`Timer`]; the earliest is what the caller waits for.
#[derive(Debug, Default)]
pub(crate) struct Timers([Option<Instant>; Timer::COUNT]);

impl Timers {
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.0[timer as usize] = Some(at);
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        self.0[timer as usize] = None;
    }

    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.0[timer as usize]
    }

    /// Whether `timer` is set and due at `now`.
    pub(crate) fn expired(&self, timer: Timer, now: Instant) -> bool {
        self.get(timer).is_some_and(|at| at <= now)
    }

    pub(crate) fn next(&self) -> Option<Instant> {
        self.0.iter().flatten().min().copied()
    }

    pub(crate) fn stop_all(&mut self) {
        self.0 = [None; Timer::COUNT];
    }
}
