//! SUBSCRIBE (MQTT 5.0 §3.8, MQTT 3.1.1 §3.8).

use alloc::vec::Vec;
use core::num::NonZeroU32;

use bytes::{BufMut, Bytes};
use nom::number::complete::be_u8;

use super::PacketType;
use crate::error::{DecodeError, EncodeError};
use crate::primitive::{
    PacketId, field_len, finish, first_byte, packet_id, packet_len, put_field, put_fixed_header,
    string,
};
use crate::property::{self, Properties, PropertyId, UserProperty, Value, ValueRef};
use crate::qos::QoS;
use crate::topic::TopicFilter;
use crate::version::Version;

/// SUBSCRIBE: asks for the messages of one or more topic filters (MQTT 5.0 §3.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    /// The packet identifier the SUBACK answers.
    pub packet_id: PacketId,
    /// The topic filters and their options, at least one (MQTT-3.8.3-3).
    pub subscriptions: Vec<Subscription>,
    /// MQTT 5.0 properties.
    pub properties: SubscribeProperties,
}

/// One topic filter of a SUBSCRIBE with its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The topic filter.
    pub filter: TopicFilter,
    /// The subscription options.
    pub options: SubscriptionOptions,
}

impl Subscription {
    /// A subscription at `qos` with the other options at their defaults.
    pub fn new(filter: TopicFilter, qos: QoS) -> Subscription {
        Subscription {
            filter,
            options: SubscriptionOptions {
                qos,
                ..SubscriptionOptions::default()
            },
        }
    }
}

/// Subscription Options (MQTT 5.0 §3.8.3.1). MQTT 3.1.1 has only the QoS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SubscriptionOptions {
    /// Maximum QoS the server may send messages of this subscription with.
    pub qos: QoS,
    /// No Local: don't send the client the messages it published itself. Not allowed on shared
    /// subscriptions (MQTT-3.8.3-4).
    pub no_local: bool,
    /// Retain As Published: keep the RETAIN flag of forwarded messages as it was published.
    pub retain_as_published: bool,
    /// When retained messages are sent.
    pub retain_handling: RetainHandling,
}

/// When the server sends retained messages for a new subscription (MQTT 5.0 §3.8.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RetainHandling {
    /// 0: send retained messages at the time of the subscribe.
    #[default]
    SendAtSubscribe,
    /// 1: send them only if the subscription did not exist yet.
    SendAtSubscribeIfNew,
    /// 2: never send them for this subscribe.
    DoNotSend,
}

impl SubscriptionOptions {
    const RESERVED: u8 = 0b1100_0000;

    fn to_byte(self) -> u8 {
        let retain_handling = match self.retain_handling {
            RetainHandling::SendAtSubscribe => 0,
            RetainHandling::SendAtSubscribeIfNew => 1,
            RetainHandling::DoNotSend => 2,
        };
        self.qos.as_u8()
            | (u8::from(self.no_local) << 2)
            | (u8::from(self.retain_as_published) << 3)
            | (retain_handling << 4)
    }

    fn from_byte(version: Version, byte: u8) -> Result<SubscriptionOptions, DecodeError> {
        let invalid = DecodeError::InvalidSubscriptionOptions(byte);
        // MQTT 3.1.1 §3.8.3.1: the upper six bits are reserved.
        let reserved = if version.is_v5() {
            Self::RESERVED
        } else {
            0b1111_1100
        };
        if byte & reserved != 0 {
            return Err(invalid);
        }
        let retain_handling = match (byte >> 4) & 0b11 {
            0 => RetainHandling::SendAtSubscribe,
            1 => RetainHandling::SendAtSubscribeIfNew,
            2 => RetainHandling::DoNotSend,
            _ => return Err(invalid), // MQTT-3.8.3-5
        };
        Ok(SubscriptionOptions {
            qos: QoS::from_u8(byte & 0b11).ok_or(invalid)?,
            no_local: byte & 0b0100 != 0,
            retain_as_published: byte & 0b1000 != 0,
            retain_handling,
        })
    }
}

/// The properties of a SUBSCRIBE (MQTT 5.0 §3.8.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubscribeProperties {
    /// Subscription Identifier, sent back in the messages this subscription delivers
    /// (§3.8.2.1.2). At most 268,435,455.
    pub subscription_identifier: Option<NonZeroU32>,
    /// User Properties, in order (§3.8.2.1.3).
    pub user_properties: Vec<UserProperty>,
}

impl Properties for SubscribeProperties {
    fn set(&mut self, id: PropertyId, value: Value) -> Result<bool, DecodeError> {
        match id {
            PropertyId::SubscriptionIdentifier => {
                self.subscription_identifier = Some(value.into_nonzero_u32(id)?)
            }
            PropertyId::UserProperty => value.push_user_property(&mut self.user_properties)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn visit<'a>(&'a self, f: &mut dyn FnMut(PropertyId, ValueRef<'a>)) {
        if let Some(id) = self.subscription_identifier {
            f(
                PropertyId::SubscriptionIdentifier,
                ValueRef::VarInt(id.get()),
            );
        }
        property::visit_user_properties(&self.user_properties, f);
    }
}

impl Subscribe {
    /// A SUBSCRIBE for `subscriptions` with no properties.
    pub fn new(packet_id: PacketId, subscriptions: Vec<Subscription>) -> Subscribe {
        Subscribe {
            packet_id,
            subscriptions,
            properties: SubscribeProperties::default(),
        }
    }

    pub(crate) fn decode(version: Version, body: &Bytes) -> Result<Subscribe, DecodeError> {
        let (mut input, packet_id) = finish(packet_id(body))?;
        let mut properties = SubscribeProperties::default();
        if version.is_v5() {
            (input, properties) = finish(property::decode(body, input, PacketType::Subscribe))?;
        }
        let mut subscriptions = Vec::new();
        while !input.is_empty() {
            let (rest, filter) = finish(string(body, input))?;
            let filter = TopicFilter::from_wire(filter)?;
            let (rest, options) = finish(be_u8(rest))?;
            let options = SubscriptionOptions::from_byte(version, options)?;
            if options.no_local && filter.is_shared() {
                return Err(DecodeError::InvalidSubscriptionOptions(options.to_byte()));
            }
            subscriptions.push(Subscription { filter, options });
            input = rest;
        }
        if subscriptions.is_empty() {
            return Err(DecodeError::NoTopicFilters);
        }
        Ok(Subscribe {
            packet_id,
            subscriptions,
            properties,
        })
    }

    fn measure(&self, version: Version) -> Result<(usize, usize), EncodeError> {
        if self.subscriptions.is_empty() {
            return Err(EncodeError::NoTopicFilters);
        }
        let mut remaining = 2;
        for s in &self.subscriptions {
            if !version.is_v5() && s.options.to_byte() > 0b11 {
                return Err(EncodeError::V5Only("subscription options"));
            }
            if s.options.no_local && s.filter.is_shared() {
                return Err(EncodeError::NoLocalOnSharedSubscription);
            }
            remaining += field_len(s.filter.len()) + 1;
        }
        let properties_len = property::measure(&self.properties, version)?;
        remaining += property::wire_len(properties_len, version);
        Ok((remaining, properties_len))
    }

    /// The exact number of bytes [`encode`](Self::encode) writes.
    pub fn encoded_len(&self, version: Version) -> usize {
        self.measure(version)
            .map_or(0, |(remaining, _)| packet_len(remaining))
    }

    /// Writes the packet.
    ///
    /// # Errors
    ///
    /// See [`Packet::encode`](super::Packet::encode).
    pub fn encode(&self, version: Version, buf: &mut impl BufMut) -> Result<(), EncodeError> {
        let (remaining, properties_len) = self.measure(version)?;
        put_fixed_header(
            buf,
            first_byte(PacketType::Subscribe as u8, 0b0010),
            remaining,
            remaining,
        )?;
        buf.put_u16(self.packet_id.get());
        property::encode(&self.properties, properties_len, version, buf);
        for s in &self.subscriptions {
            put_field(buf, s.filter.as_bytes());
            buf.put_u8(s.options.to_byte());
        }
        Ok(())
    }
}
