//! The [`Client`] handle: the seed's methods.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak, mpsc};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::Duration;

use bytes::Bytes;
use mio::Waker;
use mqtt_proto::{
    ByteString, Disconnect, Publish, QoS, ReasonCode, SubscribeProperties, Subscription,
    TopicFilter, TopicName, UnsubscribeProperties, Will,
};
use mqtt_session::{
    AckMode, Callback, Command, Condition, Config, Event, FailReason, Instant, PublishId,
    Qos2Delivery, Received, RequestId, Session, Version,
};
use tracing::warn;

use crate::driver::{Driver, Until};
use crate::error::Error;
use crate::message::Message;
use crate::options::{ConnectOptions, PublishOptions};

/// Outcomes of failed publishes and of (un)subscribes kept for `wait_for_*` calls that have not
/// come yet; older ones are forgotten.
const KEPT_OUTCOMES: usize = 10_000;

/// The seed's `on_message`: a callback for every received message.
pub type OnMessage = Box<dyn FnMut(&Client, &Message) + Send>;

/// An MQTT client with the Zerynth/paho-style API: cheap to clone, `Send` and `Sync`.
///
/// All clones share one session. Commands (`publish`, `subscribe`, ...) lock it briefly, hand
/// it the command and wake the loop; the loop owns the socket, and runs the callbacks without
/// holding the lock, so a callback can use the client it is given (publish, subscribe, even
/// `disconnect`). Blocking calls made from a callback (`wait_for_*`, `loop_stop`) return
/// [`Error::WouldDeadlock`] instead of waiting for their own thread.
///
/// The session outlives connections: messages published while the broker is away wait in its
/// queue, and unacknowledged ones are sent again on the next connection.
///
/// ```no_run
/// use std::time::Duration;
/// use mqtt_blocking::{Client, Command, ConnectOptions, QoS, Received};
///
/// # fn main() -> Result<(), mqtt_blocking::Error> {
/// let client = Client::new("myId", true);
/// client.connect("test.mosquitto.org", Duration::from_secs(60), ConnectOptions::default())?;
/// client.subscribe(&[("cool/channel", QoS::AtLeastOnce)])?;
/// client.on_if(
///     Command::Publish,
///     |_client, data: &Received| println!("cool: {:?}", data.message.as_ref().map(|m| &m.payload)),
///     |data: &Received| data.message.as_ref().is_some_and(|m| m.topic == "cool"),
///     0,
/// );
/// client.loop_start(None)?;
/// let mid = client.publish("cool", "ice", QoS::AtLeastOnce, false)?;
/// client.wait_for_publish(mid, Duration::from_secs(5))?;
/// client.disconnect()?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) shared: Arc<Shared>,
}

/// What every clone of a [`Client`] shares.
pub(crate) struct Shared {
    inner: Mutex<Inner>,
    /// Signalled when publishes and requests complete, connections come and go, and loops end.
    pub(crate) changed: Condvar,
    /// Set when the loop has been woken and has not drained the session since.
    wake_pending: AtomicBool,
    /// The origin of the session's clock.
    pub(crate) start: std::time::Instant,
    /// The loop thread of `loop_start`.
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// The broker to (re)connect to.
#[derive(Clone, Debug)]
pub(crate) struct Endpoint {
    pub(crate) host: String,
    pub(crate) options: ConnectOptions,
}

/// A callback registration, applied by the loop.
pub(crate) enum Registration {
    On {
        command: Command,
        callback: Callback<Client>,
        condition: Option<(Condition, i32)>,
    },
    Messages(mpsc::Sender<Message>),
}

/// A requested disconnect.
pub(crate) struct Closing {
    pub(crate) disconnect: Disconnect,
    pub(crate) deadline: std::time::Instant,
}

/// The state behind the lock.
pub(crate) struct Inner {
    pub(crate) session: Session,
    pub(crate) endpoint: Option<Endpoint>,
    /// The loop's state while no thread runs it; `None` before the first `connect`.
    driver: Option<Box<Driver>>,
    waker: Option<Arc<Waker>>,
    /// The thread that holds the driver.
    busy: Option<ThreadId>,
    /// A loop (`loop_start`, `loop_forever`) holds the driver.
    looping: bool,
    pub(crate) registrations: Vec<Registration>,
    /// Publishes accepted and not yet complete.
    outstanding: BTreeSet<PublishId>,
    failed: BTreeMap<PublishId, FailReason>,
    /// (Un)subscribes: `None` until the broker answers.
    requests: BTreeMap<RequestId, Option<Result<Vec<ReasonCode>, FailReason>>>,
    waiters: usize,
    pub(crate) stop: bool,
    pub(crate) reconnect_now: bool,
    pub(crate) closing: Option<Closing>,
}

impl Inner {
    /// Records what an event completes; `true` when a waiter may care.
    pub(crate) fn record(&mut self, event: &Event) -> bool {
        match event {
            Event::Published(p) => self.outstanding.remove(&p.id),
            Event::PublishFailed(f) => {
                self.outstanding.remove(&f.id);
                self.failed.insert(f.id, f.reason.clone());
                if self.failed.len() > KEPT_OUTCOMES {
                    self.failed.pop_first();
                }
                true
            }
            Event::Subscribed(s) => self.complete(s.id, Ok(s.reason_codes.clone())),
            Event::Unsubscribed(u) => self.complete(u.id, Ok(u.reason_codes.clone())),
            Event::RequestFailed { id, reason } => self.complete(*id, Err(reason.clone())),
            Event::Connected(_) | Event::Disconnected(_) => true,
            _ => false,
        }
    }

    fn complete(&mut self, id: RequestId, outcome: Result<Vec<ReasonCode>, FailReason>) -> bool {
        if let Some(slot) = self.requests.get_mut(&id) {
            *slot = Some(outcome);
        }
        if self.requests.len() > KEPT_OUTCOMES {
            let oldest_done = self
                .requests
                .iter()
                .find(|(_, o)| o.is_some())
                .map(|(id, _)| *id);
            if let Some(id) = oldest_done {
                self.requests.remove(&id);
            }
        }
        true
    }

    pub(crate) fn has_waiters(&self) -> bool {
        self.waiters > 0
    }
}

impl Shared {
    /// The loop is about to drain the session: later commands must wake it again.
    pub(crate) fn clear_wake(&self) {
        self.wake_pending.store(false, Ordering::Release);
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Let a loop thread blocked in poll notice that every client is gone.
        let inner = self.inner.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(waker) = &inner.waker {
            let _ = waker.wake();
        }
    }
}

/// The driver, taken out of the shared state by the thread that runs it; put back on drop,
/// also when a callback panics.
struct Claimed {
    shared: Weak<Shared>,
    driver: Option<Box<Driver>>,
}

impl Claimed {
    fn driver(&mut self) -> &mut Driver {
        self.driver
            .as_deref_mut()
            .unwrap_or_else(|| unreachable!("a claimed driver is present until dropped"))
    }
}

impl Drop for Claimed {
    fn drop(&mut self) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        {
            let mut inner = lock(&shared.inner);
            inner.driver = self.driver.take();
            inner.busy = None;
            inner.looping = false;
        }
        shared.changed.notify_all();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Client {
    /// A client with the seed's constructor: MQTT 3.1.1, `client_id`, and Clean Session on
    /// every connection when `clean_session` is true (the broker forgets the client's
    /// subscriptions and queued messages when it disconnects). The client itself never
    /// discards its unacknowledged messages: they are sent again after a reconnection.
    ///
    /// As in the seed, QoS 2 messages are handed to callbacks at PUBREL, once the exchange is
    /// complete ([`Qos2Delivery::OnPubRel`]). Beyond the seed, subscriptions a broker forgot
    /// (a clean session) are made again after an automatic reconnection
    /// ([`Config::resubscribe`]). Nothing is connected yet: call [`connect`](Self::connect).
    pub fn new(client_id: impl Into<ByteString>, clean_session: bool) -> Client {
        let mut config = Config::new(client_id, Version::V311);
        config.clean_start = clean_session;
        config.clean_start_on_reconnect = clean_session;
        config.qos2_delivery = Qos2Delivery::OnPubRel;
        config.resubscribe = true;
        Client::with_config(config)
    }

    /// A client with every session option: MQTT 5.0 (`Config::new(id, Version::V5)`), CONNECT
    /// properties such as the session expiry interval, the in-flight window, when QoS 2
    /// messages are delivered, and so on. `keep_alive` and `connect_timeout` are taken from
    /// [`connect`](Self::connect) instead.
    ///
    /// This client acknowledges messages itself: `config.ack_mode` is set to
    /// [`AckMode::Automatic`].
    ///
    /// ```
    /// use mqtt_blocking::{Client, Config, Version};
    ///
    /// let mut config = Config::new("sensor-17", Version::V5);
    /// config.clean_start = false;
    /// config.connect_properties.session_expiry_interval = Some(3600);
    /// let client = Client::with_config(config);
    /// ```
    pub fn with_config(mut config: Config) -> Client {
        config.ack_mode = AckMode::Automatic;
        let inner = Inner {
            session: Session::new(config),
            endpoint: None,
            driver: None,
            waker: None,
            busy: None,
            looping: false,
            registrations: Vec::new(),
            outstanding: BTreeSet::new(),
            failed: BTreeMap::new(),
            requests: BTreeMap::new(),
            waiters: 0,
            stop: false,
            reconnect_now: false,
            closing: None,
        };
        Client {
            shared: Arc::new(Shared {
                inner: Mutex::new(inner),
                changed: Condvar::new(),
                wake_pending: AtomicBool::new(false),
                start: std::time::Instant::now(),
                thread: Mutex::new(None),
            }),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.shared.inner)
    }

    /// Now, on the session's clock.
    pub(crate) fn now(&self) -> Instant {
        Instant::from_millis(self.shared.start.elapsed().as_millis() as u64)
    }

    /// Runs a command against the session, then wakes the loop.
    fn command<T>(
        &self,
        f: impl FnOnce(&mut Inner, Instant) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut inner = self.lock();
        let result = f(&mut inner, self.now());
        let waker = if self.shared.wake_pending.swap(true, Ordering::AcqRel) {
            None
        } else {
            inner.waker.clone()
        };
        drop(inner);
        if let Some(waker) = waker
            && let Err(e) = waker.wake()
        {
            warn!(error = %e, "MQTT loop could not be woken");
        }
        result
    }

    fn register(&self, registration: Registration) {
        let _ = self.command(|inner, _| {
            if matches!(registration, Registration::On { .. }) {
                inner.session.set_packet_events(true);
            }
            inner.registrations.push(registration);
            Ok(())
        });
    }

    // ---- the seed's callbacks ------------------------------------------------------------

    /// The seed's `on(command, function)`: sets the generic callback for `command`, replacing
    /// the previous one. It runs for a received packet only when no conditional callback
    /// ([`on_if`](Self::on_if)) matches it.
    ///
    /// Callbacks run on the loop, with the client and the packet's data: for PUBLISH (and
    /// PUBREL of a QoS 2 message, see [`Client::new`]) `data.message` holds the message.
    pub fn on(&self, command: Command, callback: impl FnMut(&Client, &Received) + Send + 'static) {
        self.register(Registration::On {
            command,
            callback: Box::new(callback),
            condition: None,
        });
    }

    /// The seed's `on(command, function, condition, priority)`: adds a conditional callback.
    /// For each packet, of the conditional callbacks whose condition holds, only the one with
    /// the highest priority runs (the first registered on a tie); the generic callback runs
    /// only when none holds.
    ///
    /// ```no_run
    /// use mqtt_blocking::{Client, Command, Received};
    ///
    /// fn is_cool(data: &Received) -> bool {
    ///     data.message.as_ref().is_some_and(|m| m.topic == "cool")
    /// }
    ///
    /// let client = Client::new("myId", true);
    /// client.on_if(Command::Publish, |_, _| println!("cool"), is_cool, 0);
    /// client.on(Command::Publish, |_, _| println!("not cool"));
    /// ```
    pub fn on_if(
        &self,
        command: Command,
        callback: impl FnMut(&Client, &Received) + Send + 'static,
        condition: impl Fn(&Received) -> bool + Send + 'static,
        priority: i32,
    ) {
        self.register(Registration::On {
            command,
            callback: Box::new(callback),
            condition: Some((Box::new(condition), priority)),
        });
    }

    /// A receiver of every message received from now on, for iterating instead of callbacks.
    /// Unbounded: a receiver that is not read keeps what arrives; drop it when done.
    ///
    /// ```no_run
    /// # fn demo(client: mqtt_blocking::Client) {
    /// let messages = client.messages();
    /// for message in messages.iter() {
    ///     println!("{}: {:?}", message.topic, message.payload_str());
    /// }
    /// # }
    /// ```
    pub fn messages(&self) -> mpsc::Receiver<Message> {
        let (sender, receiver) = mpsc::channel();
        self.register(Registration::Messages(sender));
        receiver
    }

    // ---- connection settings -------------------------------------------------------------

    /// The seed's `set_will`: the message the broker publishes when the connection is lost
    /// without DISCONNECT. Applies from the next CONNECT.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTopic`].
    pub fn set_will(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
        retain: bool,
    ) -> Result<(), Error> {
        let mut will = Will::new(TopicName::new(topic)?, payload);
        will.qos = qos;
        will.retain = retain;
        self.lock().session.set_will(Some(will));
        Ok(())
    }

    /// The seed's `set_username_pw`: the credentials of the next CONNECT. Binary passwords go
    /// through [`Config::password`] with [`with_config`](Self::with_config).
    pub fn set_username_pw(&self, username: &str, password: Option<&str>) {
        self.lock().session.set_credentials(
            Some(username.into()),
            password.map(|p| Bytes::copy_from_slice(p.as_bytes())),
        );
    }

    // ---- connecting ----------------------------------------------------------------------

    /// The seed's `connect(host, keepalive, port, ssl_ctx, breconnect_cb, aconnect_cb,
    /// sock_keepalive)`: connects to the broker and returns once it has accepted the
    /// connection. `keepalive` is the longest silence before the client pings the broker
    /// (whole seconds; zero turns it off).
    ///
    /// Call it before starting a loop. Messages that arrive right after CONNACK wait for the
    /// loop's callbacks.
    ///
    /// # Errors
    ///
    /// [`Error::Refused`] when the broker refuses the connection, with the CONNACK's reason
    /// code ([`Error::reason_code`]); [`Error::Io`] when it can't be reached; [`Error::Tls`];
    /// [`Error::ConnectTimeout`]; [`Error::Disconnected`] when the broker closes the connection
    /// instead of answering; [`Error::LoopRunning`]; [`Error::WouldDeadlock`] from a callback.
    pub fn connect(
        &self,
        host: &str,
        keepalive: Duration,
        options: ConnectOptions,
    ) -> Result<(), Error> {
        let mut claimed = self.claim(false, true)?;
        {
            let mut inner = self.lock();
            inner.session.set_keep_alive(keepalive);
            inner.session.set_connect_timeout(options.connect_timeout);
            inner.endpoint = Some(Endpoint {
                host: host.to_owned(),
                options,
            });
            inner.closing = None;
            inner.stop = false;
            inner.reconnect_now = false;
        }
        claimed.driver().connect(self, false)
    }

    /// The seed's `reconnect()`: closes the current connection, if any, and connects again to
    /// the same broker; unacknowledged messages are sent again. Runs the `before_reconnect`
    /// hook first.
    ///
    /// Without a loop, it blocks until the broker accepts the connection. With a loop running
    /// (or from a callback), it asks the loop to reconnect at once and returns.
    ///
    /// # Errors
    ///
    /// [`Error::NotConnected`] before [`connect`](Self::connect), and as `connect`.
    pub fn reconnect(&self) -> Result<(), Error> {
        {
            let mut inner = self.lock();
            if inner.endpoint.is_none() {
                return Err(Error::NotConnected);
            }
            if inner.looping || inner.busy == Some(thread::current().id()) {
                drop(inner);
                return self.command(|inner, _| {
                    inner.reconnect_now = true;
                    Ok(())
                });
            }
            inner.closing = None;
        }
        let mut claimed = self.claim(false, true)?;
        claimed.driver().connect(self, true)
    }

    /// Whether the broker has accepted the current connection.
    pub fn is_connected(&self) -> bool {
        self.lock().session.is_connected()
    }

    // ---- commands ------------------------------------------------------------------------

    /// The seed's `publish(topic, payload, qos, retain)`: hands the message to the session and
    /// returns its `mid` at once. It goes out when the loop next runs (queued while the
    /// connection is down); [`wait_for_publish`](Self::wait_for_publish) waits until it is
    /// complete.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTopic`]; [`Error::Usage`] when the queue is full or the broker does not
    /// support the QoS, retain or size.
    pub fn publish(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
        retain: bool,
    ) -> Result<PublishId, Error> {
        self.publish_with(topic, payload, PublishOptions::new(qos, retain))
    }

    /// [`publish`](Self::publish) with MQTT 5.0 properties.
    ///
    /// # Errors
    ///
    /// As [`publish`](Self::publish).
    pub fn publish_with(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        options: PublishOptions,
    ) -> Result<PublishId, Error> {
        let mut publish = Publish::new(TopicName::new(topic)?, payload);
        publish.qos = options.qos;
        publish.retain = options.retain;
        publish.properties = options.properties;
        self.command(|inner, now| {
            let id = inner.session.publish(now, publish)?;
            inner.outstanding.insert(id);
            Ok(id)
        })
    }

    /// The seed's `subscribe([[topic, qos], ...])`: returns at once with the request's id; the
    /// SUBACK comes to [`Command::SubAck`] callbacks and to
    /// [`wait_for_request`](Self::wait_for_request).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTopic`], [`Error::Usage`].
    pub fn subscribe<T: AsRef<str>>(&self, topics: &[(T, QoS)]) -> Result<RequestId, Error> {
        let subscriptions = topics
            .iter()
            .map(|(filter, qos)| Ok(Subscription::new(TopicFilter::new(filter.as_ref())?, *qos)))
            .collect::<Result<Vec<_>, Error>>()?;
        self.subscribe_with(subscriptions, SubscribeProperties::default())
    }

    /// [`subscribe`](Self::subscribe) with MQTT 5.0 subscription options (no local, retain
    /// handling, ...) and properties.
    ///
    /// # Errors
    ///
    /// As [`subscribe`](Self::subscribe).
    pub fn subscribe_with(
        &self,
        subscriptions: Vec<Subscription>,
        properties: SubscribeProperties,
    ) -> Result<RequestId, Error> {
        self.command(|inner, now| {
            let id = inner.session.subscribe(now, subscriptions, properties)?;
            inner.requests.insert(id, None);
            Ok(id)
        })
    }

    /// The seed's `unsubscribe([topic, ...])`: returns at once with the request's id.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTopic`], [`Error::Usage`].
    pub fn unsubscribe<T: AsRef<str>>(&self, topics: &[T]) -> Result<RequestId, Error> {
        let filters = topics
            .iter()
            .map(|f| TopicFilter::new(f.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        self.unsubscribe_with(filters, UnsubscribeProperties::default())
    }

    /// [`unsubscribe`](Self::unsubscribe) with MQTT 5.0 properties.
    ///
    /// # Errors
    ///
    /// As [`unsubscribe`](Self::unsubscribe).
    pub fn unsubscribe_with(
        &self,
        filters: Vec<TopicFilter>,
        properties: UnsubscribeProperties,
    ) -> Result<RequestId, Error> {
        self.command(|inner, now| {
            let id = inner.session.unsubscribe(now, filters, properties)?;
            inner.requests.insert(id, None);
            Ok(id)
        })
    }

    /// Blocks until the publish `mid` is complete: handed to the socket at QoS 0, acknowledged
    /// by PUBACK at QoS 1 and by PUBCOMP at QoS 2. A loop must be running (or start) for it to
    /// make progress.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`]; [`Error::PublishFailed`] when the broker refused it (MQTT 5.0) or it
    /// expired; [`Error::WouldDeadlock`] from a callback.
    pub fn wait_for_publish(&self, mid: PublishId, timeout: Duration) -> Result<(), Error> {
        self.wait(timeout, |inner| {
            if let Some(reason) = inner.failed.remove(&mid) {
                return Some(Err(Error::PublishFailed(reason)));
            }
            (!inner.outstanding.contains(&mid)).then_some(Ok(()))
        })
    }

    /// Blocks until the broker answers the subscribe or unsubscribe `id`; returns its reason
    /// codes: per filter, the granted QoS (0x00 to 0x02) or a failure (0x80 and up). MQTT 3.1.1
    /// UNSUBACK has none.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`], also at once for an id whose answer was already taken;
    /// [`Error::RequestFailed`]; [`Error::WouldDeadlock`] from a callback.
    pub fn wait_for_request(
        &self,
        id: RequestId,
        timeout: Duration,
    ) -> Result<Vec<ReasonCode>, Error> {
        self.wait(timeout, |inner| match inner.requests.get(&id) {
            Some(None) => None,
            Some(Some(_)) => match inner.requests.remove(&id) {
                Some(Some(Ok(codes))) => Some(Ok(codes)),
                Some(Some(Err(reason))) => Some(Err(Error::RequestFailed(reason))),
                _ => None,
            },
            None => Some(Err(Error::Timeout)),
        })
    }

    fn wait<T>(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&mut Inner) -> Option<Result<T, Error>>,
    ) -> Result<T, Error> {
        let deadline = std::time::Instant::now().checked_add(timeout);
        let mut inner = self.lock();
        loop {
            if let Some(result) = check(&mut inner) {
                return result;
            }
            if inner.busy == Some(thread::current().id()) {
                return Err(Error::WouldDeadlock);
            }
            inner = match deadline {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        return Err(Error::Timeout);
                    }
                    inner.waiters += 1;
                    let (mut inner, _) = self
                        .shared
                        .changed
                        .wait_timeout(inner, left)
                        .unwrap_or_else(PoisonError::into_inner);
                    inner.waiters -= 1;
                    inner
                }
                None => {
                    inner.waiters += 1;
                    let mut inner = self
                        .shared
                        .changed
                        .wait(inner)
                        .unwrap_or_else(PoisonError::into_inner);
                    inner.waiters -= 1;
                    inner
                }
            };
        }
    }

    // ---- the loop ------------------------------------------------------------------------

    /// The seed's `loop(on_message)`: starts the thread that handles incoming packets, runs
    /// the callbacks and keeps the connection alive, and returns at once. When the connection
    /// is lost it reconnects with backoff (unless [`ConnectOptions::reconnect`] is `None`,
    /// which ends the loop), running the `before_reconnect` and `after_connect` hooks around
    /// each attempt.
    ///
    /// `on_message`, when given, becomes the generic callback for PUBLISH and PUBREL packets
    /// that carry a message: every message at QoS 0, 1 and 2 that no conditional callback
    /// takes.
    ///
    /// Started after a failed [`connect`](Self::connect), the loop keeps trying to connect.
    ///
    /// # Errors
    ///
    /// [`Error::NotConnected`] before any `connect`; [`Error::LoopRunning`];
    /// [`Error::Io`] when the thread can't be spawned.
    pub fn loop_start(&self, on_message: Option<OnMessage>) -> Result<(), Error> {
        let ended = {
            let inner = self.lock();
            if inner.looping {
                return Err(Error::LoopRunning);
            }
            lock(&self.shared.thread).take()
        };
        if let Some(handle) = ended {
            // A loop that ended on its own (reconnection off, or a panic); reap it.
            let _ = handle.join();
        }
        let claimed = self.claim(true, false)?;
        if let Some(on_message) = on_message {
            self.set_on_message(on_message);
        }
        let shared = Arc::downgrade(&self.shared);
        let spawned = thread::Builder::new()
            .name("mqtt-loop".into())
            .spawn(move || {
                let mut claimed = claimed;
                if let Some(shared) = shared.upgrade() {
                    lock(&shared.inner).busy = Some(thread::current().id());
                }
                if let Err(e) = claimed.driver().run(&shared, Until::Stopped) {
                    warn!(error = %e, "MQTT loop ended");
                }
            });
        match spawned {
            Ok(handle) => {
                *lock(&self.shared.thread) = Some(handle);
                Ok(())
            }
            Err(e) => Err(Error::Io(e)),
        }
    }

    /// The seed's loop on the calling thread: runs until [`disconnect`](Self::disconnect) or
    /// [`loop_stop`](Self::loop_stop) (from a callback or another thread), reconnecting with
    /// backoff when the connection is lost. `on_message` as in
    /// [`loop_start`](Self::loop_start).
    ///
    /// # Errors
    ///
    /// As [`loop_start`](Self::loop_start); and why the connection ended when automatic
    /// reconnection is off.
    pub fn loop_forever(&self, on_message: Option<OnMessage>) -> Result<(), Error> {
        let mut claimed = self.claim(true, true)?;
        if let Some(on_message) = on_message {
            self.set_on_message(on_message);
        }
        claimed
            .driver()
            .run(&Arc::downgrade(&self.shared), Until::Stopped)
    }

    /// Stops the loop and waits for its thread to end. The connection stays open (but
    /// unserved: the broker drops it after the keep alive) until a loop starts again or
    /// [`disconnect`](Self::disconnect). From a callback, asks the loop to stop and returns.
    ///
    /// # Errors
    ///
    /// [`Error::LoopPanicked`] when a callback panicked on the loop thread.
    pub fn loop_stop(&self) -> Result<(), Error> {
        let mut inner = self.lock();
        if !inner.looping {
            drop(inner);
            return self.join();
        }
        inner.stop = true;
        if inner.busy == Some(thread::current().id()) {
            return Ok(());
        }
        drop(inner);
        self.wake();
        self.wait_until_idle();
        self.join()
    }

    /// Whether a loop is running.
    pub fn is_loop_running(&self) -> bool {
        self.lock().looping
    }

    /// The seed's `disconnect()`: waits (up to [`ConnectOptions::disconnect_timeout`]) for
    /// queued and in-flight publishes to complete, sends DISCONNECT, closes the connection and
    /// ends the loop. Unfinished publishes stay in the session for a later `connect`.
    ///
    /// From another thread it returns once the loop has ended; from a callback, at once (the
    /// loop disconnects after the callback returns).
    ///
    /// # Errors
    ///
    /// [`Error::NotConnected`] before any `connect`; [`Error::LoopPanicked`].
    pub fn disconnect(&self) -> Result<(), Error> {
        self.disconnect_with(Disconnect::default())
    }

    /// [`disconnect`](Self::disconnect) with an MQTT 5.0 reason code and properties (a new
    /// session expiry interval, or 0x04 to have the will published).
    ///
    /// # Errors
    ///
    /// As [`disconnect`](Self::disconnect).
    pub fn disconnect_with(&self, disconnect: Disconnect) -> Result<(), Error> {
        {
            let mut inner = self.lock();
            let Some(endpoint) = &inner.endpoint else {
                return Err(Error::NotConnected);
            };
            let deadline = std::time::Instant::now() + endpoint.options.disconnect_timeout;
            inner.closing = Some(Closing {
                disconnect,
                deadline,
            });
            let on_loop = inner.busy == Some(thread::current().id());
            let looping = inner.looping;
            drop(inner);
            if on_loop {
                self.wake();
                return Ok(());
            }
            if looping {
                self.wake();
                self.wait_until_idle();
                return self.join();
            }
        }
        // No loop: serve the connection here until DISCONNECT is out.
        let mut claimed = self.claim(false, true)?;
        let result = claimed
            .driver()
            .run(&Arc::downgrade(&self.shared), Until::Stopped);
        self.lock().closing = None;
        drop(claimed);
        self.join()?;
        result
    }

    fn wake(&self) {
        let _ = self.command(|_, _| Ok(()));
    }

    /// Waits until no thread holds the driver.
    fn wait_until_idle(&self) {
        let mut inner = self.lock();
        while inner.busy.is_some() || inner.looping {
            inner.waiters += 1;
            inner = self
                .shared
                .changed
                .wait(inner)
                .unwrap_or_else(PoisonError::into_inner);
            inner.waiters -= 1;
        }
    }

    /// Joins a finished loop thread.
    fn join(&self) -> Result<(), Error> {
        let handle = lock(&self.shared.thread).take();
        match handle {
            Some(handle) if handle.thread().id() != thread::current().id() => {
                handle.join().map_err(|_| Error::LoopPanicked)
            }
            Some(handle) => {
                *lock(&self.shared.thread) = Some(handle);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Takes the driver for this thread, creating it on first use; waits while another thread
    /// is inside `connect`, `reconnect` or `disconnect`.
    ///
    /// `looping` marks it held by a loop; `here` marks this thread as the one running it (a
    /// loop thread marks itself once it runs).
    fn claim(&self, looping: bool, here: bool) -> Result<Claimed, Error> {
        let me = thread::current().id();
        let mut inner = self.lock();
        loop {
            if inner.busy == Some(me) {
                return Err(Error::WouldDeadlock);
            }
            if inner.looping {
                return Err(Error::LoopRunning);
            }
            if inner.busy.is_none() {
                break;
            }
            inner.waiters += 1;
            inner = self
                .shared
                .changed
                .wait(inner)
                .unwrap_or_else(PoisonError::into_inner);
            inner.waiters -= 1;
        }
        if looping && inner.endpoint.is_none() {
            return Err(Error::NotConnected);
        }
        let driver = match inner.driver.take() {
            Some(driver) => driver,
            None => {
                let (driver, waker) = Driver::new()?;
                inner.waker = Some(waker);
                driver
            }
        };
        inner.busy = here.then_some(me);
        inner.looping = looping;
        if looping {
            inner.stop = false;
        }
        Ok(Claimed {
            shared: Arc::downgrade(&self.shared),
            driver: Some(driver),
        })
    }

    fn set_on_message(&self, on_message: OnMessage) {
        let on_message = Arc::new(Mutex::new(on_message));
        for command in [Command::Publish, Command::PubRel] {
            let on_message = on_message.clone();
            self.on(command, move |client, data| {
                if let Some(publish) = &data.message {
                    let message = Message::from(publish.clone());
                    (lock(&on_message))(client, &message);
                }
            });
        }
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("Client")
            .field("session", &inner.session)
            .field("endpoint", &inner.endpoint)
            .field("looping", &inner.looping)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_is_send_and_sync() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<Client>();
    }

    #[test]
    fn seed_constructor_defaults() {
        let client = Client::new("myId", true);
        let inner = client.lock();
        let config = inner.session.config();
        assert_eq!(config.version, Version::V311);
        assert!(config.clean_start && config.clean_start_on_reconnect);
        assert_eq!(config.qos2_delivery, Qos2Delivery::OnPubRel);
        drop(inner);
        assert!(!client.is_connected() && !client.is_loop_running());
        // Publishes before connect wait in the session's queue.
        let mid = client.publish("a/b", "x", QoS::AtLeastOnce, false).unwrap();
        assert!(matches!(
            client.wait_for_publish(mid, Duration::from_millis(10)),
            Err(Error::Timeout)
        ));
    }
}
