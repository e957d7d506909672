//! DISCONNECT (MQTT 5.0 §3.14, MQTT 3.1.1 §3.14), and the layout it shares with AUTH.

use alloc::vec::Vec;

use bytes::{BufMut, Bytes};
use bytestring::ByteString;
use nom::number::complete::be_u8;

use super::PacketType;
use crate::error::{DecodeError, EncodeError};
use crate::primitive::{ensure_empty, finish, first_byte, packet_len, put_fixed_header};
use crate::property::{self, Properties, PropertyId, UserProperty, Value, ValueRef, put};
use crate::reason::ReasonCode;
use crate::version::Version;

/// DISCONNECT: the last packet of a connection, from either side in MQTT 5.0 (§3.14).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Disconnect {
    /// Why the connection ends (§3.14.2.1); always Normal disconnection in MQTT 3.1.1.
    pub reason_code: ReasonCode,
    /// MQTT 5.0 properties.
    pub properties: DisconnectProperties,
}

/// The properties of a DISCONNECT (MQTT 5.0 §3.14.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DisconnectProperties {
    /// Session Expiry Interval, client to server only (§3.14.2.2.2).
    pub session_expiry_interval: Option<u32>,
    /// Reason String (§3.14.2.2.3).
    pub reason_string: Option<ByteString>,
    /// User Properties, in order (§3.14.2.2.4).
    pub user_properties: Vec<UserProperty>,
    /// Server Reference: another server to use, server to client only (§3.14.2.2.5).
    pub server_reference: Option<ByteString>,
}

impl Properties for DisconnectProperties {
    fn set(&mut self, id: PropertyId, value: Value) -> Result<bool, DecodeError> {
        match id {
            PropertyId::SessionExpiryInterval => {
                self.session_expiry_interval = Some(value.into_u32(id)?)
            }
            PropertyId::ReasonString => self.reason_string = Some(value.into_string(id)?),
            PropertyId::UserProperty => value.push_user_property(&mut self.user_properties)?,
            PropertyId::ServerReference => self.server_reference = Some(value.into_string(id)?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn visit<'a>(&'a self, f: &mut dyn FnMut(PropertyId, ValueRef<'a>)) {
        put::u32(
            f,
            PropertyId::SessionExpiryInterval,
            self.session_expiry_interval,
        );
        put::str(
            f,
            PropertyId::ServerReference,
            self.server_reference.as_deref(),
        );
        put::str(f, PropertyId::ReasonString, self.reason_string.as_deref());
        property::visit_user_properties(&self.user_properties, f);
    }
}

impl Disconnect {
    /// A DISCONNECT with `reason_code` and no properties.
    pub fn new(reason_code: ReasonCode) -> Disconnect {
        Disconnect {
            reason_code,
            properties: DisconnectProperties::default(),
        }
    }

    pub(crate) fn decode(version: Version, body: &Bytes) -> Result<Disconnect, DecodeError> {
        if !version.is_v5() {
            ensure_empty(body)?;
            return Ok(Disconnect::default());
        }
        let (reason_code, properties) = decode_reason_and_properties(body, PacketType::Disconnect)?;
        Ok(Disconnect {
            reason_code,
            properties,
        })
    }

    fn measure(&self, version: Version) -> Result<(usize, usize), EncodeError> {
        if !version.is_v5() {
            if self.reason_code != ReasonCode::SUCCESS {
                return Err(EncodeError::V5Only("DISCONNECT reason code"));
            }
            property::measure(&self.properties, version)?;
            return Ok((0, 0));
        }
        measure_reason_and_properties(PacketType::Disconnect, self.reason_code, &self.properties)
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
        encode_reason_and_properties(
            buf,
            PacketType::Disconnect,
            (remaining, properties_len),
            self.reason_code,
            &self.properties,
        )
    }
}

/// Reads the body of an MQTT 5.0 DISCONNECT or AUTH: nothing (Success, no properties), a reason
/// code alone (DISCONNECT only), or a reason code and properties (MQTT 5.0 §3.14.2.1,
/// §3.15.2.1).
///
/// DISCONNECT may omit the Property Length after its reason code (§3.14.2.2.1: "If the Remaining
/// Length is less than 2, a value of 0 is used"); AUTH may omit it only together with the reason
/// code (§3.15.2.1), so an AUTH of one byte is malformed.
pub(super) fn decode_reason_and_properties<P: Properties>(
    body: &Bytes,
    packet_type: PacketType,
) -> Result<(ReasonCode, P), DecodeError> {
    if body.is_empty() {
        return Ok((ReasonCode::SUCCESS, P::default()));
    }
    let (input, code) = finish(be_u8(body))?;
    let code = ReasonCode::decode_for(code, packet_type)?; // MQTT-3.14.2-1, MQTT-3.15.2-1
    if input.is_empty() && packet_type == PacketType::Disconnect {
        return Ok((code, P::default()));
    }
    let (input, properties) = finish(property::decode(body, input, packet_type))?;
    ensure_empty(input)?;
    Ok((code, properties))
}

/// The remaining length and property list length of an MQTT 5.0 DISCONNECT or AUTH, in the
/// shortest form that carries the same information.
pub(super) fn measure_reason_and_properties<P: Properties>(
    packet_type: PacketType,
    code: ReasonCode,
    properties: &P,
) -> Result<(usize, usize), EncodeError> {
    code.check_encode_for(packet_type)?;
    let properties_len = property::measure(properties, Version::V5)?;
    Ok(match (code, properties_len) {
        (ReasonCode::SUCCESS, 0) => (0, 0),
        (_, 0) => (1, 0),
        (_, len) => (1 + property::wire_len(len, Version::V5), len),
    })
}

pub(super) fn encode_reason_and_properties<P: Properties>(
    buf: &mut impl BufMut,
    packet_type: PacketType,
    (remaining, properties_len): (usize, usize),
    code: ReasonCode,
    properties: &P,
) -> Result<(), EncodeError> {
    put_fixed_header(buf, first_byte(packet_type as u8, 0), remaining, remaining)?;
    if remaining > 0 {
        buf.put_u8(code.0);
    }
    if remaining > 1 {
        property::encode(properties, properties_len, Version::V5, buf);
    }
    Ok(())
}
