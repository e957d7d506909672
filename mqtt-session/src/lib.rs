//! A sans-IO MQTT 3.1, 3.1.1 and 5.0 client session.
//!
//! [`Session`] holds every rule of the client side of the protocol and does no I/O: the caller
//! hands in bytes from the transport and the current time, and takes out bytes to send,
//! [`Event`]s and the next deadline. It reads no clock, opens no socket and draws no random
//! numbers, so the same machine runs on tokio, on std threads and on embassy, and tests drive it
//! with a virtual clock.
//!
//! ```
//! use mqtt_session::{Config, Event, Instant, Session, Version};
//! use mqtt_proto::{ConnAck, Decoder, Packet};
//! use bytes::BytesMut;
//!
//! let mut session = Session::new(Config::new("doc", Version::V311));
//! session.handle_transport_opened(Instant::ZERO)?;
//!
//! // The session wants CONNECT written to the transport...
//! let connect = session.poll_transmit().expect("CONNECT");
//! let decoded = Decoder::new(Version::V311).decode(&mut BytesMut::from(&connect[..]))?;
//! assert!(matches!(decoded, Some(Packet::Connect(_))));
//!
//! // ...and the server's CONNACK, fed back in, makes it connected.
//! let mut connack = Vec::new();
//! Packet::from(ConnAck::default()).encode(Version::V311, &mut connack)?;
//! session.handle_bytes(Instant::from_millis(5), &connack);
//! assert!(matches!(session.poll_event(), Some(Event::Connected(_))));
//! // Keep alive: the next deadline is a PINGREQ, 60 s after CONNECT went out.
//! assert_eq!(session.poll_timeout(), Some(Instant::from_millis(60_000)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The [`Router`] is the seed API's callback table (`on(command, callback, condition,
//! priority)`), reusable by every adapter.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod alias;
mod backoff;
mod config;
mod error;
mod event;
mod ids;
mod incoming;
mod outgoing;
mod router;
mod server;
mod session;
mod store;
mod time;
mod timer;
mod transmit;

pub use backoff::{Backoff, Reconnect};
pub use config::{AckMode, Config, Qos2Delivery, SessionLostPolicy};
pub use error::UsageError;
pub use event::{
    AckToken, Command, Connected, DisconnectReason, Event, FailReason, Message, ProtocolError,
    PublishFailed, PublishId, Published, Received, RequestId, Resubscribing, Subscribed,
    Unsubscribed,
};
pub use mqtt_proto::{self as proto, Version};
pub use router::{Callback, Condition, Router};
pub use server::ServerLimits;
pub use session::{ActiveSubscription, ConnectionState, Session};
pub use store::{MemoryStore, NoStore, OutgoingRecord, Stage, Store, StoreError, StoredSession};
pub use time::Instant;
