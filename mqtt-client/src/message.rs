//! [`Message`]: a received application message, the seed's `MQTTMessage`.

use bytes::Bytes;
use mqtt_proto::{PacketId, Publish, PublishProperties, QoS, TopicName};
use mqtt_session::AckToken;

/// A received application message: the seed's `MQTTMessage`.
///
/// ```
/// use mqtt_client::Message;
/// use mqtt_client::proto::{Publish, QoS, TopicName};
///
/// let message = Message::from(Publish::new(TopicName::new("cool")?, "ice"));
/// assert_eq!(message.topic, "cool");
/// assert_eq!(message.payload_str(), Some("ice"));
/// assert_eq!((message.qos, message.retain, message.packet_id), (QoS::AtMostOnce, false, None));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Message {
    /// The topic it was published on.
    pub topic: TopicName,
    /// The payload; [`payload_str`](Self::payload_str) reads it as text.
    pub payload: Bytes,
    /// Its QoS: 0, 1 or 2.
    pub qos: QoS,
    /// Whether it is a retained message rather than a fresh one.
    pub retain: bool,
    /// The message id (the seed's `mid`): its packet identifier at QoS 1 and 2.
    #[doc(alias = "mid")]
    pub packet_id: Option<PacketId>,
    /// MQTT 5.0 properties (response topic, correlation data, user properties, ...).
    pub properties: PublishProperties,
    /// With manual acknowledgement, the right to acknowledge it.
    pub(crate) ack: Option<AckToken>,
}

impl Message {
    /// The payload as text, if it is UTF-8.
    pub fn payload_str(&self) -> Option<&str> {
        core::str::from_utf8(&self.payload).ok()
    }

    /// Whether the application must acknowledge it: true only with manual acknowledgement
    /// ([`AckMode::Manual`](mqtt_session::AckMode::Manual)), for QoS 1 and 2, on the one copy
    /// that carries the token.
    pub fn needs_ack(&self) -> bool {
        self.ack.is_some()
    }

    /// Takes the acknowledgement token out, for [`Core::ack`](crate::Core::ack).
    pub fn take_ack(&mut self) -> Option<AckToken> {
        self.ack.take()
    }

    pub(crate) fn with_ack(mut publish: Publish, ack: Option<AckToken>) -> Message {
        Message {
            properties: publish.take_properties(),
            topic: publish.topic,
            payload: publish.payload,
            qos: publish.qos,
            retain: publish.retain,
            packet_id: publish.packet_id,
            ack,
        }
    }

    /// A copy for another consumer; the acknowledgement token stays with the original.
    pub(crate) fn share(&self) -> Message {
        Message {
            topic: self.topic.clone(),
            payload: self.payload.clone(),
            qos: self.qos,
            retain: self.retain,
            packet_id: self.packet_id,
            properties: self.properties.clone(),
            ack: None,
        }
    }
}

impl Clone for Message {
    /// A copy without the acknowledgement token, which exists once.
    fn clone(&self) -> Message {
        self.share()
    }
}

impl From<Publish> for Message {
    fn from(publish: Publish) -> Message {
        Message::with_ack(publish, None)
    }
}
