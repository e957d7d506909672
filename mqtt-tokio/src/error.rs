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
    /// The socket failed, or the broker could not be reached.
    Io(io::Error),
    /// Connecting (TCP, TLS, WebSocket and CONNACK together) took longer than the connect
    /// timeout.
    ConnectTimeout,
    /// TLS failed: bad certificate, wrong host name, unreadable PEM, ...
    Tls(String),
    /// The WebSocket handshake or framing failed.
    WebSocket(String),
    /// The broker URL is not understood.
    InvalidUrl(String),
    /// A topic name or filter is invalid.
    InvalidTopic(TopicError),
    /// The session refused the command.
    Usage(UsageError),
    /// The broker refused the connection; the CONNACK's reason code says why (bad user name or
    /// password, not authorized, ...).
    Refused(Box<ConnAck>),
    /// The connection ended and automatic reconnection is off.
    Disconnected(Box<DisconnectReason>),
    /// The publish failed: refused by the broker (MQTT 5.0 reason code), expired, or lost with
    /// the server's session.
    PublishFailed(FailReason),
    /// The subscribe or unsubscribe failed.
    RequestFailed(FailReason),
    /// The client has stopped: it disconnected, or its connection task was dropped.
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

    /// The reason code behind the error, when the broker gave one.
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
            Error::ConnectTimeout => f.write_str("connecting timed out"),
            Error::Tls(e) => write!(f, "TLS error: {e}"),
            Error::WebSocket(e) => write!(f, "WebSocket error: {e}"),
            Error::InvalidUrl(e) => write!(f, "invalid broker URL: {e}"),
            Error::InvalidTopic(e) => write!(f, "invalid topic: {e}"),
            Error::Usage(e) => write!(f, "{e}"),
            Error::Refused(c) => write!(f, "the broker refused the connection: {}", c.reason_code),
            Error::Disconnected(r) => write!(f, "disconnected: {r}"),
            Error::PublishFailed(r) => write!(f, "publish failed: {r}"),
            Error::RequestFailed(r) => write!(f, "request failed: {r}"),
            Error::Closed => f.write_str("the client's connection task has stopped"),
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
