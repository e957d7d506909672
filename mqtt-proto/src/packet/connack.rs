//! CONNACK (MQTT 5.0 §3.2, MQTT 3.1.1 §3.2).

use alloc::vec::Vec;
use core::num::{NonZeroU16, NonZeroU32};

use bytes::{BufMut, Bytes};
use bytestring::ByteString;
use nom::number::complete::be_u8;

use super::PacketType;
use crate::error::{DecodeError, EncodeError};
use crate::primitive::{ensure_empty, finish, first_byte, packet_len, put_fixed_header};
use crate::property::{self, Properties, PropertyId, UserProperty, Value, ValueRef, put};
use crate::qos::QoS;
use crate::reason::ReasonCode;
use crate::version::Version;

/// CONNACK: the server's answer to CONNECT (MQTT 5.0 §3.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnAck {
    /// Session Present: the server resumed a session it held for this client (§3.2.2.1.1).
    /// MQTT 3.1 has no such flag: always `false` there.
    pub session_present: bool,
    /// The outcome (§3.2.2.2). MQTT 3.1 and 3.1.1 return codes map onto their MQTT 5.0
    /// equivalents:
    /// 1 to [`UNSUPPORTED_PROTOCOL_VERSION`](ReasonCode::UNSUPPORTED_PROTOCOL_VERSION), 2 to
    /// [`CLIENT_IDENTIFIER_NOT_VALID`](ReasonCode::CLIENT_IDENTIFIER_NOT_VALID), 3 to
    /// [`SERVER_UNAVAILABLE`](ReasonCode::SERVER_UNAVAILABLE), 4 to
    /// [`BAD_USER_NAME_OR_PASSWORD`](ReasonCode::BAD_USER_NAME_OR_PASSWORD) and 5 to
    /// [`NOT_AUTHORIZED`](ReasonCode::NOT_AUTHORIZED).
    pub reason_code: ReasonCode,
    /// MQTT 5.0 properties.
    pub properties: ConnAckProperties,
}

/// The properties of a CONNACK (MQTT 5.0 §3.2.2.3): what the server allows on this connection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnAckProperties {
    /// Session Expiry Interval the server uses instead of the client's (§3.2.2.3.2).
    pub session_expiry_interval: Option<u32>,
    /// Receive Maximum: QoS 1 and 2 publishes the server processes at once (§3.2.2.3.3).
    pub receive_maximum: Option<NonZeroU16>,
    /// Maximum QoS the server supports, 0 or 1; absent means 2 (§3.2.2.3.4).
    pub maximum_qos: Option<QoS>,
    /// Retain Available; absent means yes (§3.2.2.3.5).
    pub retain_available: Option<bool>,
    /// Maximum Packet Size the server accepts (§3.2.2.3.6).
    pub maximum_packet_size: Option<NonZeroU32>,
    /// Assigned Client Identifier, when the client sent an empty one (§3.2.2.3.7).
    pub assigned_client_identifier: Option<ByteString>,
    /// Topic Alias Maximum the server accepts (§3.2.2.3.8).
    pub topic_alias_maximum: Option<u16>,
    /// Reason String (§3.2.2.3.9).
    pub reason_string: Option<ByteString>,
    /// User Properties, in order (§3.2.2.3.10).
    pub user_properties: Vec<UserProperty>,
    /// Wildcard Subscription Available; absent means yes (§3.2.2.3.11).
    pub wildcard_subscription_available: Option<bool>,
    /// Subscription Identifiers Available; absent means yes (§3.2.2.3.12).
    pub subscription_identifiers_available: Option<bool>,
    /// Shared Subscription Available; absent means yes (§3.2.2.3.13).
    pub shared_subscription_available: Option<bool>,
    /// Server Keep Alive, replacing the client's (§3.2.2.3.14).
    pub server_keep_alive: Option<u16>,
    /// Response Information (§3.2.2.3.15).
    pub response_information: Option<ByteString>,
    /// Server Reference: another server to use (§3.2.2.3.16).
    pub server_reference: Option<ByteString>,
    /// Authentication Method (§3.2.2.3.17).
    pub authentication_method: Option<ByteString>,
    /// Authentication Data (§3.2.2.3.18).
    pub authentication_data: Option<Bytes>,
}

impl Properties for ConnAckProperties {
    fn set(&mut self, id: PropertyId, value: Value) -> Result<bool, DecodeError> {
        match id {
            PropertyId::SessionExpiryInterval => {
                self.session_expiry_interval = Some(value.into_u32(id)?)
            }
            PropertyId::ReceiveMaximum => self.receive_maximum = Some(value.into_nonzero_u16(id)?),
            PropertyId::MaximumQoS => {
                // MQTT 5.0 §3.2.2.3.4: only 0 or 1 may be sent.
                self.maximum_qos = Some(if value.into_bool(id)? {
                    QoS::AtLeastOnce
                } else {
                    QoS::AtMostOnce
                })
            }
            PropertyId::RetainAvailable => self.retain_available = Some(value.into_bool(id)?),
            PropertyId::MaximumPacketSize => {
                self.maximum_packet_size = Some(value.into_nonzero_u32(id)?)
            }
            PropertyId::AssignedClientIdentifier => {
                self.assigned_client_identifier = Some(value.into_string(id)?)
            }
            PropertyId::TopicAliasMaximum => self.topic_alias_maximum = Some(value.into_u16(id)?),
            PropertyId::ReasonString => self.reason_string = Some(value.into_string(id)?),
            PropertyId::UserProperty => value.push_user_property(&mut self.user_properties)?,
            PropertyId::WildcardSubscriptionAvailable => {
                self.wildcard_subscription_available = Some(value.into_bool(id)?)
            }
            PropertyId::SubscriptionIdentifierAvailable => {
                self.subscription_identifiers_available = Some(value.into_bool(id)?)
            }
            PropertyId::SharedSubscriptionAvailable => {
                self.shared_subscription_available = Some(value.into_bool(id)?)
            }
            PropertyId::ServerKeepAlive => self.server_keep_alive = Some(value.into_u16(id)?),
            PropertyId::ResponseInformation => {
                self.response_information = Some(value.into_string(id)?)
            }
            PropertyId::ServerReference => self.server_reference = Some(value.into_string(id)?),
            PropertyId::AuthenticationMethod => {
                self.authentication_method = Some(value.into_string(id)?)
            }
            PropertyId::AuthenticationData => {
                self.authentication_data = Some(value.into_binary(id)?)
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn visit<'a>(&'a self, f: &mut dyn FnMut(PropertyId, ValueRef<'a>)) {
        use PropertyId as P;
        put::u32(f, P::SessionExpiryInterval, self.session_expiry_interval);
        put::str(
            f,
            P::AssignedClientIdentifier,
            self.assigned_client_identifier.as_deref(),
        );
        put::u16(f, P::ServerKeepAlive, self.server_keep_alive);
        put::str(
            f,
            P::AuthenticationMethod,
            self.authentication_method.as_deref(),
        );
        put::bin(
            f,
            P::AuthenticationData,
            self.authentication_data.as_deref(),
        );
        put::str(
            f,
            P::ResponseInformation,
            self.response_information.as_deref(),
        );
        put::str(f, P::ServerReference, self.server_reference.as_deref());
        put::str(f, P::ReasonString, self.reason_string.as_deref());
        put::u16(
            f,
            P::ReceiveMaximum,
            self.receive_maximum.map(NonZeroU16::get),
        );
        put::u16(f, P::TopicAliasMaximum, self.topic_alias_maximum);
        if let Some(qos) = self.maximum_qos {
            f(P::MaximumQoS, ValueRef::Byte(qos.as_u8()));
        }
        put::bool(f, P::RetainAvailable, self.retain_available);
        property::visit_user_properties(&self.user_properties, f);
        put::u32(
            f,
            P::MaximumPacketSize,
            self.maximum_packet_size.map(NonZeroU32::get),
        );
        put::bool(
            f,
            P::WildcardSubscriptionAvailable,
            self.wildcard_subscription_available,
        );
        put::bool(
            f,
            P::SubscriptionIdentifierAvailable,
            self.subscription_identifiers_available,
        );
        put::bool(
            f,
            P::SharedSubscriptionAvailable,
            self.shared_subscription_available,
        );
    }
}

impl ConnAck {
    /// In MQTT 3.1 the first byte is reserved and unused: it carries no Session Present flag,
    /// and its value is ignored, as a receiver of unused bits may (MQTT 3.1 §3.2 says no more
    /// than "Reserved values. Not used."). Being lenient here costs nothing: the client learns
    /// nothing from it either way.
    pub(crate) fn decode(version: Version, body: &Bytes) -> Result<ConnAck, DecodeError> {
        let (input, flags) = finish(be_u8(body))?;
        let flags = if version.has_session_present() {
            if flags & 0xFE != 0 {
                return Err(DecodeError::InvalidConnAckFlags(flags)); // MQTT-3.2.2-1
            }
            flags
        } else {
            0
        };
        let (input, code) = finish(be_u8(input))?;
        let (input, reason_code, properties) = if version.is_v5() {
            let reason_code = ReasonCode::decode_for(code, PacketType::ConnAck)?; // MQTT-3.2.2-8
            let (input, properties) = finish(property::decode(body, input, PacketType::ConnAck))?;
            (input, reason_code, properties)
        } else {
            let reason_code =
                ReasonCode::from_v311_connack(code).ok_or(DecodeError::InvalidReasonCode(code))?;
            (input, reason_code, ConnAckProperties::default())
        };
        ensure_empty(input)?;
        Ok(ConnAck {
            session_present: flags & 1 != 0,
            reason_code,
            properties,
        })
    }

    fn measure(&self, version: Version) -> Result<(usize, usize, u8), EncodeError> {
        if self.session_present && !version.has_session_present() {
            return Err(EncodeError::NotInV31("Session Present"));
        }
        if self.properties.maximum_qos == Some(QoS::ExactlyOnce) {
            return Err(EncodeError::InvalidPropertyValue(PropertyId::MaximumQoS));
        }
        let code = if version.is_v5() {
            self.reason_code.check_encode_for(PacketType::ConnAck)?;
            self.reason_code.0
        } else {
            self.reason_code
                .to_v311_connack()
                .ok_or(EncodeError::InvalidReasonCode(self.reason_code))?
        };
        let properties_len = property::measure(&self.properties, version)?;
        Ok((
            2 + property::wire_len(properties_len, version),
            properties_len,
            code,
        ))
    }

    /// The exact number of bytes [`encode`](Self::encode) writes.
    pub fn encoded_len(&self, version: Version) -> usize {
        self.measure(version)
            .map_or(0, |(remaining, _, _)| packet_len(remaining))
    }

    /// Writes the packet.
    ///
    /// # Errors
    ///
    /// See [`Packet::encode`](super::Packet::encode).
    pub fn encode(&self, version: Version, buf: &mut impl BufMut) -> Result<(), EncodeError> {
        let (remaining, properties_len, code) = self.measure(version)?;
        put_fixed_header(
            buf,
            first_byte(PacketType::ConnAck as u8, 0),
            remaining,
            remaining,
        )?;
        buf.put_u8(u8::from(self.session_present));
        buf.put_u8(code);
        property::encode(&self.properties, properties_len, version, buf);
        Ok(())
    }
}
