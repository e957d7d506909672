//! Packet identifier allocation.

use alloc::vec::Vec;

use mqtt_proto::PacketId;

const WORDS: usize = 65_536 / 64;

/// The set of packet identifiers in use by the client's own exchanges (MQTT-2.3.1-2): a bitmap
/// of the identifiers and a cursor, so allocation is O(1) in the usual case and never hands out
/// an identifier that is still in use. The bitmap grows with the highest identifier used, up to
/// 8 KiB for all 65,535: an idle or quiet client keeps a few words.
pub(crate) struct PacketIds {
    used: Vec<u64>,
    next: PacketId,
    in_use: usize,
}

impl PacketIds {
    pub(crate) fn new() -> PacketIds {
        PacketIds {
            used: Vec::new(),
            next: PacketId::MIN,
            in_use: 0,
        }
    }

    fn bit(id: PacketId) -> (usize, u64) {
        let n = usize::from(id.get());
        (n / 64, 1 << (n % 64))
    }

    pub(crate) fn is_used(&self, id: PacketId) -> bool {
        let (word, mask) = Self::bit(id);
        self.used.get(word).is_some_and(|w| w & mask != 0)
    }

    /// The next free identifier after the last one handed out, or `None` when all 65,535 are in
    /// use.
    pub(crate) fn allocate(&mut self) -> Option<PacketId> {
        if self.in_use >= usize::from(u16::MAX) {
            return None;
        }
        let mut id = self.next;
        while self.is_used(id) {
            id = id.next();
        }
        self.reserve(id);
        self.next = id.next();
        Some(id)
    }

    /// Marks `id` as used (for state restored from a store).
    pub(crate) fn reserve(&mut self, id: PacketId) {
        let (word, mask) = Self::bit(id);
        if word >= self.used.len() {
            // Grow by at least a quarter, as identifiers are handed out in order.
            let len = (word + 1)
                .max(self.used.len() + self.used.len() / 4)
                .min(WORDS);
            self.used.resize(len, 0);
        }
        if self.used[word] & mask == 0 {
            self.used[word] |= mask;
            self.in_use += 1;
        }
    }

    pub(crate) fn release(&mut self, id: PacketId) {
        let (word, mask) = Self::bit(id);
        if self.is_used(id) {
            self.used[word] &= !mask;
            self.in_use -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_skips_ids_in_use_and_wraps() {
        let mut ids = PacketIds::new();
        let a = ids.allocate().unwrap();
        let b = ids.allocate().unwrap();
        assert_eq!((a.get(), b.get()), (1, 2));
        ids.release(a);
        // The cursor moves on rather than reusing 1 at once.
        assert_eq!(ids.allocate().unwrap().get(), 3);
        for _ in 3..u16::MAX {
            ids.allocate().unwrap();
        }
        // Only 1 is free now: the cursor wraps to it.
        assert_eq!(ids.allocate().unwrap().get(), 1);
        assert!(ids.allocate().is_none());
        assert!(ids.is_used(b));
    }
}
