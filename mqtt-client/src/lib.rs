//! The MQTT client layer every adapter shares: what happens between the sans-IO
//! [`Session`](mqtt_session::Session) and the application, without I/O, clocks or randomness.
//!
//! [`Core`] owns the session and decides everything an adapter used to decide on its own:
//! which consumer gets a message and when it is acknowledged, who waits for which publish or
//! subscribe, when to open, close and reopen the transport, what the application hears about
//! the connection, and how the client stops. An adapter (mqtt-tokio, mqtt-blocking, the
//! embassy and async-std/smol adapters) keeps only runtime glue: the socket, TLS and WebSocket
//! set-up, timers, the lock around the core and the wake-ups.
//!
//! It is a crate of its own rather than a module of mqtt-session because it is not the
//! protocol: the session holds what the standard says a client must do; this layer holds the
//! policies the standard leaves to the client (delivery, backpressure, reconnection, events),
//! and an application that drives the session itself does not need them. Like the session, it
//! is `no_std` + `alloc` and forbids `unsafe`, so firmware gets it unchanged.
//!
//! # Guarantees
//!
//! Every adapter built on the core gives these; each has a test in `tests/` that fails when it
//! breaks.
//!
//! - **G1, no acknowledgement before delivery.** A QoS 1 or 2 message is acknowledged to the
//!   broker (PUBACK, or PUBREC) only once it is in the application's hands: in a stream within
//!   the stream's capacity, or handed to a callback that returned. A message no consumer takes
//!   goes to the *default stream*, which exists from the moment the core does, so that a
//!   message arriving right after CONNACK, before the application registered anything, is
//!   never acknowledged and lost. Only when the application has dropped the default stream is
//!   a message nobody wants acknowledged and dropped. With manual acknowledgement
//!   ([`AckMode::Manual`](mqtt_session::AckMode::Manual)) the application acknowledges, as
//!   before: a stream's message carries the token; a callback's message is acknowledged when
//!   the callback returns, unless the callback takes it with [`Core::take_message`].
//! - **G2, bounded and deadlock-free.** A slow consumer never stops the client from reading:
//!   its own publishes, subscribes and pings complete. A stream holds
//!   [`Settings::stream_capacity`] messages; QoS 1 and 2 messages beyond it wait
//!   unacknowledged, so the broker's in-flight limit (the client's Receive Maximum in MQTT 5.0)
//!   bounds them, and the client stops reading beyond 65,535 of them where the broker sets no
//!   limit (MQTT 3.1.1); QoS 0 messages beyond it follow [`Settings::overflow`]: the oldest is
//!   dropped and counted in [`ClientEvent::MessagesDropped`] (the default), or reading stops
//!   ([`Overflow::StopReading`]). When the connection drops and the broker resumes the session,
//!   the QoS 1 messages still waiting are dropped, because the broker sends them again: the
//!   application gets each once.
//! - **G3, subscriptions survive.** When the broker has lost the session, the session restores
//!   every subscription the application made before any queued publish is resent
//!   ([`Config::resubscribe`](mqtt_session::Config::resubscribe), on by default), and
//!   [`ClientEvent::Resubscribed`] says so. A stream never goes silent: when a filter can't be
//!   restored, or resubscription is off, its streams end with a [`StreamEnd`] saying why.
//! - **G4, state is visible.** [`ClientEvent`]s report every connection, disconnection (with
//!   the reason), failed attempt and reconnection delay; [`Core::is_connected`],
//!   [`Core::publishes_in_flight`] and [`Core::publishes_queued`] answer at any time.
//!   [`Settings::retry_first_connect`] retries the first connection with the same backoff.
//! - **G5, flush on exit.** A requested disconnect, or the last handle dropped, waits up to
//!   [`Settings::disconnect_timeout`] for queued and in-flight publishes, sends DISCONNECT, and
//!   closes the transport only once every queued byte (acknowledgements and QoS 0 publishes
//!   included) is written, or [`Settings::linger`] has passed. A QoS 0 publish is complete once
//!   its bytes were written, not when they were queued.
//! - **G6, the seed's `mid`.** [`Core::publish`] returns the publish's id; every outcome
//!   ([`Core::poll_publish`]) and every callback about it (PUBACK, PUBREC, PUBCOMP:
//!   [`Received::mid`](mqtt_session::Received::mid)) carries that id, so
//!   `on_if(PubAck, f, |d| d.mid == Some(mid), 0)` fires for exactly that message.
//!
//! Nothing in the core waits: every poll either answers or registers a
//! [`Waker`](core::task::Waker) that is woken when the answer comes.
//!
//! # Driving it
//!
//! ```
//! use mqtt_client::{Core, Interest, Settings, Step};
//! use mqtt_client::session::{Config, Instant, Version};
//! use mqtt_client::proto::{ConnAck, Packet, Publish, QoS, TopicName};
//!
//! let mut core: Core<()> = Core::new(Config::new("doc", Version::V311), Settings::default(), 7);
//! let now = Instant::ZERO;
//! assert!(matches!(core.poll_step(now), Step::Open));
//! core.handle_transport_opened(now);
//! let connect = core.poll_transmit().expect("CONNECT");
//! core.handle_written(connect.len());
//!
//! let mut connack = Vec::new();
//! Packet::from(ConnAck::default()).encode(Version::V311, &mut connack)?;
//! core.handle_bytes(now, &connack);
//! assert!(core.is_connected());
//!
//! let mut publish = Publish::new(TopicName::new("a/b")?, "hello");
//! publish.qos = QoS::AtMostOnce;
//! let mid = core.publish(now, publish, Interest::Outcome)?;
//! let bytes = core.poll_transmit().expect("PUBLISH");
//! assert!(core.poll_publish(mid, None).is_pending(), "QoS 0 completes once written");
//! core.handle_written(bytes.len());
//! assert!(core.poll_publish(mid, None).is_ready());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod callbacks;
mod client;
#[cfg(feature = "std")]
mod error;
mod event;
#[cfg(feature = "std")]
mod locked;
mod message;
pub mod packets;
mod proxy;
mod read_room;
mod replies;
mod servers;
mod settings;
#[cfg(feature = "std")]
mod slot;
mod streams;
mod wakes;

pub use crate::callbacks::{CallbackRun, Hook};
pub use crate::client::{Answer, AuthHandler, CommandError, Core, EventsId, Step};
#[cfg(feature = "std")]
pub use crate::error::{Detail, Error};
pub use crate::event::{ClientEvent, End, Failure, StreamEnd};
#[cfg(feature = "std")]
pub use crate::locked::{Locked, TakeWakes};
pub use crate::message::Message;
pub use crate::proxy::{Proxy, ProxyError, ProxyHandshake, ProxyKind};
pub use crate::read_room::ReadRoom;
pub use crate::replies::Interest;
pub use crate::servers::Target;
pub use crate::settings::{Overflow, Settings};
#[cfg(feature = "std")]
pub use crate::slot::StoreSlot;
pub use crate::streams::StreamId;
pub use mqtt_proto as proto;
pub use mqtt_session as session;
