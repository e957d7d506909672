//! The session's own clock type: it never reads a clock, the caller hands time in.

use core::ops::{Add, Sub};
use core::time::Duration;

/// A point in time, in milliseconds since an origin the caller chooses.
///
/// The session never reads a clock. Adapters convert their runtime's instant at the boundary,
/// usually as the milliseconds elapsed since they started: `std::time::Instant`,
/// `tokio::time::Instant` and `embassy_time::Instant` all fit.
///
/// ```
/// use core::time::Duration;
/// use mqtt_session::Instant;
///
/// let start = Instant::from_millis(1_000);
/// assert_eq!(start + Duration::from_secs(2), Instant::from_millis(3_000));
/// assert_eq!(Instant::from_millis(3_000) - start, Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The origin.
    pub const ZERO: Instant = Instant(0);

    /// The instant `millis` milliseconds after the origin.
    pub const fn from_millis(millis: u64) -> Instant {
        Instant(millis)
    }

    /// Milliseconds since the origin.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// The time from `earlier` to `self`, or zero when `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// Rounds a partial millisecond up, so that a deadline is never earlier than asked (a
    /// timeout of 0.4 ms is 1 ms, not none). Saturates at the end of time rather than
    /// overflowing.
    ///
    /// ```
    /// use core::time::Duration;
    /// use mqtt_session::Instant;
    ///
    /// assert_eq!(Instant::ZERO + Duration::from_micros(299_400), Instant::from_millis(300));
    /// assert_eq!(Instant::ZERO + Duration::MAX, Instant::from_millis(u64::MAX));
    /// ```
    fn add(self, rhs: Duration) -> Instant {
        let whole = u64::try_from(rhs.as_millis()).unwrap_or(u64::MAX);
        let millis = whole.saturating_add(u64::from(!rhs.subsec_nanos().is_multiple_of(1_000_000)));
        Instant(self.0.saturating_add(millis))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    /// Saturates at zero.
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}
