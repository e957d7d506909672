//! An async MQTT 3.1.1 and 5.0 client on tokio.
//!
//! A thin adapter: the protocol lives in [`mqtt_session`]; this crate connects it to tokio
//! sockets, rustls and WebSocket, and gives it a [`Client`] handle, message streams, the seed
//! API's callbacks and automatic reconnection.
//!
//! ```no_run
//! use mqtt_tokio::{Client, Options, QoS};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), mqtt_tokio::Error> {
//!     let options = Options::from_url("mqtt://127.0.0.1:1883", "quickstart")?;
//!     // The default stream has every message nothing else takes; drop it if unused.
//!     let (client, _default) = Client::spawn(options).await?;
//!     let mut news = client.subscription("news/#", QoS::AtLeastOnce).await?;
//!     client.publish("news/today", "hello", QoS::AtLeastOnce, false).await?;
//!     let message = news.recv().await.expect("the client is running");
//!     println!("{}: {:?}", message.topic, message.payload_str());
//!     client.disconnect().await
//! }
//! ```
//!
//! What happens between the session and the application (which consumer gets a message and
//! when it is acknowledged, reconnection, events, an orderly disconnect) is decided by
//! [`mqtt_client`], which every adapter shares; its documentation states the guarantees. The
//! client itself is [`mqtt_async`]'s, shared with mqtt-async-std; this crate supplies tokio.
//!
//! Transports: `mqtt://` (TCP), `mqtts://` (TLS), `ws://` and `wss://` (WebSocket, subprotocol
//! `mqtt`), from a URL ([`Options::from_url`]) or typed [`Options`]. TLS (the `tls` feature, on
//! by default) uses rustls with the ring provider; bring your own `ClientConfig` with
//! [`TlsOptions::from_config`]. WebSocket needs the `websocket` feature, off by default.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod runtime;

pub use mqtt_async::{AuthHook, Io, Server, SocketKeepalive, Target, Transport};
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use mqtt_async::{TlsOptions, rustls};
pub use mqtt_client::{
    self as client_core, ClientEvent, Detail, Error, Message, Overflow, Proxy, ProxyError,
    ProxyKind, StreamEnd,
};
pub use mqtt_proto::{
    self as proto, Auth, Disconnect, Publish, QoS, ReasonCode, SubscribeProperties, Subscription,
    TopicFilter, TopicName, UnsubscribeProperties, UserProperty, Will,
};
pub use mqtt_session::Backoff;
pub use mqtt_session::{
    self as session, AckMode, Command, Config, PublishId, Published, Received, Version,
};
pub use runtime::{Tokio, stream};

/// A handle to an MQTT client on tokio: [`mqtt_async::Client`] with the [`Tokio`] runtime.
pub type Client = mqtt_async::Client<Tokio>;
/// A stream of messages: [`mqtt_async::Messages`] on tokio.
pub type Messages = mqtt_async::Messages<Tokio>;
/// A stream of connection events: [`mqtt_async::Events`] on tokio.
pub type Events = mqtt_async::Events<Tokio>;
/// The connection task: [`mqtt_async::Connection`] on tokio.
pub type Connection = mqtt_async::Connection<Tokio>;
/// A publish the broker has not completed yet: [`mqtt_async::PendingPublish`] on tokio.
pub type PendingPublish = mqtt_async::PendingPublish<Tokio>;
/// How a publish ended: [`mqtt_async::PublishOutcome`] on tokio.
pub type PublishOutcome = mqtt_async::PublishOutcome<Tokio>;
/// How to reach the broker and how the client behaves: [`mqtt_async::Options`] on tokio.
pub type Options = mqtt_async::Options<Tokio>;
/// A hook the client runs with itself: [`mqtt_async::Hook`] on tokio.
pub type Hook = mqtt_async::Hook<Tokio>;
