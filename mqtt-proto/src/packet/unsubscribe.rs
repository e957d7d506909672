//! UNSUBSCRIBE (MQTT 5.0 §3.10, MQTT 3.1.1 §3.10).

use alloc::vec::Vec;

use bytes::{BufMut, Bytes};

use super::PacketType;
use crate::error::{DecodeError, EncodeError};
use crate::primitive::{
    PacketId, field_len, finish, first_byte, packet_id, packet_len, put_field, put_fixed_header,
    string,
};
use crate::property::{self, Properties, PropertyId, UserProperty, Value, ValueRef};
use crate::topic::TopicFilter;
use crate::version::Version;

/// UNSUBSCRIBE: ends one or more subscriptions (MQTT 5.0 §3.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    /// The packet identifier the UNSUBACK answers.
    pub packet_id: PacketId,
    /// The topic filters, at least one (MQTT-3.10.3-2).
    pub filters: Vec<TopicFilter>,
    /// MQTT 5.0 properties.
    pub properties: UnsubscribeProperties,
}

/// The properties of an UNSUBSCRIBE (MQTT 5.0 §3.10.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnsubscribeProperties {
    /// User Properties, in order.
    pub user_properties: Vec<UserProperty>,
}

impl Properties for UnsubscribeProperties {
    fn set(&mut self, id: PropertyId, value: Value) -> Result<bool, DecodeError> {
        match id {
            PropertyId::UserProperty => value.push_user_property(&mut self.user_properties)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn visit<'a>(&'a self, f: &mut dyn FnMut(PropertyId, ValueRef<'a>)) {
        property::visit_user_properties(&self.user_properties, f);
    }
}

impl Unsubscribe {
    /// An UNSUBSCRIBE for `filters` with no properties.
    pub fn new(packet_id: PacketId, filters: Vec<TopicFilter>) -> Unsubscribe {
        Unsubscribe {
            packet_id,
            filters,
            properties: UnsubscribeProperties::default(),
        }
    }

    pub(crate) fn decode(version: Version, body: &Bytes) -> Result<Unsubscribe, DecodeError> {
        let (mut input, packet_id) = finish(packet_id(body))?;
        let mut properties = UnsubscribeProperties::default();
        if version.is_v5() {
            (input, properties) = finish(property::decode(body, input, PacketType::Unsubscribe))?;
        }
        let mut filters = Vec::new();
        while !input.is_empty() {
            let (rest, filter) = finish(string(body, input))?;
            filters.push(TopicFilter::from_wire(filter)?);
            input = rest;
        }
        if filters.is_empty() {
            return Err(DecodeError::NoTopicFilters);
        }
        Ok(Unsubscribe {
            packet_id,
            filters,
            properties,
        })
    }

    fn measure(&self, version: Version) -> Result<(usize, usize), EncodeError> {
        if self.filters.is_empty() {
            return Err(EncodeError::NoTopicFilters);
        }
        let properties_len = property::measure(&self.properties, version)?;
        let filters: usize = self.filters.iter().map(|f| field_len(f.len())).sum();
        Ok((
            2 + property::wire_len(properties_len, version) + filters,
            properties_len,
        ))
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
            first_byte(PacketType::Unsubscribe as u8, 0b0010),
            remaining,
            remaining,
        )?;
        buf.put_u16(self.packet_id.get());
        property::encode(&self.properties, properties_len, version, buf);
        for filter in &self.filters {
            put_field(buf, filter.as_bytes());
        }
        Ok(())
    }
}
