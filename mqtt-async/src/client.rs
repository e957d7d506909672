//! The [`Client`] handle and what it hands out: message and event streams, pending publishes.

use std::future::{Future, IntoFuture, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use mqtt_client::{
    ClientEvent, Core, Error, EventsId, Failure, Interest, Locked, Message, StoreSlot, StreamEnd,
    StreamId, packets,
};
use mqtt_proto::{
    Auth, ByteString, Disconnect, Publish, QoS, ReasonCode, SubscribeProperties, Subscription,
    TopicFilter, UnsubscribeProperties, Will,
};
use mqtt_session::{
    Command as PacketCommand, Instant, PublishId, Published, Received, RequestId, Subscribed,
    Unsubscribed,
};

use crate::connection::Connection;
use crate::options::Options;
use crate::runtime::Runtime;
use crate::wake::WakeFlag;

/// What the handles and the connection task share: the client core behind a lock, the clock's
/// origin, and the flag that wakes the task.
pub(crate) struct Shared<R: Runtime> {
    core: Mutex<Core<Client<R>>>,
    /// Request/response: this client's response topic, once a request made it, whether it is
    /// subscribed, and the last correlation number.
    responses: std::sync::OnceLock<mqtt_proto::TopicName>,
    responses_subscribed: std::sync::atomic::AtomicBool,
    correlation: std::sync::atomic::AtomicU64,
    start: std::time::Instant,
    /// Raised by the core (through its driver waker) when a command needs the task; the task
    /// waits for it without taking the lock.
    pub(crate) wake: Arc<WakeFlag>,
}

impl<R: Runtime> Shared<R> {
    /// The core, locked: what it wakes is woken once the lock is released.
    pub(crate) fn lock(&self) -> Locked<'_, Core<Client<R>>> {
        Locked::lock(&self.core)
    }

    /// Now, on the core's clock.
    pub(crate) fn now(&self) -> Instant {
        Instant::from_millis(self.start.elapsed().as_millis() as u64)
    }

    /// The core's clock as a `std` instant.
    pub(crate) fn deadline(&self, at: Instant) -> std::time::Instant {
        self.start + std::time::Duration::from_millis(at.as_millis())
    }

    /// Runs a command against the core at the current time.
    fn with<T>(&self, f: impl FnOnce(&mut Core<Client<R>>, Instant) -> T) -> T {
        let now = self.now();
        f(&mut self.lock(), now)
    }
}

/// The application's hold on the client: when the last [`Client`] clone goes, the client
/// disconnects in order.
pub(crate) struct Handle<R: Runtime> {
    pub(crate) shared: Arc<Shared<R>>,
}

impl<R: Runtime> Drop for Handle<R> {
    fn drop(&mut self) {
        self.shared.with(|core, now| core.handles_dropped(now));
    }
}

/// A handle to an MQTT client: cheap to clone, `Send` and `Sync`.
///
/// The client's state (the session, who waits for what, the message streams) lives in a core
/// shared by every clone and by the connection task ([`Connection`]), which owns the socket.
/// A command takes the core's lock for a moment and wakes the task; nothing a handle does
/// waits for the network except the futures that say so. The client keeps working across
/// reconnections: publishes made while the broker is away wait in the session's queue.
/// Dropping the last clone disconnects in order, as [`disconnect`](Self::disconnect) does.
///
/// ```no_run
/// use mqtt_tokio::{Client, Options, QoS};
///
/// # async fn demo() -> Result<(), mqtt_tokio::Error> {
/// let (client, _default) = Client::spawn(Options::from_url("mqtt://127.0.0.1", "demo")?).await?;
/// let mut temperatures = client.subscription("sensors/+/temp", QoS::AtLeastOnce).await?;
/// client.publish("sensors/1/temp", "21.5", QoS::AtLeastOnce, false).await?;
/// if let Some(message) = temperatures.recv().await {
///     println!("{}: {}", message.topic, message.payload_str().unwrap_or("?"));
/// }
/// client.disconnect().await
/// # }
/// ```
pub struct Client<R: Runtime> {
    pub(crate) handle: Arc<Handle<R>>,
}

impl<R: Runtime> Clone for Client<R> {
    fn clone(&self) -> Self {
        Client {
            handle: self.handle.clone(),
        }
    }
}

impl<R: Runtime> Client<R> {
    /// A client that is not connected yet, the default message stream, and the connection
    /// task, which connects once it runs (`tokio::spawn(connection.run())`).
    ///
    /// The default stream has every message that no other stream or callback takes, from the
    /// first connection on: a message that arrives before the application asked for anything
    /// waits there instead of being lost. Drop it if you don't read it: a full stream holds
    /// back acknowledgements (see [`Messages`]).
    ///
    /// ```
    /// use mqtt_tokio::{Client, Options, QoS};
    ///
    /// let options = Options::new("127.0.0.1", 1883, "sensor-17");
    /// let (client, _default, connection) = Client::new(options);
    /// // Nothing is sent yet: publishes wait in the session's queue until the task connects.
    /// client.try_publish("status/sensor-17", "starting", QoS::AtLeastOnce, false)?;
    /// assert!(!client.is_connected());
    /// assert_eq!(client.publishes_queued(), 1);
    /// // Then, on the runtime: tokio::spawn(connection.run());
    /// # drop(connection);
    /// # Ok::<(), mqtt_tokio::Error>(())
    /// ```
    pub fn new(options: Options<R>) -> (Self, Messages<R>, Connection<R>) {
        let mut options = options;
        options.session.connect_timeout = options.connect_timeout;
        let store = options.store.as_ref().and_then(StoreSlot::take);
        let store = store.unwrap_or_else(|| Box::new(mqtt_session::MemoryStore::new()));
        let (config, settings) = (options.session.clone(), options.settings());
        let mut core = Core::with_store(config, settings, fastrand::u64(..), store);
        core.retain_stream(StreamId::DEFAULT);
        core.set_after_connect(options.after_connect.clone());
        core.set_before_reconnect(options.before_reconnect.clone());
        if let Some(hook) = options.on_auth.clone() {
            core.set_auth_handler(Some(Box::new(move |auth: &Auth| hook(auth))));
        }
        let wake = Arc::new(WakeFlag::default());
        core.register_driver(&std::task::Waker::from(wake.clone()));
        // Woken after the lock is released ([`Locked`]).
        core.defer_wakes();
        let shared = Arc::new(Shared {
            core: Mutex::new(core),
            responses: std::sync::OnceLock::new(),
            responses_subscribed: std::sync::atomic::AtomicBool::new(false),
            correlation: std::sync::atomic::AtomicU64::new(0),
            start: std::time::Instant::now(),
            wake,
        });
        let handle = Arc::new(Handle {
            shared: shared.clone(),
        });
        let connection = Connection::new(options, shared.clone(), Arc::downgrade(&handle));
        let messages = Messages {
            shared,
            id: StreamId::DEFAULT,
        };
        (Client { handle }, messages, connection)
    }

    /// Connects to the broker and returns the client, the default message stream (see
    /// [`new`](Self::new)) and the connection task, which must be driven
    /// (`tokio::spawn(connection.run())`) for the client to make progress.
    ///
    /// Returns once the broker has accepted the connection and the
    /// [`after_connect`](Options::after_connect) hook has run. With
    /// [`retry_first_connect`](Options::retry_first_connect) it retries until then.
    ///
    /// ```no_run
    /// use mqtt_tokio::{Client, Options, ReasonCode};
    ///
    /// # async fn demo() -> Result<(), mqtt_tokio::Error> {
    /// let options = Options::from_url("mqtt://user:secret@127.0.0.1", "sensor-17")?;
    /// match Client::connect(options).await {
    ///     Ok((client, _default, connection)) => {
    ///         tokio::spawn(connection.run());
    ///         client.disconnect().await?;
    ///     }
    ///     Err(e) if e.reason_code() == Some(ReasonCode::BAD_USER_NAME_OR_PASSWORD) => {
    ///         eprintln!("the broker refused the credentials");
    ///     }
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Refused`] with the broker's reason code (bad credentials, ...), and transport
    /// errors ([`Error::Io`], [`Error::Tls`], [`Error::ConnectTimeout`], ...). Automatic
    /// reconnection applies once a first connection has succeeded.
    pub async fn connect(options: Options<R>) -> Result<(Self, Messages<R>, Connection<R>), Error> {
        let (client, messages, mut connection) = Client::new(options);
        connection.connect_first().await?;
        Ok((client, messages, connection))
    }

    /// [`connect`](Self::connect), then runs the connection task on the current tokio runtime.
    ///
    /// With [`retry_first_connect`](Options::retry_first_connect) it returns at once, and the
    /// client connects in the background, retrying with the backoff; [`events`](Self::events)
    /// tell how it goes, and publishes wait in the session's queue meanwhile.
    ///
    /// ```no_run
    /// use mqtt_tokio::{Client, Options, QoS};
    ///
    /// # async fn demo() -> Result<(), mqtt_tokio::Error> {
    /// let mut options = Options::from_url("mqtt://127.0.0.1", "sensor-17")?;
    /// options.retry_first_connect = true; // the broker may not be up yet
    /// let (client, _default) = Client::spawn(options).await?; // returns at once
    /// // Waits in the session's queue until the broker accepts the connection.
    /// client.publish("status/sensor-17", "online", QoS::AtLeastOnce, true).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub async fn spawn(options: Options<R>) -> Result<(Self, Messages<R>), Error> {
        let (client, messages, connection) = if options.retry_first_connect {
            Client::new(options)
        } else {
            Client::connect(options).await?
        };
        R::spawn(async move {
            if let Err(e) = connection.run().await {
                tracing::warn!(error = %e, "MQTT connection task ended");
            }
        });
        Ok((client, messages))
    }

    fn shared(&self) -> &Arc<Shared<R>> {
        &self.handle.shared
    }

    fn with<T>(&self, f: impl FnOnce(&mut Core<Client<R>>, Instant) -> T) -> T {
        self.shared().with(f)
    }

    // ---- publishing ----------------------------------------------------------------------

    /// Publishes a message and waits until it is complete: written to the socket at QoS 0,
    /// acknowledged by PUBACK at QoS 1 and by PUBCOMP at QoS 2.
    ///
    /// Cancel safety: dropping the future before the message was accepted publishes nothing;
    /// dropping it later does not stop the publish, which is never sent twice either way.
    ///
    /// ```no_run
    /// use mqtt_tokio::{Client, QoS};
    ///
    /// # async fn demo(client: Client) -> Result<(), mqtt_tokio::Error> {
    /// let published = client.publish("sensors/7/temp", "21.5", QoS::AtLeastOnce, false).await?;
    /// // The PUBACK's reason code: Success, or (MQTT 5.0) 0x10 No matching subscribers.
    /// assert!(!published.reason_code.is_error());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTopic`], [`Error::Usage`] (QoS or retain not supported, too large),
    /// [`Error::PublishFailed`] (refused with an MQTT 5.0 reason code, expired, or a QoS 0
    /// message the connection ended before writing), and [`Error::Closed`].
    pub async fn publish(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
        retain: bool,
    ) -> Result<Published, Error> {
        self.start_publish(topic, payload, qos, retain).await?.await
    }

    /// Publishes a [`Publish`] built by the caller, with MQTT 5.0 properties, and waits until it
    /// is complete. As [`publish`](Self::publish) otherwise.
    ///
    /// ```no_run
    /// use mqtt_tokio::{Client, Publish, QoS};
    ///
    /// # async fn demo(client: Client) -> Result<(), mqtt_tokio::Error> {
    /// let reading = Publish::builder("sensors/7/temp")
    ///     .payload("21.5")
    ///     .qos(QoS::AtLeastOnce)
    ///     .message_expiry_interval(60) // stale after a minute
    ///     .user_property("unit", "celsius")
    ///     .build()?;
    /// client.publish_packet(reading).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`publish`](Self::publish).
    pub async fn publish_packet(&self, publish: Publish) -> Result<Published, Error> {
        self.start_publish_packet(publish).await?.await
    }

    /// Hands a message to the client and returns its handle at once: await the
    /// [`PendingPublish`] for the outcome, or drop it. [`PendingPublish::id`] is the seed API's
    /// `mid`, which the acknowledgement callbacks carry. Waits only while the client has more
    /// to write than it should buffer, or its queue is full, so a burst of publishes streams
    /// out without a round trip per message and without unbounded memory.
    ///
    /// Cancel safety: as [`publish`](Self::publish).
    ///
    /// ```no_run
    /// use mqtt_tokio::{Client, QoS};
    ///
    /// # async fn demo(client: Client) -> Result<(), mqtt_tokio::Error> {
    /// // A burst: every message is on its way before the first PUBACK is awaited.
    /// let mut pending = Vec::new();
    /// for i in 0..100 {
    ///     let line = format!("line {i}");
    ///     pending.push(client.start_publish("log", line, QoS::AtLeastOnce, false).await?);
    /// }
    /// for publish in pending {
    ///     publish.await?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTopic`], [`Error::Usage`], [`Error::Closed`].
    pub async fn start_publish(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
        retain: bool,
    ) -> Result<PendingPublish<R>, Error> {
        let publish = packets::publish(topic, payload, qos, retain)?;
        self.start_publish_packet(publish).await
    }

    /// [`start_publish`](Self::start_publish) for a [`Publish`] built by the caller.
    ///
    /// ```no_run
    /// use mqtt_tokio::{Client, Publish, QoS};
    ///
    /// # async fn demo(client: Client) -> Result<(), mqtt_tokio::Error> {
    /// let alert = Publish::builder("alerts/door").payload("open").qos(QoS::ExactlyOnce).build()?;
    /// let pending = client.start_publish_packet(alert).await?;
    /// println!("sent as mid {}", pending.id().get());
    /// let complete = pending.await?; // after PUBCOMP
    /// assert_eq!(complete.qos, QoS::ExactlyOnce);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`start_publish`](Self::start_publish).
    pub async fn start_publish_packet(&self, publish: Publish) -> Result<PendingPublish<R>, Error> {
        let shared = self.shared();
        let mut publish = Some(publish);
        let id = poll_fn(|cx| {
            let now = shared.now();
            shared.lock().poll_publish_with_room(
                now,
                &mut publish,
                Interest::Outcome,
                Some(cx.waker()),
            )
        })
        .await?;
        Ok(PendingPublish {
            shared: shared.clone(),
            id,
            done: false,
        })
    }

    /// Publishes without waiting, from synchronous code such as a callback; returns the
    /// message's id (the seed's `mid`), whose outcome is not kept.
    ///
    /// ```
    /// use mqtt_tokio::{Client, Command, Options, QoS};
    ///
    /// let options = Options::new("127.0.0.1", 1883, "echo");
    /// let (client, _default, _connection) = Client::new(options);
    /// // A callback can't await: it answers every message on "ping" with try_publish.
    /// client.on_if(
    ///     Command::Publish,
    ///     |client, _data| {
    ///         let _ = client.try_publish("pong", "pong", QoS::AtMostOnce, false);
    ///     },
    ///     |data| data.message.as_ref().is_some_and(|m| m.topic == "ping"),
    ///     0,
    /// );
    /// client.try_publish("ping", "hello?", QoS::AtLeastOnce, false)?;
    /// assert_eq!(client.publishes_queued(), 1); // not connected yet
    /// # Ok::<(), mqtt_tokio::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTopic`], [`Error::Usage`] ([`QueueFull`](mqtt_session::UsageError::QueueFull)
    /// when the session's queue is full), and [`Error::Closed`].
    pub fn try_publish(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
        retain: bool,
    ) -> Result<PublishId, Error> {
        let publish = packets::publish(topic, payload, qos, retain)?;
        Ok(self.with(|core, now| core.publish(now, publish, Interest::None))?)
    }

    // ---- subscribing ---------------------------------------------------------------------

    /// Subscribes to `(filter, maximum QoS)` pairs and returns the broker's answer per filter:
    /// the granted QoS, or a failure reason code (0x80 and up). Messages that match go to the
    /// streams that want them, the callbacks, or the default stream.
    ///
    /// Cancel safety: dropping the future may leave the subscription made.
    ///
    /// ```no_run
    /// use mqtt_tokio::{Client, QoS};
    ///
    /// # async fn demo(client: Client) -> Result<(), mqtt_tokio::Error> {
    /// let granted = client
    ///     .subscribe(&[("sensors/+/temp", QoS::AtLeastOnce), ("alerts/#", QoS::ExactlyOnce)])
    ///     .await?;
    /// for (filter, code) in ["sensors/+/temp", "alerts/#"].iter().zip(&granted) {
    ///     if code.is_error() {
    ///         eprintln!("{filter}: refused ({code})");
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTopic`], [`Error::Usage`], [`Error::RequestFailed`], [`Error::Closed`].
    pub async fn subscribe(&self, filters: &[(&str, QoS)]) -> Result<Vec<ReasonCode>, Error> {
        let subscriptions = packets::subscriptions(filters)?;
        let subscribed = self
            .subscribe_with(subscriptions, SubscribeProperties::default())
            .await?;
        Ok(subscribed.reason_codes)
    }

    /// Subscribes with full MQTT 5.0 options and properties.
    ///
    /// ```no_run
    /// use std::num::NonZeroU32;
    /// use mqtt_tokio::proto::{RetainHandling, SubscribeProperties, Subscription};
    /// use mqtt_tokio::{Client, QoS, ReasonCode, TopicFilter};
    ///
    /// # async fn demo(client: Client) -> Result<(), mqtt_tokio::Error> {
    /// let mut chat = Subscription::new(TopicFilter::new("chat/room1")?, QoS::AtLeastOnce);
    /// chat.options.no_local = true; // not the messages this client publishes
    /// chat.options.retain_handling = RetainHandling::DoNotSend;
    /// let mut properties = SubscribeProperties::default();
    /// properties.subscription_identifier = NonZeroU32::new(7); // carried by its messages
    /// let subscribed = client.subscribe_with(vec![chat], properties).await?;
    /// assert_eq!(subscribed.reason_codes, [ReasonCode::GRANTED_QOS_1]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`subscribe`](Self::subscribe).
    pub async fn subscribe_with(
        &self,
        subscriptions: Vec<Subscription>,
        properties: SubscribeProperties,
    ) -> Result<Subscribed, Error> {
        let id = self
            .with(|core, now| core.subscribe(now, subscriptions, properties, Interest::Outcome))?;
        let mut request = Request::new(self.shared(), id);
        poll_fn(|cx| request.poll(cx, Core::poll_subscribe)).await
    }

    /// Subscribes to `filter` and returns a stream of the messages that match it. The stream is
    /// registered before the SUBSCRIBE goes out, so retained messages are not missed. When the
    /// broker loses the session, the client subscribes again; if it can't, the stream ends and
    /// [`Messages::end`] says why.
    ///
    /// ```no_run
    /// use mqtt_tokio::{Client, QoS};
    ///
    /// # async fn demo(client: Client) -> Result<(), mqtt_tokio::Error> {
    /// let mut alerts = client.subscription("alerts/#", QoS::AtLeastOnce).await?;
    /// while let Some(alert) = alerts.recv().await {
    ///     println!("{}: {:?}", alert.topic, alert.payload_str());
    /// }
    /// println!("no more alerts: {:?}", alerts.end());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`subscribe`](Self::subscribe); a filter the broker refuses is
    /// [`Error::RequestFailed`] with its reason code.
    pub async fn subscription(&self, filter: &str, qos: QoS) -> Result<Messages<R>, Error> {
        let filter = TopicFilter::new(filter)?;
        let messages = self.stream(Some(filter.clone()));
        let subscribed = self
            .subscribe_with(
                vec![Subscription::new(filter, qos)],
                SubscribeProperties::default(),
            )
            .await?;
        match subscribed.reason_codes.first() {
            Some(code) if code.is_error() => {
                Err(Error::RequestFailed(mqtt_session::FailReason::Rejected {
                    reason_code: *code,
                    properties: subscribed.properties,
                }))
            }
            _ => Ok(messages),
        }
    }

    /// MQTT 5.0 request/response: publishes `payload` to `topic` at QoS 1 with a Response
    /// Topic and Correlation Data, and returns the first message that comes back on the
    /// response topic with the same Correlation Data, within `timeout` (publishing included).
    ///
    /// The response topic is this client's own (`mqtt-responses/` and a random number); the
    /// first request subscribes to it, at QoS 1, and later ones reuse the subscription.
    /// Requests may run at the same time: each waits for its own answer. An answer that comes
    /// after its request gave up goes to the default stream, if it is open.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use mqtt_tokio::{Client, Options};
    ///
    /// # async fn demo() -> Result<(), mqtt_tokio::Error> {
    /// let (client, _default) = Client::spawn(Options::from_url("mqtt://127.0.0.1", "asker")?).await?;
    /// let answer = client.request("services/time", "now?", Duration::from_secs(5)).await?;
    /// println!("{:?}", answer.payload_str());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// A responder answers on the request's Response Topic and copies its Correlation Data:
    ///
    /// ```no_run
    /// use mqtt_tokio::{Client, Publish, QoS};
    ///
    /// # async fn responder(client: Client) -> Result<(), mqtt_tokio::Error> {
    /// let mut requests = client.subscription("services/time", QoS::AtLeastOnce).await?;
    /// while let Some(request) = requests.recv().await {
    ///     let Some(reply_to) = &request.properties.response_topic else { continue };
    ///     let mut answer = Publish::builder(reply_to.as_str()).payload("12:00").qos(QoS::AtLeastOnce);
    ///     if let Some(data) = &request.properties.correlation_data {
    ///         answer = answer.correlation_data(data.clone());
    ///     }
    ///     client.publish_packet(answer.build()?).await?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] with [`UsageError::RequiresMqtt5`](mqtt_session::UsageError) on an
    /// earlier protocol version; [`Error::Timeout`] when no answer came in time;
    /// [`Error::InvalidTopic`]; and the errors of [`subscribe`](Self::subscribe) and
    /// [`publish`](Self::publish).
    pub async fn request(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        timeout: std::time::Duration,
    ) -> Result<Message, Error> {
        use std::sync::atomic::Ordering;
        let deadline = std::time::Instant::now() + timeout;
        if !self.with(|core, _| core.session().version().is_v5()) {
            return Err(Error::Usage(mqtt_session::UsageError::RequiresMqtt5));
        }
        let shared = self.shared();
        let response_topic = shared.responses.get_or_init(|| {
            let name = format!("mqtt-responses/{:016x}", fastrand::u64(..));
            mqtt_proto::TopicName::new(name).unwrap_or_default()
        });
        let filter = TopicFilter::new(response_topic.as_str())?;
        // Open before subscribing and publishing, so that no answer is missed.
        let mut answers = self.stream(Some(filter.clone()));
        if !shared.responses_subscribed.swap(true, Ordering::AcqRel) {
            let subscription = vec![Subscription::new(filter, QoS::AtLeastOnce)];
            let subscribed = self.subscribe_with(subscription, SubscribeProperties::default());
            let refused = match crate::connection::first(
                Box::pin(subscribed),
                Box::pin(R::sleep_until(deadline)),
            )
            .await
            {
                Ok(Ok(subscribed)) => subscribed
                    .reason_codes
                    .first()
                    .copied()
                    .filter(|c| c.is_error())
                    .map(|code| {
                        Error::RequestFailed(mqtt_session::FailReason::Rejected {
                            reason_code: code,
                            properties: subscribed.properties,
                        })
                    }),
                Ok(Err(e)) => Some(e),
                Err(()) => Some(Error::Timeout),
            };
            if let Some(error) = refused {
                shared.responses_subscribed.store(false, Ordering::Release);
                return Err(error);
            }
        }
        let number = shared.correlation.fetch_add(1, Ordering::Relaxed);
        let correlation = Bytes::copy_from_slice(&number.to_be_bytes());
        let publish = Publish::builder(topic)
            .payload(payload)
            .qos(QoS::AtLeastOnce)
            .response_topic(response_topic.as_str())
            .correlation_data(correlation.clone())
            .build()?;
        let published = Box::pin(self.publish_packet(publish));
        match crate::connection::first(published, Box::pin(R::sleep_until(deadline))).await {
            Ok(result) => {
                result?;
            }
            Err(()) => return Err(Error::Timeout),
        }
        loop {
            let answer = Box::pin(answers.recv());
            match crate::connection::first(answer, Box::pin(R::sleep_until(deadline))).await {
                Ok(Some(message))
                    if message.properties.correlation_data.as_ref() == Some(&correlation) =>
                {
                    return Ok(message);
                }
                Ok(Some(_)) => {} // another request's answer
                Ok(None) => return Err(Error::Closed),
                Err(()) => return Err(Error::Timeout),
            }
        }
    }

    /// A stream of every message the client receives from now on.
    ///
    /// ```no_run
    /// use mqtt_tokio::{Client, QoS};
    ///
    /// # async fn demo(client: Client) -> Result<(), mqtt_tokio::Error> {
    /// let mut everything = client.messages(); // before subscribing: retained ones come too
    /// client.subscribe(&[("#", QoS::AtMostOnce)]).await?;
    /// while let Some(message) = everything.recv().await {
    ///     println!("{} ({} bytes)", message.topic, message.payload.len());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn messages(&self) -> Messages<R> {
        self.stream(None)
    }

    fn stream(&self, filter: Option<TopicFilter>) -> Messages<R> {
        let id = self.with(|core, _| core.open_stream(filter));
        Messages {
            shared: self.shared().clone(),
            id,
        }
    }

    /// Unsubscribes from topic filters; returns the MQTT 5.0 reason codes (empty for 3.1.1).
    ///
    /// ```no_run
    /// use mqtt_tokio::{Client, ReasonCode};
    ///
    /// # async fn demo(client: Client) -> Result<(), mqtt_tokio::Error> {
    /// let codes = client.unsubscribe(&["sensors/+/temp", "alerts/#"]).await?;
    /// if codes.contains(&ReasonCode::NO_SUBSCRIPTION_EXISTED) {
    ///     println!("one of them was not subscribed");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTopic`], [`Error::Usage`], [`Error::RequestFailed`], [`Error::Closed`].
    pub async fn unsubscribe(&self, filters: &[&str]) -> Result<Vec<ReasonCode>, Error> {
        let filters = packets::filters(filters)?;
        let unsubscribed = self
            .unsubscribe_with(filters, UnsubscribeProperties::default())
            .await?;
        Ok(unsubscribed.reason_codes)
    }

    /// Unsubscribes with MQTT 5.0 properties.
    ///
    /// ```no_run
    /// use mqtt_tokio::proto::UnsubscribeProperties;
    /// use mqtt_tokio::{Client, TopicFilter, UserProperty};
    ///
    /// # async fn demo(client: Client) -> Result<(), mqtt_tokio::Error> {
    /// let mut properties = UnsubscribeProperties::default();
    /// properties.user_properties.push(UserProperty::new("reason", "room closed"));
    /// let filters = vec![TopicFilter::new("chat/room1")?];
    /// let unsubscribed = client.unsubscribe_with(filters, properties).await?;
    /// println!("{:?}", unsubscribed.reason_codes);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`unsubscribe`](Self::unsubscribe).
    pub async fn unsubscribe_with(
        &self,
        filters: Vec<TopicFilter>,
        properties: UnsubscribeProperties,
    ) -> Result<Unsubscribed, Error> {
        let id =
            self.with(|core, now| core.unsubscribe(now, filters, properties, Interest::Outcome))?;
        let mut request = Request::new(self.shared(), id);
        poll_fn(|cx| request.poll(cx, Core::poll_unsubscribe)).await
    }

    // ---- acknowledgements and authentication -----------------------------------------------

    /// Acknowledges a message in manual acknowledgement mode
    /// ([`AckMode::Manual`](mqtt_session::AckMode::Manual)). Acknowledgements reach the broker
    /// in the order the messages arrived. Does nothing for a message that carries no token.
    ///
    /// ```no_run
    /// use mqtt_tokio::{AckMode, Client, Options, QoS, ReasonCode};
    ///
    /// # async fn demo() -> Result<(), mqtt_tokio::Error> {
    /// let mut options = Options::from_url("mqtt://127.0.0.1", "worker")?;
    /// options.session.ack_mode = AckMode::Manual;
    /// let (client, _default) = Client::spawn(options).await?;
    /// let mut jobs = client.subscription("jobs/#", QoS::AtLeastOnce).await?;
    /// while let Some(mut job) = jobs.recv().await {
    ///     // ... do the work and store the result: the broker gets no PUBACK before ...
    ///     client.ack(&mut job, ReasonCode::SUCCESS)?;
    /// }
    /// # Ok(())
    /// # }
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

    /// With manual acknowledgement, takes the message a callback is running for (`data`, what
    /// the callback was given) with the right to acknowledge it: the client then does not
    /// acknowledge it when the callback returns, and the application does, with
    /// [`ack`](Self::ack), then or later, from any task. Acknowledgements still reach the
    /// broker in the order the messages arrived. `None` outside a callback, for a packet
    /// without a message, at QoS 0, in automatic mode, or when a stream holds the message.
    ///
    /// ```no_run
    /// use mqtt_tokio::{AckMode, Client, Command, Options, ReasonCode};
    ///
    /// # async fn demo() -> Result<(), mqtt_tokio::Error> {
    /// let mut options = Options::from_url("mqtt://127.0.0.1", "worker")?;
    /// options.session.ack_mode = AckMode::Manual;
    /// let (client, _default) = Client::spawn(options).await?;
    /// let (to_worker, mut work) = tokio::sync::mpsc::unbounded_channel();
    /// client.on(Command::Publish, move |client, data| {
    ///     if let Some(message) = client.take_message(data) {
    ///         let _ = to_worker.send(message); // acknowledged once processed
    ///     }
    /// });
    /// while let Some(mut message) = work.recv().await {
    ///     // ... store it ...
    ///     client.ack(&mut message, ReasonCode::SUCCESS)?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn take_message(&self, data: &Received) -> Option<Message> {
        self.shared().lock().take_message(data)
    }

    /// Sends an AUTH packet (MQTT 5.0 enhanced authentication or re-authentication).
    ///
    /// ```no_run
    /// use mqtt_tokio::proto::{Auth, AuthProperties};
    /// use mqtt_tokio::{Client, ReasonCode};
    ///
    /// # fn demo(client: Client, fresh_token: bytes::Bytes) -> Result<(), mqtt_tokio::Error> {
    /// // Re-authenticate on the open connection (MQTT 5.0 §4.12.1); the broker's challenges,
    /// // if any, go to the `on_auth` hook of the options.
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
    /// [`Error::Usage`].
    pub fn auth(&self, auth: Auth) -> Result<(), Error> {
        Ok(self.with(|core, now| core.auth(now, auth))?)
    }

    // ---- the seed's callbacks ----------------------------------------------------------------

    /// The seed's `on(command, function)`: the generic callback for `command`, replacing the
    /// previous one. It runs on the connection task, with this client, when no conditional
    /// callback matches. For PUBLISH (and PUBREL of a QoS 2 message delivered on PUBREL),
    /// `data.message` holds the message; for PUBACK, PUBREC and PUBCOMP, `data.mid` is the id
    /// [`start_publish`](Self::start_publish) returned. A message is acknowledged once its
    /// callback returned; one no callback takes goes to the default stream.
    ///
    /// ```
    /// use mqtt_tokio::{Client, Command, Options};
    ///
    /// let options = Options::new("127.0.0.1", 1883, "logger");
    /// let (client, _default, _connection) = Client::new(options);
    /// client.on(Command::Publish, |_client, data| {
    ///     if let Some(message) = &data.message {
    ///         println!("{}: {} bytes", message.topic, message.payload.len());
    ///     }
    /// });
    /// client.on(Command::PubAck, |_client, data| println!("mid {:?} acknowledged", data.mid));
    /// ```
    pub fn on(
        &self,
        command: PacketCommand,
        callback: impl FnMut(&Client<R>, &Received) + Send + 'static,
    ) {
        self.with(|core, _| core.on(command, Box::new(callback)));
    }

    /// The seed's `on(command, function, condition, priority)`: of the callbacks whose
    /// condition holds, only the one with the highest priority runs.
    ///
    /// ```
    /// use mqtt_tokio::{Client, Command, Options};
    ///
    /// let options = Options::new("127.0.0.1", 1883, "panel");
    /// let (client, _default, _connection) = Client::new(options);
    /// client.on_if(
    ///     Command::Publish,
    ///     |_client, data| println!("ALARM {:?}", data.message.as_ref().map(|m| &m.payload)),
    ///     |data| data.message.as_ref().is_some_and(|m| m.topic.as_str().starts_with("alarms/")),
    ///     10, // wins over matching conditional callbacks of lower priority
    /// );
    /// ```
    pub fn on_if(
        &self,
        command: PacketCommand,
        callback: impl FnMut(&Client<R>, &Received) + Send + 'static,
        condition: impl Fn(&Received) -> bool + Send + 'static,
        priority: i32,
    ) {
        self.with(|core, _| {
            core.on_if(command, Box::new(callback), Box::new(condition), priority);
        });
    }

    // ---- the connection ------------------------------------------------------------------

    /// The seed's `set_username_pw`: the credentials of the next CONNECT, for example in a
    /// [`before_reconnect`](Options::before_reconnect) hook.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mqtt_tokio::{Client, Options};
    ///
    /// # fn fresh_token() -> String { "token".into() }
    /// let mut options = Options::from_url("mqtt://127.0.0.1", "sensor-17")?;
    /// // A token that expires: a new one before every reconnection.
    /// options.before_reconnect = Some(Arc::new(|client: &Client| {
    ///     client.set_username_pw("sensor-17", Some(&fresh_token()));
    /// }));
    /// # Ok::<(), mqtt_tokio::Error>(())
    /// ```
    pub fn set_username_pw(&self, username: &str, password: Option<&str>) {
        let password = password.map(|p| Bytes::copy_from_slice(p.as_bytes()));
        self.set_credentials(Some(username.into()), password);
    }

    /// The credentials of the next CONNECT, binary password included.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use mqtt_tokio::{Client, Options};
    ///
    /// let options = Options::new("127.0.0.1", 1883, "sensor-17");
    /// let (client, _default, _connection) = Client::new(options);
    /// let key = Bytes::from_static(&[0x5e, 0x17, 0x00, 0xff]); // not UTF-8: fine for a password
    /// client.set_credentials(Some("sensor-17".into()), Some(key));
    /// ```
    pub fn set_credentials(&self, username: Option<ByteString>, password: Option<Bytes>) {
        self.with(|core, _| core.set_credentials(username, password));
    }

    /// The seed's `set_will`: the will of the next CONNECT.
    ///
    /// ```
    /// use mqtt_tokio::{Client, Options, QoS};
    ///
    /// let options = Options::new("127.0.0.1", 1883, "sensor-17");
    /// let (client, _default, _connection) = Client::new(options);
    /// client.set_will("status/sensor-17", "offline", QoS::AtLeastOnce, true)?;
    /// // A will goes to one topic: a filter with wildcards is refused.
    /// assert!(client.set_will("status/#", "offline", QoS::AtLeastOnce, true).is_err());
    /// # Ok::<(), mqtt_tokio::Error>(())
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
    /// use mqtt_tokio::{Client, Options, QoS, TopicName, Will};
    ///
    /// let mut options = Options::new("127.0.0.1", 1883, "sensor-17");
    /// // The session outlives a connection by 5 minutes...
    /// options.session.connect_properties.session_expiry_interval = Some(300);
    /// let (client, _default, _connection) = Client::new(options);
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
    /// # Ok::<(), mqtt_tokio::Error>(())
    /// ```
    pub fn set_will_packet(&self, will: Option<Will>) {
        self.with(|core, _| core.set_will(will));
    }

    /// Reconnects now: the seed's `reconnect()`. When connected, the current connection is
    /// dropped without DISCONNECT; unacknowledged messages are resent on the new one.
    ///
    /// ```no_run
    /// use mqtt_tokio::{Client, ClientEvent};
    ///
    /// # async fn demo(client: Client) {
    /// // The network changed (another Wi-Fi, a VPN): don't wait for keep alive to notice.
    /// let mut events = client.events();
    /// client.reconnect();
    /// while let Some(event) = events.recv().await {
    ///     if let ClientEvent::Connected(connected) = event {
    ///         println!("back; session resumed: {}", connected.session_present);
    ///         break;
    ///     }
    /// }
    /// # }
    /// ```
    pub fn reconnect(&self) {
        self.with(|core, now| core.reconnect(now));
    }

    /// Whether the broker has accepted the current connection.
    ///
    /// ```
    /// use mqtt_tokio::{Client, Options};
    ///
    /// let options = Options::new("127.0.0.1", 1883, "x");
    /// let (client, _default, _connection) = Client::new(options);
    /// assert!(!client.is_connected()); // the connection task has not run
    /// ```
    pub fn is_connected(&self) -> bool {
        self.with(|core, _| core.is_connected())
    }

    /// QoS 1 and 2 publishes sent and not yet acknowledged.
    ///
    /// ```
    /// use mqtt_tokio::{Client, Options, QoS};
    ///
    /// let options = Options::new("127.0.0.1", 1883, "x");
    /// let (client, _default, _connection) = Client::new(options);
    /// client.try_publish("a/b", "1", QoS::AtLeastOnce, false)?;
    /// // Not sent while there is no connection: queued, not in flight.
    /// assert_eq!((client.publishes_in_flight(), client.publishes_queued()), (0, 1));
    /// # Ok::<(), mqtt_tokio::Error>(())
    /// ```
    pub fn publishes_in_flight(&self) -> usize {
        self.with(|core, _| core.publishes_in_flight())
    }

    /// Publishes accepted and waiting to be sent (beyond the in-flight window, or offline).
    ///
    /// ```
    /// use mqtt_tokio::{Client, Options, QoS};
    ///
    /// let options = Options::new("127.0.0.1", 1883, "x");
    /// let (client, _default, _connection) = Client::new(options);
    /// for reading in ["20.5", "20.7", "21.0"] {
    ///     client.try_publish("sensors/7/temp", reading, QoS::AtLeastOnce, false)?;
    /// }
    /// assert_eq!(client.publishes_queued(), 3); // sent in order once connected
    /// # Ok::<(), mqtt_tokio::Error>(())
    /// ```
    pub fn publishes_queued(&self) -> usize {
        self.with(|core, _| core.publishes_queued())
    }

    /// A stream of connection events from now on: connected (with the CONNACK), disconnected
    /// (with the reason), reconnecting (attempt and delay), resubscribed, messages dropped.
    ///
    /// ```no_run
    /// use mqtt_tokio::{Client, ClientEvent};
    ///
    /// # fn demo(client: Client) {
    /// let mut events = client.events();
    /// tokio::spawn(async move {
    ///     while let Some(event) = events.recv().await {
    ///         match event {
    ///             ClientEvent::Connected(c) => println!("up; resumed: {}", c.session_present),
    ///             ClientEvent::Disconnected { reason, .. } => println!("down: {reason}"),
    ///             ClientEvent::Reconnecting { delay, .. } => println!("retry in {delay:?}"),
    ///             _ => {}
    ///         }
    ///     }
    /// });
    /// # }
    /// ```
    pub fn events(&self) -> Events<R> {
        let id = self.with(|core, _| core.open_events());
        Events {
            shared: self.shared().clone(),
            id,
        }
    }

    /// Waits (up to [`Options::disconnect_timeout`]) for queued and in-flight publishes to
    /// complete, sends DISCONNECT, writes everything queued, closes the connection and stops
    /// the connection task.
    ///
    /// ```no_run
    /// use mqtt_tokio::{Client, QoS};
    ///
    /// # async fn demo(client: Client) -> Result<(), mqtt_tokio::Error> {
    /// client.try_publish("log", "shutting down", QoS::AtLeastOnce, false)?;
    /// client.disconnect().await?; // once it is acknowledged, or after disconnect_timeout
    /// assert!(!client.is_connected());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] when the client had stopped already.
    pub async fn disconnect(&self) -> Result<(), Error> {
        self.disconnect_with(Disconnect::default()).await
    }

    /// [`disconnect`](Self::disconnect) with an MQTT 5.0 reason code and properties (say, a
    /// new Session Expiry Interval, or 0x04 to have the will published).
    ///
    /// ```no_run
    /// use mqtt_tokio::proto::Disconnect;
    /// use mqtt_tokio::{Client, ReasonCode};
    ///
    /// # async fn demo(client: Client) -> Result<(), mqtt_tokio::Error> {
    /// // MQTT 5.0: leave, but have the broker publish the will as if the connection had failed.
    /// client.disconnect_with(Disconnect::new(ReasonCode::DISCONNECT_WITH_WILL)).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`disconnect`](Self::disconnect), and [`Error::Usage`] for a DISCONNECT the session
    /// refuses.
    pub async fn disconnect_with(&self, disconnect: Disconnect) -> Result<(), Error> {
        self.with(|core, now| core.disconnect(now, disconnect))?;
        let shared = self.shared();
        match poll_fn(|cx| shared.lock().poll_stopped(Some(cx.waker()))).await {
            Ok(()) => Ok(()),
            Err(end) => Err(Error::from_end(end)),
        }
    }
}

impl<R: Runtime> std::fmt::Debug for Client<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("core", &*self.shared().lock())
            .finish()
    }
}

/// A subscribe or unsubscribe being waited for; forgotten if the future is dropped.
struct Request<'a, R: Runtime> {
    shared: &'a Shared<R>,
    id: RequestId,
    done: bool,
}

type PollRequest<R, T> = fn(
    &mut Core<Client<R>>,
    RequestId,
    Option<&std::task::Waker>,
) -> Poll<Option<Result<T, Failure>>>;

impl<'a, R: Runtime> Request<'a, R> {
    fn new(shared: &'a Shared<R>, id: RequestId) -> Self {
        Request {
            shared,
            id,
            done: false,
        }
    }

    fn poll<T>(&mut self, cx: &mut Context<'_>, poll: PollRequest<R, T>) -> Poll<Result<T, Error>> {
        let outcome = std::task::ready!(poll(&mut self.shared.lock(), self.id, Some(cx.waker())));
        self.done = true;
        Poll::Ready(match outcome {
            Some(Ok(answer)) => Ok(answer),
            Some(Err(Failure::Failed(reason))) => Err(Error::RequestFailed(reason)),
            Some(Err(other)) => Err(other.into()),
            None => Err(Error::Closed),
        })
    }
}

impl<R: Runtime> Drop for Request<'_, R> {
    fn drop(&mut self) {
        if !self.done {
            self.shared.lock().forget_request(self.id);
        }
    }
}

/// A publish on its way; await it for the outcome.
///
/// Dropping it does not stop the publish; only its outcome is not kept.
///
/// ```no_run
/// use mqtt_tokio::{Client, PendingPublish, QoS};
///
/// # async fn demo(client: Client) -> Result<(), mqtt_tokio::Error> {
/// let pending: PendingPublish = client.start_publish("a/b", "1", QoS::AtLeastOnce, false).await?;
/// let published = pending.await?; // the PUBACK came
/// # Ok(())
/// # }
/// ```
#[must_use = "await it for the outcome, or drop it to ignore the outcome"]
pub struct PendingPublish<R: Runtime> {
    shared: Arc<Shared<R>>,
    id: PublishId,
    done: bool,
}

impl<R: Runtime> PendingPublish<R> {
    /// The publish's id: the seed API's `mid`, as [`Received::mid`] names it in the
    /// acknowledgement callbacks.
    ///
    /// ```no_run
    /// use mqtt_tokio::{Client, QoS};
    ///
    /// # async fn demo(client: Client) -> Result<(), mqtt_tokio::Error> {
    /// let pending = client.start_publish("cmd/reboot", "now", QoS::AtLeastOnce, false).await?;
    /// let mid = pending.id();
    /// println!("mid {}", mid.get()); // as the PUBACK callbacks' `data.mid` names it
    /// let published = pending.await?;
    /// assert_eq!(published.id, mid);
    /// # Ok(())
    /// # }
    /// ```
    pub fn id(&self) -> PublishId {
        self.id
    }
}

impl<R: Runtime> IntoFuture for PendingPublish<R> {
    type Output = Result<Published, Error>;
    type IntoFuture = PublishOutcome<R>;

    fn into_future(self) -> PublishOutcome<R> {
        PublishOutcome(self)
    }
}

impl<R: Runtime> Drop for PendingPublish<R> {
    fn drop(&mut self) {
        if !self.done {
            self.shared.lock().forget_publish(self.id);
        }
    }
}

impl<R: Runtime> std::fmt::Debug for PendingPublish<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PendingPublish").field(&self.id).finish()
    }
}

/// The future of a [`PendingPublish`].
///
/// ```no_run
/// use std::future::IntoFuture;
/// use std::time::Duration;
/// use mqtt_tokio::{Client, PublishOutcome, QoS};
///
/// # async fn demo(client: Client) -> Result<(), mqtt_tokio::Error> {
/// let pending = client.start_publish("a/b", "1", QoS::AtLeastOnce, false).await?;
/// let outcome: PublishOutcome = pending.into_future();
/// match tokio::time::timeout(Duration::from_secs(5), outcome).await {
///     Ok(result) => println!("complete: {:?}", result?.reason_code),
///     Err(_) => println!("no PUBACK within 5 s"), // the publish goes on, unwatched
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct PublishOutcome<R: Runtime>(PendingPublish<R>);

impl<R: Runtime> Future for PublishOutcome<R> {
    type Output = Result<Published, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let pending = &mut self.0;
        let outcome = std::task::ready!(
            pending
                .shared
                .lock()
                .poll_publish(pending.id, Some(cx.waker()))
        );
        pending.done = true;
        Poll::Ready(match outcome {
            Some(outcome) => outcome.map_err(Error::from),
            None => Err(Error::Closed),
        })
    }
}

/// A stream of received messages: the default stream ([`Client::new`]), every message
/// ([`Client::messages`]), or those matching one subscription ([`Client::subscription`]).
///
/// A stream holds up to [`Options::stream_capacity`] messages. QoS 1 and 2 messages beyond it
/// wait unacknowledged until it is read, so the broker sends no more than its in-flight limit;
/// QoS 0 messages beyond it follow [`Options::overflow`]. The client keeps reading and its own
/// publishes complete either way. Drop streams you no longer read: their messages are then
/// acknowledged and dropped.
pub struct Messages<R: Runtime> {
    shared: Arc<Shared<R>>,
    id: StreamId,
}

impl<R: Runtime> Messages<R> {
    /// The next message; `None` once the stream has ended (the client stopped, or its
    /// subscription could not be restored: [`end`](Self::end) says).
    ///
    /// Cancel safety: cancel safe, no message is lost.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use mqtt_tokio::{Client, QoS};
    ///
    /// # async fn demo(client: Client) -> Result<(), mqtt_tokio::Error> {
    /// let mut commands = client.subscription("devices/17/cmd", QoS::AtLeastOnce).await?;
    /// loop {
    ///     tokio::select! {
    ///         Some(command) = commands.recv() => println!("command: {:?}", command.payload_str()),
    ///         _ = tokio::time::sleep(Duration::from_secs(60)) => println!("a quiet minute"),
    ///     }
    /// }
    /// # }
    /// ```
    pub async fn recv(&mut self) -> Option<Message> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next message if one is waiting.
    ///
    /// ```
    /// use mqtt_tokio::{Client, Options};
    ///
    /// let (_client, mut default, _connection) = Client::new(Options::new("127.0.0.1", 1883, "x"));
    /// // Handle what has arrived, without waiting for more.
    /// while let Some(message) = default.try_recv() {
    ///     println!("{}", message.topic);
    /// }
    /// assert!(default.try_recv().is_none());
    /// ```
    pub fn try_recv(&mut self) -> Option<Message> {
        match self.poll(None) {
            Poll::Ready(message) => message,
            Poll::Pending => None,
        }
    }

    /// Polls for the next message.
    ///
    /// ```
    /// use std::task::{Context, Waker};
    /// use mqtt_tokio::{Client, Options};
    ///
    /// let (_client, mut default, _connection) = Client::new(Options::new("127.0.0.1", 1883, "x"));
    /// let mut cx = Context::from_waker(Waker::noop());
    /// // Nothing yet: the waker is woken when a message comes.
    /// assert!(default.poll_recv(&mut cx).is_pending());
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        self.poll(Some(cx.waker()))
    }

    fn poll(&mut self, waker: Option<&std::task::Waker>) -> Poll<Option<Message>> {
        let now = self.shared.now();
        self.shared.lock().poll_message(now, self.id, waker)
    }

    /// Why the stream ended, once it has.
    ///
    /// ```no_run
    /// use mqtt_tokio::{Client, QoS, StreamEnd};
    ///
    /// # async fn demo(client: Client) -> Result<(), mqtt_tokio::Error> {
    /// let mut news = client.subscription("news/#", QoS::AtLeastOnce).await?;
    /// while let Some(item) = news.recv().await {
    ///     println!("{}", item.topic);
    /// }
    /// match news.end() {
    ///     Some(StreamEnd::Stopped) | None => {} // the client was shut down
    ///     Some(why) => eprintln!("news/# is gone: {why}"),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn end(&self) -> Option<StreamEnd> {
        self.shared.lock().stream_end(self.id).cloned()
    }
}

impl<R: Runtime> Drop for Messages<R> {
    fn drop(&mut self) {
        let now = self.shared.now();
        self.shared.lock().release_stream(now, self.id);
    }
}

impl<R: Runtime> futures_core::Stream for Messages<R> {
    type Item = Message;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        self.poll_recv(cx)
    }
}

impl<R: Runtime> std::fmt::Debug for Messages<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Messages").field(&self.id).finish()
    }
}

/// A stream of connection events ([`Client::events`]); it holds the latest 64, dropping the
/// oldest, and ends when the client stops.
pub struct Events<R: Runtime> {
    shared: Arc<Shared<R>>,
    id: EventsId,
}

impl<R: Runtime> Events<R> {
    /// The next event; `None` once the client has stopped.
    ///
    /// ```no_run
    /// use mqtt_tokio::{Client, ClientEvent};
    ///
    /// # async fn demo(client: Client) {
    /// let mut events = client.events();
    /// while let Some(event) = events.recv().await {
    ///     if let ClientEvent::MessagesDropped { count } = event {
    ///         eprintln!("a stream was full: {count} QoS 0 messages dropped");
    ///     }
    /// }
    /// # }
    /// ```
    pub async fn recv(&mut self) -> Option<ClientEvent> {
        poll_fn(|cx| self.shared.lock().poll_event(self.id, Some(cx.waker()))).await
    }
}

impl<R: Runtime> Drop for Events<R> {
    fn drop(&mut self) {
        self.shared.lock().close_events(self.id);
    }
}

impl<R: Runtime> futures_core::Stream for Events<R> {
    type Item = ClientEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ClientEvent>> {
        self.shared.lock().poll_event(self.id, Some(cx.waker()))
    }
}

impl<R: Runtime> std::fmt::Debug for Events<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Events").field(&self.id).finish()
    }
}
