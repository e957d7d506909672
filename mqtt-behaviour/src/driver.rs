//! What a scenario asks of an adapter.

use std::net::SocketAddr;
use std::time::Duration;

use mqtt_tokio::{QoS, Version};

/// How long a scenario waits for anything that should happen promptly.
pub const WAIT: Duration = Duration::from_secs(15);

/// Where to connect, and how.
#[derive(Debug, Clone)]
pub enum Endpoint {
    Tcp(SocketAddr),
    /// TLS, trusting the CA in `ca` (PEM).
    Tls {
        address: SocketAddr,
        ca: Vec<u8>,
    },
    /// A `ws://host:port/path` URL.
    WebSocket(String),
    /// A `wss://host:port/path` URL, trusting the CA in `ca` (PEM).
    SecureWebSocket {
        url: String,
        ca: Vec<u8>,
    },
}

/// A client to connect.
#[derive(Debug, Clone)]
pub struct Spec {
    pub endpoint: Endpoint,
    pub version: Version,
    pub client_id: String,
    pub clean_start: bool,
    /// MQTT 5.0 Session Expiry Interval, seconds.
    pub session_expiry: Option<u32>,
    /// Messages the default stream holds before the client holds back acknowledgements.
    pub stream_capacity: usize,
}

impl Spec {
    /// A clean session over `endpoint`, reconnecting quickly (20 ms to 200 ms backoff).
    pub fn new(endpoint: Endpoint, version: Version, client_id: String) -> Spec {
        Spec {
            endpoint,
            version,
            client_id,
            clean_start: true,
            session_expiry: None,
            stream_capacity: 1024,
        }
    }

    /// A session that outlives the connection: clean start off, and on MQTT 5.0 an expiry.
    pub fn persistent(mut self) -> Spec {
        self.clean_start = false;
        if self.version == Version::V5 {
            self.session_expiry = Some(300);
        }
        self
    }

    /// The backoff every adapter reconnects with in the scenarios.
    pub fn backoff() -> mqtt_tokio::Backoff {
        mqtt_tokio::Backoff {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(200),
            multiplier: 2.0,
            jitter: true,
        }
    }
}

/// A message as the application got it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Got {
    pub topic: String,
    pub payload: Vec<u8>,
}

/// An adapter under test.
pub trait Adapter: 'static {
    /// A connected client; dropping it disconnects.
    type Client: TestClient;

    /// Whether the adapter has a transport for `endpoint`: scenarios skip the others.
    fn supports(endpoint: &Endpoint) -> bool {
        let _ = endpoint;
        true
    }

    /// Connects as `spec` says, with automatic reconnection ([`Spec::backoff`]); returns
    /// once the broker has accepted the connection, with the default stream (every message
    /// nothing else takes) open from the start. Panics when the connection fails.
    fn connect(spec: &Spec) -> Self::Client;
}

/// What a scenario does with a client. Every method panics, with the reason, when the client
/// fails or takes longer than [`WAIT`].
pub trait TestClient: Send + Sync + 'static {
    /// Subscribes and waits for the SUBACK, which must grant the subscription.
    fn subscribe(&self, filter: &str, qos: QoS);

    /// Publishes and waits until it is complete (written at QoS 0, PUBACK, PUBCOMP).
    fn publish(&self, topic: &str, payload: Vec<u8>, qos: QoS);

    /// Publishes without waiting: the client has accepted the message.
    fn start_publish(&self, topic: &str, payload: Vec<u8>, qos: QoS);

    /// Waits until every message given to [`start_publish`](Self::start_publish) is
    /// complete, for up to `within`.
    fn wait_published(&self, within: Duration);

    /// The next message of the default stream, or `None` after `within`.
    fn recv(&self, within: Duration) -> Option<Got>;

    /// Disconnects in order.
    fn disconnect(self);
}
