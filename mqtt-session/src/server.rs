//! What the server allows on the current connection.

use core::num::NonZeroU32;
use core::time::Duration;

use mqtt_proto::{ByteString, ConnAck, QoS};

/// The server's limits and capabilities, from its CONNACK (MQTT 5.0 §3.2.2.3). Before the
/// first CONNACK, and for MQTT 3.1.1 which has no such properties, everything is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerLimits {
    /// QoS 1 and 2 publishes the server takes at once.
    pub receive_maximum: u16,
    /// The highest QoS the server supports.
    pub maximum_qos: QoS,
    /// Whether the server keeps retained messages.
    pub retain_available: bool,
    /// The largest packet the server accepts.
    pub maximum_packet_size: Option<NonZeroU32>,
    /// How many topic aliases the server accepts from the client.
    pub topic_alias_maximum: u16,
    /// Whether wildcard subscriptions are supported.
    pub wildcard_subscription_available: bool,
    /// Whether subscription identifiers are supported.
    pub subscription_identifiers_available: bool,
    /// Whether shared subscriptions are supported.
    pub shared_subscription_available: bool,
    /// The keep alive in force: the server's Server Keep Alive, or the client's own.
    pub keep_alive: Duration,
    /// The client identifier the server assigned, when the client sent an empty one.
    pub assigned_client_identifier: Option<ByteString>,
}

impl ServerLimits {
    pub(crate) fn unknown(keep_alive: Duration) -> ServerLimits {
        ServerLimits {
            receive_maximum: u16::MAX,
            maximum_qos: QoS::ExactlyOnce,
            retain_available: true,
            maximum_packet_size: None,
            topic_alias_maximum: 0,
            wildcard_subscription_available: true,
            subscription_identifiers_available: true,
            shared_subscription_available: true,
            keep_alive,
            assigned_client_identifier: None,
        }
    }

    pub(crate) fn from_connack(connack: &ConnAck, keep_alive: Duration) -> ServerLimits {
        let p = &connack.properties;
        ServerLimits {
            receive_maximum: p.receive_maximum.map_or(u16::MAX, |r| r.get()),
            maximum_qos: p.maximum_qos.unwrap_or(QoS::ExactlyOnce),
            retain_available: p.retain_available.unwrap_or(true),
            maximum_packet_size: p.maximum_packet_size,
            topic_alias_maximum: p.topic_alias_maximum.unwrap_or(0),
            wildcard_subscription_available: p.wildcard_subscription_available.unwrap_or(true),
            subscription_identifiers_available: p
                .subscription_identifiers_available
                .unwrap_or(true),
            shared_subscription_available: p.shared_subscription_available.unwrap_or(true),
            keep_alive: p
                .server_keep_alive
                .map_or(keep_alive, |s| Duration::from_secs(u64::from(s))),
            assigned_client_identifier: p.assigned_client_identifier.clone(),
        }
    }
}
