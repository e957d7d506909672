//! [`ReadRoom`]: how much a driver offers the socket's next read.

/// How many bytes a driver offers the socket's next read: 1 KiB to start, so an idle client
/// holds little, doubled each time a read fills all the room it had, up to 64 KiB, so that a
/// busy client reads many packets per system call. Every adapter sizes its reads with it;
/// firmware picks smaller bounds with [`between`](Self::between).
///
/// ```
/// use mqtt_client::ReadRoom;
///
/// let mut room = ReadRoom::new();
/// assert_eq!(room.get(), ReadRoom::MIN);
/// room.record(100); // a short read: the room stays
/// assert_eq!(room.get(), 1024);
/// room.record(1024); // the read filled it: twice the room next time
/// assert_eq!(room.get(), 2048);
/// for _ in 0..10 {
///     room.record(room.get());
/// }
/// assert_eq!(room.get(), ReadRoom::MAX);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadRoom {
    room: usize,
    max: usize,
}

impl ReadRoom {
    /// The room of a new connection's first read.
    pub const MIN: usize = 1024;
    /// The most room a read gets.
    pub const MAX: usize = 64 * 1024;

    /// [`MIN`](Self::MIN) bytes of room, growing up to [`MAX`](Self::MAX).
    pub const fn new() -> ReadRoom {
        ReadRoom::between(Self::MIN, Self::MAX)
    }

    /// `min` bytes of room (at least 1), growing up to `max` (at least `min`).
    ///
    /// ```
    /// let mut room = mqtt_client::ReadRoom::between(256, 4096);
    /// room.record(256);
    /// assert_eq!(room.get(), 512);
    /// ```
    pub const fn between(min: usize, max: usize) -> ReadRoom {
        let room = if min == 0 { 1 } else { min };
        let max = if max < room { room } else { max };
        ReadRoom { room, max }
    }

    /// How many bytes to offer the next read.
    pub const fn get(&self) -> usize {
        self.room
    }

    /// A read took `read` bytes: when that was all the room it had, the next gets twice as
    /// much, up to the maximum.
    pub fn record(&mut self, read: usize) {
        if read >= self.room {
            self.room = self.room.saturating_mul(2).min(self.max);
        }
    }
}

impl Default for ReadRoom {
    fn default() -> Self {
        ReadRoom::new()
    }
}
