//! Conformance, MQTT 1 and 2: data representation (UTF-8 strings, Variable Byte Integers, string pairs) and
//! the control packet format (fixed-header flags, packet identifiers, property length).
//!
//! One test per client-binding normative statement, named after its id; see
//! `CONFORMANCE.md` at the repository root.

#[path = "../harness/mod.rs"]
mod harness;

#[allow(unused_imports)]
use harness::*;

// ---- helpers ------------------------------------------------------------------------------

/// Checks that the session gave up the connection for a protocol error: in MQTT 5.0 after a
/// DISCONNECT with `code`, in MQTT 3.1.1 by just closing; the last event says so.
fn assert_closed(h: &mut Harness, code: u8) -> ProtocolError {
    let sent = h.sent();
    if h.mode.v5() {
        assert_eq!(sent, [Packet::from(Disconnect::new(ReasonCode(code)))]);
    } else {
        assert_eq!(
            sent,
            [],
            "MQTT 3.1.1 has no DISCONNECT from the client for errors"
        );
    }
    assert_eq!(h.session.state(), ConnectionState::Disconnected);
    match h.events().last() {
        Some(Event::Disconnected(DisconnectReason::ProtocolError { reason_code, error })) => {
            assert_eq!(reason_code.0, code);
            error.clone()
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

/// A connected session that is sent `bytes` by the server, checked to close with `code`.
fn receives_and_closes(mode: Mode, bytes: &[u8], code: u8) -> ProtocolError {
    let mut h = Harness::new(mode);
    h.connect();
    h.inject_bytes(bytes);
    assert_closed(&mut h, code)
}

/// A QoS 0 PUBLISH with `topic` as raw bytes (an empty property list in MQTT 5.0).
fn raw_publish(version: Version, topic: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&u16::try_from(topic.len()).unwrap().to_be_bytes());
    body.extend_from_slice(topic);
    if version.is_v5() {
        body.push(0);
    }
    body.extend_from_slice(payload);
    let mut packet = vec![0x30, u8::try_from(body.len()).unwrap()];
    packet.extend_from_slice(&body);
    packet
}

/// The topic of the only message delivered since the last look.
fn delivered_topic(h: &mut Harness) -> String {
    match h.events().as_slice() {
        [Event::Message(m)] => m.publish.topic.to_string(),
        other => panic!("expected one message, got {other:?}"),
    }
}

/// The fewest bytes a Variable Byte Integer of `value` takes.
fn minimal_varint_len(value: usize) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// Runs `flow` on a connected session of `version`, both feeds, and returns the raw frames the
/// client sent during it, with the fixed header of each (CONNECT not included).
fn frames_of(version: Version, flow: impl Fn(&mut Harness)) -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    for feed in [Feed::Whole, Feed::ByteAtATime] {
        let mut config = Config::new("client", version);
        config.clean_start = false;
        let mut h = Harness::with_config(Mode { version, feed }, config);
        h.connect();
        h.raw.clear();
        flow(&mut h);
        all = h.raw_frames();
    }
    all
}

/// Sends one packet of every type a client sends, each answered so the next can follow.
fn every_client_packet(h: &mut Harness) {
    let v5 = h.mode.v5();
    h.cmd(|s, now| s.publish(now, msg("t", "q1", 1))).unwrap();
    h.cmd(|s, now| s.publish(now, msg("t", "q2", 2))).unwrap();
    h.cmd(|s, now| s.subscribe(now, subscriptions(&["a/+"], 1), Default::default()))
        .unwrap();
    h.cmd(|s, now| s.unsubscribe(now, vec![filter("a/+")], Default::default()))
        .unwrap();
    h.inject(pubrec(2)); // -> PUBREL
    h.inject(incoming("t", "in1", 1, 7)); // -> PUBACK
    h.inject(incoming("t", "in2", 2, 8)); // -> PUBREC
    h.inject(pubrel(8)); // -> PUBCOMP
    h.advance(Duration::from_secs(60)); // -> PINGREQ
    if v5 {
        h.cmd(|s, now| s.disconnect(now, Disconnect::new(ReasonCode(0x04))))
            .unwrap();
    } else {
        h.cmd(|s, now| s.disconnect(now, Disconnect::default()))
            .unwrap();
    }
}

/// The first byte, type and flags, the standard fixes for each packet type a client sends.
const CLIENT_FIXED_HEADERS: [(u8, &str); 9] = [
    (0x10, "CONNECT"),
    (0x40, "PUBACK"),
    (0x50, "PUBREC"),
    (0x62, "PUBREL"),
    (0x70, "PUBCOMP"),
    (0x82, "SUBSCRIBE"),
    (0xA2, "UNSUBSCRIBE"),
    (0xC0, "PINGREQ"),
    (0xE0, "DISCONNECT"),
];

fn reserved_flags_as_listed(version: Version) {
    let frames = frames_of(version, every_client_packet);
    let mut seen = Vec::new();
    for frame in &frames {
        let first = frame[0];
        match first >> 4 {
            3 => assert_eq!(first & 0x01, 0, "PUBLISH RETAIN clear here: {frame:?}"),
            t => {
                let (expected, name) = CLIENT_FIXED_HEADERS
                    .iter()
                    .find(|(b, _)| b >> 4 == t)
                    .unwrap_or_else(|| panic!("a client never sends type {t}"));
                assert_eq!(first, *expected, "{name} fixed header");
                seen.push(*name);
            }
        }
    }
    for name in [
        "PUBACK",
        "PUBREC",
        "PUBREL",
        "PUBCOMP",
        "SUBSCRIBE",
        "UNSUBSCRIBE",
    ] {
        assert!(seen.contains(&name), "the flow sends {name}: {seen:?}");
    }
    for name in ["PINGREQ", "DISCONNECT"] {
        assert!(seen.contains(&name), "the flow sends {name}: {seen:?}");
    }
    // CONNECT, from a fresh session.
    let mut h = Harness::new(Mode {
        version,
        feed: Feed::Whole,
    });
    h.open();
    assert_eq!(h.raw_frames()[0][0], 0x10);
}

/// Server packets with flags the standard does not allow, all of which must close.
fn bad_flags_close(version: Version) {
    let cases: &[&[u8]] = &[
        &[0x21, 0x02, 0x00, 0x00],       // CONNACK with flags 0001
        &[0x41, 0x02, 0x00, 0x01],       // PUBACK 0001
        &[0x52, 0x02, 0x00, 0x01],       // PUBREC 0010
        &[0x60, 0x02, 0x00, 0x01],       // PUBREL 0000
        &[0x78, 0x02, 0x00, 0x01],       // PUBCOMP 1000
        &[0x92, 0x03, 0x00, 0x01, 0x00], // SUBACK 0010
        &[0xB1, 0x02, 0x00, 0x01],       // UNSUBACK 0001
        &[0xD4, 0x00],                   // PINGRESP 0100
    ];
    for feed in [Feed::Whole, Feed::ByteAtATime] {
        for bytes in cases {
            let error = receives_and_closes(Mode { version, feed }, bytes, 0x81);
            assert!(
                matches!(error, ProtocolError::Decode(_)),
                "{bytes:?}: {error:?}"
            );
        }
    }
}

fn ill_formed_utf8_closes(version: Version) {
    for feed in [Feed::Whole, Feed::ByteAtATime] {
        let mode = Mode { version, feed };
        // U+D800 in the three-byte form UTF-8 excludes; an overlong '/'; a lone continuation byte.
        for topic in [&b"a\xED\xA0\x80"[..], b"\xC0\xAF", b"a\x80"] {
            let error = receives_and_closes(mode, &raw_publish(version, topic, b"x"), 0x81);
            assert!(
                matches!(error, ProtocolError::Decode(DecodeError::InvalidUtf8)),
                "{topic:?}: {error:?}"
            );
        }
    }
}

fn sent_strings_are_utf8(version: Version) {
    let mut config = Config::new("клиент-☃", version);
    config.username = Some("用户".into());
    let mut h = Harness::with_config(
        Mode {
            version,
            feed: Feed::Whole,
        },
        config,
    );
    h.open();
    let connect = &h.raw_frames()[0];
    for s in ["клиент-☃", "用户"] {
        let mut field = u16::try_from(s.len()).unwrap().to_be_bytes().to_vec();
        field.extend_from_slice(s.as_bytes());
        assert!(
            connect.windows(field.len()).any(|w| w == field),
            "{s} as a length-prefixed UTF-8 string in {connect:?}"
        );
    }
}

fn null_character_refused(version: Version) {
    for feed in [Feed::Whole, Feed::ByteAtATime] {
        let mode = Mode { version, feed };
        let error = receives_and_closes(mode, &raw_publish(version, b"a\0b", b"x"), 0x81);
        assert_eq!(error, ProtocolError::Decode(DecodeError::NullCharacter));
    }
    // As a sender: a client identifier or user name with U+0000 is refused before anything is
    // written, and a topic with one cannot even be built.
    for (client_id, username) in [("a\0", None), ("a", Some("u\0"))] {
        let mut config = Config::new(client_id, version);
        config.username = username.map(Into::into);
        let mut h = Harness::with_config(
            Mode {
                version,
                feed: Feed::Whole,
            },
            config,
        );
        let result = h.cmd(|s, now| s.handle_transport_opened(now));
        assert!(
            matches!(
                result,
                Err(UsageError::Encode(mqtt_proto::EncodeError::NullCharacter(
                    _
                )))
            ),
            "{result:?}"
        );
        assert!(h.raw.is_empty(), "nothing is sent");
    }
    assert!(TopicName::new("a\0b").is_err());
    assert!(TopicFilter::new("a\0b").is_err());
}

fn byte_order_mark_kept(version: Version) {
    for feed in [Feed::Whole, Feed::ByteAtATime] {
        let mut h = Harness::new(Mode { version, feed });
        h.connect();
        h.inject_bytes(&raw_publish(version, "\u{FEFF}a/b".as_bytes(), b"x"));
        assert_eq!(delivered_topic(&mut h), "\u{FEFF}a/b");
        // And as a sender, the BOM goes out as the three bytes it is.
        h.raw.clear();
        h.cmd(|s, now| s.publish(now, msg("\u{FEFF}t", "x", 0)))
            .unwrap();
        let frame = &h.raw_frames()[0];
        assert_eq!(&frame[2..7], b"\x00\x04\xEF\xBB\xBFt"[..5].as_ref());
        assert_eq!(frame[7], b't');
    }
}

/// The packet identifiers the client put on `frames` (PUBLISH QoS > 0, SUBSCRIBE, UNSUBSCRIBE),
/// read from the bytes.
fn raw_ids(frames: &[Vec<u8>]) -> Vec<u16> {
    frames
        .iter()
        .filter_map(|f| {
            let (_, len) = varint(&f[1..]);
            let body = &f[1 + len..];
            match f[0] >> 4 {
                3 if f[0] & 0x06 != 0 => {
                    let topic_len = usize::from(u16::from_be_bytes([body[0], body[1]]));
                    let at = 2 + topic_len;
                    Some(u16::from_be_bytes([body[at], body[at + 1]]))
                }
                8 | 10 => Some(u16::from_be_bytes([body[0], body[1]])),
                _ => None,
            }
        })
        .collect()
}

/// Packets that need an identifier get a non-zero one, unused by any other exchange in flight.
fn ids_non_zero_and_unused(version: Version) {
    let frames = frames_of(version, |h| {
        for i in 0..5 {
            h.cmd(|s, now| s.publish(now, msg("t", "x", 1 + i % 2)))
                .unwrap();
        }
        h.cmd(|s, now| s.subscribe(now, subscriptions(&["a"], 0), Default::default()))
            .unwrap();
        h.cmd(|s, now| s.unsubscribe(now, vec![filter("a")], Default::default()))
            .unwrap();
        // Complete the first two; the next ones must not take any id still in flight.
        h.inject(puback(1));
        h.inject(pubrec(2));
        for _ in 0..3 {
            h.cmd(|s, now| s.publish(now, msg("t", "x", 1))).unwrap();
        }
    });
    let ids = raw_ids(&frames);
    assert_eq!(ids.len(), 10, "{frames:?}");
    assert!(ids.iter().all(|&id| id != 0), "{ids:?}");
    // 2 is still in flight (awaiting PUBCOMP), so only 1 could have been reused.
    let mut in_flight: Vec<u16> = ids[2..7].to_vec();
    for &id in &ids[7..] {
        assert!(
            !in_flight.contains(&id),
            "{id} reused while in flight: {ids:?}"
        );
        in_flight.push(id);
    }
    let mut distinct = ids[..7].to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 7, "{ids:?}");
}

/// Over more than 65,535 publishes the identifier wraps to 1, never 0, and skips one that is
/// still unacknowledged; the resent PUBLISH keeps its identifier.
fn ids_wrap_and_skip_in_flight(version: Version) {
    let mut config = Config::new("client", version);
    config.clean_start = false;
    let mut h = Harness::with_config(
        Mode {
            version,
            feed: Feed::Whole,
        },
        config,
    );
    h.connect();
    h.cmd(|s, now| s.publish(now, msg("stuck", "x", 1)))
        .unwrap();
    let stuck = publish_ids(&h.sent())[0];
    let mut seen_after_wrap = Vec::new();
    for _ in 0..70_000 {
        h.cmd(|s, now| s.publish(now, msg("t", "x", 1))).unwrap();
        let id = publish_ids(&h.sent())[0];
        assert_ne!(id, stuck, "identifier {id} is still in flight");
        if !seen_after_wrap.is_empty() || id < 3 {
            seen_after_wrap.push(id);
        }
        h.inject(puback(id));
        h.skip();
    }
    assert!(seen_after_wrap.len() > 1, "the identifiers wrapped");
    // Resent after a reconnect: same identifier, DUP set.
    h.close();
    h.open();
    h.inject(connack_present());
    let resent = h.sent();
    assert_eq!(resent.len(), 2, "{resent:?}");
    assert_eq!(resent[1], on_wire(msg("stuck", "x", 1), Some(stuck), true));
}

/// Each answer carries the identifier of the PUBLISH it answers, in both directions.
fn acks_carry_the_publish_id(version: Version) {
    for feed in [Feed::Whole, Feed::ByteAtATime] {
        let mut h = Harness::new(Mode { version, feed });
        h.connect();
        h.inject(incoming("t", "x", 1, 4321));
        h.inject(incoming("t", "x", 2, 65_535));
        h.inject(pubrel(65_535));
        for _ in 0..3 {
            h.cmd(|s, now| s.publish(now, msg("t", "x", 2))).unwrap();
        }
        h.skip();
        h.inject(pubrec(2));
        let frames = h.raw_frames();
        let ids: Vec<(u8, u16)> = frames[1..]
            .iter()
            .filter(|f| matches!(f[0] >> 4, 4..=7))
            .map(|f| (f[0] >> 4, u16::from_be_bytes([f[2], f[3]])))
            .collect();
        assert_eq!(ids, [(4, 4321), (5, 65_535), (7, 65_535), (6, 2)]);
    }
}

/// A QoS 0 PUBLISH goes out without a Packet Identifier: the payload follows the topic (and the
/// property list in MQTT 5.0) directly.
fn qos0_has_no_packet_id(version: Version) {
    let frames = frames_of(version, |h| {
        h.cmd(|s, now| s.publish(now, msg("ab", "PAYLOAD", 0)))
            .unwrap();
    });
    let props = if version.is_v5() { &[0u8][..] } else { &[] };
    let mut expected = vec![0x30, 0, 0, 2, b'a', b'b'];
    expected.extend_from_slice(props);
    expected.extend_from_slice(b"PAYLOAD");
    expected[1] = u8::try_from(expected.len() - 2).unwrap();
    assert_eq!(frames, [expected]);
}

/// A QoS 1 PUBLISH with Packet Identifier 0 from the server is malformed.
fn zero_packet_id_closes(version: Version) {
    for feed in [Feed::Whole, Feed::ByteAtATime] {
        let mut bytes = vec![0x32, 0x05, 0x00, 0x01, b't', 0x00, 0x00];
        if version.is_v5() {
            bytes[1] += 1;
            bytes.push(0);
        }
        receives_and_closes(Mode { version, feed }, &bytes, 0x81);
        receives_and_closes(Mode { version, feed }, &[0x40, 0x02, 0x00, 0x00], 0x81);
    }
}

// ---- MQTT 3.1.1 -----------------------------------------------------------------------------

/// Ill-formed UTF-8 from the server closes the connection.
#[test]
fn mqtt_311_1_5_3_1_ill_formed_utf8_closes() {
    ill_formed_utf8_closes(Version::V311);
}

/// The client's strings go out as UTF-8.
#[test]
fn mqtt_311_1_5_3_1_sent_strings_are_utf8() {
    sent_strings_are_utf8(Version::V311);
}

/// U+0000 from the server closes; the client never sends it.
#[test]
fn mqtt_311_1_5_3_2_null_character() {
    null_character_refused(Version::V311);
}

/// A byte order mark is part of the string both ways.
#[test]
fn mqtt_311_1_5_3_3_byte_order_mark_kept() {
    byte_order_mark_kept(Version::V311);
}

/// Every packet the client sends has the fixed-header flags the standard lists.
#[test]
fn mqtt_311_2_2_2_1_reserved_flags_as_listed() {
    reserved_flags_as_listed(Version::V311);
}

/// Wrong fixed-header flags from the server close the connection.
#[test]
fn mqtt_311_2_2_2_2_bad_flags_close() {
    bad_flags_close(Version::V311);
}

/// Packet identifiers are never 0, on packets the client sends or accepts.
#[test]
fn mqtt_311_2_3_1_1_packet_id_non_zero() {
    ids_non_zero_and_unused(Version::V311);
    zero_packet_id_closes(Version::V311);
}

/// A new exchange takes an identifier no other exchange in flight holds.
#[test]
fn mqtt_311_2_3_1_2_unused_packet_id() {
    ids_non_zero_and_unused(Version::V311);
}

/// Identifiers stay taken until acknowledged, survive the wrap, and resends keep them.
#[test]
fn mqtt_311_2_3_1_3_id_kept_until_acknowledged() {
    ids_wrap_and_skip_in_flight(Version::V311);
}

/// QoS 0 PUBLISH packets carry no identifier.
#[test]
fn mqtt_311_2_3_1_5_qos0_no_packet_id() {
    qos0_has_no_packet_id(Version::V311);
}

/// PUBACK, PUBREC and PUBREL echo the PUBLISH's identifier.
#[test]
fn mqtt_311_2_3_1_6_acks_echo_packet_id() {
    acks_carry_the_publish_id(Version::V311);
}

// ---- MQTT 5.0 -------------------------------------------------------------------------------

/// Ill-formed UTF-8 from the server closes with 0x81.
#[test]
fn mqtt_5_1_5_4_1_ill_formed_utf8_closes() {
    ill_formed_utf8_closes(Version::V5);
}

/// The client's strings go out as UTF-8.
#[test]
fn mqtt_5_1_5_4_1_sent_strings_are_utf8() {
    sent_strings_are_utf8(Version::V5);
}

/// U+0000 from the server closes with 0x81; the client never sends it.
#[test]
fn mqtt_5_1_5_4_2_null_character() {
    null_character_refused(Version::V5);
}

/// A byte order mark is part of the string both ways.
#[test]
fn mqtt_5_1_5_4_3_byte_order_mark_kept() {
    byte_order_mark_kept(Version::V5);
}

/// Remaining Length and Property Length take as few bytes as their value needs.
#[test]
fn mqtt_5_1_5_5_1_variable_byte_integers_minimal() {
    for version in [Version::V311, Version::V5] {
        let sizes = [
            0usize, 100, 116, 117, 118, 200, 16_360, 16_370, 16_400, 2_097_100, 2_097_200,
        ];
        let frames = frames_of(version, |h| {
            for size in sizes {
                let payload = Bytes::from(vec![b'x'; size]);
                let publish = Publish::new(topic("t"), payload);
                h.cmd(|s, now| s.publish(now, publish)).unwrap();
            }
        });
        assert_eq!(frames.len(), sizes.len());
        for frame in &frames {
            let (remaining, len) = varint(&frame[1..]);
            assert_eq!(1 + len + remaining, frame.len());
            assert_eq!(
                len,
                minimal_varint_len(remaining),
                "remaining length {remaining}"
            );
        }
    }
    // A Property Length past 127: user properties on a PUBLISH.
    let frames = frames_of(Version::V5, |h| {
        let mut publish = msg("t", "x", 0);
        publish.properties_mut().user_properties = vec![UserProperty::new(
            ByteString::from("k"),
            ByteString::from("v".repeat(200)),
        )];
        h.cmd(|s, now| s.publish(now, publish)).unwrap();
    });
    let (_, len) = varint(&frames[0][1..]);
    let (props, props_len) = varint(&frames[0][1 + len + 3..]);
    assert_eq!(props, 1 + 2 + 1 + 2 + 200);
    assert_eq!(props_len, 2);
}

/// Both strings of a User Property pair follow the string rules, sent and received.
#[test]
fn mqtt_5_1_5_7_1_string_pairs_are_strings() {
    for (key, value) in [("k\0", "v"), ("k", "v\0")] {
        let mut h = Harness::new(V5_WHOLE);
        h.connect();
        h.raw.clear();
        let mut publish = msg("t", "x", 0);
        publish.properties_mut().user_properties = vec![UserProperty::new(
            ByteString::from(key),
            ByteString::from(value),
        )];
        let result = h.cmd(|s, now| s.publish(now, publish));
        assert!(
            matches!(
                result,
                Err(UsageError::Encode(mqtt_proto::EncodeError::NullCharacter(
                    _
                )))
            ),
            "{result:?}"
        );
        assert!(h.raw.is_empty());
    }
    // Received: a user property whose value is not UTF-8 (0xFF) or holds U+0000.
    for value in [&[0xFFu8][..], &[b'a', 0]] {
        for feed in [Feed::Whole, Feed::ByteAtATime] {
            let mut props = vec![0x26, 0, 1, b'k', 0, u8::try_from(value.len()).unwrap()];
            props.extend_from_slice(value);
            let mut body = vec![0, 1, b't', u8::try_from(props.len()).unwrap()];
            body.extend_from_slice(&props);
            let mut bytes = vec![0x30, u8::try_from(body.len()).unwrap()];
            bytes.extend_from_slice(&body);
            receives_and_closes(
                Mode {
                    version: Version::V5,
                    feed,
                },
                &bytes,
                0x81,
            );
        }
    }
}

/// Every packet the client sends has the fixed-header flags the standard lists.
#[test]
fn mqtt_5_2_1_3_1_reserved_flags_as_listed() {
    reserved_flags_as_listed(Version::V5);
    // AUTH: 0xF0.
    let mut config = Config::new("client", Version::V5);
    config.connect_properties.authentication_method = Some("SCRAM".into());
    let mut h = Harness::with_config(V5_WHOLE, config);
    h.open();
    h.inject(Auth {
        reason_code: ReasonCode(0x18),
        properties: AuthProperties {
            authentication_method: Some("SCRAM".into()),
            ..Default::default()
        },
    });
    h.raw.clear();
    let auth = Auth {
        reason_code: ReasonCode(0x18),
        properties: AuthProperties {
            authentication_method: Some("SCRAM".into()),
            ..Default::default()
        },
    };
    h.cmd(|s, now| s.auth(now, auth)).unwrap();
    assert_eq!(h.raw_frames()[0][0], 0xF0);
}

/// Wrong fixed-header flags from the server close with 0x81.
#[test]
fn mqtt_5_2_1_3_1_bad_flags_close() {
    bad_flags_close(Version::V5);
    for feed in [Feed::Whole, Feed::ByteAtATime] {
        let mode = Mode {
            version: Version::V5,
            feed,
        };
        receives_and_closes(mode, &[0xF1, 0x00], 0x81); // AUTH 0001
        receives_and_closes(mode, &[0xE2, 0x00], 0x81); // DISCONNECT 0010
    }
}

/// QoS 0 PUBLISH packets carry no identifier.
#[test]
fn mqtt_5_2_2_1_2_qos0_no_packet_id() {
    qos0_has_no_packet_id(Version::V5);
}

/// New exchanges take non-zero identifiers no exchange in flight holds; 0 from the server closes.
#[test]
fn mqtt_5_2_2_1_3_unused_non_zero_packet_id() {
    ids_non_zero_and_unused(Version::V5);
    ids_wrap_and_skip_in_flight(Version::V5);
    zero_packet_id_closes(Version::V5);
}

/// PUBACK, PUBREC, PUBREL and PUBCOMP echo the PUBLISH's identifier.
#[test]
fn mqtt_5_2_2_1_5_acks_echo_packet_id() {
    acks_carry_the_publish_id(Version::V5);
}

/// Packets with a property list send a Property Length of 0 when they have no properties.
#[test]
fn mqtt_5_2_2_2_1_empty_property_length_present() {
    let mut h = Harness::new(V5_WHOLE);
    h.open();
    let connect = &h.raw_frames()[0];
    // Fixed header (2), protocol name (6), level, flags, keep alive (2): then properties.
    assert_eq!(connect[12], 0, "CONNECT property length");
    h.inject(ConnAck::default());
    h.raw.clear();
    h.cmd(|s, now| s.publish(now, msg("t", "x", 1))).unwrap();
    h.cmd(|s, now| s.subscribe(now, subscriptions(&["a"], 0), Default::default()))
        .unwrap();
    h.cmd(|s, now| s.unsubscribe(now, vec![filter("a")], Default::default()))
        .unwrap();
    let frames = h.raw_frames();
    // PUBLISH: topic (3), packet id (2), then properties.
    assert_eq!(frames[0][2 + 3 + 2], 0, "PUBLISH property length");
    // SUBSCRIBE and UNSUBSCRIBE: packet id (2), then properties.
    assert_eq!(frames[1][2 + 2], 0, "SUBSCRIBE property length");
    assert_eq!(frames[2][2 + 2], 0, "UNSUBSCRIBE property length");
    // A will with no properties still has its Property Length.
    let mut config = Config::new("c", Version::V5);
    config.will = Some(Will::new(topic("w"), "bye"));
    let mut h = Harness::with_config(V5_WHOLE, config);
    h.open();
    let connect = &h.raw_frames()[0];
    // Properties (1: empty), client id "c" (3), then the will's Property Length.
    assert_eq!(connect[12], 0);
    assert_eq!(&connect[13..16], b"\x00\x01c");
    assert_eq!(connect[16], 0, "will property length");
    assert_eq!(&connect[17..20], b"\x00\x01w");
}
