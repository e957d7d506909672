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
    /// Whether it went out on some connection with this packet identifier: a (un)subscribe
    /// made while offline has not, and the server can't have lost it; a publish that has goes
    /// again with DUP set (MQTT-3.3.1-1).
    pub(crate) sent: bool,
    /// A publish the current connection has not carried yet, because when the connection began
    /// the window (the server's Receive Maximum, MQTT-3.3.4-7) had no room for it. It goes out
    /// as the window opens, before the queue. Changed only through [`Outgoing`], which counts.
    waiting: bool,
    pub(crate) kind: InflightKind,
}

impl Inflight {
    /// An exchange that is not waiting for room in the window.
    pub(crate) fn new(packet_id: PacketId, sent: bool, kind: InflightKind) -> Inflight {
        Inflight {
            packet_id,
            sent,
            waiting: false,
            kind,
        }
    }
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
    /// How many of `inflight` are waiting for room in the window.
    waiting: usize,
}

impl Outgoing {
    pub(crate) fn new() -> Outgoing {
        Outgoing {
            ids: PacketIds::new(),
            inflight: VecDeque::new(),
            queue: VecDeque::new(),
            publishes: 0,
            waiting: 0,
        }
    }

    /// QoS 1 and 2 publishes in flight.
    pub(crate) fn publishes_in_flight(&self) -> usize {
        self.publishes
    }

    /// Publishes in flight that the current connection carries: those not waiting for room.
    pub(crate) fn publishes_in_window(&self) -> usize {
        self.publishes - self.waiting
    }

    /// How many publishes wait for room in the window.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting
    }

    pub(crate) fn push(&mut self, entry: Inflight) {
        if matches!(entry.kind, InflightKind::Publish { .. }) {
            self.publishes += 1;
        }
        self.waiting += usize::from(entry.waiting);
        self.inflight.push_back(entry);
    }

    /// Adds a publish that waits for room in the window before it goes out.
    pub(crate) fn push_waiting(&mut self, mut entry: Inflight) {
        entry.waiting = matches!(entry.kind, InflightKind::Publish { .. });
        self.push(entry);
    }

    /// Marks the publish at `index` as waiting for room in the window, or as carried.
    pub(crate) fn set_waiting(&mut self, index: usize, waiting: bool) {
        if let Some(entry) = self.inflight.get_mut(index)
            && entry.waiting != waiting
            && matches!(entry.kind, InflightKind::Publish { .. })
        {
            entry.waiting = waiting;
            if waiting {
                self.waiting += 1;
            } else {
                self.waiting -= 1;
            }
        }
    }

    /// The first publish waiting for room in the window, no longer waiting.
    pub(crate) fn take_waiting(&mut self) -> Option<&mut Inflight> {
        if self.waiting == 0 {
            return None;
        }
        let index = self.inflight.iter().position(|e| e.waiting)?;
        self.set_waiting(index, false);
        self.inflight.get_mut(index)
    }

    pub(crate) fn position(&self, packet_id: PacketId) -> Option<usize> {
        self.inflight.iter().position(|e| e.packet_id == packet_id)
    }

    /// The handle of the publish in flight under `packet_id`, if that is a publish.
    pub(crate) fn publish_id(&self, packet_id: PacketId) -> Option<PublishId> {
        let entry = self.inflight.get(self.position(packet_id)?)?;
        match entry.kind {
            InflightKind::Publish { id, .. } => Some(id),
            _ => None,
        }
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
        self.waiting -= usize::from(entry.waiting);
        Some(entry)
    }

    /// Takes every exchange off the map, freeing all packet identifiers.
    pub(crate) fn drain(&mut self) -> VecDeque<Inflight> {
        for entry in &self.inflight {
            self.ids.release(entry.packet_id);
        }
        self.publishes = 0;
        self.waiting = 0;
        core::mem::take(&mut self.inflight)
    }
}

/// Whether a queued publish needs a slot in the in-flight window.
pub(crate) fn needs_window(publish: &Publish) -> bool {
    publish.qos != QoS::AtMostOnce
}
