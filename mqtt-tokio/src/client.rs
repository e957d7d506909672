//! The [`Client`] handle and what it hands out.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use mqtt_proto::{
    Auth, ByteString, Disconnect, Publish, PublishProperties, QoS, ReasonCode, SubscribeProperties,
    Subscription, TopicFilter, TopicName, UnsubscribeProperties, Will,
};
use mqtt_session::{AckToken, Command as PacketCommand, Published, Received};
use tokio::sync::{mpsc, oneshot};

use crate::connection::Connection;
use crate::error::Error;
use crate::options::Options;

/// A reply from the connection task.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, Error>>;

/// What a [`Client`] asks the connection task to do.
pub(crate) enum Command {
    /// `done` gets the outcome, or the session's refusal; `None` for fire and forget. Boxed,
    /// because a channel reserves room for 32 commands at a time: an idle client's channel
    /// stays small.
    Publish {
        publish: Box<Publish>,
        done: Option<Reply<Published>>,
    },
    Subscribe {
        subscriptions: Vec<Subscription>,
        properties: SubscribeProperties,
        reply: Reply<mqtt_session::Subscribed>,
    },
    Unsubscribe {
        filters: Vec<TopicFilter>,
        properties: UnsubscribeProperties,
        reply: Reply<mqtt_session::Unsubscribed>,
    },
    Ack {
        token: AckToken,
        reason_code: ReasonCode,
        reply: Reply<()>,
    },
    Auth {
        auth: Box<Auth>,
        reply: Reply<()>,
    },
    Route {
        filter: Option<TopicFilter>,
        sender: mpsc::Sender<Message>,
    },
    On {
        command: PacketCommand,
        callback: mqtt_session::Callback<Client>,
        condition: Option<(mqtt_session::Condition, i32)>,
    },
    SetCredentials {
        username: Option<ByteString>,
        password: Option<Bytes>,
    },
    SetWill(Option<Box<Will>>),
    Reconnect,
    Disconnect {
        disconnect: Box<Disconnect>,
        reply: Reply<()>,
    },
}

/// A handle to an MQTT connection: cheap to clone, `Send` and `Sync`.
///
/// Every method sends a command to the connection task that [`Client::connect`] returned (or
/// that [`Client::spawn`] started). The task owns the session, so a client keeps working across
/// reconnections: publishes made while the broker is away wait in the session's queue.
///
/// ```no_run
/// use mqtt_tokio::{Client, Options, QoS};
///
/// # async fn demo() -> Result<(), mqtt_tokio::Error> {
/// let client = Client::spawn(Options::from_url("mqtt://127.0.0.1", "demo")?).await?;
/// let mut temperatures = client.subscription("sensors/+/temp", QoS::AtLeastOnce).await?;
/// client.publish("sensors/1/temp", "21.5", QoS::AtLeastOnce, false).await?;
/// if let Some(message) = temperatures.recv().await {
///     println!("{}: {}", message.topic, message.payload_str().unwrap_or("?"));
/// }
/// client.disconnect().await
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    pub(crate) commands: mpsc::Sender<Command>,
    stream_capacity: usize,
}

impl Client {
    pub(crate) fn from_parts(commands: mpsc::Sender<Command>, stream_capacity: usize) -> Client {
        Client {
            commands,
            stream_capacity,
        }
    }

    /// Connects to the broker and returns the client with its connection task, which must be
    /// driven (`tokio::spawn(connection.run())`) for the client to make progress.
    ///
    /// Returns once the broker has accepted the connection.
    ///
    /// # Errors
    ///
    /// [`Error::Refused`] with the broker's reason code (bad credentials, ...), and transport
    /// errors ([`Error::Io`], [`Error::Tls`], [`Error::ConnectTimeout`], ...). Automatic
    /// reconnection applies only once a first connection has succeeded.
    pub async fn connect(options: Options) -> Result<(Client, Connection), Error> {
        let (commands, receiver) = mpsc::channel(options.command_capacity.max(1));
        let client = Client {
            commands,
            stream_capacity: options.stream_capacity.max(1),
        };
        let mut connection = Connection::new(options, client.clone(), receiver);
        connection.connect_first().await?;
        Ok((client, connection))
    }

    /// [`connect`](Self::connect), then runs the connection task on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub async fn spawn(options: Options) -> Result<Client, Error> {
        let (client, connection) = Client::connect(options).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.run().await {
                tracing::warn!(error = %e, "MQTT connection task ended");
            }
        });
        Ok(client)
    }

    async fn send(&self, command: Command) -> Result<(), Error> {
        self.commands.send(command).await.map_err(|_| Error::Closed)
    }

    async fn request<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, Error> {
        let (reply, response) = oneshot::channel();
        self.send(make(reply)).await?;
        response.await.map_err(|_| Error::Closed)?
    }

    /// Publishes a message and waits until it is complete: written to the socket at QoS 0,
    /// acknowledged by PUBACK at QoS 1 and by PUBCOMP at QoS 2.
    ///
    /// Cancel safety: dropping the future before the connection task has taken the command
    /// publishes nothing; dropping it later does not stop the publish, which is never sent
    /// twice either way.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTopic`], [`Error::Usage`] (queue full, QoS or retain not supported,
    /// too large), [`Error::PublishFailed`] (refused with an MQTT 5.0 reason code, expired),
    /// and [`Error::Closed`].
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
    /// # Errors
    ///
    /// As [`publish`](Self::publish).
    pub async fn publish_packet(&self, publish: Publish) -> Result<Published, Error> {
        self.start_publish_packet(publish).await?.await
    }

    /// Hands a message to the connection task and returns at once with a handle; await the
    /// [`PendingPublish`] for the outcome (whose [`Published::id`] is the seed API's `mid`), or
    /// drop it. Waits only while the command channel is full, so a burst of publishes streams
    /// out without a round trip per message.
    ///
    /// Cancel safety: as [`publish`](Self::publish).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTopic`] and [`Error::Closed`] here; the session's refusals
    /// ([`Error::Usage`]: queue full, QoS not supported, ...) come from awaiting the handle.
    pub async fn start_publish(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
        retain: bool,
    ) -> Result<PendingPublish, Error> {
        let mut publish = Publish::new(TopicName::new(topic)?, payload);
        publish.qos = qos;
        publish.retain = retain;
        self.start_publish_packet(publish).await
    }

    /// [`start_publish`](Self::start_publish) for a [`Publish`] built by the caller.
    ///
    /// # Errors
    ///
    /// As [`start_publish`](Self::start_publish).
    pub async fn start_publish_packet(&self, publish: Publish) -> Result<PendingPublish, Error> {
        let (done, outcome) = oneshot::channel();
        self.send(Command::Publish {
            publish: Box::new(publish),
            done: Some(done),
        })
        .await?;
        Ok(PendingPublish { outcome })
    }

    /// Publishes without waiting, from synchronous code such as a callback: the message is
    /// queued for the connection task, whose outcome is not reported.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTopic`], [`Error::Usage`] with [`QueueFull`](mqtt_session::UsageError::QueueFull)
    /// when the command channel is full, and [`Error::Closed`].
    pub fn try_publish(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
        retain: bool,
    ) -> Result<(), Error> {
        let mut publish = Publish::new(TopicName::new(topic)?, payload);
        publish.qos = qos;
        publish.retain = retain;
        self.try_send(Command::Publish {
            publish: Box::new(publish),
            done: None,
        })
    }

    /// Subscribes to `(filter, maximum QoS)` pairs and returns the broker's answer per filter:
    /// the granted QoS, or a failure reason code (0x80 and up).
    ///
    /// Cancel safety: dropping the future may leave the subscription made.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTopic`], [`Error::Usage`], [`Error::RequestFailed`], [`Error::Closed`].
    pub async fn subscribe(&self, filters: &[(&str, QoS)]) -> Result<Vec<ReasonCode>, Error> {
        let subscriptions = filters
            .iter()
            .map(|(f, qos)| Ok(Subscription::new(TopicFilter::new(*f)?, *qos)))
            .collect::<Result<Vec<_>, Error>>()?;
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
    ) -> Result<mqtt_session::Subscribed, Error> {
        self.request(|reply| Command::Subscribe {
            subscriptions,
            properties,
            reply,
        })
        .await
    }

    /// Subscribes to `filter` and returns a stream of the messages that match it. The stream is
    /// registered before the SUBSCRIBE goes out, so retained messages are not missed.
    ///
    /// # Errors
    ///
    /// As [`subscribe`](Self::subscribe); a filter the broker refuses is
    /// [`Error::RequestFailed`] with its reason code.
    pub async fn subscription(&self, filter: &str, qos: QoS) -> Result<Messages, Error> {
        let filter = TopicFilter::new(filter)?;
        let messages = self.route(Some(filter.clone())).await?;
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
    ///
    /// # Errors
    ///
    /// [`Error::Closed`].
    pub async fn messages(&self) -> Result<Messages, Error> {
        self.route(None).await
    }

    async fn route(&self, filter: Option<TopicFilter>) -> Result<Messages, Error> {
        let (sender, receiver) = mpsc::channel(self.stream_capacity);
        self.send(Command::Route { filter, sender }).await?;
        Ok(Messages { receiver })
    }

    /// Unsubscribes from topic filters; returns the MQTT 5.0 reason codes (empty for 3.1.1).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTopic`], [`Error::Usage`], [`Error::RequestFailed`], [`Error::Closed`].
    pub async fn unsubscribe(&self, filters: &[&str]) -> Result<Vec<ReasonCode>, Error> {
        let filters = filters
            .iter()
            .map(|f| TopicFilter::new(*f))
            .collect::<Result<Vec<_>, _>>()?;
        let unsubscribed = self
            .request(|reply| Command::Unsubscribe {
                filters,
                properties: UnsubscribeProperties::default(),
                reply,
            })
            .await?;
        Ok(unsubscribed.reason_codes)
    }

    /// Acknowledges a message in manual acknowledgement mode
    /// ([`AckMode::Manual`](mqtt_session::AckMode::Manual)). Acknowledgements reach the broker
    /// in the order the messages arrived. Does nothing for a message that carries no token.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] when the message no longer awaits acknowledgement, [`Error::Closed`].
    pub async fn ack(&self, message: &mut Message, reason_code: ReasonCode) -> Result<(), Error> {
        match message.ack.take() {
            Some(token) => {
                self.request(|reply| Command::Ack {
                    token,
                    reason_code,
                    reply,
                })
                .await
            }
            None => Ok(()),
        }
    }

    /// Sends an AUTH packet (MQTT 5.0 enhanced authentication or re-authentication).
    ///
    /// # Errors
    ///
    /// [`Error::Usage`], [`Error::Closed`].
    pub async fn auth(&self, auth: Auth) -> Result<(), Error> {
        self.request(|reply| Command::Auth {
            auth: Box::new(auth),
            reply,
        })
        .await
    }

    /// Registers the generic callback for `command` (the seed's `on(command, function)`): it
    /// runs on the connection task, with this client, when no conditional callback matches.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`].
    pub async fn on(
        &self,
        command: PacketCommand,
        callback: impl FnMut(&Client, &Received) + Send + 'static,
    ) -> Result<(), Error> {
        self.send(Command::On {
            command,
            callback: Box::new(callback),
            condition: None,
        })
        .await
    }

    /// Registers a conditional callback (the seed's `on(command, function, condition,
    /// priority)`): of the callbacks whose condition holds, only the one with the highest
    /// priority runs.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`].
    pub async fn on_if(
        &self,
        command: PacketCommand,
        callback: impl FnMut(&Client, &Received) + Send + 'static,
        condition: impl Fn(&Received) -> bool + Send + 'static,
        priority: i32,
    ) -> Result<(), Error> {
        self.send(Command::On {
            command,
            callback: Box::new(callback),
            condition: Some((Box::new(condition), priority)),
        })
        .await
    }

    /// Replaces the credentials for the next connection; non-blocking, for use in a
    /// [`before_reconnect`](crate::Options::before_reconnect) hook.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`], or [`Error::Usage`] when the command channel is full.
    pub fn set_credentials(
        &self,
        username: Option<ByteString>,
        password: Option<Bytes>,
    ) -> Result<(), Error> {
        self.try_send(Command::SetCredentials { username, password })
    }

    /// Replaces the will for the next connection; non-blocking.
    ///
    /// # Errors
    ///
    /// As [`set_credentials`](Self::set_credentials).
    pub fn set_will(&self, will: Option<Will>) -> Result<(), Error> {
        self.try_send(Command::SetWill(will.map(Box::new)))
    }

    fn try_send(&self, command: Command) -> Result<(), Error> {
        self.commands.try_send(command).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => Error::Usage(mqtt_session::UsageError::QueueFull),
            mpsc::error::TrySendError::Closed(_) => Error::Closed,
        })
    }

    /// Reconnects now: the seed's `reconnect()`. When connected, the current connection is
    /// closed first; unacknowledged messages are resent on the new one.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`].
    pub async fn reconnect(&self) -> Result<(), Error> {
        self.send(Command::Reconnect).await
    }

    /// Waits (up to [`Options::disconnect_timeout`](crate::Options::disconnect_timeout)) for
    /// queued and in-flight publishes to complete, sends DISCONNECT, closes the connection and
    /// stops the connection task.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] when the task had stopped already.
    pub async fn disconnect(&self) -> Result<(), Error> {
        self.disconnect_with(Disconnect::default()).await
    }

    /// [`disconnect`](Self::disconnect) with an MQTT 5.0 reason code and properties (say, a
    /// new Session Expiry Interval, or 0x04 to have the will published).
    ///
    /// # Errors
    ///
    /// As [`disconnect`](Self::disconnect), and [`Error::Usage`] for a DISCONNECT the session
    /// refuses.
    pub async fn disconnect_with(&self, disconnect: Disconnect) -> Result<(), Error> {
        self.request(|reply| Command::Disconnect {
            disconnect: Box::new(disconnect),
            reply,
        })
        .await
    }
}

/// A publish on its way; await it for the outcome.
#[derive(Debug)]
#[must_use = "await it for the outcome, or drop it to ignore the outcome"]
pub struct PendingPublish {
    outcome: oneshot::Receiver<Result<Published, Error>>,
}

impl IntoFuture for PendingPublish {
    type Output = Result<Published, Error>;
    type IntoFuture = PublishOutcome;

    fn into_future(self) -> PublishOutcome {
        PublishOutcome(self.outcome)
    }
}

/// The future of a [`PendingPublish`].
#[derive(Debug)]
pub struct PublishOutcome(oneshot::Receiver<Result<Published, Error>>);

impl Future for PublishOutcome {
    type Output = Result<Published, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(Error::Closed)))
    }
}

/// A received application message: the seed's `MQTTMessage`.
#[derive(Debug)]
#[non_exhaustive]
pub struct Message {
    /// The topic it was published on.
    pub topic: TopicName,
    /// The payload.
    pub payload: Bytes,
    /// Its QoS.
    pub qos: QoS,
    /// Whether it is a retained message rather than a fresh one.
    pub retain: bool,
    /// Its packet identifier at QoS 1 and 2: the seed's `mid`.
    pub packet_id: Option<mqtt_proto::PacketId>,
    /// MQTT 5.0 properties (response topic, correlation data, user properties, ...).
    pub properties: PublishProperties,
    pub(crate) ack: Option<AckToken>,
}

impl Message {
    pub(crate) fn new(publish: Publish, ack: Option<AckToken>) -> Message {
        Message {
            topic: publish.topic,
            payload: publish.payload,
            qos: publish.qos,
            retain: publish.retain,
            packet_id: publish.packet_id,
            properties: publish.properties,
            ack,
        }
    }

    /// A copy for another stream; the acknowledgement token stays with the original.
    pub(crate) fn share(&self) -> Message {
        Message {
            topic: self.topic.clone(),
            payload: self.payload.clone(),
            qos: self.qos,
            retain: self.retain,
            packet_id: self.packet_id,
            properties: self.properties.clone(),
            ack: None,
        }
    }

    /// The payload as text, if it is UTF-8.
    pub fn payload_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.payload).ok()
    }

    /// Whether the message must be acknowledged with [`Client::ack`].
    pub fn needs_ack(&self) -> bool {
        self.ack.is_some()
    }
}

/// A stream of received messages: all of them ([`Client::messages`]) or those matching one
/// subscription ([`Client::subscription`]).
///
/// A stream that is not read fills up; the client then stops reading from the socket until it
/// is read, so the broker sees TCP back-pressure instead of the client's memory growing. Drop
/// streams you no longer read.
#[derive(Debug)]
pub struct Messages {
    receiver: mpsc::Receiver<Message>,
}

impl Messages {
    /// The next message; `None` once the client has stopped.
    ///
    /// Cancel safety: cancel safe, no message is lost.
    pub async fn recv(&mut self) -> Option<Message> {
        self.receiver.recv().await
    }
}

impl futures_core::Stream for Messages {
    type Item = Message;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        self.receiver.poll_recv(cx)
    }
}
