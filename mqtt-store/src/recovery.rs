//! What [`FileStore::open`](crate::FileStore::open) found and repaired.

use core::fmt;

/// The report of opening a log: how many records it replayed and what it dropped.
///
/// A log that a crash or a power loss interrupted may end in a record that was being written:
/// that is expected, and reported here as [`DamageKind::Incomplete`]. Damage anywhere else
/// (a checksum that does not match, a record that makes no sense) means the file was changed or
/// the storage failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recovery {
    /// Records replayed from the log and kept.
    pub records: u64,
    /// The damaged tail that was dropped, if any: the file was cut there, so that new records
    /// follow good ones.
    pub damage: Option<Damage>,
    /// A compaction interrupted by a crash had left its temporary file, which was removed; the
    /// log itself was complete either way (the old one, or the new one already renamed over it).
    pub stale_compaction: bool,
}

impl Recovery {
    /// `true` when nothing was dropped.
    pub fn is_clean(&self) -> bool {
        self.damage.is_none()
    }

    /// The number of bytes dropped from the end of the log.
    pub fn dropped_bytes(&self) -> u64 {
        self.damage
            .as_ref()
            .map_or(0, |damage| damage.dropped_bytes)
    }
}

/// Where a log stopped making sense, and how much was dropped from there to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Damage {
    /// The offset of the first damaged byte's record (or of the file's header).
    pub offset: u64,
    /// Bytes dropped: from `offset` to the end of the file as it was found.
    pub dropped_bytes: u64,
    /// What was wrong there.
    pub kind: DamageKind,
}

/// What was wrong at the start of a damaged tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DamageKind {
    /// The file ends inside the header or a record: a write that a crash cut short, or a
    /// truncated file. A length field claiming more bytes than remain reads as this too.
    Incomplete,
    /// The record's CRC-32 does not match its bytes.
    Checksum,
    /// The checksum matches but the record is not one this version writes.
    Invalid,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            DamageKind::Incomplete => "an incomplete record",
            DamageKind::Checksum => "a record whose checksum does not match",
            DamageKind::Invalid => "an invalid record",
        };
        write!(
            f,
            "{what} at offset {}: {} bytes dropped",
            self.offset, self.dropped_bytes
        )
    }
}
