//! CONNECT (MQTT 5.0 §3.1, MQTT 3.1.1 §3.1).

use alloc::vec::Vec;
use core::num::{NonZeroU16, NonZeroU32};

use bytes::{BufMut, Bytes};
use bytestring::ByteString;
use nom::number::complete::{be_u8, be_u16};

use super::PacketType;
use crate::error::{DecodeError, EncodeError};
use crate::primitive::{
    PResult, binary, binary_slice, check_field, check_string, ensure_empty, fail, field_len,
    finish, first_byte, packet_len, put_field, put_fixed_header, string,
};
use crate::property::{self, Properties, PropertyId, UserProperty, Value, ValueRef, put};
use crate::qos::QoS;
use crate::topic::TopicName;
use crate::version::Version;

/// The longest client identifier MQTT 3.1 allows, in characters (MQTT 3.1 §3.1, "Client
/// Identifier").
const V31_MAX_CLIENT_ID: usize = 23;

/// CONNECT: the first packet a client sends on a connection (MQTT 5.0 §3.1).
///
/// The protocol level is not a field: it is the [`Version`] the packet is encoded for.
///
/// ```
/// use mqtt_proto::{Connect, Version};
///
/// let mut connect = Connect::new("sensor-17");
/// connect.keep_alive = 30;
/// connect.username = Some("device".into());
/// let mut wire = Vec::new();
/// connect.encode(Version::V311, &mut wire)?;
/// assert_eq!(&wire[..2], [0x10, 29]);
/// # Ok::<(), mqtt_proto::EncodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    /// Clean Start (MQTT 5.0 §3.1.2.4), called Clean Session in MQTT 3.1.1 (§3.1.2.4).
    pub clean_start: bool,
    /// Keep Alive in seconds; 0 turns the mechanism off (MQTT 5.0 §3.1.2.10).
    pub keep_alive: u16,
    /// The Client Identifier (MQTT 5.0 §3.1.3.1). May be empty, asking the server to assign one;
    /// MQTT 3.1.1 allows that only with Clean Session (MQTT-3.1.3-7). MQTT 3.1 needs 1 to 23
    /// characters, and has no way to ask for one.
    pub client_id: ByteString,
    /// The Will Message the server publishes if the connection ends abnormally (§3.1.2.5).
    pub will: Option<Will>,
    /// User Name (MQTT 5.0 §3.1.3.5).
    pub username: Option<ByteString>,
    /// Password (MQTT 5.0 §3.1.3.6). MQTT 3.1.1 allows it only with a user name (MQTT-3.1.2-22).
    pub password: Option<Bytes>,
    /// MQTT 5.0 properties.
    pub properties: ConnectProperties,
}

/// A Will Message (MQTT 5.0 §3.1.2.5 to §3.1.2.7, §3.1.3.2 to §3.1.3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Will {
    /// The topic the will is published to.
    pub topic: TopicName,
    /// The message.
    pub payload: Bytes,
    /// The QoS it is published with.
    pub qos: QoS,
    /// Whether it is published as retained.
    pub retain: bool,
    /// MQTT 5.0 will properties.
    pub properties: WillProperties,
}

impl Will {
    /// A QoS 0, not retained will with no properties.
    pub fn new(topic: TopicName, payload: impl Into<Bytes>) -> Will {
        Will {
            topic,
            payload: payload.into(),
            qos: QoS::AtMostOnce,
            retain: false,
            properties: WillProperties::default(),
        }
    }
}

/// The properties of a CONNECT (MQTT 5.0 §3.1.2.11).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectProperties {
    /// Session Expiry Interval in seconds; absent means 0 (§3.1.2.11.2).
    pub session_expiry_interval: Option<u32>,
    /// Receive Maximum: QoS 1 and 2 publishes the client processes at once (§3.1.2.11.3).
    pub receive_maximum: Option<NonZeroU16>,
    /// Maximum Packet Size the client accepts (§3.1.2.11.4).
    pub maximum_packet_size: Option<NonZeroU32>,
    /// Topic Alias Maximum the client accepts (§3.1.2.11.5).
    pub topic_alias_maximum: Option<u16>,
    /// Request Response Information (§3.1.2.11.6).
    pub request_response_information: Option<bool>,
    /// Request Problem Information (§3.1.2.11.7).
    pub request_problem_information: Option<bool>,
    /// User Properties, in order (§3.1.2.11.8).
    pub user_properties: Vec<UserProperty>,
    /// Authentication Method for enhanced authentication (§3.1.2.11.9).
    pub authentication_method: Option<ByteString>,
    /// Authentication Data; only with a method (§3.1.2.11.10).
    pub authentication_data: Option<Bytes>,
}

impl Properties for ConnectProperties {
    fn set(&mut self, id: PropertyId, value: Value) -> Result<bool, DecodeError> {
        match id {
            PropertyId::SessionExpiryInterval => {
                self.session_expiry_interval = Some(value.into_u32(id)?)
            }
            PropertyId::ReceiveMaximum => self.receive_maximum = Some(value.into_nonzero_u16(id)?),
            PropertyId::MaximumPacketSize => {
                self.maximum_packet_size = Some(value.into_nonzero_u32(id)?)
            }
            PropertyId::TopicAliasMaximum => self.topic_alias_maximum = Some(value.into_u16(id)?),
            PropertyId::RequestResponseInformation => {
                self.request_response_information = Some(value.into_bool(id)?)
            }
            PropertyId::RequestProblemInformation => {
                self.request_problem_information = Some(value.into_bool(id)?)
            }
            PropertyId::UserProperty => value.push_user_property(&mut self.user_properties)?,
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
        put::u32(
            f,
            PropertyId::SessionExpiryInterval,
            self.session_expiry_interval,
        );
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
        put::bool(
            f,
            PropertyId::RequestProblemInformation,
            self.request_problem_information,
        );
        put::bool(
            f,
            PropertyId::RequestResponseInformation,
            self.request_response_information,
        );
        put::u16(
            f,
            PropertyId::ReceiveMaximum,
            self.receive_maximum.map(NonZeroU16::get),
        );
        put::u16(f, PropertyId::TopicAliasMaximum, self.topic_alias_maximum);
        property::visit_user_properties(&self.user_properties, f);
        put::u32(
            f,
            PropertyId::MaximumPacketSize,
            self.maximum_packet_size.map(NonZeroU32::get),
        );
    }
}

/// The properties of a will (MQTT 5.0 §3.1.3.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WillProperties {
    /// Will Delay Interval in seconds (§3.1.3.2.2).
    pub will_delay_interval: Option<u32>,
    /// Payload Format Indicator: `true` when the payload is UTF-8 text (§3.1.3.2.3).
    pub payload_format_indicator: Option<bool>,
    /// Message Expiry Interval in seconds (§3.1.3.2.4).
    pub message_expiry_interval: Option<u32>,
    /// Content Type (§3.1.3.2.5).
    pub content_type: Option<ByteString>,
    /// Response Topic (§3.1.3.2.6).
    pub response_topic: Option<TopicName>,
    /// Correlation Data (§3.1.3.2.7).
    pub correlation_data: Option<Bytes>,
    /// User Properties, in order (§3.1.3.2.8).
    pub user_properties: Vec<UserProperty>,
}

impl Properties for WillProperties {
    fn set(&mut self, id: PropertyId, value: Value) -> Result<bool, DecodeError> {
        match id {
            PropertyId::WillDelayInterval => self.will_delay_interval = Some(value.into_u32(id)?),
            PropertyId::PayloadFormatIndicator => {
                self.payload_format_indicator = Some(value.into_bool(id)?)
            }
            PropertyId::MessageExpiryInterval => {
                self.message_expiry_interval = Some(value.into_u32(id)?)
            }
            PropertyId::ContentType => self.content_type = Some(value.into_string(id)?),
            PropertyId::ResponseTopic => self.response_topic = Some(value.into_topic(id)?),
            PropertyId::CorrelationData => self.correlation_data = Some(value.into_binary(id)?),
            PropertyId::UserProperty => value.push_user_property(&mut self.user_properties)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn visit<'a>(&'a self, f: &mut dyn FnMut(PropertyId, ValueRef<'a>)) {
        put::bool(
            f,
            PropertyId::PayloadFormatIndicator,
            self.payload_format_indicator,
        );
        put::u32(
            f,
            PropertyId::MessageExpiryInterval,
            self.message_expiry_interval,
        );
        put::str(f, PropertyId::ContentType, self.content_type.as_deref());
        put::str(f, PropertyId::ResponseTopic, self.response_topic.as_deref());
        put::bin(
            f,
            PropertyId::CorrelationData,
            self.correlation_data.as_deref(),
        );
        put::u32(f, PropertyId::WillDelayInterval, self.will_delay_interval);
        property::visit_user_properties(&self.user_properties, f);
    }
}

mod flag {
    pub(super) const USERNAME: u8 = 0b1000_0000;
    pub(super) const PASSWORD: u8 = 0b0100_0000;
    pub(super) const WILL_RETAIN: u8 = 0b0010_0000;
    pub(super) const WILL_QOS_SHIFT: u8 = 3;
    pub(super) const WILL_QOS: u8 = 0b0001_1000;
    pub(super) const WILL: u8 = 0b0000_0100;
    pub(super) const CLEAN_START: u8 = 0b0000_0010;
    pub(super) const RESERVED: u8 = 0b0000_0001;
}

impl Connect {
    /// A CONNECT with clean start, a 60 second keep alive and nothing else set.
    pub fn new(client_id: impl Into<ByteString>) -> Connect {
        Connect {
            clean_start: true,
            keep_alive: 60,
            client_id: client_id.into(),
            will: None,
            username: None,
            password: None,
            properties: ConnectProperties::default(),
        }
    }

    pub(crate) fn decode(version: Version, body: &Bytes) -> Result<Connect, DecodeError> {
        let (input, name) = finish(binary_slice(body))?;
        if name != version.protocol_name().as_bytes() {
            return Err(DecodeError::InvalidProtocolName);
        }
        let (input, level) = finish(be_u8(input))?;
        if level != version.level() {
            return Err(DecodeError::UnsupportedProtocolVersion(level));
        }
        let (input, flags) = finish(be_u8(input))?;
        check_flags(version, flags).map_err(|()| DecodeError::InvalidConnectFlags(flags))?;
        let (input, keep_alive) = finish(be_u16(input))?;
        let (input, properties) = if version.is_v5() {
            finish(property::decode::<ConnectProperties>(
                body,
                input,
                PacketType::Connect,
            ))?
        } else {
            (input, ConnectProperties::default())
        };
        if properties.authentication_data.is_some() && properties.authentication_method.is_none() {
            return Err(DecodeError::InvalidPropertyValue(
                PropertyId::AuthenticationData,
            ));
        }
        let (input, client_id) = finish(string(body, input))?;
        let (input, will) = if flags & flag::WILL != 0 {
            let (input, will) = finish(decode_will(version, body, input, flags))?;
            (input, Some(will))
        } else {
            (input, None)
        };
        let (input, username) = if flags & flag::USERNAME != 0 {
            let (input, name) = finish(string(body, input))?;
            (input, Some(name))
        } else {
            (input, None)
        };
        let (input, password) = if flags & flag::PASSWORD != 0 {
            let (input, password) = finish(binary(body, input))?;
            (input, Some(password))
        } else {
            (input, None)
        };
        ensure_empty(input)?;
        Ok(Connect {
            clean_start: flags & flag::CLEAN_START != 0,
            keep_alive,
            client_id,
            will,
            username,
            password,
            properties,
        })
    }

    fn flags(&self) -> u8 {
        let mut flags = 0;
        if self.username.is_some() {
            flags |= flag::USERNAME;
        }
        if self.password.is_some() {
            flags |= flag::PASSWORD;
        }
        if let Some(will) = &self.will {
            flags |= flag::WILL | (will.qos.as_u8() << flag::WILL_QOS_SHIFT);
            if will.retain {
                flags |= flag::WILL_RETAIN;
            }
        }
        if self.clean_start {
            flags |= flag::CLEAN_START;
        }
        flags
    }

    /// Checks the packet and returns its remaining length and the lengths of the CONNECT and
    /// will property lists.
    fn measure(&self, version: Version) -> Result<(usize, usize, usize), EncodeError> {
        if version == Version::V31 {
            // A client identifier of 1 to 23 characters; an empty one can't ask the server
            // to assign one (MQTT 3.1 §3.1). The server would refuse any other with CONNACK 2.
            let chars = self.client_id.chars().count();
            if !(1..=V31_MAX_CLIENT_ID).contains(&chars) {
                return Err(EncodeError::ClientIdLength { chars });
            }
        }
        if !version.is_v5() {
            if self.password.is_some() && self.username.is_none() {
                return Err(EncodeError::InvalidConnect(
                    "MQTT 3.1 and 3.1.1 need a user name to send a password",
                ));
            }
            if self.client_id.is_empty() && !self.clean_start {
                return Err(EncodeError::InvalidConnect(
                    "MQTT 3.1.1 needs Clean Session for an empty client identifier",
                ));
            }
        }
        if self.properties.authentication_data.is_some()
            && self.properties.authentication_method.is_none()
        {
            return Err(EncodeError::InvalidPropertyValue(
                PropertyId::AuthenticationData,
            ));
        }
        check_string(&self.client_id, "client identifier")?;
        let properties_len = property::measure(&self.properties, version)?;
        let mut remaining = field_len(version.protocol_name().len())
            + 1
            + 1
            + 2
            + property::wire_len(properties_len, version)
            + field_len(self.client_id.len());
        let mut will_properties_len = 0;
        if let Some(will) = &self.will {
            // A Will Topic is a topic name, never empty (MQTT-4.7.3-1); `TopicName::default()` is.
            if will.topic.is_empty() {
                return Err(EncodeError::EmptyTopic);
            }
            if will
                .properties
                .response_topic
                .as_ref()
                .is_some_and(TopicName::is_empty)
            {
                return Err(EncodeError::InvalidPropertyValue(PropertyId::ResponseTopic));
            }
            will_properties_len = property::measure(&will.properties, version)?;
            check_field(will.payload.len(), "will payload")?;
            remaining += property::wire_len(will_properties_len, version)
                + field_len(will.topic.len())
                + field_len(will.payload.len());
        }
        if let Some(username) = &self.username {
            check_string(username, "user name")?;
            remaining += field_len(username.len());
        }
        if let Some(password) = &self.password {
            check_field(password.len(), "password")?;
            remaining += field_len(password.len());
        }
        Ok((remaining, properties_len, will_properties_len))
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
        let (remaining, properties_len, will_properties_len) = self.measure(version)?;
        put_fixed_header(
            buf,
            first_byte(PacketType::Connect as u8, 0),
            remaining,
            remaining,
        )?;
        put_field(buf, version.protocol_name().as_bytes());
        buf.put_u8(version.level());
        buf.put_u8(self.flags());
        buf.put_u16(self.keep_alive);
        property::encode(&self.properties, properties_len, version, buf);
        put_field(buf, self.client_id.as_bytes());
        if let Some(will) = &self.will {
            property::encode(&will.properties, will_properties_len, version, buf);
            put_field(buf, will.topic.as_bytes());
            put_field(buf, &will.payload);
        }
        if let Some(username) = &self.username {
            put_field(buf, username.as_bytes());
        }
        if let Some(password) = &self.password {
            put_field(buf, password);
        }
        Ok(())
    }
}

/// The rules on CONNECT flags (MQTT 5.0 §3.1.2.3 to §3.1.2.9, MQTT 3.1.1 §3.1.2.3 to §3.1.2.9).
fn check_flags(version: Version, flags: u8) -> Result<(), ()> {
    let will_qos = (flags & flag::WILL_QOS) >> flag::WILL_QOS_SHIFT;
    let reserved = flags & flag::RESERVED != 0; // MQTT-3.1.2-3
    let will_bits_without_will =
        flags & flag::WILL == 0 && flags & (flag::WILL_QOS | flag::WILL_RETAIN) != 0; // -11, -13, -15
    let bad_qos = will_qos == 3; // MQTT-3.1.2-14
    let password_without_user =
        !version.is_v5() && flags & flag::PASSWORD != 0 && flags & flag::USERNAME == 0; // MQTT-3.1.2-22
    if reserved || will_bits_without_will || bad_qos || password_without_user {
        Err(())
    } else {
        Ok(())
    }
}

fn decode_will<'a>(
    version: Version,
    body: &Bytes,
    input: &'a [u8],
    flags: u8,
) -> PResult<'a, Will> {
    let (input, properties) = if version.is_v5() {
        property::decode::<WillProperties>(body, input, PacketType::Connect)?
    } else {
        (input, WillProperties::default())
    };
    let (input, topic) = string(body, input)?;
    let topic = match TopicName::new(topic) {
        Ok(topic) => topic,
        Err(e) => return fail(DecodeError::InvalidTopic(e)),
    };
    let (input, payload) = binary(body, input)?;
    let qos = match QoS::from_u8((flags & flag::WILL_QOS) >> flag::WILL_QOS_SHIFT) {
        Some(qos) => qos,
        None => return fail(DecodeError::InvalidConnectFlags(flags)),
    };
    Ok((
        input,
        Will {
            topic,
            payload,
            qos,
            retain: flags & flag::WILL_RETAIN != 0,
            properties,
        },
    ))
}
