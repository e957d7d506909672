use crate::packet::PacketType;
use crate::property::PropertyId;
use crate::reason::ReasonCode;
use crate::topic::TopicError;

/// Why bytes received from the peer are not a valid packet.
///
/// Each variant is one way a peer can break the standard. [`reason_code`](Self::reason_code)
/// tells which MQTT 5.0 reason code the connection should be closed with: 0x81 Malformed Packet
/// for bytes that cannot be parsed as the standard says, 0x82 Protocol Error for well-formed
/// packets that break a rule, 0x95 for packets above the maximum size.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// A Variable Byte Integer is longer than 4 bytes, or not in its shortest form in MQTT 5.0
    /// (MQTT 5.0 §1.5.5, MQTT-1.5.5-1).
    MalformedVarInt,
    /// The packet is larger than the configured maximum packet size (MQTT 5.0 §3.1.2.11.4).
    PacketTooLarge {
        /// Size of the whole packet, fixed header included, as announced by its header.
        size: usize,
        /// The configured maximum.
        max: u32,
    },
    /// The packet type nibble is reserved (0), or 15 (AUTH) before MQTT 5.0.
    InvalidPacketType(u8),
    /// The fixed header's flag bits are not the ones the standard requires (MQTT-2.2.2-1/2).
    InvalidHeaderFlags {
        /// The packet whose header is wrong.
        packet_type: PacketType,
        /// The four flag bits received.
        flags: u8,
    },
    /// A QoS field holds 3 (MQTT-3.3.1-4).
    InvalidQoS,
    /// A QoS 0 PUBLISH has its DUP flag set (MQTT-3.3.1-2).
    DupOnQoS0,
    /// A Packet Identifier is 0 (MQTT-2.3.1-1).
    ZeroPacketId,
    /// The packet ends before a field it must contain.
    UnexpectedEnd,
    /// The packet has bytes left over after its last field.
    TrailingBytes,
    /// A string is not well-formed UTF-8 (MQTT-1.5.4-1).
    InvalidUtf8,
    /// A string contains U+0000 (MQTT-1.5.4-2).
    NullCharacter,
    /// A topic name or filter is invalid.
    InvalidTopic(TopicError),
    /// A PUBLISH has an empty topic name and no Topic Alias (MQTT 5.0 §3.3.2.1).
    EmptyTopicWithoutAlias,
    /// A property identifier the standard does not define.
    UnknownProperty(u8),
    /// A property the standard does not allow in this packet (MQTT 5.0 §2.2.2.2).
    PropertyNotAllowed {
        /// The property.
        property: PropertyId,
        /// The packet it appeared in.
        packet_type: PacketType,
    },
    /// A property that may appear once appears more than once.
    DuplicateProperty(PropertyId),
    /// A property holds a value the standard forbids (a Receive Maximum of 0, say).
    InvalidPropertyValue(PropertyId),
    /// A SUBSCRIBE or UNSUBSCRIBE carries no topic filter (MQTT-3.8.3-3, MQTT-3.10.3-2).
    NoTopicFilters,
    /// Subscription options have reserved bits set (MQTT-3.8.3-5, Malformed Packet), QoS 3 or
    /// Retain Handling 3, or No Local on a shared subscription (MQTT-3.8.3-4); the last three are
    /// Protocol Errors (MQTT 5.0 §3.8.3.1).
    InvalidSubscriptionOptions(u8),
    /// CONNECT's protocol name is not the one of the decoder's version: "MQTT"
    /// (MQTT-3.1.2-1), or "MQIsdp" for MQTT 3.1.
    InvalidProtocolName,
    /// CONNECT's protocol level is not the version this decoder speaks (MQTT-3.1.2-2).
    UnsupportedProtocolVersion(u8),
    /// CONNECT's flags break a rule: reserved bit set, Will QoS or Retain without a Will,
    /// Will QoS 3, or (MQTT 3.1.1) a password without a user name (MQTT-3.1.2-3, -11, -13..15, -22).
    InvalidConnectFlags(u8),
    /// CONNACK's acknowledge flags have reserved bits set (MQTT-3.2.2-1).
    InvalidConnAckFlags(u8),
    /// A reason or return code this packet does not define: in MQTT 5.0 any code outside the
    /// packet's table (MQTT-3.2.2-8, MQTT-3.4.2-1, MQTT-3.5.2-1, MQTT-3.6.2-1, MQTT-3.7.2-1,
    /// MQTT-3.9.3-2, MQTT-3.11.3-2, MQTT-3.14.2-1, MQTT-3.15.2-1; see
    /// [`ReasonCode::is_defined_for`]); in MQTT 3.1.1 a reserved CONNACK return code (6 to 255,
    /// §3.2.2.3) or SUBACK return code (MQTT-3.9.3-2); in MQTT 3.1 the same CONNACK return
    /// codes, and a SUBACK code other than the granted QoS 0 to 2 (0x80 included).
    ///
    /// A Protocol Error: the byte parses, but its value is not allowed (MQTT 5.0 §1.2), as the
    /// standard rules for the other fields whose value it restricts, QoS 3 in subscription
    /// options (§3.8.3.1) or a Maximum QoS of 2 (§3.2.2.3.4), say.
    InvalidReasonCode(u8),
}

impl DecodeError {
    /// The MQTT 5.0 reason code to send in the DISCONNECT that closes the connection.
    pub fn reason_code(&self) -> ReasonCode {
        match self {
            DecodeError::PacketTooLarge { .. } => ReasonCode::PACKET_TOO_LARGE,
            DecodeError::UnsupportedProtocolVersion(_) => ReasonCode::UNSUPPORTED_PROTOCOL_VERSION,
            DecodeError::EmptyTopicWithoutAlias
            | DecodeError::InvalidReasonCode(_)
            | DecodeError::DuplicateProperty(_)
            | DecodeError::InvalidPropertyValue(_)
            | DecodeError::NoTopicFilters
            | DecodeError::InvalidProtocolName => ReasonCode::PROTOCOL_ERROR,
            // MQTT 5.0 §3.8.3.1: set reserved bits (7-6) are malformed (MQTT-3.8.3-5); QoS 3,
            // Retain Handling 3 and No Local on a shared subscription are Protocol Errors.
            DecodeError::InvalidSubscriptionOptions(options) if options & 0b1100_0000 == 0 => {
                ReasonCode::PROTOCOL_ERROR
            }
            DecodeError::InvalidTopic(TopicError::WildcardInName) => ReasonCode::TOPIC_NAME_INVALID,
            _ => ReasonCode::MALFORMED_PACKET,
        }
    }
}

impl From<TopicError> for DecodeError {
    fn from(error: TopicError) -> Self {
        DecodeError::InvalidTopic(error)
    }
}

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DecodeError::MalformedVarInt => f.write_str("malformed variable byte integer"),
            DecodeError::PacketTooLarge { size, max } => {
                write!(f, "packet of {size} bytes exceeds the maximum of {max}")
            }
            DecodeError::InvalidPacketType(t) => write!(f, "invalid packet type {t}"),
            DecodeError::InvalidHeaderFlags { packet_type, flags } => {
                write!(
                    f,
                    "invalid fixed header flags {flags:#06b} for {packet_type:?}"
                )
            }
            DecodeError::InvalidQoS => f.write_str("QoS 3 is not a valid QoS"),
            DecodeError::DupOnQoS0 => f.write_str("DUP flag set on a QoS 0 PUBLISH"),
            DecodeError::ZeroPacketId => f.write_str("packet identifier 0"),
            DecodeError::UnexpectedEnd => f.write_str("packet ends before its last field"),
            DecodeError::TrailingBytes => f.write_str("bytes left over after the last field"),
            DecodeError::InvalidUtf8 => f.write_str("string is not well-formed UTF-8"),
            DecodeError::NullCharacter => f.write_str("string contains U+0000"),
            DecodeError::InvalidTopic(e) => write!(f, "invalid topic: {e}"),
            DecodeError::EmptyTopicWithoutAlias => {
                f.write_str("PUBLISH with an empty topic name and no topic alias")
            }
            DecodeError::UnknownProperty(id) => write!(f, "unknown property identifier {id:#04x}"),
            DecodeError::PropertyNotAllowed {
                property,
                packet_type,
            } => write!(f, "property {property:?} is not allowed in {packet_type:?}"),
            DecodeError::DuplicateProperty(p) => write!(f, "property {p:?} appears twice"),
            DecodeError::InvalidPropertyValue(p) => write!(f, "invalid value for property {p:?}"),
            DecodeError::NoTopicFilters => f.write_str("no topic filter in (UN)SUBSCRIBE"),
            DecodeError::InvalidSubscriptionOptions(o) => {
                write!(f, "invalid subscription options {o:#010b}")
            }
            DecodeError::InvalidProtocolName => {
                f.write_str("protocol name is not the one of this version")
            }
            DecodeError::UnsupportedProtocolVersion(l) => {
                write!(f, "unsupported protocol level {l}")
            }
            DecodeError::InvalidConnectFlags(b) => write!(f, "invalid CONNECT flags {b:#010b}"),
            DecodeError::InvalidConnAckFlags(b) => write!(f, "invalid CONNACK flags {b:#010b}"),
            DecodeError::InvalidReasonCode(c) => {
                write!(f, "reason code {c:#04x} is not defined for this packet")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for DecodeError {}

/// Why a packet could not be encoded.
///
/// Encoding refuses to produce bytes that would not be a valid packet.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The packet carries data that MQTT 3.1.1 (and 3.1) cannot express; the field is named.
    V5Only(&'static str),
    /// The packet carries data that MQTT 3.1 cannot express, though later versions can (the
    /// Session Present flag of CONNACK); the field is named.
    NotInV31(&'static str),
    /// The packet type does not exist in this version (AUTH before MQTT 5.0).
    PacketNotInVersion(PacketType),
    /// A string or binary field is longer than 65,535 bytes (MQTT 5.0 §1.5.4, §1.5.6).
    FieldTooLong(&'static str),
    /// The packet would be larger than 268,435,455 bytes of remaining length (MQTT 5.0 §2.1.4).
    PacketTooLarge,
    /// A string contains U+0000 (MQTT-1.5.4-2).
    NullCharacter(&'static str),
    /// A PUBLISH's packet identifier does not fit its QoS: QoS 0 must have none, QoS 1 and 2
    /// must have one (MQTT-2.2.1-2, MQTT-2.2.1-3).
    PacketIdMismatch,
    /// DUP is set on a QoS 0 PUBLISH (MQTT-3.3.1-2).
    DupOnQoS0,
    /// A PUBLISH has an empty topic name and no Topic Alias, or a will has an empty topic
    /// (MQTT-4.7.3-1).
    EmptyTopic,
    /// A SUBSCRIBE or UNSUBSCRIBE with no topic filter (MQTT-3.8.3-3, MQTT-3.10.3-2).
    NoTopicFilters,
    /// No Local on a shared subscription (MQTT-3.8.3-4).
    NoLocalOnSharedSubscription,
    /// A property value the standard forbids; the property is named.
    InvalidPropertyValue(PropertyId),
    /// The reason code cannot be sent in this packet for this version: MQTT 5.0 defines it
    /// for another packet or not at all ([`ReasonCode::is_defined_for`]), or MQTT 3.1.1 has no
    /// return code for it.
    InvalidReasonCode(ReasonCode),
    /// MQTT 3.1.1 CONNECT with a password but no user name (MQTT-3.1.2-22), or an empty client
    /// identifier without Clean Session (MQTT-3.1.3-7).
    InvalidConnect(&'static str),
    /// MQTT 3.1 CONNECT whose client identifier is not 1 to 23 characters long (MQTT 3.1 §3.1,
    /// "Client Identifier"). MQTT 3.1 has no way to ask the server for an identifier.
    ClientIdLength {
        /// The identifier's length in characters.
        chars: usize,
    },
    /// The output buffer has no room for the packet.
    BufferTooSmall {
        /// Bytes the packet needs.
        needed: usize,
        /// Bytes the buffer has left.
        remaining: usize,
    },
}

impl core::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EncodeError::V5Only(what) => write!(f, "{what} needs MQTT 5.0"),
            EncodeError::NotInV31(what) => write!(f, "{what} does not exist in MQTT 3.1"),
            EncodeError::PacketNotInVersion(t) => write!(f, "{t:?} does not exist before MQTT 5.0"),
            EncodeError::FieldTooLong(what) => write!(f, "{what} is longer than 65535 bytes"),
            EncodeError::PacketTooLarge => f.write_str("packet exceeds the MQTT size limit"),
            EncodeError::NullCharacter(what) => write!(f, "{what} contains U+0000"),
            EncodeError::PacketIdMismatch => {
                f.write_str("PUBLISH packet identifier does not match its QoS")
            }
            EncodeError::DupOnQoS0 => f.write_str("DUP set on a QoS 0 PUBLISH"),
            EncodeError::EmptyTopic => f.write_str("empty topic name without a topic alias"),
            EncodeError::NoTopicFilters => f.write_str("no topic filter"),
            EncodeError::NoLocalOnSharedSubscription => {
                f.write_str("No Local set on a shared subscription")
            }
            EncodeError::InvalidPropertyValue(p) => write!(f, "invalid value for property {p:?}"),
            EncodeError::InvalidReasonCode(c) => write!(f, "{c} cannot be sent in this packet"),
            EncodeError::InvalidConnect(why) => write!(f, "invalid CONNECT: {why}"),
            EncodeError::ClientIdLength { chars } => write!(
                f,
                "MQTT 3.1 needs a client identifier of 1 to 23 characters, not {chars}"
            ),
            EncodeError::BufferTooSmall { needed, remaining } => {
                write!(f, "packet needs {needed} bytes, buffer has {remaining}")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for EncodeError {}
