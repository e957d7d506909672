//! The steps and checks of the `session` fuzz target, shared by `fuzz/fuzz_targets/session.rs`
//! and by `tests/fuzz_corpus.rs`, which replays the seed corpus and every regression.
//!
//! An input is a configuration header followed by steps, read byte by byte through
//! [`arbitrary::Unstructured`] (see [`Script`], which writes inputs for the seed corpus):
//!
//! - the transport: open, close;
//! - time: forward by some milliseconds, or to the session's deadline;
//! - broker bytes: raw bytes, or a well-formed server packet built from the input (CONNACK,
//!   PUBLISH, the acknowledgements with packet identifiers the client has in flight, SUBACK,
//!   UNSUBACK, PINGRESP, DISCONNECT, AUTH, and packets a client must never receive), fed whole,
//!   cut in two, or through `read_buffer` and `handle_read`;
//! - commands: publish, subscribe, unsubscribe, ack, disconnect, auth.
//!
//! After every step the session is drained, and:
//!
//! - nothing panics;
//! - everything it sends decodes, and no packet is left half-sent;
//! - packet identifiers stay unique among the client's exchanges in flight (MQTT-2.2.1-3): a
//!   PUBLISH, SUBSCRIBE or UNSUBSCRIBE reuses one only to resend the same exchange. What could
//!   have ended an exchange is read from the broker's bytes with a decoder of the session's
//!   own configuration, generously (any acknowledgement with that identifier, any CONNACK
//!   without a session), so the check never blames the session for the broker's packets;
//! - every publish and request has at most one outcome;
//! - the queue stays within `max_queued`, the publishes in flight within `max_inflight`;
//! - after `handle_timeout(now)` the next deadline is later than `now`.
#![allow(dead_code, unreachable_pub)]

use std::collections::{BTreeMap, BTreeSet};
use std::num::{NonZeroU16, NonZeroU32};
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use bytes::{Bytes, BytesMut};
use mqtt_proto::{
    AckProperties, Auth, AuthProperties, ConnAck, Connect, Decoder, Disconnect, Packet, PacketId,
    PacketType, PubAck, PubComp, PubRec, PubRel, Publish, QoS, ReasonCode, SubAck, Subscribe,
    SubscribeProperties, Subscription, TopicFilter, TopicName, UnsubAck, Unsubscribe,
};
use mqtt_session::{
    AckMode, AckToken, Config, ConnectionState, Event, Instant, PublishId, Qos2Delivery, RequestId,
    Session, SessionLostPolicy, Version,
};

/// The most steps taken from one input.
const MAX_STEPS: usize = 256;

const TOPICS: [&str; 4] = ["a", "a/b", "c/d/e", "$SYS/x"];
const FILTERS: [&str; 6] = ["a", "a/#", "+/b", "#", "$share/g/a", "c/+/e"];
const REASONS: [u8; 8] = [0x00, 0x01, 0x02, 0x10, 0x80, 0x87, 0x92, 0x97];

/// The reason code picked by `b` for a server packet of `packet_type`: `REASONS[b % 8]` when
/// the packet's table defines it, otherwise the packet's general code of the same kind (0x00,
/// or 0x80 Unspecified error, or 0x92 for PUBREL and PUBCOMP). The encoder refuses undefined
/// codes; the session's answer to them is covered by raw bytes.
fn reason_for(packet_type: PacketType, b: u8) -> ReasonCode {
    let code = ReasonCode(REASONS[usize::from(b % 8)]);
    if code.is_defined_for(packet_type) {
        code
    } else if !code.is_error() {
        ReasonCode::SUCCESS
    } else if matches!(packet_type, PacketType::PubRel | PacketType::PubComp) {
        ReasonCode::PACKET_IDENTIFIER_NOT_FOUND
    } else {
        ReasonCode::UNSPECIFIED_ERROR
    }
}

// ---- the input format -------------------------------------------------------------------------

/// Step opcodes: the first byte of a step, modulo [`OPS`].
pub mod op {
    pub const OPEN: u8 = 0;
    pub const CLOSE: u8 = 1;
    pub const ADVANCE: u8 = 2;
    pub const TO_DEADLINE: u8 = 3;
    pub const RAW: u8 = 4;
    pub const PACKET: u8 = 5;
    pub const PUBLISH: u8 = 6;
    pub const SUBSCRIBE: u8 = 7;
    pub const UNSUBSCRIBE: u8 = 8;
    pub const ACK: u8 = 9;
    pub const DISCONNECT: u8 = 10;
    pub const AUTH: u8 = 11;
    pub const OPS: u8 = 12;
}

/// Server packet kinds: the first byte after [`op::PACKET`], modulo [`KINDS`].
pub mod kind {
    pub const CONNACK: u8 = 0;
    pub const PUBLISH: u8 = 1;
    pub const PUBACK: u8 = 2;
    pub const PUBREC: u8 = 3;
    pub const PUBREL: u8 = 4;
    pub const PUBCOMP: u8 = 5;
    pub const SUBACK: u8 = 6;
    pub const UNSUBACK: u8 = 7;
    pub const PINGRESP: u8 = 8;
    pub const DISCONNECT: u8 = 9;
    pub const AUTH: u8 = 10;
    pub const CLIENT_ONLY: u8 = 11;
    pub const KINDS: u8 = 12;
}

/// A packet identifier byte with this bit set picks one of the client's identifiers in flight.
pub const IN_FLIGHT: u8 = 0x80;

/// Reads the input one byte at a time; zeros once it is exhausted.
struct Input<'a>(Unstructured<'a>);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        u8::arbitrary(&mut self.0).unwrap_or(0)
    }

    fn bit(byte: u8, n: u8) -> bool {
        byte & (1 << n) != 0
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let len = len.min(self.0.len());
        self.0.bytes(len).map(<[u8]>::to_vec).unwrap_or_default()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The configuration, from the first five bytes: byte 0 bit 0 MQTT 5.0, else MQTT 3.1.1, or
/// MQTT 3.1 when bit 6 of byte 4 (the MQTT 5.0 limits, unused before 5.0) is set.
fn config(input: &mut Input<'_>) -> Config {
    let flags = input.byte();
    let version = if Input::bit(flags, 0) {
        Version::V5
    } else {
        Version::V311
    };
    let mut config = Config::new("fuzz", version);
    if Input::bit(flags, 1) {
        config.ack_mode = AckMode::Manual;
    }
    if Input::bit(flags, 2) {
        config.qos2_delivery = Qos2Delivery::OnPubRel;
    }
    config.clean_start = Input::bit(flags, 3);
    if Input::bit(flags, 4) {
        config.session_lost = SessionLostPolicy::Fail;
    }
    config.resubscribe = Input::bit(flags, 5);
    config.outbound_topic_aliases = Input::bit(flags, 6);
    config.packet_events = Input::bit(flags, 7);
    config.max_inflight =
        NonZeroU16::new(1 + u16::from(input.byte() % 8)).unwrap_or(NonZeroU16::MIN);
    config.max_queued = usize::from(input.byte() % 8);
    config.keep_alive = Duration::from_secs(u64::from(input.byte() % 32));
    config.connect_timeout = Duration::from_secs(10);
    let v5 = input.byte();
    if !version.is_v5() && Input::bit(v5, 6) {
        config.version = Version::V31; // "fuzz" is a valid MQTT 3.1 client identifier
    }
    if version.is_v5() {
        let properties = &mut config.connect_properties;
        properties.receive_maximum = NonZeroU16::new(u16::from(v5 & 0x07));
        properties.topic_alias_maximum = Some(u16::from((v5 >> 3) & 0x03));
        if Input::bit(v5, 5) {
            properties.authentication_method = Some("SCRAM".into());
        }
        if Input::bit(v5, 6) {
            properties.maximum_packet_size = NonZeroU32::new(96);
        }
    }
    if Input::bit(v5, 7) {
        config.ping_timeout = Some(Duration::from_secs(2));
    }
    config
}

// ---- the run ----------------------------------------------------------------------------------

/// The client's exchanges in flight as the wire shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Exchange {
    Publish(Publish),
    Subscribe(Subscribe),
    Unsubscribe(Unsubscribe),
}

struct Run {
    session: Session,
    version: Version,
    now: Instant,
    /// Decodes what the client sends.
    client: Decoder,
    client_bytes: BytesMut,
    /// Decodes the broker's bytes as the session does, to learn what could end an exchange.
    mirror: Decoder,
    mirror_bytes: BytesMut,
    /// The client's exchanges by packet identifier, as sent; removed generously.
    in_flight: BTreeMap<u16, Exchange>,
    /// Identifiers of the last SUBSCRIBE and UNSUBSCRIBE sent, with their number of filters.
    requests: BTreeMap<u16, usize>,
    tokens: Vec<AckToken>,
    accepted: BTreeSet<PublishId>,
    outcomes: BTreeSet<PublishId>,
    request_outcomes: BTreeSet<RequestId>,
    max_queued: usize,
    max_inflight: usize,
}

/// Runs one input: never panics unless a check fails.
pub fn fuzz_session(data: &[u8]) {
    let mut input = Input(Unstructured::new(data));
    let config = config(&mut input);
    let version = config.version;
    let max_packet_size = config
        .connect_properties
        .maximum_packet_size
        .filter(|_| version.is_v5())
        .map_or(mqtt_proto::MAX_PACKET_SIZE, NonZeroU32::get);
    let mut run = Run {
        max_queued: config.max_queued,
        max_inflight: usize::from(config.max_inflight.get()),
        session: Session::new(config),
        version,
        now: Instant::from_millis(1_000),
        client: Decoder::new(version),
        client_bytes: BytesMut::new(),
        mirror: Decoder::new(version).with_max_packet_size(max_packet_size),
        mirror_bytes: BytesMut::new(),
        in_flight: BTreeMap::new(),
        requests: BTreeMap::new(),
        tokens: Vec::new(),
        accepted: BTreeSet::new(),
        outcomes: BTreeSet::new(),
        request_outcomes: BTreeSet::new(),
    };
    for _ in 0..MAX_STEPS {
        if input.is_empty() {
            break;
        }
        run.step(&mut input);
        run.drain();
    }
}

impl Run {
    fn step(&mut self, input: &mut Input<'_>) {
        let now = self.now;
        match input.byte() % op::OPS {
            op::OPEN => {
                self.mirror_bytes.clear();
                let _ = self.session.handle_transport_opened(now);
            }
            op::CLOSE => self.session.handle_transport_closed(now),
            op::ADVANCE => {
                let ms = u64::from(u16::from_le_bytes([input.byte(), input.byte()]));
                self.now = now + Duration::from_millis(ms * 4);
                self.timeout();
            }
            op::TO_DEADLINE => {
                if let Some(deadline) = self.session.poll_timeout() {
                    self.now = self.now.max(deadline);
                }
                self.timeout();
            }
            op::RAW => {
                let len = usize::from(input.byte() % 64);
                let bytes = input.bytes(len);
                self.feed(&bytes, 0);
            }
            op::PACKET => {
                let how = input.byte();
                if let Some(packet) = self.server_packet(input) {
                    let mut bytes = Vec::new();
                    if packet.encode(self.version, &mut bytes).is_ok() {
                        self.feed(&bytes, how);
                    }
                }
            }
            op::PUBLISH => self.publish(input),
            op::SUBSCRIBE => {
                let count = 1 + usize::from(input.byte() % 3);
                let subscriptions = (0..count)
                    .map(|_| {
                        let b = input.byte();
                        let mut s =
                            Subscription::new(filter(FILTERS[usize::from(b % 6)]), qos(b >> 3));
                        s.options.no_local = Input::bit(b, 5);
                        s.options.retain_as_published = Input::bit(b, 6);
                        s
                    })
                    .collect();
                let id = input.byte();
                let properties = SubscribeProperties {
                    subscription_identifier: NonZeroU32::new(u32::from(id % 4)),
                    ..SubscribeProperties::default()
                };
                let _ = self.session.subscribe(now, subscriptions, properties);
            }
            op::UNSUBSCRIBE => {
                let count = 1 + usize::from(input.byte() % 3);
                let filters = (0..count)
                    .map(|_| filter(FILTERS[usize::from(input.byte() % 6)]))
                    .collect();
                let _ = self.session.unsubscribe(now, filters, Default::default());
            }
            op::ACK => {
                let pick = usize::from(input.byte());
                let reason = ReasonCode(REASONS[usize::from(input.byte() % 8)]);
                if !self.tokens.is_empty() {
                    let token = self.tokens.swap_remove(pick % self.tokens.len());
                    let _ = self.session.ack(now, token, reason);
                }
            }
            op::DISCONNECT => {
                let b = input.byte();
                let mut disconnect = Disconnect::new(ReasonCode(REASONS[usize::from(b % 8)]));
                if Input::bit(b, 3) {
                    disconnect.properties.session_expiry_interval = Some(u32::from(b >> 4));
                }
                let _ = self.session.disconnect(now, disconnect);
            }
            op::AUTH => {
                let b = input.byte();
                let auth = Auth {
                    reason_code: ReasonCode([0x00, 0x18, 0x19][usize::from(b % 3)]),
                    properties: AuthProperties {
                        authentication_method: Input::bit(b, 2).then(|| "SCRAM".into()),
                        authentication_data: Input::bit(b, 3).then(|| Bytes::from(input.bytes(4))),
                        ..AuthProperties::default()
                    },
                };
                let _ = self.session.auth(now, auth);
            }
            _ => unreachable!("opcodes are taken modulo OPS"),
        }
    }

    fn timeout(&mut self) {
        self.session.handle_timeout(self.now);
        if let Some(next) = self.session.poll_timeout() {
            assert!(
                next > self.now,
                "handle_timeout({:?}) left a deadline due: {next:?}",
                self.now
            );
        }
    }

    fn publish(&mut self, input: &mut Input<'_>) {
        let b = input.byte();
        let len = usize::from(input.byte() % 32);
        let mut publish = Publish::new(topic(TOPICS[usize::from((b >> 3) % 4)]), input.bytes(len));
        publish.qos = qos(b);
        publish.retain = Input::bit(b, 2);
        if self.version.is_v5() {
            if Input::bit(b, 5) {
                publish.properties_mut().message_expiry_interval = Some(u32::from(b >> 6));
            }
            if Input::bit(b, 6) && Input::bit(b, 7) {
                // Refused: Topic Aliases are the session's to choose.
                publish.properties_mut().topic_alias = NonZeroU16::new(1);
            }
        }
        let queued = self.session.publishes_queued();
        match self.session.publish(self.now, publish) {
            Ok(id) => assert!(self.accepted.insert(id), "{id:?} handed out twice"),
            Err(mqtt_session::UsageError::QueueFull) => assert!(
                queued >= self.max_queued,
                "QueueFull with {queued} of {} queued",
                self.max_queued
            ),
            Err(_) => {}
        }
    }

    /// Feeds broker bytes: whole, cut in two, or through `read_buffer` (from `how`).
    fn feed(&mut self, bytes: &[u8], how: u8) {
        if self.session.state() == ConnectionState::Disconnected {
            // The session ignores them, and so does the mirror.
            self.session.handle_bytes(self.now, bytes);
            return;
        }
        self.mirror_bytes.extend_from_slice(bytes);
        loop {
            match self.mirror.decode(&mut self.mirror_bytes) {
                Ok(Some(packet)) => self.broker_sent(&packet),
                Ok(None) => break,
                Err(_) => {
                    self.mirror_bytes.clear();
                    break;
                }
            }
        }
        let now = self.now;
        match how % 4 {
            0 | 1 => self.session.handle_bytes(now, bytes),
            2 => {
                let cut = usize::from(how >> 2).min(bytes.len());
                self.session.handle_bytes(now, &bytes[..cut]);
                self.drain();
                self.session.handle_bytes(now, &bytes[cut..]);
            }
            _ => {
                self.session.read_buffer().extend_from_slice(bytes);
                self.session.handle_read(now);
            }
        }
        if self.session.state() == ConnectionState::Disconnected {
            self.mirror_bytes.clear();
        }
    }

    /// A packet from the broker that the session may have processed: what it could end.
    fn broker_sent(&mut self, packet: &Packet) {
        let ended = match packet {
            Packet::PubAck(a) => Some(a.packet_id),
            Packet::PubRec(r) if r.reason_code.is_error() => Some(r.packet_id),
            Packet::PubComp(c) => Some(c.packet_id),
            Packet::SubAck(s) => Some(s.packet_id),
            Packet::UnsubAck(u) => Some(u.packet_id),
            Packet::ConnAck(c) if !c.session_present => {
                self.in_flight.clear();
                None
            }
            _ => None,
        };
        if let Some(id) = ended {
            self.in_flight.remove(&id.get());
        }
    }

    /// Drains the session the documented way and checks what it sends.
    fn drain(&mut self) {
        while let Some(chunk) = self.session.poll_transmit() {
            assert!(!chunk.is_empty(), "poll_transmit gave an empty chunk");
            self.client_bytes.extend_from_slice(&chunk);
            loop {
                match self.client.decode(&mut self.client_bytes) {
                    Ok(Some(packet)) => self.client_sent(packet),
                    Ok(None) => break,
                    Err(e) => panic!("the client sent bytes that do not decode: {e:?}"),
                }
            }
        }
        assert!(
            self.client_bytes.is_empty(),
            "the client left half a packet"
        );
        while let Some(event) = self.session.poll_event() {
            match event {
                Event::Message(m) => self.tokens.extend(m.ack),
                Event::Published(p) => self.outcome(p.id),
                Event::PublishFailed(p) => self.outcome(p.id),
                Event::Subscribed(s) => self.request_outcome(s.id),
                Event::Unsubscribed(u) => self.request_outcome(u.id),
                Event::RequestFailed { id, .. } => self.request_outcome(id),
                _ => {}
            }
        }
        assert!(
            self.session.publishes_queued() <= self.max_queued,
            "{} queued, max_queued {}",
            self.session.publishes_queued(),
            self.max_queued
        );
        assert!(
            self.session.publishes_in_flight() <= self.max_inflight,
            "{} in flight, max_inflight {}",
            self.session.publishes_in_flight(),
            self.max_inflight
        );
    }

    fn outcome(&mut self, id: PublishId) {
        assert!(self.accepted.contains(&id), "outcome of unknown {id:?}");
        assert!(self.outcomes.insert(id), "second outcome for {id:?}");
    }

    fn request_outcome(&mut self, id: RequestId) {
        assert!(
            self.request_outcomes.insert(id),
            "second outcome for {id:?}"
        );
    }

    /// A packet the client sent: packet identifiers stay unique among its exchanges.
    fn client_sent(&mut self, packet: Packet) {
        let (id, exchange) = match packet {
            Packet::Publish(mut p) if p.qos != QoS::AtMostOnce => {
                let Some(id) = p.packet_id else {
                    panic!("QoS {:?} PUBLISH without a packet id", p.qos)
                };
                let dup = core::mem::take(&mut p.dup);
                // A Topic Alias may stand for the topic on one connection and not the next.
                p.topic = TopicName::default();
                p.properties_mut().topic_alias = None;
                if let Some(Exchange::Publish(_)) = self.in_flight.get(&id.get()) {
                    assert!(dup, "PUBLISH {id} sent again without DUP");
                }
                (id, Exchange::Publish(p))
            }
            Packet::Publish(p) => {
                assert!(!p.dup, "DUP set at QoS 0 (MQTT-3.3.1-2)");
                return;
            }
            Packet::Subscribe(s) => {
                self.requests
                    .insert(s.packet_id.get(), s.subscriptions.len());
                (s.packet_id, Exchange::Subscribe(s))
            }
            Packet::Unsubscribe(u) => {
                self.requests.insert(u.packet_id.get(), u.filters.len());
                (u.packet_id, Exchange::Unsubscribe(u))
            }
            _ => return,
        };
        if let Some(earlier) = self.in_flight.get(&id.get()) {
            assert_eq!(
                earlier, &exchange,
                "packet id {id} reused while its exchange is in flight"
            );
        }
        self.in_flight.insert(id.get(), exchange);
    }

    // ---- server packets ---------------------------------------------------------------------

    /// A packet identifier: one in flight (with [`IN_FLIGHT`]), else 1 to 8.
    fn packet_id(&self, b: u8) -> PacketId {
        if b & IN_FLIGHT != 0 && !self.in_flight.is_empty() {
            let ids: Vec<u16> = self.in_flight.keys().copied().collect();
            return pid(ids[usize::from(b & !IN_FLIGHT) % ids.len()]);
        }
        pid(1 + u16::from(b % 8))
    }

    fn server_packet(&self, input: &mut Input<'_>) -> Option<Packet> {
        let v5 = self.version.is_v5();
        let packet: Packet = match input.byte() % kind::KINDS {
            kind::CONNACK => {
                let (a, b) = (input.byte(), input.byte());
                let mut connack = ConnAck {
                    // MQTT 3.1 has no Session Present flag.
                    session_present: Input::bit(a, 0) && self.version.has_session_present(),
                    reason_code: if Input::bit(a, 1) {
                        ReasonCode([0x80, 0x84, 0x85, 0x86, 0x87, 0x88][usize::from(b % 6)])
                    } else {
                        ReasonCode::SUCCESS
                    },
                    ..ConnAck::default()
                };
                if v5 {
                    let p = &mut connack.properties;
                    if Input::bit(a, 2) {
                        p.receive_maximum = NonZeroU16::new(1 + u16::from(b % 4));
                    }
                    if Input::bit(a, 3) {
                        p.maximum_qos = Some(qos(b >> 2).min(QoS::AtLeastOnce));
                    }
                    if Input::bit(a, 4) {
                        p.topic_alias_maximum = Some(u16::from(b % 3));
                        p.retain_available = Some(Input::bit(b, 7));
                    }
                    if Input::bit(a, 5) {
                        p.maximum_packet_size = NonZeroU32::new(16 + u32::from(b));
                    }
                    if Input::bit(a, 6) {
                        p.server_keep_alive = Some(u16::from(b % 8));
                    }
                    if Input::bit(a, 7) {
                        // The client sends its own identifier: an assigned one is a Protocol
                        // Error (MQTT 5.0 §3.2.2.3.7), so only now and then.
                        if Input::bit(b, 3) {
                            p.assigned_client_identifier = Some("assigned".into());
                        }
                        p.wildcard_subscription_available = Some(Input::bit(b, 4));
                        p.shared_subscription_available = Some(Input::bit(b, 5));
                        p.subscription_identifiers_available = Some(Input::bit(b, 6));
                    }
                }
                Packet::from(connack)
            }
            kind::PUBLISH => {
                let (a, id, len) = (input.byte(), input.byte(), input.byte());
                let mut publish = Publish::new(
                    topic(TOPICS[usize::from((a >> 3) % 4)]),
                    input.bytes(usize::from(len % 24)),
                );
                publish.qos = qos(a);
                publish.retain = Input::bit(a, 2);
                if publish.qos != QoS::AtMostOnce {
                    publish.dup = Input::bit(a, 5);
                    publish.packet_id = Some(pid(1 + u16::from(id % 8)));
                }
                if v5 && Input::bit(a, 6) {
                    // A Topic Alias, with the topic (setting it) or without (using it).
                    publish.properties_mut().topic_alias = NonZeroU16::new(u16::from(id >> 4));
                    if Input::bit(a, 7) {
                        publish.topic = TopicName::default();
                    }
                }
                if v5 && Input::bit(id, 3) {
                    publish.properties_mut().subscription_identifiers = vec![NonZeroU32::MIN];
                }
                Packet::Publish(publish)
            }
            k @ (kind::PUBACK | kind::PUBREC | kind::PUBREL | kind::PUBCOMP) => {
                let id = self.packet_id(input.byte());
                let packet_type = match k {
                    kind::PUBACK => PacketType::PubAck,
                    kind::PUBREC => PacketType::PubRec,
                    kind::PUBREL => PacketType::PubRel,
                    _ => PacketType::PubComp,
                };
                let reason = reason_for(packet_type, input.byte());
                let reason = if v5 { reason } else { ReasonCode::SUCCESS };
                match k {
                    kind::PUBACK => PubAck {
                        reason_code: reason,
                        ..PubAck::new(id)
                    }
                    .into(),
                    kind::PUBREC => PubRec {
                        reason_code: reason,
                        ..PubRec::new(id)
                    }
                    .into(),
                    kind::PUBREL => PubRel {
                        reason_code: reason,
                        ..PubRel::new(id)
                    }
                    .into(),
                    _ => PubComp {
                        reason_code: reason,
                        ..PubComp::new(id)
                    }
                    .into(),
                }
            }
            k @ (kind::SUBACK | kind::UNSUBACK) => {
                let id = self.packet_id(input.byte());
                let n = input.byte();
                // The number of filters of the request, or (rarely) another.
                let count = match self.requests.get(&id.get()) {
                    Some(&count) if !n.is_multiple_of(8) => count,
                    _ => usize::from(n % 4),
                };
                let packet_type = if k == kind::SUBACK {
                    PacketType::SubAck
                } else {
                    PacketType::UnsubAck
                };
                let reason_codes = (0..count)
                    .map(|_| reason_for(packet_type, input.byte()))
                    .collect();
                let properties = AckProperties::default();
                if k == kind::SUBACK {
                    SubAck {
                        packet_id: id,
                        reason_codes,
                        properties,
                    }
                    .into()
                } else {
                    UnsubAck {
                        packet_id: id,
                        reason_codes: if v5 { reason_codes } else { Vec::new() },
                        properties,
                    }
                    .into()
                }
            }
            kind::PINGRESP => Packet::PingResp,
            kind::DISCONNECT => {
                let reason = reason_for(PacketType::Disconnect, input.byte());
                Disconnect::new(if v5 { reason } else { ReasonCode::SUCCESS }).into()
            }
            kind::AUTH => {
                let b = input.byte();
                Auth {
                    reason_code: ReasonCode([0x00, 0x18, 0x19][usize::from(b % 3)]),
                    properties: AuthProperties {
                        authentication_method: Input::bit(b, 2).then(|| "SCRAM".into()),
                        ..AuthProperties::default()
                    },
                }
                .into()
            }
            _ => match input.byte() % 3 {
                0 => Packet::PingReq,
                1 => Packet::Connect(Box::new(Connect::new("x"))),
                _ => Subscribe::new(
                    pid(1),
                    vec![Subscription::new(filter("a"), QoS::AtMostOnce)],
                )
                .into(),
            },
        };
        Some(packet)
    }
}

fn pid(n: u16) -> PacketId {
    PacketId::new(n).unwrap_or(PacketId::MIN)
}

/// The QoS in the low two bits (3 is 0).
fn qos(b: u8) -> QoS {
    QoS::from_u8((b & 0x03) % 3).unwrap_or_default()
}

fn topic(name: &str) -> TopicName {
    TopicName::new(name).expect("valid topic")
}

fn filter(name: &str) -> TopicFilter {
    TopicFilter::new(name).expect("valid filter")
}

// ---- writing inputs ---------------------------------------------------------------------------

/// Builds inputs in the format above, for the seed corpus.
#[derive(Debug, Clone, Default)]
pub struct Script(pub Vec<u8>);

impl Script {
    /// The header: `flags` as read by `config` (bit 0 MQTT 5.0, 1 manual ack, 2 QoS 2 on
    /// PUBREL, 3 clean start, 4 fail on session lost, 5 resubscribe, 6 outbound aliases, 7
    /// packet events), then the window, the queue, keep alive in seconds and the MQTT 5.0 byte
    /// (whose bit 6 selects MQTT 3.1 when bit 0 of `flags` is clear).
    pub fn new(flags: u8, max_inflight: u8, max_queued: u8, keep_alive: u8, v5: u8) -> Script {
        Script(vec![flags, max_inflight - 1, max_queued, keep_alive, v5])
    }

    fn push(mut self, bytes: &[u8]) -> Script {
        self.0.extend_from_slice(bytes);
        self
    }

    pub fn open(self) -> Script {
        self.push(&[op::OPEN])
    }

    pub fn close(self) -> Script {
        self.push(&[op::CLOSE])
    }

    /// Forward by `ms` (a multiple of 4, at most 262 s).
    pub fn advance(self, ms: u32) -> Script {
        let [lo, hi] = u16::try_from(ms / 4).unwrap_or(u16::MAX).to_le_bytes();
        self.push(&[op::ADVANCE, lo, hi])
    }

    pub fn until_deadline(self) -> Script {
        self.push(&[op::TO_DEADLINE])
    }

    pub fn raw(self, bytes: &[u8]) -> Script {
        self.push(&[op::RAW, bytes.len() as u8]).push(bytes)
    }

    /// A server packet: `how` 0 feeds it whole, `2 | cut << 2` in two pieces, 3 through
    /// `read_buffer`; then the kind and its bytes.
    pub fn packet(self, how: u8, kind: u8, bytes: &[u8]) -> Script {
        self.push(&[op::PACKET, how, kind]).push(bytes)
    }

    /// CONNACK: `a` bit 0 session present, bit 1 refused, bits 2 to 7 MQTT 5.0 properties
    /// parameterised by `b`.
    pub fn connack(self, a: u8, b: u8) -> Script {
        self.packet(0, kind::CONNACK, &[a, b])
    }

    /// PUBLISH from the server: `a` bits 0-1 QoS, 2 retain, 3-4 topic, 5 DUP, 6-7 alias.
    pub fn server_publish(self, a: u8, id: u8, payload: &[u8]) -> Script {
        self.packet(0, kind::PUBLISH, &[a, id, payload.len() as u8])
            .push(payload)
    }

    /// An acknowledgement of `kind` for packet id byte `id` (see [`IN_FLIGHT`]).
    pub fn ack_packet(self, kind: u8, id: u8, reason: u8) -> Script {
        self.packet(0, kind, &[id, reason])
    }

    /// SUBACK or UNSUBACK with as many reason codes as the request had filters.
    pub fn request_ack(self, kind: u8, id: u8, reasons: &[u8]) -> Script {
        self.packet(0, kind, &[id, 1]).push(reasons)
    }

    /// PUBLISH command: `b` bits 0-1 QoS, 2 retain, 3-4 topic, 5-7 MQTT 5.0 properties.
    pub fn publish(self, b: u8, payload: &[u8]) -> Script {
        self.push(&[op::PUBLISH, b, payload.len() as u8])
            .push(payload)
    }

    /// SUBSCRIBE command: one byte per filter (bits 0-2 filter, 3-4 QoS, 5-6 options).
    pub fn subscribe(self, filters: &[u8], identifier: u8) -> Script {
        self.push(&[op::SUBSCRIBE, filters.len() as u8 - 1])
            .push(filters)
            .push(&[identifier])
    }

    pub fn unsubscribe(self, filters: &[u8]) -> Script {
        self.push(&[op::UNSUBSCRIBE, filters.len() as u8 - 1])
            .push(filters)
    }

    pub fn ack(self, pick: u8, reason: u8) -> Script {
        self.push(&[op::ACK, pick, reason])
    }

    pub fn disconnect(self, b: u8) -> Script {
        self.push(&[op::DISCONNECT, b])
    }

    /// AUTH command: `b` bits 0-1 reason code (0x00, 0x18, 0x19), 2 with the method.
    pub fn auth(self, b: u8) -> Script {
        self.push(&[op::AUTH, b & !0x08])
    }

    /// AUTH command with four bytes of authentication data.
    pub fn auth_with_data(self, b: u8, data: &[u8; 4]) -> Script {
        self.push(&[op::AUTH, b | 0x08]).push(data)
    }
}
