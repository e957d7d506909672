//! How [`Client::connect`](crate::Client::connect) reaches the broker, and the options of
//! publishes.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use mqtt_client::Overflow;
use mqtt_proto::{PublishProperties, QoS};
use mqtt_session::Backoff;
#[cfg(feature = "tls")]
use rustls::ClientConfig;

use crate::client::Client;

/// A hook the client runs with itself: the seed's `breconnect_cb` and `aconnect_cb`.
pub type Hook = mqtt_client::Hook<Client>;

/// TCP keepalive probes (the seed's `sock_keepalive`): `count` probes, the first after `idle`
/// without traffic, then one every `interval`.
///
/// ```
/// use std::time::Duration;
/// use mqtt_blocking::{ConnectOptions, SocketKeepalive};
///
/// // A dead peer is noticed after 30 s of silence and 3 unanswered probes 5 s apart.
/// let options = ConnectOptions::default().with_sock_keepalive(SocketKeepalive {
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

/// MQTT over WebSocket (MQTT 5.0 §6): the path of the broker's WebSocket endpoint and extra
/// headers for the HTTP upgrade request (Paho's `ws_set_options(path, headers)`). The client
/// asks for the subprotocol `mqtt` and sends the MQTT byte stream in binary messages.
///
/// ```
/// use mqtt_blocking::WebSocketOptions;
///
/// let ws = WebSocketOptions::new("/mqtt").with_header("Authorization", "Bearer 3q2+7w==");
/// assert_eq!(ws.path, "/mqtt");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebSocketOptions {
    /// The path of the request, `/mqtt` by default (`/` is added in front when missing).
    pub path: String,
    /// Headers added to the upgrade request, as (name, value).
    pub headers: Vec<(String, String)>,
}

impl WebSocketOptions {
    /// WebSocket on `path`, no extra headers.
    ///
    /// ```
    /// use mqtt_blocking::{ConnectOptions, WebSocketOptions};
    ///
    /// let ws = WebSocketOptions::new("/ws");
    /// assert!(ws.headers.is_empty());
    /// let options = ConnectOptions::port(8080).with_websocket(ws);
    /// ```
    pub fn new(path: impl Into<String>) -> WebSocketOptions {
        WebSocketOptions {
            path: path.into(),
            headers: Vec::new(),
        }
    }

    /// Adds a header to the upgrade request.
    ///
    /// ```
    /// use mqtt_blocking::WebSocketOptions;
    ///
    /// let ws = WebSocketOptions::default()
    ///     .with_header("Authorization", "Bearer 3q2+7w==")
    ///     .with_header("Origin", "https://example.com");
    /// assert_eq!(ws.headers.len(), 2);
    /// assert_eq!(ws.path, "/mqtt");
    /// ```
    pub fn with_header(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> WebSocketOptions {
        self.headers.push((name.into(), value.into()));
        self
    }
}

impl Default for WebSocketOptions {
    fn default() -> Self {
        WebSocketOptions::new("/mqtt")
    }
}

impl From<&str> for WebSocketOptions {
    fn from(path: &str) -> WebSocketOptions {
        WebSocketOptions::new(path)
    }
}

/// Opens a connection's socket instead of TCP: see [`ConnectOptions::with_connector`].
pub type Connector =
    Arc<dyn Fn(&str, u16) -> std::io::Result<Box<dyn crate::CustomSocket>> + Send + Sync>;

/// The seed's `connect` arguments after `host` and `keepalive`, and the transport settings.
///
/// Start from [`ConnectOptions::default`] or [`ConnectOptions::port`], then set fields or chain
/// the `with_*` methods. The transport is TCP, TLS with [`tls`](Self::tls), WebSocket
/// (`ws://`) with [`websocket`](Self::websocket), and secure WebSocket (`wss://`) with both:
///
/// ```
/// use mqtt_blocking::{tls, ConnectOptions, WebSocketOptions};
///
/// let ws = ConnectOptions::port(8080).with_websocket("/mqtt");
/// let wss = ConnectOptions::port(443)
///     .with_tls(tls::webpki_roots())
///     .with_websocket(WebSocketOptions::new("/mqtt").with_header("Origin", "https://example.com"));
/// ```
///
/// ```
/// use std::time::Duration;
/// use mqtt_blocking::{tls, Client, ConnectOptions, SocketKeepalive};
///
/// let mut options = ConnectOptions::port(8883)
///     .with_tls(tls::webpki_roots())
///     .with_after_connect(|_client: &Client| println!("connected"))
///     .with_sock_keepalive(SocketKeepalive {
///         count: 3,
///         idle: Duration::from_secs(30),
///         interval: Duration::from_secs(5),
///     });
/// options.connect_timeout = Duration::from_secs(5);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct ConnectOptions {
    /// The broker's port; 1883 by default, as in the seed (use 8883 for the usual TLS port).
    pub port: u16,
    /// TLS (the seed's `ssl_ctx`): a rustls client configuration, or `None` for plain TCP.
    /// [`tls::webpki_roots`](crate::tls::webpki_roots) trusts the usual public roots;
    /// [`tls::with_ca_pem`](crate::tls::with_ca_pem) a private CA, with a client certificate
    /// for mutual TLS. Feature `tls` (on by default).
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub tls: Option<Arc<ClientConfig>>,
    /// Verify the broker's certificate against this name instead of `host`.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub tls_server_name: Option<String>,
    /// MQTT over WebSocket (Paho's `transport="websockets"`), over TLS too when
    /// [`tls`](Self::tls) is set; `None` (the default) for MQTT straight on TCP or TLS.
    pub websocket: Option<WebSocketOptions>,
    /// Run before each reconnection attempt (the seed's `breconnect_cb`), for example to
    /// refresh credentials with [`Client::set_username_pw`].
    pub before_reconnect: Option<Hook>,
    /// Run after each accepted connection (the seed's `aconnect_cb`), for example to publish
    /// an "online" status. (Subscriptions need no hook: the session makes them again when the
    /// broker lost them, [`Config::resubscribe`](crate::Config::resubscribe).)
    pub after_connect: Option<Hook>,
    /// TCP keepalive probes (the seed's `sock_keepalive`); off by default.
    pub sock_keepalive: Option<SocketKeepalive>,
    /// How long a connection may take, from the start of the TCP connect to the broker's
    /// CONNACK (TLS and WebSocket handshakes included): one deadline per attempt. 10 s by
    /// default.
    pub connect_timeout: Duration,
    /// Set `TCP_NODELAY` (on by default: MQTT packets are small and latency matters).
    pub tcp_nodelay: bool,
    /// Reconnect automatically from the loop with this backoff when the connection is lost;
    /// `None` ends the loop instead.
    pub reconnect: Option<Backoff>,
    /// Retry a failed [`Client::connect`] with the same backoff until the broker accepts the
    /// connection, instead of returning the error (the seed retries by hand).
    pub retry_first_connect: bool,
    /// How long [`Client::disconnect`] waits for queued and in-flight publishes to complete
    /// before it sends DISCONNECT anyway.
    pub disconnect_timeout: Duration,
    /// How many messages each receiver holds before it holds back acknowledgements (QoS 1
    /// and 2) and applies [`overflow`](Self::overflow) (QoS 0); see
    /// [`Messages`](crate::Messages).
    pub stream_capacity: usize,
    /// What a full receiver does with QoS 0 messages: drop the oldest (the default, reported
    /// as [`ClientEvent::MessagesDropped`](crate::ClientEvent::MessagesDropped)) or stop
    /// reading.
    pub overflow: Overflow,
    /// More brokers after the one `connect` names, as host and port, reached the same way
    /// (TLS, WebSocket): a connection that can't be made, or ends before the broker accepts
    /// it, goes on to the next at once; the backoff applies after a round in which every one
    /// failed. See [`with_server`](Self::with_server).
    pub more_servers: Vec<(String, u16)>,
    /// Try the servers in a random order instead of the order listed.
    pub shuffle_servers: bool,
    /// Reach the broker through this proxy (HTTP CONNECT or SOCKS5), for TCP, TLS and
    /// WebSocket alike; see [`with_proxy`](Self::with_proxy).
    pub proxy: Option<mqtt_client::Proxy>,
    /// Opens the socket instead of TCP; see [`with_connector`](Self::with_connector).
    pub connector: Option<Connector>,
    /// How many MQTT 5.0 server redirects (0x9C Use another server, 0x9D Server moved, with
    /// a Server Reference) are followed in a row; 0 turns following off. 3 by default.
    pub max_redirects: u8,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            port: 1883,
            #[cfg(feature = "tls")]
            tls: None,
            #[cfg(feature = "tls")]
            tls_server_name: None,
            websocket: None,
            before_reconnect: None,
            after_connect: None,
            sock_keepalive: None,
            connect_timeout: Duration::from_secs(10),
            tcp_nodelay: true,
            reconnect: Some(Backoff::default()),
            retry_first_connect: false,
            disconnect_timeout: Duration::from_secs(5),
            stream_capacity: 1024,
            overflow: Overflow::default(),
            more_servers: Vec::new(),
            shuffle_servers: false,
            proxy: None,
            connector: None,
            max_redirects: 3,
        }
    }
}

impl ConnectOptions {
    /// The defaults with another port.
    ///
    /// ```
    /// use mqtt_blocking::ConnectOptions;
    ///
    /// let options = ConnectOptions::port(1884);
    /// assert_eq!(options.port, 1884);
    /// assert!(options.tls.is_none()); // plain TCP unless TLS is set
    /// ```
    pub fn port(port: u16) -> ConnectOptions {
        ConnectOptions {
            port,
            ..ConnectOptions::default()
        }
    }

    /// Opens the socket of every connection with `connect(host, port)` instead of TCP: a Unix
    /// socket, a pipe, anything `mio` can wait on, non-blocking. TLS and WebSocket still run
    /// on it as configured.
    ///
    /// ```no_run
    /// use mqtt_blocking::ConnectOptions;
    ///
    /// let options = ConnectOptions::port(1883).with_connector(|_host, _port| {
    ///     let socket = std::os::unix::net::UnixStream::connect("/run/mosquitto/mqtt.sock")?;
    ///     socket.set_nonblocking(true)?;
    ///     Ok(Box::new(mqtt_blocking::mio::net::UnixStream::from_std(socket)))
    /// });
    /// ```
    pub fn with_connector(
        mut self,
        connect: impl Fn(&str, u16) -> std::io::Result<Box<dyn crate::CustomSocket>>
        + Send
        + Sync
        + 'static,
    ) -> ConnectOptions {
        self.connector = Some(Arc::new(connect));
        self
    }

    /// Reaches the broker through a proxy: `http://[user:password@]host[:port]` (HTTP
    /// CONNECT, basic authentication) or `socks5://[user:password@]host[:port]`.
    ///
    /// ```
    /// let options = mqtt_blocking::ConnectOptions::port(8883).with_proxy("http://proxy.corp:3128")?;
    /// assert!(options.proxy.is_some());
    /// # Ok::<(), mqtt_blocking::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Proxy`](crate::Error::Proxy) for a URL that is not understood.
    pub fn with_proxy(mut self, url: &str) -> Result<ConnectOptions, crate::Error> {
        self.proxy = Some(mqtt_client::Proxy::from_url(url)?);
        Ok(self)
    }

    /// Adds a broker to try when the one `connect` names fails: a cluster's other nodes.
    ///
    /// ```
    /// use mqtt_blocking::ConnectOptions;
    ///
    /// let options = ConnectOptions::port(1883).with_server("node2.example", 1883).with_server("node3.example", 1883);
    /// assert_eq!(options.more_servers.len(), 2);
    /// ```
    pub fn with_server(mut self, host: impl Into<String>, port: u16) -> ConnectOptions {
        self.more_servers.push((host.into(), port));
        self
    }

    /// Whether connections use TLS: [`tls`](Self::tls) is set (always `false` without the
    /// `tls` feature).
    ///
    /// ```
    /// let options = mqtt_blocking::ConnectOptions::port(1883);
    /// assert!(!options.uses_tls());
    /// ```
    pub fn uses_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.tls.is_some();
        #[cfg(not(feature = "tls"))]
        false
    }

    /// Sets [`tls`](Self::tls).
    ///
    /// ```
    /// use mqtt_blocking::{tls, ConnectOptions};
    ///
    /// let mut options = ConnectOptions::port(8883).with_tls(tls::webpki_roots());
    /// // The certificate names another host than the one connected to (an IP address, say).
    /// options.tls_server_name = Some("broker.example".into());
    /// ```
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn with_tls(mut self, config: Arc<ClientConfig>) -> ConnectOptions {
        self.tls = Some(config);
        self
    }

    /// TLS from [`TlsOptions`](crate::tls::TlsOptions): roots from a CA file or directory,
    /// a client certificate from files, an encrypted key, the server name to verify.
    ///
    /// ```no_run
    /// use mqtt_blocking::{ConnectOptions, tls::TlsOptions};
    ///
    /// let tls = TlsOptions::with_ca_file("ca.pem")?.with_client_cert_files("client.pem", "client.key")?;
    /// let options = ConnectOptions::port(8883).with_tls_options(&tls)?;
    /// # Ok::<(), mqtt_blocking::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Tls`](crate::Error::Tls) when rustls refuses the configuration.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn with_tls_options(
        mut self,
        tls: &crate::tls::TlsOptions,
    ) -> Result<ConnectOptions, crate::Error> {
        self.tls = Some(tls.client_config()?);
        if let Some(name) = &tls.server_name {
            self.tls_server_name = Some(name.clone());
        }
        Ok(self)
    }

    /// Sets [`websocket`](Self::websocket): a path (`"/mqtt"`) or [`WebSocketOptions`].
    ///
    /// ```
    /// use mqtt_blocking::{tls, ConnectOptions, WebSocketOptions};
    ///
    /// let ws = ConnectOptions::port(80).with_websocket("/mqtt"); // ws://host/mqtt
    /// let headers = WebSocketOptions::new("/mqtt").with_header("Authorization", "Bearer x");
    /// let wss = ConnectOptions::port(443) // wss://host/mqtt, with a header
    ///     .with_tls(tls::webpki_roots())
    ///     .with_websocket(headers);
    /// assert_eq!(wss.websocket.map(|ws| ws.path).as_deref(), Some("/mqtt"));
    /// ```
    pub fn with_websocket(mut self, websocket: impl Into<WebSocketOptions>) -> ConnectOptions {
        self.websocket = Some(websocket.into());
        self
    }

    /// Sets [`before_reconnect`](Self::before_reconnect).
    ///
    /// ```
    /// use mqtt_blocking::{Client, ConnectOptions};
    ///
    /// # fn fresh_token() -> String { "token".into() }
    /// // A token that expires: a new one before every reconnection.
    /// let options = ConnectOptions::default().with_before_reconnect(|client: &Client| {
    ///     client.set_username_pw("sensor-17", Some(&fresh_token()));
    /// });
    /// assert!(options.before_reconnect.is_some());
    /// ```
    pub fn with_before_reconnect(
        mut self,
        hook: impl Fn(&Client) + Send + Sync + 'static,
    ) -> ConnectOptions {
        self.before_reconnect = Some(Arc::new(hook));
        self
    }

    /// Sets [`after_connect`](Self::after_connect).
    ///
    /// ```
    /// use mqtt_blocking::{Client, ConnectOptions, QoS};
    ///
    /// // Announce the client on every connection (its will says "offline").
    /// let options = ConnectOptions::default().with_after_connect(|client: &Client| {
    ///     let _ = client.publish("status/sensor-17", "online", QoS::AtLeastOnce, true);
    /// });
    /// ```
    pub fn with_after_connect(
        mut self,
        hook: impl Fn(&Client) + Send + Sync + 'static,
    ) -> ConnectOptions {
        self.after_connect = Some(Arc::new(hook));
        self
    }

    /// Sets [`sock_keepalive`](Self::sock_keepalive).
    ///
    /// ```
    /// use std::time::Duration;
    /// use mqtt_blocking::{ConnectOptions, SocketKeepalive};
    ///
    /// let options = ConnectOptions::default().with_sock_keepalive(SocketKeepalive {
    ///     count: 3,
    ///     idle: Duration::from_secs(30),
    ///     interval: Duration::from_secs(5),
    /// });
    /// assert_eq!(options.sock_keepalive.map(|k| k.count), Some(3));
    /// ```
    pub fn with_sock_keepalive(mut self, keepalive: SocketKeepalive) -> ConnectOptions {
        self.sock_keepalive = Some(keepalive);
        self
    }

    /// Sets [`reconnect`](Self::reconnect): `None` turns automatic reconnection off.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mqtt_blocking::{Backoff, ConnectOptions};
    ///
    /// // Retry after 1 s, then 2, 4, ... up to a minute.
    /// let patient = ConnectOptions::default().with_reconnect(Some(Backoff {
    ///     initial: Duration::from_secs(1),
    ///     max: Duration::from_secs(60),
    ///     ..Backoff::default()
    /// }));
    /// // No reconnection: the loop ends when the connection is lost.
    /// let once = ConnectOptions::default().with_reconnect(None);
    /// assert!(once.reconnect.is_none());
    /// ```
    pub fn with_reconnect(mut self, backoff: Option<Backoff>) -> ConnectOptions {
        self.reconnect = backoff;
        self
    }
}

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("ConnectOptions");
        debug.field("port", &self.port);
        #[cfg(feature = "tls")]
        debug
            .field("tls", &self.tls.is_some())
            .field("tls_server_name", &self.tls_server_name);
        debug
            .field("websocket", &self.websocket)
            .field("before_reconnect", &self.before_reconnect.is_some())
            .field("after_connect", &self.after_connect.is_some())
            .field("sock_keepalive", &self.sock_keepalive)
            .field("connect_timeout", &self.connect_timeout)
            .field("reconnect", &self.reconnect)
            .finish_non_exhaustive()
    }
}

/// The options of [`Client::publish_with`](crate::Client::publish_with): the seed's `qos` and
/// `retain`, and the MQTT 5.0 properties.
///
/// ```
/// use mqtt_blocking::{PublishOptions, QoS};
///
/// let mut options = PublishOptions::new(QoS::AtLeastOnce, false);
/// options.properties.message_expiry_interval = Some(60);
/// options.properties.content_type = Some("text/plain".into());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PublishOptions {
    /// The QoS.
    pub qos: QoS,
    /// Whether the broker retains the message.
    pub retain: bool,
    /// MQTT 5.0 properties. An MQTT 3.1.1 session refuses a publish that sets any
    /// ([`Error::Usage`](crate::Error::Usage)).
    pub properties: PublishProperties,
}

impl PublishOptions {
    /// `qos` and `retain`, no properties.
    ///
    /// ```
    /// use mqtt_blocking::{PublishOptions, QoS};
    ///
    /// let retained = PublishOptions::new(QoS::AtLeastOnce, true);
    /// assert!(retained.retain && retained.properties.is_empty());
    /// ```
    pub fn new(qos: QoS, retain: bool) -> PublishOptions {
        PublishOptions {
            qos,
            retain,
            properties: PublishProperties::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_seeds() {
        let options = ConnectOptions::default();
        assert_eq!(options.port, 1883);
        assert!(!options.uses_tls() && options.sock_keepalive.is_none());
        assert!(options.websocket.is_none());
        assert!(options.reconnect.is_some());
    }
}
