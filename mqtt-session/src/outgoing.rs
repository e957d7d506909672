//! The client's own exchanges: publishes waiting for their turn, and everything in flight.

use alloc::collections::VecDeque;

use mqtt_proto::{PacketId, Publish, QoS, Subscribe, Unsubscribe};

use crate::event::{PublishId, RequestId};
use crate::ids::PacketIds;
use crate::time::Instant;

/// A publish accepted but not sent yet.
#[derive(Debug)]
pub(crate) struct Queued {
    pub(crate) id: PublishId,
    /// The packet, without a packet identifier.
    pub(crate) publish: Publish,
    /// When it was accepted, for the Message Expiry Interval.
    pub(crate) accepted: Instant,
}

/// One exchange in flight, under its packet identifier.
#[derive(Debug)]
pub(crate) struct Inflight {
    pub(crate) packet_id: PacketId,
    /// Whether it went out on some connection; a (un)subscribe made while offline has not,
    /// and the server can't have lost it.
    pub(crate) sent: bool,
    pub(crate) kind: InflightKind,
}

#[derive(Debug)]
pub(crate) enum InflightKind {
    /// A QoS 1 or 2 PUBLISH; `released` once PUBREC arrived and PUBREL went out.
    Publish {
        id: PublishId,
        publish: Publish,
        released: bool,
    },
    Subscribe {
        id: RequestId,
        packet: Subscribe,
    },
    Unsubscribe {
        id: RequestId,
        packet: Unsubscribe,
    },
}

/// The one map of in-flight state: exchanges in the order they were first sent, which is the
/// order they are resent in (MQTT-4.6.0-1), found by packet identifier. Acknowledgements
/// usually arrive in order, so the search from the front is short.
pub(crate) struct Outgoing {
    pub(crate) ids: PacketIds,
    pub(crate) inflight: VecDeque<Inflight>,
    pub(crate) queue: VecDeque<Queued>,
    /// How many of `inflight` are publishes: what counts against Receive Maximum.
    publishes: usize,
}

impl Outgoing {
    pub(crate) fn new() -> Outgoing {
        Outgoing {
            ids: PacketIds::new(),
            inflight: VecDeque::new(),
            queue: VecDeque::new(),
            publishes: 0,
        }
    }

    /// QoS 1 and 2 publishes in flight.
    pub(crate) fn publishes_in_flight(&self) -> usize {
        self.publishes
    }

    pub(crate) fn push(&mut self, entry: Inflight) {
        if matches!(entry.kind, InflightKind::Publish { .. }) {
            self.publishes += 1;
        }
        self.inflight.push_back(entry);
    }

    pub(crate) fn position(&self, packet_id: PacketId) -> Option<usize> {
        self.inflight.iter().position(|e| e.packet_id == packet_id)
    }

    pub(crate) fn get_mut(&mut self, packet_id: PacketId) -> Option<&mut Inflight> {
        let index = self.position(packet_id)?;
        self.inflight.get_mut(index)
    }

    /// Moves an exchange behind all the others, keeping its packet identifier.
    pub(crate) fn move_to_back(&mut self, packet_id: PacketId) {
        if let Some(entry) = self
            .position(packet_id)
            .and_then(|i| self.inflight.remove(i))
        {
            self.inflight.push_back(entry);
        }
    }

    /// Takes the exchange off the map and frees its packet identifier.
    pub(crate) fn remove(&mut self, packet_id: PacketId) -> Option<Inflight> {
        let index = self.position(packet_id)?;
        let entry = self.inflight.remove(index)?;
        self.ids.release(packet_id);
        if matches!(entry.kind, InflightKind::Publish { .. }) {
            self.publishes -= 1;
        }
        Some(entry)
    }

    /// Takes every exchange off the map, freeing all packet identifiers.
    pub(crate) fn drain(&mut self) -> VecDeque<Inflight> {
        for entry in &self.inflight {
            self.ids.release(entry.packet_id);
        }
        self.publishes = 0;
        core::mem::take(&mut self.inflight)
    }
}

/// Whether a queued publish needs a slot in the in-flight window.
pub(crate) fn needs_window(publish: &Publish) -> bool {
    publish.qos != QoS::AtMostOnce
}
