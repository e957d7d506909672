//! MQTT 3.1, 3.1.1 and 5.0 packet codec.
//!
//! `mqtt-proto` turns bytes into [`Packet`]s and back, for the three protocol versions, with one
//! typed model: the [`Version`] is a parameter of decoding and encoding, and data that only MQTT
//! 5.0 can carry is refused with [`EncodeError::V5Only`] when encoding for 3.1.1 or 3.1. MQTT 3.1
//! ([`Version::V31`]) is MQTT 3.1.1 with the differences its variant lists.
//!
//! It does no I/O and keeps no state between packets. Decoding is streaming and zero-copy: hand
//! [`Decoder::decode`] a buffer holding any number of bytes and it returns one complete packet, or
//! `None` without consuming anything. Payloads, topics and string properties of the returned packet
//! share the buffer's memory instead of copying it. The remaining length is checked against the
//! configured maximum packet size before the body is waited for.
//!
//! ```
//! use bytes::BytesMut;
//! use mqtt_proto::{Decoder, Packet, Publish, QoS, TopicName, Version};
//!
//! let publish = Publish::new(TopicName::new("sensors/1/temp")?, "21.5");
//! let mut wire = BytesMut::new();
//! Packet::from(publish.clone()).encode(Version::V5, &mut wire)?;
//!
//! let decoder = Decoder::new(Version::V5);
//! let mut input = BytesMut::from(&wire[..3]); // a partial packet
//! assert_eq!(decoder.decode(&mut input)?, None);
//! input.extend_from_slice(&wire[3..]);
//! assert_eq!(decoder.decode(&mut input)?, Some(Packet::Publish(publish)));
//! assert!(input.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Untrusted input never panics: every malformed packet is a [`DecodeError`], and
//! [`DecodeError::reason_code`] gives the MQTT 5.0 reason code to close the connection with.
//!
//! # Design: small packets, and who owns the bytes
//!
//! Every move of a packet copies it, and on a microcontroller every copy is stack, so the
//! common packets are small: a [`Publish`] is 80 bytes and a [`Packet`] 96 on a 64-bit target.
//! A PUBLISH keeps its MQTT 5.0 properties, which most messages don't have, behind one `Box`
//! allocated only when one is set ([`Publish::properties`], [`Publish::properties_mut`]); the
//! rare large packets (CONNECT, CONNACK, DISCONNECT, AUTH) are boxed inside [`Packet`].
//!
//! There are two ways to decode a PUBLISH:
//!
//! - [`Decoder::decode`] (and `decode_bytes`) returns an owned [`Packet`] whose topic and payload
//!   are [`bytes::Bytes`] handles into the input: zero-copy, and the packet may outlive
//!   the buffer and cross threads. Each handle is a reference count: a PUBLISH takes two.
//! - [`Decoder::decode_ref`] returns a [`PublishRef`] whose topic and payload borrow the input:
//!   no reference count, and no allocation when there are no properties, for a caller that
//!   finishes with a message before reading on (a broker's routing step, a firmware loop).
//!
//! Both check everything the standard asks of a received PUBLISH: a UTF-8 topic name without
//! U+0000 or wildcards, a packet identifier exactly at QoS 1 and 2, no DUP at QoS 0, and
//! well-formed properties, each at most once unless the standard lets it repeat.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod error;
mod packet;
mod primitive;
mod property;
mod qos;
mod reason;
pub mod topic;
mod version;

pub use bytes::Bytes;
pub use bytestring::ByteString;

pub use error::{DecodeError, EncodeError};
pub use packet::{
    AckProperties, Auth, AuthProperties, ConnAck, ConnAckProperties, Connect, ConnectProperties,
    Decoder, Disconnect, DisconnectProperties, Packet, PacketRef, PacketType, PubAck, PubComp,
    PubRec, PubRel, Publish, PublishBuilder, PublishProperties, PublishRef, RetainHandling, SubAck,
    Subscribe, SubscribeProperties, Subscription, SubscriptionOptions, UnsubAck, Unsubscribe,
    UnsubscribeProperties, Will, WillProperties,
};
pub use primitive::{MAX_PACKET_SIZE, MAX_STRING_LEN, MAX_VAR_INT, PacketId};
pub use property::{PropertyId, UserProperty};
pub use qos::QoS;
pub use reason::ReasonCode;
pub use topic::{TopicFilter, TopicName};
pub use version::Version;
