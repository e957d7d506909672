//! The [`Client`] handle and what it hands out: message and event streams, pending publishes.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::{Future, IntoFuture, poll_fn};
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use bytes::Bytes;
use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::blocking_mutex::raw::{CriticalSectionRawMutex, RawMutex};
use mqtt_client::{
    ClientEvent, Core, EventsId, Failure, Hook, Interest, Message, Settings, StreamEnd, StreamId,
    packets,
};
use mqtt_proto::{
    ByteString, Disconnect, Publish, QoS, ReasonCode, SubscribeProperties, Subscription,
    TopicFilter, UnsubscribeProperties, Will,
};
use mqtt_session::{
    Command, Config, Instant, PublishId, Published, Received, RequestId, Subscribed, Unsubscribed,
};

use crate::connect::Connect;
use crate::connection::Connection;
use crate::error::Error;

/// Now, on the core's clock: embassy-time's milliseconds since boot.
pub(crate) fn now() -> Instant {
    Instant::from_millis(embassy_time::Instant::now().as_millis())
}

/// What the handles and the connection task share: the client core behind a blocking mutex.
/// Nothing holds the lock across an `await`, and the core never waits, so each hold is short.
pub(crate) struct Shared<M: RawMutex + 'static> {
    core: Mutex<M, RefCell<Core<Client<M>>>>,
}

impl<M: RawMutex + 'static> Shared<M> {
    /// Runs `f` on the core at the current time.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut Core<Client<M>>, Instant) -> T) -> T {
        let now = now();
        self.core.lock(|core| f(&mut core.borrow_mut(), now))
    }
}

/// The application's hold on the client: when the last [`Client`] clone goes, the client
/// disconnects in order.
pub(crate) struct Handle<M: RawMutex + 'static> {
    pub(crate) shared: Arc<Shared<M>>,
}

impl<M: RawMutex + 'static> Drop for Handle<M> {
    fn drop(&mut self) {
        self.shared.with(|core, now| core.handles_dropped(now));
    }
}

/// A handle to an MQTT client, for any task: cheap to clone.
///
/// The client's state (the session, who waits for what, the message streams) lives in a core
/// that every clone and the [`Connection`] task share behind an embassy-sync blocking mutex of
/// kind `M`: [`CriticalSectionRawMutex`] by default, which works from any task, executor or
/// core; `ThreadModeRawMutex` or `NoopRawMutex` keep interrupts enabled when every user runs in
/// thread mode or on one executor ([`Client::with_mutex`]). A command holds the lock for a
/// moment and wakes the connection task; nothing waits for the network except the futures
/// that say so. Publishes made while the broker is away wait in the session's queue and go out
/// on the next connection. Dropping the last clone disconnects in order, as
/// [`disconnect`](Self::disconnect) does.
pub struct Client<M: RawMutex + 'static = CriticalSectionRawMutex> {
    pub(crate) handle: Arc<Handle<M>>,
}

impl<M: RawMutex + 'static> Clone for Client<M> {
    fn clone(&self) -> Self {
        Client {
            handle: self.handle.clone(),
        }
    }
}

impl Client {
    /// A client for `config` and `settings`, the default message stream, and the connection
    /// task, which opens sockets with `connector` and connects once it runs
    /// ([`Connection::run`]). `seed` seeds the jitter of the reconnection backoff: draw it
    /// from the chip's random number generator.
    ///
    /// The default stream has every message that no other stream or callback takes, from the
    /// first connection on: a message that arrives before the application asked for anything
    /// waits there instead of being lost. Drop it if you don't read it: a full stream holds
    /// back acknowledgements (see [`Messages`]).
    ///
    /// On a microcontroller, make [`Settings::stream_capacity`] small (a few messages): each
    /// stream may hold that many messages on the heap.
    pub fn new<C: Connect>(
        config: Config,
        settings: Settings,
        seed: u64,
        connector: C,
    ) -> (Client, Messages, Connection<C>) {
        Client::with_mutex(config, settings, seed, connector)
    }
}

impl<M: RawMutex + 'static> Client<M> {
    /// [`Client::new`] with the mutex kind `M` around the shared state:
    /// `Client::<ThreadModeRawMutex>::with_mutex(..)`.
    pub fn with_mutex<C: Connect>(
        config: Config,
        settings: Settings,
        seed: u64,
        connector: C,
    ) -> (Client<M>, Messages<M>, Connection<C, M>) {
        // The session's own memory carries its state across reconnections; a store would only
        // keep a second copy of every publish in flight, which no reboot would keep anyway.
        let store = alloc::boxed::Box::new(mqtt_session::NoStore);
        let mut core = Core::with_store(config, settings, seed, store);
        core.retain_stream(StreamId::DEFAULT);
        let shared = Arc::new(Shared {
            core: Mutex::new(RefCell::new(core)),
        });
        let handle = Arc::new(Handle {
            shared: shared.clone(),
        });
        let connection = Connection::new(shared.clone(), Arc::downgrade(&handle), connector);
        let messages = Messages {
            shared,
            id: StreamId::DEFAULT,
        };
        (Client { handle }, messages, connection)
    }

    fn shared(&self) -> &Arc<Shared<M>> {
        &self.handle.shared
    }

    fn with<T>(&self, f: impl FnOnce(&mut Core<Client<M>>, Instant) -> T) -> T {
        self.shared().with(f)
    }

    // ---- the connection ------------------------------------------------------------------

    /// Waits until the broker has accepted a connection: at once when it has.
    ///
    /// It looks at the connection as it is when polled: one that was accepted and lost before
    /// then is not seen, and it waits for the next. To see every connection, watch
    /// [`events`](Self::events) opened before the connection task starts.
    ///
    /// Cancel safety: cancel safe.
    ///
    /// # Errors
    ///
    /// Why the client stopped, when it stops first: the first connection failed and
    /// [`Settings::retry_first_connect`] is off, reconnection is off, or it was asked to
    /// disconnect ([`Error::Closed`]).
    pub async fn connected(&self) -> Result<(), Error> {
        let mut watch = Watch {
            shared: self.shared(),
            events: None,
            connect_error: None,
        };
        poll_fn(|cx| watch.poll_connected(cx.waker())).await
    }

    /// Whether the broker has accepted the current connection.
    pub fn is_connected(&self) -> bool {
        self.with(|core, _| core.is_connected())
    }

    /// QoS 1 and 2 publishes sent and not yet acknowledged.
    pub fn publishes_in_flight(&self) -> usize {
        self.with(|core, _| core.publishes_in_flight())
    }

    /// Publishes accepted and waiting to be sent (beyond the in-flight window, or offline).
    pub fn publishes_queued(&self) -> usize {
        self.with(|core, _| core.publishes_queued())
    }

    /// Reconnects now: the seed's `reconnect()`. When connected, the current connection is
    /// dropped without DISCONNECT; unacknowledged messages are resent on the new one.
    pub fn reconnect(&self) {
        self.with(|core, now| core.reconnect(now));
    }

    /// The seed's `set_username_pw`: the credentials of the next CONNECT.
    pub fn set_username_pw(&self, username: &str, password: Option<&str>) {
        let password = password.map(|p| Bytes::copy_from_slice(p.as_bytes()));
        self.set_credentials(Some(username.into()), password);
    }

    /// The credentials of the next CONNECT, binary password included.
    pub fn set_credentials(&self, username: Option<ByteString>, password: Option<Bytes>) {
        self.with(|core, _| core.set_credentials(username, password));
    }

    /// The seed's `set_will`: the will of the next CONNECT.
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
    pub fn set_will_packet(&self, will: Option<Will>) {
        self.with(|core, _| core.set_will(will));
    }

    /// A stream of connection events from now on: connected (with the CONNACK), disconnected
    /// (with the reason), reconnecting (attempt and delay), resubscribed, messages dropped.
    /// It holds [`Settings::event_capacity`] events, dropping the oldest.
    pub fn events(&self) -> Events<M> {
        let id = self.with(|core, _| core.open_events());
        Events {
            shared: self.shared().clone(),
            id,
        }
    }

    /// Waits (up to [`Settings::disconnect_timeout`]) for queued and in-flight publishes to
    /// complete, sends DISCONNECT, writes everything queued, closes the socket, and ends the
    /// connection task.
    ///
    /// Cancel safety: dropping the future does not stop the disconnect, which goes on.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] when the client had stopped already; why it stopped when that was
    /// not this disconnect.
    pub async fn disconnect(&self) -> Result<(), Error> {
        self.disconnect_with(Disconnect::default()).await
    }

    /// [`disconnect`](Self::disconnect) with an MQTT 5.0 reason code and properties (0x04 to
    /// have the will published, say).
    ///
    /// # Errors
    ///
    /// As [`disconnect`](Self::disconnect), and [`Error::Usage`] for a DISCONNECT the session
    /// refuses.
    pub async fn disconnect_with(&self, disconnect: Disconnect) -> Result<(), Error> {
        self.with(|core, now| core.disconnect(now, disconnect))?;
        let shared = self.shared();
        match poll_fn(|cx| shared.with(|core, _| core.poll_stopped(Some(cx.waker())))).await {
            Ok(()) => Ok(()),
            Err(end) => Err(Error::from_end(end)),
        }
    }

    // ---- publishing ----------------------------------------------------------------------

    /// Publishes a message and waits until it is complete: written to the socket at QoS 0,
    /// acknowledged by PUBACK at QoS 1 and by PUBCOMP at QoS 2. While the broker is away it
    /// waits in the session's queue, and a message sent but not acknowledged when a
    /// connection is lost is sent again on the next one.
    ///
    /// Cancel safety: dropping the future before the message was accepted publishes nothing;
    /// dropping it later does not stop the publish, which is never sent twice either way.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTopic`], [`Error::Usage`] (QoS or retain not supported, too large),
    /// [`Error::PublishFailed`], and why the client stopped.
    pub async fn publish(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
        retain: bool,
    ) -> Result<Published, Error> {
        self.start_publish(topic, payload, qos, retain).await?.await
    }

    /// Publishes a [`Publish`] built by the caller, with MQTT 5.0 properties, and waits until
    /// it is complete, as [`publish`](Self::publish).
    ///
    /// # Errors
    ///
    /// As [`publish`](Self::publish).
    pub async fn publish_packet(&self, publish: Publish) -> Result<Published, Error> {
        self.start_publish_packet(publish).await?.await
    }

    /// Hands a message to the client and returns at once with its [`PendingPublish`]: await it
    /// for the outcome, or drop it. [`PendingPublish::id`] is the seed's `mid`, which the
    /// acknowledgement callbacks carry. Waits only while the client has more unwritten bytes
    /// than it should buffer or its queue ([`Config::max_queued`]) is full, so many publishes
    /// can be in flight at once with bounded memory.
    ///
    /// Cancel safety: as [`publish`](Self::publish).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTopic`], [`Error::Usage`], and why the client stopped.
    pub async fn start_publish(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
        retain: bool,
    ) -> Result<PendingPublish<M>, Error> {
        let publish = packets::publish(topic, payload, qos, retain)?;
        self.start_publish_packet(publish).await
    }

    /// [`start_publish`](Self::start_publish) for a [`Publish`] built by the caller.
    ///
    /// # Errors
    ///
    /// As [`start_publish`](Self::start_publish).
    pub async fn start_publish_packet(&self, publish: Publish) -> Result<PendingPublish<M>, Error> {
        let shared = self.shared();
        let mut publish = Some(publish);
        let id = poll_fn(|cx| {
            shared.with(|core, now| {
                core.poll_publish_with_room(now, &mut publish, Interest::Outcome, Some(cx.waker()))
            })
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
    /// # Errors
    ///
    /// [`Error::InvalidTopic`], [`Error::Usage`]
    /// ([`QueueFull`](mqtt_session::UsageError::QueueFull) when the session's queue is full),
    /// and [`Error::Closed`].
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
    /// # Errors
    ///
    /// [`Error::InvalidTopic`], [`Error::Usage`], [`Error::RequestFailed`], and why the client
    /// stopped.
    pub async fn subscribe(&self, filters: &[(&str, QoS)]) -> Result<Vec<ReasonCode>, Error> {
        let subscriptions = packets::subscriptions(filters)?;
        let subscribed = self
            .subscribe_with(subscriptions, SubscribeProperties::default())
            .await?;
        Ok(subscribed.reason_codes)
    }

    /// Subscribes with full MQTT 5.0 options and properties.
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

    /// Subscribes to `filter` and returns a stream of the messages that match it. The stream
    /// is registered before the SUBSCRIBE goes out, so retained messages are not missed. When
    /// the broker loses the session the client subscribes again; if it can't, the stream ends
    /// and [`Messages::end`] says why.
    ///
    /// # Errors
    ///
    /// As [`subscribe`](Self::subscribe); a filter the broker refuses is
    /// [`Error::RequestFailed`] with its reason code.
    pub async fn subscription(&self, filter: &str, qos: QoS) -> Result<Messages<M>, Error> {
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

    /// A stream of every message the client receives from now on.
    pub fn messages(&self) -> Messages<M> {
        self.stream(None)
    }

    fn stream(&self, filter: Option<TopicFilter>) -> Messages<M> {
        let id = self.with(|core, _| core.open_stream(filter));
        Messages {
            shared: self.shared().clone(),
            id,
        }
    }

    /// Unsubscribes from topic filters; returns the MQTT 5.0 reason codes (none in 3.1.1).
    ///
    /// # Errors
    ///
    /// As [`subscribe`](Self::subscribe).
    pub async fn unsubscribe(&self, filters: &[&str]) -> Result<Vec<ReasonCode>, Error> {
        let filters = packets::filters(filters)?;
        let unsubscribed = self
            .unsubscribe_with(filters, UnsubscribeProperties::default())
            .await?;
        Ok(unsubscribed.reason_codes)
    }

    /// Unsubscribes with MQTT 5.0 properties.
    ///
    /// # Errors
    ///
    /// As [`subscribe`](Self::subscribe).
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

    /// Acknowledges a message in manual acknowledgement mode
    /// ([`AckMode::Manual`](mqtt_session::AckMode::Manual)); acknowledgements reach the broker
    /// in the order the messages arrived. Does nothing for a message that carries no token.
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

    // ---- the seed's callbacks ------------------------------------------------------------

    /// The seed's `on(command, function)`: the generic callback for `command`, replacing the
    /// previous one. It runs on the connection task, with a client, when no conditional
    /// callback's condition holds. For PUBLISH, `data.message` holds the message; for PUBACK,
    /// PUBREC and PUBCOMP, `data.mid` is the id [`start_publish`](Self::start_publish) or
    /// [`try_publish`](Self::try_publish) returned. A message is acknowledged once its
    /// callback returned; one no callback takes goes to the default stream.
    ///
    /// Callbacks run on the connection task: keep them short, and use
    /// [`try_publish`](Self::try_publish) rather than awaiting from them.
    pub fn on(
        &self,
        command: Command,
        callback: impl FnMut(&Client<M>, &Received) + Send + 'static,
    ) {
        self.with(|core, _| core.on(command, alloc::boxed::Box::new(callback)));
    }

    /// The seed's `on(command, function, condition, priority)`: of the callbacks whose
    /// condition holds, only the one with the highest priority runs.
    ///
    /// ```no_run
    /// # async fn demo(client: mqtt_embassy::Client) -> Result<(), mqtt_embassy::Error> {
    /// use mqtt_embassy::{Command, QoS};
    ///
    /// let pending = client.start_publish("a/b", "x", QoS::AtLeastOnce, false).await?;
    /// let mid = pending.id();
    /// client.on_if(Command::PubAck, |_client, _data| { /* that one is acknowledged */ },
    ///     move |data| data.mid == Some(mid), 10);
    /// # Ok(()) }
    /// ```
    pub fn on_if(
        &self,
        command: Command,
        callback: impl FnMut(&Client<M>, &Received) + Send + 'static,
        condition: impl Fn(&Received) -> bool + Send + 'static,
        priority: i32,
    ) {
        self.with(|core, _| {
            core.on_if(
                command,
                alloc::boxed::Box::new(callback),
                alloc::boxed::Box::new(condition),
                priority,
            );
        });
    }

    /// The seed's `aconnect_cb`: runs on the connection task after each accepted connection.
    pub fn set_after_connect(&self, hook: Option<Hook<Client<M>>>) {
        self.with(|core, _| core.set_after_connect(hook));
    }

    /// The seed's `breconnect_cb`: runs on the connection task before each reconnection.
    pub fn set_before_reconnect(&self, hook: Option<Hook<Client<M>>>) {
        self.with(|core, _| core.set_before_reconnect(hook));
    }
}

impl<M: RawMutex + 'static> core::fmt::Debug for Client<M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.with(|core, _| f.debug_struct("Client").field("core", &*core).finish())
    }
}

/// Waits for a connection; its event subscription ends with it.
struct Watch<'a, M: RawMutex + 'static> {
    shared: &'a Shared<M>,
    events: Option<EventsId>,
    connect_error: Option<alloc::string::String>,
}

impl<M: RawMutex + 'static> Watch<'_, M> {
    fn poll_connected(&mut self, waker: &Waker) -> Poll<Result<(), Error>> {
        self.shared.with(|core, _| {
            let events = *self.events.get_or_insert_with(|| core.open_events());
            // Events wake this task; the state is read from the core, and the connector's
            // last error from the events, for a first connection that failed.
            while let Poll::Ready(Some(event)) = core.poll_event(events, Some(waker)) {
                if let ClientEvent::ConnectFailed { error } = event {
                    self.connect_error = Some(error);
                }
            }
            if core.is_connected() {
                return Poll::Ready(Ok(()));
            }
            match core.poll_stopped(Some(waker)) {
                Poll::Ready(Ok(())) => Poll::Ready(Err(Error::Closed)),
                Poll::Ready(Err(mqtt_client::End::ConnectFailed))
                    if self.connect_error.is_some() =>
                {
                    Poll::Ready(Err(Error::Connect(
                        self.connect_error.take().unwrap_or_default(),
                    )))
                }
                Poll::Ready(Err(end)) => Poll::Ready(Err(Error::from_end(end))),
                Poll::Pending => Poll::Pending,
            }
        })
    }
}

impl<M: RawMutex + 'static> Drop for Watch<'_, M> {
    fn drop(&mut self) {
        if let Some(events) = self.events {
            self.shared.with(|core, _| core.close_events(events));
        }
    }
}

/// A subscribe or unsubscribe being waited for; forgotten if the future is dropped.
struct Request<'a, M: RawMutex + 'static> {
    shared: &'a Shared<M>,
    id: RequestId,
    done: bool,
}

type PollRequest<M, T> =
    fn(&mut Core<Client<M>>, RequestId, Option<&Waker>) -> Poll<Option<Result<T, Failure>>>;

impl<'a, M: RawMutex + 'static> Request<'a, M> {
    fn new(shared: &'a Shared<M>, id: RequestId) -> Self {
        Request {
            shared,
            id,
            done: false,
        }
    }

    fn poll<T>(&mut self, cx: &mut Context<'_>, poll: PollRequest<M, T>) -> Poll<Result<T, Error>> {
        let id = self.id;
        let outcome =
            core::task::ready!(self.shared.with(|core, _| poll(core, id, Some(cx.waker()))));
        self.done = true;
        Poll::Ready(match outcome {
            Some(Ok(answer)) => Ok(answer),
            Some(Err(failure)) => Err(Error::request(failure)),
            None => Err(Error::Closed),
        })
    }
}

impl<M: RawMutex + 'static> Drop for Request<'_, M> {
    fn drop(&mut self) {
        if !self.done {
            let id = self.id;
            self.shared.with(|core, _| core.forget_request(id));
        }
    }
}

/// A publish on its way; await it for the outcome, or drop it.
#[must_use = "await it for the outcome, or drop it to ignore the outcome"]
pub struct PendingPublish<M: RawMutex + 'static = CriticalSectionRawMutex> {
    shared: Arc<Shared<M>>,
    id: PublishId,
    done: bool,
}

impl<M: RawMutex + 'static> PendingPublish<M> {
    /// The publish's id: the seed's `mid`, as [`Received::mid`] names it in the
    /// acknowledgement callbacks.
    pub fn id(&self) -> PublishId {
        self.id
    }
}

impl<M: RawMutex + 'static> IntoFuture for PendingPublish<M> {
    type Output = Result<Published, Error>;
    type IntoFuture = PublishOutcome<M>;

    fn into_future(self) -> PublishOutcome<M> {
        PublishOutcome(self)
    }
}

impl<M: RawMutex + 'static> Drop for PendingPublish<M> {
    fn drop(&mut self) {
        if !self.done {
            let id = self.id;
            self.shared.with(|core, _| core.forget_publish(id));
        }
    }
}

impl<M: RawMutex + 'static> core::fmt::Debug for PendingPublish<M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("PendingPublish").field(&self.id).finish()
    }
}

/// The future of a [`PendingPublish`]: resolves at PUBACK (QoS 1), PUBCOMP (QoS 2), or once
/// written (QoS 0).
///
/// Cancel safety: dropping it does not stop the publish.
#[derive(Debug)]
pub struct PublishOutcome<M: RawMutex + 'static = CriticalSectionRawMutex>(PendingPublish<M>);

impl<M: RawMutex + 'static> Future for PublishOutcome<M> {
    type Output = Result<Published, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let pending = &mut self.0;
        let id = pending.id;
        let outcome = core::task::ready!(
            pending
                .shared
                .with(|core, _| core.poll_publish(id, Some(cx.waker())))
        );
        pending.done = true;
        Poll::Ready(match outcome {
            Some(outcome) => outcome.map_err(Error::from),
            None => Err(Error::Closed),
        })
    }
}

/// A stream of received messages, read from any task: the default stream ([`Client::new`]),
/// every message ([`Client::messages`]), or those matching one subscription
/// ([`Client::subscription`]).
///
/// It is the client's delivery channel: a bounded queue of
/// [`Settings::stream_capacity`] messages. A QoS 1 or 2 message is acknowledged to the broker
/// once it is in the queue within that capacity; beyond it, messages wait unacknowledged until
/// the application reads, so the broker sends no more than its in-flight limit. QoS 0 messages
/// beyond it follow [`Settings::overflow`]. The client keeps reading and its own publishes
/// complete either way. Drop streams you no longer read: their messages are then acknowledged
/// and dropped. [`forward`](Self::forward) moves the messages into an embassy-sync
/// [`Channel`](embassy_sync::channel::Channel) for applications that select over channels.
pub struct Messages<M: RawMutex + 'static = CriticalSectionRawMutex> {
    shared: Arc<Shared<M>>,
    id: StreamId,
}

impl<M: RawMutex + 'static> Messages<M> {
    /// The next message; `None` once the stream has ended (the client stopped, or its
    /// subscription could not be restored: [`end`](Self::end) says).
    ///
    /// Cancel safety: cancel safe, no message is lost.
    pub async fn recv(&mut self) -> Option<Message> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next message if one is waiting.
    pub fn try_recv(&mut self) -> Option<Message> {
        match self.poll(None) {
            Poll::Ready(message) => message,
            Poll::Pending => None,
        }
    }

    /// Polls for the next message.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        self.poll(Some(cx.waker()))
    }

    fn poll(&mut self, waker: Option<&Waker>) -> Poll<Option<Message>> {
        let id = self.id;
        self.shared
            .with(|core, now| core.poll_message(now, id, waker))
    }

    /// How many messages wait in the stream.
    pub fn len(&self) -> usize {
        let id = self.id;
        self.shared.with(|core, _| core.stream_len(id))
    }

    /// Whether no message waits in the stream.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Why the stream ended, once it has.
    pub fn end(&self) -> Option<StreamEnd> {
        let id = self.id;
        self.shared.with(|core, _| core.stream_end(id).cloned())
    }

    /// Moves every message into `channel` until the stream ends. A message is taken from the
    /// stream (and so acknowledged) only once the channel has room for it, so a full channel
    /// holds back acknowledgements as a full stream does.
    ///
    /// Cancel safety: cancel safe; a message taken is always sent.
    pub async fn forward<CM: RawMutex, const N: usize>(
        &mut self,
        channel: &embassy_sync::channel::Channel<CM, Message, N>,
    ) {
        loop {
            poll_fn(|cx| channel.poll_ready_to_send(cx)).await;
            let Some(message) = self.recv().await else {
                return;
            };
            if let Err(embassy_sync::channel::TrySendError::Full(message)) =
                channel.try_send(message)
            {
                // Another sender filled it meanwhile; this message is in hand already.
                channel.send(message).await;
            }
        }
    }
}

impl<M: RawMutex + 'static> Drop for Messages<M> {
    fn drop(&mut self) {
        let id = self.id;
        self.shared.with(|core, now| core.release_stream(now, id));
    }
}

impl<M: RawMutex + 'static> core::fmt::Debug for Messages<M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("Messages").field(&self.id).finish()
    }
}

/// A stream of connection events ([`Client::events`]); it ends when the client stops.
pub struct Events<M: RawMutex + 'static = CriticalSectionRawMutex> {
    shared: Arc<Shared<M>>,
    id: EventsId,
}

impl<M: RawMutex + 'static> Events<M> {
    /// The next event; `None` once the client has stopped and none are left.
    ///
    /// Cancel safety: cancel safe.
    pub async fn recv(&mut self) -> Option<ClientEvent> {
        let (shared, id) = (&self.shared, self.id);
        poll_fn(|cx| shared.with(|core, _| core.poll_event(id, Some(cx.waker())))).await
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Option<ClientEvent> {
        let id = self.id;
        match self.shared.with(|core, _| core.poll_event(id, None)) {
            Poll::Ready(event) => event,
            Poll::Pending => None,
        }
    }
}

impl<M: RawMutex + 'static> Drop for Events<M> {
    fn drop(&mut self) {
        let id = self.id;
        self.shared.with(|core, _| core.close_events(id));
    }
}

impl<M: RawMutex + 'static> core::fmt::Debug for Events<M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("Events").field(&self.id).finish()
    }
}
