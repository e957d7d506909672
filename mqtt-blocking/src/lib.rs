//! A blocking MQTT 3.1.1 and 5.0 client with the Zerynth/paho-style API.
//!
//! A user of the Zerynth (paho-derived) Python `mqtt.Client` should recognise every method:
//! [`Client::new`], [`on`](Client::on) / [`on_if`](Client::on_if) (the seed's `on(command,
//! function, condition, priority)`), [`set_will`](Client::set_will),
//! [`set_username_pw`](Client::set_username_pw), [`connect`](Client::connect),
//! [`reconnect`](Client::reconnect), [`subscribe`](Client::subscribe),
//! [`unsubscribe`](Client::unsubscribe), [`publish`](Client::publish),
//! [`disconnect`](Client::disconnect) and [`loop_start`](Client::loop_start) (the seed's
//! `loop`, a Rust keyword). Beyond the seed: [`wait_for_publish`](Client::wait_for_publish),
//! a [`Receiver`](std::sync::mpsc::Receiver) of messages ([`Client::messages`]), MQTT 5.0
//! through [`Client::with_config`] and the `*_with` methods, and automatic reconnection.
//!
//! It offers what `mqtt-tokio` offers: TCP, TLS (the `tls` feature, on by default: [`ConnectOptions::tls`]), WebSocket and
//! secure WebSocket (the `websocket` feature, off by default; [`ConnectOptions::websocket`]: a
//! path, extra headers, subprotocol `mqtt`); manual acknowledgement ([`Client::ack`], and [`Client::take_message`] from a
//! callback), sent in the order the messages arrived; MQTT 5.0 enhanced authentication and
//! re-authentication ([`Client::on_auth`], [`Client::auth`]); and the seed's callbacks for
//! AUTH and DISCONNECT packets ([`Command::Auth`], [`Command::Disconnect`]).
//!
//! ```no_run
//! use std::time::Duration;
//! use mqtt_blocking::{Client, ConnectOptions, QoS};
//!
//! fn main() -> Result<(), mqtt_blocking::Error> {
//!     let client = Client::new("quickstart", true);
//!     client.connect("127.0.0.1", Duration::from_secs(60), ConnectOptions::default())?;
//!     let messages = client.messages();
//!     let subscribed = client.subscribe(&[("news/#", QoS::AtLeastOnce)])?;
//!     client.loop_start(None)?;
//!     client.wait_for_request(subscribed, Duration::from_secs(5))?;
//!     let mid = client.publish("news/today", "hello", QoS::AtLeastOnce, false)?;
//!     client.wait_for_publish(mid, Duration::from_secs(5))?;
//!     let message = messages.recv_timeout(Duration::from_secs(5)).expect("a message");
//!     println!("{}: {:?}", message.topic, message.payload_str());
//!     client.disconnect()
//! }
//! ```
//!
//! A thin adapter: the protocol lives in [`mqtt_session`]. This crate wires it to std sockets
//! through one `mio::Poll` (with a `Waker` for commands from other threads), to rustls
//! driven as a sans-IO `ClientConnection` and to tungstenite's WebSocket framing over either;
//! time comes from `std::time::Instant`, and the loop blocks in `poll` until the socket, a
//! command or the session's next deadline needs it.
#![forbid(unsafe_code)]

mod client;
mod driver;
mod options;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub mod tls;
mod transport;

pub use client::{Client, Events, Messages, OnMessage};
pub use mio;
pub use mqtt_client::{
    self as client_core, ClientEvent, Detail, Error, Message, Overflow, Proxy, ProxyError,
    ProxyKind, StreamEnd, Target,
};
pub use mqtt_proto::{
    self as proto, Auth, Disconnect, Publish, QoS, ReasonCode, SubscribeProperties, Subscription,
    TopicFilter, TopicName, UnsubscribeProperties, UserProperty, Will,
};
pub use mqtt_session::Backoff;
pub use mqtt_session::{
    self as session, AckMode, Command, Config, PublishId, Qos2Delivery, Received, RequestId,
    Version,
};
#[cfg(feature = "tls")]
pub use mqtt_tls::TlsOptions;
pub use options::{
    ConnectOptions, Connector, Hook, PublishOptions, SocketKeepalive, WebSocketOptions,
};
#[cfg(feature = "tls")]
pub use rustls;
pub use transport::CustomSocket;
