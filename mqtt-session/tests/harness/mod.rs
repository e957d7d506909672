//! The deterministic test harness: a [`Session`] paired with a scripted fake broker on a virtual
//! clock.
//!
//! - The clock is [`Harness::now`]; it moves only through [`Harness::advance`] and
//!   [`Harness::drive`], which call `handle_timeout` at every deadline on the way, as a real
//!   adapter would.
//! - After every input and command the session is drained the documented way
//!   ([`Harness::pump`]): `poll_transmit` until empty, `poll_event` until empty, `poll_timeout`.
//! - The broker is the test itself: it decodes every byte the client sends into
//!   [`Entry::Sent`] packets, and [`Harness::inject`] encodes packets for the session's version
//!   and feeds them in, whole or one byte at a time ([`Feed`]).
//! - Everything lands in one timestamped [`Harness::transcript`]; assertions read it through
//!   the cursors [`Harness::sent`] and [`Harness::events`]. A failing test prints it.
//!
//! [`scenarios!`] turns one scenario into a test per protocol version and feeding mode.
#![allow(dead_code, unreachable_pub, unused_imports, unused_macros)]

use std::fmt::Write as _;

use bytes::BytesMut;

pub use core::num::{NonZeroU16, NonZeroU32};
pub use core::time::Duration;

pub use bytes::Bytes;
pub use mqtt_proto::{
    AckProperties, Auth, AuthProperties, ByteString, ConnAck, ConnAckProperties, Connect,
    ConnectProperties, DecodeError, Decoder, Disconnect, DisconnectProperties, Packet, PacketId,
    PacketType, PubAck, PubComp, PubRec, PubRel, Publish, PublishProperties, QoS, ReasonCode,
    RetainHandling, SubAck, Subscribe, SubscribeProperties, Subscription, SubscriptionOptions,
    TopicFilter, TopicName, UnsubAck, Unsubscribe, UnsubscribeProperties, UserProperty, Will,
    WillProperties,
};
pub use mqtt_session::{
    AckMode, AckToken, Command, Config, ConnectionState, DisconnectReason, Event, FailReason,
    Instant, MemoryStore, Message, NoStore, ProtocolError, PublishFailed, PublishId, Published,
    Qos2Delivery, Received, RequestId, Router, Session, SessionLostPolicy, Stage, Store,
    StoreError, StoredSession, Subscribed, Unsubscribed, UsageError, Version,
};

/// How broker bytes reach the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// Each injected packet in one `handle_bytes` call.
    Whole,
    /// One `handle_bytes` call, and a full drain, per byte.
    ByteAtATime,
}

/// A protocol version and a feeding mode: what a scenario runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    pub version: Version,
    pub feed: Feed,
}

impl Mode {
    pub fn v5(self) -> bool {
        self.version.is_v5()
    }

    /// The default configuration of the harness: client id "client", the library defaults.
    pub fn config(self) -> Config {
        Config::new("client", self.version)
    }
}

/// One line of the transcript.
#[derive(Debug, PartialEq, Eq)]
pub enum Entry {
    /// A packet the client sent, as the broker decoded it.
    Sent(Packet),
    /// An event the session reported.
    Event(Event),
}

/// The session, the fake broker and the clock.
pub struct Harness<S: Store = MemoryStore> {
    pub session: Session<S>,
    pub mode: Mode,
    /// The virtual clock.
    pub now: Instant,
    /// Everything that happened, with the time it happened at.
    pub transcript: Vec<(Instant, Entry)>,
    /// Every byte the client sent, in order, for tests of the exact encoding.
    pub raw: Vec<u8>,
    /// Client bytes not yet decoded by the broker.
    wire: BytesMut,
    broker: Decoder,
    sent_cursor: usize,
    event_cursor: usize,
}

impl Harness<MemoryStore> {
    /// A session with the default configuration for `mode`.
    pub fn new(mode: Mode) -> Self {
        Self::with_config(mode, mode.config())
    }

    /// A session with `config`, whose version must be the mode's.
    pub fn with_config(mode: Mode, config: Config) -> Self {
        Harness::with_session(mode, Session::new(config))
    }
}

impl<S: Store> Harness<S> {
    /// Wraps an existing session (one rebuilt from a store, say).
    pub fn with_session(mode: Mode, session: Session<S>) -> Self {
        assert_eq!(session.version(), mode.version, "config and mode disagree");
        Harness {
            session,
            mode,
            now: Instant::ZERO,
            transcript: Vec::new(),
            raw: Vec::new(),
            wire: BytesMut::new(),
            broker: Decoder::new(mode.version),
            sent_cursor: 0,
            event_cursor: 0,
        }
    }

    /// Milliseconds on the virtual clock.
    pub fn ms(&self) -> u64 {
        self.now.as_millis()
    }

    // ---- driving the session ----------------------------------------------------------

    /// Drains the session the documented way: every transmit chunk, every event, then reads
    /// the deadline, which must not be in the past.
    pub fn pump(&mut self) {
        while let Some(chunk) = self.session.poll_transmit() {
            assert!(!chunk.is_empty(), "poll_transmit gave an empty chunk");
            self.wire.extend_from_slice(&chunk);
            self.raw.extend_from_slice(&chunk);
            loop {
                match self.broker.decode(&mut self.wire) {
                    Ok(Some(packet)) => self.transcript.push((self.now, Entry::Sent(packet))),
                    Ok(None) => break,
                    Err(e) => panic!("the client sent bytes the broker can't decode: {e:?}"),
                }
            }
        }
        assert!(self.wire.is_empty(), "the client left half a packet");
        while let Some(event) = self.session.poll_event() {
            self.transcript.push((self.now, Entry::Event(event)));
        }
        if let Some(deadline) = self.session.poll_timeout() {
            assert!(deadline >= self.now, "deadline {deadline:?} is in the past");
        }
    }

    /// Runs a command against the session at the current time, then drains it.
    pub fn cmd<T>(&mut self, f: impl FnOnce(&mut Session<S>, Instant) -> T) -> T {
        let result = f(&mut self.session, self.now);
        self.pump();
        result
    }

    /// The transport opened: CONNECT goes out.
    pub fn open(&mut self) {
        self.cmd(|s, now| s.handle_transport_opened(now)).unwrap();
    }

    /// The transport closed.
    pub fn close(&mut self) {
        self.cmd(|s, now| s.handle_transport_closed(now));
    }

    /// Opens the transport, checks that CONNECT went out, answers `connack` and checks that
    /// the session reports the connection. Marks everything so far as seen.
    pub fn connect_with(&mut self, connack: ConnAck) -> Box<Connect> {
        self.open();
        let connect = match self.sent().as_slice() {
            [Packet::Connect(c)] => c.clone(),
            other => panic!("expected CONNECT, got {other:?}"),
        };
        self.inject(connack);
        assert_eq!(self.session.state(), ConnectionState::Connected);
        self.skip();
        connect
    }

    /// [`connect_with`](Self::connect_with) a plain accepting CONNACK.
    pub fn connect(&mut self) -> Box<Connect> {
        self.connect_with(ConnAck::default())
    }

    /// The broker sends `packet`, encoded for the session's version.
    pub fn inject(&mut self, packet: impl Into<Packet>) {
        let mut bytes = Vec::new();
        packet
            .into()
            .encode(self.mode.version, &mut bytes)
            .expect("the broker's packet encodes");
        self.inject_bytes(&bytes);
    }

    /// The broker sends raw bytes, fed as the mode says.
    pub fn inject_bytes(&mut self, bytes: &[u8]) {
        match self.mode.feed {
            Feed::Whole => self.cmd(|s, now| s.handle_bytes(now, bytes)),
            Feed::ByteAtATime => {
                for byte in bytes {
                    self.cmd(|s, now| s.handle_bytes(now, core::slice::from_ref(byte)));
                }
            }
        }
    }

    /// Moves the clock forward by `by`, calling `handle_timeout` at every deadline reached on
    /// the way, then once more at the end (which must be harmless).
    pub fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        while let Some(deadline) = self.session.poll_timeout().filter(|&d| d <= end) {
            self.now = self.now.max(deadline);
            self.cmd(|s, now| s.handle_timeout(now));
            let next = self.session.poll_timeout();
            assert!(
                next.is_none_or(|n| n > self.now),
                "handle_timeout left deadline {next:?} due at {:?}",
                self.now
            );
        }
        self.now = end;
        self.cmd(|s, now| s.handle_timeout(now));
    }

    /// Moves the clock to the next deadline and handles it; returns how far it moved.
    ///
    /// # Panics
    ///
    /// When the session has no deadline.
    pub fn drive(&mut self) -> Duration {
        let deadline = self.session.poll_timeout().expect("a deadline");
        let waited = deadline - self.now;
        self.advance(waited);
        waited
    }

    // ---- reading the transcript -------------------------------------------------------

    /// Packets the client sent since the last call.
    pub fn sent(&mut self) -> Vec<Packet> {
        self.sent_timed().into_iter().map(|(_, p)| p).collect()
    }

    /// Packets the client sent since the last call, with the milliseconds they were sent at.
    pub fn sent_timed(&mut self) -> Vec<(u64, Packet)> {
        let new = self.transcript[self.sent_cursor..]
            .iter()
            .filter_map(|(at, e)| match e {
                Entry::Sent(p) => Some((at.as_millis(), p.clone())),
                Entry::Event(_) => None,
            })
            .collect();
        self.sent_cursor = self.transcript.len();
        new
    }

    /// Events reported since the last call.
    pub fn events(&mut self) -> Vec<&Event> {
        let start = self.event_cursor;
        self.event_cursor = self.transcript.len();
        self.transcript[start..]
            .iter()
            .filter_map(|(_, e)| match e {
                Entry::Event(ev) => Some(ev),
                Entry::Sent(_) => None,
            })
            .collect()
    }

    /// Marks everything so far as seen by [`sent`](Self::sent) and [`events`](Self::events).
    pub fn skip(&mut self) {
        self.sent_cursor = self.transcript.len();
        self.event_cursor = self.transcript.len();
    }

    /// Takes the ack token of the delivered message with `packet_id` out of the transcript.
    pub fn take_ack(&mut self, packet_id: u16) -> AckToken {
        self.transcript
            .iter_mut()
            .find_map(|(_, e)| match e {
                Entry::Event(Event::Message(Message { publish, ack }))
                    if publish.packet_id == Some(pid(packet_id)) =>
                {
                    ack.take()
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("no ack token for packet id {packet_id}"))
    }

    /// The packets the client sent so far as raw frames (fixed header included), split by
    /// their remaining length; clears [`raw`](Self::raw).
    pub fn raw_frames(&mut self) -> Vec<Vec<u8>> {
        let mut frames = Vec::new();
        let mut rest = &self.raw[..];
        while !rest.is_empty() {
            let (len, len_bytes) = varint(&rest[1..]);
            let i = 1 + len_bytes;
            frames.push(rest[..i + len].to_vec());
            rest = &rest[i + len..];
        }
        self.raw.clear();
        frames
    }

    /// The transcript, one line per entry.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        for (at, entry) in &self.transcript {
            let _ = match entry {
                Entry::Sent(p) => writeln!(out, "{:>8} ms  client -> {p:?}", at.as_millis()),
                Entry::Event(e) => writeln!(out, "{:>8} ms  event     {e:?}", at.as_millis()),
            };
        }
        out
    }
}

impl<S: Store> Drop for Harness<S> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- transcript ({:?}) ---\n{}", self.mode, self.dump());
        }
    }
}

/// A Variable Byte Integer at the start of `bytes`: its value and how many bytes it took.
///
/// # Panics
///
/// When it runs past four bytes or past the end.
pub fn varint(bytes: &[u8]) -> (usize, usize) {
    let mut value = 0;
    for (i, byte) in bytes.iter().enumerate().take(4) {
        value |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return (value, i + 1);
        }
    }
    panic!("not a Variable Byte Integer of at most four bytes: {bytes:?}")
}

/// Runs `f` against the session and returns, with its result, the bytes it queued for the
/// transport, raw: they are taken before the broker decodes them, so they stay out of the
/// transcript. Events go to the transcript as usual.
pub fn raw<T, S: Store>(
    h: &mut Harness<S>,
    f: impl FnOnce(&mut Session<S>, Instant) -> T,
) -> (T, Vec<u8>) {
    let now = h.now;
    let result = f(&mut h.session, now);
    let mut bytes = Vec::new();
    while let Some(chunk) = h.session.poll_transmit() {
        bytes.extend_from_slice(&chunk);
    }
    h.pump();
    (result, bytes)
}

/// After the server broke the protocol with the bytes just injected: checks that the client
/// answered, byte for byte, with DISCONNECT `code` (`E0 01 code`) in MQTT 5.0 and with nothing in
/// MQTT 3.x, that the last event ends the connection with `code`, that no event since the last
/// [`Harness::skip`] reports an accepted connection or a failed publish (nothing accepted for
/// sending is given up), and that no timer is left. Returns the error the session reported.
#[track_caller]
pub fn closed_on_fault<S: Store>(h: &mut Harness<S>, code: u8) -> ProtocolError {
    let sent = h.sent();
    let frames = h.raw_frames();
    if h.mode.v5() {
        assert_eq!(sent, [Packet::from(Disconnect::new(ReasonCode(code)))]);
        assert_eq!(
            frames.last(),
            Some(&vec![0xE0, 0x01, code]),
            "the last bytes sent"
        );
    } else {
        assert!(sent.is_empty(), "MQTT 3.x sends nothing: {sent:?}");
    }
    assert_eq!(h.session.state(), ConnectionState::Disconnected);
    assert_eq!(h.session.poll_timeout(), None, "no timer may run");
    let events = h.events();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::Connected(_) | Event::PublishFailed(_))),
        "{events:?}"
    );
    match events.as_slice() {
        [
            ..,
            Event::Disconnected(DisconnectReason::ProtocolError { reason_code, error }),
        ] => {
            assert_eq!(reason_code.0, code, "{error:?}");
            error.clone()
        }
        other => panic!("expected the end of the connection, got {other:?}"),
    }
}

/// `packet` encoded for the mode's version, as the broker would send it.
pub fn encode(mode: Mode, packet: impl Into<Packet>) -> Vec<u8> {
    let mut bytes = Vec::new();
    packet
        .into()
        .encode(mode.version, &mut bytes)
        .expect("the packet encodes");
    bytes
}

// ---- packet builders ------------------------------------------------------------------

pub fn pid(n: u16) -> PacketId {
    PacketId::new(n).expect("non-zero packet id")
}

/// A topic name; the empty one is allowed, for PUBLISH packets with a Topic Alias.
pub fn topic(name: &str) -> TopicName {
    if name.is_empty() {
        return TopicName::default();
    }
    TopicName::new(name).expect("valid topic name")
}

pub fn filter(f: &str) -> TopicFilter {
    TopicFilter::new(f).expect("valid topic filter")
}

pub fn qos(n: u8) -> QoS {
    QoS::from_u8(n).expect("QoS 0 to 2")
}

/// An application message to publish, as the application hands it in.
pub fn msg(name: &str, payload: &'static str, q: u8) -> Publish {
    let mut publish = Publish::new(topic(name), payload);
    publish.qos = qos(q);
    publish
}

/// A PUBLISH as the broker sends it (packet id present for QoS 1 and 2).
pub fn incoming(name: &str, payload: &'static str, q: u8, id: u16) -> Publish {
    let mut publish = msg(name, payload, q);
    publish.packet_id = (q > 0).then(|| pid(id));
    publish
}

/// `publish` as the client sends it: with its packet id and DUP flag.
pub fn on_wire(mut publish: Publish, id: Option<u16>, dup: bool) -> Packet {
    publish.packet_id = id.map(pid);
    publish.dup = dup;
    Packet::Publish(publish)
}

pub fn connack_present() -> ConnAck {
    ConnAck {
        session_present: true,
        ..ConnAck::default()
    }
}

pub fn connack_v5(properties: ConnAckProperties) -> ConnAck {
    ConnAck {
        properties,
        ..ConnAck::default()
    }
}

pub fn puback(id: u16) -> PubAck {
    PubAck::new(pid(id))
}

pub fn pubrec(id: u16) -> PubRec {
    PubRec::new(pid(id))
}

pub fn pubrel(id: u16) -> PubRel {
    PubRel::new(pid(id))
}

pub fn pubcomp(id: u16) -> PubComp {
    PubComp::new(pid(id))
}

pub fn suback(id: u16, codes: &[u8]) -> SubAck {
    SubAck {
        packet_id: pid(id),
        reason_codes: codes.iter().map(|&c| ReasonCode(c)).collect(),
        properties: AckProperties::default(),
    }
}

pub fn unsuback(id: u16, codes: &[u8]) -> UnsubAck {
    UnsubAck {
        packet_id: pid(id),
        reason_codes: codes.iter().map(|&c| ReasonCode(c)).collect(),
        properties: AckProperties::default(),
    }
}

/// A SUBSCRIBE of `filters`, each at `q`.
pub fn subscriptions(filters: &[&str], q: u8) -> Vec<Subscription> {
    filters
        .iter()
        .map(|f| Subscription::new(filter(f), qos(q)))
        .collect()
}

/// The packet ids of the PUBLISH packets in `packets`.
pub fn publish_ids(packets: &[Packet]) -> Vec<u16> {
    packets
        .iter()
        .filter_map(|p| match p {
            Packet::Publish(p) => p.packet_id.map(PacketId::get),
            _ => None,
        })
        .collect()
}

// ---- running a scenario in every mode ---------------------------------------------------

pub const V31_WHOLE: Mode = Mode {
    version: Version::V31,
    feed: Feed::Whole,
};
pub const V31_BYTES: Mode = Mode {
    version: Version::V31,
    feed: Feed::ByteAtATime,
};
pub const V311_WHOLE: Mode = Mode {
    version: Version::V311,
    feed: Feed::Whole,
};
pub const V311_BYTES: Mode = Mode {
    version: Version::V311,
    feed: Feed::ByteAtATime,
};
pub const V5_WHOLE: Mode = Mode {
    version: Version::V5,
    feed: Feed::Whole,
};
pub const V5_BYTES: Mode = Mode {
    version: Version::V5,
    feed: Feed::ByteAtATime,
};

/// Turns scenario functions `fn name(mode: Mode)` into one test per mode, in a module named
/// after each: `all` runs MQTT 3.1, 3.1.1 and 5.0; `v311_v5` the versions with a Session Present
/// flag, client identifiers the server assigns and a SUBACK failure code, which MQTT 3.1 lacks;
/// `v5`, `v311` and `v31` one version; each whole and byte at a time. A scenario left out of the
/// list is dead code, which the lints refuse.
///
/// ```ignore
/// scenarios! {
///     all: qos0, qos1;
///     v5: topic_aliases;
/// }
/// ```
macro_rules! scenarios {
    ($($kind:ident: $($name:ident),+ $(,)?;)+) => {
        $($(scenarios!(@one $kind $name);)+)+
    };
    (@one all $name:ident) => {
        scenarios!(@tests $name, v31_whole V31_WHOLE, v31_bytes V31_BYTES,
            v311_whole V311_WHOLE, v311_bytes V311_BYTES,
            v5_whole V5_WHOLE, v5_bytes V5_BYTES);
    };
    (@one v311_v5 $name:ident) => {
        scenarios!(@tests $name, v311_whole V311_WHOLE, v311_bytes V311_BYTES,
            v5_whole V5_WHOLE, v5_bytes V5_BYTES);
    };
    (@one v31 $name:ident) => {
        scenarios!(@tests $name, v31_whole V31_WHOLE, v31_bytes V31_BYTES);
    };
    (@one v5 $name:ident) => {
        scenarios!(@tests $name, v5_whole V5_WHOLE, v5_bytes V5_BYTES);
    };
    (@one v311 $name:ident) => {
        scenarios!(@tests $name, v311_whole V311_WHOLE, v311_bytes V311_BYTES);
    };
    (@tests $name:ident, $($test:ident $mode:ident),+) => {
        mod $name {
            $(#[test]
            fn $test() {
                super::$name(crate::harness::$mode)
            })+
        }
    };
}
pub(crate) use scenarios;
