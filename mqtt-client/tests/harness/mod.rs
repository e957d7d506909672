//! The deterministic harness of the client layer: a [`Core`] driven as an adapter drives it,
//! a scripted fake broker, and a virtual clock.
//!
//! - [`Harness::run`] is the adapter's loop, without I/O: it takes [`Core::poll_step`] and
//!   does what it says (runs callbacks, "opens" and "closes" the transport), hands every byte
//!   of [`Core::poll_transmit`] to the broker and reports it written (unless
//!   [`Harness::hold_writes`] says the transport is stuck).
//! - The broker is the test: it decodes what the client sends into [`Harness::sent`] and
//!   sends packets with [`Harness::inject`], whole or one byte at a time ([`Feed`]).
//! - The clock moves only through [`Harness::advance`], which calls `handle_timeout` at every
//!   deadline on the way.
//! - Connection events are collected in [`Harness::events`]; the application's streams are
//!   read with [`Harness::recv`].
#![allow(dead_code, unreachable_pub, unused_imports, unused_macros)]

use std::sync::{Arc, Mutex};
use std::task::{Poll, Wake, Waker};

use bytes::BytesMut;

pub use core::time::Duration;

pub use bytes::Bytes;
pub use mqtt_client::proto::{
    ConnAck, ConnAckProperties, Decoder, Disconnect, Packet, PacketId, PubAck, PubComp, PubRec,
    PubRel, Publish, QoS, ReasonCode, SubAck, Subscribe, SubscribeProperties, Subscription,
    TopicFilter, TopicName, UnsubscribeProperties,
};
pub use mqtt_client::session::{
    AckMode, Command, Config, DisconnectReason, FailReason, Instant, PublishId, Qos2Delivery,
    Received, Version,
};
pub use mqtt_client::{
    ClientEvent, CommandError, Core, End, EventsId, Failure, Interest, Message, Overflow, Settings,
    Step, StreamEnd, StreamId, Target,
};

/// How broker bytes reach the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    Whole,
    ByteAtATime,
}

/// A waker that counts its wake-ups.
#[derive(Default)]
pub struct Counter(Mutex<usize>);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        *self.0.lock().unwrap() += 1;
    }
}

impl Counter {
    pub fn count(&self) -> usize {
        *self.0.lock().unwrap()
    }
}

/// What a callback does with its client, in [`Harness::in_callbacks`].
pub type InCallbacks = Box<dyn FnMut(&mut Core<()>)>;

pub struct Harness {
    pub core: Core<()>,
    pub version: Version,
    pub feed: Feed,
    pub now: Instant,
    /// Everything the client sent, decoded by the broker.
    pub packets: Vec<Packet>,
    cursor: usize,
    /// The transport is stuck: bytes are taken but not reported written.
    pub hold_writes: bool,
    /// Bytes taken from the core and not reported written.
    pub unwritten: usize,
    /// Whether a transport is open.
    pub open: bool,
    /// Transports opened so far.
    pub opened: usize,
    /// Fail the next transport opens.
    pub refuse_opens: usize,
    pub stopped: Option<Result<(), End>>,
    wire: BytesMut,
    broker: Decoder,
    events: EventsId,
    pub log: Vec<ClientEvent>,
    pub waker: Arc<Counter>,
    /// Runs after the callbacks of a step and before they are given back: what a callback
    /// does with the client it is given (the core is unlocked meanwhile).
    pub in_callbacks: Option<InCallbacks>,
}

impl Harness {
    pub fn new(config: Config, settings: Settings, feed: Feed) -> Harness {
        let version = config.version;
        let mut core = Core::new(config, settings, 42);
        let events = core.open_events();
        let waker = Arc::new(Counter::default());
        core.register_driver(&Waker::from(waker.clone()));
        Harness {
            core,
            version,
            feed,
            now: Instant::ZERO,
            packets: Vec::new(),
            cursor: 0,
            hold_writes: false,
            unwritten: 0,
            open: false,
            opened: 0,
            refuse_opens: 0,
            stopped: None,
            wire: BytesMut::new(),
            broker: Decoder::new(version),
            events,
            log: Vec::new(),
            waker,
            in_callbacks: None,
        }
    }

    /// The default stream's handle, as the adapter takes it at creation.
    pub fn with_default_stream(mut self) -> Harness {
        self.core.retain_stream(StreamId::DEFAULT);
        self
    }

    /// The adapter's loop, until the core waits.
    pub fn run(&mut self) {
        for _ in 0..10_000 {
            match self.core.poll_step(self.now) {
                Step::Callbacks(mut run) => {
                    run.run(&());
                    if let Some(hook) = &mut self.in_callbacks {
                        hook(&mut self.core);
                    }
                    self.core.finish_callbacks(self.now, run);
                }
                Step::Open => {
                    self.opened += 1;
                    if self.refuse_opens > 0 {
                        self.refuse_opens -= 1;
                        self.core
                            .handle_connect_failed(self.now, &"connection refused");
                    } else {
                        self.open = true;
                        self.core.handle_transport_opened(self.now);
                    }
                }
                Step::Close => {
                    self.open = false;
                    self.unwritten = 0;
                    self.core.handle_transport_closed(self.now, None);
                }
                Step::Stop(result) => {
                    self.stopped = Some(result);
                    self.flush();
                    return;
                }
                Step::Wait => {
                    if !self.flush() {
                        self.collect_events();
                        return;
                    }
                }
                _ => unreachable!(),
            }
            self.flush();
        }
        panic!("the core never settled");
    }

    /// Moves bytes to the broker; `true` if there were any.
    fn flush(&mut self) -> bool {
        let mut any = false;
        while let Some(bytes) = self.core.poll_transmit() {
            any = true;
            assert!(self.open, "bytes to write without a transport");
            self.wire.extend_from_slice(&bytes);
            if self.hold_writes {
                self.unwritten += bytes.len();
            } else {
                self.core.handle_written(bytes.len());
            }
            while let Some(packet) = self.broker.decode(&mut self.wire).expect("valid bytes") {
                self.packets.push(packet);
            }
        }
        any
    }

    /// The stuck transport moves again: what it held is written.
    pub fn release_writes(&mut self) {
        self.hold_writes = false;
        let n = std::mem::take(&mut self.unwritten);
        self.core.handle_written(n);
        self.run();
    }

    fn collect_events(&mut self) {
        while let Poll::Ready(Some(event)) = self.core.poll_event(self.events, None) {
            self.log.push(event);
        }
    }

    /// Opens the transport and answers CONNECT with `connack`.
    pub fn connect_with(&mut self, connack: ConnAck) {
        self.run();
        assert!(self.open, "the core opened a transport");
        assert!(
            matches!(self.sent().as_slice(), [Packet::Connect(_)]),
            "CONNECT went out"
        );
        self.inject(connack);
        assert!(self.core.is_connected());
    }

    pub fn connect(&mut self) {
        self.connect_with(ConnAck::default());
    }

    /// The broker sends `packet`.
    pub fn inject(&mut self, packet: impl Into<Packet>) {
        let mut bytes = Vec::new();
        packet
            .into()
            .encode(self.version, &mut bytes)
            .expect("the broker's packet encodes");
        self.inject_bytes(&bytes);
    }

    /// The broker sends raw bytes.
    pub fn inject_bytes(&mut self, bytes: &[u8]) {
        assert!(self.core.wants_read(), "the core does not read");
        match self.feed {
            Feed::Whole => {
                self.core.handle_bytes(self.now, bytes);
                self.run();
            }
            Feed::ByteAtATime => {
                for byte in bytes {
                    self.core.handle_bytes(self.now, std::slice::from_ref(byte));
                    self.run();
                }
            }
        }
    }

    /// The transport breaks.
    pub fn cut(&mut self) {
        self.open = false;
        self.unwritten = 0;
        self.wire.clear();
        self.core
            .handle_transport_closed(self.now, Some(&"connection reset"));
        self.run();
    }

    /// Moves the clock forward, calling `handle_timeout` at each deadline on the way.
    pub fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        while let Some(deadline) = self.core.poll_timeout().filter(|&d| d <= end) {
            self.now = self.now.max(deadline);
            self.core.handle_timeout(self.now);
            self.run();
        }
        self.now = end;
        self.core.handle_timeout(self.now);
        self.run();
    }

    /// Packets the client sent since the last call.
    pub fn sent(&mut self) -> Vec<Packet> {
        let new = self.packets[self.cursor..].to_vec();
        self.cursor = self.packets.len();
        new
    }

    /// Connection events since the last call.
    pub fn events(&mut self) -> Vec<ClientEvent> {
        self.collect_events();
        std::mem::take(&mut self.log)
    }

    /// The application reads stream `id`.
    pub fn recv(&mut self, id: StreamId) -> Option<Message> {
        let message = match self.core.poll_message(self.now, id, None) {
            Poll::Ready(m) => m,
            Poll::Pending => None,
        };
        self.run();
        message
    }

    /// Everything stream `id` holds now.
    pub fn drain(&mut self, id: StreamId) -> Vec<Message> {
        std::iter::from_fn(|| self.recv(id)).collect()
    }

    pub fn publish(&mut self, topic: &str, payload: &str, qos: QoS) -> PublishId {
        let mut publish = Publish::new(TopicName::new(topic).unwrap(), payload.to_owned());
        publish.qos = qos;
        let id = self
            .core
            .publish(self.now, publish, Interest::Outcome)
            .expect("the publish is accepted");
        self.run();
        id
    }

    pub fn subscribe(&mut self, filter: &str, qos: QoS) -> mqtt_client::session::RequestId {
        let subscription = Subscription::new(TopicFilter::new(filter).unwrap(), qos);
        let id = self
            .core
            .subscribe(
                self.now,
                vec![subscription],
                SubscribeProperties::default(),
                Interest::Outcome,
            )
            .expect("the subscribe is accepted");
        self.run();
        id
    }
}

/// A PUBLISH from the broker.
pub fn incoming(topic: &str, payload: &str, qos: QoS, packet_id: u16) -> Publish {
    let mut publish = Publish::new(TopicName::new(topic).unwrap(), payload.to_owned());
    publish.qos = qos;
    publish.packet_id = PacketId::new(packet_id);
    publish
}

pub fn pid(n: u16) -> PacketId {
    PacketId::new(n).unwrap()
}

/// The packet ids of the PUBACKs among `packets`.
pub fn pubacks(packets: &[Packet]) -> Vec<u16> {
    packets
        .iter()
        .filter_map(|p| match p {
            Packet::PubAck(a) => Some(a.packet_id.get()),
            _ => None,
        })
        .collect()
}

/// A scenario as a test per feeding mode.
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        mod whole {
            $( #[test] fn $name() { super::$name(super::harness::Feed::Whole) } )*
        }
        mod byte_at_a_time {
            $( #[test] fn $name() { super::$name(super::harness::Feed::ByteAtATime) } )*
        }
    };
}
pub(crate) use scenarios;

/// The broker's SUBACK with one reason code.
pub fn suback(packet_id: PacketId, code: ReasonCode) -> SubAck {
    SubAck {
        packet_id,
        reason_codes: vec![code],
        properties: Default::default(),
    }
}
