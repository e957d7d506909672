//! [`Error`]: what the client's methods and its connection task report.

use alloc::boxed::Box;
use alloc::string::String;

use mqtt_client::{CommandError, End, Failure};
use mqtt_proto::topic::TopicError;
use mqtt_proto::{ConnAck, ReasonCode};
use mqtt_session::{DisconnectReason, FailReason, UsageError};

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The socket failed while connected: its error's kind.
    Transport(embedded_io_async::ErrorKind),
    /// The connector could not open a socket: its error, as `Debug` prints it.
    Connect(String),
    /// A topic name or filter is invalid.
    InvalidTopic(TopicError),
    /// The session refused the command: queue full, QoS not supported by the broker, ...
    Usage(UsageError),
    /// The broker refused the connection; the CONNACK's reason code says why
    /// ([`Error::reason_code`]).
    Refused(Box<ConnAck>),
    /// No CONNACK came within the connect timeout.
    ConnectTimeout,
    /// The connection ended and the client stopped (reconnection is off).
    Disconnected(Box<DisconnectReason>),
    /// The publish failed: refused by the broker (MQTT 5.0 reason code), expired, lost with
    /// the broker's session, or (QoS 0) not written before the connection ended.
    PublishFailed(FailReason),
    /// The subscribe or unsubscribe failed.
    RequestFailed(FailReason),
    /// The client has stopped: it disconnected, or its connection task ended.
    Closed,
}

impl Error {
    /// The error for a client that stopped by itself: why its connection ended.
    pub(crate) fn from_end(end: End) -> Error {
        match end {
            End::Lost(reason) => match *reason {
                DisconnectReason::Refused(connack) => Error::Refused(Box::new(connack)),
                DisconnectReason::ConnectTimeout => Error::ConnectTimeout,
                reason => Error::Disconnected(Box::new(reason)),
            },
            End::Usage(e) => Error::Usage(e),
            End::ConnectFailed => Error::Connect(String::from("the socket could not be opened")),
            _ => Error::Disconnected(Box::new(DisconnectReason::TransportClosed)),
        }
    }

    /// The error of a request (subscribe or unsubscribe) that did not complete.
    pub(crate) fn request(failure: Failure) -> Error {
        match failure {
            Failure::Failed(reason) => Error::RequestFailed(reason),
            other => Error::from(other),
        }
    }

    /// The reason code behind the error, when the broker gave one.
    ///
    /// ```
    /// use mqtt_embassy::{Error, ReasonCode};
    /// use mqtt_embassy::proto::ConnAck;
    ///
    /// let mut connack = ConnAck::default();
    /// connack.reason_code = ReasonCode::NOT_AUTHORIZED;
    /// let error = Error::Refused(Box::new(connack));
    /// assert_eq!(error.reason_code(), Some(ReasonCode::NOT_AUTHORIZED));
    /// ```
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

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Transport(kind) => write!(f, "the socket failed: {kind:?}"),
            Error::Connect(e) => write!(f, "could not connect: {e}"),
            Error::InvalidTopic(e) => write!(f, "invalid topic: {e}"),
            Error::Usage(e) => write!(f, "{e}"),
            Error::Refused(c) => write!(
                f,
                "the broker refused the connection: {} (0x{:02x})",
                c.reason_code, c.reason_code.0
            ),
            Error::ConnectTimeout => f.write_str("no CONNACK within the connect timeout"),
            Error::Disconnected(r) => write!(f, "disconnected: {r}"),
            Error::PublishFailed(r) => write!(f, "publish failed: {r}"),
            Error::RequestFailed(r) => write!(f, "request failed: {r}"),
            Error::Closed => f.write_str("the client has stopped"),
        }
    }
}

impl core::error::Error for Error {}

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

impl From<CommandError> for Error {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Usage(e) => Error::Usage(e),
            _ => Error::Closed,
        }
    }
}

impl From<Failure> for Error {
    /// A failed publish; [`Error::RequestFailed`] is for subscribes and unsubscribes.
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Failed(reason) => Error::PublishFailed(reason),
            Failure::Stopped(Ok(())) => Error::Closed,
            Failure::Stopped(Err(end)) => Error::from_end(end),
            _ => Error::Closed,
        }
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Error {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{}", defmt::Display2Format(self));
    }
}
