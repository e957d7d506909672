//! An MQTT 3.1.1 and 5.0 client for firmware on [embassy](https://embassy.dev): `no_std`,
//! heap through `alloc`, any [`embedded_io_async`] socket (embassy-net's `TcpSocket` first).
//!
//! A thin adapter: the protocol lives in [`mqtt_session`], and what happens between it and the
//! application (which consumer gets a message and when it is acknowledged, reconnection,
//! events, an orderly disconnect) in [`mqtt_client`], which the tokio and blocking clients
//! share; its documentation states the guarantees (G1-G6) this crate gives as they do. This
//! crate keeps the runtime glue: the socket, `embassy_time` for the deadlines
//! (`Timer::at(poll_timeout)`), and an `embassy-sync` mutex so that handles work from any task.
//!
//! - **Both protocol versions, QoS 0, 1 and 2** both ways, will and credentials
//!   ([`Config`]), MQTT 5.0 properties.
//! - **Automatic reconnection** with the session's backoff ([`Settings::reconnect`]): the
//!   [`Connection`] task opens a new socket with the application's [`Connect`]or (a closure,
//!   `TcpConnector` (feature `embassy-net`, on by default), or `tls::TlsConnector` (feature
//!   `tls`)), and the session sends again what the broker
//!   had not acknowledged.
//! - **An awaitable publish** that resolves at PUBACK (QoS 1) or PUBCOMP (QoS 2)
//!   ([`Client::publish`], [`PendingPublish`]), message delivery to bounded streams
//!   ([`Messages`], or an embassy-sync channel with [`Messages::forward`]), and the seed's
//!   `on(command, function, condition, priority)` router ([`Client::on_if`]).
//! - **TLS 1.3** with embedded-tls (feature `tls`), **defmt** logging (feature `defmt`).
//!
//! ```no_run
//! use core::time::Duration;
//! use embassy_net::{IpEndpoint, Ipv4Address, Stack};
//! use mqtt_embassy::{Client, Config, QoS, Settings, TcpConnector, Version};
//!
//! async fn sensor(
//!     stack: Stack<'static>,
//!     rx: &'static mut [u8; 1024],
//!     tx: &'static mut [u8; 1024],
//!     seed: u64, // from the chip's RNG: the reconnection backoff's jitter
//! ) -> Result<(), mqtt_embassy::Error> {
//!     let broker = IpEndpoint::new(Ipv4Address::new(192, 168, 1, 10).into(), 1883);
//!     let mut config = Config::new("sensor-1", Version::V5);
//!     config.keep_alive = Duration::from_secs(30);
//!     let mut settings = Settings::default();
//!     settings.stream_capacity = 4; // messages per stream, on the heap
//!     let connector = TcpConnector::new(stack, broker, rx, tx);
//!     let (client, default_stream, connection) = Client::new(config, settings, seed, connector);
//!     drop(default_stream); // nothing unsubscribed to read
//!
//!     // In firmware the connection runs in a task of its own (`spawner.spawn(..)`); joining
//!     // it with the application in one task works too.
//!     let application = async {
//!         client.connected().await?;
//!         let mut commands = client.subscription("sensor-1/cmd", QoS::AtLeastOnce).await?;
//!         client.publish("sensor-1/temp", "21.5", QoS::AtLeastOnce, false).await?; // PUBACK
//!         if let Some(command) = commands.recv().await {
//!             let _ = command.payload_str();
//!         }
//!         client.disconnect().await
//!     };
//!     let (ran, done) = embassy_futures::join::join(connection.run(), application).await;
//!     ran.and(done)
//! }
//! ```
//!
//! # Memory
//!
//! The client allocates: the session's queues and buffers, one allocation or two per message,
//! the streams. The crate's README shows how to give a microcontroller a heap
//! (`embedded-alloc`) and how much a typical client needs. Bound it with
//! [`Config::max_inflight`], [`Config::max_queued`] and [`Settings::stream_capacity`].
//!
//! # Which mutex
//!
//! The handles and the connection task share the client behind an embassy-sync blocking mutex.
//! [`Client::new`] takes a [`CriticalSectionRawMutex`](embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex),
//! which works from any task, executor and core; its critical sections are short but disable
//! interrupts. When every task that uses the client runs in thread mode, or on one executor,
//! [`Client::with_mutex`] with `ThreadModeRawMutex` or `NoopRawMutex` keeps them enabled.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

extern crate alloc;

mod client;
mod connect;
mod connection;
mod error;
mod fmt;
#[cfg(feature = "tls")]
pub mod tls;

pub use crate::client::{Client, Events, Messages, PendingPublish, PublishOutcome};
pub use crate::connect::Connect;
#[cfg(feature = "embassy-net")]
pub use crate::connect::TcpConnector;
pub use crate::connection::Connection;
pub use crate::error::Error;
pub use mqtt_client::{
    self as client_core, ClientEvent, Hook, Message, Overflow, Settings, StreamEnd,
};
pub use mqtt_proto::{self as proto, QoS, ReasonCode};
pub use mqtt_session::{
    self as session, AckMode, Backoff, Command, Config, PublishId, Published, Received, Version,
};
