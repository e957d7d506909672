//! PUBACK, PUBREC, PUBREL and PUBCOMP (MQTT 5.0 §3.4 to §3.7, MQTT 3.1.1 §3.4 to §3.7): the
//! four packets of the QoS 1 and QoS 2 flows share one layout, a packet identifier followed in
//! MQTT 5.0 by an optional reason code and properties.

use alloc::vec::Vec;

use bytes::{BufMut, Bytes};
use bytestring::ByteString;
use nom::number::complete::be_u8;

use super::PacketType;
use crate::error::{DecodeError, EncodeError};
use crate::primitive::{
    PacketId, ensure_empty, finish, first_byte, packet_id, packet_len, put_fixed_header,
};
use crate::property::{self, Properties, PropertyId, UserProperty, Value, ValueRef, put};
use crate::reason::ReasonCode;
use crate::version::Version;

/// The properties of the acknowledgements: PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and UNSUBACK
/// (MQTT 5.0 §3.4.2.2 and the matching sections of the others).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AckProperties {
    /// Reason String: a human readable diagnostic.
    pub reason_string: Option<ByteString>,
    /// User Properties, in order.
    pub user_properties: Vec<UserProperty>,
}

impl AckProperties {
    /// `true` when no property is set.
    pub fn is_empty(&self) -> bool {
        self.reason_string.is_none() && self.user_properties.is_empty()
    }
}

impl Properties for AckProperties {
    fn set(&mut self, id: PropertyId, value: Value) -> Result<bool, DecodeError> {
        match id {
            PropertyId::ReasonString => self.reason_string = Some(value.into_string(id)?),
            PropertyId::UserProperty => value.push_user_property(&mut self.user_properties)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn visit<'a>(&'a self, f: &mut dyn FnMut(PropertyId, ValueRef<'a>)) {
        put::str(f, PropertyId::ReasonString, self.reason_string.as_deref());
        property::visit_user_properties(&self.user_properties, f);
    }
}

/// The fields shared by the four packets.
fn decode(
    version: Version,
    body: &Bytes,
    packet_type: PacketType,
) -> Result<(PacketId, ReasonCode, AckProperties), DecodeError> {
    let (input, id) = finish(packet_id(body))?;
    if !version.is_v5() || input.is_empty() {
        // MQTT 5.0 §3.4.2.1: a remaining length of 2 means Success and no properties.
        ensure_empty(input)?;
        return Ok((id, ReasonCode::SUCCESS, AckProperties::default()));
    }
    let (input, code) = finish(be_u8(input))?;
    // MQTT-3.4.2-1, MQTT-3.5.2-1, MQTT-3.6.2-1, MQTT-3.7.2-1.
    let code = ReasonCode::decode_for(code, packet_type)?;
    if input.is_empty() {
        // A remaining length of 3: a reason code, no properties.
        return Ok((id, code, AckProperties::default()));
    }
    let (input, properties) = finish(property::decode(body, input, packet_type))?;
    ensure_empty(input)?;
    Ok((id, code, properties))
}

/// The remaining length and the property list's length, using the short forms of
/// MQTT 5.0 §3.4.2.1 where they apply.
fn body_len(
    version: Version,
    packet_type: PacketType,
    code: ReasonCode,
    properties: &AckProperties,
) -> Result<(usize, usize), EncodeError> {
    if !version.is_v5() {
        if code != ReasonCode::SUCCESS {
            return Err(EncodeError::V5Only("reason code"));
        }
        property::measure(properties, version)?;
        return Ok((2, 0));
    }
    code.check_encode_for(packet_type)?;
    let properties_len = property::measure(properties, version)?;
    Ok(match (code, properties_len) {
        (ReasonCode::SUCCESS, 0) => (2, 0),
        (_, 0) => (3, 0),
        (_, len) => (3 + property::wire_len(len, version), len),
    })
}

fn encode(
    version: Version,
    buf: &mut impl BufMut,
    packet_type: PacketType,
    id: PacketId,
    code: ReasonCode,
    properties: &AckProperties,
) -> Result<(), EncodeError> {
    let (remaining, properties_len) = body_len(version, packet_type, code, properties)?;
    put_fixed_header(
        buf,
        first_byte(packet_type as u8, packet_type.required_flags()),
        remaining,
        remaining,
    )?;
    buf.put_u16(id.get());
    if remaining > 2 {
        buf.put_u8(code.0);
    }
    if remaining > 3 {
        property::encode(properties, properties_len, version, buf);
    }
    Ok(())
}

macro_rules! ack_packet {
    ($(#[$doc:meta])* $name:ident, $packet_type:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            /// The packet identifier of the exchange this packet belongs to.
            pub packet_id: PacketId,
            /// The outcome; always [`ReasonCode::SUCCESS`] in MQTT 3.1.1.
            pub reason_code: ReasonCode,
            /// MQTT 5.0 properties.
            pub properties: AckProperties,
        }

        impl $name {
            /// A successful acknowledgement with no properties.
            pub fn new(packet_id: PacketId) -> $name {
                $name {
                    packet_id,
                    reason_code: ReasonCode::SUCCESS,
                    properties: AckProperties::default(),
                }
            }

            pub(crate) fn decode(version: Version, body: &Bytes) -> Result<$name, DecodeError> {
                let (packet_id, reason_code, properties) =
                    decode(version, body, PacketType::$packet_type)?;
                Ok($name {
                    packet_id,
                    reason_code,
                    properties,
                })
            }

            /// The exact number of bytes [`encode`](Self::encode) writes.
            pub fn encoded_len(&self, version: Version) -> usize {
                body_len(version, PacketType::$packet_type, self.reason_code, &self.properties)
                    .map_or(0, |(remaining, _)| packet_len(remaining))
            }

            /// Writes the packet.
            ///
            /// # Errors
            ///
            /// See [`Packet::encode`](super::Packet::encode).
            pub fn encode(&self, version: Version, buf: &mut impl BufMut) -> Result<(), EncodeError> {
                encode(
                    version,
                    buf,
                    PacketType::$packet_type,
                    self.packet_id,
                    self.reason_code,
                    &self.properties,
                )
            }
        }
    };
}

ack_packet!(
    /// PUBACK: the answer to a QoS 1 PUBLISH (MQTT 5.0 §3.4).
    PubAck,
    PubAck
);
ack_packet!(
    /// PUBREC: the first answer to a QoS 2 PUBLISH (MQTT 5.0 §3.5).
    PubRec,
    PubRec
);
ack_packet!(
    /// PUBREL: the answer to PUBREC (MQTT 5.0 §3.6).
    PubRel,
    PubRel
);
ack_packet!(
    /// PUBCOMP: the answer to PUBREL, ending a QoS 2 exchange (MQTT 5.0 §3.7).
    PubComp,
    PubComp
);
