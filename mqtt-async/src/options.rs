//! How to reach the broker and how the client behaves.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use mqtt_client::{Error, Overflow, Settings, StoreSlot};
use mqtt_proto::{ByteString, QoS, TopicName, Will};
use mqtt_session::{Backoff, Config, Version};

#[cfg(feature = "tls")]
use crate::TlsOptions;
use crate::client::Client;
use crate::runtime::Runtime;
use crate::url::BrokerUrl;

/// The transport to the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transport {
    /// Plain TCP (`mqtt://`, default port 1883).
    Tcp,
    /// TLS over TCP (`mqtts://`, default port 8883).
    Tls,
    /// WebSocket (`ws://`, default port 80), subprotocol `mqtt`.
    WebSocket,
    /// WebSocket over TLS (`wss://`, default port 443).
    SecureWebSocket,
}

impl Transport {
    /// Whether the transport runs over TLS.
    ///
    /// ```
    /// assert!(mqtt_tokio::Transport::SecureWebSocket.is_tls());
    /// ```
    pub fn is_tls(self) -> bool {
        matches!(self, Transport::Tls | Transport::SecureWebSocket)
    }

    /// Whether the transport runs over WebSocket.
    ///
    /// ```
    /// assert!(!mqtt_tokio::Transport::Tls.is_websocket());
    /// ```
    pub fn is_websocket(self) -> bool {
        matches!(self, Transport::WebSocket | Transport::SecureWebSocket)
    }

    /// `Ok` when this build supports the transport; otherwise the error that names the
    /// missing Cargo feature (`tls`, `websocket`).
    ///
    /// ```
    /// use mqtt_tokio::{Options, Transport};
    ///
    /// let options = Options::from_url("mqtt://127.0.0.1", "x")?;
    /// options.transport.available()?; // before connecting: a missing feature says so now
    /// assert!(Transport::Tcp.available().is_ok());
    /// # Ok::<(), mqtt_tokio::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Tls`] or [`Error::WebSocket`], naming the feature.
    pub fn available(self) -> Result<(), Error> {
        if self.is_tls() && !cfg!(feature = "tls") {
            return Err(Error::tls(
                "TLS is not built in: enable the `tls` feature (on by default)",
            ));
        }
        if self.is_websocket() && !cfg!(feature = "websocket") {
            return Err(Error::WebSocket(mqtt_client::Detail::new(
                "WebSocket is not built in: enable the `websocket` feature",
            )));
        }
        Ok(())
    }

    pub(crate) fn default_port(self) -> u16 {
        match self {
            Transport::Tcp => 1883,
            Transport::Tls => 8883,
            Transport::WebSocket => 80,
            Transport::SecureWebSocket => 443,
        }
    }
}

/// TCP keepalive probes (the seed's `sock_keepalive`): `count` probes, the first after `idle`
/// without traffic, then one every `interval`.
///
/// ```
/// use std::time::Duration;
/// use mqtt_tokio::{Options, SocketKeepalive};
///
/// let mut options = Options::new("127.0.0.1", 1883, "x");
/// // A dead peer is noticed after 30 s of silence and 3 unanswered probes 5 s apart.
/// options.socket_keepalive = Some(SocketKeepalive {
///     count: 3,
///     idle: Duration::from_secs(30),
///     interval: Duration::from_secs(5),
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketKeepalive {
    /// Probes sent before the connection is dropped.
    pub count: u32,
    /// Idle time before the first probe.
    pub idle: Duration,
    /// Time between probes.
    pub interval: Duration,
}

/// A hook the client runs with itself: the seed's `breconnect_cb` and `aconnect_cb`.
pub type Hook<R> = mqtt_client::Hook<Client<R>>;

/// Answers the server's AUTH packets in MQTT 5.0 enhanced authentication: given the server's
/// AUTH, returns the AUTH to send back, or `None` to send nothing.
pub type AuthHook = Arc<dyn Fn(&mqtt_proto::Auth) -> Option<mqtt_proto::Auth> + Send + Sync>;

/// Everything the client needs to connect and how it behaves after.
///
/// ```
/// use std::time::Duration;
/// use mqtt_tokio::{Options, QoS};
///
/// let mut options = Options::from_url("mqtt://127.0.0.1:1883", "my-client")?;
/// options.session.keep_alive = Duration::from_secs(30);
/// options.set_credentials("user", "secret");
/// options.set_will("status/my-client", "offline", QoS::AtLeastOnce, true)?;
/// # Ok::<(), mqtt_tokio::Error>(())
/// ```
#[non_exhaustive]
pub struct Options<R: Runtime> {
    /// The broker's host name or IP address.
    pub host: String,
    /// The broker's port.
    pub port: u16,
    /// The transport.
    pub transport: Transport,
    /// The WebSocket path, `/mqtt` by default.
    pub path: String,
    /// TLS settings for `mqtts://` and `wss://`; `None` uses
    /// [`TlsOptions::default_roots`].
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub tls: Option<TlsOptions>,
    /// The MQTT session: client id, protocol version, keep alive, will, credentials, MQTT 5.0
    /// properties and the session policies.
    pub session: Config,
    /// How long a connection may take, from the start of the TCP connect to the broker's
    /// CONNACK: TCP, TLS and WebSocket handshakes and the CONNECT exchange, together. One
    /// deadline per attempt; it replaces
    /// [`session.connect_timeout`](Config::connect_timeout). 10 s by default.
    pub connect_timeout: Duration,
    /// Set `TCP_NODELAY` (on by default: MQTT packets are small and latency matters).
    pub tcp_nodelay: bool,
    /// TCP keepalive probes; off by default.
    pub socket_keepalive: Option<SocketKeepalive>,
    /// Reconnect automatically with this backoff; `None` turns automatic reconnection off.
    pub reconnect: Option<Backoff>,
    /// Retry a failed first connection with the same backoff, instead of failing
    /// [`Client::connect`]; [`Client::spawn`] then returns at once.
    pub retry_first_connect: bool,
    /// Run before each reconnection attempt, for example to refresh credentials with
    /// [`Client::set_credentials`].
    pub before_reconnect: Option<Hook<R>>,
    /// Run after each accepted connection, for example to subscribe.
    pub after_connect: Option<Hook<R>>,
    /// Answers AUTH packets (MQTT 5.0 enhanced authentication, with an Authentication Method
    /// in [`session.connect_properties`](Config::connect_properties)).
    pub on_auth: Option<AuthHook>,
    /// How many messages each stream holds before it holds back acknowledgements (QoS 1 and
    /// 2) and applies [`overflow`](Self::overflow) (QoS 0); see [`Messages`](crate::Messages).
    pub stream_capacity: usize,
    /// What a full stream does with QoS 0 messages: drop the oldest (the default, reported
    /// as [`ClientEvent::MessagesDropped`](crate::ClientEvent::MessagesDropped)) or stop
    /// reading.
    pub overflow: Overflow,
    /// How long [`Client::disconnect`] waits for queued and in-flight publishes to finish
    /// before it sends DISCONNECT anyway.
    pub disconnect_timeout: Duration,
    /// Where the session keeps what must survive a restart (unacknowledged publishes, inbound
    /// QoS 2 state); in memory when `None`. See [`set_store`](Self::set_store).
    pub store: Option<StoreSlot>,
}

impl<R: Runtime> Options<R> {
    /// Options for plain TCP to `host:port`, MQTT 5.0.
    ///
    /// ```
    /// use mqtt_tokio::{Options, Transport, Version};
    ///
    /// let options = Options::new("broker.example", 1883, "sensor-17");
    /// assert_eq!(options.transport, Transport::Tcp);
    /// assert_eq!(options.session.version, Version::V5);
    /// assert_eq!(options.session.client_id, "sensor-17");
    /// ```
    pub fn new(host: impl Into<String>, port: u16, client_id: impl Into<ByteString>) -> Self {
        Options {
            host: host.into(),
            port,
            transport: Transport::Tcp,
            path: "/mqtt".into(),
            #[cfg(feature = "tls")]
            tls: None,
            session: Config::new(client_id, Version::V5),
            connect_timeout: Duration::from_secs(10),
            tcp_nodelay: true,
            socket_keepalive: None,
            reconnect: Some(Backoff::default()),
            retry_first_connect: false,
            before_reconnect: None,
            after_connect: None,
            on_auth: None,
            stream_capacity: 1024,
            overflow: Overflow::default(),
            disconnect_timeout: Duration::from_secs(5),
            store: None,
        }
    }

    /// Options from a URL: `mqtt://host[:port]` (TCP), `mqtts://` (TLS), `ws://host[:port][/path]`
    /// or `wss://` (WebSocket). `user:password@` before the host sets the credentials
    /// (percent-encoded where needed). A query `?version=3.1.1` (or `4`) selects MQTT 3.1.1,
    /// `?version=3.1` (or `3`) MQTT 3.1; MQTT 5.0 (`5`, `5.0`) is the default.
    ///
    /// ```
    /// use mqtt_tokio::{Options, Transport, Version};
    ///
    /// let options = Options::from_url("mqtts://sensor:s3cret@broker.example?version=3.1.1", "sensor-17")?;
    /// assert_eq!((options.transport, options.port), (Transport::Tls, 8883));
    /// assert_eq!(options.session.version, Version::V311);
    /// assert_eq!(options.session.username.as_deref(), Some("sensor"));
    ///
    /// // A forgotten scheme gets a suggestion.
    /// let error = Options::from_url("127.0.0.1:1883", "x").unwrap_err();
    /// assert!(error.to_string().contains("did you mean \"mqtt://127.0.0.1:1883\""));
    /// # Ok::<(), mqtt_tokio::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`], saying what is wrong: an unknown scheme (or none), no host, a
    /// port out of range, a path on a scheme other than WebSocket, an unknown query key or
    /// version.
    pub fn from_url(url: &str, client_id: impl Into<ByteString>) -> Result<Self, Error> {
        let parsed = BrokerUrl::parse(url)?;
        let mut options = Self::new(parsed.host, parsed.port, client_id);
        options.transport = parsed.transport;
        if let Some(path) = parsed.path {
            options.path = path;
        }
        if let Some(username) = parsed.username {
            options.session.username = Some(username.into());
            options.session.password = parsed.password.map(bytes::Bytes::from);
        }
        for (key, value) in parsed.query {
            match key.as_str() {
                "version" => {
                    options.session.version = match value.as_str() {
                        "3.1" | "3" => Version::V31,
                        "3.1.1" | "4" => Version::V311,
                        "5" | "5.0" => Version::V5,
                        other => {
                            return Err(Error::InvalidUrl(format!(
                                "{url:?}: unknown version {other:?}; use 3.1, 3.1.1 or 5"
                            )));
                        }
                    };
                }
                other => {
                    return Err(Error::InvalidUrl(format!(
                        "{url:?}: unknown query key {other:?}; the one known is \"version\""
                    )));
                }
            }
        }
        Ok(options)
    }

    /// Selects the protocol version.
    ///
    /// ```
    /// use mqtt_tokio::{Options, Version};
    ///
    /// let mut options = Options::new("127.0.0.1", 1883, "legacy");
    /// options.set_version(Version::V311).set_credentials("user", "secret");
    /// assert_eq!(options.session.version, Version::V311);
    /// ```
    pub fn set_version(&mut self, version: Version) -> &mut Self {
        self.session.version = version;
        self
    }

    /// The seed's `set_username_pw`.
    ///
    /// ```
    /// let mut options = mqtt_tokio::Options::new("127.0.0.1", 1883, "sensor-17");
    /// options.set_credentials("sensor-17", "s3cret");
    /// assert_eq!(options.session.username.as_deref(), Some("sensor-17"));
    /// assert_eq!(options.session.password.as_deref(), Some(&b"s3cret"[..]));
    /// ```
    pub fn set_credentials(
        &mut self,
        username: impl Into<ByteString>,
        password: impl Into<bytes::Bytes>,
    ) -> &mut Self {
        self.session.username = Some(username.into());
        self.session.password = Some(password.into());
        self
    }

    /// The seed's `set_will`.
    ///
    /// ```
    /// use mqtt_tokio::{Options, QoS};
    ///
    /// let mut options = Options::new("127.0.0.1", 1883, "sensor-17");
    /// options.set_will("status/sensor-17", "offline", QoS::AtLeastOnce, true)?;
    /// // MQTT 5.0 will properties are set on the will itself.
    /// if let Some(will) = &mut options.session.will {
    ///     will.properties.content_type = Some("text/plain".into());
    /// }
    /// assert!(options.set_will("status/+", "offline", QoS::AtLeastOnce, true).is_err());
    /// # Ok::<(), mqtt_tokio::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTopic`] for a topic that is not a valid topic name.
    pub fn set_will(
        &mut self,
        topic: &str,
        payload: impl Into<bytes::Bytes>,
        qos: QoS,
        retain: bool,
    ) -> Result<&mut Self, Error> {
        let mut will = Will::new(TopicName::new(topic)?, payload);
        will.qos = qos;
        will.retain = retain;
        self.session.will = Some(will);
        Ok(self)
    }

    /// Keeps the session's state in `store`, a durable one (such as `mqtt_store::FileStore`)
    /// for a client that must not lose what it accepted across a crash: the client starts
    /// from what the store holds, and resends, in order, what the broker had not
    /// acknowledged. The client built from these options takes it (see [`StoreSlot`]).
    ///
    /// ```
    /// use mqtt_tokio::{Options, session::MemoryStore};
    ///
    /// let mut options = Options::new("127.0.0.1", 1883, "sensor-17");
    /// // The in-memory store here; `mqtt_store::FileStore::open(path, ..)` gives a durable one.
    /// options.set_store(MemoryStore::new());
    /// assert!(options.store.is_some());
    /// ```
    pub fn set_store(&mut self, store: impl mqtt_session::Store + Send + 'static) -> &mut Self {
        self.store = Some(StoreSlot::new(store));
        self
    }

    /// The TLS settings to connect with: [`tls`](Self::tls), or
    /// [`TlsOptions::default_roots`].
    ///
    /// ```
    /// let options = mqtt_tokio::Options::from_url("mqtts://broker.example", "x")?;
    /// assert!(options.tls_options().is_ok()); // the webpki roots, by default
    /// # Ok::<(), mqtt_tokio::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`TlsOptions::default_roots`].
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn tls_options(&self) -> Result<TlsOptions, Error> {
        match &self.tls {
            Some(tls) => Ok(tls.clone()),
            None => TlsOptions::default_roots(),
        }
    }

    /// The broker's `host:port` (an IPv6 address in brackets), as errors name it.
    ///
    /// ```
    /// let options = mqtt_tokio::Options::new("::1", 1883, "x");
    /// assert_eq!(options.host_port(), "[::1]:1883");
    /// ```
    pub fn host_port(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The error for a TCP connect to the broker that failed with `source`: it names the
    /// broker's address.
    ///
    /// ```
    /// use std::io;
    ///
    /// let options = mqtt_tokio::Options::new("127.0.0.1", 1883, "x");
    /// let error = options.connect_error(io::Error::from(io::ErrorKind::ConnectionRefused));
    /// assert!(error.to_string().starts_with("connecting to 127.0.0.1:1883: "));
    /// ```
    pub fn connect_error(&self, source: std::io::Error) -> Error {
        Error::Connect {
            address: self.host_port(),
            source,
        }
    }

    /// The client layer's settings.
    pub(crate) fn settings(&self) -> Settings {
        let mut settings = Settings::default();
        settings.stream_capacity = self.stream_capacity;
        settings.overflow = self.overflow;
        settings.reconnect = self.reconnect;
        settings.retry_first_connect = self.retry_first_connect;
        settings.disconnect_timeout = self.disconnect_timeout;
        settings
    }

    /// The URL-like address, for logs.
    pub(crate) fn address(&self) -> String {
        let scheme = match self.transport {
            Transport::Tcp => "mqtt",
            Transport::Tls => "mqtts",
            Transport::WebSocket => "ws",
            Transport::SecureWebSocket => "wss",
        };
        format!("{scheme}://{}", self.host_port())
    }
}

impl<R: Runtime> Clone for Options<R> {
    fn clone(&self) -> Self {
        Options {
            host: self.host.clone(),
            port: self.port,
            transport: self.transport,
            path: self.path.clone(),
            #[cfg(feature = "tls")]
            tls: self.tls.clone(),
            session: self.session.clone(),
            connect_timeout: self.connect_timeout,
            tcp_nodelay: self.tcp_nodelay,
            socket_keepalive: self.socket_keepalive,
            reconnect: self.reconnect,
            retry_first_connect: self.retry_first_connect,
            before_reconnect: self.before_reconnect.clone(),
            after_connect: self.after_connect.clone(),
            on_auth: self.on_auth.clone(),
            stream_capacity: self.stream_capacity,
            overflow: self.overflow,
            disconnect_timeout: self.disconnect_timeout,
            store: self.store.clone(),
        }
    }
}

impl<R: Runtime> fmt::Debug for Options<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("address", &self.address())
            .field("session", &self.session)
            .field("connect_timeout", &self.connect_timeout)
            .field("reconnect", &self.reconnect)
            .finish_non_exhaustive()
    }
}
