//! [`PublishRef`] and [`PacketRef`]: a PUBLISH that borrows its topic and payload from the
//! input, for callers that finish with a message before reading on.

use alloc::boxed::Box;
use core::num::NonZeroU16;

use bytes::Bytes;

use super::publish::{Publish, PublishProperties, decode_after_topic, decode_flags};
use super::{Packet, PacketType};
use crate::error::DecodeError;
use crate::primitive::{PacketId, binary_slice, finish};
use crate::qos::QoS;
use crate::topic::TopicName;
use crate::version::Version;

/// A PUBLISH whose topic and payload borrow the decoder's input (MQTT 5.0 §3.3), from
/// [`Decoder::decode_ref`](super::Decoder::decode_ref).
///
/// It is checked exactly as a [`Publish`] is: a UTF-8 topic name without U+0000 or wildcards,
/// a packet identifier exactly at QoS 1 and 2, no DUP at QoS 0, valid properties. Decoding one
/// takes no reference count and, without MQTT 5.0 properties, no allocation; the price is the
/// lifetime: the message must be handled before the input buffer is reused.
/// [`to_publish`](Self::to_publish) copies it into an owned [`Publish`] when it must outlive
/// the buffer. The MQTT 5.0 properties, rare, are decoded into an owned set, as in [`Publish`].
///
/// ```
/// use mqtt_proto::{Decoder, Packet, PacketRef, Publish, TopicName, Version};
///
/// let mut wire = Vec::new();
/// Packet::from(Publish::new(TopicName::new("a/b")?, "hi")).encode(Version::V311, &mut wire)?;
/// let decoder = Decoder::new(Version::V311);
/// let Some((PacketRef::Publish(publish), len)) = decoder.decode_ref(&wire)? else {
///     panic!("expected a PUBLISH");
/// };
/// assert_eq!((publish.topic, publish.payload, len), ("a/b", &b"hi"[..], wire.len()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishRef<'a> {
    /// DUP: this is a re-delivery of an earlier attempt (MQTT 5.0 §3.3.1.1).
    pub dup: bool,
    /// The QoS level (MQTT 5.0 §3.3.1.2).
    pub qos: QoS,
    /// RETAIN (MQTT 5.0 §3.3.1.3).
    pub retain: bool,
    /// The topic name (MQTT 5.0 §3.3.2.1), checked as [`TopicName`] checks it. Empty only when
    /// MQTT 5.0's Topic Alias stands for it.
    pub topic: &'a str,
    /// The packet identifier: present exactly when QoS is 1 or 2 (MQTT 5.0 §3.3.2.2).
    pub packet_id: Option<PacketId>,
    /// The application message (MQTT 5.0 §3.3.3).
    pub payload: &'a [u8],
    /// MQTT 5.0 properties, `None` when there are none.
    properties: Option<Box<PublishProperties>>,
}

impl<'a> PublishRef<'a> {
    /// Decodes a PUBLISH body, the bytes after the fixed header.
    #[inline(always)]
    pub(crate) fn decode(
        version: Version,
        flags: u8,
        body: &'a [u8],
    ) -> Result<PublishRef<'a>, DecodeError> {
        let (dup, qos, retain) = decode_flags(flags)?;
        let (input, topic) = finish(binary_slice(body))?;
        let topic = crate::topic::decode_name_ref(topic)?;
        let (packet_id, properties, payload) =
            decode_after_topic(version, qos, topic.is_empty(), input, None)?;
        Ok(PublishRef {
            dup,
            qos,
            retain,
            topic,
            packet_id,
            payload,
            properties,
        })
    }

    /// The MQTT 5.0 properties; an empty set when there are none, always for MQTT 3.1.1.
    #[inline]
    pub fn properties(&self) -> &PublishProperties {
        self.properties
            .as_deref()
            .unwrap_or(&super::publish::NO_PROPERTIES)
    }

    /// Takes the MQTT 5.0 properties out, leaving none.
    pub fn take_properties(&mut self) -> PublishProperties {
        self.properties.take().map(|p| *p).unwrap_or_default()
    }

    /// Whether any MQTT 5.0 property is set.
    #[inline]
    pub fn has_properties(&self) -> bool {
        self.properties.is_some()
    }

    /// The Topic Alias property, a shortcut for `properties().topic_alias`.
    #[inline]
    pub fn topic_alias(&self) -> Option<NonZeroU16> {
        self.properties.as_deref().and_then(|p| p.topic_alias)
    }

    /// An owned copy, for a message that must outlive the input buffer: the topic and the
    /// payload are copied (two allocations), the properties are cloned.
    pub fn to_publish(&self) -> Publish {
        let mut publish = Publish::new(
            TopicName::from_checked(self.topic.into()),
            Bytes::copy_from_slice(self.payload),
        );
        publish.dup = self.dup;
        publish.qos = self.qos;
        publish.retain = self.retain;
        publish.packet_id = self.packet_id;
        if let Some(properties) = &self.properties {
            publish.set_properties(PublishProperties::clone(properties));
        }
        publish
    }
}

impl From<PublishRef<'_>> for Publish {
    fn from(mut publish: PublishRef<'_>) -> Publish {
        let properties = publish.properties.take();
        let mut owned = publish.to_publish();
        if let Some(properties) = properties {
            owned.set_properties(*properties);
        }
        owned
    }
}

/// A packet from [`Decoder::decode_ref`](super::Decoder::decode_ref): a PUBLISH borrowed from
/// the input, or any other packet, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PacketRef<'a> {
    /// PUBLISH (MQTT 5.0 §3.3), borrowing its topic and payload.
    Publish(PublishRef<'a>),
    /// Any other packet. Its body was copied (one allocation, unless it is empty), since
    /// these packets are small and rarely carry strings.
    Other(Packet),
}

impl PacketRef<'_> {
    /// The packet's type.
    pub fn packet_type(&self) -> PacketType {
        match self {
            PacketRef::Publish(_) => PacketType::Publish,
            PacketRef::Other(packet) => packet.packet_type(),
        }
    }

    /// The packet, owned: a PUBLISH is copied (see [`PublishRef::to_publish`]).
    pub fn into_owned(self) -> Packet {
        match self {
            PacketRef::Publish(publish) => Packet::Publish(publish.into()),
            PacketRef::Other(packet) => packet,
        }
    }
}
