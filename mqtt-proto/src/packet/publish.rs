//! PUBLISH (MQTT 5.0 §3.3, MQTT 3.1.1 §3.3).

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::num::{NonZeroU16, NonZeroU32};

use bytes::{Buf, BufMut, Bytes};
use bytestring::ByteString;

use super::PacketType;
use crate::error::{DecodeError, EncodeError};
use crate::primitive::{
    MAX_VAR_INT, PacketId, binary_slice, check_field, check_string, checked_string, field_len,
    finish, packet_id, packet_len, put_field, put_fixed_header, put_var_int, var_int_len,
};
use crate::property::{self, Properties, PropertyId, UserProperty, Value, ValueRef, put};
use crate::qos::QoS;
use crate::topic::TopicName;
use crate::version::Version;

/// PUBLISH: an application message (MQTT 5.0 §3.3).
///
/// ```
/// use mqtt_proto::{PacketId, Publish, QoS, TopicName};
///
/// let mut publish = Publish::new(TopicName::new("a/b")?, &b"hello"[..]);
/// publish.qos = QoS::AtLeastOnce;
/// publish.packet_id = PacketId::new(10);
/// publish.properties_mut().message_expiry_interval = Some(60); // MQTT 5.0 only
/// assert_eq!(publish.properties().message_expiry_interval, Some(60));
/// # Ok::<(), mqtt_proto::topic::TopicError>(())
/// ```
///
/// # Size
///
/// A `Publish` is 80 bytes on a 64-bit target (two [`Bytes`] handles, for the topic and the
/// payload, and the flags). The MQTT 5.0 properties, 160 bytes and absent from most messages
/// (and from every MQTT 3.1.1 one), live behind one `Box` that is allocated only when a property
/// is set: read them with [`properties`](Self::properties), which returns an empty set when there
/// are none, and write them with [`properties_mut`](Self::properties_mut) or
/// [`set_properties`](Self::set_properties). Two packets that differ only in holding an empty
/// set or none are equal.
#[derive(Clone)]
pub struct Publish {
    /// DUP: this is a re-delivery of an earlier attempt (MQTT 5.0 §3.3.1.1). Never set at QoS 0.
    pub dup: bool,
    /// The QoS level (MQTT 5.0 §3.3.1.2).
    pub qos: QoS,
    /// RETAIN (MQTT 5.0 §3.3.1.3).
    pub retain: bool,
    /// The topic name (MQTT 5.0 §3.3.2.1). Empty only when MQTT 5.0's Topic Alias stands for it.
    pub topic: TopicName,
    /// The packet identifier: present exactly when QoS is 1 or 2 (MQTT 5.0 §3.3.2.2).
    pub packet_id: Option<PacketId>,
    /// The application message (MQTT 5.0 §3.3.3).
    pub payload: Bytes,
    /// MQTT 5.0 properties, `None` when there are none (see the type's docs).
    properties: Option<Box<PublishProperties>>,
}

impl PartialEq for Publish {
    fn eq(&self, other: &Publish) -> bool {
        self.dup == other.dup
            && self.qos == other.qos
            && self.retain == other.retain
            && self.packet_id == other.packet_id
            && self.topic == other.topic
            && self.payload == other.payload
            && self.properties() == other.properties()
    }
}

impl Eq for Publish {}

impl core::fmt::Debug for Publish {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Publish")
            .field("dup", &self.dup)
            .field("qos", &self.qos)
            .field("retain", &self.retain)
            .field("topic", &self.topic)
            .field("packet_id", &self.packet_id)
            .field("properties", self.properties())
            .field("payload", &self.payload)
            .finish()
    }
}

/// The properties of a PUBLISH (MQTT 5.0 §3.3.2.3), also used for the message a will becomes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PublishProperties {
    /// Payload Format Indicator: `true` when the payload is UTF-8 text (§3.3.2.3.2).
    pub payload_format_indicator: Option<bool>,
    /// Message Expiry Interval in seconds (§3.3.2.3.3).
    pub message_expiry_interval: Option<u32>,
    /// Topic Alias (§3.3.2.3.4).
    pub topic_alias: Option<NonZeroU16>,
    /// Response Topic for a request/response exchange (§3.3.2.3.5).
    pub response_topic: Option<TopicName>,
    /// Correlation Data for a request/response exchange (§3.3.2.3.6).
    pub correlation_data: Option<Bytes>,
    /// User Properties, in order (§3.3.2.3.7).
    pub user_properties: Vec<UserProperty>,
    /// Subscription Identifiers of the subscriptions that matched, server to client only
    /// (§3.3.2.3.8).
    pub subscription_identifiers: Vec<NonZeroU32>,
    /// Content Type (§3.3.2.3.9).
    pub content_type: Option<ByteString>,
}

impl Properties for PublishProperties {
    const REPEATED_SUBSCRIPTION_ID: bool = true;

    fn set(&mut self, id: PropertyId, value: Value) -> Result<bool, DecodeError> {
        match id {
            PropertyId::PayloadFormatIndicator => {
                self.payload_format_indicator = Some(value.into_bool(id)?)
            }
            PropertyId::MessageExpiryInterval => {
                self.message_expiry_interval = Some(value.into_u32(id)?)
            }
            PropertyId::ContentType => self.content_type = Some(value.into_string(id)?),
            PropertyId::ResponseTopic => self.response_topic = Some(value.into_topic(id)?),
            PropertyId::CorrelationData => self.correlation_data = Some(value.into_binary(id)?),
            PropertyId::SubscriptionIdentifier => self
                .subscription_identifiers
                .push(value.into_nonzero_u32(id)?),
            PropertyId::TopicAlias => self.topic_alias = Some(value.into_nonzero_u16(id)?),
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
        for id in &self.subscription_identifiers {
            f(
                PropertyId::SubscriptionIdentifier,
                ValueRef::VarInt(id.get()),
            );
        }
        put::u16(
            f,
            PropertyId::TopicAlias,
            self.topic_alias.map(NonZeroU16::get),
        );
        property::visit_user_properties(&self.user_properties, f);
    }
}

/// DUP, QoS and RETAIN from a PUBLISH's fixed header flags (MQTT 5.0 §3.3.1).
#[inline(always)]
pub(crate) fn decode_flags(flags: u8) -> Result<(bool, QoS, bool), DecodeError> {
    let dup = flags & 0b1000 != 0;
    let retain = flags & 0b0001 != 0;
    let qos = QoS::from_u8((flags >> 1) & 0b11).ok_or(DecodeError::InvalidQoS)?;
    if dup && qos == QoS::AtMostOnce {
        return Err(DecodeError::DupOnQoS0);
    }
    Ok((dup, qos, retain))
}

/// The packet identifier, the properties and the payload of a PUBLISH.
pub(crate) type AfterTopic<'a> = (Option<PacketId>, Option<Box<PublishProperties>>, &'a [u8]);

/// What follows the topic name: the packet identifier, the MQTT 5.0 properties (`None` when
/// there are none) and the payload. `empty_topic` says whether the topic name was empty, which
/// only a Topic Alias allows (MQTT 5.0 §3.3.2.3.4).
///
/// String properties are slices of `src`, which holds `input`; without one (the borrowing
/// decoder) they are slices of a copy of the property list, made only when there is one.
#[inline(always)]
pub(crate) fn decode_after_topic<'a>(
    version: Version,
    qos: QoS,
    empty_topic: bool,
    input: &'a [u8],
    src: Option<&Bytes>,
) -> Result<AfterTopic<'a>, DecodeError> {
    let (input, packet_id) = if qos == QoS::AtMostOnce {
        (input, None)
    } else {
        let (input, id) = finish(packet_id(input))?;
        (input, Some(id))
    };
    // MQTT 3.1.1 has no properties, and in MQTT 5.0 the list is most often empty: its length
    // is a single 0 byte.
    let payload = match (version.is_v5(), input) {
        (false, _) => input,
        (true, [0, rest @ ..]) => rest,
        (true, _) => {
            let (payload, properties) = decode_properties(input, src)?;
            if empty_topic && properties.topic_alias.is_none() {
                return Err(DecodeError::EmptyTopicWithoutAlias);
            }
            let properties = (!properties.is_empty()).then_some(properties);
            return Ok((packet_id, properties, payload));
        }
    };
    if empty_topic {
        return Err(if version.is_v5() {
            DecodeError::EmptyTopicWithoutAlias
        } else {
            DecodeError::InvalidTopic(crate::topic::TopicError::Empty)
        });
    }
    Ok((packet_id, None, payload))
}

/// A non-empty property list and what follows it. Kept out of line: most packets have none.
/// The properties are decoded straight into their `Box`.
#[inline(never)]
fn decode_properties<'a>(
    input: &'a [u8],
    src: Option<&Bytes>,
) -> Result<(&'a [u8], Box<PublishProperties>), DecodeError> {
    let mut properties = Box::new(PublishProperties::new());
    if let Some(src) = src {
        let payload = decode_property_list(src, input, &mut properties)?;
        return Ok((payload, properties));
    }
    let (after_len, len) = finish(crate::primitive::var_int(input))?;
    let list_len = input.len() - after_len.len() + len as usize;
    let Some((list, payload)) = input.split_at_checked(list_len) else {
        return Err(DecodeError::UnexpectedEnd);
    };
    // One copy of the list, which its strings then share.
    let src = Bytes::copy_from_slice(list);
    let rest = decode_property_list(&src, &src, &mut properties)?;
    debug_assert!(rest.is_empty());
    Ok((payload, properties))
}

/// Decodes a PUBLISH's property list (in `src`) into `properties`, which must be empty, and
/// returns what follows it.
///
/// A direct loop over the properties a PUBLISH may carry. On anything it does not expect (an
/// error, or a property it does not know) it empties `properties` and hands the whole list to
/// the generic `property::decode_into`, which then reports exactly the error it always has.
fn decode_property_list<'a>(
    src: &Bytes,
    input: &'a [u8],
    properties: &mut PublishProperties,
) -> Result<&'a [u8], DecodeError> {
    match decode_property_list_fast(src, input, properties) {
        Some(rest) => Ok(rest),
        None => {
            *properties = PublishProperties::new();
            let (rest, ()) = finish(property::decode_into(
                src,
                input,
                PacketType::Publish,
                properties,
            ))?;
            Ok(rest)
        }
    }
}

/// The fast path of [`decode_property_list`]: `None` for anything unusual.
#[inline]
fn decode_property_list_fast<'a>(
    src: &Bytes,
    input: &'a [u8],
    p: &mut PublishProperties,
) -> Option<&'a [u8]> {
    /// A 2-byte length and that many bytes.
    #[inline(always)]
    fn field(input: &[u8]) -> Option<(&[u8], &[u8])> {
        let (len, rest) = input.split_first_chunk::<2>()?;
        rest.split_at_checked(usize::from(u16::from_be_bytes(*len)))
    }
    #[inline(always)]
    fn string<'b>(src: &Bytes, input: &'b [u8]) -> Option<(ByteString, &'b [u8])> {
        let (data, rest) = field(input)?;
        Some((checked_string(src.slice_ref(data)).ok()?, rest))
    }
    let (list, len) = finish(crate::primitive::var_int(input)).ok()?;
    let (mut list, rest) = list.split_at_checked(len as usize)?;
    let mut seen = 0u64;
    while let [id, tail @ ..] = list {
        let id = *id;
        list = match id {
            0x01 => {
                let (&v, tail) = tail.split_first()?;
                if v > 1 {
                    return None;
                }
                p.payload_format_indicator = Some(v == 1);
                tail
            }
            0x02 => {
                let (v, tail) = tail.split_first_chunk::<4>()?;
                p.message_expiry_interval = Some(u32::from_be_bytes(*v));
                tail
            }
            0x03 => {
                let (v, tail) = string(src, tail)?;
                p.content_type = Some(v);
                tail
            }
            0x08 => {
                let (v, tail) = string(src, tail)?;
                p.response_topic = Some(TopicName::new(v).ok()?);
                tail
            }
            0x09 => {
                let (v, tail) = field(tail)?;
                p.correlation_data = Some(src.slice_ref(v));
                tail
            }
            0x0B => {
                let (tail, v) = finish(crate::primitive::var_int(tail)).ok()?;
                p.subscription_identifiers.push(NonZeroU32::new(v)?);
                tail
            }
            0x23 => {
                let (v, tail) = tail.split_first_chunk::<2>()?;
                p.topic_alias = Some(NonZeroU16::new(u16::from_be_bytes(*v))?);
                tail
            }
            0x26 => {
                let (key, tail) = string(src, tail)?;
                let (value, tail) = string(src, tail)?;
                p.user_properties.push(UserProperty { key, value });
                tail
            }
            _ => return None,
        };
        // Only User Property and Subscription Identifier may repeat (MQTT 5.0 §3.3.2.3).
        if id != 0x0B && id != 0x26 {
            let bit = 1u64 << id;
            if seen & bit != 0 {
                return None;
            }
            seen |= bit;
        }
    }
    Some(rest)
}

/// The empty set that [`Publish::properties`] returns for a packet without properties.
pub(super) static NO_PROPERTIES: PublishProperties = PublishProperties::new();

impl PublishProperties {
    /// Checks the properties and returns the length of their list, without its own length
    /// prefix; for MQTT 3.1.1, which has none, refuses any. The same checks, in the same order,
    /// as the generic `property::measure` on `visit`, field by field: a PUBLISH is the packet
    /// whose properties are encoded most often.
    fn measure(&self, version: Version) -> Result<usize, EncodeError> {
        if !version.is_v5() {
            return if self.is_empty() {
                Ok(0)
            } else {
                Err(EncodeError::V5Only("properties"))
            };
        }
        const STRING: &str = "string property";
        const BINARY: &str = "binary property";
        let mut len = 0;
        if self.payload_format_indicator.is_some() {
            len += 2;
        }
        if self.message_expiry_interval.is_some() {
            len += 5;
        }
        if let Some(content_type) = &self.content_type {
            check_string(content_type, STRING)?;
            len += 1 + field_len(content_type.len());
        }
        if let Some(topic) = &self.response_topic {
            check_string(topic, STRING)?;
            len += 1 + field_len(topic.len());
        }
        if let Some(data) = &self.correlation_data {
            check_field(data.len(), BINARY)?;
            len += 1 + field_len(data.len());
        }
        for id in &self.subscription_identifiers {
            if id.get() > MAX_VAR_INT {
                return Err(EncodeError::InvalidPropertyValue(
                    PropertyId::SubscriptionIdentifier,
                ));
            }
            len += 1 + var_int_len(id.get());
        }
        if self.topic_alias.is_some() {
            len += 3;
        }
        for pair in &self.user_properties {
            check_string(&pair.key, "user property")?;
            check_string(&pair.value, "user property")?;
            len += 1 + field_len(pair.key.len()) + field_len(pair.value.len());
        }
        Ok(len)
    }

    /// Writes the property list, `len` bytes from [`measure`](Self::measure), with its length
    /// prefix, in the order of `visit`.
    fn encode(&self, len: usize, buf: &mut impl BufMut) {
        /// The identifier and a string or binary value: identifier and length in one put (one
        /// capacity check on a growable buffer), then the bytes.
        #[inline(always)]
        fn field(buf: &mut impl BufMut, id: PropertyId, data: &[u8]) {
            buf.put_uint(u64::from(id as u8) << 16 | data.len() as u64, 3);
            buf.put_slice(data);
        }
        put_var_int(buf, len as u32);
        if let Some(v) = self.payload_format_indicator {
            buf.put_u16(u16::from_be_bytes([
                PropertyId::PayloadFormatIndicator as u8,
                u8::from(v),
            ]));
        }
        if let Some(v) = self.message_expiry_interval {
            buf.put_uint(
                u64::from(PropertyId::MessageExpiryInterval as u8) << 32 | u64::from(v),
                5,
            );
        }
        if let Some(v) = &self.content_type {
            field(buf, PropertyId::ContentType, v.as_bytes());
        }
        if let Some(v) = &self.response_topic {
            field(buf, PropertyId::ResponseTopic, v.as_bytes());
        }
        if let Some(v) = &self.correlation_data {
            field(buf, PropertyId::CorrelationData, v);
        }
        for id in &self.subscription_identifiers {
            buf.put_u8(PropertyId::SubscriptionIdentifier as u8);
            put_var_int(buf, id.get());
        }
        if let Some(v) = self.topic_alias {
            buf.put_uint(
                u64::from(PropertyId::TopicAlias as u8) << 16 | u64::from(v.get()),
                3,
            );
        }
        for pair in &self.user_properties {
            field(buf, PropertyId::UserProperty, pair.key.as_bytes());
            put_field(buf, pair.value.as_bytes());
        }
    }

    /// No property set; the same as `PublishProperties::default()`, usable in `const` context.
    pub const fn new() -> PublishProperties {
        PublishProperties {
            payload_format_indicator: None,
            message_expiry_interval: None,
            topic_alias: None,
            response_topic: None,
            correlation_data: None,
            user_properties: Vec::new(),
            subscription_identifiers: Vec::new(),
            content_type: None,
        }
    }

    /// `true` when no property is set.
    pub fn is_empty(&self) -> bool {
        // Field by field, without building a default to compare with; the pattern names every
        // field, so a new one cannot be forgotten here.
        let PublishProperties {
            payload_format_indicator,
            message_expiry_interval,
            topic_alias,
            response_topic,
            correlation_data,
            user_properties,
            subscription_identifiers,
            content_type,
        } = self;
        payload_format_indicator.is_none()
            && message_expiry_interval.is_none()
            && topic_alias.is_none()
            && response_topic.is_none()
            && correlation_data.is_none()
            && user_properties.is_empty()
            && subscription_identifiers.is_empty()
            && content_type.is_none()
    }
}

impl Publish {
    /// A QoS 0 message that is not retained, with no properties.
    pub fn new(topic: TopicName, payload: impl Into<Bytes>) -> Publish {
        Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: false,
            topic,
            packet_id: None,
            properties: None,
            payload: payload.into(),
        }
    }

    /// The MQTT 5.0 properties; an empty set when there are none, always for MQTT 3.1.1.
    #[inline]
    pub fn properties(&self) -> &PublishProperties {
        self.properties.as_deref().unwrap_or(&NO_PROPERTIES)
    }

    /// The MQTT 5.0 properties, to change them. Allocates an empty set (a `Box` of 160 bytes)
    /// the first time on a packet that has none.
    #[inline]
    pub fn properties_mut(&mut self) -> &mut PublishProperties {
        self.properties.get_or_insert_with(Box::default)
    }

    /// Replaces the MQTT 5.0 properties; an empty set frees the allocation.
    pub fn set_properties(&mut self, properties: PublishProperties) {
        self.properties = if properties.is_empty() {
            None
        } else {
            Some(Box::new(properties))
        };
    }

    /// The packet with these MQTT 5.0 properties (see [`set_properties`](Self::set_properties)).
    #[must_use]
    pub fn with_properties(mut self, properties: PublishProperties) -> Publish {
        self.set_properties(properties);
        self
    }

    /// Takes the MQTT 5.0 properties out, leaving none.
    pub fn take_properties(&mut self) -> PublishProperties {
        self.properties.take().map(|p| *p).unwrap_or_default()
    }

    /// Whether any MQTT 5.0 property is set.
    #[inline]
    pub fn has_properties(&self) -> bool {
        self.properties.as_deref().is_some_and(|p| !p.is_empty())
    }

    /// The Topic Alias property, a shortcut for `properties().topic_alias`.
    #[inline]
    pub fn topic_alias(&self) -> Option<NonZeroU16> {
        self.properties.as_deref().and_then(|p| p.topic_alias)
    }

    // Inlined into `Packet::decode`, the packet is built where the caller wants it.
    #[inline(always)]
    pub(crate) fn decode(
        version: Version,
        flags: u8,
        mut body: Bytes,
    ) -> Result<Publish, DecodeError> {
        let (dup, qos, retain) = decode_flags(flags)?;
        let (input, topic) = finish(binary_slice(&body))?;
        // The topic starts after its 2-byte length; `slice` is `slice_ref` without its checks.
        let topic = TopicName::decode(body.slice(2..2 + topic.len()))?;
        let (packet_id, properties, payload) =
            decode_after_topic(version, qos, topic.is_empty(), input, Some(&body))?;
        // The packet is built only once nothing can fail any more, so that it can be written
        // straight to where the caller wants it.
        body.advance(body.len() - payload.len());
        Ok(Publish {
            dup,
            qos,
            retain,
            topic,
            packet_id,
            properties,
            payload: body,
        })
    }

    fn flags(&self) -> u8 {
        (u8::from(self.dup) << 3) | (self.qos.as_u8() << 1) | u8::from(self.retain)
    }

    #[inline]
    fn check(&self) -> Result<(), EncodeError> {
        match (self.qos, self.packet_id) {
            (QoS::AtMostOnce, None) => {
                if self.dup {
                    return Err(EncodeError::DupOnQoS0);
                }
            }
            (QoS::AtLeastOnce | QoS::ExactlyOnce, Some(_)) => {}
            _ => return Err(EncodeError::PacketIdMismatch),
        }
        if self.topic.is_empty() && self.topic_alias().is_none() {
            return Err(EncodeError::EmptyTopic);
        }
        // A Response Topic is a topic name, never empty (MQTT 5.0 §3.3.2.3.5, MQTT-4.7.3-1).
        if let Some(properties) = &self.properties
            && properties
                .response_topic
                .as_ref()
                .is_some_and(TopicName::is_empty)
        {
            return Err(EncodeError::InvalidPropertyValue(PropertyId::ResponseTopic));
        }
        Ok(())
    }

    /// Remaining length without the payload, and the property list's length.
    #[inline]
    fn header_body_len(&self, version: Version, properties_len: usize) -> usize {
        field_len(self.topic.len())
            + if self.packet_id.is_some() { 2 } else { 0 }
            + property::wire_len(properties_len, version)
    }

    /// The exact number of bytes [`encode`](Self::encode) writes.
    pub fn encoded_len(&self, version: Version) -> usize {
        let properties_len = match &self.properties {
            Some(properties) if version.is_v5() => property::len(&**properties),
            _ => 0,
        };
        packet_len(self.header_body_len(version, properties_len) + self.payload.len())
    }

    /// Writes the whole packet.
    ///
    /// # Errors
    ///
    /// See [`Packet::encode`](super::Packet::encode).
    #[inline]
    pub fn encode(&self, version: Version, buf: &mut impl BufMut) -> Result<(), EncodeError> {
        self.write(version, buf, true)
    }

    /// Writes everything but the payload: the fixed header (whose remaining length counts the
    /// payload) and the variable header. Send [`payload`](Self::payload) right after it, for
    /// example with vectored I/O, to put a large message on the wire without copying it.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use mqtt_proto::{Publish, TopicName, Version};
    ///
    /// let publish = Publish::new(TopicName::new("big")?, vec![7u8; 100_000]);
    /// let mut header = BytesMut::new();
    /// publish.encode_header(Version::V5, &mut header)?;
    /// assert_eq!(header.len() + publish.payload.len(), publish.encoded_len(Version::V5));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// See [`Packet::encode`](super::Packet::encode).
    pub fn encode_header(
        &self,
        version: Version,
        buf: &mut impl BufMut,
    ) -> Result<(), EncodeError> {
        self.write(version, buf, false)
    }

    /// Checks everything [`encode`](Self::encode) checks and returns the number of bytes it
    /// would write, without writing anything: for a caller that must know a packet is valid
    /// and how large it is (against a server's Maximum Packet Size, say) before sending it.
    ///
    /// # Errors
    ///
    /// As [`encode`](Self::encode), but for the room in a buffer.
    pub fn checked_len(&self, version: Version) -> Result<usize, EncodeError> {
        let (_, header_body) = self.measure(version)?;
        let remaining = header_body + self.payload.len();
        if remaining > crate::primitive::MAX_VAR_INT as usize {
            return Err(EncodeError::PacketTooLarge);
        }
        Ok(packet_len(remaining))
    }

    /// Checks the packet; returns the property list's length and the remaining length without
    /// the payload.
    #[inline]
    fn measure(&self, version: Version) -> Result<(usize, usize), EncodeError> {
        self.check()?;
        // Most messages have no properties: skip walking them (an empty list measures 0 and
        // passes every check, in both versions).
        let properties_len = match &self.properties {
            Some(properties) => properties.measure(version)?,
            None => 0,
        };
        Ok((
            properties_len,
            self.header_body_len(version, properties_len),
        ))
    }

    #[inline(always)]
    fn write(
        &self,
        version: Version,
        buf: &mut impl BufMut,
        payload: bool,
    ) -> Result<(), EncodeError> {
        let (properties_len, header_body) = self.measure(version)?;
        let remaining = header_body + self.payload.len();
        let here = if payload { remaining } else { header_body };
        let first = (PacketType::Publish as u8) << 4 | self.flags();
        let topic = self.topic.as_bytes();
        if remaining < 128 {
            // A small packet, the common case: its fixed header is two bytes, written with the
            // topic's length in one step (one capacity check on a growable buffer, not three).
            let needed = 2 + here;
            if buf.remaining_mut() < needed {
                return Err(EncodeError::BufferTooSmall {
                    needed,
                    remaining: buf.remaining_mut(),
                });
            }
            let [len_high, len_low] = (topic.len() as u16).to_be_bytes();
            buf.put_u32(u32::from_be_bytes([
                first,
                remaining as u8,
                len_high,
                len_low,
            ]));
            buf.put_slice(topic);
        } else {
            put_fixed_header(buf, first, remaining, here)?;
            put_field(buf, topic);
        }
        match (self.packet_id, &self.properties, version.is_v5()) {
            // MQTT 5.0 without properties: the identifier and the list's length, 0, in one put.
            (Some(id), None, true) => buf.put_uint(u64::from(id.get()) << 8, 3),
            (None, None, true) => buf.put_u8(0),
            (id, properties, v5) => {
                if let Some(id) = id {
                    buf.put_u16(id.get());
                }
                // MQTT 3.1.1 has no list (`measure` refused any property).
                if let (Some(properties), true) = (properties, v5) {
                    properties.encode(properties_len, buf);
                }
            }
        }
        if payload {
            buf.put_slice(&self.payload);
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use alloc::vec;

    fn full() -> PublishProperties {
        PublishProperties {
            payload_format_indicator: Some(true),
            message_expiry_interval: Some(3600),
            topic_alias: NonZeroU16::new(7),
            response_topic: Some(TopicName::new("reply/1").unwrap()),
            correlation_data: Some(Bytes::from_static(b"\x00\x01")),
            user_properties: vec![UserProperty::new("a", "1"), UserProperty::new("", "")],
            subscription_identifiers: vec![
                NonZeroU32::new(1).unwrap(),
                NonZeroU32::new(200).unwrap(),
                NonZeroU32::new(MAX_VAR_INT).unwrap(),
            ],
            content_type: Some("json".into()),
        }
    }

    /// The field-by-field encoder writes what the generic one, on `visit`, writes, and refuses
    /// what it refuses, with the same error.
    #[test]
    fn direct_property_encoding_matches_the_generic_one() {
        let mut cases = vec![PublishProperties::default(), full()];
        let mut one = PublishProperties::default();
        one.user_properties.push(UserProperty::new("k", "v"));
        cases.push(one);
        let mut bad = full();
        bad.content_type = Some("a\0b".into());
        cases.push(bad);
        let mut bad = full();
        bad.user_properties.push(UserProperty::new("k", "\0"));
        cases.push(bad);
        let mut bad = full();
        bad.subscription_identifiers
            .push(NonZeroU32::new(MAX_VAR_INT + 1).unwrap());
        cases.push(bad);
        let mut bad = full();
        bad.correlation_data = Some(Bytes::from(vec![0; 70_000]));
        cases.push(bad);
        for properties in &cases {
            for version in [Version::V311, Version::V5] {
                let direct = properties.measure(version);
                assert_eq!(direct, property::measure(properties, version));
                if let Ok(len) = direct
                    && version.is_v5()
                {
                    let mut ours = Vec::new();
                    properties.encode(len, &mut ours);
                    let mut generic = Vec::new();
                    property::encode(properties, len, version, &mut generic);
                    assert_eq!(ours, generic);
                }
            }
        }
    }
}
