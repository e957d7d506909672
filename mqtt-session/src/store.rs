//! Persistence of the state that must survive a process restart.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;

use mqtt_proto::{PacketId, Publish};

use crate::event::PublishId;

/// Where an outbound QoS 1 or 2 publish stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// Accepted, waiting for its turn to be sent (no packet identifier yet).
    Queued,
    /// Sent; waiting for PUBACK (QoS 1) or PUBREC (QoS 2).
    Sent,
    /// QoS 2: PUBREC received and PUBREL sent; waiting for PUBCOMP.
    Released,
}

/// An outbound publish as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingRecord {
    /// The publish's handle; handles increase in the order publishes were accepted, which is
    /// the order they must be resent in.
    pub id: PublishId,
    /// The packet, with its packet identifier once it has one.
    pub publish: Publish,
    /// Its stage.
    pub stage: Stage,
}

/// Everything a [`Store`] holds, as [`Session::from_store`](crate::Session::from_store) reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredSession {
    /// Outbound QoS 1 and 2 publishes not yet complete, in the order they were accepted.
    pub outgoing: Vec<OutgoingRecord>,
    /// Inbound QoS 2 packet identifiers whose PUBREC was sent and whose PUBREL has not arrived:
    /// a PUBLISH that comes again with one of these is not delivered again.
    pub incoming: Vec<PacketId>,
}

/// Receives every change to the session state that must outlive the process.
///
/// The session calls it as it goes: when it accepts an outbound QoS 1 or 2 publish, when that
/// publish changes stage, when it completes or fails, and when an inbound QoS 2 exchange starts
/// and ends. [`Session::from_store`](crate::Session::from_store) rebuilds a session from what a
/// store returns from [`load`](Store::load), so a restarted process resumes where it stopped.
pub trait Store {
    /// An outbound publish was accepted ([`Stage::Queued`]) or moved to a new stage.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store can't keep it. For a publish being accepted, the session
    /// refuses the publish with [`UsageError::Store`](crate::UsageError::Store); for a later
    /// stage, it goes on (the record of the earlier stage stays, and a restarted session sends
    /// the publish again from there: at least once).
    fn save_outgoing(
        &mut self,
        id: PublishId,
        publish: &Publish,
        stage: Stage,
    ) -> Result<(), StoreError>;
    /// An outbound publish completed or failed.
    fn remove_outgoing(&mut self, id: PublishId);
    /// An inbound QoS 2 publish was received and PUBREC sent.
    fn save_incoming(&mut self, packet_id: PacketId);
    /// An inbound QoS 2 exchange ended (PUBREL received), or the server lost the session.
    fn remove_incoming(&mut self, packet_id: PacketId);
    /// Everything saved and not removed.
    fn load(&self) -> StoredSession;
    /// Makes everything recorded so far durable, for a store that batches its writes: the
    /// client layer calls it before it hands out bytes to send, so that no packet reaches the
    /// broker before the state it implies is on disk. A store that writes through does nothing.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the records could not be made durable.
    fn flush(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Why a [`Store`] could not keep a record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// The store reached its size limit.
    Full {
        /// The limit, in bytes.
        limit: u64,
    },
    /// Writing failed; the text says how.
    Failed(alloc::string::String),
}

impl core::fmt::Display for StoreError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StoreError::Full { limit } => write!(f, "the store is full ({limit} bytes)"),
            StoreError::Failed(why) => write!(f, "the store failed: {why}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for StoreError {}

impl<S: Store + ?Sized> Store for alloc::boxed::Box<S> {
    fn save_outgoing(
        &mut self,
        id: PublishId,
        publish: &Publish,
        stage: Stage,
    ) -> Result<(), StoreError> {
        (**self).save_outgoing(id, publish, stage)
    }
    fn remove_outgoing(&mut self, id: PublishId) {
        (**self).remove_outgoing(id);
    }
    fn save_incoming(&mut self, packet_id: PacketId) {
        (**self).save_incoming(packet_id);
    }
    fn remove_incoming(&mut self, packet_id: PacketId) {
        (**self).remove_incoming(packet_id);
    }
    fn load(&self) -> StoredSession {
        (**self).load()
    }
    fn flush(&mut self) -> Result<(), StoreError> {
        (**self).flush()
    }
}

/// The default [`Store`]: keeps the records in memory, so a session can be rebuilt within the
/// same process (after dropping an adapter, say) but not after a restart.
///
/// Outbound records are kept in a queue sorted by [`PublishId`]. The session hands out
/// increasing identifiers and publishes mostly complete in the order they were sent, so a new
/// record is appended and a completed one is usually taken off the front: both O(1), with no
/// allocation once the queue has grown to the number of publishes in flight.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    /// Sorted by `id`, without duplicates.
    outgoing: VecDeque<OutgoingRecord>,
    incoming: BTreeMap<PacketId, ()>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// The index of the record of `id`, or the index where it belongs.
    fn position(&self, id: PublishId) -> Result<usize, usize> {
        // The common cases first: a new publish goes at the back and moves on to its next
        // stage at once, and the oldest completes first.
        let (Some(front), Some(back)) = (self.outgoing.front(), self.outgoing.back()) else {
            return Err(0);
        };
        if back.id < id {
            return Err(self.outgoing.len());
        }
        if id <= front.id {
            return if id == front.id { Ok(0) } else { Err(0) };
        }
        // The session numbers its publishes one after the other, so where the records are
        // dense (every publish stored, none completed out of order) `id` sits at its distance
        // from the front: one look instead of a search through every publish still queued.
        let distance = usize::try_from(id.0 - front.id.0).unwrap_or(usize::MAX);
        if self.outgoing.get(distance).is_some_and(|r| r.id == id) {
            return Ok(distance);
        }
        self.outgoing.binary_search_by_key(&id, |record| record.id)
    }
}

impl Store for MemoryStore {
    fn save_outgoing(
        &mut self,
        id: PublishId,
        publish: &Publish,
        stage: Stage,
    ) -> Result<(), StoreError> {
        match self.position(id) {
            Ok(index) => {
                if let Some(record) = self.outgoing.get_mut(index) {
                    record.stage = stage;
                    if record.publish.packet_id != publish.packet_id {
                        record.publish.packet_id = publish.packet_id;
                    }
                }
            }
            Err(index) => {
                let publish = publish.clone();
                let record = OutgoingRecord { id, publish, stage };
                if index == self.outgoing.len() {
                    self.outgoing.push_back(record);
                } else {
                    self.outgoing.insert(index, record);
                }
            }
        }
        Ok(())
    }

    fn remove_outgoing(&mut self, id: PublishId) {
        if let Ok(index) = self.position(id) {
            self.outgoing.remove(index);
        }
    }

    fn save_incoming(&mut self, packet_id: PacketId) {
        self.incoming.insert(packet_id, ());
    }

    fn remove_incoming(&mut self, packet_id: PacketId) {
        self.incoming.remove(&packet_id);
    }

    fn load(&self) -> StoredSession {
        StoredSession {
            outgoing: self.outgoing.iter().cloned().collect(),
            incoming: self.incoming.keys().copied().collect(),
        }
    }
}

/// A [`Store`] that keeps nothing: for applications that do not need to resume after a
/// restart, at no cost per message. The session's own memory still carries its state across
/// reconnections.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoStore;

impl Store for NoStore {
    fn save_outgoing(
        &mut self,
        _id: PublishId,
        _publish: &Publish,
        _stage: Stage,
    ) -> Result<(), StoreError> {
        Ok(())
    }
    fn remove_outgoing(&mut self, _id: PublishId) {}
    fn save_incoming(&mut self, _packet_id: PacketId) {}
    fn remove_incoming(&mut self, _packet_id: PacketId) {}
    fn load(&self) -> StoredSession {
        StoredSession::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use alloc::vec;

    use mqtt_proto::TopicName;
    use proptest::prelude::*;

    fn publish(packet_id: Option<u16>, payload: &'static [u8]) -> Publish {
        let mut publish = Publish::new(TopicName::new("a/b").unwrap(), payload);
        publish.packet_id = packet_id.and_then(PacketId::new);
        publish
    }

    fn ids(store: &MemoryStore) -> Vec<u64> {
        store.load().outgoing.iter().map(|r| r.id.get()).collect()
    }

    #[test]
    fn load_gives_records_in_id_order_whatever_the_order_saved() {
        let mut store = MemoryStore::new();
        for id in [3, 1, 2, 5, 4] {
            store
                .save_outgoing(PublishId(id), &publish(None, b"x"), Stage::Queued)
                .unwrap();
        }
        assert_eq!(ids(&store), [1, 2, 3, 4, 5]);
    }

    #[test]
    fn saving_again_changes_only_stage_and_packet_id_in_place() {
        let mut store = MemoryStore::new();
        store
            .save_outgoing(PublishId(1), &publish(None, b"first"), Stage::Queued)
            .unwrap();
        store
            .save_outgoing(PublishId(2), &publish(None, b"second"), Stage::Queued)
            .unwrap();
        store
            .save_outgoing(PublishId(1), &publish(Some(7), b"other"), Stage::Sent)
            .unwrap();
        let loaded = store.load().outgoing;
        assert_eq!(loaded.len(), 2);
        assert_eq!(loaded[0].id, PublishId(1));
        assert_eq!(loaded[0].stage, Stage::Sent);
        assert_eq!(loaded[0].publish, publish(Some(7), b"first"));
        assert_eq!(loaded[1].publish, publish(None, b"second"));
    }

    #[test]
    fn remove_takes_records_from_anywhere_and_ignores_unknown_ids() {
        let mut store = MemoryStore::new();
        for id in 1..=5 {
            store
                .save_outgoing(PublishId(id), &publish(Some(id as u16), b"x"), Stage::Sent)
                .unwrap();
        }
        for id in [1, 3, 5, 9, 0] {
            store.remove_outgoing(PublishId(id));
        }
        assert_eq!(ids(&store), [2, 4]);
        store.remove_outgoing(PublishId(4));
        store.remove_outgoing(PublishId(2));
        assert_eq!(ids(&store), Vec::<u64>::new());
        store
            .save_outgoing(PublishId(6), &publish(None, b"x"), Stage::Queued)
            .unwrap();
        assert_eq!(ids(&store), [6]);
    }

    #[test]
    fn incoming_identifiers_load_sorted_once_each() {
        let mut store = MemoryStore::new();
        for id in [5, 2, 9, 2] {
            store.save_incoming(PacketId::new(id).unwrap());
        }
        store.remove_incoming(PacketId::new(9).unwrap());
        store.remove_incoming(PacketId::new(1).unwrap());
        let expected = vec![PacketId::new(2).unwrap(), PacketId::new(5).unwrap()];
        assert_eq!(store.load().incoming, expected);
    }

    /// The store as it was first written, on a `BTreeMap`: the reference the queue must match.
    #[derive(Default)]
    struct Model(BTreeMap<PublishId, OutgoingRecord>);

    impl Model {
        fn save(&mut self, id: PublishId, publish: &Publish, stage: Stage) {
            match self.0.get_mut(&id) {
                Some(record) => {
                    record.stage = stage;
                    record.publish.packet_id = publish.packet_id;
                }
                None => {
                    let publish = publish.clone();
                    self.0.insert(id, OutgoingRecord { id, publish, stage });
                }
            }
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Save(u64, Option<u16>, u8),
        Remove(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..24u64, proptest::option::of(1..4u16), 0..3u8)
                .prop_map(|(id, packet_id, stage)| Op::Save(id, packet_id, stage)),
            (0..24u64).prop_map(Op::Remove),
        ]
    }

    proptest! {
        #[test]
        fn behaves_like_the_btree_map_it_replaced(ops in proptest::collection::vec(op(), 0..64)) {
            let mut store = MemoryStore::new();
            let mut model = Model::default();
            for op in ops {
                match op {
                    Op::Save(id, packet_id, stage) => {
                        let stage = [Stage::Queued, Stage::Sent, Stage::Released][usize::from(stage)];
                        let publish = publish(packet_id, b"x");
                        store.save_outgoing(PublishId(id), &publish, stage).unwrap();
                        model.save(PublishId(id), &publish, stage);
                    }
                    Op::Remove(id) => {
                        store.remove_outgoing(PublishId(id));
                        model.0.remove(&PublishId(id));
                    }
                }
                let expected: Vec<OutgoingRecord> = model.0.values().cloned().collect();
                prop_assert_eq!(store.load().outgoing, expected);
            }
        }
    }
}
