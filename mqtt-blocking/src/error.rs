//! The client's errors.

use std::fmt;
use std::io;

use mqtt_client::End;
use mqtt_proto::topic::TopicError;
use mqtt_proto::{ConnAck, ReasonCode};
use mqtt_session::{DisconnectReason, FailReason, UsageError};

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The broker could not be reached, or the socket failed.
    Io(io::Error),
    /// TLS failed: bad certificate, wrong host name, unreadable PEM, ...
    Tls(String),
    /// No CONNACK arrived within [`ConnectOptions::connect_timeout`](crate::ConnectOptions::connect_timeout).
    ConnectTimeout,
    /// The broker refused the connection; the CONNACK's reason code says why (bad user name or
    /// password, not authorized, ...). [`Error::reason_code`] gives it.
    Refused(Box<ConnAck>),
    /// The connection ended (and, for a loop, automatic reconnection is off).
    Disconnected(Box<DisconnectReason>),
    /// A topic name or filter is invalid.
    InvalidTopic(TopicError),
    /// The session refused the command: queue full, QoS not supported by the broker, ...
    Usage(UsageError),
    /// The publish failed: refused by the broker (MQTT 5.0 reason code), expired, or lost with
    /// the broker's session.
    PublishFailed(FailReason),
    /// The subscribe or unsubscribe failed.
    RequestFailed(FailReason),
    /// A `wait_for_*` call timed out.
    Timeout,
    /// The client has no broker yet: call [`Client::connect`](crate::Client::connect) first.
    NotConnected,
    /// A loop already runs: [`Client::loop_start`](crate::Client::loop_start) or
    /// [`Client::loop_forever`](crate::Client::loop_forever) owns the connection, so
    /// [`connect`](crate::Client::connect) and a second loop are refused.
    LoopRunning,
    /// A blocking call was made from a callback, on the loop thread: it would wait for the loop
    /// that runs it.
    WouldDeadlock,
    /// The loop thread ended abnormally (a callback panicked).
    LoopPanicked,
    /// The client stopped (it disconnected) before the operation completed.
    Closed,
}

impl Error {
    /// The error for a client that stopped by itself: why its connection ended.
    pub(crate) fn stopped(end: End) -> Error {
        match end {
            End::Lost(reason) => match *reason {
                DisconnectReason::Refused(connack) => Error::Refused(Box::new(connack)),
                DisconnectReason::ConnectTimeout => Error::ConnectTimeout,
                reason => Error::Disconnected(Box::new(reason)),
            },
            End::Usage(e) => Error::Usage(e),
            _ => Error::Disconnected(Box::new(DisconnectReason::TransportClosed)),
        }
    }

    /// The reason code behind the error, when the broker gave one: the CONNACK's for
    /// [`Error::Refused`].
    pub fn reason_code(&self) -> Option<ReasonCode> {
        match self {
            Error::Refused(connack) => Some(connack.reason_code),
            Error::PublishFailed(FailReason::Rejected { reason_code, .. })
            | Error::RequestFailed(FailReason::Rejected { reason_code, .. }) => Some(*reason_code),
            Error::Disconnected(reason) => reason.reason_code(),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Tls(e) => write!(f, "TLS error: {e}"),
            Error::ConnectTimeout => f.write_str("no CONNACK within the connect timeout"),
            Error::Refused(c) => write!(
                f,
                "the broker refused the connection: {} (0x{:02x})",
                c.reason_code, c.reason_code.0
            ),
            Error::Disconnected(r) => write!(f, "disconnected: {r}"),
            Error::InvalidTopic(e) => write!(f, "invalid topic: {e}"),
            Error::Usage(e) => write!(f, "{e}"),
            Error::PublishFailed(r) => write!(f, "publish failed: {r}"),
            Error::RequestFailed(r) => write!(f, "request failed: {r}"),
            Error::Timeout => f.write_str("timed out"),
            Error::NotConnected => f.write_str("not connected: call connect() first"),
            Error::LoopRunning => f.write_str("a loop is already running"),
            Error::WouldDeadlock => {
                f.write_str("a blocking call from a callback would wait for its own loop")
            }
            Error::LoopPanicked => f.write_str("the loop thread panicked"),
            Error::Closed => f.write_str("the client stopped first"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::InvalidTopic(e) => Some(e),
            Error::Usage(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<UsageError> for Error {
    fn from(e: UsageError) -> Self {
        Error::Usage(e)
    }
}

impl From<TopicError> for Error {
    fn from(e: TopicError) -> Self {
        Error::InvalidTopic(e)
    }
}

impl From<rustls::Error> for Error {
    fn from(e: rustls::Error) -> Self {
        Error::Tls(e.to_string())
    }
}
