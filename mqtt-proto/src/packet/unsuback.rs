//! UNSUBACK (MQTT 5.0 §3.11, MQTT 3.1.1 §3.11).

use alloc::vec::Vec;

use bytes::{BufMut, Bytes};

use super::PacketType;
use super::ack::AckProperties;
use crate::error::{DecodeError, EncodeError};
use crate::primitive::{
    PacketId, ensure_empty, finish, first_byte, packet_id, packet_len, put_fixed_header,
};
use crate::property;
use crate::reason::ReasonCode;
use crate::version::Version;

/// UNSUBACK: the server's answer to UNSUBSCRIBE (MQTT 5.0 §3.11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubAck {
    /// The packet identifier of the UNSUBSCRIBE.
    pub packet_id: PacketId,
    /// MQTT 5.0: one code per topic filter, in order. MQTT 3.1.1 has none, and this is empty.
    pub reason_codes: Vec<ReasonCode>,
    /// MQTT 5.0 properties.
    pub properties: AckProperties,
}

impl UnsubAck {
    pub(crate) fn decode(version: Version, body: &Bytes) -> Result<UnsubAck, DecodeError> {
        let (input, packet_id) = finish(packet_id(body))?;
        if !version.is_v5() {
            ensure_empty(input)?;
            return Ok(UnsubAck {
                packet_id,
                reason_codes: Vec::new(),
                properties: AckProperties::default(),
            });
        }
        let (input, properties) = finish(property::decode(body, input, PacketType::UnsubAck))?;
        // MQTT-3.11.3-2: one of the Unsubscribe Reason Codes.
        let reason_codes = input
            .iter()
            .map(|&c| ReasonCode::decode_for(c, PacketType::UnsubAck))
            .collect::<Result<_, _>>()?;
        Ok(UnsubAck {
            packet_id,
            reason_codes,
            properties,
        })
    }

    fn measure(&self, version: Version) -> Result<(usize, usize), EncodeError> {
        if !version.is_v5() && !self.reason_codes.is_empty() {
            return Err(EncodeError::V5Only("UNSUBACK reason codes"));
        }
        for code in &self.reason_codes {
            code.check_encode_for(PacketType::UnsubAck)?;
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
            first_byte(PacketType::UnsubAck as u8, 0),
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
