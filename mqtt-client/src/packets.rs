//! Packets from the seed API's arguments (`topic, payload, qos, retain`, `[(filter, qos)]`),
//! for the adapters' convenience methods.

use alloc::vec::Vec;

use bytes::Bytes;
use mqtt_proto::topic::TopicError;
use mqtt_proto::{Publish, QoS, Subscription, TopicFilter, TopicName, Will};

/// A PUBLISH from the seed's `publish(topic, payload, qos, retain)`.
///
/// # Errors
///
/// A `topic` that is not a valid topic name.
///
/// ```
/// use mqtt_client::proto::QoS;
///
/// let publish = mqtt_client::packets::publish("a/b", "hi", QoS::AtLeastOnce, true)?;
/// assert!(publish.retain && publish.qos == QoS::AtLeastOnce);
/// # Ok::<(), mqtt_client::proto::topic::TopicError>(())
/// ```
pub fn publish(
    topic: &str,
    payload: impl Into<Bytes>,
    qos: QoS,
    retain: bool,
) -> Result<Publish, TopicError> {
    let mut publish = Publish::new(TopicName::new(topic)?, payload);
    publish.qos = qos;
    publish.retain = retain;
    Ok(publish)
}

/// A will from the seed's `set_will(topic, payload, qos, retain)`.
///
/// # Errors
///
/// A `topic` that is not a valid topic name.
pub fn will(
    topic: &str,
    payload: impl Into<Bytes>,
    qos: QoS,
    retain: bool,
) -> Result<Will, TopicError> {
    let mut will = Will::new(TopicName::new(topic)?, payload);
    will.qos = qos;
    will.retain = retain;
    Ok(will)
}

/// Subscriptions from the seed's `subscribe([[filter, qos], ...])`.
///
/// # Errors
///
/// A filter that is not a valid topic filter.
pub fn subscriptions<T: AsRef<str>>(filters: &[(T, QoS)]) -> Result<Vec<Subscription>, TopicError> {
    filters
        .iter()
        .map(|(filter, qos)| Ok(Subscription::new(TopicFilter::new(filter.as_ref())?, *qos)))
        .collect()
}

/// Topic filters from the seed's `unsubscribe([filter, ...])`.
///
/// # Errors
///
/// A filter that is not a valid topic filter.
pub fn filters<T: AsRef<str>>(filters: &[T]) -> Result<Vec<TopicFilter>, TopicError> {
    filters
        .iter()
        .map(|f| TopicFilter::new(f.as_ref()))
        .collect()
}
