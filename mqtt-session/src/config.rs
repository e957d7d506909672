//! How a [`Session`](crate::Session) behaves: what it puts in CONNECT and the client-side
//! policies the standard leaves open.

use core::num::NonZeroU16;
use core::time::Duration;

use bytes::Bytes;
use mqtt_proto::{ByteString, ConnectProperties, Version, Will};

/// The configuration of a session.
///
/// ```
/// use core::time::Duration;
/// use mqtt_session::{Config, Version};
///
/// let mut config = Config::new("sensor-17", Version::V5);
/// config.keep_alive = Duration::from_secs(30);
/// config.clean_start = false;
/// config.connect_properties.session_expiry_interval = Some(3600);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct Config {
    /// The protocol version to speak: MQTT 3.1, 3.1.1 or 5.0.
    pub version: Version,
    /// The Client Identifier; empty asks the server to assign one. MQTT 3.1 needs 1 to 23
    /// characters and has no way to ask for one: with another,
    /// [`Session::handle_transport_opened`](crate::Session::handle_transport_opened) fails with
    /// [`EncodeError::ClientIdLength`](mqtt_proto::EncodeError::ClientIdLength).
    pub client_id: ByteString,
    /// Clean Start (MQTT 5.0) / Clean Session (MQTT 3.1 and 3.1.1) on the first connection. Later
    /// connections of the same session ask to resume it (Clean Start 0) unless
    /// [`clean_start_on_reconnect`](Self::clean_start_on_reconnect) is set.
    pub clean_start: bool,
    /// Clean Start on every reconnection too, the MQTT 3.1.1 Clean Session behaviour.
    pub clean_start_on_reconnect: bool,
    /// Keep Alive; whole seconds are sent, at most 65,535. Zero turns keep alive off.
    pub keep_alive: Duration,
    /// How long to wait for PINGRESP (or any packet) after a PINGREQ before the connection is
    /// declared dead. `None` waits one keep alive interval.
    pub ping_timeout: Option<Duration>,
    /// How long to wait for CONNACK after CONNECT.
    pub connect_timeout: Duration,
    /// The Will Message.
    pub will: Option<Will>,
    /// User Name.
    pub username: Option<ByteString>,
    /// Password.
    pub password: Option<Bytes>,
    /// MQTT 5.0 CONNECT properties: session expiry, receive maximum, maximum packet size, topic
    /// alias maximum, request response/problem information, user properties and the
    /// authentication method and data. Receive Maximum and Maximum Packet Size set here are
    /// enforced on what the server sends; Topic Alias Maximum sizes the inbound alias table.
    pub connect_properties: ConnectProperties,
    /// The most QoS 1 and 2 publishes in flight at once; an MQTT 5.0 server's Receive Maximum
    /// lowers it. MQTT 3.1.1 has no way for the server to say how many it takes, and a server
    /// may drop what goes beyond its limit (mosquitto's default is 20, as is this one's).
    pub max_inflight: NonZeroU16,
    /// The most publishes waiting to go out, beyond the in-flight window or while offline.
    /// [`Session::publish`](crate::Session::publish) refuses more with
    /// [`UsageError::QueueFull`](crate::UsageError::QueueFull).
    pub max_queued: usize,
    /// The most events waiting to be polled before [`Session::wants_read`](crate::Session::wants_read)
    /// says to stop reading from the transport.
    pub max_pending_events: usize,
    /// Whether the application acknowledges inbound QoS 1 and 2 messages itself.
    pub ack_mode: AckMode,
    /// When an inbound QoS 2 message is handed to the application.
    pub qos2_delivery: Qos2Delivery,
    /// What happens to unfinished work when the server has no session for the client.
    pub session_lost: SessionLostPolicy,
    /// Subscribe again to the remembered subscriptions when the server has no session (on by
    /// default): a reconnection to a broker that lost the session (a clean start, an expired
    /// or a restarted broker) restores them before any queued publish goes out.
    pub resubscribe: bool,
    /// Use Topic Aliases for outbound publishes, within the server's Topic Alias Maximum.
    pub outbound_topic_aliases: bool,
    /// Report every received packet as [`Event::Received`](crate::Event::Received), for the
    /// callback [`Router`](crate::Router).
    pub packet_events: bool,
}

impl Config {
    /// A configuration with the defaults: clean start, 60 s keep alive, a window of 20
    /// in-flight publishes, a queue of 10,000, automatic acknowledgement, QoS 2 delivered on
    /// PUBLISH, unfinished publishes resent and subscriptions restored when the session is
    /// lost.
    pub fn new(client_id: impl Into<ByteString>, version: Version) -> Config {
        Config {
            version,
            client_id: client_id.into(),
            clean_start: true,
            clean_start_on_reconnect: false,
            keep_alive: Duration::from_secs(60),
            ping_timeout: None,
            connect_timeout: Duration::from_secs(30),
            will: None,
            username: None,
            password: None,
            connect_properties: ConnectProperties::default(),
            max_inflight: NonZeroU16::new(20).unwrap_or(NonZeroU16::MIN),
            max_queued: 10_000,
            max_pending_events: 1_024,
            ack_mode: AckMode::Automatic,
            qos2_delivery: Qos2Delivery::OnPublish,
            session_lost: SessionLostPolicy::Resend,
            resubscribe: true,
            outbound_topic_aliases: false,
            packet_events: false,
        }
    }

    /// Keep Alive in whole seconds as sent in CONNECT.
    pub(crate) fn keep_alive_secs(&self) -> u16 {
        u16::try_from(self.keep_alive.as_secs()).unwrap_or(u16::MAX)
    }
}

/// Who acknowledges inbound QoS 1 and 2 messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AckMode {
    /// The session acknowledges each message as it hands it over.
    #[default]
    Automatic,
    /// The application calls [`Session::ack`](crate::Session::ack) once it has processed a
    /// message. Acknowledgements still reach the server in the order the messages arrived
    /// (MQTT-4.6.0-2, MQTT-4.6.0-3): an early ack waits for the ones before it.
    Manual,
}

/// When an inbound QoS 2 message is handed to the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Qos2Delivery {
    /// On PUBLISH, the earliest moment (MQTT 5.0 §4.3.3 method B). A re-sent PUBLISH with the
    /// same packet identifier is not delivered again.
    #[default]
    OnPublish,
    /// On PUBREL (§4.3.3 method A): the message is held until the server releases it, as the
    /// Zerynth/paho client does.
    OnPubRel,
}

/// What the session does with unfinished publishes and (un)subscribes when a new connection
/// finds that the server has no session for the client (Session Present 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SessionLostPolicy {
    /// Send them again as new packets with new packet identifiers, in their original order.
    /// This includes QoS 2 publishes past PUBREC: a server that delivers on PUBREL (mosquitto
    /// does) lost them with the session, while one that delivers on PUBLISH will deliver them
    /// twice. The server broke its side of the exchange either way; the client keeps
    /// at-least-once rather than risk losing the message.
    #[default]
    Resend,
    /// Fail them with [`Event::PublishFailed`](crate::Event::PublishFailed) and
    /// [`Event::RequestFailed`](crate::Event::RequestFailed).
    Fail,
}

impl core::fmt::Debug for Config {
    /// Everything but the password, which is shown as `<redacted>`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Config")
            .field("version", &self.version)
            .field("client_id", &self.client_id)
            .field("clean_start", &self.clean_start)
            .field("clean_start_on_reconnect", &self.clean_start_on_reconnect)
            .field("keep_alive", &self.keep_alive)
            .field("ping_timeout", &self.ping_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("will", &self.will)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("connect_properties", &self.connect_properties)
            .field("max_inflight", &self.max_inflight)
            .field("max_queued", &self.max_queued)
            .field("max_pending_events", &self.max_pending_events)
            .field("ack_mode", &self.ack_mode)
            .field("qos2_delivery", &self.qos2_delivery)
            .field("session_lost", &self.session_lost)
            .field("resubscribe", &self.resubscribe)
            .field("outbound_topic_aliases", &self.outbound_topic_aliases)
            .field("packet_events", &self.packet_events)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_password() {
        let mut config = Config::new("c", Version::V5);
        config.password = Some(Bytes::from_static(b"hunter2"));
        let shown = alloc::format!("{config:?}");
        assert!(
            shown.contains("<redacted>") && !shown.contains("hunter2"),
            "{shown}"
        );
    }
}
