//! The message flows that `benches/throughput.rs` times and `tests/allocations.rs` counts heap
//! allocations in: a [`Session`] connected to a fake broker that answers at once, with every
//! answer encoded beforehand so that the broker's side costs nothing but a slice.
//!
//! - [`Outbound`]: the application publishes as many messages as the in-flight window of the
//!   default configuration takes (at most [`MAX_BATCH`]), the broker acknowledges them all in one
//!   read (PUBACK for QoS 1; PUBREC, then PUBCOMP after the PUBRELs, for QoS 2), and
//!   the adapter drains `poll_transmit` and `poll_event`.
//! - [`Inbound`]: the broker's stream of PUBLISH packets is fed in [`CHUNK`]-byte reads, each
//!   followed by draining the events and the PUBACKs to write.
//!
//! Messages have a [`TOPIC`] of 30 bytes and a [`PAYLOAD`] of 16 bytes.
//!
//! [`outbound_allocations`] and [`inbound_allocations`] count heap allocations per message in
//! the steady state, with the counting allocator the including binary installs.

#![allow(dead_code, unreachable_pub)]

use std::alloc::System;
use std::hint::black_box;

use bytes::Bytes;
use mqtt_session::proto::{
    ByteString, ConnAck, Packet, PacketId, PubAck, PubComp, PubRec, Publish, QoS, TopicName,
};
use mqtt_session::{Config, Event, Instant, MemoryStore, Session, Store, Version};
use stats_alloc::{Region, StatsAlloc};

/// Exactly 30 bytes.
pub const TOPIC: &str = "sensors/building-7/floor-3/tmp";
/// Exactly 16 bytes.
pub const PAYLOAD: &[u8; 16] = b"0123456789abcdef";
/// The most outbound messages published between two reads of the broker's answers. A batch is
/// also at most the in-flight window, so that none waits in the queue and every answer the
/// broker gives is to a publish in flight.
pub const MAX_BATCH: usize = 64;
/// The size of one read from the transport in the inbound flows.
pub const CHUNK: usize = 64 * 1024;

/// The time the flows run at; keep alive is re-armed from it but never fires.
const NOW: Instant = Instant::from_millis(1);

/// Both protocol versions, with the names the reports use.
pub const VERSIONS: [(Version, &str); 2] = [(Version::V311, "v311"), (Version::V5, "v5")];

/// A message of the flows, built as an application would: a topic and a payload that share
/// their memory with earlier messages, and no properties.
pub fn message(qos: QoS) -> Publish {
    let topic = TopicName::new(ByteString::from_static(TOPIC)).unwrap();
    let mut publish = Publish::new(topic, Bytes::from_static(PAYLOAD));
    publish.qos = qos;
    publish
}

/// A session of `version` over `store`, connected to the fake broker.
pub fn connected<S: Store>(version: Version, store: S) -> Session<S> {
    let mut session = Session::with_store(Config::new("bench", version), store);
    session.handle_transport_opened(Instant::ZERO).unwrap();
    while session.poll_transmit().is_some() {}
    let mut connack = Vec::new();
    Packet::from(ConnAck::default())
        .encode(version, &mut connack)
        .unwrap();
    session.handle_bytes(Instant::ZERO, &connack);
    assert!(matches!(session.poll_event(), Some(Event::Connected(_))));
    assert!(session.poll_event().is_none());
    session
}

/// Hands every chunk the session has to write to a transport that sends it at once.
fn drain_transmit<S: Store>(session: &mut Session<S>) {
    while let Some(bytes) = session.poll_transmit() {
        black_box(bytes);
    }
}

/// One kind of acknowledgement for each packet identifier from 1 to 65,535, back to back, so
/// that the answers to consecutive identifiers are one slice.
struct Answers {
    bytes: Vec<u8>,
    /// The length of one answer; all have the same.
    len: usize,
}

impl Answers {
    fn new(version: Version, make: impl Fn(PacketId) -> Packet) -> Answers {
        let mut bytes = Vec::new();
        let mut len = None;
        for id in 1..=u16::MAX {
            let before = bytes.len();
            make(PacketId::new(id).unwrap())
                .encode(version, &mut bytes)
                .unwrap();
            let this = bytes.len() - before;
            assert_eq!(*len.get_or_insert(this), this, "answers differ in length");
        }
        Answers {
            bytes,
            len: len.unwrap(),
        }
    }

    /// Feeds the answers to `count` identifiers from `first` on: one read, or two where the
    /// identifiers wrap from 65,535 to 1.
    fn feed<S: Store>(&self, session: &mut Session<S>, first: PacketId, count: usize) {
        let start = usize::from(first.get() - 1) * self.len;
        let end = start + count * self.len;
        if end <= self.bytes.len() {
            session.handle_bytes(NOW, &self.bytes[start..end]);
        } else {
            session.handle_bytes(NOW, &self.bytes[start..]);
            session.handle_bytes(NOW, &self.bytes[..end - self.bytes.len()]);
        }
    }
}

/// The packet identifier `count` allocations after `id`, as the session hands them out when
/// none is in use: in order, wrapping from 65,535 to 1.
fn advance(id: PacketId, count: usize) -> PacketId {
    let next = (usize::from(id.get()) - 1 + count) % usize::from(u16::MAX) + 1;
    PacketId::new(u16::try_from(next).unwrap()).unwrap()
}

/// Outbound publishes of one QoS, acknowledged at once by the fake broker.
pub struct Outbound<S: Store> {
    session: Session<S>,
    qos: QoS,
    /// PUBACK for QoS 1, PUBREC for QoS 2.
    acks: Option<Answers>,
    /// PUBCOMP for QoS 2.
    comps: Option<Answers>,
    /// The packet identifier the session gives the next QoS 1 or 2 publish.
    next_id: PacketId,
    /// Messages per batch.
    batch: usize,
}

impl<S: Store> Outbound<S> {
    /// A connected session and the broker's answers for `qos`.
    pub fn new(version: Version, qos: QoS, store: S) -> Outbound<S> {
        let (acks, comps) = match qos {
            QoS::AtMostOnce => (None, None),
            QoS::AtLeastOnce => (
                Some(Answers::new(version, |id| PubAck::new(id).into())),
                None,
            ),
            QoS::ExactlyOnce => (
                Some(Answers::new(version, |id| PubRec::new(id).into())),
                Some(Answers::new(version, |id| PubComp::new(id).into())),
            ),
        };
        let session = connected(version, store);
        let window = usize::from(session.config().max_inflight.get());
        Outbound {
            batch: window.min(MAX_BATCH),
            session,
            qos,
            acks,
            comps,
            next_id: PacketId::MIN,
        }
    }

    /// The number of messages [`run_batch`](Self::run_batch) publishes.
    pub fn batch_len(&self) -> usize {
        self.batch
    }

    /// Publishes [`batch_len`](Self::batch_len) messages and lets the broker complete them all.
    ///
    /// # Panics
    ///
    /// Unless every message is reported [`Event::Published`] and nothing is left in flight.
    pub fn run_batch(&mut self) {
        for _ in 0..self.batch {
            let publish = message(self.qos);
            black_box(self.session.publish(NOW, publish).unwrap());
        }
        drain_transmit(&mut self.session);
        if let Some(acks) = &self.acks {
            acks.feed(&mut self.session, self.next_id, self.batch);
            drain_transmit(&mut self.session); // PUBRELs
            if let Some(comps) = &self.comps {
                comps.feed(&mut self.session, self.next_id, self.batch);
            }
            self.next_id = advance(self.next_id, self.batch);
        }
        let mut published = 0;
        while let Some(event) = self.session.poll_event() {
            published += usize::from(matches!(event, Event::Published(_)));
            black_box(event);
        }
        assert_eq!(published, self.batch);
        assert_eq!(self.session.publishes_in_flight(), 0);
    }

    /// The session, for checks.
    pub fn session(&self) -> &Session<S> {
        &self.session
    }
}

/// A stream of inbound PUBLISH packets of one QoS, fed in reads of [`CHUNK`] bytes.
pub struct Inbound<S: Store> {
    session: Session<S>,
    stream: Vec<u8>,
    messages: usize,
}

impl<S: Store> Inbound<S> {
    /// A connected session and a stream of `messages` PUBLISH packets; at QoS 1 and 2 their
    /// packet identifiers count up from 1, wrapping after 65,535.
    pub fn new(version: Version, qos: QoS, store: S, messages: usize) -> Inbound<S> {
        let mut publish = message(qos);
        let mut stream = Vec::new();
        let mut id = PacketId::MIN;
        for _ in 0..messages {
            if qos != QoS::AtMostOnce {
                publish.packet_id = Some(id);
                id = id.next();
            }
            publish.encode(version, &mut stream).unwrap();
        }
        Inbound {
            session: connected(version, store),
            stream,
            messages,
        }
    }

    /// The number of messages in the stream.
    pub fn messages(&self) -> usize {
        self.messages
    }

    /// Feeds the whole stream, draining the PUBACKs to write and the events after every read.
    ///
    /// # Panics
    ///
    /// Unless every message is delivered as an [`Event::Message`].
    pub fn run(&mut self) {
        let mut delivered = 0;
        for chunk in self.stream.chunks(CHUNK) {
            self.session.handle_bytes(NOW, chunk);
            drain_transmit(&mut self.session);
            while let Some(event) = self.session.poll_event() {
                delivered += usize::from(matches!(event, Event::Message(_)));
                black_box(event);
            }
        }
        assert_eq!(delivered, self.messages);
    }

    /// The session, for checks.
    pub fn session(&self) -> &Session<S> {
        &self.session
    }
}

/// Messages the allocation counts are averaged over.
pub const COUNTED: usize = 10_240;

/// Allocations and reallocations, counted by `counter`, per message while `run` handles
/// `messages` messages.
pub fn per_message(counter: &StatsAlloc<System>, messages: usize, run: impl FnOnce()) -> f64 {
    let region = Region::new(counter);
    run();
    let stats = region.change();
    (stats.allocations + stats.reallocations) as f64 / messages as f64
}

/// Allocations per message of [`Outbound`] in the steady state: after a warm-up in which the
/// buffers and queues reach their working size, over about [`COUNTED`] messages.
pub fn outbound_allocations<S: Store>(
    counter: &StatsAlloc<System>,
    version: Version,
    qos: QoS,
    store: S,
) -> f64 {
    let mut flow = Outbound::new(version, qos, store);
    for _ in 0..16 {
        flow.run_batch();
    }
    let batches = COUNTED / flow.batch_len();
    per_message(counter, batches * flow.batch_len(), || {
        for _ in 0..batches {
            flow.run_batch();
        }
    })
}

/// Allocations per message of [`Inbound`] over a stream of [`COUNTED`] messages, fed once
/// before it is counted.
pub fn inbound_allocations(counter: &StatsAlloc<System>, version: Version, qos: QoS) -> f64 {
    let mut flow = Inbound::new(version, qos, MemoryStore::new(), COUNTED);
    flow.run();
    per_message(counter, COUNTED, || flow.run())
}
