//! [`Error`]: what the std adapters report, one type for all of them, so that a program moves
//! from one runtime to another without changing how it handles errors.

use std::boxed::Box;
use std::fmt;
use std::io;
use std::string::{String, ToString};

use mqtt_proto::topic::TopicError;
use mqtt_proto::{ConnAck, ReasonCode};
use mqtt_session::{DisconnectReason, FailReason, UsageError};

use crate::client::CommandError;
use crate::event::{End, Failure};

/// What went wrong, in any std adapter (mqtt-tokio, mqtt-blocking).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The socket failed.
    Io(io::Error),
    /// The broker could not be reached: TCP connect to `address` (`host:port`) failed.
    Connect {
        /// The broker's `host:port`.
        address: String,
        /// Why.
        source: io::Error,
    },
    /// Connecting (TCP, TLS, WebSocket and CONNACK) took longer than the connect timeout.
    ConnectTimeout,
    /// TLS failed: bad certificate, wrong host name, unreadable PEM, ... The detail's source
    /// is the `rustls::Error` when rustls refused the peer, so that an unknown issuer, a
    /// name mismatch and an expired certificate can be told apart.
    Tls(Detail),
    /// The WebSocket handshake or framing failed; the detail's source is the
    /// `tungstenite::Error` when there is one.
    WebSocket(Detail),
    /// The broker URL is not understood.
    InvalidUrl(String),
    /// The proxy did not open the tunnel to the broker: it refused the credentials or the
    /// broker, or answered something else.
    Proxy(crate::proxy::ProxyError),
    /// A topic name or filter is invalid.
    InvalidTopic(TopicError),
    /// The session refused the command: queue full, QoS not supported by the broker, ...
    Usage(UsageError),
    /// The broker refused the connection; the CONNACK's reason code says why (bad user name or
    /// password, not authorized, ...). [`Error::reason_code`] gives it.
    Refused(Box<ConnAck>),
    /// The connection ended, and the client stopped (reconnection is off).
    Disconnected(Box<DisconnectReason>),
    /// The publish failed: refused by the broker (MQTT 5.0 reason code), expired, lost with
    /// the broker's session, or (QoS 0) not written before the connection ended.
    PublishFailed(FailReason),
    /// The subscribe or unsubscribe failed.
    RequestFailed(FailReason),
    /// The client has stopped: it disconnected, or its connection task was dropped.
    Closed,
    /// A blocking wait timed out.
    Timeout,
    /// The client has no broker yet: connect first.
    NotConnected,
    /// A loop already runs, so connecting and a second loop are refused (mqtt-blocking).
    LoopRunning,
    /// A blocking call was made from a callback, on the loop thread: it would wait for the loop
    /// that runs it.
    WouldDeadlock,
    /// The loop thread ended abnormally (a callback panicked).
    LoopPanicked,
}

impl Error {
    /// The error for a client that stopped by itself: why its connection ended.
    pub fn from_end(end: End) -> Error {
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

    /// The error for a client that stopped by itself, given the transport's last error too:
    /// the transport's error says more, except when the connection ended before the broker
    /// accepted it, where the session's reason says what that likely means (refused
    /// credentials, or a port that expects TLS).
    pub fn from_end_and_transport(end: End, transport: Option<Error>) -> Error {
        match (end, transport) {
            (End::Lost(reason), Some(Error::Io(_)))
                if *reason == DisconnectReason::ClosedBeforeConnAck =>
            {
                Error::Disconnected(reason)
            }
            (_, Some(error)) => error,
            (end, None) => Error::from_end(end),
        }
    }

    /// A TLS failure, from anything that describes it.
    pub fn tls(error: impl fmt::Display) -> Error {
        Error::Tls(Detail::new(error.to_string()))
    }

    /// A TLS failure: what was being done, and the underlying error.
    pub fn tls_caused(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error::Tls(Detail::caused(context, source))
    }

    /// A WebSocket failure: what was being done, and the underlying error.
    pub fn websocket_caused(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error::WebSocket(Detail::caused(context, source))
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
            Error::Connect { address, source } => write!(f, "connecting to {address}: {source}"),
            Error::ConnectTimeout => f.write_str("connecting timed out"),
            Error::Tls(e) => write!(f, "TLS error: {e}"),
            Error::WebSocket(e) => write!(f, "WebSocket error: {e}"),
            Error::InvalidUrl(e) => write!(f, "invalid broker URL: {e}"),
            Error::Proxy(e) => write!(f, "proxy: {e}"),
            Error::InvalidTopic(e) => write!(f, "invalid topic: {e}"),
            Error::Usage(e) => write!(f, "{e}"),
            Error::Refused(c) => write!(
                f,
                "the broker refused the connection: {} (0x{:02x})",
                c.reason_code, c.reason_code.0
            ),
            Error::Disconnected(r) => {
                write!(f, "disconnected: {r}")?;
                if speaks_tls(r) {
                    f.write_str(" (the server answered in TLS: is this a TLS port? then use mqtts:// or wss://)")?;
                }
                Ok(())
            }
            Error::PublishFailed(r) => write!(f, "publish failed: {r}"),
            Error::RequestFailed(r) => write!(f, "request failed: {r}"),
            Error::Closed => f.write_str("the client has stopped"),
            Error::Timeout => f.write_str("timed out"),
            Error::NotConnected => f.write_str("not connected: call connect() first"),
            Error::LoopRunning => f.write_str("a loop is already running"),
            Error::WouldDeadlock => {
                f.write_str("a blocking call from a callback would wait for its own loop")
            }
            Error::LoopPanicked => f.write_str("the loop thread panicked"),
        }
    }
}

/// Whether the server's first bytes were a TLS record (an alert or handshake, type 21 or 22)
/// read as an MQTT packet: a CONNECT from the server with flags 5 or 6.
fn speaks_tls(reason: &DisconnectReason) -> bool {
    matches!(
        reason,
        DisconnectReason::ProtocolError {
            error: mqtt_session::ProtocolError::Decode(
                mqtt_proto::DecodeError::InvalidHeaderFlags {
                    packet_type: mqtt_proto::PacketType::Connect,
                    flags: 5 | 6,
                }
            ),
            ..
        }
    )
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) | Error::Connect { source: e, .. } => Some(e),
            Error::Tls(detail) | Error::WebSocket(detail) => detail.source(),
            Error::Proxy(e) => Some(e),
            Error::InvalidTopic(e) => Some(e),
            Error::Usage(e) => Some(e),
            _ => None,
        }
    }
}

/// What a TLS or WebSocket failure was about, and, kept as the source, the error behind it
/// (`rustls::Error`, `tungstenite::Error`, `io::Error`).
///
/// ```
/// use std::error::Error as _;
/// use mqtt_client::{Detail, Error};
///
/// let io = std::io::Error::other("peer reset");
/// let error = Error::tls_caused("TLS handshake with broker:8883", io);
/// assert_eq!(error.to_string(), "TLS error: TLS handshake with broker:8883: peer reset");
/// let source = error.source().expect("the cause is kept");
/// assert!(source.downcast_ref::<std::io::Error>().is_some());
/// ```
#[derive(Debug)]
pub struct Detail {
    context: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Detail {
    /// A failure described by `context` alone.
    pub fn new(context: impl Into<String>) -> Detail {
        Detail {
            context: context.into(),
            source: None,
        }
    }

    /// A failure while doing `context`, caused by `source`.
    pub fn caused(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Detail {
        Detail {
            context: context.into(),
            source: Some(Box::new(source)),
        }
    }

    /// What was being done.
    pub fn context(&self) -> &str {
        &self.context
    }
}

impl fmt::Display for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(source) => write!(f, "{}: {source}", self.context),
            None => f.write_str(&self.context),
        }
    }
}

impl std::error::Error for Detail {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}

impl From<crate::proxy::ProxyError> for Error {
    fn from(e: crate::proxy::ProxyError) -> Self {
        Error::Proxy(e)
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
        }
    }
}
