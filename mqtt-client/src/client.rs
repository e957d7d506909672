//! [`Core`]: the session plus everything between it and the application.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::task::{Poll, Waker};
use core::time::Duration;

use bytes::{Bytes, BytesMut};
use mqtt_proto::{
    Auth, ByteString, Disconnect, PacketId, Publish, QoS, ReasonCode, SubscribeProperties,
    Subscription, TopicFilter, UnsubscribeProperties, Will,
};
use mqtt_session::{
    AckMode, AckToken, Callback, Command, Condition, Config, ConnectionState, DisconnectReason,
    Event, FailReason, Instant, MemoryStore, Published, Qos2Delivery, Received, Reconnect,
    RequestId, Session, Store, Subscribed, Unsubscribed, UsageError,
};

use crate::callbacks::{CallbackRun, Callbacks, Hook, Registration, Work};
use crate::event::{ClientEvent, End, Failure, StreamEnd};
use crate::message::Message;
use crate::replies::{Interest, Replies};
use crate::servers::{Servers, Target};
use crate::settings::{Overflow, Settings};
use crate::streams::{DeliveryKey, Source, StreamId, Streams};
use crate::wakes::Wakes;

/// The most messages waiting unacknowledged beyond their streams' capacity before the client
/// stops reading. The broker's in-flight limit keeps them far fewer; this bounds memory
/// against a broker that ignores it (a client can't state a Receive Maximum in MQTT 3.1.1).
const MAX_WAITING: usize = u16::MAX as usize;

/// Bytes handed to the transport and not yet written, beyond which
/// [`Core::poll_publish_room`] asks publishers to wait.
const MAX_UNWRITTEN: u64 = 256 * 1024;

/// Answers the broker's AUTH packets in MQTT 5.0 enhanced authentication: given its AUTH,
/// returns the AUTH to send back, or `None` to send nothing.
pub type AuthHandler = Box<dyn FnMut(&Auth) -> Option<Auth> + Send>;

/// A command the core refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandError {
    /// The session refused it.
    Usage(UsageError),
    /// The client has stopped.
    Stopped,
}

impl From<UsageError> for CommandError {
    fn from(e: UsageError) -> Self {
        CommandError::Usage(e)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for CommandError {}

impl core::fmt::Display for CommandError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CommandError::Usage(e) => write!(f, "{e}"),
            CommandError::Stopped => f.write_str("the client has stopped"),
        }
    }
}

/// What the driver does next, from [`Core::poll_step`].
#[non_exhaustive]
pub enum Step<C> {
    /// Run these callbacks without the core's lock, with the client handle
    /// ([`CallbackRun::run`]), then give them back with [`Core::finish_callbacks`].
    Callbacks(CallbackRun<C>),
    /// Open a transport to the broker, then call [`Core::handle_transport_opened`] or
    /// [`Core::handle_connect_failed`].
    Open,
    /// Close the transport (everything that had to be written was, or it no longer matters),
    /// then call [`Core::handle_transport_closed`].
    Close,
    /// Wait: for the transport (read while [`Core::wants_read`], write what
    /// [`Core::poll_transmit`] gave), for [`Core::poll_timeout`], or for a wake-up.
    Wait,
    /// The client has stopped: `Ok` after a requested disconnect, or why it stopped. Every
    /// later call says the same.
    Stop(Result<(), End>),
}

impl<C> core::fmt::Debug for Step<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Step::Callbacks(run) => f.debug_tuple("Callbacks").field(run).finish(),
            Step::Open => f.write_str("Open"),
            Step::Close => f.write_str("Close"),
            Step::Wait => f.write_str("Wait"),
            Step::Stop(result) => f.debug_tuple("Stop").field(result).finish(),
        }
    }
}

/// Names one subscriber to connection events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventsId(u32);

/// The transport, as the core sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// None: the core waits until `retry_at`, or has stopped.
    Down,
    /// The driver is opening one.
    Opening,
    /// One is open.
    Up,
}

/// A requested disconnect.
struct Closing {
    disconnect: Disconnect,
    deadline: Instant,
}

/// An inbound QoS 1 or 2 message that waits for its targets before it is acknowledged.
struct Delivery {
    token: AckToken,
    /// Targets that have not accepted it yet.
    waiting: usize,
}

/// The broker's answer to a subscribe or an unsubscribe, from [`Core::poll_request`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Answer {
    /// SUBACK.
    Subscribed(Subscribed),
    /// UNSUBACK.
    Unsubscribed(Unsubscribed),
}

impl Answer {
    /// The reason codes: per filter, the granted QoS or a failure for a subscribe; the MQTT
    /// 5.0 codes for an unsubscribe (none in MQTT 3.1.1).
    pub fn reason_codes(&self) -> &[ReasonCode] {
        match self {
            Answer::Subscribed(s) => &s.reason_codes,
            Answer::Unsubscribed(u) => &u.reason_codes,
        }
    }
}

struct EventQueue {
    queue: VecDeque<ClientEvent>,
    waker: Option<Waker>,
}

/// An MQTT client without I/O: the [`Session`] and everything every adapter does between it and
/// the application. See the [crate documentation](crate) for what it guarantees.
///
/// `C` is the adapter's client handle, which the seed's callbacks and hooks receive.
///
/// Like the session, its methods come in families:
///
/// - **Driver inputs**: [`handle_transport_opened`](Self::handle_transport_opened),
///   [`handle_connect_failed`](Self::handle_connect_failed),
///   [`handle_bytes`](Self::handle_bytes), [`handle_written`](Self::handle_written),
///   [`handle_timeout`](Self::handle_timeout),
///   [`handle_transport_closed`](Self::handle_transport_closed).
/// - **Driver outputs**: [`poll_step`](Self::poll_step), [`poll_transmit`](Self::poll_transmit),
///   [`poll_timeout`](Self::poll_timeout), [`wants_read`](Self::wants_read), and the wake-up
///   ([`register_driver`](Self::register_driver), [`take_woken`](Self::take_woken)).
/// - **Commands** from the application's handles: [`publish`](Self::publish),
///   [`subscribe`](Self::subscribe), [`unsubscribe`](Self::unsubscribe), [`ack`](Self::ack),
///   [`auth`](Self::auth), [`disconnect`](Self::disconnect), [`reconnect`](Self::reconnect),
///   [`on`](Self::on), ... Each wakes the driver.
/// - **Application outputs**, polled with a [`Waker`] that is woken when they are ready:
///   [`poll_publish`](Self::poll_publish), [`poll_subscribe`](Self::poll_subscribe),
///   [`poll_unsubscribe`](Self::poll_unsubscribe), [`poll_message`](Self::poll_message),
///   [`poll_event`](Self::poll_event), [`poll_stopped`](Self::poll_stopped).
///
/// A driver loops: take [`poll_step`](Self::poll_step) and do what it says; write what
/// [`poll_transmit`](Self::poll_transmit) gives and report it with
/// [`handle_written`](Self::handle_written); read while [`wants_read`](Self::wants_read) and
/// feed the bytes in; call [`handle_timeout`](Self::handle_timeout) at
/// [`poll_timeout`](Self::poll_timeout); and wake up when the core says so. Adapters share the
/// core between the driver and the handles behind a lock; nothing in it blocks or waits.
pub struct Core<C> {
    session: Session<Box<dyn Store + Send>>,
    settings: Settings,
    /// The application's choice; the session itself always runs in manual mode, so that the
    /// core acknowledges a message only once its targets have it.
    ack_mode: AckMode,
    qos2_on_pubrel: bool,
    /// xorshift64* state, for the backoff's jitter; seeded by the adapter.
    rng: u64,

    link: Link,
    reconnect: Option<Reconnect>,
    ever_connected: bool,
    /// When to open the next transport, while the link is down.
    retry_at: Option<Instant>,
    /// The application asked to reconnect now.
    reconnect_now: bool,
    /// The `before_reconnect` hook runs before the next transport opens.
    before_reconnect_due: bool,
    /// Close the transport without writing what is left (a reconnection was asked for).
    abandon: bool,
    /// When a connection that ended stops waiting for its last bytes to be written.
    linger_until: Option<Instant>,
    closing: Option<Closing>,
    /// A configuration error: the client stops once the transport is closed.
    fatal: Option<End>,
    stopped: Option<Result<(), End>>,
    stop_waiters: Vec<Waker>,
    /// Publishers waiting for room: [`poll_publish_room`](Self::poll_publish_room).
    room_waiters: Vec<Waker>,
    /// Where woken wakers go: woken at once, or kept for [`take_wakes`](Self::take_wakes).
    wakes: Wakes,
    last_reason: Option<DisconnectReason>,
    /// The servers, and where the next connection goes.
    servers: Servers,
    /// Whether the broker accepted the connection on the current (or last) transport.
    link_accepted: bool,
    transport_error: Option<String>,

    /// Bytes for the transport, in order.
    out: VecDeque<Bytes>,
    /// Bytes queued on this transport, and bytes written.
    queued: u64,
    written: u64,
    /// QoS 0 publishes handed to the transport and not yet written: complete once `written`
    /// reaches the mark.
    unwritten: VecDeque<(u64, Published)>,

    publishes: Replies<mqtt_session::PublishId, Published>,
    requests: Replies<RequestId, Answer>,

    streams: Streams,
    deliveries: BTreeMap<DeliveryKey, Delivery>,
    next_delivery: DeliveryKey,
    /// Deliveries accepted by a target, not yet counted.
    accepted: Vec<DeliveryKey>,
    /// The streams a message goes to, kept to save an allocation per message.
    targets: Vec<StreamId>,
    /// Messages wait, unrouted and unacknowledged, until delivery resumes.
    paused: bool,
    held: VecDeque<(Publish, Option<AckToken>)>,
    /// QoS 0 messages dropped since the last [`ClientEvent::MessagesDropped`].
    dropped: u64,
    /// The session's own SUBSCRIBEs that restore a lost session's subscriptions.
    resubscribing: BTreeMap<RequestId, Vec<TopicFilter>>,

    /// `None` while a [`CallbackRun`] has them.
    callbacks: Option<Box<Callbacks<C>>>,
    registrations: Vec<Registration<C>>,
    /// The commands the router has a callback for, by bit.
    routed_commands: u16,
    has_before_reconnect: bool,
    has_after_connect: bool,
    work: Vec<Work>,
    /// With manual acknowledgement, the tokens of messages handed to callbacks, until the
    /// callback returns or takes its message ([`take_message`](Self::take_message)).
    lent: Vec<AckToken>,
    on_auth: Option<AuthHandler>,

    events: Vec<Option<EventQueue>>,

    driver: Option<Waker>,
    woken: bool,
}

impl<C: 'static> Core<C> {
    /// A client for `config` and `settings`, not connected: the first
    /// [`poll_step`](Self::poll_step) says to open a transport. `seed` seeds the backoff's
    /// jitter; draw it from any source of randomness.
    pub fn new(config: Config, settings: Settings, seed: u64) -> Core<C> {
        Core::with_store(config, settings, seed, Box::new(MemoryStore::new()))
    }

    /// A client whose session records its state in `store`, and starts from what `store`
    /// holds ([`Session::from_store`]): a restarted process that opens the same durable store
    /// resends, in order, what the broker had not acknowledged. The store is flushed
    /// ([`Store::flush`]) before the client hands out bytes to send, so that no packet leaves
    /// before the state it implies is kept.
    pub fn with_store(
        mut config: Config,
        settings: Settings,
        seed: u64,
        store: Box<dyn Store + Send>,
    ) -> Core<C> {
        let ack_mode = config.ack_mode;
        config.ack_mode = AckMode::Manual;
        let qos2_on_pubrel = config.qos2_delivery == Qos2Delivery::OnPubRel;
        let mut settings = settings;
        settings.stream_capacity = settings.stream_capacity.max(1);
        settings.event_capacity = settings.event_capacity.max(1);
        let (servers, shuffle) = (settings.servers, settings.shuffle_servers);
        let mut core = Core {
            session: Session::from_store(config, store),
            reconnect: settings.reconnect.map(Reconnect::new),
            settings,
            ack_mode,
            qos2_on_pubrel,
            rng: seed | 1,
            link: Link::Down,
            ever_connected: false,
            retry_at: Some(Instant::ZERO),
            reconnect_now: false,
            before_reconnect_due: false,
            abandon: false,
            linger_until: None,
            closing: None,
            fatal: None,
            stopped: None,
            stop_waiters: Vec::new(),
            room_waiters: Vec::new(),
            wakes: Wakes::default(),
            last_reason: None,
            servers: Servers::new(servers),
            link_accepted: false,
            transport_error: None,
            out: VecDeque::new(),
            queued: 0,
            written: 0,
            unwritten: VecDeque::new(),
            publishes: Replies::new(),
            requests: Replies::new(),
            streams: Streams::new(),
            deliveries: BTreeMap::new(),
            next_delivery: 0,
            accepted: Vec::new(),
            targets: Vec::new(),
            paused: false,
            held: VecDeque::new(),
            dropped: 0,
            resubscribing: BTreeMap::new(),
            callbacks: Some(Box::new(Callbacks::new())),
            registrations: Vec::new(),
            routed_commands: 0,
            has_before_reconnect: false,
            has_after_connect: false,
            work: Vec::new(),
            lent: Vec::new(),
            on_auth: None,
            events: Vec::new(),
            driver: None,
            woken: false,
        };
        if shuffle {
            core.set_servers(servers, true);
        }
        core
    }

    // ---- getters ------------------------------------------------------------------------

    /// The session.
    pub fn session(&self) -> &Session<Box<dyn Store + Send>> {
        &self.session
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether the broker has accepted the current connection.
    pub fn is_connected(&self) -> bool {
        self.session.is_connected()
    }

    /// Where the connection stands.
    pub fn state(&self) -> ConnectionState {
        self.session.state()
    }

    /// Whether the client has stopped, and why.
    pub fn stopped(&self) -> Option<&Result<(), End>> {
        self.stopped.as_ref()
    }

    /// QoS 1 and 2 publishes sent and not yet complete.
    pub fn publishes_in_flight(&self) -> usize {
        self.session.publishes_in_flight()
    }

    /// Publishes accepted and waiting to be sent.
    pub fn publishes_queued(&self) -> usize {
        self.session.publishes_queued()
    }

    /// Sets the number of servers the application lists, and whether they are tried in a
    /// random order ([`Settings::servers`], [`Settings::shuffle_servers`]); the next
    /// connection goes to the first.
    pub fn set_servers(&mut self, count: usize, shuffle: bool) {
        self.settings.servers = count.max(1);
        self.settings.shuffle_servers = shuffle;
        self.servers = Servers::new(count);
        if shuffle {
            let mut rng = self.rng;
            self.servers.shuffle(|| next_random(&mut rng));
            self.rng = rng;
        }
    }

    /// Sets how many redirects are followed in a row ([`Settings::max_redirects`]).
    pub fn set_max_redirects(&mut self, max: u8) {
        self.settings.max_redirects = max;
    }

    /// Where the connection [`Step::Open`] asks for goes: open that.
    pub fn target(&self) -> Target {
        self.servers.target()
    }

    // ---- driver outputs -----------------------------------------------------------------

    /// What the driver does next.
    pub fn poll_step(&mut self, now: Instant) -> Step<C> {
        if let Some(run) = self.start_callbacks() {
            return Step::Callbacks(run);
        }
        if let Some(result) = &self.stopped {
            return Step::Stop(result.clone());
        }
        match self.link {
            Link::Opening => Step::Wait,
            Link::Up => {
                let ended = self.session.state() == ConnectionState::Disconnected;
                let written = self.out.is_empty() && self.queued == self.written;
                let lingered = self.linger_until.is_some_and(|t| t <= now);
                if ended && (written || lingered || self.abandon) {
                    Step::Close
                } else {
                    Step::Wait
                }
            }
            Link::Down => {
                if self.closing.is_some() {
                    self.finish(Ok(()));
                    return Step::Stop(Ok(()));
                }
                match self.retry_at {
                    Some(at) if at <= now => {
                        if core::mem::take(&mut self.before_reconnect_due)
                            && self.has_before_reconnect
                        {
                            self.work.push(Work::BeforeReconnect);
                            return self.poll_step(now);
                        }
                        self.retry_at = None;
                        self.link = Link::Opening;
                        self.broadcast(ClientEvent::Connecting(self.servers.target()));
                        Step::Open
                    }
                    _ => Step::Wait,
                }
            }
        }
    }

    /// The next bytes to write to the transport, in order. Report what was written with
    /// [`handle_written`](Self::handle_written).
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.out.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next, if ever.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        // Written out rather than as `min` over an array of options: drivers call this on
        // every turn, and the iterator version compiled to 19 KB of code.
        match self.link {
            Link::Up => {
                let own = if self.session.state() == ConnectionState::Disconnected {
                    self.linger_until
                } else if self.session.is_connected() {
                    self.closing.as_ref().map(|c| c.deadline)
                } else {
                    None
                };
                match (self.session.poll_timeout(), own) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
            Link::Down => self.retry_at,
            Link::Opening => None,
        }
    }

    /// Whether to read from the transport: `false` while a full stream holds QoS 0 messages
    /// under [`Overflow::StopReading`](crate::Overflow::StopReading), or while more messages
    /// wait for room than any broker should send.
    pub fn wants_read(&self) -> bool {
        if self.link != Link::Up || self.session.state() == ConnectionState::Disconnected {
            return false;
        }
        let mut waiting = self.held.len();
        for (_, stream) in self.streams.iter() {
            if stream.stops_reading() {
                return false;
            }
            waiting += stream.waiting_deliveries();
        }
        waiting < MAX_WAITING
    }

    /// Registers the driver's waker: commands wake it.
    pub fn register_driver(&mut self, waker: &Waker) {
        match &self.driver {
            Some(old) if old.will_wake(waker) => {}
            _ => self.driver = Some(waker.clone()),
        }
    }

    /// Wakes the driver, for an adapter's own reason (a loop asked to stop, say).
    pub fn wake(&mut self) {
        self.wake_driver();
    }

    /// From now on, keeps the wakers the core wakes (the driver's, a waiting publisher's, a
    /// stream reader's) until [`take_wakes`](Self::take_wakes) instead of waking them at once.
    ///
    /// For an adapter that shares the core between threads behind a lock: it takes the wakers
    /// before releasing the lock and wakes them after. Woken under the lock, a task on another
    /// thread runs straight into the lock and sleeps again until it is released, two more
    /// trips through the kernel per wake-up. Once deferred, every hold of the lock must end
    /// with `take_wakes` and the wakers woken, or the tasks they belong to sleep for ever: a
    /// lock guard that does it on drop is the way.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::task::{Poll, Wake, Waker};
    /// use mqtt_client::{Core, Interest, Settings};
    /// use mqtt_client::proto::{Publish, QoS, TopicName};
    /// use mqtt_client::session::{Config, Instant, Version};
    ///
    /// struct Flag(AtomicBool);
    /// impl Wake for Flag {
    ///     fn wake(self: Arc<Self>) {
    ///         self.0.store(true, Ordering::SeqCst);
    ///     }
    /// }
    /// let driver = Arc::new(Flag(AtomicBool::new(false)));
    ///
    /// let mut core: Core<()> = Core::new(Config::new("doc", Version::V311), Settings::default(), 7);
    /// core.defer_wakes();
    /// core.register_driver(&Waker::from(driver.clone()));
    /// let publish = Publish::new(TopicName::new("a/b")?, "hello");
    /// core.publish(Instant::ZERO, publish, Interest::None)?; // wakes the driver...
    /// assert!(!driver.0.load(Ordering::SeqCst)); // ...not yet
    /// for waker in core.take_wakes() {
    ///     waker.wake(); // after releasing the lock
    /// }
    /// assert!(driver.0.load(Ordering::SeqCst));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn defer_wakes(&mut self) {
        self.wakes.defer();
    }

    /// The wakers woken since the last call, while [deferred](Self::defer_wakes); empty
    /// otherwise. Wake each once the lock is released.
    pub fn take_wakes(&mut self) -> Vec<Waker> {
        self.wakes.take()
    }

    /// Whether a command woke the driver since the last call; clears it.
    pub fn take_woken(&mut self) -> bool {
        core::mem::take(&mut self.woken)
    }

    /// `Ready` once a command has woken the driver since the last `Ready`; otherwise registers
    /// `waker` to be woken.
    pub fn poll_woken(&mut self, waker: &Waker) -> Poll<()> {
        if self.take_woken() {
            Poll::Ready(())
        } else {
            self.register_driver(waker);
            Poll::Pending
        }
    }

    // ---- driver inputs ------------------------------------------------------------------

    /// The transport [`Step::Open`] asked for is open: CONNECT goes out.
    pub fn handle_transport_opened(&mut self, now: Instant) {
        self.link = Link::Up;
        self.link_accepted = false;
        self.abandon = false;
        self.linger_until = None;
        self.transport_error = None;
        self.out.clear();
        self.queued = 0;
        self.written = 0;
        if let Err(e) = self.session.handle_transport_opened(now) {
            self.fatal = Some(End::Usage(e));
            self.abandon = true;
        }
        self.after_input(now);
    }

    /// The transport [`Step::Open`] asked for could not be opened: `error` says why.
    pub fn handle_connect_failed(&mut self, now: Instant, error: &dyn core::fmt::Display) {
        self.link = Link::Down;
        self.broadcast(ClientEvent::ConnectFailed {
            error: error.to_string(),
        });
        self.after_down(now, End::ConnectFailed);
        self.after_input(now);
    }

    /// Bytes arrived from the transport.
    pub fn handle_bytes(&mut self, now: Instant, bytes: &[u8]) {
        if self.link == Link::Up {
            self.session.handle_bytes(now, bytes);
            self.after_input(now);
        }
    }

    /// Bytes the adapter read into `buf`, without a copy: every whole packet in it is
    /// handled and taken out, and the start of a packet not yet whole stays for the next read
    /// to complete. The adapter keeps `buf` between reads and appends to it.
    pub fn handle_read_buf(&mut self, now: Instant, buf: &mut BytesMut) {
        if self.link != Link::Up {
            buf.clear();
            return;
        }
        let session_buf = self.session.read_buffer();
        if session_buf.is_empty() {
            core::mem::swap(session_buf, buf);
            self.session.handle_read(now);
            core::mem::swap(self.session.read_buffer(), buf);
        } else {
            session_buf.extend_from_slice(buf);
            buf.clear();
            self.session.handle_read(now);
        }
        self.after_input(now);
    }

    /// `n` bytes from [`poll_transmit`](Self::poll_transmit) reached the transport: QoS 0
    /// publishes among them are complete.
    pub fn handle_written(&mut self, n: usize) {
        self.written = self.written.saturating_add(n as u64);
        while let Some((mark, _)) = self.unwritten.front() {
            if *mark > self.written {
                break;
            }
            if let Some((_, published)) = self.unwritten.pop_front() {
                self.publishes
                    .complete(published.id, Ok(published), &mut self.wakes);
            }
        }
        self.wake_room_waiters();
    }

    /// Time passed: keep alive, timeouts, and a disconnect that waited long enough.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.link == Link::Up {
            self.session.handle_timeout(now);
        }
        self.after_input(now);
    }

    /// The transport closed, failed (`error`), or was closed as [`Step::Close`] asked.
    pub fn handle_transport_closed(
        &mut self,
        now: Instant,
        error: Option<&dyn core::fmt::Display>,
    ) {
        if self.link == Link::Down {
            return;
        }
        if self.transport_error.is_none() {
            self.transport_error = error.map(|e| e.to_string());
        }
        self.session.handle_transport_closed(now);
        self.drain_session(now);
        self.link = Link::Down;
        let reason = self
            .last_reason
            .clone()
            .unwrap_or(DisconnectReason::TransportClosed);
        self.after_down(now, End::Lost(Box::new(reason)));
        self.after_input(now);
    }

    /// The callbacks of a [`Step::Callbacks`] ran: acknowledges the messages they took, and
    /// sends those no callback took to the default stream.
    pub fn finish_callbacks(&mut self, now: Instant, run: CallbackRun<C>) {
        let CallbackRun {
            mut callbacks,
            work,
            handled,
        } = run;
        for registration in self.registrations.drain(..) {
            callbacks.apply(registration);
        }
        self.callbacks = Some(callbacks);
        for (index, work) in work.into_iter().enumerate() {
            let Work::Packet {
                received,
                delivery,
                lent,
                sole,
            } = work
            else {
                continue;
            };
            let handled = handled.get(index).copied().unwrap_or(false);
            // Gone when the callback took the message with its token.
            let token = match received.packet_id {
                Some(packet_id) if lent => self.take_lent(packet_id),
                _ => None,
            };
            match received.message {
                Some(publish) if sole && !handled => {
                    self.deliver_default(now, Message::with_ack(publish, token), delivery);
                }
                _ => {
                    if let Some(token) = token {
                        let _ = self.session.ack(now, token, ReasonCode::SUCCESS);
                    }
                    self.accepted.extend(delivery);
                }
            }
        }
        self.after_input(now);
    }

    // ---- commands -----------------------------------------------------------------------

    /// Publishes a message; returns its id (the seed's `mid`). Ask for the outcome with
    /// [`poll_publish`](Self::poll_publish) as `interest` allows.
    ///
    /// # Errors
    ///
    /// The session's refusal ([`Session::publish`](mqtt_session::Session::publish)), or
    /// [`CommandError::Stopped`].
    pub fn publish(
        &mut self,
        now: Instant,
        publish: Publish,
        interest: Interest,
    ) -> Result<mqtt_session::PublishId, CommandError> {
        self.check_running()?;
        let id = self.session.publish(now, publish)?;
        self.publishes.watch(id, interest);
        self.after_command(now);
        Ok(id)
    }

    /// Subscribes; ask for the outcome with [`poll_subscribe`](Self::poll_subscribe).
    ///
    /// # Errors
    ///
    /// The session's refusal, or [`CommandError::Stopped`].
    pub fn subscribe(
        &mut self,
        now: Instant,
        subscriptions: Vec<Subscription>,
        properties: SubscribeProperties,
        interest: Interest,
    ) -> Result<RequestId, CommandError> {
        self.check_running()?;
        let id = self.session.subscribe(now, subscriptions, properties)?;
        self.requests.watch(id, interest);
        self.after_command(now);
        Ok(id)
    }

    /// Unsubscribes; ask for the outcome with [`poll_unsubscribe`](Self::poll_unsubscribe).
    ///
    /// # Errors
    ///
    /// The session's refusal, or [`CommandError::Stopped`].
    pub fn unsubscribe(
        &mut self,
        now: Instant,
        filters: Vec<TopicFilter>,
        properties: UnsubscribeProperties,
        interest: Interest,
    ) -> Result<RequestId, CommandError> {
        self.check_running()?;
        let id = self.session.unsubscribe(now, filters, properties)?;
        self.requests.watch(id, interest);
        self.after_command(now);
        Ok(id)
    }

    /// The outcome of publish `id`: `Ready(Some)` once, `Pending` until then (`waker` is woken
    /// when it comes), `Ready(None)` when nobody watches it (never watched, taken, or, with
    /// [`Interest::Failure`], completed).
    pub fn poll_publish(
        &mut self,
        id: mqtt_session::PublishId,
        waker: Option<&Waker>,
    ) -> Poll<Option<Result<Published, Failure>>> {
        self.publishes.poll(id, waker)
    }

    /// The outcome of subscribe or unsubscribe `id`, as [`poll_publish`](Self::poll_publish).
    pub fn poll_request(
        &mut self,
        id: RequestId,
        waker: Option<&Waker>,
    ) -> Poll<Option<Result<Answer, Failure>>> {
        self.requests.poll(id, waker)
    }

    /// The outcome of subscribe `id`, as [`poll_publish`](Self::poll_publish).
    pub fn poll_subscribe(
        &mut self,
        id: RequestId,
        waker: Option<&Waker>,
    ) -> Poll<Option<Result<Subscribed, Failure>>> {
        self.requests.poll(id, waker).map(|outcome| {
            outcome.map(|o| match o {
                Ok(Answer::Subscribed(s)) => Ok(s),
                Ok(Answer::Unsubscribed(_)) => Err(Failure::Failed(FailReason::NotSupported)),
                Err(e) => Err(e),
            })
        })
    }

    /// The outcome of unsubscribe `id`, as [`poll_publish`](Self::poll_publish).
    pub fn poll_unsubscribe(
        &mut self,
        id: RequestId,
        waker: Option<&Waker>,
    ) -> Poll<Option<Result<Unsubscribed, Failure>>> {
        self.requests.poll(id, waker).map(|outcome| {
            outcome.map(|o| match o {
                Ok(Answer::Unsubscribed(u)) => Ok(u),
                Ok(Answer::Subscribed(_)) => Err(Failure::Failed(FailReason::NotSupported)),
                Err(e) => Err(e),
            })
        })
    }

    /// [`publish`](Self::publish) once there is room
    /// ([`poll_publish_room`](Self::poll_publish_room)): `Pending` (with `waker` registered)
    /// until then, and `publish` is only taken then. One lock for both, for publishers that
    /// wait for room.
    pub fn poll_publish_with_room(
        &mut self,
        now: Instant,
        publish: &mut Option<Publish>,
        interest: Interest,
        waker: Option<&Waker>,
    ) -> Poll<Result<mqtt_session::PublishId, CommandError>> {
        if self.poll_publish_room(waker).is_pending() {
            return Poll::Pending;
        }
        match publish.take() {
            Some(publish) => Poll::Ready(self.publish(now, publish, interest)),
            None => Poll::Ready(Err(CommandError::Stopped)),
        }
    }

    /// `Ready` when a publish may go ahead without the client buffering more than it should:
    /// the transport has taken all but 256 KiB of what was handed to it, and the session's
    /// queue has room. Otherwise registers `waker`, woken when there is room. A publisher that
    /// waits here before [`publish`](Self::publish) keeps memory bounded however fast it
    /// publishes. `Ready` too once the client has stopped (the publish then says so).
    pub fn poll_publish_room(&mut self, waker: Option<&Waker>) -> Poll<()> {
        if self.has_room() {
            return Poll::Ready(());
        }
        if let Some(waker) = waker
            && !self.room_waiters.iter().any(|w| w.will_wake(waker))
        {
            self.room_waiters.push(waker.clone());
        }
        Poll::Pending
    }

    fn has_room(&self) -> bool {
        self.stopped.is_some()
            || (self.queued.saturating_sub(self.written) < MAX_UNWRITTEN
                && self.session.publishes_queued() < self.session.config().max_queued)
    }

    fn wake_room_waiters(&mut self) {
        if !self.room_waiters.is_empty() && self.has_room() {
            for waker in self.room_waiters.drain(..) {
                self.wakes.wake(waker);
            }
        }
    }

    /// Nobody waits for publish `id` any more (an awaited publish was dropped).
    pub fn forget_publish(&mut self, id: mqtt_session::PublishId) {
        self.publishes.forget(id);
    }

    /// Nobody waits for request `id` any more.
    pub fn forget_request(&mut self, id: RequestId) {
        self.requests.forget(id);
    }

    /// Acknowledges a message in manual acknowledgement mode; acknowledgements still reach the
    /// broker in the order the messages arrived.
    ///
    /// # Errors
    ///
    /// [`UsageError::UnknownAckToken`] when the message no longer awaits acknowledgement.
    pub fn ack(
        &mut self,
        now: Instant,
        token: AckToken,
        reason_code: ReasonCode,
    ) -> Result<(), CommandError> {
        self.session.ack(now, token, reason_code)?;
        self.after_command(now);
        Ok(())
    }

    /// With manual acknowledgement ([`AckMode::Manual`]), takes the message a callback is
    /// running for (`received`, the data the callback was given), with the right to
    /// acknowledge it: the core then does not acknowledge it when the callback returns, and
    /// the application acknowledges it with [`ack`](Self::ack), with any reason code, then or
    /// later. Acknowledgements still reach the broker in the order the messages arrived, so a
    /// message taken and never acknowledged holds back those after it.
    ///
    /// Call it from the callback, while the [`CallbackRun`] is out. `None` for a packet that
    /// carries no message, a QoS 0 message, in automatic mode, when a stream holds the
    /// message's token (a stream takes it before callbacks do), or when it was taken already.
    pub fn take_message(&mut self, received: &Received) -> Option<Message> {
        let publish = received.message.as_ref()?;
        let token = self.take_lent(publish.packet_id?)?;
        Some(Message::with_ack(publish.clone(), Some(token)))
    }

    fn take_lent(&mut self, packet_id: PacketId) -> Option<AckToken> {
        let index = self.lent.iter().position(|t| t.packet_id() == packet_id)?;
        Some(self.lent.swap_remove(index))
    }

    /// Sends an AUTH packet ([`Session::auth`](mqtt_session::Session::auth)).
    ///
    /// # Errors
    ///
    /// The session's refusal.
    pub fn auth(&mut self, now: Instant, auth: Auth) -> Result<(), CommandError> {
        self.session.auth(now, auth)?;
        self.after_command(now);
        Ok(())
    }

    /// Answers the broker's AUTH packets (MQTT 5.0 enhanced authentication): given its AUTH,
    /// returns the AUTH to send back, or `None`. It runs under the core's lock and gets no
    /// client handle.
    pub fn set_auth_handler(&mut self, handler: Option<AuthHandler>) {
        self.on_auth = handler;
    }

    /// Disconnects in order: waits (up to [`Settings::disconnect_timeout`]) for queued and
    /// in-flight publishes to complete, sends `disconnect`, writes everything queued, closes
    /// the transport and stops. [`poll_stopped`](Self::poll_stopped) says when it is done.
    ///
    /// # Errors
    ///
    /// A DISCONNECT the session refuses ([`Session::check_disconnect`](mqtt_session::Session::check_disconnect)),
    /// and [`CommandError::Stopped`].
    pub fn disconnect(&mut self, now: Instant, disconnect: Disconnect) -> Result<(), CommandError> {
        self.check_running()?;
        self.session.check_disconnect(&disconnect)?;
        if self.closing.is_none() {
            self.closing = Some(Closing {
                disconnect,
                deadline: now + self.settings.disconnect_timeout,
            });
        }
        self.after_command(now);
        Ok(())
    }

    /// Every handle of the application is gone: disconnect in order, as
    /// [`disconnect`](Self::disconnect) with a plain DISCONNECT.
    pub fn handles_dropped(&mut self, now: Instant) {
        let _ = self.disconnect(now, Disconnect::default());
    }

    /// `Ready` once the client has stopped: `Ok` after a requested disconnect, or why it
    /// stopped. Otherwise registers `waker`.
    pub fn poll_stopped(&mut self, waker: Option<&Waker>) -> Poll<Result<(), End>> {
        match &self.stopped {
            Some(result) => Poll::Ready(result.clone()),
            None => {
                if let Some(waker) = waker
                    && !self.stop_waiters.iter().any(|w| w.will_wake(waker))
                {
                    self.stop_waiters.push(waker.clone());
                }
                Poll::Pending
            }
        }
    }

    /// Starts a client that stopped again, with the session it had: for an API that may
    /// connect again after a disconnect (the seed's). Streams that ended because it stopped
    /// take messages again. Nothing happens to a client that runs.
    pub fn restart(&mut self, now: Instant) {
        if self.stopped.take().is_none() {
            return;
        }
        self.closing = None;
        self.fatal = None;
        self.last_reason = None;
        self.ever_connected = false;
        self.link = Link::Down;
        self.retry_at = Some(now);
        self.before_reconnect_due = false;
        for stream in self.streams.iter_mut() {
            if stream.ended == Some(StreamEnd::Stopped) {
                stream.ended = None;
            }
        }
        self.wake_driver();
    }

    /// Drops the current connection without DISCONNECT, if any, and connects again at once
    /// (the seed's `reconnect()`), running the `before_reconnect` hook first. Unacknowledged
    /// messages are resent on the new connection.
    pub fn reconnect(&mut self, now: Instant) {
        self.connect_again(now, true);
    }

    /// Connects now: restarts a client that stopped ([`restart`](Self::restart)), tries at
    /// once when it waits to reconnect, and drops and reopens a connection that is open, as
    /// [`reconnect`](Self::reconnect) but without the `before_reconnect` hook. For the seed's
    /// `connect()`, which may be called again.
    pub fn connect_now(&mut self, now: Instant) {
        self.restart(now);
        self.connect_again(now, false);
    }

    fn connect_again(&mut self, now: Instant, hook: bool) {
        if self.stopped.is_some() || self.closing.is_some() {
            return;
        }
        match self.link {
            Link::Up => {
                self.reconnect_now = true;
                self.abandon = true;
                self.before_reconnect_due = hook;
                self.session.handle_transport_closed(now);
            }
            Link::Down => {
                self.retry_at = Some(now);
                self.before_reconnect_due = hook;
            }
            Link::Opening => {}
        }
        self.after_command(now);
    }

    /// Replaces the credentials for the next CONNECT.
    pub fn set_credentials(&mut self, username: Option<ByteString>, password: Option<Bytes>) {
        self.session.set_credentials(username, password);
    }

    /// Replaces the will for the next CONNECT.
    pub fn set_will(&mut self, will: Option<Will>) {
        self.session.set_will(will);
    }

    /// Replaces the keep alive for the next CONNECT.
    pub fn set_keep_alive(&mut self, keep_alive: Duration) {
        self.session.set_keep_alive(keep_alive);
    }

    /// Replaces how long the next connection waits for CONNACK.
    pub fn set_connect_timeout(&mut self, timeout: Duration) {
        self.session.set_connect_timeout(timeout);
    }

    /// Replaces the reconnection backoff; `None` turns reconnection off.
    pub fn set_reconnect(&mut self, backoff: Option<mqtt_session::Backoff>) {
        if self.settings.reconnect != backoff {
            self.settings.reconnect = backoff;
            self.reconnect = backoff.map(Reconnect::new);
        }
    }

    /// Sets whether a failed first connection is retried
    /// ([`Settings::retry_first_connect`]).
    pub fn set_retry_first_connect(&mut self, retry: bool) {
        self.settings.retry_first_connect = retry;
    }

    /// Sets how long a requested disconnect waits ([`Settings::disconnect_timeout`]).
    pub fn set_disconnect_timeout(&mut self, timeout: Duration) {
        self.settings.disconnect_timeout = timeout;
    }

    /// Sets how many messages each stream holds ([`Settings::stream_capacity`], at least 1),
    /// from the next message a stream takes or gives on.
    pub fn set_stream_capacity(&mut self, capacity: usize) {
        self.settings.stream_capacity = capacity.max(1);
    }

    /// Sets what a full stream does with QoS 0 messages ([`Settings::overflow`]), from the
    /// next message on.
    pub fn set_overflow(&mut self, overflow: Overflow) {
        self.settings.overflow = overflow;
    }

    // ---- callbacks ----------------------------------------------------------------------

    /// The seed's `on(command, function)`: the generic callback for `command`, replacing the
    /// previous one; it runs when no conditional callback's condition holds.
    pub fn on(&mut self, command: Command, callback: Callback<C>) {
        self.routed_commands |= 1 << command as u16;
        self.register(Registration::On {
            command,
            callback,
            condition: None,
        });
    }

    /// The seed's `on(command, function, condition, priority)`: of the callbacks whose
    /// condition holds, the one with the highest priority runs.
    pub fn on_if(
        &mut self,
        command: Command,
        callback: Callback<C>,
        condition: Condition,
        priority: i32,
    ) {
        self.routed_commands |= 1 << command as u16;
        self.register(Registration::On {
            command,
            callback,
            condition: Some((condition, priority)),
        });
    }

    /// The seed's `aconnect_cb`: runs after each accepted connection.
    pub fn set_after_connect(&mut self, hook: Option<Hook<C>>) {
        self.has_after_connect = hook.is_some();
        self.register(Registration::AfterConnect(hook));
    }

    /// The seed's `breconnect_cb`: runs before each reconnection attempt.
    pub fn set_before_reconnect(&mut self, hook: Option<Hook<C>>) {
        self.has_before_reconnect = hook.is_some();
        self.register(Registration::BeforeReconnect(hook));
    }

    fn register(&mut self, registration: Registration<C>) {
        match &mut self.callbacks {
            Some(callbacks) => callbacks.apply(registration),
            None => self.registrations.push(registration),
        }
        self.session.set_packet_events(self.routed_commands != 0);
        self.wake_driver();
    }

    fn routes(&self, command: Command) -> bool {
        self.routed_commands & (1 << command as u16) != 0
    }

    fn start_callbacks(&mut self) -> Option<CallbackRun<C>> {
        if self.work.is_empty() {
            return None;
        }
        let callbacks = self.callbacks.take()?;
        Some(CallbackRun {
            callbacks,
            work: core::mem::take(&mut self.work),
            handled: Vec::new(),
        })
    }

    // ---- streams ------------------------------------------------------------------------

    /// Opens a stream of every message ([`None`]), or of the messages whose topic matches
    /// `filter`. The caller holds one handle on it; release it with
    /// [`release_stream`](Self::release_stream).
    pub fn open_stream(&mut self, filter: Option<TopicFilter>) -> StreamId {
        let source = match filter {
            Some(filter) => Source::Filter(filter),
            None => Source::All,
        };
        let id = self.streams.open(source);
        if self.stopped.is_some()
            && let Some(stream) = self.streams.get_mut(id)
        {
            stream.end(StreamEnd::Stopped, &mut self.wakes);
        }
        id
    }

    /// One more handle on stream `id` (the default stream opens with its first handle).
    pub fn retain_stream(&mut self, id: StreamId) {
        if let Some(stream) = self.streams.get_mut(id) {
            stream.handles += 1;
        }
    }

    /// One handle on stream `id` fewer; with the last one, the stream closes, and messages
    /// left in it are acknowledged: the application dropped them.
    pub fn release_stream(&mut self, now: Instant, id: StreamId) {
        let Some(stream) = self.streams.get_mut(id) else {
            return;
        };
        stream.handles = stream.handles.saturating_sub(1);
        if stream.handles > 0 {
            return;
        }
        stream.clear(&mut self.accepted);
        self.streams.remove(id);
        self.after_command(now);
    }

    /// The next message of stream `id`: `Ready(Some)`, `Ready(None)` once the stream ended and
    /// is empty, `Pending` otherwise (`waker` is woken when a message comes). Taking a message
    /// makes room: a message waiting beyond the stream's capacity is acknowledged.
    pub fn poll_message(
        &mut self,
        now: Instant,
        id: StreamId,
        waker: Option<&Waker>,
    ) -> Poll<Option<Message>> {
        let capacity = self.settings.stream_capacity;
        let Some(stream) = self.streams.get_mut(id) else {
            return Poll::Ready(None);
        };
        let was_stopping = stream.stops_reading();
        match stream.pop(capacity, &mut self.accepted) {
            Some(message) => {
                let unblocked = was_stopping && !stream.stops_reading();
                if !self.accepted.is_empty() || unblocked {
                    self.after_command(now);
                }
                Poll::Ready(Some(message))
            }
            None if stream.ended.is_some() => Poll::Ready(None),
            None => {
                if let Some(waker) = waker {
                    stream.wait(waker);
                }
                Poll::Pending
            }
        }
    }

    /// Why stream `id` ended, if it did.
    pub fn stream_end(&self, id: StreamId) -> Option<&StreamEnd> {
        self.streams.get(id)?.ended.as_ref()
    }

    /// How many messages stream `id` holds.
    pub fn stream_len(&self, id: StreamId) -> usize {
        self.streams.get(id).map_or(0, |s| s.len())
    }

    /// Holds messages, unrouted and unacknowledged, until
    /// [`resume_delivery`](Self::resume_delivery): for an adapter whose callbacks run only
    /// once the application starts a loop.
    pub fn pause_delivery(&mut self) {
        self.paused = true;
    }

    /// Routes the messages held since [`pause_delivery`](Self::pause_delivery), with the
    /// consumers registered now, and delivers later ones at once.
    pub fn resume_delivery(&mut self, now: Instant) {
        if !core::mem::take(&mut self.paused) {
            return;
        }
        while let Some((publish, token)) = self.held.pop_front() {
            self.route(now, publish, token);
        }
        self.after_input(now);
    }

    // ---- events -------------------------------------------------------------------------

    /// Subscribes to connection events; each subscriber holds up to
    /// [`Settings::event_capacity`] of them, the oldest dropped beyond.
    pub fn open_events(&mut self) -> EventsId {
        let queue = EventQueue {
            queue: VecDeque::new(),
            waker: None,
        };
        let index = match self.events.iter().position(Option::is_none) {
            Some(free) => {
                self.events[free] = Some(queue);
                free
            }
            None => {
                self.events.push(Some(queue));
                self.events.len() - 1
            }
        };
        EventsId(u32::try_from(index).unwrap_or(u32::MAX))
    }

    /// The next connection event: `Ready(Some)`, `Ready(None)` once the client stopped and
    /// none are left, `Pending` otherwise.
    pub fn poll_event(&mut self, id: EventsId, waker: Option<&Waker>) -> Poll<Option<ClientEvent>> {
        let stopped = self.stopped.is_some();
        let Some(Some(queue)) = self.events.get_mut(id.0 as usize) else {
            return Poll::Ready(None);
        };
        if let Some(event) = queue.queue.pop_front() {
            return Poll::Ready(Some(event));
        }
        if stopped {
            return Poll::Ready(None);
        }
        if let Some(waker) = waker {
            queue.waker = Some(waker.clone());
        }
        Poll::Pending
    }

    /// Unsubscribes from connection events.
    pub fn close_events(&mut self, id: EventsId) {
        if let Some(slot) = self.events.get_mut(id.0 as usize) {
            *slot = None;
        }
    }

    fn broadcast(&mut self, event: ClientEvent) {
        let capacity = self.settings.event_capacity;
        for queue in self.events.iter_mut().flatten() {
            // Drops since the last event the subscriber has not read yet add up in it, so the
            // count stays exact however many there are.
            if let (
                ClientEvent::MessagesDropped { count },
                Some(ClientEvent::MessagesDropped { count: total }),
            ) = (&event, queue.queue.back_mut())
            {
                *total += count;
                continue;
            }
            if queue.queue.len() >= capacity {
                queue.queue.pop_front();
            }
            queue.queue.push_back(event.clone());
            if let Some(waker) = queue.waker.take() {
                self.wakes.wake(waker);
            }
        }
    }

    // ---- the session's events -----------------------------------------------------------

    /// After an input from the driver.
    fn after_input(&mut self, now: Instant) {
        self.drain_session(now);
        if self.closing.is_some() {
            self.progress_closing(now);
            self.drain_session(now);
        }
        self.wake_room_waiters();
    }

    /// After a command from a handle: as an input, then wake the driver.
    fn after_command(&mut self, now: Instant) {
        self.after_input(now);
        self.wake_driver();
    }

    fn wake_driver(&mut self) {
        if !self.woken {
            self.woken = true;
            if let Some(waker) = &self.driver {
                self.wakes.wake_by_ref(waker);
            }
        }
    }

    fn check_running(&self) -> Result<(), CommandError> {
        match self.stopped {
            Some(_) => Err(CommandError::Stopped),
            None => Ok(()),
        }
    }

    /// Takes everything the session has to say: bytes, then events, until it is quiet.
    fn drain_session(&mut self, now: Instant) {
        loop {
            self.accept_all(now);
            while let Some(bytes) = self.session.poll_transmit() {
                self.queued += bytes.len() as u64;
                self.out.push_back(bytes);
            }
            let Some(event) = self.session.poll_event() else {
                break;
            };
            self.on_session_event(now, event);
        }
        if self.dropped > 0 {
            let count = core::mem::take(&mut self.dropped);
            self.broadcast(ClientEvent::MessagesDropped { count });
        }
        if !self.out.is_empty()
            && let Err(error) = self.session.store_mut().flush()
        {
            self.broadcast(ClientEvent::StoreFailed(error));
        }
    }

    fn on_session_event(&mut self, now: Instant, event: Event) {
        match event {
            Event::Connected(connected) => {
                self.link_accepted = true;
                self.servers.connected();
                if connected.session_present {
                    self.forget_resent_deliveries(now);
                }
                self.ever_connected = true;
                if let Some(reconnect) = &mut self.reconnect {
                    reconnect.connected(now);
                }
                self.broadcast(ClientEvent::Connected(connected));
                if self.has_after_connect {
                    self.work.push(Work::AfterConnect);
                }
            }
            Event::Message(message) => self.route(now, message.publish, message.ack),
            // Messages reach the callbacks through `route`, with their delivery.
            Event::Received(received)
                if received.message.is_none() && self.routes(received.command) =>
            {
                self.work.push(Work::Packet {
                    received: Box::new(received),
                    delivery: None,
                    lent: false,
                    sole: false,
                });
            }
            Event::Published(published) => {
                if published.qos == QoS::AtMostOnce {
                    self.unwritten.push_back((self.queued, published));
                } else {
                    self.publishes
                        .complete(published.id, Ok(published), &mut self.wakes);
                }
            }
            Event::PublishFailed(failed) => {
                let failure = Failure::Failed(failed.reason);
                self.publishes
                    .complete(failed.id, Err(failure), &mut self.wakes);
            }
            Event::Subscribed(subscribed) => match self.resubscribing.remove(&subscribed.id) {
                Some(filters) => self.resubscribed(filters, &subscribed.reason_codes),
                None => self.requests.complete(
                    subscribed.id,
                    Ok(Answer::Subscribed(subscribed)),
                    &mut self.wakes,
                ),
            },
            Event::Unsubscribed(unsubscribed) => self.requests.complete(
                unsubscribed.id,
                Ok(Answer::Unsubscribed(unsubscribed)),
                &mut self.wakes,
            ),
            Event::RequestFailed { id, reason } => match self.resubscribing.remove(&id) {
                Some(filters) => {
                    for filter in &filters {
                        self.end_streams(filter, StreamEnd::RestoreFailed(reason.clone()));
                    }
                }
                None => self
                    .requests
                    .complete(id, Err(Failure::Failed(reason)), &mut self.wakes),
            },
            Event::Resubscribing(resubscribing) => {
                self.resubscribing
                    .insert(resubscribing.id, resubscribing.filters);
            }
            Event::SubscriptionsLost(filters) => {
                for filter in &filters {
                    self.end_streams(filter, StreamEnd::SessionLost);
                }
                self.broadcast(ClientEvent::SubscriptionsLost(filters));
            }
            Event::Auth(auth) => {
                let answer = self.on_auth.as_mut().and_then(|handler| handler(&auth));
                if let Some(answer) = answer {
                    let _ = self.session.auth(now, answer);
                }
            }
            Event::Disconnected(reason) => {
                self.linger_until = Some(now + self.settings.linger);
                self.broadcast(ClientEvent::Disconnected {
                    reason: reason.clone(),
                    error: self.transport_error.clone(),
                });
                self.last_reason = Some(reason);
            }
            _ => {}
        }
    }

    /// The SUBACK of a resubscription: streams of refused filters end.
    fn resubscribed(&mut self, filters: Vec<TopicFilter>, codes: &[ReasonCode]) {
        let mut restored = Vec::new();
        let mut refused = Vec::new();
        for (filter, code) in filters.into_iter().zip(codes) {
            if code.is_error() {
                self.end_streams(&filter, StreamEnd::NotRestored(*code));
                refused.push((filter, *code));
            } else {
                restored.push(filter);
            }
        }
        self.broadcast(ClientEvent::Resubscribed { restored, refused });
    }

    fn end_streams(&mut self, filter: &TopicFilter, end: StreamEnd) {
        for stream in self.streams.iter_mut() {
            if matches!(&stream.source, Source::Filter(f) if f == filter) {
                stream.end(end.clone(), &mut self.wakes);
            }
        }
    }

    // ---- delivery -----------------------------------------------------------------------

    /// Hands an inbound message to its consumers: every open stream that wants it, and the
    /// callbacks when any is registered for its command; the default stream when none of them.
    fn route(&mut self, now: Instant, publish: Publish, token: Option<AckToken>) {
        if self.paused {
            self.hold(publish, token);
            return;
        }
        let command = if publish.qos == QoS::ExactlyOnce && self.qos2_on_pubrel {
            Command::PubRel
        } else {
            Command::Publish
        };
        let to_callbacks = self.routes(command);
        let mut targets = core::mem::take(&mut self.targets);
        targets.clear();
        targets.extend(
            self.streams
                .iter()
                .filter(|(_, s)| s.is_open() && s.wants(&publish.topic))
                .map(|(id, _)| id),
        );
        let count = targets.len() + usize::from(to_callbacks);
        let manual = self.ack_mode == AckMode::Manual;
        let (delivery, mut token) = match token {
            Some(token) if !manual => {
                let key = self.next_delivery;
                self.next_delivery += 1;
                let waiting = count.max(1);
                self.deliveries.insert(key, Delivery { token, waiting });
                (Some(key), None)
            }
            token => (None, token),
        };
        if count == 0 {
            self.targets = targets;
            self.deliver_default(now, Message::with_ack(publish, token), delivery);
            return;
        }
        let capacity = self.settings.stream_capacity;
        let overflow = self.settings.overflow;
        let received = to_callbacks.then(|| Received {
            command,
            message: Some(publish.clone()),
            packet_id: publish.packet_id,
            mid: None,
            reason_codes: Vec::new(),
        });
        let mut message = Some(Message::with_ack(publish, None));
        for (n, id) in targets.iter().enumerate() {
            let last = n + 1 == targets.len();
            let mut copy = match (&message, last) {
                (Some(m), false) => m.share(),
                _ => match message.take() {
                    Some(m) => m,
                    None => break,
                },
            };
            copy.ack = token.take();
            if let Some(stream) = self.streams.get_mut(*id) {
                self.dropped += stream.push(
                    copy,
                    delivery,
                    capacity,
                    overflow,
                    &mut self.accepted,
                    &mut self.wakes,
                );
            }
        }
        if let Some(received) = received {
            let lent = token.is_some();
            self.lent.extend(token);
            self.work.push(Work::Packet {
                received: Box::new(received),
                delivery,
                lent,
                sole: targets.is_empty(),
            });
        }
        self.targets = targets;
    }

    /// Hands a message to the default stream, or, when it is closed, drops it: nobody in the
    /// application wants it, and it is acknowledged.
    fn deliver_default(
        &mut self,
        now: Instant,
        mut message: Message,
        delivery: Option<DeliveryKey>,
    ) {
        let capacity = self.settings.stream_capacity;
        let overflow = self.settings.overflow;
        match self.streams.get_mut(StreamId::DEFAULT) {
            Some(stream) if stream.is_open() => {
                self.dropped += stream.push(
                    message,
                    delivery,
                    capacity,
                    overflow,
                    &mut self.accepted,
                    &mut self.wakes,
                );
            }
            _ => {
                if let Some(token) = message.ack.take() {
                    let _ = self.session.ack(now, token, ReasonCode::SUCCESS);
                }
                self.accepted.extend(delivery);
            }
        }
    }

    /// Keeps a message while delivery is paused; QoS 0 messages beyond a stream's capacity
    /// drop the oldest.
    fn hold(&mut self, publish: Publish, token: Option<AckToken>) {
        if publish.qos == QoS::AtMostOnce {
            let qos0 = self
                .held
                .iter()
                .filter(|(p, _)| p.qos == QoS::AtMostOnce)
                .count();
            if qos0 >= self.settings.stream_capacity {
                if let Some(index) = self.held.iter().position(|(p, _)| p.qos == QoS::AtMostOnce) {
                    self.held.remove(index);
                }
                self.dropped += 1;
            }
        }
        self.held.push_back((publish, token));
    }

    /// The broker resumed the session, so it sends again every QoS 1 message it has no PUBACK
    /// for (MQTT-4.4.0-1), among them those still waiting here for room in a stream: the
    /// session forgot their acknowledgements when the connection ended. Those copies are
    /// dropped, and the application gets the message once, from the resend, instead of
    /// twice; nothing acknowledged is touched. (QoS 2 messages stay: the session answers
    /// their resends without delivering them again.)
    fn forget_resent_deliveries(&mut self, now: Instant) {
        let resent: alloc::collections::BTreeSet<DeliveryKey> = self
            .deliveries
            .iter()
            .filter(|(_, delivery)| delivery.token.qos() == QoS::AtLeastOnce)
            .map(|(key, _)| *key)
            .collect();
        if resent.is_empty() {
            return;
        }
        let capacity = self.settings.stream_capacity;
        for stream in self.streams.iter_mut() {
            stream.forget(|key| resent.contains(&key), capacity, &mut self.accepted);
        }
        for key in &resent {
            self.deliveries.remove(key);
        }
        self.accept_all(now);
    }

    /// Counts the acceptances streams and callbacks reported; a delivery every target accepted
    /// is acknowledged.
    fn accept_all(&mut self, now: Instant) {
        while let Some(key) = self.accepted.pop() {
            let Some(delivery) = self.deliveries.get_mut(&key) else {
                continue;
            };
            delivery.waiting -= 1;
            if delivery.waiting == 0
                && let Some(delivery) = self.deliveries.remove(&key)
            {
                // Refused only for a session the broker lost meanwhile: nothing to answer.
                let _ = self.session.ack(now, delivery.token, ReasonCode::SUCCESS);
            }
        }
    }

    // ---- the connection's end -----------------------------------------------------------

    /// Sends DISCONNECT once nothing is queued or in flight, or at the deadline.
    fn progress_closing(&mut self, now: Instant) {
        let Some(closing) = &mut self.closing else {
            return;
        };
        match self.session.state() {
            ConnectionState::Connected => {
                let idle =
                    self.session.publishes_queued() == 0 && self.session.publishes_in_flight() == 0;
                if idle || now >= closing.deadline {
                    let disconnect = core::mem::take(&mut closing.disconnect);
                    if self.session.disconnect(now, disconnect).is_err() {
                        self.session.handle_transport_closed(now);
                    }
                }
            }
            ConnectionState::Connecting => self.session.handle_transport_closed(now),
            _ => {}
        }
    }

    /// The transport is gone: what was not written is lost; decide what comes next.
    fn after_down(&mut self, now: Instant, end: End) {
        self.out.clear();
        self.queued = 0;
        self.written = 0;
        self.linger_until = None;
        self.abandon = false;
        for (_, published) in core::mem::take(&mut self.unwritten) {
            let failure = Failure::Failed(FailReason::ConnectionLost);
            self.publishes
                .complete(published.id, Err(failure), &mut self.wakes);
        }
        if self.stopped.is_some() || self.closing.is_some() {
            // `poll_step` finishes a requested disconnect.
            return;
        }
        if let Some(fatal) = self.fatal.take() {
            self.finish(Err(fatal));
            return;
        }
        if core::mem::take(&mut self.reconnect_now) {
            self.retry_at = Some(now);
            return;
        }
        if let Some((reference, permanent)) = self.follow_redirect() {
            self.broadcast(ClientEvent::Redirected {
                reference,
                permanent,
            });
            self.retry_at = Some(now);
            self.before_reconnect_due = true;
            return;
        }
        if core::mem::take(&mut self.link_accepted) {
            self.servers.lost();
        } else if !self.servers.failed() {
            // Another server of the round: at once.
            self.retry_at = Some(now);
            self.before_reconnect_due = true;
            return;
        }
        let may_retry = self.ever_connected || self.settings.retry_first_connect;
        let random = self.random();
        let worked = self.session.exchanged();
        match &mut self.reconnect {
            Some(reconnect) if may_retry => {
                if worked {
                    reconnect.worked();
                }
                let delay = reconnect.next_delay(now, random);
                let attempt = reconnect.attempt();
                self.retry_at = Some(now + delay);
                self.before_reconnect_due = true;
                self.broadcast(ClientEvent::Reconnecting { attempt, delay });
            }
            _ => self.finish(Err(end)),
        }
    }

    /// The client stops: waiters fail, streams end after their last message.
    fn finish(&mut self, result: Result<(), End>) {
        if self.stopped.is_some() {
            return;
        }
        self.stopped = Some(result.clone());
        let failure = Failure::Stopped(result);
        self.publishes.fail_all(&failure, &mut self.wakes);
        self.requests.fail_all(&failure, &mut self.wakes);
        self.held.clear();
        for stream in self.streams.iter_mut() {
            stream.end(StreamEnd::Stopped, &mut self.wakes);
        }
        for queue in self.events.iter_mut().flatten() {
            if let Some(waker) = queue.waker.take() {
                self.wakes.wake(waker);
            }
        }
        for waker in self
            .stop_waiters
            .drain(..)
            .chain(self.room_waiters.drain(..))
        {
            self.wakes.wake(waker);
        }
        self.wake_driver();
    }

    /// A number drawn uniformly from `[0, 1)`.
    fn random(&mut self) -> f64 {
        next_random(&mut self.rng)
    }

    /// The redirect the broker asked for when the connection ended, if it is followed.
    fn follow_redirect(&mut self) -> Option<(String, bool)> {
        let (code, reference) = match self.last_reason.as_ref()? {
            DisconnectReason::Refused(connack) => (
                connack.reason_code,
                connack.properties.server_reference.as_deref(),
            ),
            DisconnectReason::ByServer(disconnect) => (
                disconnect.reason_code,
                disconnect.properties.server_reference.as_deref(),
            ),
            _ => return None,
        };
        let max = self.settings.max_redirects;
        self.servers.redirect(code, reference, max)
    }
}

/// A number drawn uniformly from `[0, 1)` with xorshift64* from `state`.
fn next_random(state: &mut u64) -> f64 {
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    let bits = x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
    bits as f64 / (1u64 << 53) as f64
}

impl<C> core::fmt::Debug for Core<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Core")
            .field("session", &self.session)
            .field("link", &self.link)
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}
