//! AUTH (MQTT 5.0 §3.15): the packets of enhanced authentication. MQTT 3.1.1 has no AUTH.

use alloc::vec::Vec;

use bytes::{BufMut, Bytes};
use bytestring::ByteString;

use super::PacketType;
use super::disconnect::{
    decode_reason_and_properties, encode_reason_and_properties, measure_reason_and_properties,
};
use crate::error::{DecodeError, EncodeError};
use crate::primitive::packet_len;
use crate::property::{self, Properties, PropertyId, UserProperty, Value, ValueRef, put};
use crate::reason::ReasonCode;
use crate::version::Version;

/// AUTH: one step of an enhanced authentication exchange (MQTT 5.0 §3.15).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Auth {
    /// Success (0x00), Continue authentication (0x18) or Re-authenticate (0x19) (§3.15.2.1).
    pub reason_code: ReasonCode,
    /// Properties, carrying the method and its data.
    pub properties: AuthProperties,
}

/// The properties of an AUTH (MQTT 5.0 §3.15.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthProperties {
    /// Authentication Method (§3.15.2.2.2).
    pub authentication_method: Option<ByteString>,
    /// Authentication Data (§3.15.2.2.3).
    pub authentication_data: Option<Bytes>,
    /// Reason String (§3.15.2.2.4).
    pub reason_string: Option<ByteString>,
    /// User Properties, in order (§3.15.2.2.5).
    pub user_properties: Vec<UserProperty>,
}

impl Properties for AuthProperties {
    fn set(&mut self, id: PropertyId, value: Value) -> Result<bool, DecodeError> {
        match id {
            PropertyId::AuthenticationMethod => {
                self.authentication_method = Some(value.into_string(id)?)
            }
            PropertyId::AuthenticationData => {
                self.authentication_data = Some(value.into_binary(id)?)
            }
            PropertyId::ReasonString => self.reason_string = Some(value.into_string(id)?),
            PropertyId::UserProperty => value.push_user_property(&mut self.user_properties)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn visit<'a>(&'a self, f: &mut dyn FnMut(PropertyId, ValueRef<'a>)) {
        put::str(
            f,
            PropertyId::AuthenticationMethod,
            self.authentication_method.as_deref(),
        );
        put::bin(
            f,
            PropertyId::AuthenticationData,
            self.authentication_data.as_deref(),
        );
        put::str(f, PropertyId::ReasonString, self.reason_string.as_deref());
        property::visit_user_properties(&self.user_properties, f);
    }
}

impl Auth {
    pub(crate) fn decode(version: Version, body: &Bytes) -> Result<Auth, DecodeError> {
        debug_assert!(
            version.is_v5(),
            "AUTH is refused before this for MQTT 3.1 and 3.1.1"
        );
        let (reason_code, properties) = decode_reason_and_properties(body, PacketType::Auth)?;
        Ok(Auth {
            reason_code,
            properties,
        })
    }

    fn measure(&self, version: Version) -> Result<(usize, usize), EncodeError> {
        if !version.is_v5() {
            return Err(EncodeError::PacketNotInVersion(PacketType::Auth));
        }
        // Unlike DISCONNECT, AUTH has no form with a reason code and no Property Length
        // (MQTT 5.0 §3.15.2.1, §3.15.2.2.1): write an empty property list instead.
        Ok(
            match measure_reason_and_properties(
                PacketType::Auth,
                self.reason_code,
                &self.properties,
            )? {
                (1, 0) => (2, 0),
                measured => measured,
            },
        )
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
        let measured = self.measure(version)?;
        encode_reason_and_properties(
            buf,
            PacketType::Auth,
            measured,
            self.reason_code,
            &self.properties,
        )
    }
}
