//! The server's QoS 1 and 2 exchanges, on the receiving side.

use alloc::collections::{BTreeMap, VecDeque};

use mqtt_proto::{PacketId, Publish, QoS, ReasonCode};

/// An acknowledgement owed to the server, in arrival order (MQTT-4.6.0-2, MQTT-4.6.0-3).
#[derive(Debug)]
pub(crate) struct OwedAck {
    pub(crate) packet_id: PacketId,
    pub(crate) qos: QoS,
    /// `Some` once the application has acknowledged; sent when everything before it is.
    pub(crate) reason: Option<ReasonCode>,
}

/// Where an inbound QoS 2 exchange stands.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Qos2 {
    /// Delivered, waiting for the application's acknowledgement before PUBREC.
    AwaitingAck,
    /// PUBREC sent, waiting for PUBREL; holds the message when it is delivered on PUBREL.
    Received(Option<alloc::boxed::Box<Publish>>),
    /// Delivered on PUBREL, waiting for the application's acknowledgement before PUBCOMP.
    AwaitingRelAck,
}

#[derive(Default)]
pub(crate) struct Incoming {
    /// PUBACKs and PUBRECs owed, in arrival order.
    pub(crate) owed: VecDeque<OwedAck>,
    /// Inbound QoS 2 exchanges by packet identifier: a PUBLISH that comes again with one of
    /// these identifiers is never delivered twice.
    pub(crate) qos2: BTreeMap<PacketId, Qos2>,
}

impl Incoming {
    /// Unacknowledged QoS 1 and 2 publishes: what counts against the client's Receive Maximum.
    pub(crate) fn unacknowledged(&self) -> usize {
        self.owed
            .iter()
            .filter(|a| a.qos == QoS::AtLeastOnce)
            .count()
            + self.qos2.len()
    }

    /// Takes off the front every acknowledgement the application has given.
    pub(crate) fn pop_ready(&mut self) -> Option<OwedAck> {
        if self.owed.front()?.reason.is_some() {
            self.owed.pop_front()
        } else {
            None
        }
    }
}
