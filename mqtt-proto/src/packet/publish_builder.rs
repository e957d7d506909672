//! [`PublishBuilder`]: a PUBLISH from its parts and MQTT 5.0 properties by name.

use bytes::Bytes;
use bytestring::ByteString;

use super::publish::Publish;
use crate::property::UserProperty;
use crate::qos::QoS;
use crate::topic::{TopicError, TopicName};

/// Builds a [`Publish`]: topic, payload, QoS, retain, and the MQTT 5.0 properties an
/// application sets, by name. The packet identifier, DUP and the Topic Alias are the
/// session's, so they are not offered; Subscription Identifiers are the server's.
///
/// ```
/// use mqtt_proto::{Publish, QoS};
///
/// let publish = Publish::builder("sensors/7/temperature")
///     .payload("21.5")
///     .qos(QoS::AtLeastOnce)
///     .retain(true)
///     .utf8_payload()
///     .message_expiry_interval(60)
///     .content_type("text/plain")
///     .user_property("unit", "celsius")
///     .build()?;
/// assert_eq!(publish.properties().message_expiry_interval, Some(60));
/// assert_eq!(publish.properties().user_properties.len(), 1);
///
/// // A topic that is not a valid topic name is refused when the packet is built.
/// assert!(Publish::builder("sensors/+/temperature").build().is_err());
/// # Ok::<(), mqtt_proto::topic::TopicError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct PublishBuilder {
    topic: ByteString,
    response_topic: Option<ByteString>,
    publish: Publish,
}

impl Publish {
    /// A builder for a message to `topic`: QoS 0, not retained, empty payload, no properties
    /// until set.
    pub fn builder(topic: impl Into<ByteString>) -> PublishBuilder {
        PublishBuilder {
            topic: topic.into(),
            response_topic: None,
            publish: Publish::new(TopicName::default(), Bytes::new()),
        }
    }
}

impl PublishBuilder {
    /// The application message.
    pub fn payload(mut self, payload: impl Into<Bytes>) -> Self {
        self.publish.payload = payload.into();
        self
    }

    /// The QoS level.
    pub fn qos(mut self, qos: QoS) -> Self {
        self.publish.qos = qos;
        self
    }

    /// RETAIN: the server keeps the message for future subscribers of the topic.
    pub fn retain(mut self, retain: bool) -> Self {
        self.publish.retain = retain;
        self
    }

    /// Payload Format Indicator 1: the payload is UTF-8 text (MQTT 5.0 §3.3.2.3.2).
    pub fn utf8_payload(mut self) -> Self {
        self.publish.properties_mut().payload_format_indicator = Some(true);
        self
    }

    /// Message Expiry Interval: the server drops the message if it could not deliver it
    /// within `seconds` (MQTT 5.0 §3.3.2.3.3).
    pub fn message_expiry_interval(mut self, seconds: u32) -> Self {
        self.publish.properties_mut().message_expiry_interval = Some(seconds);
        self
    }

    /// Response Topic: where a responder should publish its answer (MQTT 5.0 §3.3.2.3.5).
    /// Checked by [`build`](Self::build).
    pub fn response_topic(mut self, topic: impl Into<ByteString>) -> Self {
        self.response_topic = Some(topic.into());
        self
    }

    /// Correlation Data: what ties a response to its request (MQTT 5.0 §3.3.2.3.6).
    pub fn correlation_data(mut self, data: impl Into<Bytes>) -> Self {
        self.publish.properties_mut().correlation_data = Some(data.into());
        self
    }

    /// Adds a User Property; names may repeat, and the order is kept (MQTT 5.0 §3.3.2.3.7).
    pub fn user_property(
        mut self,
        key: impl Into<ByteString>,
        value: impl Into<ByteString>,
    ) -> Self {
        self.publish
            .properties_mut()
            .user_properties
            .push(UserProperty::new(key, value));
        self
    }

    /// Content Type: the payload's MIME type, or any string the applications agree on
    /// (MQTT 5.0 §3.3.2.3.9).
    pub fn content_type(mut self, content_type: impl Into<ByteString>) -> Self {
        self.publish.properties_mut().content_type = Some(content_type.into());
        self
    }

    /// The PUBLISH.
    ///
    /// # Errors
    ///
    /// [`TopicError`] when the topic or the Response Topic is not a valid topic name (empty,
    /// with wildcards, too long, or with a NUL character).
    pub fn build(self) -> Result<Publish, TopicError> {
        let PublishBuilder {
            topic,
            response_topic,
            mut publish,
        } = self;
        publish.topic = TopicName::new(topic)?;
        if let Some(response_topic) = response_topic {
            publish.properties_mut().response_topic = Some(TopicName::new(response_topic)?);
        }
        Ok(publish)
    }
}
