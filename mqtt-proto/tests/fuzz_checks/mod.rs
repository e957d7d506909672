//! The checks behind the fuzz targets in `fuzz/`, in one place.
//!
//! The fuzz targets include this file with `#[path]`, `tests/fuzz_corpus.rs` replays the checked-in
//! corpus and every regression through the same functions, and `tests/roundtrip.rs` uses the
//! helpers. Each `fuzz_*` function takes the raw input of one target and panics when a property
//! of the codec does not hold.
//!
//! The properties:
//! - decoding arbitrary bytes never panics, and `Decoder::decode`, `decode_bytes` and
//!   `decode_slice` agree packet by packet, error included;
//! - a decoded packet encodes again, to exactly `encoded_len` bytes, and those bytes decode to the
//!   same packet and are a fixpoint (encoding the result gives the same bytes);
//! - a valid packet built from structured input (`arbitrary_packet`) survives encode then decode;
//! - a stream fed in pieces gives the same packets, the same error and the same leftover bytes
//!   as the stream fed whole.
#![allow(dead_code)]

use arbitrary::{Result as AResult, Unstructured};
use bytes::{Bytes, BytesMut};
use mqtt_proto::{
    AckProperties, Auth, AuthProperties, ByteString, ConnAck, ConnAckProperties, Connect,
    ConnectProperties, DecodeError, Decoder, Disconnect, DisconnectProperties, EncodeError,
    MAX_PACKET_SIZE, MAX_VAR_INT, Packet, PacketId, PubAck, PubComp, PubRec, PubRel, Publish,
    PublishProperties, QoS, ReasonCode, RetainHandling, SubAck, Subscribe, SubscribeProperties,
    Subscription, SubscriptionOptions, TopicFilter, TopicName, UnsubAck, Unsubscribe,
    UnsubscribeProperties, UserProperty, Version, Will, WillProperties,
};

/// The three protocol versions.
pub(crate) const VERSIONS: [Version; 3] = [Version::V311, Version::V5, Version::V31];

/// The fuzz targets, which are also the folder names under `fuzz/corpus/` and
/// `fuzz/regressions/`.
pub(crate) const TARGETS: [&str; 5] = [
    "decode_v31",
    "decode_v311",
    "decode_v5",
    "roundtrip",
    "fragmented",
];

/// Runs the check of fuzz target `target` on one input.
pub(crate) fn run_target(target: &str, data: &[u8]) {
    match target {
        "decode_v31" => fuzz_decode(Version::V31, data),
        "decode_v311" => fuzz_decode(Version::V311, data),
        "decode_v5" => fuzz_decode(Version::V5, data),
        "roundtrip" => fuzz_roundtrip(data),
        "fragmented" => fuzz_fragmented(data),
        _ => panic!("unknown fuzz target {target}"),
    }
}

// ---- reason codes the standard allows per packet ---------------------------------------------

/// MQTT 3.1.1 CONNACK return codes 0 to 5, as the reason codes they map onto (§3.2.2.3).
pub(crate) const V311_CONNACK_CODES: &[u8] = &[0x00, 0x84, 0x85, 0x88, 0x86, 0x87];
/// MQTT 3.1.1 SUBACK return codes (§3.9.3).
pub(crate) const V311_SUBACK_CODES: &[u8] = &[0x00, 0x01, 0x02, 0x80];
/// MQTT 3.1 SUBACK granted QoS levels (MQTT 3.1 §3.9): no failure code.
pub(crate) const V31_SUBACK_CODES: &[u8] = &[0x00, 0x01, 0x02];

/// The SUBACK codes of `version`.
pub(crate) fn suback_codes(version: Version) -> &'static [u8] {
    match version {
        Version::V5 => SUBACK_CODES,
        Version::V31 => V31_SUBACK_CODES,
        _ => V311_SUBACK_CODES,
    }
}

/// `client_id` made fit for `version`: MQTT 3.1 needs 1 to 23 characters (MQTT 3.1 §3.1), so an
/// empty one becomes "c" and a longer one keeps its first 23; other versions take any.
pub(crate) fn client_id_for(version: Version, client_id: ByteString) -> ByteString {
    if version != Version::V31 {
        return client_id;
    }
    if client_id.is_empty() {
        return ByteString::from_static("c");
    }
    match client_id.char_indices().nth(23) {
        Some((end, _)) => ByteString::from(&client_id[..end]),
        None => client_id,
    }
}
/// MQTT 5.0 §3.2.2.2.
pub(crate) const CONNACK_CODES: &[u8] = &[
    0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97,
    0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F,
];
/// MQTT 5.0 §3.4.2.1 and §3.5.2.1.
pub(crate) const PUBACK_CODES: &[u8] = &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
/// MQTT 5.0 §3.6.2.1 and §3.7.2.1.
pub(crate) const PUBREL_CODES: &[u8] = &[0x00, 0x92];
/// MQTT 5.0 §3.9.3.
pub(crate) const SUBACK_CODES: &[u8] = &[
    0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2,
];
/// MQTT 5.0 §3.11.3.
pub(crate) const UNSUBACK_CODES: &[u8] = &[0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91];
/// MQTT 5.0 §3.14.2.1.
pub(crate) const DISCONNECT_CODES: &[u8] = &[
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95,
    0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2,
];
/// MQTT 5.0 §3.15.2.1.
pub(crate) const AUTH_CODES: &[u8] = &[0x00, 0x18, 0x19];

// ---- encoding checks -------------------------------------------------------------------------

/// Encodes `packet`, which must be encodable for `version`, and checks everything that follows
/// from it; returns the bytes.
///
/// - the bytes written are exactly `encoded_len`;
/// - they decode to `packet`, taking all of them, with each of the three decode entry points;
/// - encoding the decoded packet gives the same bytes (the encoding is canonical);
/// - for PUBLISH, `encode_header` followed by the payload gives the same bytes, and
///   `checked_len` the same length;
/// - a buffer one byte too small is refused with `BufferTooSmall` and left untouched.
pub(crate) fn check_encoding(version: Version, packet: &Packet) -> Vec<u8> {
    let mut wire = Vec::new();
    if let Err(e) = packet.encode(version, &mut wire) {
        panic!("{version}: encoding {packet:?} failed: {e:?}");
    }
    assert_eq!(
        wire.len(),
        packet.encoded_len(version),
        "{version}: encoded_len of {packet:?}"
    );

    let decoder = Decoder::new(version);
    let decoded = match decoder.decode_slice(&wire) {
        Ok(Some((decoded, len))) => {
            assert_eq!(
                len,
                wire.len(),
                "{version}: decode_slice length, {packet:?}"
            );
            decoded
        }
        other => panic!("{version}: decoding {packet:?} from {wire:02X?} gave {other:?}"),
    };
    assert_eq!(&decoded, packet, "{version}: roundtrip of {wire:02X?}");
    let mut buf = BytesMut::from(&wire[..]);
    assert_eq!(decoder.decode(&mut buf), Ok(Some(packet.clone())));
    assert!(buf.is_empty());
    let mut bytes = Bytes::from(wire.clone());
    assert_eq!(decoder.decode_bytes(&mut bytes), Ok(Some(packet.clone())));
    assert!(bytes.is_empty());

    let mut again = Vec::new();
    decoded
        .encode(version, &mut again)
        .expect("a decoded packet encodes");
    assert_eq!(again, wire, "{version}: re-encoding {decoded:?}");

    if let Packet::Publish(publish) = packet {
        let mut header = Vec::new();
        publish
            .encode_header(version, &mut header)
            .expect("encode_header succeeds where encode does");
        header.extend_from_slice(&publish.payload);
        assert_eq!(header, wire, "{version}: encode_header + payload");
        assert_eq!(
            publish.checked_len(version),
            Ok(wire.len()),
            "{version}: checked_len"
        );
    }

    // Too small a buffer: refused, nothing written.
    let mut small = vec![0xA5u8; wire.len() - 1];
    let mut out: &mut [u8] = &mut small;
    match packet.encode(version, &mut out) {
        Err(EncodeError::BufferTooSmall { needed, .. }) => assert_eq!(needed, wire.len()),
        other => panic!(
            "{version}: encoding into {} bytes gave {other:?}",
            wire.len() - 1
        ),
    }
    assert!(
        small.iter().all(|&b| b == 0xA5),
        "{version}: a refused encode wrote into the buffer"
    );
    wire
}

/// Checks a packet the decoder accepted: it encodes again, and the result decodes back to the
/// same packet (which `check_encoding` also proves canonical).
///
/// Packet bytes from a peer need not be canonical (property order, MQTT 3.1.1's longer
/// remaining lengths), so the original bytes are not compared.
///
/// Two packets decode but are refused by the encoder on purpose. An MQTT 3.1.1 CONNECT with an
/// empty client identifier and Clean Session 0: the client must not send it (MQTT-3.1.3-7), but
/// a server must answer it with CONNACK 0x02 Identifier rejected (MQTT-3.1.3-8), so it is not
/// malformed and has to decode. And an MQTT 3.1 CONNECT whose client identifier is not 1 to 23
/// characters long, which a server answers with CONNACK 2 too (MQTT 3.1 §3.1, §3.2). For them,
/// the refusal is checked, and then the same CONNECT made valid goes through the usual checks.
pub(crate) fn check_decoded(version: Version, packet: &Packet) {
    if let Packet::Connect(connect) = packet
        && version == Version::V31
        && !(1..=23).contains(&connect.client_id.chars().count())
    {
        let chars = connect.client_id.chars().count();
        assert_eq!(
            packet.encode(version, &mut Vec::new()),
            Err(EncodeError::ClientIdLength { chars }),
            "MQTT 3.1: the encoder must refuse {connect:?}"
        );
        let mut fixed = connect.clone();
        fixed.client_id = client_id_for(version, fixed.client_id);
        check_encoding(version, &Packet::Connect(fixed));
        return;
    }
    if let Packet::Connect(connect) = packet
        && !version.is_v5()
        && connect.client_id.is_empty()
        && !connect.clean_start
    {
        assert!(
            matches!(
                packet.encode(version, &mut Vec::new()),
                Err(EncodeError::InvalidConnect(_))
            ),
            "MQTT-3.1.3-7: the encoder must refuse {connect:?}"
        );
        let mut fixed = connect.clone();
        fixed.clean_start = true;
        check_encoding(version, &Packet::Connect(fixed));
        return;
    }
    check_encoding(version, packet);
}

// ---- decoding checks -------------------------------------------------------------------------

/// How decoding a buffer ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// `decode` returned `None` with this many bytes left in the buffer.
    NeedMore(usize),
    /// `decode` failed.
    Error(DecodeError),
}

/// The packets decoded from a stream and how decoding ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) packets: Vec<Packet>,
    pub(crate) end: End,
}

/// Decodes `data` with `decode`, `decode_bytes` and `decode_slice` side by side until one of
/// them returns `None` or an error, and checks that they agree at every step.
pub(crate) fn decode_all(decoder: Decoder, data: &[u8]) -> Outcome {
    let mut buf = BytesMut::from(data);
    let mut bytes = Bytes::copy_from_slice(data);
    let mut offset = 0;
    let mut packets = Vec::new();
    loop {
        let before = buf.len();
        let from_buf = decoder.decode(&mut buf);
        let from_bytes = decoder.decode_bytes(&mut bytes);
        let from_slice = decoder.decode_slice(&data[offset..]);
        let from_ref = decoder
            .decode_ref(&data[offset..])
            .map(|p| p.map(|(packet, len)| (packet.into_owned(), len)));
        assert_eq!(from_buf, from_bytes, "decode and decode_bytes disagree");
        assert_eq!(from_slice, from_ref, "decode_slice and decode_ref disagree");
        match from_slice {
            Ok(Some((packet, len))) => {
                assert!(len <= data.len() - offset, "decode_slice took {len} bytes");
                assert_eq!(before - buf.len(), len, "decode and decode_slice lengths");
                assert_eq!(bytes.len(), buf.len(), "decode and decode_bytes lengths");
                assert_eq!(
                    from_buf,
                    Ok(Some(packet.clone())),
                    "decode and decode_slice"
                );
                offset += len;
                packets.push(packet);
            }
            Ok(None) => {
                assert_eq!(from_buf, Ok(None), "decode and decode_slice disagree");
                assert_eq!(buf.len(), before, "None must leave the buffer alone");
                assert_eq!(bytes.len(), before, "None must leave the buffer alone");
                return Outcome {
                    packets,
                    end: End::NeedMore(before),
                };
            }
            Err(e) => {
                assert_eq!(from_buf, Err(e.clone()), "decode and decode_slice disagree");
                assert_eq!(
                    bytes.len(),
                    before,
                    "decode_bytes must not consume on error"
                );
                return Outcome {
                    packets,
                    end: End::Error(e),
                };
            }
        }
    }
}

/// Feeds `data` to `decoder` in pieces, cut at each of `cuts` (in any order, out of range ones
/// clamped), decoding all it can after each piece.
pub(crate) fn feed_in_pieces(decoder: Decoder, data: &[u8], cuts: &[usize]) -> Outcome {
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(data.len())).collect();
    cuts.push(data.len());
    cuts.sort_unstable();
    let mut buf = BytesMut::new();
    let mut packets = Vec::new();
    let mut start = 0;
    for cut in cuts {
        buf.extend_from_slice(&data[start..cut]);
        start = cut;
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(packet)) => packets.push(packet),
                Ok(None) => break,
                Err(e) => {
                    return Outcome {
                        packets,
                        end: End::Error(e),
                    };
                }
            }
        }
    }
    Outcome {
        packets,
        end: End::NeedMore(buf.len()),
    }
}

/// Fuzz target `decode_v311` / `decode_v5`: arbitrary bytes decode without panicking, the three
/// decode entry points agree, and every packet decoded re-encodes and decodes back equal.
pub(crate) fn fuzz_decode(version: Version, data: &[u8]) {
    let outcome = decode_all(Decoder::new(version), data);
    for packet in &outcome.packets {
        check_decoded(version, packet);
    }
}

/// Fuzz target `fragmented`: the first four bytes choose the version, a maximum packet size,
/// a first cut and a piece size; the rest is a stream fed whole and fed in pieces, which must
/// decode alike.
///
/// Byte 0: bit 0 MQTT 5.0, bit 1 a small maximum packet size of `(byte0 >> 2) * 8 + 2` bytes;
/// without either, bit 2 MQTT 3.1 (MQTT 3.1.1 otherwise).
/// Bytes 1 and 2: the first cut, big endian, modulo the stream length + 1. Byte 3: the size of
/// the pieces after the first cut, minus one.
pub(crate) fn fuzz_fragmented(data: &[u8]) {
    let Some((control, stream)) = data.split_first_chunk::<4>() else {
        return;
    };
    let version = if control[0] & 1 != 0 {
        Version::V5
    } else if control[0] & 0b110 == 0b100 {
        Version::V31
    } else {
        Version::V311
    };
    let max = if control[0] & 0b10 != 0 {
        u32::from(control[0] >> 2) * 8 + 2
    } else {
        MAX_PACKET_SIZE
    };
    let decoder = Decoder::new(version).with_max_packet_size(max);
    let first = usize::from(u16::from_be_bytes([control[1], control[2]])) % (stream.len() + 1);
    let step = usize::from(control[3]) + 1;
    let cuts: Vec<usize> = core::iter::once(first)
        .chain((first + step..stream.len()).step_by(step))
        .collect();
    let whole = decode_all(decoder, stream);
    let pieces = feed_in_pieces(decoder, stream, &cuts);
    assert_eq!(
        whole, pieces,
        "{version}: fed whole vs in pieces cut at {cuts:?}"
    );
    let bytewise = feed_in_pieces(decoder, stream, &(0..stream.len()).collect::<Vec<_>>());
    assert_eq!(
        whole, bytewise,
        "{version}: fed whole vs one byte at a time"
    );
}

/// Fuzz target `roundtrip`: builds a valid packet from the input and checks it with
/// [`check_encoding`].
pub(crate) fn fuzz_roundtrip(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(version) = u.choose(&VERSIONS).copied() else {
        return;
    };
    let Ok(packet) = arbitrary_packet(&mut u, version) else {
        return;
    };
    check_encoding(version, &packet);
}

// ---- valid packets from unstructured bytes ---------------------------------------------------

/// A short string of arbitrary characters other than U+0000.
pub(crate) fn arbitrary_string(u: &mut Unstructured<'_>) -> AResult<ByteString> {
    let len = u.int_in_range(0..=6)?;
    let mut s = std::string::String::new();
    for _ in 0..len {
        s.push(arbitrary_char(u, "\0")?);
    }
    Ok(s.into())
}

/// A character, mostly from the ranges topics use, never one of `forbidden`.
fn arbitrary_char(u: &mut Unstructured<'_>, forbidden: &str) -> AResult<char> {
    const COMMON: &[char] = &['a', 'b', 'Z', '0', '/', '$', ' ', '+', '#', 'é', '€', '😀'];
    let c = if u.ratio(3, 4)? {
        *u.choose(COMMON)?
    } else {
        u.arbitrary::<char>()?
    };
    Ok(if forbidden.contains(c) { 'x' } else { c })
}

/// A level of a topic name or filter, without `/`, `+`, `#` or U+0000.
fn arbitrary_level(u: &mut Unstructured<'_>) -> AResult<std::string::String> {
    let len = u.int_in_range(0..=4)?;
    (0..len).map(|_| arbitrary_char(u, "\0/+#")).collect()
}

/// A valid, non-empty topic name.
pub(crate) fn arbitrary_topic_name(u: &mut Unstructured<'_>) -> AResult<TopicName> {
    let levels = u.int_in_range(1..=4)?;
    let mut name = std::string::String::new();
    if u.ratio(1, 8)? {
        name.push('$');
    }
    for i in 0..levels {
        if i > 0 {
            name.push('/');
        }
        name.push_str(&arbitrary_level(u)?);
    }
    if name.is_empty() {
        name.push('t');
    }
    Ok(TopicName::new(name).expect("a valid topic name"))
}

/// A valid topic filter, maybe with wildcards, maybe shared.
pub(crate) fn arbitrary_topic_filter(u: &mut Unstructured<'_>) -> AResult<TopicFilter> {
    let mut filter = std::string::String::new();
    if u.ratio(1, 6)? {
        filter.push_str("$share/");
        let share = arbitrary_level(u)?;
        filter.push_str(if share.is_empty() { "g" } else { &share });
        filter.push('/');
    }
    let prefix = filter.len();
    let levels = u.int_in_range(1..=4)?;
    for i in 0..levels {
        if i > 0 {
            filter.push('/');
        }
        match u.int_in_range(0..=5)? {
            0 => filter.push('+'),
            1 if i + 1 == levels => filter.push('#'),
            _ => filter.push_str(&arbitrary_level(u)?),
        }
    }
    if filter.len() == prefix {
        // Empty, or a shared subscription without a filter.
        filter.push('t');
    }
    Ok(TopicFilter::new(filter).expect("a valid topic filter"))
}

fn arbitrary_bytes(u: &mut Unstructured<'_>) -> AResult<Bytes> {
    let len = u.int_in_range(0..=12)?;
    Ok(Bytes::copy_from_slice(u.bytes(len)?))
}

fn arbitrary_option<T>(
    u: &mut Unstructured<'_>,
    f: impl FnOnce(&mut Unstructured<'_>) -> AResult<T>,
) -> AResult<Option<T>> {
    Ok(if u.arbitrary()? { Some(f(u)?) } else { None })
}

fn arbitrary_user_properties(u: &mut Unstructured<'_>) -> AResult<Vec<UserProperty>> {
    let n = u.int_in_range(0..=3)?;
    (0..n)
        .map(|_| {
            Ok(UserProperty {
                key: arbitrary_string(u)?,
                value: arbitrary_string(u)?,
            })
        })
        .collect()
}

fn arbitrary_packet_id(u: &mut Unstructured<'_>) -> AResult<PacketId> {
    Ok(PacketId::new(u.int_in_range(1..=u16::MAX)?).expect("non-zero"))
}

fn arbitrary_qos(u: &mut Unstructured<'_>) -> AResult<QoS> {
    u.choose(&[QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce])
        .copied()
}

fn arbitrary_code(u: &mut Unstructured<'_>, codes: &[u8]) -> AResult<ReasonCode> {
    Ok(ReasonCode(*u.choose(codes)?))
}

fn nonzero_u16(u: &mut Unstructured<'_>) -> AResult<core::num::NonZeroU16> {
    Ok(core::num::NonZeroU16::new(u.int_in_range(1..=u16::MAX)?).expect("non-zero"))
}

fn nonzero_u32(u: &mut Unstructured<'_>, max: u32) -> AResult<core::num::NonZeroU32> {
    Ok(core::num::NonZeroU32::new(u.int_in_range(1..=max)?).expect("non-zero"))
}

/// A packet of any type `version` has, valid for `version`: it encodes, and decodes back equal.
pub(crate) fn arbitrary_packet(u: &mut Unstructured<'_>, version: Version) -> AResult<Packet> {
    let v5 = version.is_v5();
    let kinds = if v5 { 15 } else { 14 };
    Ok(match u.choose_index(kinds)? {
        0 => Packet::from(arbitrary_connect(u, version)?),
        1 => {
            let reason_code = arbitrary_code(
                u,
                if v5 {
                    CONNACK_CODES
                } else {
                    V311_CONNACK_CODES
                },
            )?;
            // MQTT-3.2.2-4 (3.1.1), MQTT-3.2.2-6 (5.0): no session with a failure; MQTT 3.1
            // has no Session Present flag.
            let session_present = reason_code == ReasonCode::SUCCESS
                && version.has_session_present()
                && u.arbitrary()?;
            let properties = if v5 {
                arbitrary_connack_properties(u)?
            } else {
                ConnAckProperties::default()
            };
            Packet::from(ConnAck {
                session_present,
                reason_code,
                properties,
            })
        }
        2 => Packet::Publish(arbitrary_publish(u, version)?),
        3 => {
            let (packet_id, reason_code, properties) = arbitrary_ack(u, version, PUBACK_CODES)?;
            Packet::PubAck(PubAck {
                packet_id,
                reason_code,
                properties,
            })
        }
        4 => {
            let (packet_id, reason_code, properties) = arbitrary_ack(u, version, PUBACK_CODES)?;
            Packet::PubRec(PubRec {
                packet_id,
                reason_code,
                properties,
            })
        }
        5 => {
            let (packet_id, reason_code, properties) = arbitrary_ack(u, version, PUBREL_CODES)?;
            Packet::PubRel(PubRel {
                packet_id,
                reason_code,
                properties,
            })
        }
        6 => {
            let (packet_id, reason_code, properties) = arbitrary_ack(u, version, PUBREL_CODES)?;
            Packet::PubComp(PubComp {
                packet_id,
                reason_code,
                properties,
            })
        }
        7 => {
            let n = u.int_in_range(1..=4)?;
            let mut subscriptions = Vec::with_capacity(n);
            for _ in 0..n {
                let filter = arbitrary_topic_filter(u)?;
                let qos = arbitrary_qos(u)?;
                let options = if v5 {
                    SubscriptionOptions {
                        qos,
                        no_local: !filter.is_shared() && u.arbitrary()?,
                        retain_as_published: u.arbitrary()?,
                        retain_handling: *u.choose(&[
                            RetainHandling::SendAtSubscribe,
                            RetainHandling::SendAtSubscribeIfNew,
                            RetainHandling::DoNotSend,
                        ])?,
                    }
                } else {
                    SubscriptionOptions {
                        qos,
                        ..SubscriptionOptions::default()
                    }
                };
                subscriptions.push(Subscription { filter, options });
            }
            let properties = if v5 {
                SubscribeProperties {
                    subscription_identifier: arbitrary_option(u, |u| nonzero_u32(u, MAX_VAR_INT))?,
                    user_properties: arbitrary_user_properties(u)?,
                }
            } else {
                SubscribeProperties::default()
            };
            Packet::Subscribe(Subscribe {
                packet_id: arbitrary_packet_id(u)?,
                subscriptions,
                properties,
            })
        }
        8 => {
            let n = u.int_in_range(1..=4)?;
            let codes = suback_codes(version);
            let reason_codes = (0..n)
                .map(|_| arbitrary_code(u, codes))
                .collect::<AResult<_>>()?;
            Packet::SubAck(SubAck {
                packet_id: arbitrary_packet_id(u)?,
                reason_codes,
                properties: arbitrary_ack_properties(u, version)?,
            })
        }
        9 => {
            let n = u.int_in_range(1..=4)?;
            let filters = (0..n)
                .map(|_| arbitrary_topic_filter(u))
                .collect::<AResult<_>>()?;
            let properties = if v5 {
                UnsubscribeProperties {
                    user_properties: arbitrary_user_properties(u)?,
                }
            } else {
                UnsubscribeProperties::default()
            };
            Packet::Unsubscribe(Unsubscribe {
                packet_id: arbitrary_packet_id(u)?,
                filters,
                properties,
            })
        }
        10 => {
            let reason_codes = if v5 {
                let n = u.int_in_range(1..=4)?;
                (0..n)
                    .map(|_| arbitrary_code(u, UNSUBACK_CODES))
                    .collect::<AResult<_>>()?
            } else {
                Vec::new()
            };
            Packet::UnsubAck(UnsubAck {
                packet_id: arbitrary_packet_id(u)?,
                reason_codes,
                properties: arbitrary_ack_properties(u, version)?,
            })
        }
        11 => Packet::PingReq,
        12 => Packet::PingResp,
        13 => {
            if v5 {
                Packet::from(Disconnect {
                    reason_code: arbitrary_code(u, DISCONNECT_CODES)?,
                    properties: DisconnectProperties {
                        session_expiry_interval: arbitrary_option(u, |u| u.arbitrary())?,
                        reason_string: arbitrary_option(u, arbitrary_string)?,
                        user_properties: arbitrary_user_properties(u)?,
                        server_reference: arbitrary_option(u, arbitrary_string)?,
                    },
                })
            } else {
                Packet::from(Disconnect::default())
            }
        }
        _ => {
            let authentication_method = arbitrary_option(u, arbitrary_string)?;
            let authentication_data = if authentication_method.is_some() {
                arbitrary_option(u, arbitrary_bytes)?
            } else {
                None
            };
            Packet::from(Auth {
                reason_code: arbitrary_code(u, AUTH_CODES)?,
                properties: AuthProperties {
                    authentication_method,
                    authentication_data,
                    reason_string: arbitrary_option(u, arbitrary_string)?,
                    user_properties: arbitrary_user_properties(u)?,
                },
            })
        }
    })
}

fn arbitrary_connect(u: &mut Unstructured<'_>, version: Version) -> AResult<Connect> {
    let v5 = version.is_v5();
    let client_id = client_id_for(version, arbitrary_string(u)?);
    // MQTT-3.1.3-7 (3.1.1): an empty client identifier needs Clean Session.
    let clean_start = u.arbitrary::<bool>()? || (!v5 && client_id.is_empty());
    let will = arbitrary_option(u, |u| {
        Ok(Will {
            topic: arbitrary_topic_name(u)?,
            payload: arbitrary_bytes(u)?,
            qos: arbitrary_qos(u)?,
            retain: u.arbitrary()?,
            properties: if v5 {
                WillProperties {
                    will_delay_interval: arbitrary_option(u, |u| u.arbitrary())?,
                    payload_format_indicator: arbitrary_option(u, |u| u.arbitrary())?,
                    message_expiry_interval: arbitrary_option(u, |u| u.arbitrary())?,
                    content_type: arbitrary_option(u, arbitrary_string)?,
                    response_topic: arbitrary_option(u, arbitrary_topic_name)?,
                    correlation_data: arbitrary_option(u, arbitrary_bytes)?,
                    user_properties: arbitrary_user_properties(u)?,
                }
            } else {
                WillProperties::default()
            },
        })
    })?;
    let username = arbitrary_option(u, arbitrary_string)?;
    // MQTT-3.1.2-22 (3.1.1): a password needs a user name.
    let password = if v5 || username.is_some() {
        arbitrary_option(u, arbitrary_bytes)?
    } else {
        None
    };
    let properties = if v5 {
        let authentication_method = arbitrary_option(u, arbitrary_string)?;
        ConnectProperties {
            session_expiry_interval: arbitrary_option(u, |u| u.arbitrary())?,
            receive_maximum: arbitrary_option(u, nonzero_u16)?,
            maximum_packet_size: arbitrary_option(u, |u| nonzero_u32(u, u32::MAX))?,
            topic_alias_maximum: arbitrary_option(u, |u| u.arbitrary())?,
            request_response_information: arbitrary_option(u, |u| u.arbitrary())?,
            request_problem_information: arbitrary_option(u, |u| u.arbitrary())?,
            user_properties: arbitrary_user_properties(u)?,
            authentication_data: if authentication_method.is_some() {
                arbitrary_option(u, arbitrary_bytes)?
            } else {
                None
            },
            authentication_method,
        }
    } else {
        ConnectProperties::default()
    };
    Ok(Connect {
        clean_start,
        keep_alive: u.arbitrary()?,
        client_id,
        will,
        username,
        password,
        properties,
    })
}

fn arbitrary_connack_properties(u: &mut Unstructured<'_>) -> AResult<ConnAckProperties> {
    Ok(ConnAckProperties {
        session_expiry_interval: arbitrary_option(u, |u| u.arbitrary())?,
        receive_maximum: arbitrary_option(u, nonzero_u16)?,
        maximum_qos: arbitrary_option(u, |u| {
            u.choose(&[QoS::AtMostOnce, QoS::AtLeastOnce]).copied()
        })?,
        retain_available: arbitrary_option(u, |u| u.arbitrary())?,
        maximum_packet_size: arbitrary_option(u, |u| nonzero_u32(u, u32::MAX))?,
        assigned_client_identifier: arbitrary_option(u, arbitrary_string)?,
        topic_alias_maximum: arbitrary_option(u, |u| u.arbitrary())?,
        reason_string: arbitrary_option(u, arbitrary_string)?,
        user_properties: arbitrary_user_properties(u)?,
        wildcard_subscription_available: arbitrary_option(u, |u| u.arbitrary())?,
        subscription_identifiers_available: arbitrary_option(u, |u| u.arbitrary())?,
        shared_subscription_available: arbitrary_option(u, |u| u.arbitrary())?,
        server_keep_alive: arbitrary_option(u, |u| u.arbitrary())?,
        response_information: arbitrary_option(u, arbitrary_string)?,
        server_reference: arbitrary_option(u, arbitrary_string)?,
        authentication_method: arbitrary_option(u, arbitrary_string)?,
        authentication_data: arbitrary_option(u, arbitrary_bytes)?,
    })
}

fn arbitrary_publish(u: &mut Unstructured<'_>, version: Version) -> AResult<Publish> {
    let v5 = version.is_v5();
    let qos = arbitrary_qos(u)?;
    let packet_id = if qos == QoS::AtMostOnce {
        None
    } else {
        Some(arbitrary_packet_id(u)?)
    };
    let properties = if v5 {
        PublishProperties {
            payload_format_indicator: arbitrary_option(u, |u| u.arbitrary())?,
            message_expiry_interval: arbitrary_option(u, |u| u.arbitrary())?,
            topic_alias: arbitrary_option(u, nonzero_u16)?,
            response_topic: arbitrary_option(u, arbitrary_topic_name)?,
            correlation_data: arbitrary_option(u, arbitrary_bytes)?,
            user_properties: arbitrary_user_properties(u)?,
            subscription_identifiers: {
                let n = u.int_in_range(0..=3)?;
                (0..n)
                    .map(|_| nonzero_u32(u, MAX_VAR_INT))
                    .collect::<AResult<_>>()?
            },
            content_type: arbitrary_option(u, arbitrary_string)?,
        }
    } else {
        PublishProperties::default()
    };
    // MQTT 5.0 §3.3.2.3.4: a Topic Alias may stand for the topic name.
    let topic = if properties.topic_alias.is_some() && u.arbitrary()? {
        TopicName::default()
    } else {
        arbitrary_topic_name(u)?
    };
    Ok({
        let mut publish = Publish::new(topic, arbitrary_bytes(u)?);
        publish.dup = qos != QoS::AtMostOnce && u.arbitrary()?;
        publish.qos = qos;
        publish.retain = u.arbitrary()?;
        publish.packet_id = packet_id;
        publish.set_properties(properties);
        publish
    })
}

fn arbitrary_ack_properties(u: &mut Unstructured<'_>, version: Version) -> AResult<AckProperties> {
    Ok(if version.is_v5() {
        AckProperties {
            reason_string: arbitrary_option(u, arbitrary_string)?,
            user_properties: arbitrary_user_properties(u)?,
        }
    } else {
        AckProperties::default()
    })
}

fn arbitrary_ack(
    u: &mut Unstructured<'_>,
    version: Version,
    codes: &[u8],
) -> AResult<(PacketId, ReasonCode, AckProperties)> {
    let packet_id = arbitrary_packet_id(u)?;
    if !version.is_v5() {
        return Ok((packet_id, ReasonCode::SUCCESS, AckProperties::default()));
    }
    Ok((
        packet_id,
        arbitrary_code(u, codes)?,
        arbitrary_ack_properties(u, version)?,
    ))
}

// ---- fixed sample packets --------------------------------------------------------------------

fn topic(s: &str) -> TopicName {
    TopicName::new(s).expect("valid topic name")
}

fn filter(s: &str) -> TopicFilter {
    TopicFilter::new(s).expect("valid topic filter")
}

fn id(n: u16) -> PacketId {
    PacketId::new(n).expect("non-zero packet id")
}

/// A few packets of every type `version` has, from the smallest form to one with every field
/// set: the seed corpus and the fixed streams of the tests are made of them.
pub(crate) fn sample_packets(version: Version) -> Vec<Packet> {
    let v5 = version.is_v5();
    let user = || vec![UserProperty::new("k", "v"), UserProperty::new("k", "é€😀")];
    let mut packets = Vec::new();

    // CONNECT
    packets.push(Packet::from(Connect::new("client-1")));
    // MQTT 3.1 needs a client identifier of 1 to 23 characters.
    let mut full = Connect::new(if version == Version::V31 { "c" } else { "" });
    full.keep_alive = 0;
    full.username = Some("user".into());
    full.password = Some(Bytes::from_static(b"\x00\xffpass"));
    let mut will = Will::new(topic("last/will"), &b"gone"[..]);
    will.qos = QoS::ExactlyOnce;
    will.retain = true;
    if v5 {
        full.properties = ConnectProperties {
            session_expiry_interval: Some(3600),
            receive_maximum: core::num::NonZeroU16::new(20),
            maximum_packet_size: core::num::NonZeroU32::new(65_536),
            topic_alias_maximum: Some(10),
            request_response_information: Some(true),
            request_problem_information: Some(false),
            user_properties: user(),
            authentication_method: Some("SCRAM-SHA-1".into()),
            authentication_data: Some(Bytes::from_static(b"client-first")),
        };
        will.properties = WillProperties {
            will_delay_interval: Some(5),
            payload_format_indicator: Some(true),
            message_expiry_interval: Some(60),
            content_type: Some("text/plain".into()),
            response_topic: Some(topic("reply/here")),
            correlation_data: Some(Bytes::from_static(b"\x01\x02")),
            user_properties: user(),
        };
    }
    full.will = Some(will);
    packets.push(Packet::from(full));

    // CONNACK
    packets.push(Packet::from(ConnAck::default()));
    if version.has_session_present() {
        packets.push(Packet::from(ConnAck {
            session_present: true,
            ..ConnAck::default()
        }));
    }
    packets.push(Packet::from(ConnAck {
        reason_code: ReasonCode::NOT_AUTHORIZED,
        ..ConnAck::default()
    }));
    if v5 {
        packets.push(Packet::from(ConnAck {
            session_present: false,
            reason_code: ReasonCode::SUCCESS,
            properties: ConnAckProperties {
                session_expiry_interval: Some(0),
                receive_maximum: core::num::NonZeroU16::new(100),
                maximum_qos: Some(QoS::AtLeastOnce),
                retain_available: Some(false),
                maximum_packet_size: core::num::NonZeroU32::new(1024),
                assigned_client_identifier: Some("auto-1".into()),
                topic_alias_maximum: Some(5),
                reason_string: Some("welcome".into()),
                user_properties: user(),
                wildcard_subscription_available: Some(true),
                subscription_identifiers_available: Some(true),
                shared_subscription_available: Some(false),
                server_keep_alive: Some(30),
                response_information: Some("resp/".into()),
                server_reference: Some("other:1883".into()),
                authentication_method: Some("SCRAM-SHA-1".into()),
                authentication_data: Some(Bytes::from_static(b"server-final")),
            },
        }));
    }

    // PUBLISH
    packets.push(Packet::Publish(Publish::new(topic("a/b"), &b"hello"[..])));
    let mut qos1 = Publish::new(topic("$SYS/uptime"), &b""[..]);
    qos1.qos = QoS::AtLeastOnce;
    qos1.packet_id = Some(id(1));
    qos1.retain = true;
    packets.push(Packet::Publish(qos1));
    let mut qos2 = Publish::new(topic("/é/€/😀"), vec![0u8; 200]);
    qos2.qos = QoS::ExactlyOnce;
    qos2.packet_id = Some(id(u16::MAX));
    qos2.dup = true;
    if v5 {
        qos2.set_properties(PublishProperties {
            payload_format_indicator: Some(false),
            message_expiry_interval: Some(u32::MAX),
            topic_alias: core::num::NonZeroU16::new(3),
            response_topic: Some(topic("reply")),
            correlation_data: Some(Bytes::from_static(b"corr")),
            user_properties: user(),
            subscription_identifiers: [1, 127, 128, 16_384, MAX_VAR_INT]
                .into_iter()
                .filter_map(core::num::NonZeroU32::new)
                .collect(),
            content_type: Some("application/octet-stream".into()),
        });
        let mut aliased = Publish::new(TopicName::default(), &b"via alias"[..]);
        aliased.properties_mut().topic_alias = core::num::NonZeroU16::new(3);
        packets.push(Packet::Publish(aliased));
    }
    packets.push(Packet::Publish(qos2));

    // PUBACK, PUBREC, PUBREL, PUBCOMP
    packets.push(Packet::PubAck(PubAck::new(id(2))));
    packets.push(Packet::PubRec(PubRec::new(id(3))));
    packets.push(Packet::PubRel(PubRel::new(id(4))));
    packets.push(Packet::PubComp(PubComp::new(id(5))));
    if v5 {
        packets.push(Packet::PubAck(PubAck {
            reason_code: ReasonCode::NO_MATCHING_SUBSCRIBERS,
            ..PubAck::new(id(6))
        }));
        packets.push(Packet::PubRec(PubRec {
            reason_code: ReasonCode::QUOTA_EXCEEDED,
            properties: AckProperties {
                reason_string: Some("slow down".into()),
                user_properties: user(),
            },
            ..PubRec::new(id(7))
        }));
        packets.push(Packet::PubRel(PubRel {
            reason_code: ReasonCode::PACKET_IDENTIFIER_NOT_FOUND,
            ..PubRel::new(id(8))
        }));
        packets.push(Packet::PubComp(PubComp {
            properties: AckProperties {
                reason_string: None,
                user_properties: user(),
            },
            ..PubComp::new(id(9))
        }));
    }

    // SUBSCRIBE
    packets.push(Packet::Subscribe(Subscribe::new(
        id(10),
        vec![Subscription::new(filter("a/+/c"), QoS::AtMostOnce)],
    )));
    let mut subscriptions = vec![
        Subscription::new(filter("#"), QoS::ExactlyOnce),
        Subscription::new(filter("$share/group/sport/#"), QoS::AtLeastOnce),
        Subscription::new(filter("+/+/€"), QoS::AtLeastOnce),
    ];
    let mut properties = SubscribeProperties::default();
    if v5 {
        subscriptions[0].options = SubscriptionOptions {
            qos: QoS::ExactlyOnce,
            no_local: true,
            retain_as_published: true,
            retain_handling: RetainHandling::DoNotSend,
        };
        subscriptions[1].options.retain_handling = RetainHandling::SendAtSubscribeIfNew;
        properties.subscription_identifier = core::num::NonZeroU32::new(MAX_VAR_INT);
        properties.user_properties = user();
    }
    packets.push(Packet::Subscribe(Subscribe {
        packet_id: id(11),
        subscriptions,
        properties,
    }));

    // SUBACK
    packets.push(Packet::SubAck(SubAck {
        packet_id: id(12),
        reason_codes: vec![ReasonCode::GRANTED_QOS_1],
        properties: AckProperties::default(),
    }));
    packets.push(Packet::SubAck(SubAck {
        packet_id: id(13),
        reason_codes: vec![
            ReasonCode::GRANTED_QOS_0,
            ReasonCode::GRANTED_QOS_2,
            // MQTT 3.1 has no failure code: QoS 1 instead.
            if version == Version::V31 {
                ReasonCode::GRANTED_QOS_1
            } else {
                ReasonCode::UNSPECIFIED_ERROR
            },
        ],
        properties: if v5 {
            AckProperties {
                reason_string: Some("partly".into()),
                user_properties: user(),
            }
        } else {
            AckProperties::default()
        },
    }));

    // UNSUBSCRIBE
    packets.push(Packet::Unsubscribe(Unsubscribe::new(
        id(14),
        vec![filter("a/b")],
    )));
    let mut unsubscribe = Unsubscribe::new(
        id(15),
        vec![filter("#"), filter("$share/g/x/+"), filter("/")],
    );
    if v5 {
        unsubscribe.properties.user_properties = user();
    }
    packets.push(Packet::Unsubscribe(unsubscribe));

    // UNSUBACK
    if v5 {
        packets.push(Packet::UnsubAck(UnsubAck {
            packet_id: id(16),
            reason_codes: vec![ReasonCode::SUCCESS, ReasonCode::NO_SUBSCRIPTION_EXISTED],
            properties: AckProperties {
                reason_string: Some("done".into()),
                user_properties: Vec::new(),
            },
        }));
    } else {
        packets.push(Packet::UnsubAck(UnsubAck {
            packet_id: id(16),
            reason_codes: Vec::new(),
            properties: AckProperties::default(),
        }));
    }

    // PINGREQ, PINGRESP
    packets.push(Packet::PingReq);
    packets.push(Packet::PingResp);

    // DISCONNECT
    packets.push(Packet::from(Disconnect::default()));
    if v5 {
        packets.push(Packet::from(Disconnect::new(
            ReasonCode::DISCONNECT_WITH_WILL,
        )));
        packets.push(Packet::from(Disconnect {
            reason_code: ReasonCode::SERVER_MOVED,
            properties: DisconnectProperties {
                session_expiry_interval: Some(10),
                reason_string: Some("moving".into()),
                user_properties: user(),
                server_reference: Some("elsewhere".into()),
            },
        }));
    }

    // AUTH
    if v5 {
        packets.push(Packet::from(Auth::default()));
        packets.push(Packet::from(Auth {
            reason_code: ReasonCode::CONTINUE_AUTHENTICATION,
            properties: AuthProperties {
                authentication_method: Some("SCRAM-SHA-1".into()),
                authentication_data: Some(Bytes::from_static(b"\x00\x01\x02")),
                reason_string: Some("again".into()),
                user_properties: user(),
            },
        }));
    }
    packets
}

/// The sample packets of `version` encoded back to back.
pub(crate) fn sample_stream(version: Version) -> Vec<u8> {
    let mut wire = Vec::new();
    for packet in sample_packets(version) {
        packet
            .encode(version, &mut wire)
            .expect("sample packets are valid");
    }
    wire
}
