//! MQTT 5.0 properties (§2.2.2): identifiers, wire types, and the generic decode and encode loop
//! that every packet's property struct plugs into.

use alloc::vec::Vec;
use core::num::{NonZeroU16, NonZeroU32};

use bytes::{BufMut, Bytes};
use bytestring::ByteString;
use nom::number::complete::{be_u8, be_u16, be_u32};

use crate::error::{DecodeError, EncodeError};
use crate::packet::PacketType;
use crate::primitive::{
    MAX_VAR_INT, PResult, binary, check_field, check_string, fail, field_len, put_field,
    put_var_int, string, var_int, var_int_len,
};
use crate::topic::TopicName;
use crate::version::Version;

macro_rules! property_ids {
    ($($(#[$doc:meta])* $name:ident = $value:literal: $wire:ident,)*) => {
        /// A property identifier (MQTT 5.0 §2.2.2.2, Table 2-4).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        #[repr(u8)]
        pub enum PropertyId {
            $($(#[$doc])* $name = $value,)*
        }

        impl PropertyId {
            /// The property for an identifier byte, or `None` for one the standard does not
            /// define.
            pub const fn from_u8(id: u8) -> Option<PropertyId> {
                match id {
                    $($value => Some(PropertyId::$name),)*
                    _ => None,
                }
            }

            /// How the property's value is encoded.
            const fn wire_type(self) -> WireType {
                match self {
                    $(PropertyId::$name => WireType::$wire,)*
                }
            }
        }
    };
}

property_ids! {
    /// 0x01 Payload Format Indicator (byte).
    PayloadFormatIndicator = 0x01: Byte,
    /// 0x02 Message Expiry Interval (four byte integer).
    MessageExpiryInterval = 0x02: FourByte,
    /// 0x03 Content Type (UTF-8 string).
    ContentType = 0x03: String,
    /// 0x08 Response Topic (UTF-8 string).
    ResponseTopic = 0x08: String,
    /// 0x09 Correlation Data (binary data).
    CorrelationData = 0x09: Binary,
    /// 0x0B Subscription Identifier (variable byte integer).
    SubscriptionIdentifier = 0x0B: VarInt,
    /// 0x11 Session Expiry Interval (four byte integer).
    SessionExpiryInterval = 0x11: FourByte,
    /// 0x12 Assigned Client Identifier (UTF-8 string).
    AssignedClientIdentifier = 0x12: String,
    /// 0x13 Server Keep Alive (two byte integer).
    ServerKeepAlive = 0x13: TwoByte,
    /// 0x15 Authentication Method (UTF-8 string).
    AuthenticationMethod = 0x15: String,
    /// 0x16 Authentication Data (binary data).
    AuthenticationData = 0x16: Binary,
    /// 0x17 Request Problem Information (byte).
    RequestProblemInformation = 0x17: Byte,
    /// 0x18 Will Delay Interval (four byte integer).
    WillDelayInterval = 0x18: FourByte,
    /// 0x19 Request Response Information (byte).
    RequestResponseInformation = 0x19: Byte,
    /// 0x1A Response Information (UTF-8 string).
    ResponseInformation = 0x1A: String,
    /// 0x1C Server Reference (UTF-8 string).
    ServerReference = 0x1C: String,
    /// 0x1F Reason String (UTF-8 string).
    ReasonString = 0x1F: String,
    /// 0x21 Receive Maximum (two byte integer).
    ReceiveMaximum = 0x21: TwoByte,
    /// 0x22 Topic Alias Maximum (two byte integer).
    TopicAliasMaximum = 0x22: TwoByte,
    /// 0x23 Topic Alias (two byte integer).
    TopicAlias = 0x23: TwoByte,
    /// 0x24 Maximum QoS (byte).
    MaximumQoS = 0x24: Byte,
    /// 0x25 Retain Available (byte).
    RetainAvailable = 0x25: Byte,
    /// 0x26 User Property (UTF-8 string pair).
    UserProperty = 0x26: StringPair,
    /// 0x27 Maximum Packet Size (four byte integer).
    MaximumPacketSize = 0x27: FourByte,
    /// 0x28 Wildcard Subscription Available (byte).
    WildcardSubscriptionAvailable = 0x28: Byte,
    /// 0x29 Subscription Identifier Available (byte).
    SubscriptionIdentifierAvailable = 0x29: Byte,
    /// 0x2A Shared Subscription Available (byte).
    SharedSubscriptionAvailable = 0x2A: Byte,
}

/// The data representations a property value can have (MQTT 5.0 §1.5).
#[derive(Clone, Copy)]
enum WireType {
    Byte,
    TwoByte,
    FourByte,
    VarInt,
    String,
    Binary,
    StringPair,
}

/// A User Property: a name and value pair the standard gives no meaning to
/// (MQTT 5.0 §3.1.2.11.8). Order is kept, and a name may appear more than once.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserProperty {
    /// The name.
    pub key: ByteString,
    /// The value.
    pub value: ByteString,
}

impl UserProperty {
    /// A pair from anything that converts into strings.
    pub fn new(key: impl Into<ByteString>, value: impl Into<ByteString>) -> Self {
        UserProperty {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// A decoded property value.
pub(crate) enum Value {
    Byte(u8),
    TwoByte(u16),
    FourByte(u32),
    VarInt(u32),
    String(ByteString),
    Binary(Bytes),
    StringPair(ByteString, ByteString),
}

/// A property value to encode, borrowed from a property struct.
pub(crate) enum ValueRef<'a> {
    Byte(u8),
    TwoByte(u16),
    FourByte(u32),
    VarInt(u32),
    String(&'a str),
    Binary(&'a [u8]),
    StringPair(&'a str, &'a str),
}

impl ValueRef<'_> {
    fn len(&self) -> usize {
        match self {
            ValueRef::Byte(_) => 1,
            ValueRef::TwoByte(_) => 2,
            ValueRef::FourByte(_) => 4,
            ValueRef::VarInt(v) => var_int_len(*v),
            ValueRef::String(s) => field_len(s.len()),
            ValueRef::Binary(b) => field_len(b.len()),
            ValueRef::StringPair(k, v) => field_len(k.len()) + field_len(v.len()),
        }
    }
}

/// A packet's property struct: which properties it takes and how they map onto its fields.
///
/// The decode loop below reads each property, refuses duplicates, and hands it to
/// [`set`](Properties::set), whose fallback arm refuses properties the packet does not allow.
/// Encoding goes through [`visit`](Properties::visit), which lists the properties that are present.
pub(crate) trait Properties: Default {
    /// PUBLISH may carry several Subscription Identifiers (MQTT 5.0 §3.3.2.3.8); everywhere else
    /// only User Property repeats.
    const REPEATED_SUBSCRIPTION_ID: bool = false;

    /// Stores one decoded property; `Ok(false)` when the packet does not allow it.
    fn set(&mut self, id: PropertyId, value: Value) -> Result<bool, DecodeError>;

    /// Calls `f` for each property present, in identifier order.
    fn visit<'a>(&'a self, f: &mut dyn FnMut(PropertyId, ValueRef<'a>));
}

/// Reads a property list: its Variable Byte Integer length, then the properties
/// (MQTT 5.0 §2.2.2). `packet_type` names the packet in errors.
pub(crate) fn decode<'a, P: Properties>(
    src: &Bytes,
    input: &'a [u8],
    packet_type: PacketType,
) -> PResult<'a, P> {
    let mut properties = P::default();
    let (rest, ()) = decode_into(src, input, packet_type, &mut properties)?;
    Ok((rest, properties))
}

/// [`decode`] into a property struct the caller provides, which should be empty: for one that
/// lives on the heap, so that it is not built on the stack and then copied there.
pub(crate) fn decode_into<'a, P: Properties>(
    src: &Bytes,
    input: &'a [u8],
    packet_type: PacketType,
    properties: &mut P,
) -> PResult<'a, ()> {
    let (input, len) = var_int(input)?;
    let len = len as usize;
    if len > input.len() {
        return fail(DecodeError::UnexpectedEnd);
    }
    let (mut list, rest) = input.split_at(len);
    let mut seen = 0u64;
    while !list.is_empty() {
        let (after_id, raw_id) = var_int(list)?;
        let id = match u8::try_from(raw_id).ok().and_then(PropertyId::from_u8) {
            Some(id) => id,
            None => return fail(DecodeError::UnknownProperty(raw_id.min(255) as u8)),
        };
        let repeats = id == PropertyId::UserProperty
            || (P::REPEATED_SUBSCRIPTION_ID && id == PropertyId::SubscriptionIdentifier);
        let bit = 1u64 << (id as u8);
        if seen & bit != 0 && !repeats {
            return fail(DecodeError::DuplicateProperty(id));
        }
        seen |= bit;
        let (after_value, value) = value(src, after_id, id.wire_type())?;
        match properties.set(id, value) {
            Ok(true) => {}
            Ok(false) => {
                return fail(DecodeError::PropertyNotAllowed {
                    property: id,
                    packet_type,
                });
            }
            Err(e) => return fail(e),
        }
        list = after_value;
    }
    Ok((rest, ()))
}

fn value<'a>(src: &Bytes, input: &'a [u8], wire: WireType) -> PResult<'a, Value> {
    Ok(match wire {
        WireType::Byte => {
            let (i, v) = be_u8(input)?;
            (i, Value::Byte(v))
        }
        WireType::TwoByte => {
            let (i, v) = be_u16(input)?;
            (i, Value::TwoByte(v))
        }
        WireType::FourByte => {
            let (i, v) = be_u32(input)?;
            (i, Value::FourByte(v))
        }
        WireType::VarInt => {
            let (i, v) = var_int(input)?;
            (i, Value::VarInt(v))
        }
        WireType::String => {
            let (i, v) = string(src, input)?;
            (i, Value::String(v))
        }
        WireType::Binary => {
            let (i, v) = binary(src, input)?;
            (i, Value::Binary(v))
        }
        WireType::StringPair => {
            let (i, k) = string(src, input)?;
            let (i, v) = string(src, i)?;
            (i, Value::StringPair(k, v))
        }
    })
}

/// The length of the property list, without its own length prefix.
pub(crate) fn len<P: Properties>(properties: &P) -> usize {
    let mut len = 0;
    properties.visit(&mut |_, value| len += 1 + value.len());
    len
}

/// Refuses a string or binary value that is too long, a string that contains U+0000 and a
/// Variable Byte Integer above its maximum.
#[inline]
fn check_value(id: PropertyId, value: &ValueRef<'_>) -> Result<(), EncodeError> {
    match *value {
        ValueRef::VarInt(v) if v > MAX_VAR_INT => Err(EncodeError::InvalidPropertyValue(id)),
        ValueRef::String(s) => check_string(s, "string property"),
        ValueRef::Binary(b) => check_field(b.len(), "binary property"),
        ValueRef::StringPair(k, v) => {
            check_string(k, "user property").and_then(|()| check_string(v, "user property"))
        }
        _ => Ok(()),
    }
}

/// Checks the properties and returns the length of the list without its own length prefix; for
/// MQTT 3.1.1, which has no properties, refuses any and returns 0.
pub(crate) fn measure<P: Properties>(
    properties: &P,
    version: Version,
) -> Result<usize, EncodeError> {
    // One walk for the length and the checks; the first failed check is the one reported.
    let mut len = 0;
    let mut checked = Ok(());
    properties.visit(&mut |id, value| {
        len += 1 + value.len();
        if checked.is_ok() {
            checked = check_value(id, &value);
        }
    });
    if !version.is_v5() {
        return if len == 0 {
            Ok(0)
        } else {
            Err(EncodeError::V5Only("properties"))
        };
    }
    checked.map(|()| len)
}

/// Bytes taken on the wire by a property list of `len` bytes with its length prefix: nothing in
/// MQTT 3.1.1.
pub(crate) fn wire_len(len: usize, version: Version) -> usize {
    if version.is_v5() {
        var_int_len(len as u32) + len
    } else {
        0
    }
}

/// Writes a property list of `len` bytes (from [`measure`]) with its length prefix; nothing in
/// MQTT 3.1.1.
pub(crate) fn encode<P: Properties>(
    properties: &P,
    len: usize,
    version: Version,
    buf: &mut impl BufMut,
) {
    if !version.is_v5() {
        return;
    }
    put_var_int(buf, len as u32);
    properties.visit(&mut |id, value| {
        buf.put_u8(id as u8);
        match value {
            ValueRef::Byte(v) => buf.put_u8(v),
            ValueRef::TwoByte(v) => buf.put_u16(v),
            ValueRef::FourByte(v) => buf.put_u32(v),
            ValueRef::VarInt(v) => put_var_int(buf, v),
            ValueRef::String(s) => put_field(buf, s.as_bytes()),
            ValueRef::Binary(b) => put_field(buf, b),
            ValueRef::StringPair(k, v) => {
                put_field(buf, k.as_bytes());
                put_field(buf, v.as_bytes());
            }
        }
    });
}

// ---- value conversions used by the property structs' `set` ---------------------------------

impl Value {
    /// A byte that must be 0 or 1.
    pub(crate) fn into_bool(self, id: PropertyId) -> Result<bool, DecodeError> {
        match self {
            Value::Byte(0) => Ok(false),
            Value::Byte(1) => Ok(true),
            _ => Err(DecodeError::InvalidPropertyValue(id)),
        }
    }

    pub(crate) fn into_u16(self, id: PropertyId) -> Result<u16, DecodeError> {
        match self {
            Value::TwoByte(v) => Ok(v),
            _ => Err(DecodeError::InvalidPropertyValue(id)),
        }
    }

    /// A two byte integer that must not be 0.
    pub(crate) fn into_nonzero_u16(self, id: PropertyId) -> Result<NonZeroU16, DecodeError> {
        NonZeroU16::new(self.into_u16(id)?).ok_or(DecodeError::InvalidPropertyValue(id))
    }

    pub(crate) fn into_u32(self, id: PropertyId) -> Result<u32, DecodeError> {
        match self {
            Value::FourByte(v) | Value::VarInt(v) => Ok(v),
            _ => Err(DecodeError::InvalidPropertyValue(id)),
        }
    }

    /// A four byte or variable byte integer that must not be 0.
    pub(crate) fn into_nonzero_u32(self, id: PropertyId) -> Result<NonZeroU32, DecodeError> {
        NonZeroU32::new(self.into_u32(id)?).ok_or(DecodeError::InvalidPropertyValue(id))
    }

    pub(crate) fn into_string(self, id: PropertyId) -> Result<ByteString, DecodeError> {
        match self {
            Value::String(v) => Ok(v),
            _ => Err(DecodeError::InvalidPropertyValue(id)),
        }
    }

    /// A string that must be a valid topic name (Response Topic, MQTT-3.3.2-14).
    pub(crate) fn into_topic(self, id: PropertyId) -> Result<TopicName, DecodeError> {
        TopicName::new(self.into_string(id)?).map_err(DecodeError::InvalidTopic)
    }

    pub(crate) fn into_binary(self, id: PropertyId) -> Result<Bytes, DecodeError> {
        match self {
            Value::Binary(v) => Ok(v),
            _ => Err(DecodeError::InvalidPropertyValue(id)),
        }
    }

    pub(crate) fn push_user_property(
        self,
        list: &mut Vec<UserProperty>,
    ) -> Result<(), DecodeError> {
        match self {
            Value::StringPair(key, value) => {
                list.push(UserProperty { key, value });
                Ok(())
            }
            _ => Err(DecodeError::InvalidPropertyValue(PropertyId::UserProperty)),
        }
    }
}

/// Visits each user property.
pub(crate) fn visit_user_properties<'a>(
    list: &'a [UserProperty],
    f: &mut dyn FnMut(PropertyId, ValueRef<'a>),
) {
    for p in list {
        f(
            PropertyId::UserProperty,
            ValueRef::StringPair(&p.key, &p.value),
        );
    }
}

/// Helpers for `visit`: each calls `f` only when the field is present.
pub(crate) mod put {
    use super::*;

    pub(crate) fn bool<'a>(
        f: &mut dyn FnMut(PropertyId, ValueRef<'a>),
        id: PropertyId,
        v: Option<bool>,
    ) {
        if let Some(v) = v {
            f(id, ValueRef::Byte(u8::from(v)));
        }
    }

    pub(crate) fn u16<'a>(
        f: &mut dyn FnMut(PropertyId, ValueRef<'a>),
        id: PropertyId,
        v: Option<u16>,
    ) {
        if let Some(v) = v {
            f(id, ValueRef::TwoByte(v));
        }
    }

    pub(crate) fn u32<'a>(
        f: &mut dyn FnMut(PropertyId, ValueRef<'a>),
        id: PropertyId,
        v: Option<u32>,
    ) {
        if let Some(v) = v {
            f(id, ValueRef::FourByte(v));
        }
    }

    pub(crate) fn str<'a>(
        f: &mut dyn FnMut(PropertyId, ValueRef<'a>),
        id: PropertyId,
        v: Option<&'a str>,
    ) {
        if let Some(v) = v {
            f(id, ValueRef::String(v));
        }
    }

    pub(crate) fn bin<'a>(
        f: &mut dyn FnMut(PropertyId, ValueRef<'a>),
        id: PropertyId,
        v: Option<&'a [u8]>,
    ) {
        if let Some(v) = v {
            f(id, ValueRef::Binary(v));
        }
    }
}
