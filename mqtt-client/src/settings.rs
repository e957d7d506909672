//! How the client layer behaves: [`Settings`].

use core::time::Duration;

use mqtt_session::Backoff;

/// What happens to a QoS 0 message that arrives for a stream that is full.
///
/// QoS 1 and 2 messages never overflow: beyond a stream's capacity they wait unacknowledged,
/// and the broker sends no more than its in-flight limit of them (the client's Receive Maximum
/// in MQTT 5.0). QoS 0 messages have no acknowledgement to hold back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Overflow {
    /// Drop the stream's oldest QoS 0 message to make room (or the new one, when the stream
    /// holds only QoS 1 and 2 messages), and report how many were dropped in
    /// [`ClientEvent::MessagesDropped`](crate::ClientEvent::MessagesDropped). The client keeps
    /// reading, so its own publishes, subscribes and pings complete while the application is
    /// slow.
    #[default]
    DropOldest,
    /// Stop reading from the transport until the application makes room, so the broker (and
    /// TCP) hold the backlog. Nothing is dropped, but while the client does not read it can't
    /// complete its own publishes either: an application that waits for a publish while one of
    /// its streams is full waits until the keep alive gives up the connection.
    StopReading,
}

/// The client layer's own settings; the protocol's are the session's
/// [`Config`](mqtt_session::Config).
///
/// ```
/// use core::time::Duration;
/// use mqtt_client::{Overflow, Settings};
///
/// let mut settings = Settings::default();
/// settings.stream_capacity = 64;
/// settings.overflow = Overflow::StopReading;
/// settings.retry_first_connect = true;
/// settings.disconnect_timeout = Duration::from_secs(1);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Settings {
    /// How many messages a stream holds before its messages count as waiting: QoS 1 and 2
    /// messages beyond it are not acknowledged until the application makes room, QoS 0
    /// messages beyond it follow [`overflow`](Self::overflow). At least 1.
    pub stream_capacity: usize,
    /// What a full stream does with QoS 0 messages.
    pub overflow: Overflow,
    /// How many connection events each [`events`](crate::Core::open_events) subscriber holds;
    /// the oldest are dropped beyond it. At least 1.
    pub event_capacity: usize,
    /// Reconnect with this backoff when a connection is lost; `None` stops the client instead.
    pub reconnect: Option<Backoff>,
    /// Treat a failed first connection like a lost one: retry it with
    /// [`reconnect`](Self::reconnect)'s backoff instead of stopping.
    pub retry_first_connect: bool,
    /// How long a requested disconnect waits for queued and in-flight publishes to complete
    /// before it sends DISCONNECT anyway.
    pub disconnect_timeout: Duration,
    /// How long a connection that ended may take to write what was queued before it (a final
    /// DISCONNECT, acknowledgements, QoS 0 publishes) before the transport is closed anyway.
    pub linger: Duration,
    /// How many servers the application listed ([`Target::Server`](crate::Target)): a
    /// connection that can't be made, or ends before the broker accepts it, goes on to the
    /// next at once; after a round in which every one failed, the backoff applies. At least 1.
    pub servers: usize,
    /// Try the servers in a random order instead of the order listed.
    pub shuffle_servers: bool,
    /// How many MQTT 5.0 server redirects (reason code 0x9C or 0x9D with a Server Reference)
    /// are followed in a row before a connection is accepted; 0 follows none.
    pub max_redirects: u8,
}

impl Default for Settings {
    /// Streams of 1,024 messages that drop their oldest QoS 0 message when full, 64 events
    /// per subscriber, reconnection with the default [`Backoff`], no retry of the first
    /// connection, 5 s to finish publishes on disconnect and 5 s to write the last bytes; one
    /// server, and up to 3 redirects followed.
    fn default() -> Self {
        Settings {
            stream_capacity: 1024,
            overflow: Overflow::DropOldest,
            event_capacity: 64,
            reconnect: Some(Backoff::default()),
            retry_first_connect: false,
            disconnect_timeout: Duration::from_secs(5),
            linger: Duration::from_secs(5),
            servers: 1,
            shuffle_servers: false,
            max_redirects: 3,
        }
    }
}
