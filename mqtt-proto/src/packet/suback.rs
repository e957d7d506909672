//! SUBACK (MQTT 5.0 §3.9, MQTT 3.1.1 §3.9).

use alloc::vec::Vec;

use bytes::{BufMut, Bytes};

use super::PacketType;
use super::ack::AckProperties;
use crate::error::{DecodeError, EncodeError};
use crate::primitive::{PacketId, finish, first_byte, packet_id, packet_len, put_fixed_header};
use crate::property;
use crate::reason::ReasonCode;
use crate::version::Version;

/// SUBACK: the server's answer to SUBSCRIBE, one reason code per topic filter (MQTT 5.0 §3.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubAck {
    /// The packet identifier of the SUBSCRIBE.
    pub packet_id: PacketId,
    /// One code per topic filter, in order: the granted QoS (0x00 to 0x02) or a failure
    /// (0x80 and up). MQTT 3.1.1's failure code 0x80 is [`ReasonCode::UNSPECIFIED_ERROR`];
    /// MQTT 3.1 has only the granted QoS.
    pub reason_codes: Vec<ReasonCode>,
    /// MQTT 5.0 properties.
    pub properties: AckProperties,
}

impl SubAck {
    pub(crate) fn decode(version: Version, body: &Bytes) -> Result<SubAck, DecodeError> {
        let (mut input, packet_id) = finish(packet_id(body))?;
        let mut properties = AckProperties::default();
        if version.is_v5() {
            (input, properties) = finish(property::decode(body, input, PacketType::SubAck))?;
        }
        let mut reason_codes = Vec::with_capacity(input.len());
        for &code in input {
            if version.is_v5() {
                // MQTT-3.9.3-2 (5.0): one of the Subscribe Reason Codes.
                reason_codes.push(ReasonCode::decode_for(code, PacketType::SubAck)?);
            } else if v311_return_code(version, code) {
                reason_codes.push(ReasonCode(code));
            } else {
                return Err(DecodeError::InvalidReasonCode(code));
            }
        }
        Ok(SubAck {
            packet_id,
            reason_codes,
            properties,
        })
    }

    fn measure(&self, version: Version) -> Result<(usize, usize), EncodeError> {
        for code in &self.reason_codes {
            if version.is_v5() {
                code.check_encode_for(PacketType::SubAck)?;
            } else if !v311_return_code(version, code.0) {
                return Err(EncodeError::InvalidReasonCode(*code));
            }
        }
        let properties_len = property::measure(&self.properties, version)?;
        Ok((
            2 + property::wire_len(properties_len, version) + self.reason_codes.len(),
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
            first_byte(PacketType::SubAck as u8, 0),
            remaining,
            remaining,
        )?;
        buf.put_u16(self.packet_id.get());
        property::encode(&self.properties, properties_len, version, buf);
        for code in &self.reason_codes {
            buf.put_u8(code.0);
        }
        Ok(())
    }
}

/// The return codes of MQTT 3.1.1 and 3.1: 0x00, 0x01, 0x02 and the failure 0x80 in 3.1.1
/// (MQTT-3.9.3-2); in 3.1 only the granted QoS, 0 to 2 (MQTT 3.1 §3.9, "Granted QoS"), which
/// has no way to refuse a subscription.
fn v311_return_code(version: Version, code: u8) -> bool {
    match code {
        0x00..=0x02 => true,
        0x80 => version != Version::V31,
        _ => false,
    }
}
