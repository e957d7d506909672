use crate::PacketType;
use crate::error::{DecodeError, EncodeError};

/// An MQTT 5.0 reason code (MQTT 5.0 §2.4).
///
/// An open newtype: any byte can be held, and the named constants cover the codes the standard
/// defines. Values below 0x80 report success, values from 0x80 report failure
/// ([`is_error`](ReasonCode::is_error)). MQTT 3.1.1 CONNACK return codes and SUBACK results are
/// mapped onto the equivalent MQTT 5.0 codes, so one type serves both versions.
///
/// Which codes a packet may carry is an explicit decision of the codec, made once for every
/// user of it: the decoder refuses a code that the packet's table does not define
/// ([`DecodeError::InvalidReasonCode`](crate::DecodeError::InvalidReasonCode), a Protocol
/// Error), and the encoder refuses to write one
/// ([`EncodeError::InvalidReasonCode`](crate::EncodeError::InvalidReasonCode)); see
/// [`is_defined_for`](ReasonCode::is_defined_for).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ReasonCode(pub u8);

macro_rules! reason_codes {
    ($($(#[$doc:meta])* $name:ident = $value:literal, $text:literal;)*) => {
        impl ReasonCode {
            $($(#[$doc])* pub const $name: ReasonCode = ReasonCode($value);)*

            /// The standard's name for this code, or `None` for a value it does not define.
            ///
            /// Some values have several names in the standard (0x00 is Success, Normal
            /// disconnection and Granted QoS 0); this gives the first.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some($text),)*
                    _ => None,
                }
            }
        }
    };
}

reason_codes! {
    /// 0x00 Success (also Normal disconnection and Granted QoS 0).
    SUCCESS = 0x00, "Success";
    /// 0x01 Granted QoS 1.
    GRANTED_QOS_1 = 0x01, "Granted QoS 1";
    /// 0x02 Granted QoS 2.
    GRANTED_QOS_2 = 0x02, "Granted QoS 2";
    /// 0x04 Disconnect with Will Message.
    DISCONNECT_WITH_WILL = 0x04, "Disconnect with Will Message";
    /// 0x10 No matching subscribers.
    NO_MATCHING_SUBSCRIBERS = 0x10, "No matching subscribers";
    /// 0x11 No subscription existed.
    NO_SUBSCRIPTION_EXISTED = 0x11, "No subscription existed";
    /// 0x18 Continue authentication.
    CONTINUE_AUTHENTICATION = 0x18, "Continue authentication";
    /// 0x19 Re-authenticate.
    REAUTHENTICATE = 0x19, "Re-authenticate";
    /// 0x80 Unspecified error (also the MQTT 3.1.1 SUBACK failure code).
    UNSPECIFIED_ERROR = 0x80, "Unspecified error";
    /// 0x81 Malformed Packet.
    MALFORMED_PACKET = 0x81, "Malformed Packet";
    /// 0x82 Protocol Error.
    PROTOCOL_ERROR = 0x82, "Protocol Error";
    /// 0x83 Implementation specific error.
    IMPLEMENTATION_SPECIFIC_ERROR = 0x83, "Implementation specific error";
    /// 0x84 Unsupported Protocol Version.
    UNSUPPORTED_PROTOCOL_VERSION = 0x84, "Unsupported Protocol Version";
    /// 0x85 Client Identifier not valid.
    CLIENT_IDENTIFIER_NOT_VALID = 0x85, "Client Identifier not valid";
    /// 0x86 Bad User Name or Password.
    BAD_USER_NAME_OR_PASSWORD = 0x86, "Bad User Name or Password";
    /// 0x87 Not authorized.
    NOT_AUTHORIZED = 0x87, "Not authorized";
    /// 0x88 Server unavailable.
    SERVER_UNAVAILABLE = 0x88, "Server unavailable";
    /// 0x89 Server busy.
    SERVER_BUSY = 0x89, "Server busy";
    /// 0x8A Banned.
    BANNED = 0x8A, "Banned";
    /// 0x8B Server shutting down.
    SERVER_SHUTTING_DOWN = 0x8B, "Server shutting down";
    /// 0x8C Bad authentication method.
    BAD_AUTHENTICATION_METHOD = 0x8C, "Bad authentication method";
    /// 0x8D Keep Alive timeout.
    KEEP_ALIVE_TIMEOUT = 0x8D, "Keep Alive timeout";
    /// 0x8E Session taken over.
    SESSION_TAKEN_OVER = 0x8E, "Session taken over";
    /// 0x8F Topic Filter invalid.
    TOPIC_FILTER_INVALID = 0x8F, "Topic Filter invalid";
    /// 0x90 Topic Name invalid.
    TOPIC_NAME_INVALID = 0x90, "Topic Name invalid";
    /// 0x91 Packet Identifier in use.
    PACKET_IDENTIFIER_IN_USE = 0x91, "Packet Identifier in use";
    /// 0x92 Packet Identifier not found.
    PACKET_IDENTIFIER_NOT_FOUND = 0x92, "Packet Identifier not found";
    /// 0x93 Receive Maximum exceeded.
    RECEIVE_MAXIMUM_EXCEEDED = 0x93, "Receive Maximum exceeded";
    /// 0x94 Topic Alias invalid.
    TOPIC_ALIAS_INVALID = 0x94, "Topic Alias invalid";
    /// 0x95 Packet too large.
    PACKET_TOO_LARGE = 0x95, "Packet too large";
    /// 0x96 Message rate too high.
    MESSAGE_RATE_TOO_HIGH = 0x96, "Message rate too high";
    /// 0x97 Quota exceeded.
    QUOTA_EXCEEDED = 0x97, "Quota exceeded";
    /// 0x98 Administrative action.
    ADMINISTRATIVE_ACTION = 0x98, "Administrative action";
    /// 0x99 Payload format invalid.
    PAYLOAD_FORMAT_INVALID = 0x99, "Payload format invalid";
    /// 0x9A Retain not supported.
    RETAIN_NOT_SUPPORTED = 0x9A, "Retain not supported";
    /// 0x9B QoS not supported.
    QOS_NOT_SUPPORTED = 0x9B, "QoS not supported";
    /// 0x9C Use another server.
    USE_ANOTHER_SERVER = 0x9C, "Use another server";
    /// 0x9D Server moved.
    SERVER_MOVED = 0x9D, "Server moved";
    /// 0x9E Shared Subscriptions not supported.
    SHARED_SUBSCRIPTIONS_NOT_SUPPORTED = 0x9E, "Shared Subscriptions not supported";
    /// 0x9F Connection rate exceeded.
    CONNECTION_RATE_EXCEEDED = 0x9F, "Connection rate exceeded";
    /// 0xA0 Maximum connect time.
    MAXIMUM_CONNECT_TIME = 0xA0, "Maximum connect time";
    /// 0xA1 Subscription Identifiers not supported.
    SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED = 0xA1, "Subscription Identifiers not supported";
    /// 0xA2 Wildcard Subscriptions not supported.
    WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED = 0xA2, "Wildcard Subscriptions not supported";
}

impl ReasonCode {
    /// 0x00 Normal disconnection, the DISCONNECT name of [`SUCCESS`](ReasonCode::SUCCESS).
    pub const NORMAL_DISCONNECTION: ReasonCode = ReasonCode(0x00);
    /// 0x00 Granted QoS 0, the SUBACK name of [`SUCCESS`](ReasonCode::SUCCESS).
    pub const GRANTED_QOS_0: ReasonCode = ReasonCode(0x00);

    /// `true` for codes from 0x80 up, which report failure.
    pub const fn is_error(self) -> bool {
        self.0 >= 0x80
    }

    /// `true` for codes below 0x80, which report success.
    pub const fn is_success(self) -> bool {
        self.0 < 0x80
    }

    /// Whether MQTT 5.0 defines this code for `packet` (the reason code tables of §3: Table
    /// 3-1 for CONNACK, 3-4 to 3-7 for the publish acknowledgements, 3-8 and 3-9 for SUBACK and
    /// UNSUBACK, 3-10 for DISCONNECT, 3-11 for AUTH). A sender uses only these
    /// (MQTT-3.2.2-8, MQTT-3.4.2-1, MQTT-3.5.2-1, MQTT-3.6.2-1, MQTT-3.7.2-1, MQTT-3.9.3-2,
    /// MQTT-3.11.3-2, MQTT-3.14.2-1, MQTT-3.15.2-1). Packets without a reason code define none.
    ///
    /// The MQTT 5.0 decoder refuses any other code with
    /// [`DecodeError::InvalidReasonCode`](crate::DecodeError::InvalidReasonCode), and the
    /// encoder with [`EncodeError::InvalidReasonCode`](crate::EncodeError::InvalidReasonCode).
    /// The check lives in the codec rather than in each receiver because it depends on the
    /// packet alone, not on any state: every user of the decoder, client or server, then gets
    /// the standard's answer, and a session can never mistake an undefined code below 0x80
    /// for success.
    ///
    /// ```
    /// use mqtt_proto::{PacketType, ReasonCode};
    ///
    /// assert!(ReasonCode::NO_MATCHING_SUBSCRIBERS.is_defined_for(PacketType::PubAck));
    /// assert!(!ReasonCode::NO_MATCHING_SUBSCRIBERS.is_defined_for(PacketType::PubRel));
    /// ```
    pub const fn is_defined_for(self, packet: PacketType) -> bool {
        match packet {
            PacketType::ConnAck => matches!(
                self.0,
                0x00 | 0x80..=0x8A | 0x8C | 0x90 | 0x95 | 0x97 | 0x99..=0x9D | 0x9F
            ),
            PacketType::PubAck | PacketType::PubRec => matches!(
                self.0,
                0x00 | 0x10 | 0x80 | 0x83 | 0x87 | 0x90 | 0x91 | 0x97 | 0x99
            ),
            PacketType::PubRel | PacketType::PubComp => matches!(self.0, 0x00 | 0x92),
            PacketType::SubAck => matches!(
                self.0,
                0x00..=0x02 | 0x80 | 0x83 | 0x87 | 0x8F | 0x91 | 0x97 | 0x9E | 0xA1 | 0xA2
            ),
            PacketType::UnsubAck => {
                matches!(self.0, 0x00 | 0x11 | 0x80 | 0x83 | 0x87 | 0x8F | 0x91)
            }
            PacketType::Disconnect => matches!(
                self.0,
                0x00 | 0x04 | 0x80..=0x83 | 0x87 | 0x89 | 0x8B | 0x8D..=0x90 | 0x93..=0xA2
            ),
            PacketType::Auth => matches!(self.0, 0x00 | 0x18 | 0x19),
            _ => false,
        }
    }

    /// `code` as the reason code of an MQTT 5.0 `packet`, when its table defines it.
    pub(crate) const fn decode_for(
        code: u8,
        packet: PacketType,
    ) -> Result<ReasonCode, DecodeError> {
        if ReasonCode(code).is_defined_for(packet) {
            Ok(ReasonCode(code))
        } else {
            Err(DecodeError::InvalidReasonCode(code))
        }
    }

    /// Refuses to write this code into an MQTT 5.0 `packet` whose table does not define it.
    pub(crate) const fn check_encode_for(self, packet: PacketType) -> Result<(), EncodeError> {
        if self.is_defined_for(packet) {
            Ok(())
        } else {
            Err(EncodeError::InvalidReasonCode(self))
        }
    }

    /// The MQTT 3.1.1 CONNACK return code (§3.2.2.3) for this code, if it has one.
    pub(crate) const fn to_v311_connack(self) -> Option<u8> {
        Some(match self {
            ReasonCode::SUCCESS => 0,
            ReasonCode::UNSUPPORTED_PROTOCOL_VERSION => 1,
            ReasonCode::CLIENT_IDENTIFIER_NOT_VALID => 2,
            ReasonCode::SERVER_UNAVAILABLE => 3,
            ReasonCode::BAD_USER_NAME_OR_PASSWORD => 4,
            ReasonCode::NOT_AUTHORIZED => 5,
            _ => return None,
        })
    }

    /// The code for an MQTT 3.1.1 CONNACK return code (§3.2.2.3); values 6 to 255 are reserved.
    pub(crate) const fn from_v311_connack(code: u8) -> Option<ReasonCode> {
        Some(match code {
            0 => ReasonCode::SUCCESS,
            1 => ReasonCode::UNSUPPORTED_PROTOCOL_VERSION,
            2 => ReasonCode::CLIENT_IDENTIFIER_NOT_VALID,
            3 => ReasonCode::SERVER_UNAVAILABLE,
            4 => ReasonCode::BAD_USER_NAME_OR_PASSWORD,
            5 => ReasonCode::NOT_AUTHORIZED,
            _ => return None,
        })
    }
}

impl From<u8> for ReasonCode {
    fn from(value: u8) -> Self {
        ReasonCode(value)
    }
}

impl From<ReasonCode> for u8 {
    fn from(code: ReasonCode) -> u8 {
        code.0
    }
}

impl core::fmt::Debug for ReasonCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.name() {
            Some(name) => write!(f, "ReasonCode(0x{:02X} {name})", self.0),
            None => write!(f, "ReasonCode(0x{:02X})", self.0),
        }
    }
}

impl core::fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} (0x{:02X})", self.0),
            None => write!(f, "reason code 0x{:02X}", self.0),
        }
    }
}
