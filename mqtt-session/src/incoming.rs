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
    owed: VecDeque<OwedAck>,
    /// How many of `owed` are PUBACKs, so that checking Receive Maximum on every inbound
    /// publish does not walk the queue.
    owed_pubacks: usize,
    /// Inbound QoS 2 exchanges by packet identifier: a PUBLISH that comes again with one of
    /// these identifiers is never delivered twice.
    pub(crate) qos2: BTreeMap<PacketId, Qos2>,
}

impl Incoming {
    /// Unacknowledged QoS 1 and 2 publishes: what counts against the client's Receive Maximum.
    pub(crate) fn unacknowledged(&self) -> usize {
        self.owed_pubacks + self.qos2.len()
    }

    /// Whether any acknowledgement is owed.
    pub(crate) fn owes_any(&self) -> bool {
        !self.owed.is_empty()
    }

    /// Records an acknowledgement owed, behind those owed already.
    pub(crate) fn push_owed(&mut self, ack: OwedAck) {
        self.owed_pubacks += usize::from(ack.qos == QoS::AtLeastOnce);
        self.owed.push_back(ack);
    }

    /// Gives the application's reason code to the owed acknowledgement of a message it had not
    /// acknowledged yet; `false` when there is none.
    pub(crate) fn acknowledge(
        &mut self,
        packet_id: PacketId,
        qos: QoS,
        reason: ReasonCode,
    ) -> bool {
        let owed = self
            .owed
            .iter_mut()
            .find(|a| a.packet_id == packet_id && a.qos == qos && a.reason.is_none());
        match owed {
            Some(owed) => {
                owed.reason = Some(reason);
                true
            }
            None => false,
        }
    }

    /// Takes off the front every acknowledgement the application has given.
    pub(crate) fn pop_ready(&mut self) -> Option<OwedAck> {
        if self.owed.front()?.reason.is_some() {
            let ack = self.owed.pop_front()?;
            self.owed_pubacks -= usize::from(ack.qos == QoS::AtLeastOnce);
            Some(ack)
        } else {
            None
        }
    }

    /// Whether the PUBREC for `packet_id` is owed: not sent yet, waiting for its turn.
    pub(crate) fn owes_pubrec(&self, packet_id: PacketId) -> bool {
        self.owed
            .iter()
            .any(|a| a.packet_id == packet_id && a.qos == QoS::ExactlyOnce)
    }

    /// Forgets the PUBREC owed for `packet_id`, whose exchange the server moved past.
    pub(crate) fn forget_pubrec(&mut self, packet_id: PacketId) {
        self.owed
            .retain(|a| a.packet_id != packet_id || a.qos != QoS::ExactlyOnce);
    }

    /// Forgets the PUBACKs owed; the PUBRECs stay.
    pub(crate) fn forget_pubacks(&mut self) {
        self.owed.retain(|a| a.qos == QoS::ExactlyOnce);
        self.owed_pubacks = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owed(id: u16, qos: QoS) -> OwedAck {
        OwedAck {
            packet_id: PacketId::new(id).unwrap(),
            qos,
            reason: None,
        }
    }

    /// What `unacknowledged` counted before it kept a count: a walk over the queue.
    fn walked(incoming: &Incoming) -> usize {
        let pubacks = incoming.owed.iter();
        pubacks.filter(|a| a.qos == QoS::AtLeastOnce).count() + incoming.qos2.len()
    }

    #[test]
    fn unacknowledged_counts_owed_pubacks_and_qos2_exchanges() {
        let mut incoming = Incoming::default();
        incoming.push_owed(owed(1, QoS::AtLeastOnce));
        incoming.push_owed(owed(2, QoS::ExactlyOnce));
        incoming
            .qos2
            .insert(PacketId::new(2).unwrap(), Qos2::AwaitingAck);
        incoming.push_owed(owed(3, QoS::AtLeastOnce));
        assert_eq!((incoming.unacknowledged(), walked(&incoming)), (3, 3));

        // Nothing leaves before the front is acknowledged, then everything ready does.
        assert!(incoming.acknowledge(
            PacketId::new(3).unwrap(),
            QoS::AtLeastOnce,
            ReasonCode::SUCCESS
        ));
        assert!(incoming.pop_ready().is_none());
        assert!(incoming.acknowledge(
            PacketId::new(1).unwrap(),
            QoS::AtLeastOnce,
            ReasonCode::SUCCESS
        ));
        assert!(!incoming.acknowledge(
            PacketId::new(1).unwrap(),
            QoS::AtLeastOnce,
            ReasonCode::SUCCESS
        ));
        assert_eq!(incoming.pop_ready().map(|a| a.packet_id.get()), Some(1));
        assert!(incoming.pop_ready().is_none());
        assert_eq!((incoming.unacknowledged(), walked(&incoming)), (2, 2));

        incoming.forget_pubacks();
        assert_eq!((incoming.unacknowledged(), walked(&incoming)), (1, 1));
        assert!(incoming.owes_any());
        assert!(incoming.acknowledge(
            PacketId::new(2).unwrap(),
            QoS::ExactlyOnce,
            ReasonCode::SUCCESS
        ));
        assert_eq!(incoming.pop_ready().map(|a| a.qos), Some(QoS::ExactlyOnce));
        assert!(!incoming.owes_any());
    }
}
