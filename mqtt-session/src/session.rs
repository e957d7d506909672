//! The client state machine.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;
use core::num::NonZeroU32;
use core::time::Duration;

use bytes::{Bytes, BytesMut};
use mqtt_proto::{
    Auth, ByteString, ConnAck, Connect, DecodeError, Decoder, Disconnect, EncodeError, Packet,
    PacketId, PacketType, PubAck, PubComp, PubRec, PubRel, Publish, QoS, ReasonCode, SubAck,
    Subscribe, SubscribeProperties, Subscription, SubscriptionOptions, TopicFilter, TopicName,
    UnsubAck, Unsubscribe, UnsubscribeProperties, UserProperty, Version,
};

use crate::alias::{Aliases, InboundError, Outbound};
use crate::config::{AckMode, Config, Qos2Delivery, SessionLostPolicy};
use crate::error::UsageError;
use crate::event::{
    AckToken, Command, Connected, DisconnectReason, Event, FailReason, Message, ProtocolError,
    PublishFailed, PublishId, Published, Received, RequestId, Resubscribing, Subscribed,
    Unsubscribed,
};
use crate::incoming::{Incoming, OwedAck, Qos2};
use crate::outgoing::{Inflight, InflightKind, Outgoing, Queued, needs_window};
use crate::server::ServerLimits;
use crate::store::{MemoryStore, Stage, Store, StoredSession};
use crate::time::Instant;
use crate::timer::{Timer, Timers};
use crate::transmit::Transmit;

/// Where the connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// No transport, or the connection ended. The session state waits for the next one.
    Disconnected,
    /// CONNECT sent, waiting for CONNACK (and any AUTH exchange).
    Connecting,
    /// The server accepted the connection.
    Connected,
}

/// A subscription the server confirmed, as the session remembers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSubscription {
    /// The options, with the QoS the server granted.
    pub options: SubscriptionOptions,
    /// The Subscription Identifier it was made with (MQTT 5.0).
    pub identifier: Option<NonZeroU32>,
}

/// An MQTT client session, without I/O: bytes and time go in, bytes, events and deadlines come
/// out.
///
/// The session outlives connections: in-flight publishes, packet identifiers, pending
/// (un)subscribes, inbound QoS 2 state and the queue of waiting publishes carry over to the next
/// transport. It never reads a clock; every input takes the current [`Instant`].
///
/// Its methods come in four families:
///
/// - **Getters** (`&self`): [`state`](Self::state), [`server`](Self::server),
///   [`subscriptions`](Self::subscriptions), [`wants_read`](Self::wants_read), ...
/// - **Inputs**: [`handle_transport_opened`](Self::handle_transport_opened),
///   [`handle_bytes`](Self::handle_bytes) (or [`read_buffer`](Self::read_buffer) with
///   [`handle_read`](Self::handle_read)), [`handle_timeout`](Self::handle_timeout) and
///   [`handle_transport_closed`](Self::handle_transport_closed).
/// - **Commands**: [`publish`](Self::publish), [`subscribe`](Self::subscribe),
///   [`unsubscribe`](Self::unsubscribe), [`ack`](Self::ack), [`auth`](Self::auth) and
///   [`disconnect`](Self::disconnect). Mistakes come back at once as a [`UsageError`].
/// - **Outputs**: [`poll_transmit`](Self::poll_transmit), [`poll_event`](Self::poll_event) and
///   [`poll_timeout`](Self::poll_timeout).
///
/// After any input or command, drain the outputs in that order: write every chunk from
/// `poll_transmit` to the transport, handle every event, then wait until the deadline from
/// `poll_timeout`, for more bytes, or for a command. Connection loss is an event
/// ([`Event::Disconnected`]), never an error: after it, write what `poll_transmit` still gives
/// (a final DISCONNECT) and close the transport.
///
/// ```no_run
/// use std::io::{Read, Write};
/// use std::net::TcpStream;
/// use mqtt_session::{Config, Event, Instant, Session, Version};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let start = std::time::Instant::now();
/// let now = || Instant::from_millis(start.elapsed().as_millis() as u64);
///
/// let mut session = Session::new(Config::new("example", Version::V5));
/// let mut socket = TcpStream::connect("127.0.0.1:1883")?;
/// session.handle_transport_opened(now())?;
/// let mut buf = [0u8; 4096];
/// loop {
///     while let Some(bytes) = session.poll_transmit() {
///         socket.write_all(&bytes)?;
///     }
///     while let Some(event) = session.poll_event() {
///         match event {
///             Event::Message(m) => println!("{}: {:?}", m.publish.topic, m.publish.payload),
///             Event::Disconnected(reason) => return Ok(println!("closed: {reason:?}")),
///             _ => {}
///         }
///     }
///     let timeout = session.poll_timeout().map(|t| t.saturating_duration_since(now()));
///     socket.set_read_timeout(timeout.map(|t| t.max(std::time::Duration::from_millis(1))))?;
///     match socket.read(&mut buf) {
///         Ok(0) => session.handle_transport_closed(now()),
///         Ok(n) => session.handle_bytes(now(), &buf[..n]),
///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
///             || e.kind() == std::io::ErrorKind::TimedOut => session.handle_timeout(now()),
///         Err(_) => session.handle_transport_closed(now()),
///     }
/// }
/// # }
/// ```
pub struct Session<S = MemoryStore> {
    config: Config,
    store: S,
    state: ConnectionState,
    /// Whether a CONNACK has ever accepted a connection of this session.
    resumable: bool,
    /// Clean Start as sent in the current connection's CONNECT.
    clean_start_sent: bool,
    /// The current connection's CONNECT had an empty client identifier, asking the server to
    /// assign one (MQTT 5.0 §3.2.2.3.7).
    client_id_requested: bool,
    /// A CONNECT went out and its connection ended before CONNACK: the server may have
    /// started a fresh session then, so the next "session present" may not be the session
    /// the client knows.
    session_uncertain: bool,
    /// Increments whenever the server loses the session, so old [`AckToken`]s are refused.
    epoch: u64,
    decoder: Decoder,
    read_buf: BytesMut,
    transmit: Transmit,
    events: VecDeque<Event>,
    timers: Timers,
    ping_outstanding: bool,
    /// The server's AUTH 0x18 awaits the application's answer (MQTT-4.12.0-3).
    auth_challenge: bool,
    /// When the client last sent a packet: keep alive counts from here (MQTT-3.1.2-23).
    last_sent: Instant,
    /// When the last packet arrived: a client that keeps sending to a server that went silent
    /// pings it all the same, so a dead link is noticed while busy too.
    last_received: Instant,
    /// A packet arrived after the CONNACK of the current (or last) connection.
    exchanged: bool,
    server: ServerLimits,
    outgoing: Outgoing,
    incoming: Incoming,
    aliases: Aliases,
    subscriptions: BTreeMap<TopicFilter, ActiveSubscription>,
    next_publish_id: u64,
    next_request_id: u64,
}

impl Session<MemoryStore> {
    /// A new session with the default in-memory store.
    ///
    /// ```
    /// use mqtt_session::{Config, ConnectionState, Session, Version};
    ///
    /// let session = Session::new(Config::new("sensor-17", Version::V5));
    /// assert_eq!(session.state(), ConnectionState::Disconnected); // nothing happens until told
    /// ```
    pub fn new(config: Config) -> Session<MemoryStore> {
        Session::with_store(config, MemoryStore::new())
    }
}

impl<S: Store> Session<S> {
    /// A new, empty session that records its state in `store`.
    ///
    /// ```
    /// use mqtt_session::{Config, NoStore, Session, Version};
    ///
    /// // Keeps nothing for a restart, at no cost per message: a QoS 0 sensor, say.
    /// let session = Session::with_store(Config::new("sensor-17", Version::V5), NoStore);
    /// assert_eq!(session.publishes_queued(), 0);
    /// ```
    pub fn with_store(config: Config, store: S) -> Session<S> {
        let max_packet_size = match config.version {
            Version::V5 => config
                .connect_properties
                .maximum_packet_size
                .map_or(mqtt_proto::MAX_PACKET_SIZE, NonZeroU32::get),
            _ => mqtt_proto::MAX_PACKET_SIZE,
        };
        Session {
            decoder: Decoder::new(config.version).with_max_packet_size(max_packet_size),
            server: ServerLimits::unknown(config.keep_alive),
            store,
            state: ConnectionState::Disconnected,
            resumable: false,
            clean_start_sent: false,
            client_id_requested: false,
            session_uncertain: false,
            epoch: 0,
            read_buf: BytesMut::new(),
            transmit: Transmit::default(),
            events: VecDeque::new(),
            timers: Timers::default(),
            ping_outstanding: false,
            auth_challenge: false,
            last_sent: Instant::ZERO,
            last_received: Instant::ZERO,
            exchanged: false,
            outgoing: Outgoing::new(),
            incoming: Incoming::default(),
            aliases: Aliases::default(),
            subscriptions: BTreeMap::new(),
            next_publish_id: 1,
            next_request_id: 1,
            config,
        }
    }

    /// A session rebuilt from what `store` holds, so that a restarted process resumes where it
    /// stopped: unfinished publishes are resent, in order, on the first connection, and inbound
    /// QoS 2 messages already received are not delivered again.
    ///
    /// The first connection asks to resume the server's session (Clean Start 0) when the store
    /// holds anything.
    ///
    /// ```
    /// use mqtt_session::proto::{Publish, QoS};
    /// use mqtt_session::{Config, Instant, MemoryStore, Session, Version};
    ///
    /// let mut session = Session::new(Config::new("sensor-17", Version::V5));
    /// let publish = Publish::builder("sensors/17/temp").payload("21.5").qos(QoS::AtLeastOnce);
    /// session.publish(Instant::ZERO, publish.build()?)?; // offline: queued, and recorded
    /// // A copy in memory here; a durable store (mqtt-store's FileStore) survives a crash.
    /// let store: MemoryStore = session.store().clone();
    /// let resumed = Session::from_store(Config::new("sensor-17", Version::V5), store);
    /// assert_eq!(resumed.publishes_queued(), 1); // sent on the first connection
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_store(config: Config, store: S) -> Session<S> {
        let StoredSession { outgoing, incoming } = store.load();
        let mut session = Session::with_store(config, store);
        for record in outgoing {
            session.next_publish_id = session.next_publish_id.max(record.id.0 + 1);
            let packet_id = record.publish.packet_id;
            match (record.stage, packet_id) {
                (Stage::Sent | Stage::Released, Some(packet_id))
                    if !session.outgoing.ids.is_used(packet_id) =>
                {
                    session.outgoing.ids.reserve(packet_id);
                    session.outgoing.push(Inflight::new(
                        packet_id,
                        true,
                        InflightKind::Publish {
                            id: record.id,
                            publish: record.publish,
                            released: record.stage == Stage::Released,
                        },
                    ));
                }
                _ => {
                    let mut publish = record.publish;
                    publish.packet_id = None;
                    publish.dup = false;
                    session.outgoing.queue.push_back(Queued {
                        id: record.id,
                        publish,
                        accepted: Instant::ZERO,
                    });
                }
            }
        }
        for packet_id in incoming {
            session
                .incoming
                .qos2
                .insert(packet_id, Qos2::Received(None));
        }
        session.resumable = !session.outgoing.inflight.is_empty()
            || !session.outgoing.queue.is_empty()
            || !session.incoming.qos2.is_empty();
        session
    }

    // ---- getters ------------------------------------------------------------------------

    /// The configuration.
    ///
    /// ```
    /// use mqtt_session::{Config, Session, Version};
    ///
    /// let session = Session::new(Config::new("sensor-17", Version::V5));
    /// assert_eq!(session.config().client_id, "sensor-17");
    /// ```
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The protocol version.
    ///
    /// ```
    /// use mqtt_session::{Config, Session, Version};
    ///
    /// let session = Session::new(Config::new("sensor-17", Version::V311));
    /// assert!(!session.version().is_v5());
    /// ```
    pub fn version(&self) -> Version {
        self.config.version
    }

    /// Where the connection stands.
    ///
    /// ```
    /// use mqtt_session::{Config, ConnectionState, Instant, Session, Version};
    ///
    /// let mut session = Session::new(Config::new("sensor-17", Version::V5));
    /// assert_eq!(session.state(), ConnectionState::Disconnected);
    /// session.handle_transport_opened(Instant::ZERO)?;
    /// assert_eq!(session.state(), ConnectionState::Connecting); // CONNECT queued
    /// let _connect = session.poll_transmit();
    /// session.handle_bytes(Instant::from_millis(20), &[0x20, 0x03, 0, 0, 0]); // CONNACK (§3.2)
    /// assert_eq!(session.state(), ConnectionState::Connected);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn state(&self) -> ConnectionState {
        self.state
    }

    /// `true` once the server has accepted the current connection.
    ///
    /// ```
    /// use mqtt_session::{Config, Instant, Session, Version};
    ///
    /// let mut session = Session::new(Config::new("sensor-17", Version::V5));
    /// session.handle_transport_opened(Instant::ZERO)?;
    /// assert!(!session.is_connected()); // not before CONNACK
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_connected(&self) -> bool {
        self.state == ConnectionState::Connected
    }

    /// What the server allows on the current (or last) connection.
    ///
    /// ```
    /// use mqtt_session::{Config, Instant, Session, Version};
    ///
    /// let mut session = Session::new(Config::new("sensor-17", Version::V5));
    /// session.handle_transport_opened(Instant::ZERO)?;
    /// let _connect = session.poll_transmit();
    /// // CONNACK with Receive Maximum 10 and Retain Available 0 (MQTT 5.0 §3.2.2.3).
    /// let connack = [0x20, 0x08, 0x00, 0x00, 0x05, 0x21, 0x00, 0x0a, 0x25, 0x00];
    /// session.handle_bytes(Instant::from_millis(20), &connack);
    /// assert_eq!(session.server().receive_maximum, 10); // QoS 1 and 2 publishes in flight
    /// assert!(!session.server().retain_available); // a retained publish is refused at once
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn server(&self) -> &ServerLimits {
        &self.server
    }

    /// The subscriptions the server has confirmed, by topic filter.
    ///
    /// ```
    /// use mqtt_session::proto::{QoS, SubscribeProperties, Subscription, TopicFilter};
    /// use mqtt_session::{Config, Instant, Session, Version};
    ///
    /// # let mut session = Session::new(Config::new("doc", Version::V5));
    /// # session.handle_transport_opened(Instant::ZERO)?;
    /// # let _connect = session.poll_transmit();
    /// # session.handle_bytes(Instant::ZERO, &[0x20, 0x03, 0, 0, 0]); // CONNACK (MQTT 5.0 §3.2)
    /// # let _connected = session.poll_event();
    /// let filter = TopicFilter::new("sensors/+/temp")?;
    /// let subscription = Subscription::new(filter.clone(), QoS::AtLeastOnce);
    /// session.subscribe(Instant::ZERO, vec![subscription], SubscribeProperties::default())?;
    /// assert!(session.subscriptions().is_empty()); // until the server confirms it
    /// let _subscribe = session.poll_transmit();
    /// let suback = [0x90, 0x04, 0x00, 0x01, 0x00, 0x01]; // packet id 1, QoS 1 granted (§3.9)
    /// session.handle_bytes(Instant::from_millis(20), &suback);
    /// assert_eq!(session.subscriptions()[&filter].options.qos, QoS::AtLeastOnce);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subscriptions(&self) -> &BTreeMap<TopicFilter, ActiveSubscription> {
        &self.subscriptions
    }

    /// QoS 1 and 2 publishes sent and not yet complete.
    ///
    /// ```
    /// use mqtt_session::proto::{Publish, QoS};
    /// use mqtt_session::{Config, Instant, Session, Version};
    ///
    /// # let mut session = Session::new(Config::new("doc", Version::V5));
    /// # session.handle_transport_opened(Instant::ZERO)?;
    /// # let _connect = session.poll_transmit();
    /// # session.handle_bytes(Instant::ZERO, &[0x20, 0x03, 0, 0, 0]); // CONNACK (MQTT 5.0 §3.2)
    /// # let _connected = session.poll_event();
    /// session.publish(Instant::ZERO, Publish::builder("a/b").qos(QoS::AtLeastOnce).build()?)?;
    /// assert_eq!(session.publishes_in_flight(), 1); // sent, not acknowledged
    /// let _publish = session.poll_transmit();
    /// let puback = [0x40, 0x02, 0x00, 0x01]; // packet id 1 (MQTT 5.0 §3.4)
    /// session.handle_bytes(Instant::from_millis(20), &puback);
    /// assert_eq!(session.publishes_in_flight(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn publishes_in_flight(&self) -> usize {
        self.outgoing.publishes_in_flight()
    }

    /// Whether the server sent any packet after the CONNACK of the current (or last)
    /// connection: the connection worked, beyond being accepted.
    ///
    /// ```
    /// use mqtt_session::{Config, Instant, Session, Version};
    ///
    /// # let mut session = Session::new(Config::new("doc", Version::V5));
    /// # session.handle_transport_opened(Instant::ZERO)?;
    /// # let _connect = session.poll_transmit();
    /// # session.handle_bytes(Instant::ZERO, &[0x20, 0x03, 0, 0, 0]); // CONNACK (MQTT 5.0 §3.2)
    /// # let _connected = session.poll_event();
    /// assert!(!session.exchanged()); // accepted, nothing more yet
    /// session.handle_bytes(Instant::from_millis(20), &[0xd0, 0x00]); // PINGRESP (§3.13)
    /// assert!(session.exchanged());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn exchanged(&self) -> bool {
        self.exchanged
    }

    /// Publishes accepted and waiting to be sent.
    ///
    /// ```
    /// use mqtt_session::proto::{Publish, QoS};
    /// use mqtt_session::{Config, Instant, Session, Version};
    ///
    /// let mut session = Session::new(Config::new("sensor-17", Version::V5));
    /// for reading in ["20.5", "20.7"] {
    ///     let publish = Publish::builder("sensors/17/temp").payload(reading);
    ///     session.publish(Instant::ZERO, publish.qos(QoS::AtLeastOnce).build()?)?;
    /// }
    /// assert_eq!(session.publishes_queued(), 2); // no connection yet: sent, in order, on the next
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn publishes_queued(&self) -> usize {
        self.outgoing.queue.len()
    }

    /// Whether the caller should read more bytes from the transport: `false` while the
    /// application has [`Config::max_pending_events`] events or more to take, so that a slow
    /// consumer makes the transport push back instead of memory growing.
    ///
    /// ```
    /// use mqtt_session::{Config, Instant, Session, Version};
    ///
    /// let mut config = Config::new("sensor-17", Version::V5);
    /// config.max_pending_events = 1;
    /// let mut session = Session::new(config);
    /// session.handle_transport_opened(Instant::ZERO)?;
    /// let _connect = session.poll_transmit();
    /// session.handle_bytes(Instant::from_millis(20), &[0x20, 0x03, 0, 0, 0]); // CONNACK
    /// assert!(!session.wants_read()); // one event waits: stop reading the socket
    /// let _connected = session.poll_event();
    /// assert!(session.wants_read());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wants_read(&self) -> bool {
        self.events.len() < self.config.max_pending_events
    }

    /// Whether [`poll_transmit`](Self::poll_transmit) has bytes to give.
    ///
    /// ```
    /// use mqtt_session::{Config, Instant, Session, Version};
    ///
    /// let mut session = Session::new(Config::new("sensor-17", Version::V5));
    /// session.handle_transport_opened(Instant::ZERO)?;
    /// assert!(session.has_transmit()); // CONNECT: wait for the socket to be writable
    /// let _connect = session.poll_transmit();
    /// assert!(!session.has_transmit());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn has_transmit(&self) -> bool {
        !self.transmit.is_empty()
    }

    /// The store.
    ///
    /// ```
    /// use mqtt_session::proto::{Publish, QoS};
    /// use mqtt_session::{Config, Instant, Session, Store, Version};
    ///
    /// let mut session = Session::new(Config::new("sensor-17", Version::V5));
    /// session.publish(Instant::ZERO, Publish::builder("a/b").qos(QoS::AtLeastOnce).build()?)?;
    /// assert_eq!(session.store().load().outgoing.len(), 1); // recorded until acknowledged
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, mutably.
    ///
    /// ```
    /// use mqtt_session::proto::{Publish, QoS};
    /// use mqtt_session::{Config, Instant, Session, Store, Version};
    ///
    /// # let mut session = Session::new(Config::new("doc", Version::V5));
    /// # session.handle_transport_opened(Instant::ZERO)?;
    /// # let _connect = session.poll_transmit();
    /// # session.handle_bytes(Instant::ZERO, &[0x20, 0x03, 0, 0, 0]); // CONNACK (MQTT 5.0 §3.2)
    /// # let _connected = session.poll_event();
    /// session.publish(Instant::ZERO, Publish::builder("a/b").qos(QoS::AtLeastOnce).build()?)?;
    /// // Before writing what the session produced: make its state durable (a batched store).
    /// session.store_mut().flush()?;
    /// let _publish = session.poll_transmit();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Replaces the Will Message sent in the next CONNECT.
    ///
    /// ```
    /// use mqtt_session::proto::{TopicName, Will};
    /// use mqtt_session::{Config, Session, Version};
    ///
    /// let mut session = Session::new(Config::new("sensor-17", Version::V5));
    /// let mut will = Will::new(TopicName::new("status/sensor-17")?, "offline");
    /// will.properties.will_delay_interval = Some(30); // MQTT 5.0 §3.1.3.2.2
    /// session.set_will(Some(will));
    /// assert!(session.config().will.is_some());
    /// session.set_will(None); // the next CONNECT has none
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_will(&mut self, will: Option<mqtt_proto::Will>) {
        self.config.will = will;
    }

    /// Replaces the user name and password sent in the next CONNECT, for example to refresh a
    /// token before reconnecting.
    ///
    /// ```
    /// use mqtt_session::{Config, Session, Version};
    ///
    /// # fn fresh_token() -> bytes::Bytes { bytes::Bytes::from_static(b"token") }
    /// let mut session = Session::new(Config::new("sensor-17", Version::V5));
    /// // Before opening the next transport: a token that has not expired.
    /// session.set_credentials(Some("sensor-17".into()), Some(fresh_token()));
    /// assert_eq!(session.config().username.as_deref(), Some("sensor-17"));
    /// ```
    pub fn set_credentials(
        &mut self,
        username: Option<mqtt_proto::ByteString>,
        password: Option<Bytes>,
    ) {
        self.config.username = username;
        self.config.password = password;
    }

    /// Turns [`Event::Received`] on or off ([`Config::packet_events`]).
    ///
    /// ```
    /// use mqtt_session::{Command, Config, Event, Instant, Session, Version};
    ///
    /// let mut session = Session::new(Config::new("sensor-17", Version::V5));
    /// session.set_packet_events(true);
    /// session.handle_transport_opened(Instant::ZERO)?;
    /// let _connect = session.poll_transmit();
    /// session.handle_bytes(Instant::from_millis(20), &[0x20, 0x03, 0, 0, 0]); // CONNACK
    /// let _connected = session.poll_event();
    /// session.handle_bytes(Instant::from_millis(30), &[0xd0, 0x00]); // PINGRESP
    /// let event = session.poll_event();
    /// assert!(matches!(event, Some(Event::Received(r)) if r.command == Command::PingResp));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_packet_events(&mut self, on: bool) {
        self.config.packet_events = on;
    }

    /// Replaces the Keep Alive sent in the next CONNECT ([`Config::keep_alive`]), for APIs that
    /// take it when connecting. The current connection keeps the interval it negotiated.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mqtt_session::{Config, Instant, Session, Version};
    ///
    /// let mut session = Session::new(Config::new("sensor-17", Version::V311));
    /// session.set_keep_alive(Duration::from_secs(30)); // the seed's connect(host, keepalive, ...)
    /// session.handle_transport_opened(Instant::ZERO)?;
    /// let _connect = session.poll_transmit();
    /// session.handle_bytes(Instant::ZERO, &[0x20, 0x02, 0x00, 0x00]); // CONNACK (3.1.1 §3.2)
    /// assert_eq!(session.poll_timeout(), Some(Instant::from_millis(30_000))); // PINGREQ then
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_keep_alive(&mut self, keep_alive: Duration) {
        self.config.keep_alive = keep_alive;
    }

    /// Replaces how long the next connection waits for CONNACK ([`Config::connect_timeout`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use mqtt_session::{Config, Instant, Session, Version};
    ///
    /// let mut session = Session::new(Config::new("sensor-17", Version::V5));
    /// session.set_connect_timeout(Duration::from_secs(5));
    /// session.handle_transport_opened(Instant::ZERO)?;
    /// assert_eq!(session.poll_timeout(), Some(Instant::from_millis(5_000))); // CONNACK due
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_connect_timeout(&mut self, timeout: Duration) {
        self.config.connect_timeout = timeout;
    }

    // ---- outputs ------------------------------------------------------------------------

    /// The next bytes to write to the transport, in order. Packets that became ready together
    /// come as one chunk; a large payload comes as its own chunk, right after its header, so
    /// it can be written with vectored I/O without a copy.
    ///
    /// ```
    /// use mqtt_session::proto::Publish;
    /// use mqtt_session::{Config, Instant, Session, Version};
    ///
    /// # let mut session = Session::new(Config::new("doc", Version::V5));
    /// # session.handle_transport_opened(Instant::ZERO)?;
    /// # let _connect = session.poll_transmit();
    /// # session.handle_bytes(Instant::ZERO, &[0x20, 0x03, 0, 0, 0]); // CONNACK (MQTT 5.0 §3.2)
    /// # let _connected = session.poll_event();
    /// session.publish(Instant::ZERO, Publish::builder("a/b").payload("hello").build()?)?;
    /// // Write every chunk, in order (a vectored write can take several).
    /// let mut wire = Vec::new();
    /// while let Some(chunk) = session.poll_transmit() {
    ///     wire.extend_from_slice(&chunk); // socket.write_all(&chunk)?
    /// }
    /// assert_eq!(wire[0], 0x30); // a QoS 0 PUBLISH (MQTT 5.0 §3.3.1)
    /// assert!(wire.ends_with(b"hello"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.transmit.poll()
    }

    /// The next event.
    ///
    /// ```
    /// use mqtt_session::{Config, Event, Instant, Session, Version};
    ///
    /// let mut session = Session::new(Config::new("sensor-17", Version::V311));
    /// session.handle_transport_opened(Instant::ZERO)?;
    /// let _connect = session.poll_transmit();
    /// // One read: CONNACK, then a QoS 0 PUBLISH of "hi" on "a/b" (MQTT 3.1.1 §3.2, §3.3).
    /// let read = [0x20, 0x02, 0x00, 0x00, 0x30, 0x07, 0x00, 0x03, b'a', b'/', b'b', b'h', b'i'];
    /// session.handle_bytes(Instant::from_millis(20), &read);
    /// let mut topics = Vec::new();
    /// while let Some(event) = session.poll_event() {
    ///     match event {
    ///         Event::Connected(c) => println!("connected; resumed: {}", c.session_present),
    ///         Event::Message(m) => topics.push(m.publish.topic),
    ///         Event::Disconnected(reason) => println!("closed: {reason}"),
    ///         _ => {}
    ///     }
    /// }
    /// assert_eq!(topics, ["a/b"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next, if ever.
    ///
    /// ```
    /// use mqtt_session::{Config, DisconnectReason, Event, Instant, Session, Version};
    ///
    /// let mut session = Session::new(Config::new("sensor-17", Version::V5));
    /// assert_eq!(session.poll_timeout(), None); // no transport: nothing to wait for
    /// session.handle_transport_opened(Instant::ZERO)?;
    /// let connack_due = Instant::ZERO + session.config().connect_timeout;
    /// assert_eq!(session.poll_timeout(), Some(connack_due));
    /// // An adapter sleeps until then (or until bytes or a command come), then calls
    /// // handle_timeout; without a CONNACK by then, the connection is given up.
    /// session.handle_timeout(connack_due);
    /// let given_up = Event::Disconnected(DisconnectReason::ConnectTimeout);
    /// assert_eq!(session.poll_event(), Some(given_up));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    // ---- inputs -------------------------------------------------------------------------

    /// The transport to the server is open: sends CONNECT.
    ///
    /// ```
    /// use mqtt_session::{Config, Instant, Session, UsageError, Version};
    ///
    /// let mut session = Session::new(Config::new("sensor-17", Version::V311));
    /// session.handle_transport_opened(Instant::ZERO)?; // the TCP connection is up
    /// let connect = session.poll_transmit().expect("CONNECT");
    /// assert_eq!(connect[0], 0x10); // CONNECT (MQTT 3.1.1 §3.1.1)
    /// // A second transport while this one lives is a mistake, reported at once.
    /// let again = session.handle_transport_opened(Instant::ZERO);
    /// assert_eq!(again, Err(UsageError::AlreadyConnected));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`UsageError::AlreadyConnected`] unless the session is disconnected, and
    /// [`UsageError::Encode`] when the configuration does not make a valid CONNECT.
    pub fn handle_transport_opened(&mut self, now: Instant) -> Result<(), UsageError> {
        if self.state != ConnectionState::Disconnected {
            return Err(UsageError::AlreadyConnected);
        }
        let connect = self.connect_packet();
        self.transmit.clear();
        self.read_buf.clear();
        self.transmit.packet(self.config.version, &connect.into())?;
        self.state = ConnectionState::Connecting;
        self.ping_outstanding = false;
        self.auth_challenge = false;
        self.last_sent = now;
        self.last_received = now;
        self.exchanged = false;
        self.timers.stop_all();
        self.timers
            .set(Timer::ConnAck, now + self.config.connect_timeout);
        Ok(())
    }

    fn connect_packet(&mut self) -> Connect {
        let config = &self.config;
        let client_id = self
            .server
            .assigned_client_identifier
            .clone()
            .unwrap_or_else(|| config.client_id.clone());
        let mut clean_start = if self.resumable {
            config.clean_start_on_reconnect
        } else {
            config.clean_start
        };
        if client_id.is_empty() && !config.version.is_v5() {
            clean_start = true; // MQTT-3.1.3-7
        }
        self.clean_start_sent = clean_start;
        self.client_id_requested = client_id.is_empty();
        Connect {
            clean_start,
            keep_alive: config.keep_alive_secs(),
            client_id,
            will: config.will.clone(),
            username: config.username.clone(),
            password: config.password.clone(),
            properties: config.connect_properties.clone(),
        }
    }

    /// Bytes arrived from the transport; they are copied into the session's read buffer.
    ///
    /// ```
    /// use mqtt_session::{Config, Event, Instant, Session, Version};
    ///
    /// let mut session = Session::new(Config::new("sensor-17", Version::V311));
    /// session.handle_transport_opened(Instant::ZERO)?;
    /// let _connect = session.poll_transmit();
    /// // The broker's CONNACK (MQTT 3.1.1 §3.2), in two reads: half a packet waits for the rest.
    /// session.handle_bytes(Instant::from_millis(20), &[0x20, 0x02]);
    /// assert!(session.poll_event().is_none());
    /// session.handle_bytes(Instant::from_millis(21), &[0x00, 0x00]);
    /// assert!(matches!(session.poll_event(), Some(Event::Connected(_))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handle_bytes(&mut self, now: Instant, bytes: &[u8]) {
        if self.state == ConnectionState::Disconnected {
            return;
        }
        self.read_buf.extend_from_slice(bytes);
        self.handle_read(now);
    }

    /// The buffer inbound bytes accumulate in, for callers that read straight into it; call
    /// [`handle_read`](Self::handle_read) after appending to it.
    ///
    /// ```
    /// use mqtt_session::{Config, Instant, Session, Version};
    ///
    /// let mut session = Session::new(Config::new("sensor-17", Version::V311));
    /// session.handle_transport_opened(Instant::ZERO)?;
    /// let _connect = session.poll_transmit();
    /// // Read into it in place: with tokio, `socket.read_buf(session.read_buffer()).await?`.
    /// session.read_buffer().extend_from_slice(&[0x20, 0x02, 0x00, 0x00]); // CONNACK
    /// session.handle_read(Instant::from_millis(20));
    /// assert!(session.is_connected());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read_buffer(&mut self) -> &mut BytesMut {
        &mut self.read_buf
    }

    /// Processes the bytes appended to [`read_buffer`](Self::read_buffer): every whole packet
    /// in it is handled, in order.
    ///
    /// ```
    /// use mqtt_session::{Config, Instant, Session, Version};
    ///
    /// let mut session = Session::new(Config::new("sensor-17", Version::V311));
    /// session.handle_transport_opened(Instant::ZERO)?;
    /// let _connect = session.poll_transmit();
    /// // A read that took CONNACK, a PINGRESP and the first byte of another packet.
    /// session.read_buffer().extend_from_slice(&[0x20, 0x02, 0x00, 0x00, 0xd0, 0x00, 0x30]);
    /// session.handle_read(Instant::from_millis(20));
    /// assert!(session.is_connected() && session.exchanged());
    /// assert_eq!(&session.read_buffer()[..], [0x30]); // the rest comes with the next read
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handle_read(&mut self, now: Instant) {
        while self.state != ConnectionState::Disconnected {
            match self.decoder.decode(&mut self.read_buf) {
                Ok(Some(packet)) => self.handle_packet(now, packet),
                Ok(None) => return,
                Err(error) => {
                    let reason_code = error.reason_code();
                    self.protocol_error(ProtocolError::Decode(error), reason_code);
                }
            }
        }
        self.read_buf.clear();
    }

    /// Time passed: sends PINGREQ when keep alive is due and gives up a connection whose
    /// CONNACK or PINGRESP is late. Safe to call early or more than once.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mqtt_session::{Config, Instant, Session, Version};
    ///
    /// let mut config = Config::new("sensor-17", Version::V311);
    /// config.keep_alive = Duration::from_secs(30);
    /// let mut session = Session::new(config);
    /// session.handle_transport_opened(Instant::ZERO)?;
    /// let _connect = session.poll_transmit();
    /// session.handle_bytes(Instant::ZERO, &[0x20, 0x02, 0x00, 0x00]); // CONNACK
    /// let deadline = session.poll_timeout().expect("keep alive");
    /// session.handle_timeout(Instant::from_millis(10_000)); // early: nothing to do
    /// assert!(session.poll_transmit().is_none());
    /// session.handle_timeout(deadline);
    /// assert_eq!(session.poll_transmit().as_deref(), Some(&[0xc0, 0x00][..])); // PINGREQ (§3.12)
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.timers.expired(Timer::ConnAck, now) {
            self.close(DisconnectReason::ConnectTimeout);
            return;
        }
        if self.timers.expired(Timer::PingResp, now) {
            self.close(DisconnectReason::KeepAliveTimeout);
            return;
        }
        if self.timers.expired(Timer::KeepAlive, now) && self.state == ConnectionState::Connected {
            self.timers.stop(Timer::KeepAlive);
            if !self.ping_outstanding {
                // Outstanding first, so that sending does not arm keep alive again.
                self.ping_outstanding = true;
                self.send(now, &Packet::PingReq);
                let timeout = self.config.ping_timeout.unwrap_or(self.server.keep_alive);
                self.timers.set(Timer::PingResp, now + timeout);
            }
        }
    }

    /// The transport closed or failed. Reports [`Event::Disconnected`] unless the session had
    /// already ended the connection itself.
    ///
    /// ```
    /// use mqtt_session::{Config, DisconnectReason, Event, Instant, Session, Version};
    ///
    /// # let mut session = Session::new(Config::new("doc", Version::V5));
    /// # session.handle_transport_opened(Instant::ZERO)?;
    /// # let _connect = session.poll_transmit();
    /// # session.handle_bytes(Instant::ZERO, &[0x20, 0x03, 0, 0, 0]); // CONNACK (MQTT 5.0 §3.2)
    /// # let _connected = session.poll_event();
    /// session.handle_transport_closed(Instant::from_millis(500)); // the read returned 0, say
    /// let closed = Event::Disconnected(DisconnectReason::TransportClosed);
    /// assert_eq!(session.poll_event(), Some(closed));
    /// session.handle_transport_opened(Instant::from_millis(1_000))?; // the next transport
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handle_transport_closed(&mut self, _now: Instant) {
        match self.state {
            ConnectionState::Connecting => self.close(DisconnectReason::ClosedBeforeConnAck),
            ConnectionState::Connected => self.close(DisconnectReason::TransportClosed),
            ConnectionState::Disconnected => {}
        }
    }

    // ---- commands -----------------------------------------------------------------------

    /// Publishes a message; returns the handle its outcome is reported under.
    ///
    /// `publish.packet_id` and `publish.dup` are the session's to set, and Topic Aliases are the
    /// session's to choose ([`Config::outbound_topic_aliases`]). Subscription Identifiers are
    /// the server's: those of a received message published again are dropped (MQTT-3.3.4-6).
    /// The message goes out at once when connected and, for QoS 1 and 2, when the in-flight
    /// window has room; otherwise it waits in the queue. Its outcome is [`Event::Published`] (QoS 0: once handed to the
    /// transport) or [`Event::PublishFailed`].
    ///
    /// ```
    /// use mqtt_session::proto::{Publish, QoS};
    /// use mqtt_session::{Config, Event, Instant, Session, Version};
    ///
    /// # let mut session = Session::new(Config::new("doc", Version::V5));
    /// # session.handle_transport_opened(Instant::ZERO)?;
    /// # let _connect = session.poll_transmit();
    /// # session.handle_bytes(Instant::ZERO, &[0x20, 0x03, 0, 0, 0]); // CONNACK (MQTT 5.0 §3.2)
    /// # let _connected = session.poll_event();
    /// let publish = Publish::builder("sensors/7/temp").payload("21.5").qos(QoS::AtLeastOnce);
    /// let id = session.publish(Instant::ZERO, publish.build()?)?;
    /// let _publish = session.poll_transmit(); // PUBLISH, packet identifier 1
    /// session.handle_bytes(Instant::from_millis(20), &[0x40, 0x02, 0x00, 0x01]); // PUBACK (§3.4)
    /// match session.poll_event() {
    ///     Some(Event::Published(done)) => assert_eq!(done.id, id),
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`UsageError::QueueFull`] when it would have to wait and the queue is full; the
    /// server's limits when they are known ([`UsageError::QoSNotSupported`],
    /// [`UsageError::RetainNotSupported`], [`UsageError::PacketTooLarge`]); and
    /// [`UsageError::Encode`] for a packet that can't be encoded.
    pub fn publish(&mut self, now: Instant, mut publish: Publish) -> Result<PublishId, UsageError> {
        publish.packet_id = None;
        publish.dup = false;
        if publish.has_properties() {
            publish.properties_mut().subscription_identifiers.clear();
        }
        if publish.topic_alias().is_some() {
            return Err(UsageError::TopicAliasNotAllowed);
        }
        self.check_publish(&mut publish)?;
        let must_wait = self.state != ConnectionState::Connected
            || !self.outgoing.queue.is_empty()
            || self.outgoing.waiting() > 0
            || (needs_window(&publish) && self.window_full());
        if must_wait && self.outgoing.queue.len() >= self.config.max_queued {
            return Err(UsageError::QueueFull);
        }
        let id = PublishId(self.next_publish_id);
        if needs_window(&publish) {
            self.store
                .save_outgoing(id, &publish, Stage::Queued)
                .map_err(UsageError::Store)?;
        }
        self.next_publish_id += 1;
        if must_wait {
            self.outgoing.queue.push_back(Queued {
                id,
                publish,
                accepted: now,
            });
        } else {
            self.send_publish(now, id, publish);
        }
        Ok(id)
    }

    /// Subscribes to topic filters; the outcome is [`Event::Subscribed`]. Sent at once when
    /// connected, otherwise when the next connection is accepted.
    ///
    /// ```
    /// use mqtt_session::proto::{QoS, ReasonCode, SubscribeProperties, Subscription, TopicFilter};
    /// use mqtt_session::{Config, Event, Instant, Session, Version};
    ///
    /// # let mut session = Session::new(Config::new("doc", Version::V5));
    /// # session.handle_transport_opened(Instant::ZERO)?;
    /// # let _connect = session.poll_transmit();
    /// # session.handle_bytes(Instant::ZERO, &[0x20, 0x03, 0, 0, 0]); // CONNACK (MQTT 5.0 §3.2)
    /// # let _connected = session.poll_event();
    /// let alarms = Subscription::new(TopicFilter::new("alarms/#")?, QoS::AtLeastOnce);
    /// let id = session.subscribe(Instant::ZERO, vec![alarms], SubscribeProperties::default())?;
    /// let _subscribe = session.poll_transmit();
    /// // SUBACK: packet identifier 1, no properties, QoS 1 granted (MQTT 5.0 §3.9).
    /// session.handle_bytes(Instant::from_millis(20), &[0x90, 0x04, 0x00, 0x01, 0x00, 0x01]);
    /// match session.poll_event() {
    ///     Some(Event::Subscribed(s)) => {
    ///         assert_eq!((s.id, s.reason_codes), (id, vec![ReasonCode::GRANTED_QOS_1]));
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`UsageError::Encode`] for an empty list or options MQTT 3.1 and 3.1.1 can't carry, the
    /// server's limits when known, and [`UsageError::PacketIdsExhausted`].
    pub fn subscribe(
        &mut self,
        now: Instant,
        subscriptions: Vec<Subscription>,
        properties: SubscribeProperties,
    ) -> Result<RequestId, UsageError> {
        let server = &self.server;
        for s in &subscriptions {
            if !server.wildcard_subscription_available && s.filter.has_wildcards() {
                return Err(UsageError::WildcardSubscriptionsNotSupported);
            }
            if !server.shared_subscription_available && s.filter.is_shared() {
                return Err(UsageError::SharedSubscriptionsNotSupported);
            }
        }
        if !server.subscription_identifiers_available
            && properties.subscription_identifier.is_some()
        {
            return Err(UsageError::SubscriptionIdentifiersNotSupported);
        }
        let mut packet = Subscribe {
            packet_id: PacketId::MIN,
            subscriptions,
            properties,
        };
        self.check_size(&Packet::Subscribe(packet.clone()))?;
        let packet_id = self
            .outgoing
            .ids
            .allocate()
            .ok_or(UsageError::PacketIdsExhausted)?;
        packet.packet_id = packet_id;
        let id = self.request_id();
        self.start_request(now, packet_id, InflightKind::Subscribe { id, packet });
        Ok(id)
    }

    /// Unsubscribes from topic filters; the outcome is [`Event::Unsubscribed`]. Sent at once
    /// when connected, otherwise when the next connection is accepted.
    ///
    /// ```
    /// use mqtt_session::proto::{ReasonCode, TopicFilter, UnsubscribeProperties};
    /// use mqtt_session::{Config, Event, Instant, Session, Version};
    ///
    /// # let mut session = Session::new(Config::new("doc", Version::V5));
    /// # session.handle_transport_opened(Instant::ZERO)?;
    /// # let _connect = session.poll_transmit();
    /// # session.handle_bytes(Instant::ZERO, &[0x20, 0x03, 0, 0, 0]); // CONNACK (MQTT 5.0 §3.2)
    /// # let _connected = session.poll_event();
    /// let filters = vec![TopicFilter::new("alarms/#")?];
    /// let id = session.unsubscribe(Instant::ZERO, filters, UnsubscribeProperties::default())?;
    /// let _unsubscribe = session.poll_transmit();
    /// // UNSUBACK: packet identifier 1, no properties, 0x11 No subscription existed (§3.11).
    /// session.handle_bytes(Instant::from_millis(20), &[0xb0, 0x04, 0x00, 0x01, 0x00, 0x11]);
    /// match session.poll_event() {
    ///     Some(Event::Unsubscribed(u)) => {
    ///         assert_eq!((u.id, u.reason_codes), (id, vec![ReasonCode::NO_SUBSCRIPTION_EXISTED]));
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`UsageError::Encode`] for an empty list, and [`UsageError::PacketIdsExhausted`].
    pub fn unsubscribe(
        &mut self,
        now: Instant,
        filters: Vec<TopicFilter>,
        properties: UnsubscribeProperties,
    ) -> Result<RequestId, UsageError> {
        let mut packet = Unsubscribe {
            packet_id: PacketId::MIN,
            filters,
            properties,
        };
        self.check_size(&Packet::Unsubscribe(packet.clone()))?;
        let packet_id = self
            .outgoing
            .ids
            .allocate()
            .ok_or(UsageError::PacketIdsExhausted)?;
        packet.packet_id = packet_id;
        let id = self.request_id();
        self.start_request(now, packet_id, InflightKind::Unsubscribe { id, packet });
        Ok(id)
    }

    /// Acknowledges an inbound message in [`AckMode::Manual`]. `reason_code` is sent in MQTT
    /// 5.0's PUBACK or PUBREC (0x80 and up refuse the message); MQTT 3.1 and 3.1.1 ignore it.
    /// A code PUBACK and PUBREC do not define goes out as 0x80 Unspecified error from 0x80 up,
    /// as 0x00 Success below (MQTT-3.4.2-1, MQTT-3.5.2-1).
    ///
    /// Acknowledgements go to the server in the order the messages arrived: this one waits
    /// until those before it are acknowledged too.
    ///
    /// ```
    /// use mqtt_session::proto::{Packet, PacketId, Publish, QoS, ReasonCode, TopicName};
    /// use mqtt_session::{AckMode, Config, Event, Instant, Session, Version};
    ///
    /// let mut config = Config::new("worker", Version::V5);
    /// config.ack_mode = AckMode::Manual;
    /// let mut session = Session::new(config);
    /// # session.handle_transport_opened(Instant::ZERO)?;
    /// # let _connect = session.poll_transmit();
    /// # session.handle_bytes(Instant::ZERO, &[0x20, 0x03, 0, 0, 0]); // CONNACK (MQTT 5.0 §3.2)
    /// # let _connected = session.poll_event();
    /// // A QoS 1 message from the broker, packet identifier 7.
    /// let mut job = Publish::new(TopicName::new("jobs/1")?, "resize image 17");
    /// (job.qos, job.packet_id) = (QoS::AtLeastOnce, PacketId::new(7));
    /// let mut wire = Vec::new();
    /// Packet::from(job).encode(Version::V5, &mut wire)?;
    /// session.handle_bytes(Instant::from_millis(20), &wire);
    /// let Some(Event::Message(message)) = session.poll_event() else { panic!("a message") };
    /// assert!(session.poll_transmit().is_none()); // not acknowledged yet
    /// // ... do the work, store the result ...
    /// let token = message.ack.expect("QoS 1 in manual mode");
    /// session.ack(Instant::from_millis(900), token, ReasonCode::SUCCESS)?;
    /// let puback = [0x40, 0x02, 0x00, 0x07]; // packet id 7 (MQTT 5.0 §3.4)
    /// assert_eq!(session.poll_transmit().as_deref(), Some(&puback[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`UsageError::UnknownAckToken`] when the message no longer awaits acknowledgement, as
    /// after the server lost the session.
    pub fn ack(
        &mut self,
        now: Instant,
        token: AckToken,
        reason_code: ReasonCode,
    ) -> Result<(), UsageError> {
        if token.epoch != self.epoch {
            return Err(UsageError::UnknownAckToken);
        }
        let reason_code = if self.config.version.is_v5() {
            puback_reason_code(reason_code)
        } else {
            ReasonCode::SUCCESS
        };
        if token.qos == QoS::ExactlyOnce
            && self.incoming.qos2.get(&token.packet_id) == Some(&Qos2::AwaitingRelAck)
        {
            self.incoming.qos2.remove(&token.packet_id);
            self.store.remove_incoming(token.packet_id);
            self.send_if_connected(now, &PubComp::new(token.packet_id).into());
            return Ok(());
        }
        if !self
            .incoming
            .acknowledge(token.packet_id, token.qos, reason_code)
        {
            return Err(UsageError::UnknownAckToken);
        }
        self.flush_owed(now);
        Ok(())
    }

    /// Sends an AUTH packet (MQTT 5.0 enhanced authentication): the answer to an
    /// [`Event::Auth`] with reason code 0x18 (MQTT-4.12.0-3), or, once connected, a
    /// re-authentication with reason code 0x19.
    ///
    /// The Authentication Method is the configuration's, filled in when left out
    /// (MQTT-4.12.0-5, MQTT-4.12.1-1). The Reason String, the User Properties or both are left
    /// out when the server's Maximum Packet Size can't take them (MQTT-3.15.2-2,
    /// MQTT-3.15.2-3).
    ///
    /// ```
    /// use mqtt_session::proto::{Auth, AuthProperties, Packet, ReasonCode};
    /// use mqtt_session::{Config, Event, Instant, Session, Version};
    ///
    /// let mut config = Config::new("sensor-17", Version::V5);
    /// config.connect_properties.authentication_method = Some("SCRAM-SHA-256".into());
    /// config.connect_properties.authentication_data = Some("client-first".into());
    /// let mut session = Session::new(config);
    /// session.handle_transport_opened(Instant::ZERO)?;
    /// let _connect = session.poll_transmit();
    /// // The broker's challenge: AUTH 0x18 Continue authentication (MQTT 5.0 §3.15, §4.12).
    /// let challenge = Auth {
    ///     reason_code: ReasonCode::CONTINUE_AUTHENTICATION,
    ///     properties: AuthProperties {
    ///         authentication_method: Some("SCRAM-SHA-256".into()),
    ///         authentication_data: Some("server-first".into()),
    ///         ..Default::default()
    ///     },
    /// };
    /// let mut wire = Vec::new();
    /// Packet::from(challenge).encode(Version::V5, &mut wire)?;
    /// session.handle_bytes(Instant::from_millis(20), &wire);
    /// assert!(matches!(session.poll_event(), Some(Event::Auth(_))));
    /// // The answer; the Authentication Method is filled in.
    /// let mut answer = Auth::default();
    /// answer.reason_code = ReasonCode::CONTINUE_AUTHENTICATION;
    /// answer.properties.authentication_data = Some("client-final".into());
    /// session.auth(Instant::from_millis(25), answer)?;
    /// assert!(session.poll_transmit().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`UsageError::NoAuthenticationMethod`] before MQTT 5.0 or without an Authentication
    /// Method in the configuration, [`UsageError::NotConnected`] without a connection or
    /// before CONNACK with no AUTH to answer, [`UsageError::Encode`] for another reason code
    /// or another Authentication Method.
    pub fn auth(&mut self, now: Instant, mut auth: Auth) -> Result<(), UsageError> {
        let method = match &self.config.connect_properties.authentication_method {
            Some(method) if self.config.version.is_v5() => method.clone(),
            _ => return Err(UsageError::NoAuthenticationMethod),
        };
        let expected = if self.auth_challenge {
            ReasonCode::CONTINUE_AUTHENTICATION
        } else if self.state == ConnectionState::Connected {
            ReasonCode::REAUTHENTICATE
        } else {
            return Err(UsageError::NotConnected);
        };
        if auth.reason_code != expected {
            let code = auth.reason_code;
            return Err(UsageError::Encode(EncodeError::InvalidReasonCode(code)));
        }
        let given = &mut auth.properties.authentication_method;
        if *given.get_or_insert_with(|| method.clone()) != method {
            let property = mqtt_proto::PropertyId::AuthenticationMethod;
            return Err(UsageError::Encode(EncodeError::InvalidPropertyValue(
                property,
            )));
        }
        let mut packet = Packet::from(auth);
        self.fit_to_server(&mut packet);
        self.check_size(&packet)?;
        self.transmit.packet(self.config.version, &packet)?;
        self.auth_challenge = false;
        self.sent(now);
        Ok(())
    }

    /// Ends the connection with DISCONNECT. Unfinished work stays in the session for the next
    /// connection. Reports [`Event::Disconnected`] with [`DisconnectReason::Requested`].
    ///
    /// The Reason String, the User Properties or both are left out when the server's Maximum
    /// Packet Size can't take them (MQTT-3.14.2-3, MQTT-3.14.2-4).
    ///
    /// ```
    /// use mqtt_session::proto::Disconnect;
    /// use mqtt_session::{Config, DisconnectReason, Event, Instant, Session, Version};
    ///
    /// # let mut session = Session::new(Config::new("doc", Version::V5));
    /// # session.handle_transport_opened(Instant::ZERO)?;
    /// # let _connect = session.poll_transmit();
    /// # session.handle_bytes(Instant::ZERO, &[0x20, 0x03, 0, 0, 0]); // CONNACK (MQTT 5.0 §3.2)
    /// # let _connected = session.poll_event();
    /// session.disconnect(Instant::from_millis(100), Disconnect::default())?;
    /// // Write the DISCONNECT (0x00 Normal disconnection, MQTT 5.0 §3.14), then close.
    /// assert_eq!(session.poll_transmit().as_deref(), Some(&[0xe0, 0x00][..]));
    /// assert_eq!(session.poll_event(), Some(Event::Disconnected(DisconnectReason::Requested)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`UsageError::NotConnected`] without a connection; [`UsageError::InvalidSessionExpiry`]
    /// for a non-zero Session Expiry Interval when CONNECT had zero (MQTT-3.14.2-2);
    /// [`UsageError::Encode`] for a DISCONNECT MQTT 3.1 and 3.1.1 can't carry, or a reason code
    /// DISCONNECT does not define (MQTT-3.14.2-1).
    pub fn disconnect(&mut self, now: Instant, disconnect: Disconnect) -> Result<(), UsageError> {
        if self.state == ConnectionState::Disconnected {
            return Err(UsageError::NotConnected);
        }
        self.check_disconnect(&disconnect)?;
        let mut packet = Packet::from(disconnect);
        self.fit_to_server(&mut packet);
        self.transmit.packet(self.config.version, &packet)?;
        self.sent(now);
        self.close(DisconnectReason::Requested);
        Ok(())
    }

    /// Checks a DISCONNECT as [`disconnect`](Self::disconnect) would, without sending it: for
    /// callers that accept a disconnect now and send it later.
    ///
    /// ```
    /// use mqtt_session::proto::Disconnect;
    /// use mqtt_session::{Config, Session, UsageError, Version};
    ///
    /// let session = Session::new(Config::new("sensor-17", Version::V5));
    /// // CONNECT asked for no Session Expiry Interval: DISCONNECT can't set one (MQTT-3.14.2-2).
    /// let mut goodbye = Disconnect::default();
    /// goodbye.properties.session_expiry_interval = Some(3600);
    /// assert_eq!(session.check_disconnect(&goodbye), Err(UsageError::InvalidSessionExpiry));
    /// assert!(session.check_disconnect(&Disconnect::default()).is_ok());
    /// ```
    ///
    /// # Errors
    ///
    /// As [`disconnect`](Self::disconnect), but for [`UsageError::NotConnected`].
    pub fn check_disconnect(&self, disconnect: &Disconnect) -> Result<(), UsageError> {
        let connect_expiry = self.config.connect_properties.session_expiry_interval;
        if matches!(connect_expiry, None | Some(0))
            && matches!(disconnect.properties.session_expiry_interval, Some(e) if e != 0)
        {
            return Err(UsageError::InvalidSessionExpiry);
        }
        if self.config.version.is_v5()
            && !disconnect
                .reason_code
                .is_defined_for(PacketType::Disconnect)
        {
            let code = disconnect.reason_code;
            return Err(UsageError::Encode(EncodeError::InvalidReasonCode(code)));
        }
        let version = self.config.version;
        let packet = Packet::from(disconnect.clone());
        match packet.encode(version, &mut &mut [0u8; 0][..]) {
            Ok(()) | Err(EncodeError::BufferTooSmall { .. }) => Ok(()),
            Err(e) => Err(UsageError::Encode(e)),
        }
    }

    // ---- inbound packets ----------------------------------------------------------------

    fn handle_packet(&mut self, now: Instant, packet: Packet) {
        self.timers.stop(Timer::PingResp);
        self.ping_outstanding = false;
        self.last_received = now;
        if self.state == ConnectionState::Connected {
            self.exchanged = true;
            // Keep alive counts from here too, and may have come due while a PINGRESP was
            // awaited.
            self.arm_keep_alive(now);
        }
        if self.state == ConnectionState::Connecting
            && !matches!(
                packet,
                Packet::ConnAck(_) | Packet::Auth(_) | Packet::Disconnect(_)
            )
        {
            let unexpected = ProtocolError::UnexpectedPacket(packet.packet_type());
            self.protocol_error(unexpected, ReasonCode::PROTOCOL_ERROR);
            return;
        }
        let result = match packet {
            Packet::ConnAck(connack) => self.on_connack(now, *connack),
            Packet::Publish(publish) => self.on_publish(now, publish),
            Packet::PubAck(ack) => self.on_puback(now, ack),
            Packet::PubRec(rec) => self.on_pubrec(now, rec),
            Packet::PubRel(rel) => self.on_pubrel(now, rel),
            Packet::PubComp(comp) => self.on_pubcomp(now, comp),
            Packet::SubAck(suback) => self.on_suback(now, suback),
            Packet::UnsubAck(unsuback) => self.on_unsuback(now, unsuback),
            Packet::PingResp => {
                self.received(Command::PingResp, None, None, &[]);
                Ok(())
            }
            Packet::Disconnect(disconnect) => {
                let code = disconnect.reason_code;
                self.received(Command::Disconnect, None, None, &[code]);
                self.close(DisconnectReason::ByServer(*disconnect));
                Ok(())
            }
            Packet::Auth(auth) => self.on_auth(*auth),
            other => Err(ProtocolError::UnexpectedPacket(other.packet_type())),
        };
        if let Err(error) = result {
            let reason_code = match &error {
                ProtocolError::TopicAliasInvalid(_) => ReasonCode::TOPIC_ALIAS_INVALID,
                ProtocolError::ReceiveMaximumExceeded => ReasonCode::RECEIVE_MAXIMUM_EXCEEDED,
                ProtocolError::Decode(e) => e.reason_code(),
                _ => ReasonCode::PROTOCOL_ERROR,
            };
            self.protocol_error(error, reason_code);
        }
    }

    fn on_connack(&mut self, now: Instant, connack: ConnAck) -> Result<(), ProtocolError> {
        if self.state != ConnectionState::Connecting {
            return Err(ProtocolError::UnexpectedPacket(PacketType::ConnAck));
        }
        self.timers.stop(Timer::ConnAck);
        if connack.reason_code.is_error() {
            self.close(DisconnectReason::Refused(connack));
            return Ok(());
        }
        if connack.reason_code != ReasonCode::SUCCESS {
            // 0x00 is the only code below 0x80 in Table 3-1 (MQTT-3.2.2-8), and the decoder
            // refuses the others: never take one of them for an accepted connection.
            let code = connack.reason_code.0;
            return Err(ProtocolError::Decode(DecodeError::InvalidReasonCode(code)));
        }
        if connack.session_present && self.clean_start_sent {
            // MQTT-3.2.2-2 (5.0), MQTT-3.2.2-1 (3.1.1): a clean start never finds a session.
            return Err(ProtocolError::Other("Session Present with Clean Start"));
        }
        if connack.properties.assigned_client_identifier.is_some() && !self.client_id_requested {
            // MQTT 5.0 §3.2.2.3.7: only a client that sent an empty identifier gets one. Taking
            // it would make every later CONNECT come back as another client.
            return Err(ProtocolError::AssignedClientIdentifierNotRequested);
        }
        let method = &self.config.connect_properties.authentication_method;
        if method.is_some()
            && self.config.version.is_v5()
            && connack.properties.authentication_method != *method
        {
            return Err(ProtocolError::Other(
                "CONNACK with another Authentication Method than CONNECT (MQTT-4.12.0-5)",
            ));
        }
        self.auth_challenge = false;
        let assigned = connack
            .properties
            .assigned_client_identifier
            .clone()
            .or_else(|| self.server.assigned_client_identifier.clone());
        self.server = ServerLimits::from_connack(&connack, self.config.keep_alive);
        self.server.assigned_client_identifier = assigned;
        let aliases_out = if self.config.outbound_topic_aliases && self.config.version.is_v5() {
            self.server.topic_alias_maximum
        } else {
            0
        };
        let aliases_in = self
            .config
            .connect_properties
            .topic_alias_maximum
            .filter(|_| self.config.version.is_v5())
            .unwrap_or(0);
        self.aliases.reset(aliases_out, aliases_in);
        self.state = ConnectionState::Connected;
        self.resumable = true;
        // MQTT 3.1 has no Session Present flag: a server keeps the session of a client that
        // connects with Clean Session 0 (MQTT 3.1 §3.1, "Clean session flag"), so the session
        // takes it as resumed then, as other MQTT 3.1 clients do, and sends again what is in
        // flight. A server that lost it anyway sees duplicates (DUP set), never a loss.
        let session_present = if self.config.version.has_session_present() {
            connack.session_present
        } else {
            !self.clean_start_sent
        };
        self.events.push_back(Event::Connected(Connected {
            session_present,
            connack,
        }));
        if session_present {
            self.resend_inflight(now);
            self.flush_owed(now);
            if core::mem::take(&mut self.session_uncertain) && self.config.resubscribe {
                // The session the server resumed may be one it created for a CONNECT whose
                // CONNACK never arrived, without the subscriptions. Subscribing again is
                // harmless if they are there.
                self.resubscribe(now);
            }
        } else {
            self.session_uncertain = false;
            self.session_lost(now);
        }
        self.arm_keep_alive(now);
        self.drain_queue(now);
        Ok(())
    }

    fn on_publish(&mut self, now: Instant, mut publish: Publish) -> Result<(), ProtocolError> {
        if let Some(alias) = publish.properties().topic_alias {
            self.aliases
                .inbound(&mut publish.topic, alias)
                .map_err(|e| match e {
                    InboundError::Invalid(a) => ProtocolError::TopicAliasInvalid(a),
                    InboundError::Unknown(a) => ProtocolError::UnknownTopicAlias(a),
                })?;
        }
        let Some(packet_id) = publish.packet_id else {
            self.deliver(publish, None, Command::Publish);
            return Ok(());
        };
        let manual = self.config.ack_mode == AckMode::Manual;
        if publish.qos == QoS::ExactlyOnce {
            match self.incoming.qos2.get(&packet_id) {
                Some(Qos2::Received(_)) => {
                    // A re-sent PUBLISH whose PUBREC got lost: answer again, deliver nothing.
                    // Unless the PUBREC still waits for its turn (MQTT-4.6.0-3): it goes out
                    // then, once, and never after the exchange ended.
                    if !self.incoming.owes_pubrec(packet_id) {
                        self.send(now, &PubRec::new(packet_id).into());
                    }
                    self.received(Command::Publish, None, Some(packet_id), &[]);
                    return Ok(());
                }
                Some(_) => {
                    // Still waiting for the application's ack: nothing to answer yet.
                    self.received(Command::Publish, None, Some(packet_id), &[]);
                    return Ok(());
                }
                None => {}
            }
        }
        if self.incoming.unacknowledged() >= usize::from(self.receive_maximum()) {
            return Err(ProtocolError::ReceiveMaximumExceeded);
        }
        match (publish.qos, self.config.qos2_delivery) {
            (QoS::ExactlyOnce, Qos2Delivery::OnPubRel) => {
                self.incoming.qos2.insert(
                    packet_id,
                    Qos2::Received(Some(alloc::boxed::Box::new(publish))),
                );
                self.store.save_incoming(packet_id);
                self.owe(now, packet_id, QoS::ExactlyOnce, Some(ReasonCode::SUCCESS));
                self.received(Command::Publish, None, Some(packet_id), &[]);
            }
            (qos, _) => {
                if qos == QoS::ExactlyOnce {
                    let state = if manual {
                        Qos2::AwaitingAck
                    } else {
                        self.store.save_incoming(packet_id);
                        Qos2::Received(None)
                    };
                    self.incoming.qos2.insert(packet_id, state);
                }
                let token = manual.then_some(AckToken {
                    packet_id,
                    qos,
                    epoch: self.epoch,
                });
                let reason = if manual {
                    None
                } else {
                    Some(ReasonCode::SUCCESS)
                };
                self.owe(now, packet_id, qos, reason);
                self.deliver(publish, token, Command::Publish);
            }
        }
        Ok(())
    }

    fn on_puback(&mut self, now: Instant, ack: PubAck) -> Result<(), ProtocolError> {
        self.received(
            Command::PubAck,
            None,
            Some(ack.packet_id),
            &[ack.reason_code],
        );
        // Not a publish waiting for its first send under a new identifier either: the server
        // can't have it.
        let is_qos1 = self.outgoing.get_mut(ack.packet_id).is_some_and(|e| {
            e.sent
                && matches!(&e.kind, InflightKind::Publish { publish, .. } if publish.qos == QoS::AtLeastOnce)
        });
        if is_qos1 {
            self.complete_publish(now, ack.packet_id, ack.reason_code, ack.properties);
        }
        Ok(())
    }

    fn on_pubrec(&mut self, now: Instant, rec: PubRec) -> Result<(), ProtocolError> {
        self.received(
            Command::PubRec,
            None,
            Some(rec.packet_id),
            &[rec.reason_code],
        );
        // A publish waiting for its first send under a new identifier is unknown to the server.
        let entry = self.outgoing.get_mut(rec.packet_id).filter(|e| e.sent);
        let Some(Inflight {
            kind:
                InflightKind::Publish {
                    id,
                    publish,
                    released,
                },
            ..
        }) = entry
        else {
            // A PUBREL follows only a PUBREC below 0x80, known identifier or not (MQTT 5.0
            // §4.3.3, MQTT-4.3.3-4): a failed PUBREC ends the exchange, if there was one.
            if rec.reason_code.is_error() {
                return Ok(());
            }
            // MQTT 5.0 §4.3.3: answer an unknown identifier with 0x92.
            let mut rel = PubRel::new(rec.packet_id);
            if self.config.version.is_v5() {
                rel.reason_code = ReasonCode::PACKET_IDENTIFIER_NOT_FOUND;
            }
            self.send(now, &rel.into());
            return Ok(());
        };
        if publish.qos != QoS::ExactlyOnce {
            return Err(ProtocolError::UnknownPacketId(
                PacketType::PubRec,
                rec.packet_id,
            ));
        }
        if rec.reason_code.is_error() {
            self.complete_publish(now, rec.packet_id, rec.reason_code, rec.properties);
            return Ok(());
        }
        if !*released {
            *released = true;
            // A failure leaves the earlier stage recorded: a restart resends the PUBLISH.
            let _ = self.store.save_outgoing(*id, publish, Stage::Released);
            // PUBRELs are resent in the order the PUBRECs arrived (MQTT-4.6.0-4).
            self.outgoing.move_to_back(rec.packet_id);
            // A publish that waited for room in the window has its answer: never the PUBLISH
            // again (MQTT-4.3.3-4).
            if let Some(index) = self.outgoing.position(rec.packet_id) {
                self.outgoing.set_waiting(index, false);
            }
        }
        // Never the PUBLISH again once PUBREC arrived (MQTT-4.3.3-4).
        self.send(now, &PubRel::new(rec.packet_id).into());
        Ok(())
    }

    fn on_pubcomp(&mut self, now: Instant, comp: PubComp) -> Result<(), ProtocolError> {
        self.received(
            Command::PubComp,
            None,
            Some(comp.packet_id),
            &[comp.reason_code],
        );
        let released = self
            .outgoing
            .get_mut(comp.packet_id)
            .is_some_and(|e| matches!(e.kind, InflightKind::Publish { released: true, .. }));
        if released {
            // PUBCOMP's reason code is Success or Packet Identifier not found; either way the
            // exchange is over and the server has the message.
            self.complete_publish(now, comp.packet_id, ReasonCode::SUCCESS, comp.properties);
        }
        Ok(())
    }

    fn on_pubrel(&mut self, now: Instant, rel: PubRel) -> Result<(), ProtocolError> {
        let packet_id = rel.packet_id;
        let manual = self.config.ack_mode == AckMode::Manual;
        match self.incoming.qos2.get_mut(&packet_id) {
            Some(Qos2::Received(held)) => {
                let message = held.take();
                // Only a server that broke the exchange releases a message before its PUBREC
                // went out; that PUBREC must not follow, for an identifier the server may be
                // about to reuse.
                self.incoming.forget_pubrec(packet_id);
                match message {
                    Some(message) if manual => {
                        self.incoming.qos2.insert(packet_id, Qos2::AwaitingRelAck);
                        let token = AckToken {
                            packet_id,
                            qos: QoS::ExactlyOnce,
                            epoch: self.epoch,
                        };
                        self.deliver(*message, Some(token), Command::PubRel);
                    }
                    message => {
                        self.incoming.qos2.remove(&packet_id);
                        self.store.remove_incoming(packet_id);
                        self.send(now, &PubComp::new(packet_id).into());
                        match message {
                            Some(message) => self.deliver(*message, None, Command::PubRel),
                            None => self.received(Command::PubRel, None, Some(packet_id), &[]),
                        }
                    }
                }
            }
            Some(_) => {
                // The application has not acknowledged yet; PUBCOMP follows its ack.
                self.received(Command::PubRel, None, Some(packet_id), &[]);
            }
            None => {
                let mut comp = PubComp::new(packet_id);
                if self.config.version.is_v5() {
                    comp.reason_code = ReasonCode::PACKET_IDENTIFIER_NOT_FOUND;
                }
                self.send(now, &comp.into());
                self.received(Command::PubRel, None, Some(packet_id), &[]);
            }
        }
        Ok(())
    }

    fn on_suback(&mut self, now: Instant, suback: SubAck) -> Result<(), ProtocolError> {
        self.received(
            Command::SubAck,
            None,
            Some(suback.packet_id),
            &suback.reason_codes,
        );
        let Some(position) = self.outgoing.position(suback.packet_id) else {
            return Ok(());
        };
        let is_subscribe = matches!(
            self.outgoing.inflight.get(position).map(|e| &e.kind),
            Some(InflightKind::Subscribe { packet, .. })
                if packet.subscriptions.len() == suback.reason_codes.len()
        );
        if !is_subscribe {
            return Err(ProtocolError::WrongReasonCodeCount(PacketType::SubAck));
        }
        if let Some(Inflight {
            kind: InflightKind::Subscribe { id, packet },
            ..
        }) = self.outgoing.remove(suback.packet_id)
        {
            for (s, code) in packet.subscriptions.into_iter().zip(&suback.reason_codes) {
                if code.is_error() {
                    // Not made, or not made again after the session was lost: not restored
                    // after the next loss either.
                    self.subscriptions.remove(&s.filter);
                } else if let Some(qos) = QoS::from_u8(code.0) {
                    let options = SubscriptionOptions { qos, ..s.options };
                    let identifier = packet.properties.subscription_identifier;
                    self.subscriptions.insert(
                        s.filter,
                        ActiveSubscription {
                            options,
                            identifier,
                        },
                    );
                }
            }
            self.events.push_back(Event::Subscribed(Subscribed {
                id,
                packet_id: suback.packet_id,
                reason_codes: suback.reason_codes,
                properties: suback.properties,
            }));
        }
        let _ = now;
        Ok(())
    }

    fn on_unsuback(&mut self, now: Instant, unsuback: UnsubAck) -> Result<(), ProtocolError> {
        self.received(
            Command::UnsubAck,
            None,
            Some(unsuback.packet_id),
            &unsuback.reason_codes,
        );
        let Some(position) = self.outgoing.position(unsuback.packet_id) else {
            return Ok(());
        };
        let v5 = self.config.version.is_v5();
        let fits = matches!(
            self.outgoing.inflight.get(position).map(|e| &e.kind),
            Some(InflightKind::Unsubscribe { packet, .. })
                if !v5 || packet.filters.len() == unsuback.reason_codes.len()
        );
        if !fits {
            return Err(ProtocolError::WrongReasonCodeCount(PacketType::UnsubAck));
        }
        if let Some(Inflight {
            kind: InflightKind::Unsubscribe { id, packet },
            ..
        }) = self.outgoing.remove(unsuback.packet_id)
        {
            for (i, filter) in packet.filters.iter().enumerate() {
                let ok = unsuback.reason_codes.get(i).is_none_or(|c| c.is_success());
                if ok {
                    self.subscriptions.remove(filter);
                }
            }
            self.events.push_back(Event::Unsubscribed(Unsubscribed {
                id,
                packet_id: unsuback.packet_id,
                reason_codes: unsuback.reason_codes,
                properties: unsuback.properties,
            }));
        }
        let _ = now;
        Ok(())
    }

    fn on_auth(&mut self, auth: Auth) -> Result<(), ProtocolError> {
        let Some(method) = &self.config.connect_properties.authentication_method else {
            return Err(ProtocolError::UnexpectedPacket(PacketType::Auth));
        };
        // The reason code is Success, Continue authentication or Re-authenticate: the
        // decoder refuses any other (MQTT-3.15.2-1), as it does for every packet.
        if auth.properties.authentication_method.as_ref() != Some(method) {
            return Err(ProtocolError::Other(
                "AUTH with another Authentication Method than CONNECT (MQTT-4.12.0-5)",
            ));
        }
        self.auth_challenge = auth.reason_code == ReasonCode::CONTINUE_AUTHENTICATION;
        self.received(Command::Auth, None, None, &[auth.reason_code]);
        self.events.push_back(Event::Auth(auth));
        Ok(())
    }

    // ---- outbound work ------------------------------------------------------------------

    /// The most QoS 1 and 2 publishes in flight on this connection: `max_inflight`, lowered
    /// by the server's Receive Maximum (MQTT-3.3.4-7).
    fn window(&self) -> usize {
        let window = self
            .config
            .max_inflight
            .get()
            .min(self.server.receive_maximum);
        usize::from(window)
    }

    fn window_full(&self) -> bool {
        self.outgoing.publishes_in_flight() >= self.window()
    }

    fn receive_maximum(&self) -> u16 {
        match self.config.version {
            Version::V5 => self
                .config
                .connect_properties
                .receive_maximum
                .map_or(u16::MAX, |r| r.get()),
            _ => u16::MAX,
        }
    }

    /// Checks a publish that has no packet identifier yet against the server's limits and the
    /// encoder's rules.
    fn check_publish(&self, publish: &mut Publish) -> Result<(), UsageError> {
        if publish.qos > self.server.maximum_qos {
            return Err(UsageError::QoSNotSupported(publish.qos));
        }
        if publish.retain && !self.server.retain_available {
            return Err(UsageError::RetainNotSupported);
        }
        // Check it as it will be sent, with a packet identifier at QoS 1 and 2.
        if publish.qos != QoS::AtMostOnce {
            publish.packet_id = Some(PacketId::MIN);
        }
        let size = publish.checked_len(self.config.version);
        publish.packet_id = None;
        self.check_max_packet_size(size?)
    }

    /// Checks that `packet` encodes and fits the server's Maximum Packet Size.
    fn check_size(&self, packet: &Packet) -> Result<(), UsageError> {
        let version = self.config.version;
        self.check_encoding(
            |buf| packet.encode(version, buf),
            || packet.encoded_len(version),
        )
    }

    fn check_encoding(
        &self,
        encode: impl FnOnce(&mut &mut [u8]) -> Result<(), mqtt_proto::EncodeError>,
        len: impl FnOnce() -> usize,
    ) -> Result<(), UsageError> {
        // Encoding into an empty slice runs every check, then stops for lack of room.
        match encode(&mut &mut [][..]) {
            Ok(()) | Err(mqtt_proto::EncodeError::BufferTooSmall { .. }) => {}
            Err(e) => return Err(UsageError::Encode(e)),
        }
        self.check_max_packet_size(len())
    }

    /// Leaves the Reason String, the User Properties or both out of a DISCONNECT or AUTH the
    /// server's Maximum Packet Size can't take whole (MQTT-3.14.2-3, MQTT-3.14.2-4,
    /// MQTT-3.15.2-2, MQTT-3.15.2-3), keeping as much as fits.
    fn fit_to_server(&self, packet: &mut Packet) {
        let Some(max) = self.server.maximum_packet_size else {
            return;
        };
        let version = self.config.version;
        let fits = |p: &Packet| p.encoded_len(version) <= max.get() as usize;
        if fits(packet) {
            return;
        }
        let whole = packet.clone();
        for (reason_string, user_properties) in [(false, true), (true, false), (false, false)] {
            *packet = whole.clone();
            if let Some((r, u)) = optional_properties(packet) {
                if !reason_string {
                    *r = None;
                }
                if !user_properties {
                    u.clear();
                }
            }
            if fits(packet) {
                return;
            }
        }
    }

    /// Refuses a packet of `size` bytes above the server's Maximum Packet Size.
    fn check_max_packet_size(&self, size: usize) -> Result<(), UsageError> {
        match self.server.maximum_packet_size {
            Some(max) if size > max.get() as usize => Err(UsageError::PacketTooLarge {
                size,
                max: max.get(),
            }),
            _ => Ok(()),
        }
    }

    fn request_id(&mut self) -> RequestId {
        let id = RequestId(self.next_request_id);
        self.next_request_id += 1;
        id
    }

    fn start_request(&mut self, now: Instant, packet_id: PacketId, kind: InflightKind) {
        let sent = self.state == ConnectionState::Connected;
        if sent {
            let packet = match &kind {
                InflightKind::Subscribe { packet, .. } => Packet::Subscribe(packet.clone()),
                InflightKind::Unsubscribe { packet, .. } => Packet::Unsubscribe(packet.clone()),
                InflightKind::Publish { .. } => return,
            };
            self.send(now, &packet);
        }
        self.outgoing.push(Inflight::new(packet_id, sent, kind));
    }

    /// Sends publishes while connected and the window has room, in order: first those in
    /// flight that wait for room since the connection began, then the queue.
    fn drain_queue(&mut self, now: Instant) {
        while self.state == ConnectionState::Connected && self.outgoing.waiting() > 0 {
            if self.outgoing.publishes_in_window() >= self.window() {
                return;
            }
            self.send_waiting(now);
        }
        while self.state == ConnectionState::Connected {
            let Some(front) = self.outgoing.queue.front() else {
                return;
            };
            if needs_window(&front.publish) && self.window_full() {
                return;
            }
            let Some(Queued {
                id,
                mut publish,
                accepted,
            }) = self.outgoing.queue.pop_front()
            else {
                return;
            };
            if let Some(expiry) = publish.properties().message_expiry_interval {
                let waited = now.saturating_duration_since(accepted).as_secs();
                match u32::try_from(waited)
                    .ok()
                    .and_then(|w| expiry.checked_sub(w))
                {
                    Some(left) if left > 0 || waited == 0 => {
                        publish.properties_mut().message_expiry_interval = Some(left);
                    }
                    _ => {
                        self.fail_publish(id, None, FailReason::Expired);
                        continue;
                    }
                }
            }
            if let Err(e) = self.check_publish(&mut publish) {
                self.fail_publish(id, None, fail_reason(&e));
                continue;
            }
            self.send_publish(now, id, publish);
        }
    }

    /// Sends a publish that passed its checks and has room in the window.
    fn send_publish(&mut self, now: Instant, id: PublishId, mut publish: Publish) {
        if publish.qos == QoS::AtMostOnce {
            self.send_publish_packet(now, &publish);
            self.events.push_back(Event::Published(Published {
                id,
                packet_id: None,
                qos: QoS::AtMostOnce,
                reason_code: ReasonCode::SUCCESS,
                properties: Default::default(),
            }));
            return;
        }
        let Some(packet_id) = self.outgoing.ids.allocate() else {
            // All 65,535 identifiers are taken: wait at the front of the queue.
            self.outgoing.queue.push_front(Queued {
                id,
                publish,
                accepted: now,
            });
            return;
        };
        publish.packet_id = Some(packet_id);
        let _ = self.store.save_outgoing(id, &publish, Stage::Sent);
        self.send_publish_packet(now, &publish);
        self.outgoing.push(Inflight::new(
            packet_id,
            true,
            InflightKind::Publish {
                id,
                publish,
                released: false,
            },
        ));
    }

    /// Sends the first publish waiting for room in the window: again with DUP when it went out
    /// before with its packet identifier (MQTT-3.3.1-1), for the first time otherwise.
    fn send_waiting(&mut self, now: Instant) {
        let Some(Inflight {
            sent,
            kind: InflightKind::Publish { id, publish, .. },
            ..
        }) = self.outgoing.take_waiting()
        else {
            return;
        };
        let mut publish = publish.clone();
        let (packet_id, id) = (publish.packet_id, *id);
        if core::mem::replace(sent, true) {
            publish.dup = true;
        } else {
            // A first send, to a server that may allow less than the last one did.
            let mut unsent = publish.clone();
            if let Err(e) = self.check_publish(&mut unsent) {
                if let Some(packet_id) = packet_id {
                    self.outgoing.remove(packet_id);
                }
                self.fail_publish(id, None, fail_reason(&e));
                return;
            }
            let _ = self.store.save_outgoing(id, &publish, Stage::Sent);
        }
        self.send_publish_packet(now, &publish);
    }

    /// Encodes a PUBLISH, with a Topic Alias when they are in use.
    fn send_publish_packet(&mut self, now: Instant, publish: &Publish) {
        let version = self.config.version;
        let result = match self.aliases.outbound(&publish.topic) {
            Outbound::None => self.transmit.publish(version, publish),
            Outbound::New(alias) => {
                let mut aliased = publish.clone();
                aliased.properties_mut().topic_alias = Some(alias);
                self.transmit.publish(version, &aliased)
            }
            Outbound::Known(alias) => {
                let mut aliased = publish.clone();
                aliased.topic = TopicName::default();
                aliased.properties_mut().topic_alias = Some(alias);
                self.transmit.publish(version, &aliased)
            }
        };
        debug_assert!(result.is_ok(), "publishes are checked before they are sent");
        self.sent(now);
    }

    fn complete_publish(
        &mut self,
        now: Instant,
        packet_id: PacketId,
        reason_code: ReasonCode,
        properties: mqtt_proto::AckProperties,
    ) {
        let Some(Inflight {
            kind: InflightKind::Publish { id, publish, .. },
            ..
        }) = self.outgoing.remove(packet_id)
        else {
            return;
        };
        self.store.remove_outgoing(id);
        let event = if reason_code.is_error() {
            Event::PublishFailed(PublishFailed {
                id,
                packet_id: Some(packet_id),
                reason: FailReason::Rejected {
                    reason_code,
                    properties,
                },
            })
        } else {
            Event::Published(Published {
                id,
                packet_id: Some(packet_id),
                qos: publish.qos,
                reason_code,
                properties,
            })
        };
        self.events.push_back(event);
        self.drain_queue(now);
    }

    fn fail_publish(&mut self, id: PublishId, packet_id: Option<PacketId>, reason: FailReason) {
        self.store.remove_outgoing(id);
        self.events.push_back(Event::PublishFailed(PublishFailed {
            id,
            packet_id,
            reason,
        }));
    }

    /// The server resumed the session: resend unacknowledged PUBLISH with DUP and PUBREL, in
    /// their original order (MQTT-4.4.0-1, MQTT-4.6.0-1), and pending (un)subscribes.
    ///
    /// The server's Receive Maximum may be lower than on the last connection, and it bounds
    /// the PUBLISH packets resent too (MQTT-3.3.4-7): publishes past PUBREC keep their place in
    /// the window until PUBCOMP, and those that find no room left wait for it, in order, ahead
    /// of the queue.
    fn resend_inflight(&mut self, now: Instant) {
        let version = self.config.version;
        let released = self
            .outgoing
            .inflight
            .iter()
            .filter(|e| matches!(e.kind, InflightKind::Publish { released: true, .. }))
            .count();
        let mut room = self.window().saturating_sub(released);
        let mut resent = false;
        for index in 0..self.outgoing.inflight.len() {
            let Some(entry) = self.outgoing.inflight.get(index) else {
                break;
            };
            let publish = matches!(
                entry.kind,
                InflightKind::Publish {
                    released: false,
                    ..
                }
            );
            if publish && room == 0 {
                self.outgoing.set_waiting(index, true);
                continue;
            }
            let result = match &entry.kind {
                InflightKind::Publish { released: true, .. } => self
                    .transmit
                    .packet(version, &PubRel::new(entry.packet_id).into()),
                InflightKind::Publish { publish, .. } => {
                    let mut again = publish.clone();
                    again.dup = entry.sent;
                    self.transmit.publish(version, &again)
                }
                InflightKind::Subscribe { packet, .. } => self
                    .transmit
                    .packet(version, &Packet::Subscribe(packet.clone())),
                InflightKind::Unsubscribe { packet, .. } => self
                    .transmit
                    .packet(version, &Packet::Unsubscribe(packet.clone())),
            };
            debug_assert!(result.is_ok(), "in-flight packets were encoded before");
            room -= usize::from(publish);
            resent = true;
            self.outgoing.set_waiting(index, false);
            if let Some(entry) = self.outgoing.inflight.get_mut(index) {
                entry.sent = true;
            }
        }
        if resent {
            self.sent(now);
        }
    }

    /// The server has no session for the client: apply the [`SessionLostPolicy`] to what was
    /// in flight, forget inbound QoS 2 state, and resubscribe if configured.
    fn session_lost(&mut self, now: Instant) {
        let inflight = self.outgoing.drain();
        let policy = self.config.session_lost;
        let mut requeue = Vec::new();
        for entry in inflight {
            let sent = entry.sent;
            match entry.kind {
                // Even past PUBREC: a server that delivers QoS 2 messages on PUBREL (as
                // mosquitto does) lost the message with the session.
                InflightKind::Publish {
                    id, mut publish, ..
                } => match policy {
                    SessionLostPolicy::Resend => {
                        publish.packet_id = None;
                        publish.dup = false;
                        let _ = self.store.save_outgoing(id, &publish, Stage::Queued);
                        requeue.push((id, publish));
                    }
                    _ => self.fail_publish(id, Some(entry.packet_id), FailReason::SessionLost),
                },
                InflightKind::Subscribe { id, mut packet } => {
                    if sent && policy == SessionLostPolicy::Fail {
                        self.events.push_back(Event::RequestFailed {
                            id,
                            reason: FailReason::SessionLost,
                        });
                    } else {
                        self.restart_request(now, |packet_id| {
                            packet.packet_id = packet_id;
                            InflightKind::Subscribe { id, packet }
                        });
                    }
                }
                InflightKind::Unsubscribe { id, mut packet } => {
                    if sent && policy == SessionLostPolicy::Fail {
                        self.events.push_back(Event::RequestFailed {
                            id,
                            reason: FailReason::SessionLost,
                        });
                    } else {
                        self.restart_request(now, |packet_id| {
                            packet.packet_id = packet_id;
                            InflightKind::Unsubscribe { id, packet }
                        });
                    }
                }
            }
        }
        // In the order they were accepted: PUBREC moved QoS 2 publishes behind the others.
        // They stay in flight under new packet identifiers, waiting for room in the new
        // window, rather than go back to the queue, which they would push past `max_queued`
        // when the new server's Receive Maximum is lower; `drain_queue` sends them first.
        requeue.sort_by_key(|(id, _)| *id);
        let mut requeue = requeue.into_iter();
        for (id, mut publish) in requeue.by_ref() {
            // Identifiers were all freed just before, so one is always available; if not,
            // this one and the rest go back to the front of the queue, in order.
            let Some(packet_id) = self.outgoing.ids.allocate() else {
                let rest = core::iter::once((id, publish)).chain(requeue.by_ref());
                let rest: Vec<_> = rest.collect();
                for (id, publish) in rest.into_iter().rev() {
                    let accepted = now;
                    self.outgoing.queue.push_front(Queued {
                        id,
                        publish,
                        accepted,
                    });
                }
                break;
            };
            publish.packet_id = Some(packet_id);
            let kind = InflightKind::Publish {
                id,
                publish,
                released: false,
            };
            self.outgoing
                .push_waiting(Inflight::new(packet_id, false, kind));
        }
        if !self.incoming.qos2.is_empty() || self.incoming.owes_any() {
            for packet_id in self.incoming.qos2.keys() {
                self.store.remove_incoming(*packet_id);
            }
            self.incoming = Incoming::default();
            self.epoch += 1;
        }
        if self.config.resubscribe {
            self.resubscribe(now);
        } else if !self.subscriptions.is_empty() {
            let lost = core::mem::take(&mut self.subscriptions)
                .into_keys()
                .collect();
            self.events.push_back(Event::SubscriptionsLost(lost));
        }
    }

    fn restart_request(&mut self, now: Instant, make: impl FnOnce(PacketId) -> InflightKind) {
        // Identifiers were all freed just before, so one is always available.
        if let Some(packet_id) = self.outgoing.ids.allocate() {
            self.start_request(now, packet_id, make(packet_id));
        }
    }

    /// Sends SUBSCRIBE again for every remembered subscription, grouped by subscription
    /// identifier.
    fn resubscribe(&mut self, now: Instant) {
        let mut groups: BTreeMap<Option<NonZeroU32>, Vec<Subscription>> = BTreeMap::new();
        for (filter, active) in &self.subscriptions {
            groups
                .entry(active.identifier)
                .or_default()
                .push(Subscription {
                    filter: filter.clone(),
                    options: active.options,
                });
        }
        for (identifier, subscriptions) in groups {
            let properties = SubscribeProperties {
                subscription_identifier: identifier,
                ..Default::default()
            };
            // Already accepted once; a failure here (identifiers exhausted) leaves the
            // subscriptions remembered for the next attempt.
            let filters = subscriptions.iter().map(|s| s.filter.clone()).collect();
            if let Ok(id) = self.subscribe(now, subscriptions, properties) {
                self.events
                    .push_back(Event::Resubscribing(Resubscribing { id, filters }));
            }
        }
    }

    // ---- acknowledgements owed to the server --------------------------------------------

    /// Records an acknowledgement owed for an inbound publish, and sends every one that is
    /// ready in arrival order.
    fn owe(&mut self, now: Instant, packet_id: PacketId, qos: QoS, reason: Option<ReasonCode>) {
        if reason.is_some() && !self.incoming.owes_any() {
            self.send_ack(now, packet_id, qos, reason.unwrap_or_default());
            return;
        }
        self.incoming.push_owed(OwedAck {
            packet_id,
            qos,
            reason,
        });
        self.flush_owed(now);
    }

    fn flush_owed(&mut self, now: Instant) {
        if self.state != ConnectionState::Connected {
            return;
        }
        while let Some(ack) = self.incoming.pop_ready() {
            self.send_ack(now, ack.packet_id, ack.qos, ack.reason.unwrap_or_default());
        }
    }

    fn send_ack(&mut self, now: Instant, packet_id: PacketId, qos: QoS, reason_code: ReasonCode) {
        let packet = if qos == QoS::AtLeastOnce {
            Packet::PubAck(PubAck {
                reason_code,
                ..PubAck::new(packet_id)
            })
        } else {
            if reason_code.is_error() {
                // A refused QoS 2 message ends its exchange with the PUBREC.
                self.incoming.qos2.remove(&packet_id);
            } else if let Some(state) = self.incoming.qos2.get_mut(&packet_id)
                && *state == Qos2::AwaitingAck
            {
                *state = Qos2::Received(None);
                self.store.save_incoming(packet_id);
            }
            Packet::PubRec(PubRec {
                reason_code,
                ..PubRec::new(packet_id)
            })
        };
        self.send(now, &packet);
    }

    // ---- delivery -----------------------------------------------------------------------

    fn deliver(&mut self, publish: Publish, ack: Option<AckToken>, command: Command) {
        if self.config.packet_events {
            let packet_id = publish.packet_id;
            self.received(command, Some(publish.clone()), packet_id, &[]);
        }
        self.events
            .push_back(Event::Message(Message { publish, ack }));
    }

    fn received(
        &mut self,
        command: Command,
        message: Option<Publish>,
        packet_id: Option<PacketId>,
        reason_codes: &[ReasonCode],
    ) {
        // Built only when asked for: the reason codes are copied into a `Vec` here, not by
        // every caller on the path of every acknowledgement.
        if self.config.packet_events {
            let mid = match command {
                Command::PubAck | Command::PubRec | Command::PubComp => {
                    packet_id.and_then(|p| self.outgoing.publish_id(p))
                }
                _ => None,
            };
            self.events.push_back(Event::Received(Received {
                command,
                message,
                packet_id,
                mid,
                reason_codes: reason_codes.to_vec(),
            }));
        }
    }

    // ---- the connection -----------------------------------------------------------------

    /// Encodes a packet the session built itself.
    fn send(&mut self, now: Instant, packet: &Packet) {
        let result = self.transmit.packet(self.config.version, packet);
        debug_assert!(result.is_ok(), "the session builds only valid packets");
        self.sent(now);
    }

    fn send_if_connected(&mut self, now: Instant, packet: &Packet) {
        if self.state == ConnectionState::Connected {
            self.send(now, packet);
        }
    }

    /// Something was sent: the keep alive interval starts again (MQTT-3.1.2-23).
    fn sent(&mut self, now: Instant) {
        self.last_sent = now;
        if self.state == ConnectionState::Connected {
            self.arm_keep_alive(now);
        }
    }

    /// PINGREQ is due one keep alive interval after the client last sent anything
    /// (MQTT-3.1.2-23), or after the server last did, whichever is earlier: a client that keeps
    /// sending to a server that stopped answering pings it anyway (a client may send PINGREQ at
    /// any time), and gives the connection up when no answer comes within the ping timeout.
    fn arm_keep_alive(&mut self, now: Instant) {
        let keep_alive = self.server.keep_alive;
        if keep_alive > Duration::ZERO && !self.ping_outstanding {
            let due = (self.last_sent.min(self.last_received) + keep_alive).max(now);
            self.timers.set(Timer::KeepAlive, due);
        }
    }

    /// The server broke the protocol: in MQTT 5.0 say why with DISCONNECT (MQTT 5.0 §4.13),
    /// then end the connection.
    fn protocol_error(&mut self, error: ProtocolError, reason_code: ReasonCode) {
        if self.config.version.is_v5() {
            let disconnect = Packet::from(Disconnect::new(reason_code));
            let result = self.transmit.packet(self.config.version, &disconnect);
            debug_assert!(result.is_ok());
        }
        self.close(DisconnectReason::ProtocolError { reason_code, error });
    }

    /// Ends the connection; the session state stays for the next one.
    fn close(&mut self, reason: DisconnectReason) {
        if self.state == ConnectionState::Connecting {
            self.session_uncertain = true;
        }
        self.state = ConnectionState::Disconnected;
        self.timers.stop_all();
        self.ping_outstanding = false;
        self.auth_challenge = false;
        self.read_buf.clear();
        // QoS 1 acknowledgements not yet sent are dropped: the server sends the message again
        // on a resumed session, and a late PUBACK could hit an identifier it has reused.
        // QoS 2 identifiers stay reserved until PUBCOMP, so PUBRECs owed are kept.
        self.incoming.forget_pubacks();
        self.events.push_back(Event::Disconnected(reason));
    }
}

/// The Reason String and User Properties of a DISCONNECT or AUTH, which the session may
/// leave out.
fn optional_properties(
    packet: &mut Packet,
) -> Option<(&mut Option<ByteString>, &mut Vec<UserProperty>)> {
    match packet {
        Packet::Disconnect(d) => Some((
            &mut d.properties.reason_string,
            &mut d.properties.user_properties,
        )),
        Packet::Auth(a) => Some((
            &mut a.properties.reason_string,
            &mut a.properties.user_properties,
        )),
        _ => None,
    }
}

/// `code` when PUBACK and PUBREC define it (MQTT 5.0 Tables 3-4 and 3-5), otherwise the
/// general code of its kind: 0x80 Unspecified error for a failure, 0x00 Success.
fn puback_reason_code(code: ReasonCode) -> ReasonCode {
    if code.is_defined_for(PacketType::PubAck) {
        code
    } else if code.is_error() {
        ReasonCode::UNSPECIFIED_ERROR
    } else {
        ReasonCode::SUCCESS
    }
}

/// Why a publish accepted earlier can't be sent to the current server.
fn fail_reason(error: &UsageError) -> FailReason {
    match error {
        UsageError::PacketTooLarge { .. } => FailReason::PacketTooLarge,
        _ => FailReason::NotSupported,
    }
}

impl<S> core::fmt::Debug for Session<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("version", &self.config.version)
            .field("client_id", &self.config.client_id)
            .field("state", &self.state)
            .field("in_flight", &self.outgoing.inflight.len())
            .field("queued", &self.outgoing.queue.len())
            .finish_non_exhaustive()
    }
}
