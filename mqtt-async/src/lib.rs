//! The async MQTT 3.1.1 and 5.0 client, for any runtime.
//!
//! This crate is the client that [`mqtt-tokio`](https://docs.rs/mqtt-tokio) and
//! [`mqtt-async-std`](https://docs.rs/mqtt-async-std) (async-std and smol) give their users:
//! the [`Client`] handle, message and event streams, awaitable publishes, the seed API's
//! callbacks, and the [`Connection`] task that moves bytes. Applications use it through one
//! of those crates, which name the runtime (`mqtt_tokio::Client` is `Client<Tokio>`) and
//! re-export everything here.
//!
//! A runtime is two traits: [`Runtime`] opens transports, sleeps and spawns, and [`Io`] is
//! the byte stream. Everything else (TLS settings, the WebSocket framing, the connection
//! task) is written once, here; every decision about MQTT is [`mqtt_client`]'s.
//!
//! ```
//! use mqtt_tokio::{Client, Options, QoS};
//!
//! # async fn demo() -> Result<(), mqtt_tokio::Error> {
//! let (client, _default) = Client::spawn(Options::from_url("mqtt://127.0.0.1", "demo")?).await?;
//! client.publish("greetings", "hello", QoS::AtLeastOnce, false).await?;
//! client.disconnect().await
//! # }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
mod connection;
mod options;
mod runtime;
mod url;
mod wake;
#[cfg(feature = "websocket")]
mod websocket;

pub use client::{Client, Events, Messages, PendingPublish, PublishOutcome};
pub use connection::Connection;
pub use mqtt_client::{
    ClientEvent, Detail, Error, Message, Overflow, Proxy, ProxyError, ProxyKind, StreamEnd, Target,
};
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use mqtt_tls::{TlsOptions, handshake_error, rustls};
pub use options::{AuthHook, Connector, Hook, Options, Server, SocketKeepalive, Transport};
pub use runtime::{Io, Runtime, configure_tcp, open_tunnel};
#[cfg(feature = "websocket")]
#[cfg_attr(docsrs, doc(cfg(feature = "websocket")))]
pub use websocket::{WsIo, upgrade_error, upgrade_request};
