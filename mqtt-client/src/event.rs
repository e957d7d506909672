//! What the client layer tells the application: connection events, why the client stopped,
//! why a stream ended, why an operation failed.

use crate::servers::Target;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use mqtt_proto::{ReasonCode, TopicFilter};
use mqtt_session::{Connected, DisconnectReason, FailReason, StoreError, UsageError};

/// A change in the client's connection, for the application's event streams.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The broker accepted a connection: whether it resumed the session, and the CONNACK with
    /// the broker's limits (MQTT 5.0 properties).
    Connected(Connected),
    /// A connection ended.
    Disconnected {
        /// Why, as the session saw it.
        reason: DisconnectReason,
        /// The transport's error, when it failed.
        error: Option<String>,
    },
    /// The client is opening a connection to `0`: which of the application's servers, or
    /// where a broker redirected it. The last one before [`Connected`](Self::Connected) is the
    /// server in use.
    Connecting(Target),
    /// The broker redirected the client (MQTT 5.0 reason code 0x9C Use another server, or
    /// 0x9D Server moved, with a Server Reference, §4.11); the next connection goes there.
    Redirected {
        /// The Server Reference, as the broker sent it.
        reference: String,
        /// 0x9D: later connections go there too, instead of the server it moved from.
        permanent: bool,
    },
    /// A transport to the broker could not be opened.
    ConnectFailed {
        /// The transport's error.
        error: String,
    },
    /// The client will try to connect again after `delay`.
    Reconnecting {
        /// Failed or short-lived connections in a row, 1 for the first retry.
        attempt: u32,
        /// The wait before the attempt.
        delay: Duration,
    },
    /// The broker had lost the session, and the client made the subscriptions again.
    Resubscribed {
        /// The filters restored.
        restored: Vec<TopicFilter>,
        /// The filters the broker refused this time, with its reason code; their streams
        /// ended with [`StreamEnd::NotRestored`].
        refused: Vec<(TopicFilter, ReasonCode)>,
    },
    /// The broker had lost the session and its subscriptions, and resubscription is off
    /// ([`Config::resubscribe`](mqtt_session::Config::resubscribe)): their streams ended with
    /// [`StreamEnd::SessionLost`].
    SubscriptionsLost(Vec<TopicFilter>),
    /// The store could not make the session's state durable before bytes went out
    /// ([`Store::flush`](mqtt_session::Store::flush)); the bytes went out all the same.
    StoreFailed(StoreError),
    /// QoS 0 messages were dropped because a stream was full
    /// ([`Overflow::DropOldest`](crate::Overflow::DropOldest)).
    MessagesDropped {
        /// How many, since the last such event: drops that come while this event waits to be
        /// read are added to it, so the counts add up to every message dropped.
        count: u64,
    },
}

/// Why a stream ended: it gives its remaining messages, then nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamEnd {
    /// The client stopped.
    Stopped,
    /// The broker refused to restore its subscription after it lost the session.
    NotRestored(ReasonCode),
    /// Restoring its subscription failed.
    RestoreFailed(FailReason),
    /// The broker lost the session, and with it the subscription; resubscription is off.
    SessionLost,
}

impl core::fmt::Display for StreamEnd {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StreamEnd::Stopped => f.write_str("the client stopped"),
            StreamEnd::NotRestored(code) => write!(
                f,
                "the broker refused to restore the subscription after it lost the session: {code}"
            ),
            StreamEnd::RestoreFailed(reason) => {
                write!(f, "restoring the subscription failed: {reason}")
            }
            StreamEnd::SessionLost => {
                f.write_str("the broker lost the session and resubscription is off")
            }
        }
    }
}

/// Why the client stopped when it was not asked to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum End {
    /// The connection ended and reconnection is off (or this was the first connection, without
    /// [`Settings::retry_first_connect`](crate::Settings::retry_first_connect)).
    Lost(Box<DisconnectReason>),
    /// The transport could not be opened (the adapter knows the error), and it would not be
    /// retried.
    ConnectFailed,
    /// The configuration does not make a valid CONNECT.
    Usage(UsageError),
}

impl core::fmt::Display for End {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            End::Lost(reason) => write!(f, "{reason}"),
            End::ConnectFailed => f.write_str("the transport could not be opened"),
            End::Usage(e) => write!(f, "{e}"),
        }
    }
}

/// Why a publish, subscribe or unsubscribe did not complete.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// It failed and will not be retried: refused by the broker, expired, lost with the
    /// session, or (QoS 0) not written before the connection ended.
    Failed(FailReason),
    /// The client stopped first: `Ok` after a requested disconnect, else why it stopped.
    Stopped(Result<(), End>),
}

impl core::fmt::Display for Failure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Failure::Failed(reason) => write!(f, "{reason}"),
            Failure::Stopped(Ok(())) => f.write_str("the client disconnected first"),
            Failure::Stopped(Err(end)) => write!(f, "the client stopped first: {end}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for StreamEnd {}

#[cfg(feature = "std")]
impl std::error::Error for End {}

#[cfg(feature = "std")]
impl std::error::Error for Failure {}
