//! One test per rule that makes bytes invalid or a packet unencodable.
//!
//! Decoding tests assert the exact [`DecodeError`] and the MQTT 5.0 reason code it maps to
//! ([`DecodeError::reason_code`]): 0x81 Malformed Packet, 0x82 Protocol Error, 0x84 Unsupported
//! Protocol Version, 0x90 Topic Name invalid, 0x95 Packet too large. Test names carry the
//! normative statement they check where the standard numbers it (MQTT 3.1.1 numbering unless the
//! name says `v5`); the doc comment cites the other version's statement or section. MQTT 3.1.1
//! sends no reason codes, so for its packets `reason_code` is what an MQTT 5.0 peer would send.
//!
//! Encoding tests assert the exact [`EncodeError`] and that nothing was written.

use std::num::{NonZeroU16, NonZeroU32};

use bytes::{Bytes, BytesMut};
use mqtt_proto::topic::TopicError;
use mqtt_proto::{
    AckProperties, Auth, ByteString, ConnAck, ConnAckProperties, Connect, ConnectProperties,
    DecodeError, Decoder, Disconnect, DisconnectProperties, EncodeError, MAX_STRING_LEN,
    MAX_VAR_INT, Packet, PacketId, PacketType, PropertyId, PubAck, PubComp, PubRec, PubRel,
    Publish, PublishProperties, QoS, ReasonCode, RetainHandling, SubAck, Subscribe,
    SubscribeProperties, Subscription, SubscriptionOptions, TopicFilter, TopicName, UnsubAck,
    Unsubscribe, UnsubscribeProperties, UserProperty, Version, Will, WillProperties,
};

const V3: Version = Version::V311;
const V5: Version = Version::V5;
const BOTH: [Version; 2] = [V3, V5];

const MALFORMED: ReasonCode = ReasonCode::MALFORMED_PACKET;
const PROTOCOL_ERROR: ReasonCode = ReasonCode::PROTOCOL_ERROR;

// ---- helpers ---------------------------------------------------------------------------------

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// A Variable Byte Integer in its shortest form (MQTT 5.0 §1.5.5).
fn var_int(mut value: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (value % 128) as u8;
        value /= 128;
        if value == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// A whole packet: first byte, Remaining Length, body.
fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    cat(&[&[first], &var_int(body.len()), body])
}

/// A property list with its length prefix.
fn props(list: &[u8]) -> Vec<u8> {
    cat(&[&var_int(list.len()), list])
}

/// A length-prefixed string or binary field with arbitrary content.
fn field(data: &[u8]) -> Vec<u8> {
    cat(&[&(data.len() as u16).to_be_bytes(), data])
}

/// Decodes `wire`, which must be a whole (bad) packet, through the three entry points, which must
/// agree on the error. Errors found in the fixed header leave the buffer as it was.
fn decode_error(version: Version, wire: &[u8]) -> DecodeError {
    let decoder = Decoder::new(version);
    let header_error = decoder.packet_len(wire).err();
    let mut buf = BytesMut::from(wire);
    let error = match decoder.decode(&mut buf) {
        Err(e) => e,
        Ok(p) => panic!("{} decoded as {p:?} in {version}", hex(wire)),
    };
    if let Some(header_error) = header_error {
        assert_eq!(header_error, error);
        assert_eq!(&buf[..], wire, "a fixed header error consumed bytes");
    }
    assert_eq!(decoder.decode_slice(wire), Err(error.clone()));
    assert_eq!(decoder.decode_ref(wire), Err(error.clone()));
    let mut bytes = Bytes::copy_from_slice(wire);
    assert_eq!(decoder.decode_bytes(&mut bytes), Err(error.clone()));
    assert_eq!(
        bytes.len(),
        wire.len(),
        "decode_bytes consumed a bad packet"
    );
    error
}

/// `wire` is refused with `expected`, which maps to `reason_code`.
#[track_caller]
fn refused(version: Version, wire: &[u8], expected: DecodeError, reason_code: ReasonCode) {
    let error = decode_error(version, wire);
    assert_eq!(error, expected, "{} in {version}", hex(wire));
    assert_eq!(error.reason_code(), reason_code, "reason code of {error:?}");
}

/// `wire` decodes to one packet.
#[track_caller]
fn accepted(version: Version, wire: &[u8]) -> Packet {
    let mut buf = BytesMut::from(wire);
    let packet = Decoder::new(version)
        .decode(&mut buf)
        .unwrap_or_else(|e| panic!("{} refused in {version}: {e:?}", hex(wire)))
        .expect("a whole packet");
    assert!(buf.is_empty());
    packet
}

/// `packet` is refused with `expected`, writing nothing.
#[track_caller]
fn unencodable(version: Version, packet: impl Into<Packet>, expected: EncodeError) {
    let packet = packet.into();
    let mut out = Vec::new();
    assert_eq!(
        packet.encode(version, &mut out),
        Err(expected.clone()),
        "{packet:?} in {version}"
    );
    assert!(out.is_empty(), "a refused encode wrote {} bytes", out.len());
    if let Packet::Publish(publish) = &packet {
        assert_eq!(
            publish.checked_len(version),
            Err(expected),
            "checked_len refuses what encode refuses"
        );
    }
}

fn id(value: u16) -> PacketId {
    PacketId::new(value).unwrap()
}

fn topic(name: &str) -> TopicName {
    TopicName::new(name).unwrap()
}

fn filter(filter: &str) -> TopicFilter {
    TopicFilter::new(filter).unwrap()
}

// Builders of valid packets around one field under test.

/// PUBLISH QoS 0 to a topic given as raw bytes.
fn publish_to(version: Version, topic: &[u8]) -> Vec<u8> {
    let mut body = field(topic);
    if version.is_v5() {
        body.push(0x00);
    }
    packet(0x30, &body)
}

/// CONNECT with a client identifier given as raw bytes.
fn connect_with_client_id(version: Version, client_id: &[u8]) -> Vec<u8> {
    let mut body = cat(&[&field(b"MQTT"), &[version.level(), 0x02, 0x00, 0x3C]]);
    if version.is_v5() {
        body.push(0x00);
    }
    body.extend_from_slice(&field(client_id));
    packet(0x10, &body)
}

/// CONNECT with flags and a payload given as raw bytes.
fn connect_with_flags(version: Version, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut body = cat(&[&field(b"MQTT"), &[version.level(), flags, 0x00, 0x3C]]);
    if version.is_v5() {
        body.push(0x00);
    }
    body.extend_from_slice(payload);
    packet(0x10, &body)
}

fn v5_connect_with_properties(list: &[u8]) -> Vec<u8> {
    let body = cat(&[
        &field(b"MQTT"),
        &[0x05, 0x02, 0x00, 0x3C],
        &props(list),
        &field(b"c"),
    ]);
    packet(0x10, &body)
}

fn v5_connect_with_will_properties(list: &[u8]) -> Vec<u8> {
    let body = cat(&[
        &field(b"MQTT"),
        &[0x05, 0x06, 0x00, 0x3C, 0x00],
        &field(b"c"),
        &props(list),
        &field(b"t"),
        &field(b""),
    ]);
    packet(0x10, &body)
}

fn v5_connack_with_properties(list: &[u8]) -> Vec<u8> {
    packet(0x20, &cat(&[&[0x00, 0x00], &props(list)]))
}

fn v5_publish_with_properties(list: &[u8]) -> Vec<u8> {
    packet(0x30, &cat(&[&field(b"t"), &props(list)]))
}

fn v5_puback_with_properties(list: &[u8]) -> Vec<u8> {
    packet(0x40, &cat(&[&[0x00, 0x01, 0x00], &props(list)]))
}

fn v5_subscribe_with_properties(list: &[u8]) -> Vec<u8> {
    packet(
        0x82,
        &cat(&[&[0x00, 0x01], &props(list), &field(b"a"), &[0x00]]),
    )
}

fn v5_suback_with_properties(list: &[u8]) -> Vec<u8> {
    packet(0x90, &cat(&[&[0x00, 0x01], &props(list), &[0x00]]))
}

fn v5_unsubscribe_with_properties(list: &[u8]) -> Vec<u8> {
    packet(0xA2, &cat(&[&[0x00, 0x01], &props(list), &field(b"a")]))
}

fn v5_unsuback_with_properties(list: &[u8]) -> Vec<u8> {
    packet(0xB0, &cat(&[&[0x00, 0x01], &props(list), &[0x00]]))
}

fn v5_disconnect_with_properties(list: &[u8]) -> Vec<u8> {
    packet(0xE0, &cat(&[&[0x00], &props(list)]))
}

fn v5_auth_with_properties(list: &[u8]) -> Vec<u8> {
    packet(0xF0, &cat(&[&[0x18], &props(list)]))
}

/// A SUBSCRIBE for `filter` with the options byte `options`.
fn subscribe_with_options(version: Version, filter: &[u8], options: u8) -> Vec<u8> {
    let mut body = vec![0x00, 0x01];
    if version.is_v5() {
        body.push(0x00);
    }
    body.extend_from_slice(&field(filter));
    body.push(options);
    packet(0x82, &body)
}

/// One valid packet of every type but PUBLISH, for each version.
fn valid_packets_but_publish(version: Version) -> Vec<Vec<u8>> {
    let v5 = version.is_v5();
    let mut packets = vec![
        connect_with_client_id(version, b"c"),
        if v5 {
            vec![0x20, 0x03, 0x00, 0x00, 0x00]
        } else {
            vec![0x20, 0x02, 0x00, 0x00]
        },
        vec![0x40, 0x02, 0x00, 0x01],
        vec![0x50, 0x02, 0x00, 0x01],
        vec![0x62, 0x02, 0x00, 0x01],
        vec![0x70, 0x02, 0x00, 0x01],
        subscribe_with_options(version, b"a", 0x01),
        if v5 {
            vec![0x90, 0x04, 0x00, 0x01, 0x00, 0x00]
        } else {
            vec![0x90, 0x03, 0x00, 0x01, 0x00]
        },
        if v5 {
            vec![0xA2, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, b'a']
        } else {
            vec![0xA2, 0x05, 0x00, 0x01, 0x00, 0x01, b'a']
        },
        if v5 {
            vec![0xB0, 0x04, 0x00, 0x01, 0x00, 0x00]
        } else {
            vec![0xB0, 0x02, 0x00, 0x01]
        },
        vec![0xC0, 0x00],
        vec![0xD0, 0x00],
        vec![0xE0, 0x00],
    ];
    if v5 {
        packets.push(vec![0xF0, 0x00]);
    }
    packets
}

// ---- Variable Byte Integer (MQTT 5.0 §1.5.5, MQTT 3.1.1 §2.2.3) -------------------------------

/// MQTT 5.0 §1.5.5: "The Variable Byte Integer is encoded using an encoding scheme which uses a
/// single byte for values up to 127 ... a maximum of four bytes"; a fifth byte is malformed, and
/// is reported as soon as the fourth continuation bit is seen.
#[test]
fn mqtt_1_5_5_var_int_longer_than_four_bytes_is_malformed() {
    for version in BOTH {
        refused(
            version,
            &[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],
            DecodeError::MalformedVarInt,
            MALFORMED,
        );
        refused(
            version,
            &[0xC0, 0x80, 0x80, 0x80, 0x80],
            DecodeError::MalformedVarInt,
            MALFORMED,
        );
    }
    // Inside the packet: a Subscription Identifier and a Property Length of five bytes.
    refused(
        V5,
        &v5_publish_with_properties(&[0x0B, 0x80, 0x80, 0x80, 0x80, 0x01]),
        DecodeError::MalformedVarInt,
        MALFORMED,
    );
    refused(
        V5,
        &[0x40, 0x08, 0x00, 0x01, 0x00, 0x80, 0x80, 0x80, 0x80, 0x01],
        DecodeError::MalformedVarInt,
        MALFORMED,
    );
}

/// MQTT-1.5.5-1 (MQTT 5.0): "The encoded value MUST use the minimum number of bytes necessary to
/// represent the value". MQTT 3.1.1 §2.2.3 has no such rule, so the same Remaining Length is
/// accepted there.
#[test]
fn v5_mqtt_1_5_5_1_non_minimal_var_int_is_malformed() {
    refused(
        V5,
        &[0xC0, 0x80, 0x00],
        DecodeError::MalformedVarInt,
        MALFORMED,
    );
    assert_eq!(accepted(V3, &[0xC0, 0x80, 0x00]), Packet::PingReq);
    let publish = cat(&[&[0x30, 0x85, 0x80, 0x00, 0x00, 0x03], b"a/b"]);
    assert_eq!(
        accepted(V3, &publish),
        Publish::new(topic("a/b"), Bytes::new()).into()
    );
    // Property Length 0 as 80 00, Subscription Identifier 1 as 81 00.
    refused(
        V5,
        &[0x40, 0x05, 0x00, 0x01, 0x00, 0x80, 0x00],
        DecodeError::MalformedVarInt,
        MALFORMED,
    );
    refused(
        V5,
        &v5_publish_with_properties(&[0x0B, 0x81, 0x00]),
        DecodeError::MalformedVarInt,
        MALFORMED,
    );
}

// ---- Fixed header (MQTT 5.0 §2.1, MQTT 3.1.1 §2.2) --------------------------------------------

/// MQTT-2.2.2-1 and MQTT-2.2.2-2 (MQTT 5.0 §2.1.3, Table 2-2: "If invalid flags are received it
/// is a Malformed Packet"): every flag value but the listed one, for every packet type but
/// PUBLISH.
#[test]
fn mqtt_2_2_2_2_reserved_fixed_header_flags_are_malformed() {
    for version in BOTH {
        for wire in valid_packets_but_publish(version) {
            accepted(version, &wire);
            let packet_type = PacketType::from_nibble(wire[0] >> 4).unwrap();
            for flags in 0..16u8 {
                if flags == wire[0] & 0x0F {
                    continue;
                }
                let mut bad = wire.clone();
                bad[0] = (wire[0] & 0xF0) | flags;
                refused(
                    version,
                    &bad,
                    DecodeError::InvalidHeaderFlags { packet_type, flags },
                    MALFORMED,
                );
            }
        }
    }
}

/// MQTT 5.0 §2.1.2, Table 2-1: packet type 0 is "Reserved / Forbidden".
#[test]
fn packet_type_0_is_malformed() {
    for version in BOTH {
        refused(
            version,
            &[0x00, 0x00],
            DecodeError::InvalidPacketType(0),
            MALFORMED,
        );
    }
}

/// MQTT 3.1.1 §2.2.1, Table 2.1: packet type 15 is "Reserved / Forbidden"; AUTH exists only in
/// MQTT 5.0 (§3.15).
#[test]
fn auth_in_v311_is_an_invalid_packet_type() {
    refused(
        V3,
        &[0xF0, 0x00],
        DecodeError::InvalidPacketType(15),
        MALFORMED,
    );
    accepted(V5, &[0xF0, 0x00]);
}

// ---- PUBLISH fixed header ---------------------------------------------------------------------

/// MQTT-3.3.1-4: "A PUBLISH Packet MUST NOT have both QoS bits set to 1"; MQTT 5.0 §3.3.1.2: "If
/// a Server or Client receives a PUBLISH packet which has both QoS bits set to 1 it is a Malformed
/// Packet".
#[test]
fn mqtt_3_3_1_4_qos_3_is_malformed() {
    for version in BOTH {
        for first in [0x36, 0x37, 0x3E, 0x3F] {
            let mut body = cat(&[&field(b"a/b"), &[0x00, 0x01]]);
            if version.is_v5() {
                body.push(0x00);
            }
            refused(
                version,
                &packet(first, &body),
                DecodeError::InvalidQoS,
                MALFORMED,
            );
        }
    }
}

/// MQTT-3.3.1-2: "The DUP flag MUST be set to 0 for all QoS 0 messages".
#[test]
fn mqtt_3_3_1_2_dup_on_qos_0_is_malformed() {
    for version in BOTH {
        let mut wire = publish_to(version, b"a/b");
        wire[0] = 0x38;
        refused(version, &wire, DecodeError::DupOnQoS0, MALFORMED);
        wire[0] = 0x39;
        refused(version, &wire, DecodeError::DupOnQoS0, MALFORMED);
    }
}

// ---- Packet Identifier ------------------------------------------------------------------------

/// MQTT-2.3.1-1 (MQTT 3.1.1) and MQTT-2.2.1-3 (MQTT 5.0): Packet Identifiers are non-zero, in
/// every packet that has one.
#[test]
fn mqtt_2_3_1_1_packet_identifier_0_is_malformed() {
    for version in BOTH {
        let props: &[u8] = if version.is_v5() { &[0x00] } else { &[] };
        let packets = [
            packet(0x32, &cat(&[&field(b"a/b"), &[0x00, 0x00], props])),
            packet(0x34, &cat(&[&field(b"a/b"), &[0x00, 0x00], props])),
            vec![0x40, 0x02, 0x00, 0x00],
            vec![0x50, 0x02, 0x00, 0x00],
            vec![0x62, 0x02, 0x00, 0x00],
            vec![0x70, 0x02, 0x00, 0x00],
            packet(0x82, &cat(&[&[0x00, 0x00], props, &field(b"a"), &[0x00]])),
            packet(0x90, &cat(&[&[0x00, 0x00], props, &[0x00]])),
            packet(0xA2, &cat(&[&[0x00, 0x00], props, &field(b"a")])),
            packet(0xB0, &cat(&[&[0x00, 0x00], props])),
        ];
        for wire in packets {
            refused(version, &wire, DecodeError::ZeroPacketId, MALFORMED);
        }
    }
}

// ---- UTF-8 Encoded Strings (MQTT 5.0 §1.5.4, MQTT 3.1.1 §1.5.3) --------------------------------

/// Byte sequences that are not well-formed UTF-8 (RFC 3629): a bad continuation byte, an overlong
/// encoding of U+0000, an encoded surrogate U+D800 and U+DFFF, a code point above U+10FFFF, a
/// byte that never appears, and a truncated sequence.
const ILL_FORMED: [&[u8]; 7] = [
    &[b'a', 0xC3, 0x28],
    &[0xC0, 0x80],
    &[0xED, 0xA0, 0x80],
    &[0xED, 0xBF, 0xBF],
    &[0xF4, 0x90, 0x80, 0x80],
    &[0xFF],
    &[b'a', 0xE2, 0x82],
];

/// MQTT-1.5.3-1 (MQTT 3.1.1) and MQTT-1.5.4-1 (MQTT 5.0): "The character data in a UTF-8 Encoded
/// String MUST be well-formed UTF-8 ... In particular, the character data MUST NOT include
/// encodings of code points between U+D800 and U+DFFF. If the Client or Server receives an MQTT
/// Control Packet containing ill-formed UTF-8 it is a Malformed Packet". Checked in a topic name,
/// a client identifier, a user name, a will topic, a topic filter and a user property.
#[test]
fn mqtt_1_5_3_1_ill_formed_utf8_is_malformed() {
    for bad in ILL_FORMED {
        for version in BOTH {
            let wires = [
                publish_to(version, bad),
                connect_with_client_id(version, bad),
                connect_with_flags(version, 0x82, &cat(&[&field(b"c"), &field(bad)])),
                connect_with_flags(
                    version,
                    0x06,
                    &cat(&[
                        &field(b"c"),
                        if version.is_v5() { &[0x00] } else { &[] },
                        &field(bad),
                        &field(b""),
                    ]),
                ),
                subscribe_with_options(version, bad, 0x00),
            ];
            for wire in wires {
                refused(version, &wire, DecodeError::InvalidUtf8, MALFORMED);
            }
        }
        let key = cat(&[&[0x26], &field(bad), &field(b"v")]);
        let value = cat(&[&[0x26], &field(b"k"), &field(bad)]);
        let reason = cat(&[&[0x1F], &field(bad)]);
        for wire in [
            v5_publish_with_properties(&key),
            v5_publish_with_properties(&value),
            v5_connect_with_properties(&key),
            v5_puback_with_properties(&reason),
        ] {
            refused(V5, &wire, DecodeError::InvalidUtf8, MALFORMED);
        }
    }
}

/// MQTT-1.5.3-2 (MQTT 3.1.1) and MQTT-1.5.4-2 (MQTT 5.0): "A UTF-8 Encoded String MUST NOT
/// include an encoding of the null character U+0000. If a receiver (Server or Client) receives an
/// MQTT Control Packet containing U+0000 it is a Malformed Packet".
#[test]
fn mqtt_1_5_3_2_null_character_is_malformed() {
    let bad: &[u8] = b"a\0b";
    for version in BOTH {
        for wire in [
            publish_to(version, bad),
            connect_with_client_id(version, bad),
            connect_with_flags(version, 0x82, &cat(&[&field(b"c"), &field(bad)])),
            subscribe_with_options(version, bad, 0x00),
            packet(
                0xA2,
                &cat(&[
                    &[0x00, 0x01],
                    if version.is_v5() { &[0x00] } else { &[] },
                    &field(bad),
                ]),
            ),
        ] {
            refused(version, &wire, DecodeError::NullCharacter, MALFORMED);
        }
    }
    for wire in [
        v5_publish_with_properties(&cat(&[&[0x26], &field(bad), &field(b"v")])),
        v5_publish_with_properties(&cat(&[&[0x26], &field(b"k"), &field(bad)])),
        v5_publish_with_properties(&cat(&[&[0x03], &field(bad)])),
        v5_disconnect_with_properties(&cat(&[&[0x1F], &field(bad)])),
    ] {
        refused(V5, &wire, DecodeError::NullCharacter, MALFORMED);
    }
}

/// MQTT-1.5.3-3 (MQTT 3.1.1) and MQTT-1.5.4-3 (MQTT 5.0): "A UTF-8 encoded sequence 0xEF 0xBB
/// 0xBF is always to be interpreted as U+FEFF ("ZERO WIDTH NO-BREAK SPACE") wherever it appears in
/// a string and MUST NOT be skipped over or stripped off by a packet receiver".
#[test]
fn mqtt_1_5_3_3_byte_order_mark_is_kept() {
    for version in BOTH {
        let wire = publish_to(version, &[0xEF, 0xBB, 0xBF, b'a']);
        assert_eq!(
            accepted(version, &wire),
            Publish::new(topic("\u{FEFF}a"), Bytes::new()).into()
        );
    }
}

// ---- Topic names ------------------------------------------------------------------------------

/// MQTT-3.3.2-2: "The Topic Name in the PUBLISH Packet MUST NOT contain wildcard characters";
/// 0x90 Topic Name invalid. The same holds for a Will Topic (MQTT 5.0 §3.1.3.3) and a Response
/// Topic (MQTT-3.3.2-14).
#[test]
fn mqtt_3_3_2_2_wildcard_in_topic_name_is_refused() {
    let invalid = DecodeError::InvalidTopic(TopicError::WildcardInName);
    let code = ReasonCode::TOPIC_NAME_INVALID;
    for version in BOTH {
        for name in [&b"a/+"[..], b"+", b"#", b"a/#", b"a/b+"] {
            refused(version, &publish_to(version, name), invalid.clone(), code);
        }
        let will = connect_with_flags(
            version,
            0x06,
            &cat(&[
                &field(b"c"),
                if version.is_v5() { &[0x00] } else { &[] },
                &field(b"w/#"),
                &field(b""),
            ]),
        );
        refused(version, &will, invalid.clone(), code);
    }
    let response_topic = v5_publish_with_properties(&cat(&[&[0x08], &field(b"r/+")]));
    refused(V5, &response_topic, invalid, code);
}

/// MQTT-4.7.3-1: "All Topic Names and Topic Filters MUST be at least one character long". In
/// MQTT 3.1.1 an empty PUBLISH topic is malformed; in MQTT 5.0 it stands for a Topic Alias, and
/// "It is a Protocol Error if the Topic Name is zero length and there is no Topic Alias"
/// (§3.3.2.1).
#[test]
fn mqtt_4_7_3_1_empty_topic_name() {
    refused(
        V3,
        &publish_to(V3, b""),
        DecodeError::InvalidTopic(TopicError::Empty),
        MALFORMED,
    );
    refused(
        V5,
        &publish_to(V5, b""),
        DecodeError::EmptyTopicWithoutAlias,
        PROTOCOL_ERROR,
    );
    let with_other_property = packet(0x30, &cat(&[&field(b""), &props(&[0x01, 0x01])]));
    refused(
        V5,
        &with_other_property,
        DecodeError::EmptyTopicWithoutAlias,
        PROTOCOL_ERROR,
    );
    // Empty will topic and empty topic filters.
    for version in BOTH {
        let empty_will = connect_with_flags(
            version,
            0x06,
            &cat(&[
                &field(b"c"),
                if version.is_v5() { &[0x00] } else { &[] },
                &field(b""),
                &field(b""),
            ]),
        );
        refused(
            version,
            &empty_will,
            DecodeError::InvalidTopic(TopicError::Empty),
            MALFORMED,
        );
        refused(
            version,
            &subscribe_with_options(version, b"", 0x00),
            DecodeError::InvalidTopic(TopicError::Empty),
            MALFORMED,
        );
    }
}

/// MQTT-4.7.1-1 and MQTT-4.7.1-2: wildcards must occupy whole levels, `#` only the last; and
/// MQTT-4.8.2-1/2 (MQTT 5.0): a shared subscription needs a ShareName and a filter.
#[test]
fn mqtt_4_7_1_misplaced_wildcards_in_topic_filter_are_malformed() {
    for version in BOTH {
        for bad in [&b"a#"[..], b"a/#/b", b"a+", b"+a/b", b"##"] {
            refused(
                version,
                &subscribe_with_options(version, bad, 0x00),
                DecodeError::InvalidTopic(TopicError::InvalidWildcard),
                MALFORMED,
            );
        }
    }
    for bad in [&b"$share/g"[..], b"$share//a", b"$share/g+/a"] {
        refused(
            V5,
            &subscribe_with_options(V5, bad, 0x00),
            DecodeError::InvalidTopic(TopicError::InvalidSharedSubscription),
            MALFORMED,
        );
    }
}

// ---- Properties (MQTT 5.0 §2.2.2) -------------------------------------------------------------

/// MQTT 5.0 §2.2.2.2: "A Control Packet which contains an Identifier which is not valid for its
/// packet type, or contains a value not of the specified data type, is a Malformed Packet".
#[test]
fn v5_property_not_allowed_in_packet_is_malformed() {
    use PacketType as T;
    use PropertyId as P;
    let cases: [(Vec<u8>, PropertyId, PacketType); 13] = [
        (
            v5_connect_with_properties(&[0x23, 0x00, 0x01]),
            P::TopicAlias,
            T::Connect,
        ),
        (
            v5_connect_with_properties(&[0x18, 0, 0, 0, 1]),
            P::WillDelayInterval,
            T::Connect,
        ),
        (
            v5_connect_with_properties(&cat(&[&[0x1F], &field(b"r")])),
            P::ReasonString,
            T::Connect,
        ),
        (
            v5_connect_with_will_properties(&[0x11, 0, 0, 0, 1]),
            P::SessionExpiryInterval,
            T::Connect,
        ),
        (
            v5_connack_with_properties(&[0x0B, 0x01]),
            P::SubscriptionIdentifier,
            T::ConnAck,
        ),
        (
            v5_publish_with_properties(&[0x11, 0, 0, 0, 1]),
            P::SessionExpiryInterval,
            T::Publish,
        ),
        (
            v5_publish_with_properties(&cat(&[&[0x1F], &field(b"r")])),
            P::ReasonString,
            T::Publish,
        ),
        (
            v5_puback_with_properties(&cat(&[&[0x08], &field(b"r")])),
            P::ResponseTopic,
            T::PubAck,
        ),
        (
            v5_subscribe_with_properties(&[0x23, 0x00, 0x01]),
            P::TopicAlias,
            T::Subscribe,
        ),
        (
            v5_suback_with_properties(&[0x0B, 0x01]),
            P::SubscriptionIdentifier,
            T::SubAck,
        ),
        (
            v5_unsubscribe_with_properties(&cat(&[&[0x1F], &field(b"r")])),
            P::ReasonString,
            T::Unsubscribe,
        ),
        (
            v5_disconnect_with_properties(&cat(&[&[0x15], &field(b"m")])),
            P::AuthenticationMethod,
            T::Disconnect,
        ),
        (
            v5_auth_with_properties(&cat(&[&[0x1C], &field(b"s")])),
            P::ServerReference,
            T::Auth,
        ),
    ];
    for (wire, property, packet_type) in cases {
        refused(
            V5,
            &wire,
            DecodeError::PropertyNotAllowed {
                property,
                packet_type,
            },
            MALFORMED,
        );
    }
    // The same properties are fine where they belong.
    accepted(V5, &v5_publish_with_properties(&[0x23, 0x00, 0x01]));
    accepted(V5, &v5_connect_with_will_properties(&[0x18, 0, 0, 0, 1]));
    accepted(
        V5,
        &v5_unsuback_with_properties(&cat(&[&[0x1F], &field(b"r")])),
    );
}

/// MQTT 5.0 §2.2.2.2, Table 2-4: identifiers the standard does not define are malformed,
/// including ones that need more than one byte.
#[test]
fn v5_unknown_property_is_malformed() {
    for id in [0x00, 0x04, 0x0A, 0x2B, 0x7F] {
        refused(
            V5,
            &v5_publish_with_properties(&[id, 0x00]),
            DecodeError::UnknownProperty(id),
            MALFORMED,
        );
    }
    refused(
        V5,
        &v5_publish_with_properties(&[0x80, 0x02, 0x00]),
        DecodeError::UnknownProperty(0xFF),
        MALFORMED,
    );
}

/// MQTT 5.0 §3.x.2.x: "It is a Protocol Error to include the <property> more than once", for
/// every property but User Property and, in PUBLISH only, Subscription Identifier.
#[test]
fn v5_duplicate_property_is_a_protocol_error() {
    let cases: [(Vec<u8>, PropertyId); 7] = [
        (
            v5_publish_with_properties(&[0x23, 0x00, 0x01, 0x23, 0x00, 0x02]),
            PropertyId::TopicAlias,
        ),
        (
            v5_connect_with_properties(&[0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 2]),
            PropertyId::SessionExpiryInterval,
        ),
        (
            v5_connect_with_will_properties(&[0x01, 0x00, 0x01, 0x01]),
            PropertyId::PayloadFormatIndicator,
        ),
        (
            v5_connack_with_properties(&[0x24, 0x00, 0x24, 0x01]),
            PropertyId::MaximumQoS,
        ),
        (
            v5_puback_with_properties(&cat(&[&[0x1F], &field(b"a"), &[0x1F], &field(b"b")])),
            PropertyId::ReasonString,
        ),
        (
            v5_auth_with_properties(&cat(&[&[0x15], &field(b"a"), &[0x15], &field(b"a")])),
            PropertyId::AuthenticationMethod,
        ),
        // §3.8.2.1.2: "It is a Protocol Error to include the Subscription Identifier more than
        // once" in SUBSCRIBE.
        (
            v5_subscribe_with_properties(&[0x0B, 0x01, 0x0B, 0x02]),
            PropertyId::SubscriptionIdentifier,
        ),
    ];
    for (wire, property) in cases {
        refused(
            V5,
            &wire,
            DecodeError::DuplicateProperty(property),
            PROTOCOL_ERROR,
        );
    }
}

/// MQTT 5.0 §3.1.2.11.8 and the matching sections: "The User Property is allowed to appear
/// multiple times"; §3.3.2.3.8: a PUBLISH carries one Subscription Identifier per matching
/// subscription.
#[test]
fn v5_repeated_user_property_and_publish_subscription_identifier_are_allowed() {
    let user = cat(&[&[0x26], &field(b"k"), &field(b"v")]);
    let twice = cat(&[&user, &user]);
    for wire in [
        v5_connect_with_properties(&twice),
        v5_connect_with_will_properties(&twice),
        v5_connack_with_properties(&twice),
        v5_publish_with_properties(&twice),
        v5_puback_with_properties(&twice),
        v5_subscribe_with_properties(&twice),
        v5_suback_with_properties(&twice),
        v5_unsubscribe_with_properties(&twice),
        v5_unsuback_with_properties(&twice),
        v5_disconnect_with_properties(&twice),
        v5_auth_with_properties(&twice),
    ] {
        accepted(V5, &wire);
    }
    let Packet::Publish(publish) =
        accepted(V5, &v5_publish_with_properties(&[0x0B, 0x01, 0x0B, 0x02]))
    else {
        panic!("not a PUBLISH");
    };
    assert_eq!(
        publish.properties().subscription_identifiers,
        [NonZeroU32::new(1).unwrap(), NonZeroU32::new(2).unwrap()]
    );
}

/// Values the standard forbids, each "a Protocol Error": Receive Maximum 0 (§3.1.2.11.3,
/// §3.2.2.3.3), Maximum Packet Size 0 (§3.1.2.11.4, §3.2.2.3.6), Topic Alias 0 (MQTT-3.3.2-8),
/// Subscription Identifier 0 (§3.3.2.3.8, §3.8.2.1.2), Maximum QoS other than 0 or 1
/// (§3.2.2.3.4), and the byte properties that are 0 or 1 (§3.1.2.11.6, §3.1.2.11.7, §3.2.2.3.5,
/// §3.2.2.3.11 to §3.2.2.3.13, §3.3.2.3.2, §3.1.3.2.3).
#[test]
fn v5_invalid_property_values_are_protocol_errors() {
    use PropertyId as P;
    let cases: [(Vec<u8>, PropertyId); 17] = [
        (
            v5_connect_with_properties(&[0x21, 0x00, 0x00]),
            P::ReceiveMaximum,
        ),
        (
            v5_connack_with_properties(&[0x21, 0x00, 0x00]),
            P::ReceiveMaximum,
        ),
        (
            v5_connect_with_properties(&[0x27, 0, 0, 0, 0]),
            P::MaximumPacketSize,
        ),
        (
            v5_connack_with_properties(&[0x27, 0, 0, 0, 0]),
            P::MaximumPacketSize,
        ),
        (
            v5_publish_with_properties(&[0x23, 0x00, 0x00]),
            P::TopicAlias,
        ),
        (
            v5_publish_with_properties(&[0x0B, 0x00]),
            P::SubscriptionIdentifier,
        ),
        (
            v5_subscribe_with_properties(&[0x0B, 0x00]),
            P::SubscriptionIdentifier,
        ),
        (v5_connack_with_properties(&[0x24, 0x02]), P::MaximumQoS),
        (
            v5_publish_with_properties(&[0x01, 0x02]),
            P::PayloadFormatIndicator,
        ),
        (
            v5_connect_with_will_properties(&[0x01, 0xFF]),
            P::PayloadFormatIndicator,
        ),
        (
            v5_connect_with_properties(&[0x17, 0x02]),
            P::RequestProblemInformation,
        ),
        (
            v5_connect_with_properties(&[0x19, 0x02]),
            P::RequestResponseInformation,
        ),
        (
            v5_connack_with_properties(&[0x25, 0x02]),
            P::RetainAvailable,
        ),
        (
            v5_connack_with_properties(&[0x28, 0x02]),
            P::WildcardSubscriptionAvailable,
        ),
        (
            v5_connack_with_properties(&[0x29, 0x02]),
            P::SubscriptionIdentifierAvailable,
        ),
        (
            v5_connack_with_properties(&[0x2A, 0x02]),
            P::SharedSubscriptionAvailable,
        ),
        (
            v5_connack_with_properties(&[0x2A, 0x80]),
            P::SharedSubscriptionAvailable,
        ),
    ];
    for (wire, property) in cases {
        refused(
            V5,
            &wire,
            DecodeError::InvalidPropertyValue(property),
            PROTOCOL_ERROR,
        );
    }
}

/// MQTT 5.0 §3.1.2.11.10: "It is a Protocol Error to include Authentication Data if there is no
/// Authentication Method".
#[test]
fn v5_authentication_data_without_method_is_a_protocol_error() {
    refused(
        V5,
        &v5_connect_with_properties(&cat(&[&[0x16], &field(&[0xAA])])),
        DecodeError::InvalidPropertyValue(PropertyId::AuthenticationData),
        PROTOCOL_ERROR,
    );
    accepted(
        V5,
        &v5_connect_with_properties(&cat(&[&[0x15], &field(b"m"), &[0x16], &field(&[0xAA])])),
    );
}

// ---- CONNECT (MQTT 5.0 §3.1, MQTT 3.1.1 §3.1) --------------------------------------------------

/// MQTT-3.1.2-1: a Protocol Name other than "MQTT", including MQTT 3.1's "MQIsdp".
#[test]
fn mqtt_3_1_2_1_wrong_protocol_name_is_refused() {
    for version in BOTH {
        for name in [&b"MQTX"[..], b"mqtt", b"MQTT\0", b"MQIsdp", b""] {
            let mut body = cat(&[&field(name), &[version.level(), 0x02, 0x00, 0x3C]]);
            if version.is_v5() {
                body.push(0x00);
            }
            body.extend_from_slice(&field(b"c"));
            refused(
                version,
                &packet(0x10, &body),
                DecodeError::InvalidProtocolName,
                PROTOCOL_ERROR,
            );
        }
    }
}

/// MQTT-3.1.2-2: a Protocol Level this decoder does not speak is answered with CONNACK 0x01
/// (MQTT 3.1.1) or 0x84 Unsupported Protocol Version (MQTT 5.0 §3.1.2.2).
#[test]
fn mqtt_3_1_2_2_unsupported_protocol_level() {
    for (version, level) in [(V3, 5), (V3, 3), (V5, 4), (V5, 3), (V5, 6), (V3, 0)] {
        let mut body = cat(&[&field(b"MQTT"), &[level, 0x02, 0x00, 0x3C]]);
        if level == 5 {
            body.push(0x00);
        }
        body.extend_from_slice(&field(b"c"));
        refused(
            version,
            &packet(0x10, &body),
            DecodeError::UnsupportedProtocolVersion(level),
            ReasonCode::UNSUPPORTED_PROTOCOL_VERSION,
        );
    }
}

/// MQTT-3.1.2-3: "The Server MUST validate that the reserved flag in the CONNECT Control Packet
/// is set to zero"; MQTT 5.0: "If the reserved flag is not 0 it is a Malformed Packet".
#[test]
fn mqtt_3_1_2_3_connect_reserved_flag_is_malformed() {
    for version in BOTH {
        for flags in [0x01, 0x03] {
            refused(
                version,
                &connect_with_flags(version, flags, &field(b"c")),
                DecodeError::InvalidConnectFlags(flags),
                MALFORMED,
            );
        }
    }
}

/// MQTT-3.1.2-14: Will QoS "MUST NOT be 3"; MQTT 5.0 §3.1.2.6: "A value of 3 (0x03) is a
/// Malformed Packet".
#[test]
fn mqtt_3_1_2_14_will_qos_3_is_malformed() {
    for version in BOTH {
        let payload = cat(&[
            &field(b"c"),
            if version.is_v5() { &[0x00] } else { &[] },
            &field(b"t"),
            &field(b""),
        ]);
        for flags in [0x1E, 0x3E] {
            refused(
                version,
                &connect_with_flags(version, flags, &payload),
                DecodeError::InvalidConnectFlags(flags),
                MALFORMED,
            );
        }
    }
}

/// MQTT-3.1.2-13 (MQTT-3.1.2-11 in MQTT 5.0): "If the Will Flag is set to 0, then the Will QoS
/// MUST be set to 0".
#[test]
fn mqtt_3_1_2_13_will_qos_without_will_flag_is_malformed() {
    for version in BOTH {
        for flags in [0x0A, 0x12, 0x1A] {
            refused(
                version,
                &connect_with_flags(version, flags, &field(b"c")),
                DecodeError::InvalidConnectFlags(flags),
                MALFORMED,
            );
        }
    }
}

/// MQTT-3.1.2-15 (MQTT-3.1.2-13 in MQTT 5.0): "If the Will Flag is set to 0, then the Will Retain
/// Flag MUST be set to 0".
#[test]
fn mqtt_3_1_2_15_will_retain_without_will_flag_is_malformed() {
    for version in BOTH {
        refused(
            version,
            &connect_with_flags(version, 0x22, &field(b"c")),
            DecodeError::InvalidConnectFlags(0x22),
            MALFORMED,
        );
    }
}

/// MQTT-3.1.2-22 (MQTT 3.1.1 only): "If the User Name Flag is set to 0, the Password Flag MUST be
/// set to 0". MQTT 5.0 §3.1.2.9 lifts the rule.
#[test]
fn mqtt_3_1_2_22_v311_password_without_user_name_is_malformed() {
    let payload = cat(&[&field(b"c"), &field(b"pw")]);
    refused(
        V3,
        &connect_with_flags(V3, 0x42, &payload),
        DecodeError::InvalidConnectFlags(0x42),
        MALFORMED,
    );
    accepted(V5, &connect_with_flags(V5, 0x42, &payload));
}

/// MQTT-3.1.2-9 and MQTT-3.1.2-19/21: a flag announces a payload field that is not there.
#[test]
fn mqtt_3_1_2_9_connect_flag_without_its_field_is_malformed() {
    for version in BOTH {
        for flags in [0x06, 0x82, 0xC2] {
            refused(
                version,
                &connect_with_flags(version, flags, &field(b"c")),
                DecodeError::UnexpectedEnd,
                MALFORMED,
            );
        }
    }
}

// ---- CONNACK ----------------------------------------------------------------------------------

/// MQTT-3.2.2-1 (MQTT 5.0 §3.2.2.1): "Bits 7-1 are reserved and MUST be set to 0".
#[test]
fn mqtt_3_2_2_1_connack_reserved_flags_are_malformed() {
    for version in BOTH {
        for flags in [0x02, 0x80, 0xFE, 0xFF] {
            let mut wire = vec![0x20, 0x02, flags, 0x00];
            if version.is_v5() {
                wire = vec![0x20, 0x03, flags, 0x00, 0x00];
            }
            refused(
                version,
                &wire,
                DecodeError::InvalidConnAckFlags(flags),
                MALFORMED,
            );
        }
    }
}

/// MQTT 3.1.1 §3.2.2.3, Table 3.1: return codes 6 to 255 are "Reserved for future use". Like
/// an undefined MQTT 5.0 reason code, a value the field may not hold: a Protocol Error.
#[test]
fn v311_connack_return_code_6_is_refused() {
    for code in [6, 0x80, 0x87, 0xFF] {
        refused(
            V3,
            &[0x20, 0x02, 0x00, code],
            DecodeError::InvalidReasonCode(code),
            PROTOCOL_ERROR,
        );
    }
}

/// MQTT-3.9.3-2 (MQTT 3.1.1): "SUBACK return codes other than 0x00, 0x01, 0x02 and 0x80 are
/// reserved and MUST NOT be used". A Protocol Error, as above.
#[test]
fn mqtt_3_9_3_2_v311_suback_reserved_return_code_is_refused() {
    for code in [0x03, 0x7F, 0x81, 0x87, 0xFF] {
        refused(
            V3,
            &[0x90, 0x04, 0x00, 0x01, 0x00, code],
            DecodeError::InvalidReasonCode(code),
            PROTOCOL_ERROR,
        );
    }
}

// ---- MQTT 5.0 reason codes (§2.4 and the table of each packet) --------------------------------

/// The reason codes MQTT 5.0 defines for each packet that carries one, written out from the
/// standard's tables rather than taken from `ReasonCode::is_defined_for`, so that the two check
/// each other.
const V5_REASON_CODES: [(PacketType, &[u8]); 9] = [
    // §3.2.2.2, Table 3-1: Connect Reason Code values.
    (
        PacketType::ConnAck,
        &[
            0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90,
            0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F,
        ],
    ),
    // §3.4.2.1, Table 3-4, and §3.5.2.1, Table 3-5.
    (
        PacketType::PubAck,
        &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
    ),
    (
        PacketType::PubRec,
        &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
    ),
    // §3.6.2.1, Table 3-6, and §3.7.2.1, Table 3-7.
    (PacketType::PubRel, &[0x00, 0x92]),
    (PacketType::PubComp, &[0x00, 0x92]),
    // §3.9.3, Table 3-8: Subscribe Reason Codes.
    (
        PacketType::SubAck,
        &[
            0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2,
        ],
    ),
    // §3.11.3, Table 3-9: Unsubscribe Reason Codes.
    (
        PacketType::UnsubAck,
        &[0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91],
    ),
    // §3.14.2.1, Table 3-10: Disconnect Reason Code values.
    (
        PacketType::Disconnect,
        &[
            0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93,
            0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1,
            0xA2,
        ],
    ),
    // §3.15.2.1, Table 3-11: Authenticate Reason Codes.
    (PacketType::Auth, &[0x00, 0x18, 0x19]),
];

/// Every MQTT 5.0 form of a `packet_type` packet that carries reason code `code`: with and
/// without a property list, and for SUBACK and UNSUBACK as the second code too.
fn v5_packets_with_reason_code(packet_type: PacketType, code: u8) -> Vec<Vec<u8>> {
    match packet_type {
        PacketType::ConnAck => vec![packet(0x20, &[0x00, code, 0x00])],
        PacketType::PubAck | PacketType::PubRec | PacketType::PubRel | PacketType::PubComp => {
            let first =
                ((packet_type as u8) << 4) | u8::from(packet_type == PacketType::PubRel) << 1;
            vec![
                packet(first, &[0x00, 0x01, code]),
                packet(first, &[0x00, 0x01, code, 0x00]),
            ]
        }
        PacketType::SubAck | PacketType::UnsubAck => {
            let first = (packet_type as u8) << 4;
            vec![
                packet(first, &[0x00, 0x01, 0x00, code]),
                packet(first, &[0x00, 0x01, 0x00, 0x00, code]),
            ]
        }
        PacketType::Disconnect => vec![packet(0xE0, &[code]), packet(0xE0, &[code, 0x00])],
        PacketType::Auth => vec![packet(0xF0, &[code, 0x00])],
        other => unreachable!("{other:?} has no reason code"),
    }
}

/// MQTT-3.2.2-8, MQTT-3.4.2-1, MQTT-3.5.2-1, MQTT-3.6.2-1, MQTT-3.7.2-1, MQTT-3.9.3-2,
/// MQTT-3.11.3-2, MQTT-3.14.2-1 and MQTT-3.15.2-1 (MQTT 5.0): the sender uses one of the reason
/// codes of the packet's table. The byte parses, but its value is not allowed: a Protocol Error
/// (MQTT 5.0 §1.2), as the standard itself rules for other fields with a value it does not
/// allow (QoS 3 in subscription options, §3.8.3.1; a Maximum QoS of 2, §3.2.2.3.4). Every code
/// of the tables decodes.
#[test]
fn v5_undefined_reason_codes_are_protocol_errors() {
    for (packet_type, defined) in V5_REASON_CODES {
        for code in 0..=u8::MAX {
            for wire in v5_packets_with_reason_code(packet_type, code) {
                if defined.contains(&code) {
                    let decoded = accepted(V5, &wire);
                    assert_eq!(decoded.packet_type(), packet_type);
                    assert!(
                        ReasonCode(code).is_defined_for(packet_type),
                        "{code:#04x} in {packet_type:?}"
                    );
                } else {
                    refused(
                        V5,
                        &wire,
                        DecodeError::InvalidReasonCode(code),
                        PROTOCOL_ERROR,
                    );
                    assert!(!ReasonCode(code).is_defined_for(packet_type));
                }
            }
        }
    }
}

/// The issue's examples, byte for byte: CONNACK 0x01, PUBACK and PUBREC 0xFF.
#[test]
fn v5_undefined_reason_codes_from_the_issue() {
    for (wire, code) in [
        (&[0x20, 0x03, 0x00, 0x01, 0x00][..], 0x01),
        (&[0x40, 0x04, 0x00, 0x01, 0xFF, 0x00][..], 0xFF),
        (&[0x50, 0x04, 0x00, 0x01, 0xFF, 0x00][..], 0xFF),
    ] {
        refused(
            V5,
            wire,
            DecodeError::InvalidReasonCode(code),
            PROTOCOL_ERROR,
        );
    }
}

/// The encoder refuses to send a reason code the packet's table does not define (MQTT-3.2.2-8,
/// MQTT-3.4.2-1 and the others above).
#[test]
fn v5_undefined_reason_codes_are_refused_when_encoding() {
    for (packet_type, defined) in V5_REASON_CODES {
        for code in (0..=u8::MAX).filter(|c| !defined.contains(c)) {
            let reason_code = ReasonCode(code);
            let packet: Packet = match packet_type {
                PacketType::ConnAck => ConnAck {
                    reason_code,
                    ..ConnAck::default()
                }
                .into(),
                PacketType::PubAck => PubAck {
                    reason_code,
                    ..PubAck::new(id(1))
                }
                .into(),
                PacketType::PubRec => PubRec {
                    reason_code,
                    ..PubRec::new(id(1))
                }
                .into(),
                PacketType::PubRel => PubRel {
                    reason_code,
                    ..PubRel::new(id(1))
                }
                .into(),
                PacketType::PubComp => PubComp {
                    reason_code,
                    ..PubComp::new(id(1))
                }
                .into(),
                PacketType::SubAck => SubAck {
                    packet_id: id(1),
                    reason_codes: vec![ReasonCode::SUCCESS, reason_code],
                    properties: AckProperties::default(),
                }
                .into(),
                PacketType::UnsubAck => UnsubAck {
                    packet_id: id(1),
                    reason_codes: vec![ReasonCode::SUCCESS, reason_code],
                    properties: AckProperties::default(),
                }
                .into(),
                PacketType::Disconnect => Disconnect::new(reason_code).into(),
                PacketType::Auth => Auth {
                    reason_code,
                    ..Auth::default()
                }
                .into(),
                other => unreachable!("{other:?}"),
            };
            unencodable(V5, packet, EncodeError::InvalidReasonCode(reason_code));
        }
    }
}

// ---- SUBSCRIBE and UNSUBSCRIBE ----------------------------------------------------------------

/// MQTT-3.8.3-3 (MQTT 3.1.1; MQTT-3.8.3-2 in MQTT 5.0): "The payload of a SUBSCRIBE packet MUST
/// contain at least one Topic Filter / QoS pair"; MQTT 5.0: "A SUBSCRIBE packet with no Payload is
/// a Protocol Error".
#[test]
fn mqtt_3_8_3_3_subscribe_without_topic_filter_is_a_protocol_error() {
    refused(
        V3,
        &[0x82, 0x02, 0x00, 0x01],
        DecodeError::NoTopicFilters,
        PROTOCOL_ERROR,
    );
    refused(
        V5,
        &[0x82, 0x03, 0x00, 0x01, 0x00],
        DecodeError::NoTopicFilters,
        PROTOCOL_ERROR,
    );
}

/// MQTT-3.10.3-2: "The Payload of an UNSUBSCRIBE packet MUST contain at least one Topic Filter";
/// MQTT 5.0: "An UNSUBSCRIBE packet with no Payload is a Protocol Error".
#[test]
fn mqtt_3_10_3_2_unsubscribe_without_topic_filter_is_a_protocol_error() {
    refused(
        V3,
        &[0xA2, 0x02, 0x00, 0x01],
        DecodeError::NoTopicFilters,
        PROTOCOL_ERROR,
    );
    refused(
        V5,
        &[0xA2, 0x03, 0x00, 0x01, 0x00],
        DecodeError::NoTopicFilters,
        PROTOCOL_ERROR,
    );
}

/// MQTT-3.8.3-5 (MQTT 5.0): "The Server MUST treat a SUBSCRIBE packet as malformed if any of
/// Reserved bits in the Payload are non-zero" (bits 7 and 6 of the Subscription Options).
#[test]
fn v5_mqtt_3_8_3_5_subscription_options_reserved_bits_are_malformed() {
    for options in [0x40, 0x80, 0xC0, 0x41] {
        refused(
            V5,
            &subscribe_with_options(V5, b"a", options),
            DecodeError::InvalidSubscriptionOptions(options),
            MALFORMED,
        );
    }
}

/// MQTT 5.0 §3.8.3.1: "It is a Protocol Error if the Maximum QoS field has the value 3" and "It is
/// a Protocol Error to send a Retain Handling value of 3".
#[test]
fn v5_subscription_qos_3_and_retain_handling_3_are_protocol_errors() {
    for options in [0x03, 0x30, 0x33, 0x3F] {
        refused(
            V5,
            &subscribe_with_options(V5, b"a", options),
            DecodeError::InvalidSubscriptionOptions(options),
            PROTOCOL_ERROR,
        );
    }
}

/// MQTT-3.8.3-4 (MQTT 5.0): "It is a Protocol Error to set the No Local bit to 1 on a Shared
/// Subscription".
#[test]
fn v5_mqtt_3_8_3_4_no_local_on_shared_subscription_is_a_protocol_error() {
    refused(
        V5,
        &subscribe_with_options(V5, b"$share/g/a", 0x04),
        DecodeError::InvalidSubscriptionOptions(0x04),
        PROTOCOL_ERROR,
    );
    accepted(V5, &subscribe_with_options(V5, b"$share/g/a", 0x00));
    accepted(V5, &subscribe_with_options(V5, b"a", 0x04));
}

/// MQTT 3.1.1 MQTT-3-8.3-4: "The Server MUST treat a SUBSCRIBE packet as malformed ... if any of
/// Reserved bits in the payload are non-zero, or QoS is not 0,1 or 2". Bits 7 to 2 are reserved
/// in MQTT 3.1.1; `reason_code` reads the byte with MQTT 5.0's layout.
#[test]
fn mqtt_3_8_3_4_v311_subscription_reserved_bits_and_qos_3_are_refused() {
    for (options, code) in [
        (0x03, PROTOCOL_ERROR),
        (0x04, PROTOCOL_ERROR),
        (0x08, PROTOCOL_ERROR),
        (0x10, PROTOCOL_ERROR),
        (0x80, MALFORMED),
        (0xFC, MALFORMED),
    ] {
        refused(
            V3,
            &subscribe_with_options(V3, b"a", options),
            DecodeError::InvalidSubscriptionOptions(options),
            code,
        );
    }
}

// ---- Lengths ----------------------------------------------------------------------------------

/// MQTT 5.0 §4.13.1: "Data in the packet does not fit with the remaining length" makes a Malformed
/// Packet, in either direction. Here, bytes left over after the last field.
#[test]
fn trailing_bytes_after_last_field_are_malformed() {
    for version in BOTH {
        for wire in [
            vec![0xC0, 0x01, 0x00],
            vec![0xD0, 0x01, 0x00],
            cat(&[&connect_with_client_id(version, b"c")[..], &[0x00]]),
        ] {
            // Fix up the Remaining Length of the CONNECT, which gained a byte.
            let mut wire = wire;
            if wire[0] == 0x10 {
                wire[1] += 1;
            }
            refused(version, &wire, DecodeError::TrailingBytes, MALFORMED);
        }
    }
    for wire in [
        vec![0x20, 0x03, 0x00, 0x00, 0x00],
        vec![0x40, 0x03, 0x00, 0x01, 0x00],
        vec![0x62, 0x03, 0x00, 0x01, 0x00],
        vec![0xB0, 0x03, 0x00, 0x01, 0x00],
        vec![0xE0, 0x01, 0x00],
    ] {
        refused(V3, &wire, DecodeError::TrailingBytes, MALFORMED);
    }
    for wire in [
        vec![0x20, 0x04, 0x00, 0x00, 0x00, 0xFF],
        vec![0x40, 0x05, 0x00, 0x01, 0x10, 0x00, 0xFF],
        vec![0xE0, 0x03, 0x00, 0x00, 0xFF],
        vec![0xF0, 0x03, 0x00, 0x00, 0xFF],
    ] {
        refused(V5, &wire, DecodeError::TrailingBytes, MALFORMED);
    }
}

/// MQTT 5.0 §4.13.1: the Remaining Length ends before a field the packet must contain.
#[test]
fn truncated_fields_are_malformed() {
    for version in BOTH {
        let props: &[u8] = if version.is_v5() { &[0x00] } else { &[] };
        for wire in [
            // CONNECT without its client identifier, and cut inside the protocol name.
            packet(
                0x10,
                &cat(&[&field(b"MQTT"), &[version.level(), 0x02, 0x00, 0x3C], props]),
            ),
            vec![0x10, 0x03, 0x00, 0x04, b'M'],
            // PUBLISH QoS 1 with half a packet identifier; a string longer than the packet.
            vec![0x32, 0x04, 0x00, 0x01, b't', 0x00],
            vec![0x30, 0x03, 0x00, 0x05, b'a'],
            // SUBSCRIBE whose filter lacks its options byte.
            packet(0x82, &cat(&[&[0x00, 0x01], props, &field(b"a")])),
            // CONNACK and PUBACK of one byte.
            vec![0x20, 0x01, 0x00],
            vec![0x40, 0x01, 0x00],
        ] {
            refused(version, &wire, DecodeError::UnexpectedEnd, MALFORMED);
        }
    }
    for wire in [
        // The property list is required in CONNACK, PUBLISH, SUBACK and UNSUBACK.
        vec![0x20, 0x02, 0x00, 0x00],
        vec![0x30, 0x03, 0x00, 0x01, b't'],
        vec![0x90, 0x02, 0x00, 0x01],
        vec![0xB0, 0x02, 0x00, 0x01],
        // A Property Length beyond the packet, and a property cut by the Property Length.
        vec![0x30, 0x04, 0x00, 0x01, b't', 0x05],
        vec![0x30, 0x06, 0x00, 0x01, b't', 0x02, 0x02, 0x00],
        // A User Property without its value.
        v5_publish_with_properties(&cat(&[&[0x26], &field(b"k")])),
        // §3.15.2.2.1: AUTH has no form with a reason code and no Property Length.
        vec![0xF0, 0x01, 0x18],
    ] {
        refused(V5, &wire, DecodeError::UnexpectedEnd, MALFORMED);
    }
}

// ---- Streaming and size limits ----------------------------------------------------------------

/// MQTT 5.0 §3.1.2.11.4 and §4.13: a packet above the Maximum Packet Size is refused with 0x95
/// from its fixed header alone, before its body arrives, leaving the buffer as it was.
#[test]
fn packet_too_large_is_reported_from_the_fixed_header() {
    for version in BOTH {
        let decoder = Decoder::new(version).with_max_packet_size(100);
        // A PUBLISH announcing 128 bytes of body: 131 bytes in all.
        let mut buf = BytesMut::from(&[0x30, 0x80, 0x01][..]);
        let error = decoder.decode(&mut buf).unwrap_err();
        assert_eq!(
            error,
            DecodeError::PacketTooLarge {
                size: 131,
                max: 100
            }
        );
        assert_eq!(error.reason_code(), ReasonCode::PACKET_TOO_LARGE);
        assert_eq!(&buf[..], [0x30, 0x80, 0x01]);
        assert_eq!(decoder.packet_len(&buf), Err(error.clone()));
        assert_eq!(decoder.decode_slice(&buf), Err(error.clone()));
        let mut bytes = Bytes::from_static(&[0x30, 0x80, 0x01]);
        assert_eq!(decoder.decode_bytes(&mut bytes), Err(error));

        // The limit counts the whole packet: 10 bytes pass a limit of 10, not one of 9.
        let wire = publish_to(version, &[b'x'; 6][..(6 - usize::from(version.is_v5()))]);
        assert_eq!(wire.len(), 10);
        let mut buf = BytesMut::from(&wire[..]);
        assert!(
            Decoder::new(version)
                .with_max_packet_size(10)
                .decode(&mut buf)
                .unwrap()
                .is_some()
        );
        let mut buf = BytesMut::from(&wire[..2]);
        assert_eq!(
            Decoder::new(version)
                .with_max_packet_size(9)
                .decode(&mut buf),
            Err(DecodeError::PacketTooLarge { size: 10, max: 9 })
        );
    }
    // Without a configured limit, the largest Remaining Length is accepted and waited for.
    let decoder = Decoder::new(V5);
    let mut buf = BytesMut::from(&[0x30, 0xFF, 0xFF, 0xFF, 0x7F][..]);
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    assert_eq!(decoder.packet_len(&buf), Ok(Some(5 + MAX_VAR_INT as usize)));
}

/// `Decoder::decode` returns `Ok(None)` without consuming anything for every proper prefix of a
/// valid packet, also when a whole packet comes before it.
#[test]
fn every_proper_prefix_needs_more_bytes() {
    let long_payload = vec![0xA5; 20_000]; // three bytes of Remaining Length
    for version in BOTH {
        let mut packets = valid_packets_but_publish(version);
        packets.push(publish_to(version, b"a/b"));
        let mut publish = Publish::new(topic("a/b"), long_payload.clone());
        publish.qos = QoS::ExactlyOnce;
        publish.packet_id = PacketId::new(7);
        let mut wire = Vec::new();
        Packet::from(publish).encode(version, &mut wire).unwrap();
        assert!(wire[1] >= 0x80 && wire[2] >= 0x80 && wire[3] < 0x80);
        packets.push(wire);

        let decoder = Decoder::new(version);
        for wire in &packets {
            for n in 0..wire.len() {
                let mut buf = BytesMut::from(&wire[..n]);
                assert_eq!(
                    decoder.decode(&mut buf),
                    Ok(None),
                    "{n} bytes of {}",
                    hex(wire)
                );
                assert_eq!(&buf[..], &wire[..n]);
            }
            // A complete PINGRESP in front is taken; the prefix behind it is left alone.
            for n in [0, 1, wire.len() / 2, wire.len() - 1] {
                let mut buf = BytesMut::from(&[0xD0, 0x00][..]);
                buf.extend_from_slice(&wire[..n]);
                assert_eq!(decoder.decode(&mut buf), Ok(Some(Packet::PingResp)));
                assert_eq!(decoder.decode(&mut buf), Ok(None));
                assert_eq!(&buf[..], &wire[..n]);
            }
        }
    }
}

// ---- Encoding: data MQTT 3.1.1 cannot carry ---------------------------------------------------

/// MQTT 3.1.1 has no properties, no reason codes beyond its CONNACK and SUBACK return codes, no
/// subscription options beyond QoS, and no AUTH.
#[test]
fn v5_only_data_is_refused_for_v311() {
    let user = vec![UserProperty::new("k", "v")];
    let ack_props = AckProperties {
        reason_string: Some("r".into()),
        ..AckProperties::default()
    };
    let publish = Publish::new(topic("t"), Bytes::new()).with_properties(PublishProperties {
        message_expiry_interval: Some(1),
        ..PublishProperties::default()
    });
    let aliased = {
        let mut publish = Publish::new(topic("t"), Bytes::new());
        publish.topic = TopicName::default();
        publish.set_properties(PublishProperties {
            topic_alias: NonZeroU16::new(1),
            ..PublishProperties::default()
        });
        publish
    };
    let connect = Connect {
        properties: ConnectProperties {
            session_expiry_interval: Some(1),
            ..ConnectProperties::default()
        },
        ..Connect::new("c")
    };
    let will_properties = Connect {
        will: Some(Will {
            properties: WillProperties {
                will_delay_interval: Some(1),
                ..WillProperties::default()
            },
            ..Will::new(topic("t"), Bytes::new())
        }),
        ..Connect::new("c")
    };
    let connack = ConnAck {
        properties: ConnAckProperties {
            maximum_qos: Some(QoS::AtMostOnce),
            ..ConnAckProperties::default()
        },
        ..ConnAck::default()
    };
    let puback = PubAck {
        reason_code: ReasonCode::NO_MATCHING_SUBSCRIBERS,
        ..PubAck::new(id(1))
    };
    let pubrec = PubRec {
        properties: ack_props.clone(),
        ..PubRec::new(id(1))
    };
    let subscribe_props = Subscribe {
        properties: SubscribeProperties {
            subscription_identifier: NonZeroU32::new(1),
            ..SubscribeProperties::default()
        },
        ..Subscribe::new(id(1), vec![Subscription::new(filter("a"), QoS::AtMostOnce)])
    };
    let suback = SubAck {
        packet_id: id(1),
        reason_codes: vec![ReasonCode::GRANTED_QOS_0],
        properties: ack_props.clone(),
    };
    let unsubscribe = Unsubscribe {
        properties: UnsubscribeProperties {
            user_properties: user.clone(),
        },
        ..Unsubscribe::new(id(1), vec![filter("a")])
    };
    let unsuback = UnsubAck {
        packet_id: id(1),
        reason_codes: vec![ReasonCode::SUCCESS],
        properties: AckProperties::default(),
    };
    let unsuback_props = UnsubAck {
        packet_id: id(1),
        reason_codes: vec![],
        properties: ack_props,
    };
    let disconnect_props = Disconnect {
        properties: DisconnectProperties {
            user_properties: user,
            ..DisconnectProperties::default()
        },
        ..Disconnect::default()
    };
    let cases: Vec<(Packet, EncodeError)> = vec![
        (publish.into(), EncodeError::V5Only("properties")),
        (aliased.into(), EncodeError::V5Only("properties")),
        (connect.into(), EncodeError::V5Only("properties")),
        (will_properties.into(), EncodeError::V5Only("properties")),
        (connack.into(), EncodeError::V5Only("properties")),
        (puback.into(), EncodeError::V5Only("reason code")),
        (pubrec.into(), EncodeError::V5Only("properties")),
        (subscribe_props.into(), EncodeError::V5Only("properties")),
        (suback.into(), EncodeError::V5Only("properties")),
        (unsubscribe.into(), EncodeError::V5Only("properties")),
        (
            unsuback.into(),
            EncodeError::V5Only("UNSUBACK reason codes"),
        ),
        (unsuback_props.into(), EncodeError::V5Only("properties")),
        (
            Disconnect::new(ReasonCode::DISCONNECT_WITH_WILL).into(),
            EncodeError::V5Only("DISCONNECT reason code"),
        ),
        (disconnect_props.into(), EncodeError::V5Only("properties")),
        (
            Auth::default().into(),
            EncodeError::PacketNotInVersion(PacketType::Auth),
        ),
    ];
    for (packet, error) in cases {
        // Each is a valid MQTT 5.0 packet.
        let mut out = Vec::new();
        packet.encode(V5, &mut out).unwrap();
        assert_eq!(out.len(), packet.encoded_len(V5));
        unencodable(V3, packet, error);
    }

    // Subscription options other than QoS (MQTT 5.0 §3.8.3.1).
    let options = [
        SubscriptionOptions {
            no_local: true,
            ..SubscriptionOptions::default()
        },
        SubscriptionOptions {
            retain_as_published: true,
            ..SubscriptionOptions::default()
        },
        SubscriptionOptions {
            retain_handling: RetainHandling::DoNotSend,
            ..SubscriptionOptions::default()
        },
    ];
    for options in options {
        let subscribe = Subscribe::new(
            id(1),
            vec![Subscription {
                filter: filter("a"),
                options,
            }],
        );
        unencodable(V3, subscribe, EncodeError::V5Only("subscription options"));
    }
}

/// MQTT 3.1.1 §3.2.2.3 and §3.9.3: CONNACK and SUBACK codes without a MQTT 3.1.1 equivalent.
#[test]
fn v311_reason_codes_without_return_code_are_refused() {
    for code in [
        ReasonCode::UNSPECIFIED_ERROR,
        ReasonCode::BANNED,
        ReasonCode(6),
    ] {
        let connack = ConnAck {
            reason_code: code,
            ..ConnAck::default()
        };
        unencodable(V3, connack, EncodeError::InvalidReasonCode(code));
    }
    let suback = SubAck {
        packet_id: id(1),
        reason_codes: vec![ReasonCode::GRANTED_QOS_1, ReasonCode::NOT_AUTHORIZED],
        properties: AckProperties::default(),
    };
    unencodable(
        V3,
        suback,
        EncodeError::InvalidReasonCode(ReasonCode::NOT_AUTHORIZED),
    );
}

/// MQTT-3.1.2-22 and MQTT-3.1.3-7 (MQTT 3.1.1): a password needs a user name, and a zero-byte
/// client identifier needs Clean Session.
#[test]
fn v311_connect_rules_are_enforced_when_encoding() {
    let password_only = Connect {
        password: Some(Bytes::from_static(b"pw")),
        ..Connect::new("c")
    };
    let mut out = Vec::new();
    assert!(matches!(
        Packet::from(password_only.clone()).encode(V3, &mut out),
        Err(EncodeError::InvalidConnect(_))
    ));
    assert!(out.is_empty());
    password_only.encode(V5, &mut out).unwrap();

    let resume_without_id = Connect {
        clean_start: false,
        ..Connect::new("")
    };
    assert!(matches!(
        resume_without_id.encode(V3, &mut Vec::new()),
        Err(EncodeError::InvalidConnect(_))
    ));
    resume_without_id.encode(V5, &mut Vec::new()).unwrap();
}

// ---- MQTT 3.1 --------------------------------------------------------------------------------

const V31: Version = Version::V31;

/// MQTT 3.1 §3.1: "The Client Identifier (Client ID) is between 1 and 23 characters long". The
/// encoder refuses an empty one (3.1 can't ask the server to assign one) and a longer one, by
/// characters, not bytes; MQTT 3.1.1 takes both.
#[test]
fn v31_client_identifier_of_1_to_23_characters() {
    for (id, chars) in [
        (String::new(), 0),
        ("c".repeat(24), 24),
        ("é".repeat(24), 24),
        ("x".repeat(100), 100),
    ] {
        unencodable(
            V31,
            Connect::new(id.as_str()),
            EncodeError::ClientIdLength { chars },
        );
        Connect::new(id.as_str())
            .encode(V3, &mut Vec::new())
            .unwrap();
    }
    for id in ["c", &"c".repeat(23), &"é".repeat(23)] {
        Connect::new(id).encode(V31, &mut Vec::new()).unwrap();
    }
}

/// A CONNECT with a client identifier MQTT 3.1 does not allow still decodes: a server answers
/// it with CONNACK 2 Identifier rejected (MQTT 3.1 §3.2), it is not malformed.
#[test]
fn v31_connect_with_a_long_client_identifier_decodes() {
    let id = "c".repeat(24);
    let wire = packet(
        0x10,
        &cat(&[
            &field(b"MQIsdp"),
            &[0x03, 0x02, 0x00, 0x3C],
            &field(id.as_bytes()),
        ]),
    );
    assert_eq!(
        accepted(V31, &wire),
        Packet::from(Connect::new(id.as_str()))
    );
}

/// MQTT 3.1 §3.1: the protocol name is "MQIsdp" and the level 3; "MQTT" is refused by the 3.1
/// decoder, and the 3.1 CONNECT by the others.
#[test]
fn v31_protocol_name_and_level() {
    let connect = |name: &[u8], level: u8| {
        packet(
            0x10,
            &cat(&[&field(name), &[level, 0x02, 0x00, 0x3C], &field(b"c")]),
        )
    };
    refused(
        V31,
        &connect(b"MQTT", 3),
        DecodeError::InvalidProtocolName,
        PROTOCOL_ERROR,
    );
    refused(
        V31,
        &connect(b"MQIsdp", 4),
        DecodeError::UnsupportedProtocolVersion(4),
        ReasonCode::UNSUPPORTED_PROTOCOL_VERSION,
    );
    refused(
        V3,
        &connect(b"MQIsdp", 3),
        DecodeError::InvalidProtocolName,
        PROTOCOL_ERROR,
    );
    accepted(V31, &connect(b"MQIsdp", 3));
}

/// MQTT 3.1 §3.9: SUBACK carries granted QoS levels only; 0x80, MQTT 3.1.1's failure code,
/// and any other value are refused, both ways.
#[test]
fn v31_suback_has_no_failure_code() {
    for code in [0x03, 0x7F, 0x80, 0x81, 0xFF] {
        refused(
            V31,
            &[0x90, 0x04, 0x00, 0x01, 0x00, code],
            DecodeError::InvalidReasonCode(code),
            PROTOCOL_ERROR,
        );
    }
    let suback = SubAck {
        packet_id: id(1),
        reason_codes: vec![ReasonCode::GRANTED_QOS_1, ReasonCode::UNSPECIFIED_ERROR],
        properties: AckProperties::default(),
    };
    unencodable(
        V31,
        suback.clone(),
        EncodeError::InvalidReasonCode(ReasonCode::UNSPECIFIED_ERROR),
    );
    suback.encode(V3, &mut Vec::new()).unwrap();
}

/// MQTT 3.1 §3.2: CONNACK has no Session Present flag, so a CONNACK with one can't be
/// encoded; its return codes are those of 3.1.1, 0 to 5.
#[test]
fn v31_connack_has_no_session_present_and_6_return_codes() {
    unencodable(
        V31,
        ConnAck {
            session_present: true,
            ..ConnAck::default()
        },
        EncodeError::NotInV31("Session Present"),
    );
    for code in [6, 0x80, 0xFF] {
        refused(
            V31,
            &[0x20, 0x02, 0x00, code],
            DecodeError::InvalidReasonCode(code),
            PROTOCOL_ERROR,
        );
    }
    unencodable(
        V31,
        ConnAck {
            reason_code: ReasonCode::BANNED,
            ..ConnAck::default()
        },
        EncodeError::InvalidReasonCode(ReasonCode::BANNED),
    );
}

/// MQTT 3.1 has neither AUTH nor properties.
#[test]
fn v31_has_no_auth_and_no_properties() {
    refused(
        V31,
        &[0xF0, 0x00],
        DecodeError::InvalidPacketType(15),
        MALFORMED,
    );
    unencodable(
        V31,
        Auth::default(),
        EncodeError::PacketNotInVersion(PacketType::Auth),
    );
    let mut publish = Publish::new(topic("t"), "x");
    publish.properties_mut().content_type = Some("text/plain".into());
    assert!(matches!(
        Packet::from(publish).encode(V31, &mut Vec::new()),
        Err(EncodeError::V5Only(_))
    ));
}

// ---- Encoding: sizes --------------------------------------------------------------------------

/// MQTT 5.0 §1.5.4 and §1.5.6: strings and binary data have a 16-bit length, so at most 65,535
/// bytes; 65,536 is refused, 65,535 goes through.
#[test]
fn fields_over_65535_bytes_are_refused() {
    let longest = ByteString::from("a".repeat(MAX_STRING_LEN));
    let too_long = ByteString::from("a".repeat(MAX_STRING_LEN + 1));
    let too_long_bin = Bytes::from(vec![0u8; MAX_STRING_LEN + 1]);

    let ok = Connect::new(longest.clone());
    let mut out = Vec::new();
    ok.encode(V3, &mut out).unwrap();
    assert_eq!(out.len(), ok.encoded_len(V3));
    assert_eq!(
        Decoder::new(V3).decode(&mut BytesMut::from(&out[..])),
        Ok(Some(ok.into()))
    );

    let user_key = Publish::new(topic("t"), Bytes::new()).with_properties(PublishProperties {
        user_properties: vec![UserProperty::new(too_long.clone(), "v")],
        ..PublishProperties::default()
    });
    let user_value = Connect {
        properties: ConnectProperties {
            user_properties: vec![UserProperty::new("k", too_long.clone())],
            ..ConnectProperties::default()
        },
        ..Connect::new("c")
    };
    let reason = PubAck {
        properties: AckProperties {
            reason_string: Some(too_long.clone()),
            ..AckProperties::default()
        },
        ..PubAck::new(id(1))
    };
    let correlation = Publish::new(topic("t"), Bytes::new()).with_properties(PublishProperties {
        correlation_data: Some(too_long_bin.clone()),
        ..PublishProperties::default()
    });
    let will_payload = Connect {
        will: Some(Will::new(topic("t"), too_long_bin.clone())),
        ..Connect::new("c")
    };
    let cases: Vec<(Version, Packet, &str)> = vec![
        (
            V3,
            Connect::new(too_long.clone()).into(),
            "client identifier",
        ),
        (
            V3,
            Connect {
                username: Some(too_long.clone()),
                ..Connect::new("c")
            }
            .into(),
            "user name",
        ),
        (
            V5,
            Connect {
                password: Some(too_long_bin.clone()),
                ..Connect::new("c")
            }
            .into(),
            "password",
        ),
        (V3, will_payload.into(), "will payload"),
        (V5, user_key.into(), "user property"),
        (V5, user_value.into(), "user property"),
        (V5, reason.into(), "string property"),
        (V5, correlation.into(), "binary property"),
    ];
    for (version, packet, field) in cases {
        unencodable(version, packet, EncodeError::FieldTooLong(field));
    }
}

/// MQTT 5.0 §1.5.4 (MQTT-1.5.4-2): a string to send must not contain U+0000 either.
#[test]
fn mqtt_1_5_4_2_null_character_is_refused_when_encoding() {
    unencodable(
        V3,
        Connect::new("a\0b"),
        EncodeError::NullCharacter("client identifier"),
    );
    unencodable(
        V3,
        Connect {
            username: Some("u\0".into()),
            ..Connect::new("c")
        },
        EncodeError::NullCharacter("user name"),
    );
    unencodable(
        V5,
        Disconnect {
            properties: DisconnectProperties {
                user_properties: vec![UserProperty::new("k", "\0")],
                ..DisconnectProperties::default()
            },
            ..Disconnect::default()
        },
        EncodeError::NullCharacter("user property"),
    );
    unencodable(
        V5,
        ConnAck {
            properties: ConnAckProperties {
                reason_string: Some("\0".into()),
                ..ConnAckProperties::default()
            },
            ..ConnAck::default()
        },
        EncodeError::NullCharacter("string property"),
    );
}

/// MQTT 5.0 §2.1.4: the Remaining Length is at most 268,435,455. A PUBLISH whose remaining length
/// is exactly that is written, one byte more is refused. The payload is one zeroed allocation the
/// encoder never copies: `encode_header` writes only the header.
#[test]
fn packet_over_268435455_bytes_is_refused() {
    // Topic "a" takes 3 bytes of the remaining length in MQTT 3.1.1.
    let payload = Bytes::from(vec![0u8; MAX_VAR_INT as usize - 2]);
    let fits = Publish::new(topic("a"), payload.slice(..MAX_VAR_INT as usize - 3));
    let mut header = Vec::new();
    fits.encode_header(V3, &mut header).unwrap();
    assert_eq!(header, [0x30, 0xFF, 0xFF, 0xFF, 0x7F, 0x00, 0x01, b'a']);
    assert_eq!(fits.encoded_len(V3), 5 + MAX_VAR_INT as usize);

    let too_big = Publish::new(topic("a"), payload);
    let mut header = [0u8; 16];
    let mut slice = &mut header[..];
    assert_eq!(
        too_big.encode_header(V3, &mut slice),
        Err(EncodeError::PacketTooLarge)
    );
    assert_eq!(header, [0u8; 16]);
    let mut out = Vec::new();
    assert_eq!(
        Packet::from(too_big.clone()).encode(V5, &mut out),
        Err(EncodeError::PacketTooLarge)
    );
    assert!(out.is_empty());
}

// ---- Encoding: PUBLISH, SUBSCRIBE and property rules ------------------------------------------

/// MQTT-2.3.1-5 / MQTT-2.2.1-2: "A PUBLISH Packet MUST NOT contain a Packet Identifier if its QoS
/// value is set to 0"; QoS 1 and 2 need one (§2.3.1, Table 2.5).
#[test]
fn mqtt_2_3_1_5_publish_packet_id_must_fit_qos() {
    for version in BOTH {
        for (qos, packet_id) in [
            (QoS::AtMostOnce, PacketId::new(1)),
            (QoS::AtLeastOnce, None),
            (QoS::ExactlyOnce, None),
        ] {
            let publish = {
                let mut publish = Publish::new(topic("t"), Bytes::new());
                publish.qos = qos;
                publish.packet_id = packet_id;
                publish
            };
            unencodable(version, publish, EncodeError::PacketIdMismatch);
        }
    }
}

/// MQTT-3.3.1-2: "The DUP flag MUST be set to 0 for all QoS 0 messages".
#[test]
fn mqtt_3_3_1_2_dup_on_qos_0_is_refused_when_encoding() {
    for version in BOTH {
        let publish = {
            let mut publish = Publish::new(topic("t"), Bytes::new());
            publish.dup = true;
            publish
        };
        unencodable(version, publish, EncodeError::DupOnQoS0);
    }
}

/// MQTT-4.7.3-1 and MQTT 5.0 §3.3.2.1: an empty topic name is only sent with a Topic Alias.
#[test]
fn empty_topic_without_alias_is_refused_when_encoding() {
    for version in BOTH {
        let publish = {
            let mut publish = Publish::new(topic("t"), Bytes::new());
            publish.topic = TopicName::default();
            publish
        };
        unencodable(version, publish, EncodeError::EmptyTopic);
    }
}

/// MQTT-3.8.3-3 and MQTT-3.10.3-2: SUBSCRIBE and UNSUBSCRIBE carry at least one topic filter.
#[test]
fn empty_subscribe_and_unsubscribe_are_refused() {
    for version in BOTH {
        unencodable(
            version,
            Subscribe::new(id(1), vec![]),
            EncodeError::NoTopicFilters,
        );
        unencodable(
            version,
            Unsubscribe::new(id(1), vec![]),
            EncodeError::NoTopicFilters,
        );
    }
}

/// MQTT-3.8.3-4 (MQTT 5.0): No Local on a shared subscription.
#[test]
fn v5_mqtt_3_8_3_4_no_local_on_shared_subscription_is_refused_when_encoding() {
    let subscribe = Subscribe::new(
        id(1),
        vec![Subscription {
            filter: filter("$share/g/a"),
            options: SubscriptionOptions {
                no_local: true,
                ..SubscriptionOptions::default()
            },
        }],
    );
    unencodable(V5, subscribe, EncodeError::NoLocalOnSharedSubscription);
}

/// Property values that cannot be sent: Maximum QoS 2 (MQTT 5.0 §3.2.2.3.4: "0 or 1"), a
/// Subscription Identifier above 268,435,455 (§3.8.2.1.2), Authentication Data without a
/// method (§3.1.2.11.10).
#[test]
fn v5_invalid_property_values_are_refused_when_encoding() {
    let connack = ConnAck {
        properties: ConnAckProperties {
            maximum_qos: Some(QoS::ExactlyOnce),
            ..ConnAckProperties::default()
        },
        ..ConnAck::default()
    };
    unencodable(
        V5,
        connack,
        EncodeError::InvalidPropertyValue(PropertyId::MaximumQoS),
    );
    let too_big = NonZeroU32::new(MAX_VAR_INT + 1);
    let subscribe = Subscribe {
        properties: SubscribeProperties {
            subscription_identifier: too_big,
            ..SubscribeProperties::default()
        },
        ..Subscribe::new(id(1), vec![Subscription::new(filter("a"), QoS::AtMostOnce)])
    };
    unencodable(
        V5,
        subscribe,
        EncodeError::InvalidPropertyValue(PropertyId::SubscriptionIdentifier),
    );
    let publish = Publish::new(topic("t"), Bytes::new()).with_properties(PublishProperties {
        subscription_identifiers: vec![too_big.unwrap()],
        ..PublishProperties::default()
    });
    unencodable(
        V5,
        publish,
        EncodeError::InvalidPropertyValue(PropertyId::SubscriptionIdentifier),
    );
    let connect = Connect {
        properties: ConnectProperties {
            authentication_data: Some(Bytes::from_static(b"x")),
            ..ConnectProperties::default()
        },
        ..Connect::new("c")
    };
    unencodable(
        V5,
        connect,
        EncodeError::InvalidPropertyValue(PropertyId::AuthenticationData),
    );
}

/// Encoding into a `&mut [u8]` without room for the whole packet is an error, never a panic, and
/// writes nothing.
#[test]
fn buffer_too_small_is_an_error() {
    let publish = {
        let mut publish = Publish::new(topic("a/b"), vec![1u8; 300]);
        publish.qos = QoS::AtLeastOnce;
        publish.packet_id = PacketId::new(1);
        publish
    };
    let packets: Vec<Packet> = vec![
        Connect::new("client").into(),
        ConnAck::default().into(),
        publish.clone().into(),
        PubAck::new(id(1)).into(),
        Subscribe::new(id(1), vec![Subscription::new(filter("a"), QoS::AtMostOnce)]).into(),
        Unsubscribe::new(id(1), vec![filter("a")]).into(),
        Packet::PingReq,
        Disconnect::new(ReasonCode::SERVER_SHUTTING_DOWN).into(),
        Auth::default().into(),
    ];
    for packet in packets {
        let len = packet.encoded_len(V5);
        for size in [0, 1, len / 2, len - 1] {
            let mut storage = vec![0u8; size];
            let mut buf = &mut storage[..];
            assert_eq!(
                packet.encode(V5, &mut buf),
                Err(EncodeError::BufferTooSmall {
                    needed: len,
                    remaining: size,
                }),
                "{packet:?} into {size} bytes"
            );
            assert!(storage.iter().all(|&b| b == 0));
        }
    }
    // The header alone of a PUBLISH: 1 + 2 (Remaining Length 308) + 5 + 2 + 1 bytes.
    let mut storage = [0u8; 10];
    let mut buf = &mut storage[..];
    assert_eq!(
        publish.encode_header(V5, &mut buf),
        Err(EncodeError::BufferTooSmall {
            needed: 11,
            remaining: 10,
        })
    );
    let mut storage = [0u8; 11];
    let mut buf = &mut storage[..];
    publish.encode_header(V5, &mut buf).unwrap();
    assert_eq!(storage[..3], [0x32, 0xB4, 0x02]);
}

/// MQTT-4.7.3-1: a Will Topic is a topic name and is never empty (MQTT 5.0 §3.1.3.3); nor is a
/// Response Topic (MQTT 5.0 §3.3.2.3.5, §3.1.3.2.6). `TopicName::default()` is empty, so the
/// encoder must refuse it there rather than send what every receiver refuses.
#[test]
fn empty_will_topic_and_response_topic_are_refused_when_encoding() {
    for version in BOTH {
        let connect = Connect {
            will: Some(Will::new(TopicName::default(), Bytes::new())),
            ..Connect::new("c")
        };
        unencodable(version, connect, EncodeError::EmptyTopic);
    }
    let publish = Publish::new(topic("t"), Bytes::new()).with_properties(PublishProperties {
        response_topic: Some(TopicName::default()),
        ..PublishProperties::default()
    });
    unencodable(
        V5,
        publish,
        EncodeError::InvalidPropertyValue(PropertyId::ResponseTopic),
    );
    let connect = Connect {
        will: Some(Will {
            properties: WillProperties {
                response_topic: Some(TopicName::default()),
                ..WillProperties::default()
            },
            ..Will::new(topic("w"), Bytes::new())
        }),
        ..Connect::new("c")
    };
    unencodable(
        V5,
        connect,
        EncodeError::InvalidPropertyValue(PropertyId::ResponseTopic),
    );
}
