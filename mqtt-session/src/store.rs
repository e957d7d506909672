//! Persistence of the state that must survive a process restart.

use alloc::collections::BTreeMap;
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
    /// An outbound publish was accepted or moved to a new stage.
    fn save_outgoing(&mut self, id: PublishId, publish: &Publish, stage: Stage);
    /// An outbound publish completed or failed.
    fn remove_outgoing(&mut self, id: PublishId);
    /// An inbound QoS 2 publish was received and PUBREC sent.
    fn save_incoming(&mut self, packet_id: PacketId);
    /// An inbound QoS 2 exchange ended (PUBREL received), or the server lost the session.
    fn remove_incoming(&mut self, packet_id: PacketId);
    /// Everything saved and not removed.
    fn load(&self) -> StoredSession;
}

/// The default [`Store`]: keeps the records in memory, so a session can be rebuilt within the
/// same process (after dropping an adapter, say) but not after a restart.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    outgoing: BTreeMap<PublishId, OutgoingRecord>,
    incoming: BTreeMap<PacketId, ()>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

impl Store for MemoryStore {
    fn save_outgoing(&mut self, id: PublishId, publish: &Publish, stage: Stage) {
        match self.outgoing.get_mut(&id) {
            Some(record) => {
                record.stage = stage;
                if record.publish.packet_id != publish.packet_id {
                    record.publish.packet_id = publish.packet_id;
                }
            }
            None => {
                let publish = publish.clone();
                self.outgoing
                    .insert(id, OutgoingRecord { id, publish, stage });
            }
        }
    }

    fn remove_outgoing(&mut self, id: PublishId) {
        self.outgoing.remove(&id);
    }

    fn save_incoming(&mut self, packet_id: PacketId) {
        self.incoming.insert(packet_id, ());
    }

    fn remove_incoming(&mut self, packet_id: PacketId) {
        self.incoming.remove(&packet_id);
    }

    fn load(&self) -> StoredSession {
        StoredSession {
            outgoing: self.outgoing.values().cloned().collect(),
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
    fn save_outgoing(&mut self, _id: PublishId, _publish: &Publish, _stage: Stage) {}
    fn remove_outgoing(&mut self, _id: PublishId) {}
    fn save_incoming(&mut self, _packet_id: PacketId) {}
    fn remove_incoming(&mut self, _packet_id: PacketId) {}
    fn load(&self) -> StoredSession {
        StoredSession::default()
    }
}
