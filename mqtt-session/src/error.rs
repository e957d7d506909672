//! Mistakes of the caller, returned at once by the session's commands.

use mqtt_proto::{EncodeError, QoS};

/// A command the session refused; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UsageError {
    /// The queue of publishes waiting to be sent is full ([`Config::max_queued`](crate::Config::max_queued)).
    QueueFull,
    /// The command needs a connection the server has accepted.
    NotConnected,
    /// A connection is already open or being opened.
    AlreadyConnected,
    /// The packet is larger than the server's Maximum Packet Size.
    PacketTooLarge {
        /// Its size.
        size: usize,
        /// The server's maximum.
        max: u32,
    },
    /// The server does not support this QoS (its Maximum QoS, MQTT-3.2.2-11).
    QoSNotSupported(QoS),
    /// The server does not support retained messages (MQTT-3.2.2-14).
    RetainNotSupported,
    /// The server does not support wildcard subscriptions (MQTT 5.0 §3.2.2.3.11).
    WildcardSubscriptionsNotSupported,
    /// The server does not support shared subscriptions (MQTT 5.0 §3.2.2.3.13).
    SharedSubscriptionsNotSupported,
    /// The server does not support subscription identifiers (MQTT 5.0 §3.2.2.3.12).
    SubscriptionIdentifiersNotSupported,
    /// The packet could not be encoded.
    Encode(EncodeError),
    /// The token does not belong to a message awaiting acknowledgement on this connection.
    UnknownAckToken,
    /// AUTH needs MQTT 5.0 and an Authentication Method in the configuration.
    NoAuthenticationMethod,
    /// Topic Aliases are the session's to choose ([`Config::outbound_topic_aliases`](crate::Config::outbound_topic_aliases)).
    TopicAliasNotAllowed,
    /// All 65,535 packet identifiers are in use.
    PacketIdsExhausted,
    /// A non-zero Session Expiry Interval in DISCONNECT after CONNECT had zero (MQTT-3.14.2-2).
    InvalidSessionExpiry,
    /// The [`Store`](crate::Store) could not keep the publish (full, or failing).
    Store(crate::StoreError),
    /// The command needs MQTT 5.0 (request/response: Response Topic and Correlation Data).
    RequiresMqtt5,
}

impl From<EncodeError> for UsageError {
    fn from(e: EncodeError) -> Self {
        UsageError::Encode(e)
    }
}

impl core::fmt::Display for UsageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            UsageError::QueueFull => f.write_str("the publish queue is full"),
            UsageError::NotConnected => f.write_str("not connected"),
            UsageError::AlreadyConnected => f.write_str("already connected"),
            UsageError::PacketTooLarge { size, max } => write!(
                f,
                "packet of {size} bytes exceeds the server's maximum of {max}"
            ),
            UsageError::QoSNotSupported(q) => write!(f, "the server does not support {q:?}"),
            UsageError::RetainNotSupported => f.write_str("the server does not support retain"),
            UsageError::WildcardSubscriptionsNotSupported => {
                f.write_str("the server does not support wildcard subscriptions")
            }
            UsageError::SharedSubscriptionsNotSupported => {
                f.write_str("the server does not support shared subscriptions")
            }
            UsageError::SubscriptionIdentifiersNotSupported => {
                f.write_str("the server does not support subscription identifiers")
            }
            UsageError::Encode(e) => write!(f, "{e}"),
            UsageError::UnknownAckToken => f.write_str("no message awaits this acknowledgement"),
            UsageError::NoAuthenticationMethod => {
                f.write_str("AUTH needs MQTT 5.0 and an authentication method")
            }
            UsageError::TopicAliasNotAllowed => {
                f.write_str("topic aliases are chosen by the session")
            }
            UsageError::PacketIdsExhausted => f.write_str("all packet identifiers are in use"),
            UsageError::InvalidSessionExpiry => f.write_str(
                "a session expiry interval can't be set at DISCONNECT when CONNECT had zero",
            ),
            UsageError::Store(e) => write!(f, "{e}"),
            UsageError::RequiresMqtt5 => f.write_str(
                "this needs MQTT 5.0 (Response Topic and Correlation Data); the client uses an \
                 earlier version",
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for UsageError {}
