//! The [`Client`] handle: the seed's methods.

use std::sync::mpsc::{RecvError, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Poll, Wake, Waker};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::Duration;

use bytes::Bytes;
use mqtt_client::{
    Answer, ClientEvent, CommandError, Core, Error, EventsId, Failure, Interest, Locked, Message,
    StreamEnd, StreamId, TakeWakes, packets,
};
use mqtt_proto::{
    Auth, ByteString, Disconnect, QoS, ReasonCode, SubscribeProperties, Subscription, TopicFilter,
    UnsubscribeProperties, Will,
};
use mqtt_session::{
    Command, Config, Instant, PublishId, Qos2Delivery, Received, RequestId, Version,
};

use crate::driver::{Driver, Until};
use crate::options::{ConnectOptions, PublishOptions};

/// The seed's `on_message`: a callback for every received message.
pub type OnMessage = Box<dyn FnMut(&Client, &Message) + Send>;

/// An MQTT client with the Zerynth/paho-style API: cheap to clone, `Send` and `Sync`.
///
/// All clones share one client core ([`mqtt_client::Core`]): commands (`publish`,
/// `subscribe`, ...) lock it briefly and wake the loop; the loop owns the socket, and runs the
/// callbacks without holding the lock, so a callback can use the client it is given (publish,
/// subscribe, even `disconnect`). Blocking calls made from a callback (`wait_for_*`,
/// `loop_stop`) return [`Error::WouldDeadlock`] instead of waiting for their own thread.
///
/// Messages wait, unacknowledged, until a loop runs: callbacks and [`messages`](Self::messages)
/// receivers registered before [`loop_start`](Self::loop_start) see every message, also one
/// that arrives right after CONNACK. A message is acknowledged once a callback for it returned
/// or a receiver holds it. Dropping the last clone disconnects in order, as
/// [`disconnect`](Self::disconnect) does.
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
    pub(crate) handle: Arc<Handle>,
}

/// The application's hold on the client; the last one to go disconnects.
pub(crate) struct Handle {
    pub(crate) shared: Arc<Shared>,
}

/// What every clone of a [`Client`] and the loop share.
pub(crate) struct Shared {
    inner: Mutex<Inner>,
    /// Signalled when the core completes something a waiter may want; the core wakes it
    /// through [`waker`](Self::waker).
    changed: Arc<Condvar>,
    waker: Waker,
    /// The origin of the core's clock.
    start: std::time::Instant,
    /// The loop thread of `loop_start`.
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// A [`Waker`] that wakes every thread waiting on the condition variable.
struct Notify(Arc<Condvar>);

impl Wake for Notify {
    fn wake(self: Arc<Self>) {
        self.0.notify_all();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.notify_all();
    }
}

/// The broker to (re)connect to.
#[derive(Clone, Debug)]
pub(crate) struct Endpoint {
    pub(crate) host: String,
    pub(crate) options: ConnectOptions,
}

impl Endpoint {
    /// The host and options of a connection to `target`: the first broker, one of
    /// [`ConnectOptions::more_servers`], or where a broker redirected the client.
    pub(crate) fn server(&self, target: &mqtt_client::Target) -> (String, ConnectOptions) {
        let listed = |index: usize| match index.checked_sub(1) {
            Some(i) if i < self.options.more_servers.len() => {
                let (host, port) = self.options.more_servers[i].clone();
                let mut options = self.options.clone();
                options.port = port;
                (host, options)
            }
            _ => (self.host.clone(), self.options.clone()),
        };
        match target {
            mqtt_client::Target::Server(index) => listed(*index),
            mqtt_client::Target::Redirect { host, port, base } => {
                let (_, mut options) = listed(*base);
                options.port = port.unwrap_or(options.port);
                (host.clone(), options)
            }
            _ => listed(0),
        }
    }
}

/// The state behind the lock.
pub(crate) struct Inner {
    pub(crate) core: Core<Client>,
    pub(crate) endpoint: Option<Endpoint>,
    /// The loop's state while no thread runs it; `None` before the first `connect`.
    driver: Option<Box<Driver>>,
    /// The thread that holds the driver.
    busy: Option<ThreadId>,
    /// A loop (`loop_start`, `loop_forever`) holds the driver.
    looping: bool,
    /// `loop_stop` asked the loop to return.
    pub(crate) stop: bool,
}

impl TakeWakes for Inner {
    fn take_wakes(&mut self) -> Vec<Waker> {
        self.core.take_wakes()
    }
}

impl Shared {
    /// The client, locked: what its core wakes is woken once the lock is released.
    pub(crate) fn lock(&self) -> Locked<'_, Inner> {
        Locked::lock(&self.inner)
    }

    /// Now, on the core's clock.
    pub(crate) fn now(&self) -> Instant {
        Instant::from_millis(self.start.elapsed().as_millis() as u64)
    }

    /// The core's clock as a `std` instant.
    pub(crate) fn instant(&self, at: Instant) -> std::time::Instant {
        self.start + Duration::from_millis(at.as_millis())
    }

    /// Runs `f` on the core at the current time.
    fn with<T>(&self, f: impl FnOnce(&mut Core<Client>, Instant) -> T) -> T {
        let now = self.now();
        f(&mut self.lock().core, now)
    }

    /// Disconnects in order (see [`Client::disconnect`]); `handle` gives the callbacks their
    /// client while this thread serves the connection.
    fn disconnect(
        self: &Arc<Self>,
        handle: &Weak<Handle>,
        disconnect: Disconnect,
    ) -> Result<(), Error> {
        let (on_loop, looping) = {
            let mut inner = self.lock();
            if inner.endpoint.is_none() {
                let now = self.now();
                inner.core.handles_dropped(now);
                return Err(Error::NotConnected);
            }
            let now = self.now();
            match inner.core.disconnect(now, disconnect) {
                Err(CommandError::Stopped) => return Ok(()),
                other => other?,
            }
            (inner.busy == Some(thread::current().id()), inner.looping)
        };
        if on_loop {
            return Ok(());
        }
        if looping {
            self.wait_until_idle();
            return self.join();
        }
        // No loop: serve the connection here until DISCONNECT is out.
        let mut claimed = self.claim(false, true)?;
        let result = claimed.driver().run(self, handle, Until::Stopped);
        drop(claimed);
        self.join()?;
        result
    }

    /// Releases the lock until the core signals a change (or `timeout` passes), then takes it
    /// again.
    fn wait_changed<'a>(
        &self,
        inner: Locked<'a, Inner>,
        timeout: Option<Duration>,
    ) -> Locked<'a, Inner> {
        let guard = inner.into_guard();
        let guard = match timeout {
            Some(left) => {
                self.changed
                    .wait_timeout(guard, left)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
            None => self
                .changed
                .wait(guard)
                .unwrap_or_else(PoisonError::into_inner),
        };
        Locked::from_guard(guard)
    }

    /// Waits until no thread holds the driver.
    fn wait_until_idle(&self) {
        let mut inner = self.lock();
        while inner.busy.is_some() || inner.looping {
            inner = self.wait_changed(inner, None);
        }
    }

    /// Joins a finished loop thread.
    fn join(&self) -> Result<(), Error> {
        let handle = lock(&self.thread).take();
        match handle {
            Some(handle) if handle.thread().id() != thread::current().id() => {
                handle.join().map_err(|_| Error::LoopPanicked)
            }
            Some(handle) => {
                *lock(&self.thread) = Some(handle);
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
    fn claim(self: &Arc<Self>, looping: bool, here: bool) -> Result<Claimed, Error> {
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
            inner = self.wait_changed(inner, None);
        }
        if looping && inner.endpoint.is_none() {
            return Err(Error::NotConnected);
        }
        let driver = match inner.driver.take() {
            Some(driver) => driver,
            None => {
                let (driver, waker) = Driver::new()?;
                inner.core.register_driver(&waker);
                driver
            }
        };
        inner.busy = here.then_some(me);
        inner.looping = looping;
        if looping {
            inner.stop = false;
        }
        Ok(Claimed {
            shared: Arc::downgrade(self),
            driver: Some(driver),
        })
    }

    /// Blocks until `check` answers or `timeout` passes; `check` registers the shared waker
    /// where it waits, so that the core wakes this thread.
    fn wait<T>(
        &self,
        timeout: Option<Duration>,
        mut check: impl FnMut(&mut Inner, &Waker) -> Poll<Result<T, Error>>,
    ) -> Result<T, Error> {
        let deadline = timeout.and_then(|t| std::time::Instant::now().checked_add(t));
        let mut inner = self.lock();
        loop {
            if let Poll::Ready(result) = check(&mut inner, &self.waker) {
                return result;
            }
            if inner.busy == Some(thread::current().id()) {
                return Err(Error::WouldDeadlock);
            }
            let left = match deadline {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        return Err(Error::Timeout);
                    }
                    Some(left)
                }
                None => None,
            };
            inner = self.wait_changed(inner, left);
        }
    }
}

impl Drop for Handle {
    /// The last handle: disconnect in order, as `disconnect` does (a loop on another thread is
    /// waited for; none on the loop's own thread, which finishes by itself).
    fn drop(&mut self) {
        let _ = self.shared.disconnect(&Weak::new(), Disconnect::default());
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
            let mut inner = shared.lock();
            inner.driver = self.driver.take();
            inner.busy = None;
            if inner.looping {
                // Messages wait for the next loop's consumers.
                inner.core.pause_delivery();
            }
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
    /// discards its unacknowledged messages: they are sent again after a reconnection, and
    /// the subscriptions the broker forgot are made again.
    ///
    /// As in the seed, QoS 2 messages are handed to callbacks at PUBREL, once the exchange is
    /// complete ([`Qos2Delivery::OnPubRel`]). Nothing is connected yet: call
    /// [`connect`](Self::connect).
    ///
    /// ```
    /// use mqtt_blocking::{Client, QoS};
    ///
    /// let client = Client::new("myId", true);
    /// assert!(!client.is_connected());
    /// // Publishes before connect wait in the session's queue.
    /// client.publish("hello", "world", QoS::AtLeastOnce, false)?;
    /// assert_eq!(client.publishes_queued(), 1);
    /// # Ok::<(), mqtt_blocking::Error>(())
    /// ```
    pub fn new(client_id: impl Into<ByteString>, clean_session: bool) -> Client {
        let mut config = Config::new(client_id, Version::V311);
        config.clean_start = clean_session;
        config.clean_start_on_reconnect = clean_session;
        config.qos2_delivery = Qos2Delivery::OnPubRel;
        Client::with_config(config)
    }

    /// A client with every session option: MQTT 5.0 (`Config::new(id, Version::V5)`), CONNECT
    /// properties such as the session expiry interval, the in-flight window, when QoS 2
    /// messages are delivered, manual acknowledgement ([`AckMode::Manual`](mqtt_session::AckMode::Manual), then
    /// [`ack`](Self::ack)), and so on. `keep_alive` and `connect_timeout` are taken from
    /// [`connect`](Self::connect) instead.
    ///
    /// ```
    /// use mqtt_blocking::{Client, Config, Version};
    ///
    /// let mut config = Config::new("sensor-17", Version::V5);
    /// config.clean_start = false;
    /// config.connect_properties.session_expiry_interval = Some(3600);
    /// let client = Client::with_config(config);
    /// ```
    pub fn with_config(config: Config) -> Client {
        Client::with_store(config, mqtt_session::MemoryStore::new())
    }

    /// [`with_config`](Self::with_config), keeping the session's state in `store`: a durable
    /// one (such as `mqtt_store::FileStore`) for a client that must not lose what it accepted
    /// across a crash. The client starts from what the store holds, and resends, in order,
    /// what the broker had not acknowledged, once connected.
    ///
    /// ```
    /// use mqtt_blocking::{Client, Config, Version};
    /// use mqtt_store::{FileStore, StoreOptions};
    ///
    /// # let path = std::env::temp_dir().join(format!("mqtt-doc-{}.mqttlog", std::process::id()));
    /// // path: where the log lives, e.g. /var/lib/sensor/mqtt.log
    /// let (store, recovery) = FileStore::open(&path, StoreOptions::default())?;
    /// if !recovery.is_clean() {
    ///     eprintln!("the log was cut short (a crash): {recovery:?}");
    /// }
    /// let client = Client::with_store(Config::new("sensor-17", Version::V5), store);
    /// // What the last run had not got acknowledged is sent again once connected.
    /// let to_resend = client.publishes_in_flight() + client.publishes_queued();
    /// assert_eq!(to_resend, 0); // a new log
    /// # drop(client);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_store(config: Config, store: impl mqtt_session::Store + Send + 'static) -> Client {
        let settings = mqtt_client::Settings::default();
        let mut core = Core::with_store(config, settings, fastrand::u64(..), Box::new(store));
        core.pause_delivery();
        // Woken after the lock is released ([`Locked`]).
        core.defer_wakes();
        let changed = Arc::new(Condvar::new());
        let inner = Inner {
            core,
            endpoint: None,
            driver: None,
            busy: None,
            looping: false,
            stop: false,
        };
        let shared = Arc::new(Shared {
            inner: Mutex::new(inner),
            waker: Waker::from(Arc::new(Notify(changed.clone()))),
            changed,
            start: std::time::Instant::now(),
            thread: Mutex::new(None),
        });
        Client {
            handle: Arc::new(Handle { shared }),
        }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.handle.shared
    }

    fn with<T>(&self, f: impl FnOnce(&mut Core<Client>, Instant) -> T) -> T {
        self.shared().with(f)
    }

    // ---- the seed's callbacks ------------------------------------------------------------

    /// The seed's `on(command, function)`: sets the generic callback for `command`, replacing
    /// the previous one. It runs for a received packet only when no conditional callback
    /// ([`on_if`](Self::on_if)) matches it.
    ///
    /// Callbacks run on the loop, with the client and the packet's data: for PUBLISH (and
    /// PUBREL of a QoS 2 message, see [`Client::new`]) `data.message` holds the message; for
    /// PUBACK, PUBREC and PUBCOMP `data.mid` is the id [`publish`](Self::publish) returned, so
    /// `on_if(Command::PubAck, f, move |d| d.mid == Some(mid), 0)` runs for that message only;
    /// for the broker's AUTH and DISCONNECT (MQTT 5.0), `data.reason_codes` holds the packet's
    /// reason code (an AUTH is answered by [`on_auth`](Self::on_auth), before its callback).
    ///
    /// A message handed to a callback is acknowledged when the callback returns; with manual
    /// acknowledgement the callback may take it to acknowledge it itself
    /// ([`take_message`](Self::take_message)).
    ///
    /// ```
    /// use mqtt_blocking::{Client, Command};
    ///
    /// let client = Client::new("logger", true);
    /// client.on(Command::Publish, |_client, data| {
    ///     if let Some(message) = &data.message {
    ///         println!("{}: {} bytes", message.topic, message.payload.len());
    ///     }
    /// });
    /// client.on(Command::SubAck, |_client, data| println!("granted: {:?}", data.reason_codes));
    /// ```
    pub fn on(&self, command: Command, callback: impl FnMut(&Client, &Received) + Send + 'static) {
        self.with(|core, _| core.on(command, Box::new(callback)));
    }

    /// The seed's `on(command, function, condition, priority)`: adds a callback that runs for
    /// a received packet when `condition` holds and no other conditional callback whose
    /// condition holds has a higher priority (ties go to the one registered first).
    ///
    /// ```
    /// use mqtt_blocking::{Client, Command, QoS};
    ///
    /// let client = Client::new("sensor", true);
    /// let mid = client.publish("sensors/7/temp", "21.5", QoS::AtLeastOnce, false)?;
    /// // Runs for the PUBACK of that message only.
    /// client.on_if(
    ///     Command::PubAck,
    ///     move |_client, _data| println!("reading {} acknowledged", mid.get()),
    ///     move |data| data.mid == Some(mid),
    ///     0,
    /// );
    /// # Ok::<(), mqtt_blocking::Error>(())
    /// ```
    pub fn on_if(
        &self,
        command: Command,
        callback: impl FnMut(&Client, &Received) + Send + 'static,
        condition: impl Fn(&Received) -> bool + Send + 'static,
        priority: i32,
    ) {
        self.with(|core, _| {
            core.on_if(command, Box::new(callback), Box::new(condition), priority);
        });
    }

    /// A receiver of every message the client receives from now on (the loop hands them
    /// over). It holds up to 1,024 messages: beyond that, QoS 1 and 2 messages wait
    /// unacknowledged, and the oldest QoS 0 messages are dropped.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use mqtt_blocking::{Client, ConnectOptions, QoS};
    ///
    /// let client = Client::new("logger", true);
    /// let messages = client.messages(); // before the loop starts: nothing is missed
    /// client.connect("127.0.0.1", Duration::from_secs(60), ConnectOptions::default())?;
    /// client.subscribe(&[("logs/#", QoS::AtLeastOnce)])?;
    /// client.loop_start(None)?;
    /// for message in messages.iter() {
    ///     println!("{}: {:?}", message.topic, message.payload_str());
    /// }
    /// # Ok::<(), mqtt_blocking::Error>(())
    /// ```
    pub fn messages(&self) -> Messages {
        let id = self.with(|core, _| core.open_stream(None));
        Messages {
            shared: self.shared().clone(),
            id,
        }
    }

    /// A receiver of connection events from now on: connected (with the CONNACK),
    /// disconnected (with the reason), reconnecting (attempt and delay), resubscribed,
    /// messages dropped.
    ///
    /// ```no_run
    /// use std::sync::mpsc::RecvTimeoutError;
    /// use std::time::Duration;
    /// use mqtt_blocking::{Client, ClientEvent, ConnectOptions};
    ///
    /// let client = Client::new("sensor", true);
    /// let events = client.events();
    /// std::thread::spawn(move || loop {
    ///     match events.recv_timeout(Duration::from_secs(60)) {
    ///         Ok(ClientEvent::Disconnected { reason, .. }) => eprintln!("lost: {reason}"),
    ///         Ok(ClientEvent::Reconnecting { delay, .. }) => eprintln!("retry in {delay:?}"),
    ///         Ok(_) | Err(RecvTimeoutError::Timeout) => {}
    ///         Err(RecvTimeoutError::Disconnected) => break, // the client stopped
    ///     }
    /// });
    /// client.connect("127.0.0.1", Duration::from_secs(60), ConnectOptions::default())?;
    /// client.loop_start(None)?;
    /// # Ok::<(), mqtt_blocking::Error>(())
    /// ```
    pub fn events(&self) -> Events {
        let id = self.with(|core, _| core.open_events());
        Events {
            shared: self.shared().clone(),
            id,
        }
    }

    /// The seed's `set_will(topic, payload, qos, retain)`: the will of the next CONNECT.
    ///
    /// ```
    /// use mqtt_blocking::{Client, QoS};
    ///
    /// let client = Client::new("sensor-17", true);
    /// client.set_will("status/sensor-17", "offline", QoS::AtLeastOnce, true)?;
    /// // A will goes to one topic: a filter with wildcards is refused.
    /// assert!(client.set_will("status/#", "offline", QoS::AtLeastOnce, true).is_err());
    /// # Ok::<(), mqtt_blocking::Error>(())
    /// ```
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
        self.set_will_packet(Some(packets::will(topic, payload, qos, retain)?));
        Ok(())
    }

    /// The will of the next CONNECT, with MQTT 5.0 properties; `None` clears it.
    ///
    /// ```
    /// use mqtt_blocking::proto::{TopicName, Will};
    /// use mqtt_blocking::{Client, Config, QoS, Version};
    ///
    /// let mut config = Config::new("sensor-17", Version::V5);
    /// // The session outlives a connection by 5 minutes...
    /// config.connect_properties.session_expiry_interval = Some(300);
    /// let client = Client::with_config(config);
    /// let mut will = Will::new(TopicName::new("status/sensor-17")?, "offline");
    /// will.qos = QoS::AtLeastOnce;
    /// will.retain = true;
    /// // ...so the broker can wait 30 s before it publishes the will, and a quick
    /// // reconnection publishes nothing (MQTT 5.0 §3.1.3.2.2).
    /// will.properties.will_delay_interval = Some(30);
    /// will.properties.content_type = Some("text/plain".into());
    /// client.set_will_packet(Some(will));
    ///
    /// // No will from the next connection on (the broker keeps the current connection's).
    /// client.set_will_packet(None);
    /// # Ok::<(), mqtt_blocking::Error>(())
    /// ```
    pub fn set_will_packet(&self, will: Option<Will>) {
        self.with(|core, _| core.set_will(will));
    }

    /// The seed's `set_username_pw`: the credentials of the next CONNECT.
    ///
    /// ```
    /// use mqtt_blocking::{Client, ConnectOptions};
    ///
    /// # fn fresh_token() -> String { "token".into() }
    /// let client = Client::new("sensor-17", true);
    /// client.set_username_pw("sensor-17", Some("s3cret"));
    /// // A token that expires: a new one before every reconnection.
    /// let options = ConnectOptions::default().with_before_reconnect(|client: &Client| {
    ///     client.set_username_pw("sensor-17", Some(&fresh_token()));
    /// });
    /// ```
    pub fn set_username_pw(&self, username: &str, password: Option<&str>) {
        let password = password.map(|p| Bytes::copy_from_slice(p.as_bytes()));
        self.set_credentials(Some(username.into()), password);
    }

    /// The credentials of the next CONNECT, binary password included.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use mqtt_blocking::Client;
    ///
    /// let client = Client::new("sensor-17", true);
    /// let key = Bytes::from_static(&[0x5e, 0x17, 0x00, 0xff]); // not UTF-8: fine for a password
    /// client.set_credentials(Some("sensor-17".into()), Some(key));
    /// ```
    pub fn set_credentials(&self, username: Option<ByteString>, password: Option<Bytes>) {
        self.with(|core, _| core.set_credentials(username, password));
    }

    // ---- connecting ----------------------------------------------------------------------

    /// The seed's `connect(host, keepalive, port, ssl_ctx, breconnect_cb, aconnect_cb,
    /// sock_keepalive)`: connects to the broker and returns once it has accepted the
    /// connection and the `after_connect` hook has run. `keepalive` is the longest silence
    /// before the client pings the broker (whole seconds; zero turns it off).
    ///
    /// Call it before starting a loop. Messages that arrive before the loop starts wait for
    /// its callbacks and receivers, unacknowledged. With
    /// [`ConnectOptions::retry_first_connect`], a failed attempt is retried with the backoff
    /// until one succeeds.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use mqtt_blocking::{Client, ConnectOptions, Error, ReasonCode};
    ///
    /// let client = Client::new("sensor-17", true);
    /// client.set_username_pw("sensor-17", Some("s3cret"));
    /// let options = ConnectOptions::port(1883);
    /// match client.connect("broker.example", Duration::from_secs(60), options) {
    ///     Ok(()) => client.loop_start(None)?,
    ///     Err(e) if e.reason_code() == Some(ReasonCode::BAD_USER_NAME_OR_PASSWORD) => {
    ///         eprintln!("the broker refused the credentials");
    ///     }
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok::<(), Error>(())
    /// ```
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
        let mut claimed = self.shared().claim(false, true)?;
        {
            let now = self.shared().now();
            let mut inner = self.shared().lock();
            let core = &mut inner.core;
            core.set_keep_alive(keepalive);
            core.set_connect_timeout(options.connect_timeout);
            core.set_reconnect(options.reconnect);
            core.set_retry_first_connect(options.retry_first_connect);
            core.set_disconnect_timeout(options.disconnect_timeout);
            core.set_stream_capacity(options.stream_capacity);
            core.set_overflow(options.overflow);
            core.set_servers(1 + options.more_servers.len(), options.shuffle_servers);
            core.set_max_redirects(options.max_redirects);
            core.set_before_reconnect(options.before_reconnect.clone());
            core.set_after_connect(options.after_connect.clone());
            core.connect_now(now);
            inner.endpoint = Some(Endpoint {
                host: host.to_owned(),
                options,
            });
            inner.stop = false;
        }
        claimed
            .driver()
            .run(self.shared(), &self.weak(), Until::Connected)
    }

    /// The seed's `reconnect()`: closes the current connection, if any, and connects again to
    /// the same broker; unacknowledged messages are sent again. Runs the `before_reconnect`
    /// hook first.
    ///
    /// Without a loop, it blocks until the broker accepts the connection. With a loop running
    /// (or from a callback), it asks the loop to reconnect at once and returns.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use mqtt_blocking::{Client, ConnectOptions, Error};
    ///
    /// let client = Client::new("sensor-17", true);
    /// assert!(matches!(client.reconnect(), Err(Error::NotConnected)));
    /// client.connect("127.0.0.1", Duration::from_secs(60), ConnectOptions::default())?;
    /// client.loop_start(None)?;
    /// // The network changed (another Wi-Fi, a VPN): don't wait for keep alive to notice.
    /// client.reconnect()?; // the loop reconnects at once
    /// # Ok::<(), Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotConnected`] before [`connect`](Self::connect), and as `connect`.
    pub fn reconnect(&self) -> Result<(), Error> {
        {
            let inner = self.shared().lock();
            if inner.endpoint.is_none() {
                return Err(Error::NotConnected);
            }
            let background = inner.looping || inner.busy == Some(thread::current().id());
            drop(inner);
            self.with(|core, now| {
                core.restart(now);
                core.reconnect(now);
            });
            if background {
                return Ok(());
            }
        }
        let mut claimed = self.shared().claim(false, true)?;
        claimed
            .driver()
            .run(self.shared(), &self.weak(), Until::Connected)
    }

    /// Whether the broker has accepted the current connection.
    ///
    /// ```
    /// let client = mqtt_blocking::Client::new("sensor-17", true);
    /// assert!(!client.is_connected()); // not before connect
    /// ```
    pub fn is_connected(&self) -> bool {
        self.with(|core, _| core.is_connected())
    }

    /// QoS 1 and 2 publishes sent and not yet acknowledged.
    ///
    /// ```
    /// use mqtt_blocking::{Client, QoS};
    ///
    /// let client = Client::new("sensor-17", true);
    /// client.publish("a/b", "1", QoS::AtLeastOnce, false)?;
    /// // Not sent while there is no connection: queued, not in flight.
    /// assert_eq!((client.publishes_in_flight(), client.publishes_queued()), (0, 1));
    /// # Ok::<(), mqtt_blocking::Error>(())
    /// ```
    pub fn publishes_in_flight(&self) -> usize {
        self.with(|core, _| core.publishes_in_flight())
    }

    /// Publishes accepted and waiting to be sent (beyond the in-flight window, or offline).
    ///
    /// ```
    /// use mqtt_blocking::{Client, QoS};
    ///
    /// let client = Client::new("sensor-17", true);
    /// for reading in ["20.5", "20.7", "21.0"] {
    ///     client.publish("sensors/17/temp", reading, QoS::AtLeastOnce, false)?;
    /// }
    /// assert_eq!(client.publishes_queued(), 3); // sent in order once connected
    /// # Ok::<(), mqtt_blocking::Error>(())
    /// ```
    pub fn publishes_queued(&self) -> usize {
        self.with(|core, _| core.publishes_queued())
    }

    // ---- commands ------------------------------------------------------------------------

    /// The seed's `publish(topic, payload, qos, retain)`: hands the message to the client and
    /// returns its `mid` at once. It goes out when the loop next runs (queued while the
    /// connection is down); [`wait_for_publish`](Self::wait_for_publish) waits until it is
    /// complete, and the PUBACK, PUBREC and PUBCOMP callbacks name it in `data.mid`.
    ///
    /// ```
    /// use mqtt_blocking::{Client, QoS};
    ///
    /// let client = Client::new("sensor-17", true);
    /// let first = client.publish("sensors/17/temp", "21.5", QoS::AtLeastOnce, false)?;
    /// let second = client.publish("sensors/17/temp", b"21.7".to_vec(), QoS::AtLeastOnce, false)?;
    /// assert!(first.get() < second.get()); // mids increase
    /// // A publish goes to one topic: a filter with wildcards is refused.
    /// assert!(client.publish("sensors/+/temp", "x", QoS::AtMostOnce, false).is_err());
    /// # Ok::<(), mqtt_blocking::Error>(())
    /// ```
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
    /// ```
    /// use mqtt_blocking::proto::UserProperty;
    /// use mqtt_blocking::{Client, Config, PublishOptions, QoS, Version};
    ///
    /// let client = Client::with_config(Config::new("sensor-17", Version::V5));
    /// let mut options = PublishOptions::new(QoS::AtLeastOnce, false);
    /// options.properties.message_expiry_interval = Some(60); // stale after a minute
    /// options.properties.user_properties.push(UserProperty::new("unit", "celsius"));
    /// let mid = client.publish_with("sensors/17/temp", "21.5", options)?;
    /// # Ok::<(), mqtt_blocking::Error>(())
    /// ```
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
        let mut publish = packets::publish(topic, payload, options.qos, options.retain)?;
        publish.set_properties(options.properties);
        self.wait_for_room();
        Ok(self.with(|core, now| core.publish(now, publish, Interest::Failure))?)
    }

    /// Waits while the client has more to write than it should buffer, when a loop on another
    /// thread will make room.
    fn wait_for_room(&self) {
        let shared = self.shared();
        let _ = shared.wait(None, |inner, waker| {
            let another_loop = inner.looping && inner.busy != Some(thread::current().id());
            if !another_loop {
                return Poll::Ready(Ok(()));
            }
            inner.core.poll_publish_room(Some(waker)).map(Ok)
        });
    }

    /// The seed's `subscribe([[topic, qos], ...])`: returns at once with the request's id; the
    /// SUBACK comes to [`Command::SubAck`] callbacks and to
    /// [`wait_for_request`](Self::wait_for_request).
    ///
    /// ```
    /// use mqtt_blocking::{Client, QoS};
    ///
    /// let client = Client::new("panel", true);
    /// // Sent once connected; made again if the broker loses the session.
    /// client.subscribe(&[("alarms/#", QoS::ExactlyOnce), ("sensors/+/temp", QoS::AtMostOnce)])?;
    /// // The topics may be `String`s too.
    /// let rooms: Vec<_> = (1..=3).map(|n| (format!("rooms/{n}/#"), QoS::AtLeastOnce)).collect();
    /// let id = client.subscribe(&rooms)?;
    /// # Ok::<(), mqtt_blocking::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTopic`], [`Error::Usage`].
    pub fn subscribe<T: AsRef<str>>(&self, topics: &[(T, QoS)]) -> Result<RequestId, Error> {
        let subscriptions = packets::subscriptions(topics)?;
        self.subscribe_with(subscriptions, SubscribeProperties::default())
    }

    /// [`subscribe`](Self::subscribe) with MQTT 5.0 subscription options (no local, retain
    /// handling, ...) and properties.
    ///
    /// ```
    /// use std::num::NonZeroU32;
    /// use mqtt_blocking::proto::{RetainHandling, SubscribeProperties, Subscription, TopicFilter};
    /// use mqtt_blocking::{Client, Config, QoS, Version};
    ///
    /// let client = Client::with_config(Config::new("chat", Version::V5));
    /// let mut room = Subscription::new(TopicFilter::new("chat/room1")?, QoS::AtLeastOnce);
    /// room.options.no_local = true; // not the messages this client publishes
    /// room.options.retain_handling = RetainHandling::DoNotSend;
    /// let mut properties = SubscribeProperties::default();
    /// properties.subscription_identifier = NonZeroU32::new(7); // carried by its messages
    /// let id = client.subscribe_with(vec![room], properties)?;
    /// # Ok::<(), mqtt_blocking::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`subscribe`](Self::subscribe).
    pub fn subscribe_with(
        &self,
        subscriptions: Vec<Subscription>,
        properties: SubscribeProperties,
    ) -> Result<RequestId, Error> {
        Ok(self
            .with(|core, now| core.subscribe(now, subscriptions, properties, Interest::Outcome))?)
    }

    /// The seed's `unsubscribe([topic, ...])`: returns at once with the request's id.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use mqtt_blocking::Client;
    ///
    /// # fn demo(client: Client) -> Result<(), mqtt_blocking::Error> {
    /// let id = client.unsubscribe(&["sensors/+/temp", "alarms/#"])?;
    /// // MQTT 5.0: one reason code per filter (0x11: there was no such subscription).
    /// let codes = client.wait_for_request(id, Duration::from_secs(5))?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTopic`], [`Error::Usage`].
    pub fn unsubscribe<T: AsRef<str>>(&self, topics: &[T]) -> Result<RequestId, Error> {
        let filters = packets::filters(topics)?;
        self.unsubscribe_with(filters, UnsubscribeProperties::default())
    }

    /// [`unsubscribe`](Self::unsubscribe) with MQTT 5.0 properties.
    ///
    /// ```
    /// use mqtt_blocking::proto::{TopicFilter, UnsubscribeProperties, UserProperty};
    /// use mqtt_blocking::{Client, Config, Version};
    ///
    /// let client = Client::with_config(Config::new("chat", Version::V5));
    /// let mut properties = UnsubscribeProperties::default();
    /// properties.user_properties.push(UserProperty::new("reason", "room closed"));
    /// let id = client.unsubscribe_with(vec![TopicFilter::new("chat/room1")?], properties)?;
    /// # Ok::<(), mqtt_blocking::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`unsubscribe`](Self::unsubscribe).
    pub fn unsubscribe_with(
        &self,
        filters: Vec<TopicFilter>,
        properties: UnsubscribeProperties,
    ) -> Result<RequestId, Error> {
        Ok(self.with(|core, now| core.unsubscribe(now, filters, properties, Interest::Outcome))?)
    }

    /// Acknowledges a message with manual acknowledgement
    /// ([`AckMode::Manual`](mqtt_session::AckMode::Manual) in the
    /// [`Config`] of [`with_config`](Self::with_config)): one from a
    /// [`messages`](Self::messages) receiver, or one a callback took with
    /// [`take_message`](Self::take_message). Acknowledgements reach the broker in the order
    /// the messages arrived, whatever order they are given in: a message not acknowledged yet
    /// holds back those after it. `reason_code` is the PUBACK's or PUBREC's (MQTT 5.0; 0x80
    /// and up refuses the message). Any thread may call it, a callback included. Does nothing
    /// for a message that carries no token.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use mqtt_blocking::{AckMode, Client, Config, ConnectOptions, QoS, ReasonCode, Version};
    ///
    /// let mut config = Config::new("worker", Version::V5);
    /// config.ack_mode = AckMode::Manual;
    /// let client = Client::with_config(config);
    /// let jobs = client.messages();
    /// client.connect("127.0.0.1", Duration::from_secs(60), ConnectOptions::default())?;
    /// client.subscribe(&[("jobs/#", QoS::AtLeastOnce)])?;
    /// client.loop_start(None)?;
    /// for mut job in jobs.iter() {
    ///     // ... do the work and store the result: the broker gets no PUBACK before ...
    ///     client.ack(&mut job, ReasonCode::SUCCESS)?;
    /// }
    /// # Ok::<(), mqtt_blocking::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] when the message no longer awaits acknowledgement.
    pub fn ack(&self, message: &mut Message, reason_code: ReasonCode) -> Result<(), Error> {
        match message.take_ack() {
            Some(token) => Ok(self.with(|core, now| core.ack(now, token, reason_code))?),
            None => Ok(()),
        }
    }

    /// With manual acknowledgement, from a PUBLISH (or PUBREL) callback: takes the message
    /// the callback was given in `data`, with the right to acknowledge it, so that the client
    /// does not acknowledge it when the callback returns (which it does otherwise, with
    /// success). Acknowledge it with [`ack`](Self::ack), in the callback or later from any
    /// thread; until then it holds back the acknowledgements of the messages after it.
    ///
    /// `None` in automatic mode, for QoS 0, for a packet that carries no message, outside the
    /// callback that was given `data`, when a [`messages`](Self::messages) receiver also took
    /// the message (the receiver's copy carries the token then), and when it was taken
    /// already.
    ///
    /// ```no_run
    /// use mqtt_blocking::{AckMode, Client, Command, Config, ReasonCode, Version};
    ///
    /// let mut config = Config::new("worker", Version::V5);
    /// config.ack_mode = AckMode::Manual;
    /// let client = Client::with_config(config);
    /// let (to_worker, work) = std::sync::mpsc::channel();
    /// client.on(Command::Publish, move |client, data| {
    ///     if let Some(message) = client.take_message(data) {
    ///         to_worker.send(message).unwrap(); // acknowledged once processed
    ///     }
    /// });
    /// // On the worker's thread:
    /// for mut message in work {
    ///     // ... store it ...
    ///     client.ack(&mut message, ReasonCode::SUCCESS).unwrap();
    /// }
    /// ```
    pub fn take_message(&self, data: &Received) -> Option<Message> {
        self.with(|core, _| core.take_message(data))
    }

    /// MQTT 5.0 enhanced authentication: `handler` answers the broker's AUTH packets, at
    /// connect and in re-authentications. Given the broker's AUTH (reason code 0x18, Continue
    /// authentication, with its Authentication Data), it returns the AUTH to send back (0x18
    /// with the client's data), or `None` to send nothing; the Authentication Method is filled
    /// in when left out. The exchange starts from the Authentication Method and Data in the
    /// [`Config`]'s `connect_properties`; [`auth`](Self::auth) starts a re-authentication.
    /// A later call replaces the handler.
    ///
    /// The handler runs on the loop while the client is locked, and gets no client: it must
    /// not call the client. The seed's callbacks for [`Command::Auth`] (and
    /// [`Command::Disconnect`]) run after it, with the client, and see the reason code.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use mqtt_blocking::proto::{Auth, AuthProperties, ReasonCode};
    /// use mqtt_blocking::{Client, Config, ConnectOptions, Version};
    ///
    /// let mut config = Config::new("sensor", Version::V5);
    /// config.connect_properties.authentication_method = Some("SCRAM-SHA-256".into());
    /// config.connect_properties.authentication_data = Some("client-first".into());
    /// let client = Client::with_config(config);
    /// client.on_auth(|challenge: &Auth| {
    ///     let _server_first = challenge.properties.authentication_data.as_ref()?;
    ///     Some(Auth {
    ///         reason_code: ReasonCode::CONTINUE_AUTHENTICATION,
    ///         properties: AuthProperties {
    ///             authentication_data: Some("client-final".into()),
    ///             ..Default::default()
    ///         },
    ///     })
    /// });
    /// client.connect("127.0.0.1", Duration::from_secs(60), ConnectOptions::default())?;
    /// # Ok::<(), mqtt_blocking::Error>(())
    /// ```
    pub fn on_auth(&self, handler: impl FnMut(&Auth) -> Option<Auth> + Send + 'static) {
        self.with(|core, _| core.set_auth_handler(Some(Box::new(handler))));
    }

    /// Sends an AUTH packet (MQTT 5.0): reason code 0x19 (Re-authenticate) starts a
    /// re-authentication once connected, with new Authentication Data; the broker's
    /// challenges then go to the [`on_auth`](Self::on_auth) handler, and it ends with the
    /// broker's AUTH 0x00 (Success) or a DISCONNECT. The Authentication Method is the
    /// `Config`'s, filled in when left out.
    ///
    /// ```no_run
    /// use mqtt_blocking::proto::{Auth, AuthProperties};
    /// use mqtt_blocking::{Client, ReasonCode};
    ///
    /// # fn demo(client: Client, fresh_token: bytes::Bytes) -> Result<(), mqtt_blocking::Error> {
    /// // Re-authenticate on the open connection (MQTT 5.0 §4.12.1) with a new token.
    /// client.auth(Auth {
    ///     reason_code: ReasonCode::REAUTHENTICATE,
    ///     properties: AuthProperties {
    ///         authentication_data: Some(fresh_token),
    ///         ..Default::default()
    ///     },
    /// })?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Usage`]: MQTT 3.1.1, no Authentication Method in the `Config`, not connected,
    /// another reason code than the exchange expects, or another Authentication Method.
    pub fn auth(&self, auth: Auth) -> Result<(), Error> {
        Ok(self.with(|core, now| core.auth(now, auth))?)
    }

    /// Blocks until the publish `mid` is complete: written to the socket at QoS 0,
    /// acknowledged by PUBACK at QoS 1 and by PUBCOMP at QoS 2. A loop must be running (or
    /// start) for it to make progress.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use mqtt_blocking::{Client, Error, QoS};
    ///
    /// # fn demo(client: Client) -> Result<(), Error> {
    /// let mid = client.publish("cmd/valve", "close", QoS::ExactlyOnce, false)?;
    /// match client.wait_for_publish(mid, Duration::from_secs(5)) {
    ///     Ok(()) => println!("PUBCOMP received"),
    ///     Err(Error::Timeout) => println!("not yet; the client keeps trying"),
    ///     Err(e) => return Err(e), // refused by the broker, expired, ...
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`]; [`Error::PublishFailed`] when the broker refused it (MQTT 5.0), it
    /// expired, or (QoS 0) the connection ended before it was written; [`Error::Closed`]
    /// when the client stopped first; [`Error::WouldDeadlock`] from a callback.
    pub fn wait_for_publish(&self, mid: PublishId, timeout: Duration) -> Result<(), Error> {
        self.shared().wait(Some(timeout), |inner, waker| {
            inner
                .core
                .poll_publish(mid, Some(waker))
                .map(|outcome| match outcome {
                    Some(Err(failure)) => Err(failure.into()),
                    _ => Ok(()),
                })
        })
    }

    /// Blocks until the broker answers the subscribe or unsubscribe `id`; returns its reason
    /// codes: per filter, the granted QoS (0x00 to 0x02) or a failure (0x80 and up). MQTT 3.1.1
    /// UNSUBACK has none.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use mqtt_blocking::{Client, QoS, ReasonCode};
    ///
    /// # fn demo(client: Client) -> Result<(), mqtt_blocking::Error> {
    /// let id = client.subscribe(&[("alarms/#", QoS::ExactlyOnce)])?;
    /// let granted = client.wait_for_request(id, Duration::from_secs(5))?;
    /// if granted[0] != ReasonCode::GRANTED_QOS_2 {
    ///     eprintln!("alarms/#: {}", granted[0]); // a lower QoS, or refused (0x80 and up)
    /// }
    /// # Ok(())
    /// # }
    /// ```
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
        self.shared().wait(Some(timeout), |inner, waker| {
            inner
                .core
                .poll_request(id, Some(waker))
                .map(|outcome| match outcome {
                    Some(Ok(answer)) => Ok(Answer::reason_codes(&answer).to_vec()),
                    Some(Err(Failure::Failed(reason))) => Err(Error::RequestFailed(reason)),
                    Some(Err(other)) => Err(other.into()),
                    None => Err(Error::Timeout),
                })
        })
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
    /// takes. With manual acknowledgement, its messages are acknowledged when it returns; a
    /// callback registered with [`on`](Self::on) can keep one to acknowledge later
    /// ([`take_message`](Self::take_message)).
    ///
    /// Started after a failed [`connect`](Self::connect), the loop keeps trying to connect.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use mqtt_blocking::{Client, ConnectOptions, Message, QoS};
    ///
    /// let client = Client::new("logger", true);
    /// client.connect("127.0.0.1", Duration::from_secs(60), ConnectOptions::default())?;
    /// client.subscribe(&[("logs/#", QoS::AtLeastOnce)])?;
    /// client.loop_start(Some(Box::new(|_client: &Client, message: &Message| {
    ///     println!("{}: {:?}", message.topic, message.payload_str());
    /// })))?;
    /// std::thread::sleep(Duration::from_secs(60)); // the loop runs meanwhile
    /// client.disconnect()?;
    /// # Ok::<(), mqtt_blocking::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotConnected`] before any `connect`; [`Error::LoopRunning`];
    /// [`Error::Io`] when the thread can't be spawned.
    pub fn loop_start(&self, on_message: Option<OnMessage>) -> Result<(), Error> {
        let ended = {
            let inner = self.shared().lock();
            if inner.looping {
                return Err(Error::LoopRunning);
            }
            lock(&self.shared().thread).take()
        };
        if let Some(handle) = ended {
            // A loop that ended on its own (reconnection off, or a panic); reap it.
            let _ = handle.join();
        }
        let claimed = self.shared().claim(true, false)?;
        self.start_loop(on_message);
        let (shared, handle) = (self.shared().clone(), self.weak());
        let spawned = thread::Builder::new()
            .name("mqtt-loop".into())
            .spawn(move || {
                let mut claimed = claimed;
                shared.lock().busy = Some(thread::current().id());
                if let Err(e) = claimed.driver().run(&shared, &handle, Until::Stopped) {
                    tracing::warn!(error = %e, "MQTT loop ended");
                }
            });
        match spawned {
            Ok(handle) => {
                *lock(&self.shared().thread) = Some(handle);
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
    /// ```no_run
    /// use std::time::Duration;
    /// use mqtt_blocking::{Client, ConnectOptions, Message, QoS};
    ///
    /// let client = Client::new("listener", true);
    /// client.connect("127.0.0.1", Duration::from_secs(60), ConnectOptions::default())?;
    /// client.subscribe(&[("control/#", QoS::AtLeastOnce)])?;
    /// // Serves the connection on this thread until a "control/stop" message comes.
    /// client.loop_forever(Some(Box::new(|client: &Client, message: &Message| {
    ///     if message.topic == "control/stop" {
    ///         let _ = client.disconnect();
    ///     }
    /// })))?;
    /// # Ok::<(), mqtt_blocking::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`loop_start`](Self::loop_start); and why the connection ended when automatic
    /// reconnection is off.
    pub fn loop_forever(&self, on_message: Option<OnMessage>) -> Result<(), Error> {
        let mut claimed = self.shared().claim(true, true)?;
        self.start_loop(on_message);
        claimed
            .driver()
            .run(self.shared(), &self.weak(), Until::Stopped)
    }

    /// What both loops do first: the `on_message` callback, retries even of a connection that
    /// never succeeded, and delivery of the messages that waited for the loop.
    fn start_loop(&self, on_message: Option<OnMessage>) {
        if let Some(on_message) = on_message {
            self.set_on_message(on_message);
        }
        self.with(|core, now| {
            core.set_retry_first_connect(true);
            core.restart(now);
            core.resume_delivery(now);
        });
    }

    /// Stops the loop and waits for its thread to end. The connection stays open (but
    /// unserved: the broker drops it after the keep alive) until a loop starts again or
    /// [`disconnect`](Self::disconnect). From a callback, asks the loop to stop and returns.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use mqtt_blocking::{Client, ConnectOptions};
    ///
    /// let client = Client::new("sensor-17", true);
    /// client.connect("127.0.0.1", Duration::from_secs(60), ConnectOptions::default())?;
    /// client.loop_start(None)?;
    /// // ...
    /// client.loop_stop()?; // the loop thread has ended; the connection is still open
    /// assert!(!client.is_loop_running());
    /// client.loop_start(None)?; // and served again
    /// # Ok::<(), mqtt_blocking::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::LoopPanicked`] when a callback panicked on the loop thread.
    pub fn loop_stop(&self) -> Result<(), Error> {
        let mut inner = self.shared().lock();
        if !inner.looping {
            drop(inner);
            return self.shared().join();
        }
        inner.stop = true;
        if inner.busy == Some(thread::current().id()) {
            return Ok(());
        }
        drop(inner);
        self.wake();
        self.shared().wait_until_idle();
        self.shared().join()
    }

    /// Whether a loop is running.
    ///
    /// ```
    /// use mqtt_blocking::{Client, Error};
    ///
    /// let client = Client::new("sensor-17", true);
    /// // A loop needs a broker to serve: connect first.
    /// assert!(matches!(client.loop_start(None), Err(Error::NotConnected)));
    /// assert!(!client.is_loop_running());
    /// ```
    pub fn is_loop_running(&self) -> bool {
        self.shared().lock().looping
    }

    /// The seed's `disconnect()`: waits (up to [`ConnectOptions::disconnect_timeout`]) for
    /// queued and in-flight publishes to complete, sends DISCONNECT, writes everything queued
    /// (acknowledgements and QoS 0 publishes included), closes the connection and ends the
    /// loop. Unfinished publishes stay in the session for a later `connect`.
    ///
    /// From another thread it returns once the loop has ended; from a callback, at once (the
    /// loop disconnects after the callback returns).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use mqtt_blocking::{Client, ConnectOptions, QoS};
    ///
    /// let client = Client::new("sensor-17", true);
    /// client.connect("127.0.0.1", Duration::from_secs(60), ConnectOptions::default())?;
    /// client.loop_start(None)?;
    /// client.publish("log", "shutting down", QoS::AtLeastOnce, false)?;
    /// client.disconnect()?; // once it is acknowledged (or after disconnect_timeout)
    /// assert!(!client.is_connected() && !client.is_loop_running());
    /// # Ok::<(), mqtt_blocking::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotConnected`] before any `connect`; [`Error::Usage`] for a DISCONNECT the
    /// session refuses; [`Error::LoopPanicked`].
    pub fn disconnect(&self) -> Result<(), Error> {
        self.disconnect_with(Disconnect::default())
    }

    /// [`disconnect`](Self::disconnect) with an MQTT 5.0 reason code and properties (a new
    /// session expiry interval, or 0x04 to have the will published).
    ///
    /// ```no_run
    /// use mqtt_blocking::proto::Disconnect;
    /// use mqtt_blocking::{Client, ReasonCode};
    ///
    /// # fn demo(client: Client) -> Result<(), mqtt_blocking::Error> {
    /// // MQTT 5.0: leave, but have the broker publish the will as if the connection had failed.
    /// client.disconnect_with(Disconnect::new(ReasonCode::DISCONNECT_WITH_WILL))?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`disconnect`](Self::disconnect).
    pub fn disconnect_with(&self, disconnect: Disconnect) -> Result<(), Error> {
        self.shared()
            .disconnect(&Arc::downgrade(&self.handle), disconnect)
    }

    fn wake(&self) {
        self.with(|core, _| core.wake());
    }

    fn weak(&self) -> Weak<Handle> {
        Arc::downgrade(&self.handle)
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
        let inner = self.shared().lock();
        f.debug_struct("Client")
            .field("core", &inner.core)
            .field("endpoint", &inner.endpoint)
            .field("looping", &inner.looping)
            .finish_non_exhaustive()
    }
}

/// A receiver of messages ([`Client::messages`]), with the methods of
/// [`std::sync::mpsc::Receiver`].
pub struct Messages {
    shared: Arc<Shared>,
    id: StreamId,
}

impl Messages {
    /// Blocks until a message arrives; an error once the stream has ended (the client
    /// stopped, or its subscription could not be restored: [`end`](Self::end) says).
    ///
    /// ```no_run
    /// # fn demo(client: mqtt_blocking::Client) {
    /// let messages = client.messages();
    /// std::thread::spawn(move || {
    ///     while let Ok(message) = messages.recv() {
    ///         println!("{}: {:?}", message.topic, message.payload_str());
    ///     }
    ///     println!("the client stopped: {:?}", messages.end());
    /// });
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`RecvError`] when the stream has ended and is empty.
    pub fn recv(&self) -> Result<Message, RecvError> {
        self.receive(None).map_err(|_| RecvError)
    }

    /// [`recv`](Self::recv) for at most `timeout`.
    ///
    /// ```
    /// use std::sync::mpsc::RecvTimeoutError;
    /// use std::time::Duration;
    ///
    /// let client = mqtt_blocking::Client::new("sensor-17", true);
    /// let messages = client.messages();
    /// match messages.recv_timeout(Duration::from_millis(10)) {
    ///     Ok(message) => println!("{}", message.topic),
    ///     Err(RecvTimeoutError::Timeout) => println!("nothing within 10 ms"), // not connected
    ///     Err(RecvTimeoutError::Disconnected) => println!("the client stopped"),
    /// }
    /// ```
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`], or [`RecvTimeoutError::Disconnected`] once the stream
    /// has ended.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Message, RecvTimeoutError> {
        self.receive(Some(timeout))
    }

    /// A message if one is waiting.
    ///
    /// ```
    /// use std::sync::mpsc::TryRecvError;
    ///
    /// let client = mqtt_blocking::Client::new("sensor-17", true);
    /// let messages = client.messages();
    /// // Handle what has arrived, without waiting for more.
    /// while let Ok(message) = messages.try_recv() {
    ///     println!("{}", message.topic);
    /// }
    /// assert_eq!(messages.try_recv().unwrap_err(), TryRecvError::Empty);
    /// ```
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`], or [`TryRecvError::Disconnected`] once the stream has ended.
    pub fn try_recv(&self) -> Result<Message, TryRecvError> {
        match self.receive(Some(Duration::ZERO)) {
            Ok(message) => Ok(message),
            Err(RecvTimeoutError::Timeout) => Err(TryRecvError::Empty),
            Err(RecvTimeoutError::Disconnected) => Err(TryRecvError::Disconnected),
        }
    }

    /// The messages, blocking for each, until the stream ends.
    ///
    /// ```no_run
    /// # fn demo(client: mqtt_blocking::Client) {
    /// let messages = client.messages();
    /// for message in messages.iter().filter(|m| m.retain) {
    ///     println!("retained: {}", message.topic);
    /// }
    /// # }
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = Message> + '_ {
        std::iter::from_fn(|| self.recv().ok())
    }

    /// Why the stream ended, once it has.
    ///
    /// ```no_run
    /// use mqtt_blocking::StreamEnd;
    ///
    /// # fn demo(client: mqtt_blocking::Client) {
    /// let messages = client.messages();
    /// for message in messages.iter() {
    ///     println!("{}", message.topic);
    /// }
    /// match messages.end() {
    ///     Some(StreamEnd::Stopped) | None => {} // the client was shut down
    ///     Some(why) => eprintln!("the stream ended: {why}"),
    /// }
    /// # }
    /// ```
    pub fn end(&self) -> Option<StreamEnd> {
        self.shared.lock().core.stream_end(self.id).cloned()
    }

    fn receive(&self, timeout: Option<Duration>) -> Result<Message, RecvTimeoutError> {
        let result = self.shared.wait(timeout, |inner, waker| {
            let now = self.shared.now();
            inner
                .core
                .poll_message(now, self.id, Some(waker))
                .map(|m| m.ok_or(Error::Closed))
        });
        match result {
            Ok(message) => Ok(message),
            Err(Error::Closed) => Err(RecvTimeoutError::Disconnected),
            Err(_) => Err(RecvTimeoutError::Timeout),
        }
    }
}

impl Drop for Messages {
    fn drop(&mut self) {
        let now = self.shared.now();
        self.shared.lock().core.release_stream(now, self.id);
    }
}

impl std::fmt::Debug for Messages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Messages").field(&self.id).finish()
    }
}

/// A receiver of connection events ([`Client::events`]); it holds the latest 64, dropping
/// the oldest.
pub struct Events {
    shared: Arc<Shared>,
    id: EventsId,
}

impl Events {
    /// [`recv`](std::sync::mpsc::Receiver::recv) for at most `timeout`.
    ///
    /// ```
    /// use std::sync::mpsc::RecvTimeoutError;
    /// use std::time::Duration;
    /// use mqtt_blocking::{Client, ClientEvent};
    ///
    /// let client = Client::new("sensor-17", true);
    /// let events = client.events();
    /// match events.recv_timeout(Duration::from_millis(10)) {
    ///     Ok(ClientEvent::Connected(c)) => println!("connected; resumed: {}", c.session_present),
    ///     Ok(other) => println!("{other:?}"),
    ///     Err(RecvTimeoutError::Timeout) => println!("nothing within 10 ms"), // not connected
    ///     Err(RecvTimeoutError::Disconnected) => println!("the client stopped"),
    /// }
    /// ```
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`], or [`RecvTimeoutError::Disconnected`] once the client
    /// has stopped and no event is left.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<ClientEvent, RecvTimeoutError> {
        let result = self.shared.wait(Some(timeout), |inner, waker| {
            inner
                .core
                .poll_event(self.id, Some(waker))
                .map(|e| e.ok_or(Error::Closed))
        });
        match result {
            Ok(event) => Ok(event),
            Err(Error::Closed) => Err(RecvTimeoutError::Disconnected),
            Err(_) => Err(RecvTimeoutError::Timeout),
        }
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        self.shared.lock().core.close_events(self.id);
    }
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Events").field(&self.id).finish()
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
        {
            let inner = client.shared().lock();
            let config = inner.core.session().config();
            assert_eq!(config.version, Version::V311);
            assert!(config.clean_start && config.clean_start_on_reconnect);
            assert_eq!(config.qos2_delivery, Qos2Delivery::OnPubRel);
        }
        assert!(!client.is_connected() && !client.is_loop_running());
        // Publishes before connect wait in the session's queue.
        let mid = client.publish("a/b", "x", QoS::AtLeastOnce, false).unwrap();
        assert!(matches!(
            client.wait_for_publish(mid, Duration::from_millis(10)),
            Err(Error::Timeout)
        ));
    }
}
