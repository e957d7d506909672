//! Model-based property tests: random sequences of client commands, broker behaviour, time
//! steps, connection drops and reconnections, run against a small *model broker* that follows
//! the standard, with the session's invariants checked after every step.
//!
//! The session runs in the deterministic [harness](harness) (virtual clock, transcript of every
//! packet and event). The model broker reads what the client sends from the transcript, keeps
//! the server's side of the session (QoS 1 and 2 exchanges both ways, pending SUBSCRIBE and
//! UNSUBSCRIBE) across connections, and answers only when an operation tells it to, in any
//! order across packet identifiers. On a resumed session (Session Present 1) it expects the
//! client's resends and resends its own unacknowledged PUBLISH and PUBREL packets
//! (MQTT-4.4.0-1).
//!
//! Invariants, checked after every step (the letters are used in the assertion messages):
//!
//! - **(a)** Every accepted publish gets at most one outcome ([`Event::Published`] or
//!   [`Event::PublishFailed`]); after a final reconnection with the session present and the
//!   broker acknowledging everything, every one has exactly one. The same for SUBSCRIBE and
//!   UNSUBSCRIBE requests.
//! - **(b)** No inbound QoS 2 message (by the broker's message number) reaches the application
//!   twice, unless the application refused it (MQTT-4.3.3-10).
//! - **(c)** Packet identifiers are unique among the client's outstanding packets (MQTT-2.2.1-3):
//!   a packet reuses an identifier only to resend the same exchange on a new connection, PUBLISH
//!   with DUP set (MQTT-4.4.0-1, MQTT-3.3.1-1); PUBREL only after PUBREC; DUP never on a new
//!   publish or at QoS 0 (MQTT-3.3.1-2). Order: on each connection PUBLISH packets go in the
//!   order the application published them (MQTT-4.6.0-1), PUBREL packets in the order their
//!   PUBRECs arrived (MQTT-4.6.0-4).
//! - **(d)** PUBLISH packets sent on the current connection and not yet acknowledged never
//!   exceed the server's Receive Maximum (MQTT-3.3.4-7, §4.9) nor `max_inflight`.
//! - **(e)** While connected, the client never lets keep alive pass without sending
//!   (MQTT-3.1.2-23): an idle keep alive interval ends with PINGREQ, or with
//!   [`DisconnectReason::KeepAliveTimeout`] when the previous PINGREQ went unanswered.
//! - **(f)** `publishes_queued() <= max_queued`, and `publish` refuses with
//!   [`UsageError::QueueFull`] only when the queue is full.
//! - **(g)** Nothing panics, every byte the client sends decodes (the harness checks), and a
//!   broker that follows the standard never makes the session report a protocol error.
//! - **(h)** Every message the broker considers delivered (PUBACK, PUBCOMP) reached the
//!   application.
//!
//! Cases per test are set by [`CASES`]; the file runs in a few seconds in debug.

mod harness;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use harness::*;
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

/// Cases per property test (four tests: two versions times two QoS 2 delivery points);
/// `PROPTEST_CASES` overrides it for a longer search.
const CASES: u32 = 512;
/// The most operations per case.
const MAX_OPS: usize = 64;
/// Keep alive the client asks for, in seconds.
const KEEP_ALIVE: u16 = 10;
/// The topic filters subscribed to and unsubscribed from.
const FILTERS: [&str; 3] = ["a/#", "b", "c/+/d"];

// ---- what a case is made of -------------------------------------------------------------------

/// The client's configuration for one case.
#[derive(Debug, Clone)]
struct Setup {
    version: Version,
    feed: Feed,
    qos2: Qos2Delivery,
    manual: bool,
    max_inflight: u16,
    max_queued: usize,
    clean_start: bool,
    fail_on_session_lost: bool,
    resubscribe: bool,
    /// The client's Receive Maximum (MQTT 5.0).
    receive_maximum: Option<u16>,
}

impl Setup {
    fn config(&self) -> Config {
        let mut config = Config::new("model", self.version);
        config.keep_alive = Duration::from_secs(KEEP_ALIVE.into());
        config.connect_timeout = Duration::from_secs(15);
        config.clean_start = self.clean_start;
        config.max_inflight = NonZeroU16::new(self.max_inflight).unwrap();
        config.max_queued = self.max_queued;
        config.ack_mode = if self.manual {
            AckMode::Manual
        } else {
            AckMode::Automatic
        };
        config.qos2_delivery = self.qos2;
        config.session_lost = if self.fail_on_session_lost {
            SessionLostPolicy::Fail
        } else {
            SessionLostPolicy::Resend
        };
        config.resubscribe = self.resubscribe;
        if self.version.is_v5() {
            config.connect_properties.receive_maximum =
                self.receive_maximum.and_then(NonZeroU16::new);
        }
        config
    }

    /// The most unacknowledged QoS 1 and 2 publishes the broker may send the client.
    fn client_receive_maximum(&self) -> usize {
        match (self.version.is_v5(), self.receive_maximum) {
            (true, Some(r)) => usize::from(r),
            _ => usize::from(u16::MAX),
        }
    }
}

/// How the broker answers a CONNECT.
#[derive(Debug, Clone, Copy)]
struct Accept {
    /// Resume the session it holds (only possible when the client asks for it).
    present: bool,
    /// MQTT 5.0 Receive Maximum.
    receive_maximum: Option<u16>,
    /// MQTT 5.0 Server Keep Alive.
    server_keep_alive: Option<u16>,
    /// Refuse the connection (Not authorized).
    refuse: bool,
}

#[derive(Debug, Clone)]
enum Op {
    // The application.
    Publish {
        qos: u8,
        len: u8,
    },
    Subscribe {
        filter: u8,
        qos: u8,
    },
    Unsubscribe {
        filter: u8,
    },
    /// Manual acknowledgement of a pending delivery; `refuse` sends 0x80 (MQTT 5.0).
    Ack {
        pick: u8,
        refuse: bool,
    },
    Disconnect,
    // The broker.
    Deliver {
        qos: u8,
    },
    /// Answers one of the client's outstanding packets, or sends a PUBREL it owes.
    Answer {
        pick: u8,
        refuse: bool,
    },
    /// Sends again, with DUP, a QoS 2 PUBLISH it has not released yet.
    Redeliver {
        pick: u8,
    },
    /// Reads what the client sent (answering PINGREQ and a waiting CONNECT).
    Read,
    // Time.
    Advance {
        ms: u16,
    },
    /// Advances by keep alive and checks that PINGREQ went out (e).
    Idle,
    // The connection.
    Drop {
        lose_unread: bool,
    },
    Reconnect {
        accept: Accept,
        delay_connack: bool,
    },
}

fn setup(version: Version, qos2: Qos2Delivery) -> impl Strategy<Value = Setup> {
    (
        any::<bool>(),
        any::<bool>(),
        1..=4u16,
        0..=4usize,
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.3),
        any::<bool>(),
        prop::option::of(1..=4u16),
    )
        .prop_map(
            move |(
                byte_at_a_time,
                manual,
                max_inflight,
                max_queued,
                clean_start,
                fail_on_session_lost,
                resubscribe,
                receive_maximum,
            )| Setup {
                version,
                feed: if byte_at_a_time {
                    Feed::ByteAtATime
                } else {
                    Feed::Whole
                },
                qos2,
                manual,
                max_inflight,
                max_queued,
                clean_start,
                fail_on_session_lost,
                resubscribe,
                receive_maximum,
            },
        )
}

fn accept() -> impl Strategy<Value = Accept> {
    (
        prop::bool::weighted(0.75),
        prop::option::of(1..=4u16),
        prop::option::of(prop_oneof![Just(0u16), 2..=20u16]),
        prop::bool::weighted(0.1),
    )
        .prop_map(
            |(present, receive_maximum, server_keep_alive, refuse)| Accept {
                present,
                receive_maximum,
                server_keep_alive,
                refuse,
            },
        )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..=2u8, 0..=8u8).prop_map(|(qos, len)| Op::Publish { qos, len }),
        1 => (0..3u8, 0..=2u8).prop_map(|(filter, qos)| Op::Subscribe { filter, qos }),
        1 => (0..3u8).prop_map(|filter| Op::Unsubscribe { filter }),
        3 => (any::<u8>(), prop::bool::weighted(0.15))
            .prop_map(|(pick, refuse)| Op::Ack { pick, refuse }),
        1 => Just(Op::Disconnect),
        4 => (0..=2u8).prop_map(|qos| Op::Deliver { qos }),
        8 => (any::<u8>(), prop::bool::weighted(0.1))
            .prop_map(|(pick, refuse)| Op::Answer { pick, refuse }),
        2 => any::<u8>().prop_map(|pick| Op::Redeliver { pick }),
        2 => Just(Op::Read),
        2 => (0..20_000u16).prop_map(|ms| Op::Advance { ms }),
        1 => Just(Op::Idle),
        2 => any::<bool>().prop_map(|lose_unread| Op::Drop { lose_unread }),
        3 => (accept(), prop::bool::weighted(0.2))
            .prop_map(|(accept, delay_connack)| Op::Reconnect { accept, delay_connack }),
    ]
}

// ---- the model broker -------------------------------------------------------------------------

/// An exchange the client started, as the broker holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FromClient {
    /// QoS 1 PUBLISH received; PUBACK not sent yet.
    Publish1,
    /// QoS 2 PUBLISH received; `rec_sent` once PUBREC went out.
    Publish2 {
        rec_sent: bool,
    },
    /// PUBREL received; PUBCOMP not sent yet.
    Released,
    Subscribe(Vec<QoS>),
    Unsubscribe(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ToStage {
    /// PUBLISH sent, waiting for PUBACK or PUBREC.
    Sent,
    /// PUBREC received, PUBREL not sent yet.
    Received,
    /// PUBREL sent, waiting for PUBCOMP.
    Released,
}

/// A QoS 1 or 2 message the broker sends the client.
#[derive(Debug, Clone)]
struct ToClient {
    packet_id: u16,
    message: u64,
    qos: QoS,
    stage: ToStage,
}

#[derive(Debug, Default)]
struct Broker {
    // The session it keeps for the client.
    from_client: BTreeMap<u16, FromClient>,
    to_client: Vec<ToClient>,
    next_packet_id: u16,
    // The current connection.
    open: bool,
    /// CONNACK accepting the connection sent.
    accepted: bool,
    /// What the client sent and the broker has not read yet.
    unread: VecDeque<Packet>,
    /// The answer to a CONNECT still unread.
    plan: Option<Accept>,
    // Across sessions.
    next_message: u64,
    /// Messages at QoS 1 or 2 acknowledged by the client (PUBACK, PUBCOMP, refusing PUBREC).
    completed: BTreeSet<u64>,
    /// Packet identifiers of PUBREC packets it knew nothing about and answered with PUBREL
    /// 0x92: the PUBCOMP that follows ends nothing.
    unknown_released: BTreeSet<u16>,
}

impl Broker {
    /// A packet identifier not used by any of its exchanges towards the client.
    fn allocate(&mut self) -> u16 {
        loop {
            self.next_packet_id = self.next_packet_id.wrapping_add(1).max(1);
            let id = self.next_packet_id;
            if self.to_client.iter().all(|t| t.packet_id != id) {
                return id;
            }
        }
    }
}

// ---- the client's outstanding packets, as seen on the wire ------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum WireKind {
    Publish { publish: Publish, released: bool },
    Subscribe(Subscribe),
    Unsubscribe(Unsubscribe),
}

/// One of the client's exchanges in flight, from the packets it sent and the answers it got.
#[derive(Debug, Clone)]
struct WireOut {
    kind: WireKind,
    /// The connection the packet (PUBLISH, SUBSCRIBE, UNSUBSCRIBE) was last sent on.
    conn: u32,
    /// When its PUBREC arrived, counted in PUBRECs.
    pubrec: u64,
}

impl WireOut {
    fn new(kind: WireKind, conn: u32) -> WireOut {
        WireOut {
            kind,
            conn,
            pubrec: 0,
        }
    }
}

/// The number the model gives the application's publishes, from their payload.
fn publish_number(publish: &Publish) -> u64 {
    let text = std::str::from_utf8(&publish.payload).expect("text payload");
    let digits: String = text[1..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().expect("a numbered payload")
}

// ---- the run ------------------------------------------------------------------------------------

/// A manual-ack token the application holds.
#[derive(Debug)]
struct Pending {
    token: AckToken,
    qos: QoS,
    message: u64,
    /// The broker session it was delivered in.
    session: u32,
}

/// An event or packet taken out of the transcript.
enum Seen {
    Sent(Instant, Packet),
    Message(Publish, Option<AckToken>),
    PublishOutcome(PublishId),
    RequestOutcome(RequestId),
    Connected,
    Disconnected(DisconnectReason),
    Other,
}

struct Model {
    h: Harness,
    setup: Setup,
    /// Transcript entries already looked at.
    cursor: usize,
    /// The number of the current transport, from 1.
    conn: u32,
    /// The broker session number: increases when the broker loses the session.
    session: u32,
    broker: Broker,
    // The application's view.
    accepted: BTreeMap<PublishId, QoS>,
    outcomes: BTreeMap<PublishId, u32>,
    requests: BTreeSet<RequestId>,
    request_outcomes: BTreeMap<RequestId, u32>,
    pending: Vec<Pending>,
    /// Delivery count of QoS 2 messages by message number.
    delivered_qos2: BTreeMap<u64, u32>,
    /// Every message number delivered at QoS 1 or 2.
    delivered: BTreeSet<u64>,
    /// Messages the application refused.
    refused: BTreeSet<u64>,
    /// What the broker sent for each message number: (topic, payload, QoS).
    messages: BTreeMap<u64, (String, Vec<u8>, QoS)>,
    // The wire view of the client.
    wire: BTreeMap<u16, WireOut>,
    /// Receive Maximum of the current connection.
    receive_maximum: usize,
    /// PUBRECs injected so far.
    pubrecs: u64,
    /// On the current connection: the last publish number sent, and the PUBREC order of the
    /// last PUBREL sent.
    last_publish: u64,
    last_pubrel: u64,
    last_send: Instant,
    ping_outstanding: bool,
    pings_sent: u32,
    keep_alive_timeouts: u32,
    publish_counter: u64,
}

fn message_number(publish: &Publish) -> u64 {
    let text = std::str::from_utf8(&publish.payload).expect("the broker's payloads are text");
    text.strip_prefix('m')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected payload {text:?}"))
}

impl Model {
    fn new(setup: Setup) -> Model {
        let mode = Mode {
            version: setup.version,
            feed: setup.feed,
        };
        Model {
            h: Harness::with_config(mode, setup.config()),
            setup,
            cursor: 0,
            conn: 0,
            session: 0,
            broker: Broker::default(),
            accepted: BTreeMap::new(),
            outcomes: BTreeMap::new(),
            requests: BTreeSet::new(),
            request_outcomes: BTreeMap::new(),
            pending: Vec::new(),
            delivered_qos2: BTreeMap::new(),
            delivered: BTreeSet::new(),
            refused: BTreeSet::new(),
            messages: BTreeMap::new(),
            wire: BTreeMap::new(),
            receive_maximum: usize::from(u16::MAX),
            pubrecs: 0,
            last_publish: 0,
            last_pubrel: 0,
            last_send: Instant::ZERO,
            ping_outstanding: false,
            pings_sent: 0,
            keep_alive_timeouts: 0,
            publish_counter: 0,
        }
    }

    fn v5(&self) -> bool {
        self.setup.version.is_v5()
    }

    fn state(&self) -> ConnectionState {
        self.h.session.state()
    }

    // ---- reading the transcript ---------------------------------------------------------

    /// Takes the new transcript entries in order: the client's packets go to the wire checks
    /// and to the broker's unread queue, events to the application's bookkeeping.
    fn observe(&mut self) {
        while self.cursor < self.h.transcript.len() {
            let (at, entry) = &mut self.h.transcript[self.cursor];
            let at = *at;
            self.cursor += 1;
            let seen = match entry {
                Entry::Sent(packet) => Seen::Sent(at, packet.clone()),
                Entry::Event(Event::Message(m)) => Seen::Message(m.publish.clone(), m.ack.take()),
                Entry::Event(Event::Published(p)) => Seen::PublishOutcome(p.id),
                Entry::Event(Event::PublishFailed(p)) => Seen::PublishOutcome(p.id),
                Entry::Event(Event::Subscribed(s)) => Seen::RequestOutcome(s.id),
                Entry::Event(Event::Unsubscribed(u)) => Seen::RequestOutcome(u.id),
                Entry::Event(Event::RequestFailed { id, .. }) => Seen::RequestOutcome(*id),
                Entry::Event(Event::Connected(_)) => Seen::Connected,
                Entry::Event(Event::Disconnected(reason)) => Seen::Disconnected(reason.clone()),
                Entry::Event(_) => Seen::Other,
            };
            match seen {
                Seen::Sent(at, packet) => self.client_sent(at, packet),
                Seen::Message(publish, token) => self.message(publish, token),
                Seen::PublishOutcome(id) => {
                    assert!(
                        self.accepted.contains_key(&id),
                        "(a) outcome of unknown {id:?}"
                    );
                    let n = self.outcomes.entry(id).or_default();
                    *n += 1;
                    assert_eq!(*n, 1, "(a) second outcome for {id:?}");
                }
                Seen::RequestOutcome(id) => {
                    assert!(
                        self.requests.contains(&id) || self.setup.resubscribe,
                        "(a) outcome of unknown {id:?}"
                    );
                    let n = self.request_outcomes.entry(id).or_default();
                    *n += 1;
                    assert_eq!(*n, 1, "(a) second outcome for {id:?}");
                }
                Seen::Connected => {}
                Seen::Disconnected(reason) => {
                    assert!(
                        !matches!(reason, DisconnectReason::ProtocolError { .. }),
                        "(g) a broker that follows the standard caused {reason:?}"
                    );
                    if reason == DisconnectReason::KeepAliveTimeout {
                        self.keep_alive_timeouts += 1;
                    }
                }
                Seen::Other => {}
            }
        }
    }

    /// A packet the client sent: checks (c) and (d), then queues it for the broker.
    fn client_sent(&mut self, at: Instant, packet: Packet) {
        self.last_send = at;
        let conn = self.conn;
        if let Packet::Publish(p) = &packet {
            let n = publish_number(p);
            assert!(
                n > self.last_publish,
                "(c) publish {n} after {} on one connection (MQTT-4.6.0-1)",
                self.last_publish
            );
            self.last_publish = n;
        }
        match &packet {
            Packet::Publish(p) if p.qos == QoS::AtMostOnce => {
                assert!(!p.dup, "(c) DUP set at QoS 0 (MQTT-3.3.1-2)");
            }
            Packet::Publish(p) => {
                let id = p.packet_id.expect("QoS 1 and 2 carry a packet id").get();
                let mut first = p.clone();
                first.dup = false;
                match self.wire.get_mut(&id) {
                    None => {
                        assert!(!p.dup, "(c) DUP on a new publish with id {id}");
                        let kind = WireKind::Publish {
                            publish: first,
                            released: false,
                        };
                        self.wire.insert(id, WireOut::new(kind, conn));
                    }
                    Some(out) => {
                        let WireKind::Publish { publish, released } = &out.kind else {
                            panic!("(c) PUBLISH reuses id {id} of {:?}", out.kind);
                        };
                        assert_eq!(publish, &first, "(c) PUBLISH reuses id {id}");
                        assert!(
                            !released,
                            "(c) PUBLISH {id} again after PUBREC (MQTT-4.3.3-4)"
                        );
                        assert!(p.dup, "(c) resent PUBLISH {id} without DUP (MQTT-3.3.1-1)");
                        assert_ne!(out.conn, conn, "(c) PUBLISH {id} resent on one connection");
                        out.conn = conn;
                    }
                }
                let in_flight = self
                    .wire
                    .values()
                    .filter(|o| o.conn == conn && matches!(o.kind, WireKind::Publish { .. }))
                    .count();
                assert!(
                    in_flight <= self.receive_maximum,
                    "(d) {in_flight} publishes in flight, Receive Maximum {}",
                    self.receive_maximum
                );
                assert!(
                    in_flight <= usize::from(self.setup.max_inflight),
                    "(d) {in_flight} publishes in flight, max_inflight {}",
                    self.setup.max_inflight
                );
            }
            Packet::PubRel(rel) => {
                let id = rel.packet_id.get();
                let pubrec = match self.wire.get(&id) {
                    Some(WireOut {
                        kind: WireKind::Publish { released: true, .. },
                        pubrec,
                        ..
                    }) => *pubrec,
                    _ => panic!("(c) PUBREL {id} without PUBREC"),
                };
                assert!(
                    pubrec > self.last_pubrel,
                    "(c) PUBREL {id} out of PUBREC order (MQTT-4.6.0-4)"
                );
                self.last_pubrel = pubrec;
            }
            Packet::Subscribe(s) => {
                let id = s.packet_id.get();
                self.request_sent(id, WireKind::Subscribe(s.clone()));
            }
            Packet::Unsubscribe(u) => {
                let id = u.packet_id.get();
                self.request_sent(id, WireKind::Unsubscribe(u.clone()));
            }
            Packet::PingReq => {
                self.ping_outstanding = true;
                self.pings_sent += 1;
            }
            _ => {}
        }
        self.broker.unread.push_back(packet);
    }

    fn request_sent(&mut self, id: u16, kind: WireKind) {
        let conn = self.conn;
        match self.wire.get_mut(&id) {
            None => {
                self.wire.insert(id, WireOut::new(kind, conn));
            }
            Some(out) => {
                assert_eq!(out.kind, kind, "(c) id {id} reused");
                assert_ne!(out.conn, conn, "(c) request {id} resent on one connection");
                out.conn = conn;
            }
        }
    }

    /// A message delivered to the application: checks (b).
    fn message(&mut self, publish: Publish, token: Option<AckToken>) {
        let message = message_number(&publish);
        let (topic, payload, qos) = self.messages.get(&message).expect("a message it was sent");
        assert_eq!(publish.topic.as_str(), topic);
        assert_eq!(&publish.payload[..], &payload[..]);
        assert_eq!(publish.qos, *qos);
        if publish.qos == QoS::AtMostOnce {
            assert!(token.is_none());
            return;
        }
        self.delivered.insert(message);
        if publish.qos == QoS::ExactlyOnce {
            let n = self.delivered_qos2.entry(message).or_default();
            *n += 1;
            assert!(
                *n == 1 || self.refused.contains(&message),
                "(b) QoS 2 message {message} delivered {n} times"
            );
        }
        assert_eq!(
            token.is_some(),
            self.setup.manual,
            "a token exactly in manual mode"
        );
        if let Some(token) = token {
            self.pending.push(Pending {
                token,
                qos: publish.qos,
                message,
                session: self.session,
            });
        }
    }

    // ---- driving ------------------------------------------------------------------------

    /// The broker sends `packet` on the open connection; the wire view learns the answers
    /// to the client's exchanges first.
    fn inject(&mut self, packet: Packet) -> bool {
        if !self.broker.open || self.state() == ConnectionState::Disconnected {
            return false;
        }
        match &packet {
            Packet::PubAck(a) => {
                self.wire.remove(&a.packet_id.get());
            }
            Packet::PubRec(r) if r.reason_code.is_error() => {
                self.wire.remove(&r.packet_id.get());
            }
            Packet::PubRec(r) => {
                self.pubrecs += 1;
                if let Some(WireOut {
                    kind: WireKind::Publish { released, .. },
                    pubrec,
                    ..
                }) = self.wire.get_mut(&r.packet_id.get())
                    && !*released
                {
                    *released = true;
                    *pubrec = self.pubrecs;
                }
            }
            Packet::PubComp(c) => {
                self.wire.remove(&c.packet_id.get());
            }
            Packet::SubAck(s) => {
                self.wire.remove(&s.packet_id.get());
            }
            Packet::UnsubAck(u) => {
                self.wire.remove(&u.packet_id.get());
            }
            Packet::ConnAck(c) if !c.reason_code.is_error() => {
                if !c.session_present {
                    self.wire.clear();
                }
                self.receive_maximum = c
                    .properties
                    .receive_maximum
                    .map_or(usize::from(u16::MAX), |r| usize::from(r.get()));
            }
            _ => {}
        }
        self.ping_outstanding = false;
        self.h.inject(packet);
        self.observe();
        true
    }

    /// After every step: the adapter closes a transport the session gave up.
    fn sync(&mut self) {
        if self.broker.open && self.state() == ConnectionState::Disconnected {
            self.broker_close(false);
        }
    }

    fn run(&mut self, op: &Op) {
        match *op {
            Op::Publish { qos: q, len } => self.publish(q, len),
            Op::Subscribe { filter: f, qos: q } => {
                let subs = vec![Subscription::new(filter(FILTERS[usize::from(f)]), qos(q))];
                let result = self
                    .h
                    .cmd(|s, now| s.subscribe(now, subs, Default::default()));
                self.requests.insert(result.expect("subscribe is accepted"));
            }
            Op::Unsubscribe { filter: f } => {
                let filters = vec![filter(FILTERS[usize::from(f)])];
                let result = self
                    .h
                    .cmd(|s, now| s.unsubscribe(now, filters, Default::default()));
                self.requests
                    .insert(result.expect("unsubscribe is accepted"));
            }
            Op::Ack { pick, refuse } => {
                if !self.pending.is_empty() {
                    let index = usize::from(pick) % self.pending.len();
                    self.ack(index, refuse && self.v5());
                }
            }
            Op::Disconnect => {
                let connected = self.state() != ConnectionState::Disconnected;
                let result = self
                    .h
                    .cmd(|s, now| s.disconnect(now, Disconnect::default()));
                assert_eq!(result.is_ok(), connected, "{result:?}");
            }
            Op::Deliver { qos: q } => {
                self.broker_read(true);
                self.deliver(qos(q));
            }
            Op::Answer { pick, refuse } => {
                self.broker_read(true);
                self.answer(pick, refuse);
            }
            Op::Redeliver { pick } => {
                self.broker_read(true);
                self.redeliver(pick);
            }
            Op::Read => self.broker_read(true),
            Op::Advance { ms } => {
                self.h.advance(Duration::from_millis(ms.into()));
                self.observe();
                self.check_keep_alive();
            }
            Op::Idle => self.idle(),
            Op::Drop { lose_unread } => self.drop_connection(lose_unread),
            Op::Reconnect {
                accept,
                delay_connack,
            } => self.reconnect(accept, delay_connack),
        }
        self.observe();
        self.sync();
        self.check();
    }

    fn publish(&mut self, q: u8, len: u8) {
        self.publish_counter += 1;
        let mut payload = format!("c{}", self.publish_counter).into_bytes();
        payload.resize(payload.len() + usize::from(len), b'.');
        let publish = {
            let mut publish = Publish::new(topic("p"), payload);
            publish.qos = qos(q);
            publish
        };
        let queued = self.h.session.publishes_queued();
        let result = self.h.cmd(|s, now| s.publish(now, publish));
        match result {
            Ok(id) => {
                self.accepted.insert(id, qos(q));
            }
            Err(UsageError::QueueFull) => assert!(
                queued >= self.setup.max_queued,
                "(f) QueueFull with {queued} of {} queued",
                self.setup.max_queued
            ),
            Err(e) => panic!("publish refused: {e:?}"),
        }
    }

    fn ack(&mut self, index: usize, refuse: bool) {
        let Pending {
            token,
            qos,
            message,
            session,
        } = self.pending.remove(index);
        let code = if refuse {
            ReasonCode(0x80)
        } else {
            ReasonCode::SUCCESS
        };
        let result = self.h.cmd(|s, now| s.ack(now, token, code));
        match result {
            Ok(()) => {
                if refuse {
                    self.refused.insert(message);
                }
            }
            // A QoS 1 message's acknowledgement dies with its connection (the broker sends it
            // again), and every token dies with the session.
            Err(UsageError::UnknownAckToken)
                if qos == QoS::AtLeastOnce || session != self.session => {}
            Err(e) => panic!("ack of QoS 2 message {message} refused: {e:?}"),
        }
    }

    fn idle(&mut self) {
        let keep_alive = self.h.session.server().keep_alive;
        let watch = self.state() == ConnectionState::Connected && keep_alive > Duration::ZERO;
        let (pings, timeouts, outstanding) = (
            self.pings_sent,
            self.keep_alive_timeouts,
            self.ping_outstanding,
        );
        self.h.advance(if watch {
            keep_alive
        } else {
            Duration::from_secs(KEEP_ALIVE.into())
        });
        self.observe();
        if watch {
            if outstanding {
                assert_eq!(
                    self.keep_alive_timeouts,
                    timeouts + 1,
                    "(e) unanswered PINGREQ did not end the connection"
                );
            } else {
                assert!(
                    self.pings_sent > pings,
                    "(e) no PINGREQ in an idle keep alive"
                );
            }
        }
        self.check_keep_alive();
    }

    /// (e): after time moved, a connected client has sent something within keep alive.
    fn check_keep_alive(&self) {
        let keep_alive = self.h.session.server().keep_alive;
        if self.state() == ConnectionState::Connected && keep_alive > Duration::ZERO {
            let silent = self.h.now - self.last_send;
            assert!(
                silent <= keep_alive,
                "(e) silent for {silent:?}, keep alive {keep_alive:?}"
            );
        }
    }

    fn drop_connection(&mut self, lose_unread: bool) {
        self.h.close();
        self.observe();
        if self.broker.open {
            self.broker_close(lose_unread);
        }
    }

    fn reconnect(&mut self, accept: Accept, delay_connack: bool) {
        if self.state() != ConnectionState::Disconnected || self.broker.open {
            self.drop_connection(false);
        }
        self.conn += 1;
        self.last_publish = 0;
        self.last_pubrel = 0;
        self.broker.open = true;
        self.broker.accepted = false;
        self.broker.unread.clear();
        self.broker.plan = Some(accept);
        self.h.open();
        self.observe();
        if !delay_connack {
            self.broker_read(true);
        }
    }

    /// Invariants that hold after every step.
    fn check(&self) {
        let session = &self.h.session;
        assert!(
            session.publishes_queued() <= self.setup.max_queued,
            "(f) {} queued, max_queued {}",
            session.publishes_queued(),
            self.setup.max_queued
        );
        assert!(
            session.publishes_in_flight() <= usize::from(self.setup.max_inflight),
            "(d) {} in flight, max_inflight {}",
            session.publishes_in_flight(),
            self.setup.max_inflight
        );
        for message in &self.broker.completed {
            assert!(
                self.delivered.contains(message),
                "(h) message {message} acknowledged but never delivered"
            );
        }
    }

    // ---- the broker ---------------------------------------------------------------------

    /// Reads everything the client sent; `respond` answers PINGREQ and CONNECT.
    fn broker_read(&mut self, respond: bool) {
        while let Some(packet) = self.broker.unread.pop_front() {
            self.broker_receive(packet, respond);
        }
    }

    fn broker_close(&mut self, lose_unread: bool) {
        if lose_unread {
            self.broker.unread.clear();
        } else {
            self.broker_read(false);
        }
        self.broker.open = false;
        self.broker.accepted = false;
        self.broker.plan = None;
    }

    fn broker_receive(&mut self, packet: Packet, respond: bool) {
        let b = &mut self.broker;
        match packet {
            Packet::Connect(connect) => {
                if respond && let Some(plan) = b.plan.take() {
                    self.answer_connect(&connect, plan);
                }
            }
            Packet::Publish(p) => {
                let Some(id) = p.packet_id.map(PacketId::get) else {
                    return;
                };
                let state = b.from_client.get(&id);
                if p.qos == QoS::AtLeastOnce {
                    assert!(
                        matches!(state, None | Some(FromClient::Publish1)),
                        "QoS 1 PUBLISH {id} while {state:?}"
                    );
                    b.from_client.insert(id, FromClient::Publish1);
                } else {
                    match state {
                        None => {
                            b.from_client
                                .insert(id, FromClient::Publish2 { rec_sent: false });
                        }
                        Some(FromClient::Publish2 { rec_sent: false }) => {}
                        other => panic!("QoS 2 PUBLISH {id} while {other:?}"),
                    }
                }
            }
            Packet::PubRel(rel) => {
                let id = rel.packet_id.get();
                match b.from_client.get(&id) {
                    Some(FromClient::Publish2 { rec_sent: true } | FromClient::Released) => {
                        b.from_client.insert(id, FromClient::Released);
                    }
                    other => panic!("PUBREL {id} while {other:?}"),
                }
            }
            Packet::Subscribe(s) => {
                let qos = s.subscriptions.iter().map(|s| s.options.qos).collect();
                b.from_client
                    .insert(s.packet_id.get(), FromClient::Subscribe(qos));
            }
            Packet::Unsubscribe(u) => {
                b.from_client
                    .insert(u.packet_id.get(), FromClient::Unsubscribe(u.filters.len()));
            }
            Packet::PubAck(ack) => {
                let id = ack.packet_id.get();
                let i = b
                    .to_client
                    .iter()
                    .position(|t| t.packet_id == id && t.qos == QoS::AtLeastOnce)
                    .unwrap_or_else(|| panic!("PUBACK {id} for nothing"));
                let done = b.to_client.remove(i);
                b.completed.insert(done.message);
            }
            Packet::PubRec(rec) => {
                let id = rec.packet_id.get();
                let Some(i) = b
                    .to_client
                    .iter()
                    .position(|t| t.packet_id == id && t.qos == QoS::ExactlyOnce)
                else {
                    // The client refused the message (PUBREC 0x80) while offline, and the
                    // broker resent it on resuming before it read the refusal: to the client,
                    // whose exchange had ended, that was a new message. MQTT 5.0 §4.3.3: the
                    // sender answers an unknown identifier with PUBREL 0x92.
                    assert!(b.completed.iter().any(|m| self.refused.contains(m)));
                    if respond && b.accepted && !rec.reason_code.is_error() {
                        b.unknown_released.insert(id);
                        let rel = PubRel {
                            reason_code: ReasonCode::PACKET_IDENTIFIER_NOT_FOUND,
                            ..PubRel::new(pid(id))
                        };
                        self.inject(rel.into());
                    }
                    return;
                };
                if rec.reason_code.is_error() {
                    let done = b.to_client.remove(i);
                    b.completed.insert(done.message);
                } else if b.to_client[i].stage == ToStage::Sent {
                    b.to_client[i].stage = ToStage::Received;
                }
            }
            Packet::PubComp(comp) => {
                let id = comp.packet_id.get();
                if b.unknown_released.remove(&id) {
                    return;
                }
                let i = b
                    .to_client
                    .iter()
                    .position(|t| t.packet_id == id && t.stage == ToStage::Released)
                    .unwrap_or_else(|| panic!("PUBCOMP {id} for nothing"));
                let done = b.to_client.remove(i);
                b.completed.insert(done.message);
            }
            Packet::PingReq => {
                if respond && b.accepted {
                    self.inject(Packet::PingResp);
                }
            }
            Packet::Disconnect(_) => {}
            other => panic!("the client sent {other:?}"),
        }
    }

    fn answer_connect(&mut self, connect: &Connect, plan: Accept) {
        let v5 = self.v5();
        if plan.refuse {
            let refused = ConnAck {
                reason_code: ReasonCode::NOT_AUTHORIZED,
                ..ConnAck::default()
            };
            self.inject(refused.into());
            return;
        }
        let present = plan.present && !connect.clean_start;
        if !present {
            // The broker has no session (any more): its exchanges with the client are gone.
            self.broker.from_client.clear();
            self.broker.to_client.clear();
            self.session += 1;
        }
        let mut connack = ConnAck {
            session_present: present,
            ..ConnAck::default()
        };
        if v5 {
            connack.properties.receive_maximum = plan.receive_maximum.and_then(NonZeroU16::new);
            connack.properties.server_keep_alive = plan.server_keep_alive;
        }
        self.broker.accepted = true;
        if !self.inject(connack.into()) {
            return;
        }
        if present {
            // What the client sent in answer to CONNACK (its resends, acknowledgements it owed)
            // is read before the broker resends: in the other order, a QoS 2 message the
            // application refused while offline crosses its resent PUBLISH, which the client
            // must take for a new message (MQTT-4.3.3-9) and count against its Receive Maximum,
            // while the broker, on reading the refusal, counts it no more. Both follow the
            // standard; their counts differ by one, and the client rightly disconnects (0x93).
            self.broker_read(true);
            // MQTT-4.4.0-1: unacknowledged PUBLISH packets again with DUP, and PUBREL.
            for i in 0..self.broker.to_client.len() {
                let t = self.broker.to_client[i].clone();
                let packet = match t.stage {
                    ToStage::Sent => self.publish_packet(&t, true),
                    ToStage::Received | ToStage::Released => {
                        self.broker.to_client[i].stage = ToStage::Released;
                        PubRel::new(pid(t.packet_id)).into()
                    }
                };
                self.inject(packet);
            }
        }
    }

    fn publish_packet(&self, t: &ToClient, dup: bool) -> Packet {
        let (topic_name, payload, qos) = &self.messages[&t.message];
        Packet::Publish({
            let mut publish = Publish::new(topic(topic_name), payload.clone());
            publish.dup = dup;
            publish.qos = *qos;
            publish.packet_id = Some(pid(t.packet_id));
            publish
        })
    }

    fn deliver(&mut self, qos: QoS) {
        if !self.broker.accepted || self.state() != ConnectionState::Connected {
            return;
        }
        // The client's Receive Maximum, counted as a careful server does: until PUBCOMP.
        if qos != QoS::AtMostOnce
            && self.broker.to_client.len() >= self.setup.client_receive_maximum()
        {
            return;
        }
        self.broker.next_message += 1;
        let message = self.broker.next_message;
        let topic_name = format!("t/{}", message % 3);
        let payload = format!("m{message}").into_bytes();
        self.messages
            .insert(message, (topic_name.clone(), payload.clone(), qos));
        if qos == QoS::AtMostOnce {
            self.inject(Publish::new(topic(&topic_name), payload).into());
            return;
        }
        let packet_id = self.broker.allocate();
        let t = ToClient {
            packet_id,
            message,
            qos,
            stage: ToStage::Sent,
        };
        let packet = self.publish_packet(&t, false);
        self.broker.to_client.push(t);
        self.inject(packet);
    }

    /// Everything the broker could answer now, in a fixed order.
    fn answers(&self, refuse: bool) -> Vec<Packet> {
        let v5 = self.v5();
        let code = |ok: ReasonCode| if refuse && v5 { ReasonCode(0x80) } else { ok };
        let mut answers: Vec<Packet> = Vec::new();
        for (&id, state) in &self.broker.from_client {
            let id = pid(id);
            answers.push(match state {
                FromClient::Publish1 => PubAck {
                    reason_code: code(ReasonCode::SUCCESS),
                    ..PubAck::new(id)
                }
                .into(),
                FromClient::Publish2 { rec_sent: false } => PubRec {
                    reason_code: code(ReasonCode::SUCCESS),
                    ..PubRec::new(id)
                }
                .into(),
                FromClient::Publish2 { rec_sent: true } => continue,
                FromClient::Released => PubComp::new(id).into(),
                FromClient::Subscribe(qos) => SubAck {
                    packet_id: id,
                    reason_codes: qos
                        .iter()
                        .map(|q| {
                            if refuse {
                                ReasonCode(0x80)
                            } else {
                                ReasonCode(q.as_u8())
                            }
                        })
                        .collect(),
                    properties: AckProperties::default(),
                }
                .into(),
                FromClient::Unsubscribe(n) => UnsubAck {
                    packet_id: id,
                    reason_codes: if v5 {
                        vec![code(ReasonCode::SUCCESS); *n]
                    } else {
                        Vec::new()
                    },
                    properties: AckProperties::default(),
                }
                .into(),
            });
        }
        for t in &self.broker.to_client {
            if t.stage == ToStage::Received {
                answers.push(PubRel::new(pid(t.packet_id)).into());
            }
        }
        answers
    }

    fn answer(&mut self, pick: u8, refuse: bool) {
        if !self.broker.accepted || self.state() != ConnectionState::Connected {
            return;
        }
        let answers = self.answers(refuse);
        if answers.is_empty() {
            return;
        }
        let packet = answers[usize::from(pick) % answers.len()].clone();
        self.send_answer(packet);
    }

    /// Sends one answer and moves the broker's state on.
    fn send_answer(&mut self, packet: Packet) {
        let b = &mut self.broker;
        match &packet {
            Packet::PubRec(r) if !r.reason_code.is_error() => {
                b.from_client
                    .insert(r.packet_id.get(), FromClient::Publish2 { rec_sent: true });
            }
            Packet::PubAck(_)
            | Packet::PubRec(_)
            | Packet::PubComp(_)
            | Packet::SubAck(_)
            | Packet::UnsubAck(_) => {
                let id = match &packet {
                    Packet::PubAck(a) => a.packet_id,
                    Packet::PubRec(r) => r.packet_id,
                    Packet::PubComp(c) => c.packet_id,
                    Packet::SubAck(s) => s.packet_id,
                    Packet::UnsubAck(u) => u.packet_id,
                    _ => unreachable!(),
                };
                b.from_client.remove(&id.get());
            }
            Packet::PubRel(r) => {
                let id = r.packet_id.get();
                for t in &mut b.to_client {
                    if t.packet_id == id {
                        t.stage = ToStage::Released;
                    }
                }
            }
            _ => {}
        }
        self.inject(packet);
    }

    fn redeliver(&mut self, pick: u8) {
        if !self.broker.accepted || self.state() != ConnectionState::Connected {
            return;
        }
        let candidates: Vec<ToClient> = self
            .broker
            .to_client
            .iter()
            .filter(|t| t.qos == QoS::ExactlyOnce && t.stage != ToStage::Released)
            .cloned()
            .collect();
        if candidates.is_empty() {
            return;
        }
        let t = &candidates[usize::from(pick) % candidates.len()];
        let packet = self.publish_packet(t, true);
        self.inject(packet);
    }

    // ---- the end ------------------------------------------------------------------------

    /// Reconnects with the session present and lets the broker and the application
    /// acknowledge everything; then every publish and request has its one outcome (a).
    fn finish(&mut self) {
        let accept = Accept {
            present: true,
            receive_maximum: None,
            server_keep_alive: None,
            refuse: false,
        };
        self.run(&Op::Reconnect {
            accept,
            delay_connack: false,
        });
        assert_eq!(self.state(), ConnectionState::Connected);
        for _ in 0..10_000 {
            self.broker_read(true);
            let tokens = self.pending.len();
            for _ in 0..tokens {
                self.ack(0, false);
            }
            self.observe();
            let answers = self.answers(false);
            let Some(packet) = answers.into_iter().next() else {
                if self.pending.is_empty() && self.broker.unread.is_empty() {
                    break;
                }
                continue;
            };
            self.send_answer(packet);
            self.observe();
            self.sync();
            self.check();
        }
        let session = &self.h.session;
        assert_eq!(session.state(), ConnectionState::Connected);
        assert_eq!(
            session.publishes_in_flight(),
            0,
            "(a) publishes left in flight"
        );
        assert_eq!(session.publishes_queued(), 0, "(a) publishes left queued");
        for id in self.accepted.keys() {
            assert_eq!(self.outcomes.get(id), Some(&1), "(a) no outcome for {id:?}");
        }
        for id in &self.requests {
            assert_eq!(
                self.request_outcomes.get(id),
                Some(&1),
                "(a) no outcome for {id:?}"
            );
        }
        assert!(
            self.wire.is_empty(),
            "client exchanges left: {:?}",
            self.wire
        );
        assert!(
            self.broker.to_client.is_empty(),
            "broker exchanges left: {:?}",
            self.broker.to_client
        );
        assert!(self.broker.from_client.is_empty());
    }
}

fn run_case(setup: Setup, ops: &[Op]) -> Model {
    let mut model = Model::new(setup);
    // The first connection; later ones come from the operations.
    let first = Accept {
        present: true,
        receive_maximum: None,
        server_keep_alive: None,
        refuse: false,
    };
    model.run(&Op::Reconnect {
        accept: first,
        delay_connack: false,
    });
    for op in ops {
        model.run(op);
    }
    model.finish();
    model
}

fn proptest_config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok();
    ProptestConfig {
        cases: cases.and_then(|c| c.parse().ok()).unwrap_or(CASES),
        // Failures are turned into named tests below, not into files next to this one.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn v311_qos2_on_publish(
        setup in setup(Version::V311, Qos2Delivery::OnPublish),
        ops in prop::collection::vec(op(), 0..MAX_OPS),
    ) {
        run_case(setup, &ops);
    }

    #[test]
    fn v311_qos2_on_pubrel(
        setup in setup(Version::V311, Qos2Delivery::OnPubRel),
        ops in prop::collection::vec(op(), 0..MAX_OPS),
    ) {
        run_case(setup, &ops);
    }

    #[test]
    fn v5_qos2_on_publish(
        setup in setup(Version::V5, Qos2Delivery::OnPublish),
        ops in prop::collection::vec(op(), 0..MAX_OPS),
    ) {
        run_case(setup, &ops);
    }

    #[test]
    fn v5_qos2_on_pubrel(
        setup in setup(Version::V5, Qos2Delivery::OnPubRel),
        ops in prop::collection::vec(op(), 0..MAX_OPS),
    ) {
        run_case(setup, &ops);
    }
}

// ---- the failures found, as fixed cases ---------------------------------------------------------

/// A plain setup: automatic acknowledgement, a window of 3, an unbounded queue, resuming.
fn plain(version: Version, qos2: Qos2Delivery) -> Setup {
    Setup {
        version,
        feed: Feed::Whole,
        qos2,
        manual: false,
        max_inflight: 3,
        max_queued: 100,
        clean_start: false,
        fail_on_session_lost: false,
        resubscribe: false,
        receive_maximum: None,
    }
}

fn reconnect(present: bool, receive_maximum: Option<u16>) -> Op {
    Op::Reconnect {
        accept: Accept {
            present,
            receive_maximum,
            server_keep_alive: None,
            refuse: false,
        },
        delay_connack: false,
    }
}

/// (d) The session resumes on a server whose Receive Maximum is now 1: it resent both
/// unacknowledged publishes at once (MQTT-3.3.4-7). Now the second waits for the first's PUBACK.
#[test]
fn resume_with_a_lower_receive_maximum() {
    let ops = [
        Op::Publish { qos: 1, len: 0 },
        Op::Publish { qos: 2, len: 0 },
        reconnect(true, Some(1)),
        Op::Answer {
            pick: 0,
            refuse: false,
        },
    ];
    run_case(plain(Version::V5, Qos2Delivery::OnPublish), &ops);
}

/// (f) The server lost the session and allows one publish at a time: the two publishes that
/// were in flight went back into the queue, in front of the one waiting there, making it
/// longer than `max_queued`. Now they stay in flight, waiting for room.
#[test]
fn lost_session_with_a_lower_receive_maximum() {
    let setup = Setup {
        max_inflight: 2,
        max_queued: 1,
        ..plain(Version::V5, Qos2Delivery::OnPublish)
    };
    let ops = [
        Op::Publish { qos: 1, len: 0 },
        Op::Publish { qos: 1, len: 0 },
        Op::Publish { qos: 1, len: 0 },
        reconnect(false, Some(1)),
    ];
    run_case(setup, &ops);
}

/// (c) A publish waiting for room in the window got its PUBREC (the server had it from the last
/// connection); when the window opened it went out again as PUBLISH, after PUBREC
/// (MQTT-4.3.3-4). Now PUBREC takes it off the wait.
#[test]
fn pubrec_for_a_publish_waiting_for_the_window() {
    let ops = [
        Op::Publish { qos: 1, len: 0 },
        Op::Publish { qos: 2, len: 0 },
        reconnect(true, Some(1)),
        // The broker's answers are in packet id order: PUBACK 1, PUBREC 2.
        Op::Answer {
            pick: 1,
            refuse: false,
        },
        Op::Answer {
            pick: 0,
            refuse: false,
        },
    ];
    run_case(plain(Version::V5, Qos2Delivery::OnPublish), &ops);
}

/// A QoS 2 message (delivered on PUBREL) came again with DUP while its PUBREC waited behind
/// the unacknowledged QoS 1 message before it: the PUBREC went out at once, ahead of the
/// PUBACK (the session sends acknowledgements in arrival order, MQTT-4.6.0-2 and -3), and the
/// one owed stayed owed after the exchange ended, to go out on the next connection for an
/// identifier the broker may have reused. Now the duplicate waits for the owed PUBREC.
#[test]
fn duplicate_qos2_publish_while_its_pubrec_is_owed() {
    for version in [Version::V311, Version::V5] {
        let setup = Setup {
            manual: true,
            max_inflight: 1,
            max_queued: 0,
            ..plain(version, Qos2Delivery::OnPubRel)
        };
        let ops = [
            Op::Deliver { qos: 1 },
            Op::Deliver { qos: 2 },
            Op::Redeliver { pick: 0 },
            Op::Answer {
                pick: 0,
                refuse: false,
            },
            Op::Ack {
                pick: 1,
                refuse: false,
            },
            Op::Ack {
                pick: 0,
                refuse: false,
            },
            Op::Answer {
                pick: 0,
                refuse: false,
            },
        ];
        let model = run_case(setup, &ops);
        let acks: Vec<Packet> = model
            .h
            .transcript
            .iter()
            .filter_map(|(_, e)| match e {
                Entry::Sent(p @ (Packet::PubAck(_) | Packet::PubRec(_))) => Some(p.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(acks, [puback(1).into(), pubrec(2).into()]);
    }
}

/// The same PUBREC, owed behind an unacknowledged QoS 1 message, when a server that breaks the
/// exchange sends PUBREL before it: the exchange is over, and the PUBREC must not follow, on
/// this connection or the next.
#[test]
fn pubrel_before_the_owed_pubrec() {
    for mode in [V311_WHOLE, V5_WHOLE] {
        let mut config = mode.config();
        config.ack_mode = AckMode::Manual;
        config.qos2_delivery = Qos2Delivery::OnPubRel;
        config.clean_start = false;
        let mut h = Harness::with_config(mode, config);
        h.connect_with(connack_present());
        h.inject(incoming("a", "one", 1, 1));
        h.inject(incoming("b", "two", 2, 2));
        assert_eq!(h.sent(), [], "PUBREC 2 waits for the ack of 1");
        h.inject(pubrel(2));
        let token = h.take_ack(2);
        h.cmd(|s, now| s.ack(now, token, ReasonCode::SUCCESS))
            .unwrap();
        let token = h.take_ack(1);
        h.cmd(|s, now| s.ack(now, token, ReasonCode::SUCCESS))
            .unwrap();
        assert_eq!(h.sent(), [pubcomp(2).into(), puback(1).into()]);
        h.close();
        h.open();
        h.inject(connack_present());
        let sent = h.sent();
        assert!(matches!(sent.as_slice(), [Packet::Connect(_)]), "{sent:?}");
    }
}
