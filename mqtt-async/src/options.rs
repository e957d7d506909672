//! How to reach the broker and how the client behaves.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use mqtt_client::{Error, Overflow, Proxy, Settings, StoreSlot, Target};
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

/// One broker of a list: where, and over what. TLS and everything else are the options'.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Server {
    /// The host name or IP address.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The transport.
    pub transport: Transport,
    /// The WebSocket path.
    pub path: String,
}

impl Server {
    /// `host:port` (an IPv6 address in brackets), as errors name it.
    ///
    /// ```
    /// let options = mqtt_tokio::Options::new("::1", 1883, "x");
    /// assert_eq!(options.server(&mqtt_tokio::Target::Server(0)).host_port(), "[::1]:1883");
    /// ```
    pub fn host_port(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The error for a TCP connect to this server that failed with `source`.
    pub fn connect_error(&self, source: std::io::Error) -> Error {
        Error::Connect {
            address: self.host_port(),
            source,
        }
    }
}

/// Opens the byte stream to a server instead of the runtime: see [`Options::set_connector`].
pub type Connector<R> = Arc<
    dyn Fn(&Server) -> Pin<Box<dyn Future<Output = Result<<R as Runtime>::Io, Error>> + Send>>
        + Send
        + Sync,
>;

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
    /// Run after each accepted connection, for example to publish an "online" status.
    /// (Subscriptions need no hook: the session makes them again when the broker lost them,
    /// [`Config::resubscribe`].)
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
    /// More brokers, after the one above: a connection that can't be made, or ends before the
    /// broker accepts it, goes on to the next at once, and the backoff applies after a round
    /// in which every one failed. Add them with [`add_server`](Self::add_server). On a
    /// cluster that shares sessions, the session (in-flight messages, subscriptions) moves
    /// with the client.
    pub more_servers: Vec<Server>,
    /// Try the servers in a random order instead of the order listed.
    pub shuffle_servers: bool,
    /// Reach the broker through this proxy (HTTP CONNECT or SOCKS5), for TCP, TLS and
    /// WebSocket alike; see [`set_proxy`](Self::set_proxy).
    pub proxy: Option<Proxy>,
    /// Opens the byte stream instead of the runtime's TCP, TLS and WebSocket; see
    /// [`set_connector`](Self::set_connector).
    pub connector: Option<Connector<R>>,
    /// How many MQTT 5.0 server redirects (reason code 0x9C Use another server or 0x9D
    /// Server moved, with a Server Reference) are followed in a row; 0 turns following off.
    /// 3 by default.
    pub max_redirects: u8,
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
            more_servers: Vec::new(),
            shuffle_servers: false,
            connector: None,
            proxy: None,
            max_redirects: 3,
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

    /// Adds a broker to the list ([`more_servers`](Self::more_servers)), from a URL as
    /// [`from_url`](Self::from_url) reads it (its credentials and query are not used: they
    /// are the options').
    ///
    /// ```
    /// use mqtt_tokio::{Options, Target};
    ///
    /// let mut options = Options::from_url("mqtt://node1.example:1883", "sensor")?;
    /// options.add_server("mqtt://node2.example:1883")?.add_server("mqtts://node3.example")?;
    /// assert_eq!(options.server(&Target::Server(2)).port, 8883);
    /// # Ok::<(), mqtt_tokio::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`], as [`from_url`](Self::from_url).
    pub fn add_server(&mut self, url: &str) -> Result<&mut Self, Error> {
        let parsed = BrokerUrl::parse(url)?;
        self.more_servers.push(Server {
            host: parsed.host,
            port: parsed.port,
            transport: parsed.transport,
            path: parsed.path.unwrap_or_else(|| self.path.clone()),
        });
        Ok(self)
    }

    /// The broker a connection to `target` goes to: one of the list, or where a broker
    /// redirected the client (with the transport of the server it stands in for).
    ///
    /// ```
    /// use mqtt_tokio::{Options, Target};
    ///
    /// let options = Options::from_url("mqtts://a.example:8884", "x")?;
    /// let target = Target::Redirect { host: "b.example".into(), port: None, base: 0 };
    /// let server = options.server(&target);
    /// assert_eq!((server.host.as_str(), server.port), ("b.example", 8884));
    /// # Ok::<(), mqtt_tokio::Error>(())
    /// ```
    pub fn server(&self, target: &Target) -> Server {
        let listed = |index: usize| match index.checked_sub(1) {
            Some(i) if i < self.more_servers.len() => self.more_servers[i].clone(),
            _ => Server {
                host: self.host.clone(),
                port: self.port,
                transport: self.transport,
                path: self.path.clone(),
            },
        };
        match target {
            Target::Server(index) => listed(*index),
            Target::Redirect { host, port, base } => {
                let mut server = listed(*base);
                server.host = host.clone();
                server.port = port.unwrap_or(server.port);
                server
            }
            _ => listed(0),
        }
    }

    /// Reaches the broker through a proxy: `http://[user:password@]host[:port]` (HTTP
    /// CONNECT, basic authentication) or `socks5://[user:password@]host[:port]`.
    ///
    /// ```
    /// let mut options = mqtt_tokio::Options::from_url("mqtts://broker.example", "behind-a-proxy")?;
    /// options.set_proxy("socks5://alice:s3cret@127.0.0.1:1080")?;
    /// assert_eq!(options.proxy.as_ref().map(|p| p.port), Some(1080));
    /// # Ok::<(), mqtt_tokio::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Proxy`] for a URL that is not understood.
    pub fn set_proxy(&mut self, url: &str) -> Result<&mut Self, Error> {
        self.proxy = Some(Proxy::from_url(url)?);
        Ok(self)
    }

    /// Hands the client a byte stream of the application's own for every connection: a
    /// Unix socket, a QUIC stream, a tunnel, a proxy the adapters don't speak. `connect` gets
    /// the server the client wants (of the list, or a redirect) and returns the runtime's
    /// [`Io`](crate::Io): mqtt-tokio's `mqtt_tokio::stream` wraps any tokio
    /// `AsyncRead + AsyncWrite`, mqtt-async-std's `mqtt_async_std::stream` any futures-io one.
    /// The connect timeout still applies.
    ///
    /// ```no_run
    /// use mqtt_tokio::{Client, Options};
    ///
    /// # async fn demo() -> Result<(), mqtt_tokio::Error> {
    /// let mut options = Options::new("localhost", 1883, "over-a-unix-socket");
    /// options.set_connector(|_server| async {
    ///     let socket = tokio::net::UnixStream::connect("/run/mosquitto/mqtt.sock").await?;
    ///     Ok(mqtt_tokio::stream(socket))
    /// });
    /// let (client, _default) = Client::spawn(options).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_connector<F>(
        &mut self,
        connect: impl Fn(&Server) -> F + Send + Sync + 'static,
    ) -> &mut Self
    where
        F: Future<Output = Result<R::Io, Error>> + Send + 'static,
    {
        self.connector = Some(Arc::new(move |server: &Server| {
            Box::pin(connect(server)) as Pin<Box<dyn Future<Output = _> + Send>>
        }));
        self
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
    /// [`TlsOptions::default_roots`]. For [`Runtime`] implementations.
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

    /// The first broker's `host:port` (an IPv6 address in brackets), for logs.
    pub(crate) fn host_port(&self) -> String {
        self.server(&Target::Server(0)).host_port()
    }

    /// The client layer's settings.
    pub(crate) fn settings(&self) -> Settings {
        let mut settings = Settings::default();
        settings.stream_capacity = self.stream_capacity;
        settings.overflow = self.overflow;
        settings.reconnect = self.reconnect;
        settings.retry_first_connect = self.retry_first_connect;
        settings.disconnect_timeout = self.disconnect_timeout;
        settings.servers = 1 + self.more_servers.len();
        settings.shuffle_servers = self.shuffle_servers;
        settings.max_redirects = self.max_redirects;
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
            more_servers: self.more_servers.clone(),
            shuffle_servers: self.shuffle_servers,
            connector: self.connector.clone(),
            proxy: self.proxy.clone(),
            max_redirects: self.max_redirects,
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
