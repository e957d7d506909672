//! [`Message`]: the seed's `MQTTMessage`.

use bytes::Bytes;
use mqtt_proto::{PacketId, Publish, PublishProperties, QoS, TopicName};

/// A received application message: the seed's `MQTTMessage`.
///
/// ```
/// use mqtt_blocking::{Message, QoS};
/// use mqtt_blocking::proto::{Publish, TopicName};
///
/// let message = Message::from(Publish::new(TopicName::new("cool")?, "ice"));
/// assert_eq!(message.topic, "cool");
/// assert_eq!(message.payload_str(), Some("ice"));
/// assert_eq!((message.qos, message.retain, message.mid), (QoS::AtMostOnce, false, None));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Message {
    /// The topic it was published on.
    pub topic: TopicName,
    /// The payload, as bytes; [`payload_str`](Self::payload_str) reads it as text.
    pub payload: Bytes,
    /// Its QoS: 0, 1 or 2.
    pub qos: QoS,
    /// Whether it is a retained message rather than a fresh one.
    pub retain: bool,
    /// The message id: its packet identifier at QoS 1 and 2; QoS 0 messages have none.
    pub mid: Option<PacketId>,
    /// MQTT 5.0 properties (response topic, correlation data, user properties, ...).
    pub properties: PublishProperties,
}

impl Message {
    /// The payload as text, if it is UTF-8.
    pub fn payload_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.payload).ok()
    }
}

impl From<Publish> for Message {
    fn from(publish: Publish) -> Message {
        Message {
            topic: publish.topic,
            payload: publish.payload,
            qos: publish.qos,
            retain: publish.retain,
            mid: publish.packet_id,
            properties: publish.properties,
        }
    }
}
