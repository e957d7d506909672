//! The packet model, the framing of MQTT 5.0 §2.1 and the [`Decoder`].

mod ack;
mod auth;
mod connack;
mod connect;
mod disconnect;
mod publish;
mod publish_builder;
mod publish_ref;
mod suback;
mod subscribe;
mod unsuback;
mod unsubscribe;

use bytes::{Buf, BufMut, Bytes, BytesMut};

pub use ack::{AckProperties, PubAck, PubComp, PubRec, PubRel};
pub use auth::{Auth, AuthProperties};
pub use connack::{ConnAck, ConnAckProperties};
pub use connect::{Connect, ConnectProperties, Will, WillProperties};
pub use disconnect::{Disconnect, DisconnectProperties};
pub use publish::{Publish, PublishProperties};
pub use publish_builder::PublishBuilder;
pub use publish_ref::{PacketRef, PublishRef};
pub use suback::SubAck;
pub use subscribe::{
    RetainHandling, Subscribe, SubscribeProperties, Subscription, SubscriptionOptions,
};
pub use unsuback::UnsubAck;
pub use unsubscribe::{Unsubscribe, UnsubscribeProperties};

use crate::error::{DecodeError, EncodeError};
use crate::primitive::{MAX_PACKET_SIZE, VarInt, first_byte, put_fixed_header, read_var_int};
use crate::version::Version;

/// The type of a control packet: the high nibble of its first byte (MQTT 5.0 §2.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(u8)]
pub enum PacketType {
    /// 1: CONNECT, client to server.
    Connect = 1,
    /// 2: CONNACK.
    ConnAck = 2,
    /// 3: PUBLISH.
    Publish = 3,
    /// 4: PUBACK.
    PubAck = 4,
    /// 5: PUBREC.
    PubRec = 5,
    /// 6: PUBREL.
    PubRel = 6,
    /// 7: PUBCOMP.
    PubComp = 7,
    /// 8: SUBSCRIBE.
    Subscribe = 8,
    /// 9: SUBACK.
    SubAck = 9,
    /// 10: UNSUBSCRIBE.
    Unsubscribe = 10,
    /// 11: UNSUBACK.
    UnsubAck = 11,
    /// 12: PINGREQ.
    PingReq = 12,
    /// 13: PINGRESP.
    PingResp = 13,
    /// 14: DISCONNECT.
    Disconnect = 14,
    /// 15: AUTH, MQTT 5.0 only.
    Auth = 15,
}

impl PacketType {
    /// The packet type for a first byte's high nibble; `None` for the reserved 0.
    pub const fn from_nibble(nibble: u8) -> Option<PacketType> {
        Some(match nibble {
            1 => PacketType::Connect,
            2 => PacketType::ConnAck,
            3 => PacketType::Publish,
            4 => PacketType::PubAck,
            5 => PacketType::PubRec,
            6 => PacketType::PubRel,
            7 => PacketType::PubComp,
            8 => PacketType::Subscribe,
            9 => PacketType::SubAck,
            10 => PacketType::Unsubscribe,
            11 => PacketType::UnsubAck,
            12 => PacketType::PingReq,
            13 => PacketType::PingResp,
            14 => PacketType::Disconnect,
            15 => PacketType::Auth,
            _ => return None,
        })
    }

    /// The fixed header flags every packet but PUBLISH must carry (MQTT 5.0 §2.1.3, Table 2-2).
    const fn required_flags(self) -> u8 {
        match self {
            PacketType::PubRel | PacketType::Subscribe | PacketType::Unsubscribe => 0b0010,
            _ => 0,
        }
    }
}

/// A control packet of MQTT 3.1, 3.1.1 or 5.0.
///
/// The same model serves both versions: fields that only MQTT 5.0 has (properties, most reason
/// codes) decode as their defaults from MQTT 3.1.1 (and 3.1) bytes, and encoding for 3.1.1 (and
/// 3.1) refuses them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Packet {
    /// CONNECT (MQTT 5.0 §3.1).
    Connect(alloc::boxed::Box<Connect>),
    /// CONNACK (MQTT 5.0 §3.2), boxed: it is large and comes once per connection.
    ConnAck(alloc::boxed::Box<ConnAck>),
    /// PUBLISH (MQTT 5.0 §3.3).
    Publish(Publish),
    /// PUBACK (MQTT 5.0 §3.4).
    PubAck(PubAck),
    /// PUBREC (MQTT 5.0 §3.5).
    PubRec(PubRec),
    /// PUBREL (MQTT 5.0 §3.6).
    PubRel(PubRel),
    /// PUBCOMP (MQTT 5.0 §3.7).
    PubComp(PubComp),
    /// SUBSCRIBE (MQTT 5.0 §3.8).
    Subscribe(Subscribe),
    /// SUBACK (MQTT 5.0 §3.9).
    SubAck(SubAck),
    /// UNSUBSCRIBE (MQTT 5.0 §3.10).
    Unsubscribe(Unsubscribe),
    /// UNSUBACK (MQTT 5.0 §3.11).
    UnsubAck(UnsubAck),
    /// PINGREQ (MQTT 5.0 §3.12).
    PingReq,
    /// PINGRESP (MQTT 5.0 §3.13).
    PingResp,
    /// DISCONNECT (MQTT 5.0 §3.14), boxed: it is large and comes at most once per connection.
    Disconnect(alloc::boxed::Box<Disconnect>),
    /// AUTH (MQTT 5.0 §3.15), MQTT 5.0 only; boxed, it is large and rare.
    Auth(alloc::boxed::Box<Auth>),
}

impl Packet {
    /// The packet's type.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Connect(_) => PacketType::Connect,
            Packet::ConnAck(_) => PacketType::ConnAck,
            Packet::Publish(_) => PacketType::Publish,
            Packet::PubAck(_) => PacketType::PubAck,
            Packet::PubRec(_) => PacketType::PubRec,
            Packet::PubRel(_) => PacketType::PubRel,
            Packet::PubComp(_) => PacketType::PubComp,
            Packet::Subscribe(_) => PacketType::Subscribe,
            Packet::SubAck(_) => PacketType::SubAck,
            Packet::Unsubscribe(_) => PacketType::Unsubscribe,
            Packet::UnsubAck(_) => PacketType::UnsubAck,
            Packet::PingReq => PacketType::PingReq,
            Packet::PingResp => PacketType::PingResp,
            Packet::Disconnect(_) => PacketType::Disconnect,
            Packet::Auth(_) => PacketType::Auth,
        }
    }

    /// The exact number of bytes [`encode`](Self::encode) writes for `version`.
    pub fn encoded_len(&self, version: Version) -> usize {
        match self {
            Packet::Connect(p) => p.encoded_len(version),
            Packet::ConnAck(p) => p.encoded_len(version),
            Packet::Publish(p) => p.encoded_len(version),
            Packet::PubAck(p) => p.encoded_len(version),
            Packet::PubRec(p) => p.encoded_len(version),
            Packet::PubRel(p) => p.encoded_len(version),
            Packet::PubComp(p) => p.encoded_len(version),
            Packet::Subscribe(p) => p.encoded_len(version),
            Packet::SubAck(p) => p.encoded_len(version),
            Packet::Unsubscribe(p) => p.encoded_len(version),
            Packet::UnsubAck(p) => p.encoded_len(version),
            Packet::PingReq | Packet::PingResp => 2,
            Packet::Disconnect(p) => p.encoded_len(version),
            Packet::Auth(p) => p.encoded_len(version),
        }
    }

    /// Writes the packet for `version` into `buf`.
    ///
    /// # Errors
    ///
    /// Refuses, writing nothing, a packet that would not be valid: MQTT 5.0 data for 3.1.1, a
    /// string over 65,535 bytes, a packet over the size limit, a PUBLISH whose packet identifier
    /// does not fit its QoS, and the other cases of [`EncodeError`]; and a `buf` without room
    /// for the whole packet.
    pub fn encode(&self, version: Version, buf: &mut impl BufMut) -> Result<(), EncodeError> {
        match self {
            Packet::Connect(p) => p.encode(version, buf),
            Packet::ConnAck(p) => p.encode(version, buf),
            Packet::Publish(p) => p.encode(version, buf),
            Packet::PubAck(p) => p.encode(version, buf),
            Packet::PubRec(p) => p.encode(version, buf),
            Packet::PubRel(p) => p.encode(version, buf),
            Packet::PubComp(p) => p.encode(version, buf),
            Packet::Subscribe(p) => p.encode(version, buf),
            Packet::SubAck(p) => p.encode(version, buf),
            Packet::Unsubscribe(p) => p.encode(version, buf),
            Packet::UnsubAck(p) => p.encode(version, buf),
            Packet::PingReq => encode_empty(PacketType::PingReq, buf),
            Packet::PingResp => encode_empty(PacketType::PingResp, buf),
            Packet::Disconnect(p) => p.encode(version, buf),
            Packet::Auth(p) => p.encode(version, buf),
        }
    }

    /// Parses one packet from its first byte and its body (the bytes after the remaining
    /// length). Strings and payloads in the result are slices of `body`.
    ///
    /// The result is always `Some`: returning the type of [`Decoder::decode`] lets the packet,
    /// a few hundred bytes large, be built where the caller wants it instead of being copied there.
    fn decode(version: Version, first: u8, body: Bytes) -> Result<Option<Packet>, DecodeError> {
        let nibble = first >> 4;
        let flags = first & 0x0F;
        let packet_type = match PacketType::from_nibble(nibble) {
            Some(PacketType::Auth) if !version.is_v5() => {
                return Err(DecodeError::InvalidPacketType(nibble));
            }
            Some(t) => t,
            None => return Err(DecodeError::InvalidPacketType(nibble)),
        };
        if packet_type != PacketType::Publish && flags != packet_type.required_flags() {
            return Err(DecodeError::InvalidHeaderFlags { packet_type, flags });
        }
        Ok(Some(match packet_type {
            PacketType::Publish => Packet::Publish(Publish::decode(version, flags, body)?),
            PacketType::Connect => {
                Packet::Connect(alloc::boxed::Box::new(Connect::decode(version, &body)?))
            }
            PacketType::ConnAck => {
                Packet::ConnAck(alloc::boxed::Box::new(ConnAck::decode(version, &body)?))
            }
            PacketType::PubAck => Packet::PubAck(PubAck::decode(version, &body)?),
            PacketType::PubRec => Packet::PubRec(PubRec::decode(version, &body)?),
            PacketType::PubRel => Packet::PubRel(PubRel::decode(version, &body)?),
            PacketType::PubComp => Packet::PubComp(PubComp::decode(version, &body)?),
            PacketType::Subscribe => Packet::Subscribe(Subscribe::decode(version, &body)?),
            PacketType::SubAck => Packet::SubAck(SubAck::decode(version, &body)?),
            PacketType::Unsubscribe => Packet::Unsubscribe(Unsubscribe::decode(version, &body)?),
            PacketType::UnsubAck => Packet::UnsubAck(UnsubAck::decode(version, &body)?),
            PacketType::PingReq | PacketType::PingResp => {
                if !body.is_empty() {
                    return Err(DecodeError::TrailingBytes);
                }
                if packet_type == PacketType::PingReq {
                    Packet::PingReq
                } else {
                    Packet::PingResp
                }
            }
            PacketType::Disconnect => {
                Packet::Disconnect(alloc::boxed::Box::new(Disconnect::decode(version, &body)?))
            }
            PacketType::Auth => Packet::Auth(alloc::boxed::Box::new(Auth::decode(version, &body)?)),
        }))
    }
}

/// A packet with no variable header and no payload: PINGREQ, PINGRESP, and DISCONNECT or AUTH
/// in their shortest form.
fn encode_empty(packet_type: PacketType, buf: &mut impl BufMut) -> Result<(), EncodeError> {
    put_fixed_header(buf, first_byte(packet_type as u8, 0), 0, 0)
}

macro_rules! impl_from_for_packet {
    ($($name:ident),*) => {
        $(impl From<$name> for Packet {
            fn from(p: $name) -> Packet {
                Packet::$name(p)
            }
        })*
    };
}

impl_from_for_packet!(
    Publish,
    PubAck,
    PubRec,
    PubRel,
    PubComp,
    Subscribe,
    SubAck,
    Unsubscribe,
    UnsubAck
);

macro_rules! impl_from_for_boxed_packet {
    ($($name:ident),*) => {
        $(impl From<$name> for Packet {
            fn from(p: $name) -> Packet {
                Packet::$name(alloc::boxed::Box::new(p))
            }
        })*
    };
}

impl_from_for_boxed_packet!(Connect, ConnAck, Disconnect, Auth);

/// Splits packets off a byte stream.
///
/// A `Decoder` holds only its configuration, the protocol version and the largest packet it
/// accepts; the bytes are the caller's. Each call returns one whole packet or `None` ("need more
/// bytes") without consuming anything, so the caller can append what arrives next and call again.
/// The fixed header is read first, and a packet whose announced size is above the maximum is
/// refused before its body arrives.
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::{DecodeError, Decoder, Packet, Version};
///
/// let decoder = Decoder::new(Version::V311).with_max_packet_size(1024);
///
/// let mut buf = BytesMut::from(&[0xD0, 0x00, 0xD0][..]); // PINGRESP and half of another
/// assert_eq!(decoder.decode(&mut buf)?, Some(Packet::PingResp));
/// assert_eq!(decoder.decode(&mut buf)?, None);
/// assert_eq!(buf.len(), 1);
///
/// // A PUBLISH announcing 4,000 bytes is refused from its first three bytes.
/// let mut big = BytesMut::from(&[0x30, 0xA0, 0x1F][..]);
/// assert!(matches!(decoder.decode(&mut big), Err(DecodeError::PacketTooLarge { .. })));
/// # Ok::<(), DecodeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoder {
    version: Version,
    max_packet_size: u32,
}

impl Decoder {
    /// A decoder for `version` that accepts packets up to the protocol's limit.
    pub const fn new(version: Version) -> Decoder {
        Decoder {
            version,
            max_packet_size: MAX_PACKET_SIZE,
        }
    }

    /// Sets the largest packet accepted, fixed header included (MQTT 5.0 §3.1.2.11.4).
    pub const fn with_max_packet_size(mut self, max: u32) -> Decoder {
        self.max_packet_size = max;
        self
    }

    /// The protocol version packets are decoded as.
    pub const fn version(&self) -> Version {
        self.version
    }

    /// The largest packet accepted.
    pub const fn max_packet_size(&self) -> u32 {
        self.max_packet_size
    }

    /// The size of the first packet in `buf`, fixed header included, once its fixed header is
    /// complete; `None` while it is not.
    ///
    /// # Errors
    ///
    /// [`DecodeError::MalformedVarInt`] and [`DecodeError::PacketTooLarge`], as soon as the fixed
    /// header shows them.
    pub fn packet_len(&self, buf: &[u8]) -> Result<Option<usize>, DecodeError> {
        Ok(self.header(buf)?.map(|(header, body)| header + body))
    }

    /// The fixed header's length and the body's length.
    #[inline]
    fn header(&self, buf: &[u8]) -> Result<Option<(usize, usize)>, DecodeError> {
        let Some(rest) = buf.get(1..) else {
            return Ok(None);
        };
        match read_var_int(rest, self.version.is_v5())? {
            VarInt::Incomplete => Ok(None),
            VarInt::Complete(remaining, len) => {
                let header = 1 + len;
                let size = header + remaining as usize;
                if size > self.max_packet_size as usize {
                    return Err(DecodeError::PacketTooLarge {
                        size,
                        max: self.max_packet_size,
                    });
                }
                Ok(Some((header, remaining as usize)))
            }
        }
    }

    /// Takes the first packet off the front of `buf`, or returns `None`, leaving `buf` as it was,
    /// when `buf` does not hold a whole packet yet.
    ///
    /// The packet's strings and payload share `buf`'s memory.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] when the bytes are not a valid packet. An error found in the fixed
    /// header leaves `buf` as it was; one found in the body takes the bad packet off `buf`.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Packet>, DecodeError> {
        let Some((header, body)) = self.header(buf)? else {
            return Ok(None);
        };
        if buf.len() < header + body {
            return Ok(None);
        }
        let first = buf[0];
        if body == 0 {
            // PINGREQ, PINGRESP and the like: no memory to share, so no reference to count.
            buf.advance(header);
            return Packet::decode(self.version, first, Bytes::new());
        }
        // `Bytes::advance` is cheaper than `BytesMut`'s, which keeps track of a vector's start.
        let mut frame = buf.split_to(header + body).freeze();
        frame.advance(header);
        Packet::decode(self.version, first, frame)
    }

    /// Like [`decode`](Self::decode), for input held in [`Bytes`].
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] when the bytes are not a valid packet; `buf` is then left as it was.
    pub fn decode_bytes(&self, buf: &mut Bytes) -> Result<Option<Packet>, DecodeError> {
        let Some((header, body)) = self.header(buf)? else {
            return Ok(None);
        };
        if buf.len() < header + body {
            return Ok(None);
        }
        let first = buf[0];
        let packet = Packet::decode(self.version, first, buf.slice(header..header + body));
        if packet.is_ok() {
            buf.advance(header + body);
        }
        packet
    }

    /// Decodes the first packet of a borrowed slice without copying a PUBLISH: its topic and
    /// payload borrow `buf` ([`PublishRef`]); returns the packet and the number of bytes it took,
    /// or `None` when `buf` does not hold a whole packet yet.
    ///
    /// This is the fastest way to read messages that are handled before the buffer is reused:
    /// no reference count, and no allocation for a PUBLISH without MQTT 5.0 properties. Other
    /// packets come back owned ([`PacketRef::Other`]).
    ///
    /// ```
    /// use mqtt_proto::{Decoder, PacketRef, Version};
    ///
    /// let decoder = Decoder::new(Version::V311);
    /// // A QoS 0 PUBLISH to "t" with payload "x", then a PINGRESP.
    /// let mut input = &[0x30, 0x04, 0x00, 0x01, b't', b'x', 0xD0, 0x00][..];
    /// while let Some((packet, len)) = decoder.decode_ref(input)? {
    ///     match packet {
    ///         PacketRef::Publish(p) => assert_eq!((p.topic, p.payload), ("t", &b"x"[..])),
    ///         other => assert_eq!(other.into_owned(), mqtt_proto::Packet::PingResp),
    ///     }
    ///     input = &input[len..];
    /// }
    /// assert!(input.is_empty());
    /// # Ok::<(), mqtt_proto::DecodeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] when the bytes are not a valid packet.
    #[inline]
    pub fn decode_ref<'a>(
        &self,
        buf: &'a [u8],
    ) -> Result<Option<(PacketRef<'a>, usize)>, DecodeError> {
        let Some((header, body)) = self.header(buf)? else {
            return Ok(None);
        };
        let Some(frame) = buf.get(header..header + body) else {
            return Ok(None);
        };
        let first = buf[0];
        if first >> 4 == PacketType::Publish as u8 {
            let publish = PublishRef::decode(self.version, first & 0x0F, frame)?;
            return Ok(Some((PacketRef::Publish(publish), header + body)));
        }
        let body_bytes = if frame.is_empty() {
            Bytes::new()
        } else {
            Bytes::copy_from_slice(frame)
        };
        let packet = Packet::decode(self.version, first, body_bytes)?;
        Ok(packet.map(|packet| (PacketRef::Other(packet), header + body)))
    }

    /// Decodes the first packet of a borrowed slice, copying what the packet keeps; returns the
    /// packet and the number of bytes it took.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] when the bytes are not a valid packet.
    pub fn decode_slice(&self, buf: &[u8]) -> Result<Option<(Packet, usize)>, DecodeError> {
        let Some((header, body)) = self.header(buf)? else {
            return Ok(None);
        };
        let Some(frame) = buf.get(header..header + body) else {
            return Ok(None);
        };
        let packet = Packet::decode(self.version, buf[0], Bytes::copy_from_slice(frame))?;
        Ok(packet.map(|packet| (packet, header + body)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every move of a packet is a copy of its size, and on a microcontroller every one is
    /// stack: these bounds keep the common packets small (64-bit targets; a 32-bit target
    /// halves the pointers).
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn packet_sizes() {
        use core::mem::size_of;
        assert!(
            size_of::<Publish>() <= 80,
            "Publish: {}",
            size_of::<Publish>()
        );
        assert!(size_of::<Packet>() <= 96, "Packet: {}", size_of::<Packet>());
        assert!(size_of::<PubAck>() <= 64, "PubAck: {}", size_of::<PubAck>());
    }
}
