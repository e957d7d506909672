//! Conformance, MQTT 3.3 to 3.7: PUBLISH and its acknowledgements PUBACK, PUBREC, PUBREL, PUBCOMP.
//!
//! One test per client-binding normative statement, named after its id; see
//! `CONFORMANCE.md` at the repository root.

#[path = "../harness/mod.rs"]
mod harness;

#[allow(unused_imports)]
use harness::*;

// ---- helpers ------------------------------------------------------------------------------

const MQTT_311: [Mode; 2] = [V311_WHOLE, V311_BYTES];
const MQTT_5: [Mode; 2] = [V5_WHOLE, V5_BYTES];

/// The broker sends `bytes`, fed as the mode says; returns what the client wrote back, raw.
fn answer_bytes(h: &mut Harness, bytes: &[u8]) -> Vec<u8> {
    let feed = h.mode.feed;
    raw(h, |s, now| match feed {
        Feed::Whole => s.handle_bytes(now, bytes),
        Feed::ByteAtATime => {
            for byte in bytes {
                s.handle_bytes(now, core::slice::from_ref(byte));
            }
        }
    })
    .1
}

/// The broker sends `packet`; returns what the client wrote back, raw.
fn answer(h: &mut Harness, packet: impl Into<Packet>) -> Vec<u8> {
    let mut bytes = Vec::new();
    packet.into().encode(h.mode.version, &mut bytes).unwrap();
    answer_bytes(h, &bytes)
}

/// A Variable Byte Integer at the start of `bytes`: its value and its length.
fn var_int(bytes: &[u8]) -> (usize, usize) {
    let mut value = 0;
    for (i, byte) in bytes.iter().enumerate().take(4) {
        value |= usize::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return (value, i + 1);
        }
    }
    panic!("bad variable byte integer in {bytes:02X?}")
}

fn put_var_int(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let byte = (n % 128) as u8;
        n /= 128;
        out.push(if n > 0 { byte | 0x80 } else { byte });
        if n == 0 {
            return;
        }
    }
}

/// Raw client bytes cut into packets.
fn split(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut packets = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (len, n) = var_int(&rest[1..]);
        packets.push(rest[..1 + n + len].to_vec());
        rest = &rest[1 + n + len..];
    }
    packets
}

/// A raw packet's first byte and its body, the bytes its remaining length counts.
fn parts(packet: &[u8]) -> (u8, &[u8]) {
    let (len, n) = var_int(&packet[1..]);
    assert_eq!(packet.len(), 1 + n + len, "remaining length");
    (packet[0], &packet[1 + n..])
}

/// A raw PUBLISH: `flags` in the fixed header, the topic as given, the packet identifier, in
/// MQTT 5.0 the property list `properties`, and the payload.
fn publish_bytes(
    mode: Mode,
    flags: u8,
    topic: &[u8],
    id: Option<u16>,
    properties: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&(topic.len() as u16).to_be_bytes());
    body.extend_from_slice(topic);
    if let Some(id) = id {
        body.extend_from_slice(&id.to_be_bytes());
    }
    if mode.v5() {
        put_var_int(&mut body, properties.len());
        body.extend_from_slice(properties);
    }
    body.extend_from_slice(payload);
    let mut packet = vec![0x30 | flags];
    put_var_int(&mut packet, body.len());
    packet.extend_from_slice(&body);
    packet
}

/// The fields of a raw PUBLISH: its flags, the topic, the packet identifier and, in MQTT 5.0,
/// every property as its identifier and raw value (length prefixes included).
struct RawPublish {
    flags: u8,
    topic: Vec<u8>,
    id: Option<u16>,
    properties: Vec<(u8, Vec<u8>)>,
}

fn parse_publish(version: Version, packet: &[u8]) -> RawPublish {
    let (first, body) = parts(packet);
    assert_eq!(first >> 4, 3, "not a PUBLISH: {packet:02X?}");
    let flags = first & 0x0F;
    let topic_len = usize::from(u16::from_be_bytes([body[0], body[1]]));
    let topic = body[2..2 + topic_len].to_vec();
    let mut at = 2 + topic_len;
    let id = ((flags >> 1) & 0b11 != 0).then(|| {
        at += 2;
        u16::from_be_bytes([body[at - 2], body[at - 1]])
    });
    let mut properties = Vec::new();
    if version.is_v5() {
        let (len, n) = var_int(&body[at..]);
        let list = &body[at + n..at + n + len];
        let mut i = 0;
        while i < list.len() {
            let property = list[i];
            i += 1;
            let string = |at: usize| 2 + usize::from(u16::from_be_bytes([list[at], list[at + 1]]));
            let size = match property {
                0x01 => 1,
                0x02 => 4,
                0x03 | 0x08 | 0x09 => string(i),
                0x0B => var_int(&list[i..]).1,
                0x23 => 2,
                0x26 => {
                    let key = string(i);
                    key + string(i + key)
                }
                other => panic!("unexpected PUBLISH property {other:#04x}"),
            };
            properties.push((property, list[i..i + size].to_vec()));
            i += size;
        }
    }
    RawPublish {
        flags,
        topic,
        id,
        properties,
    }
}

/// A length-prefixed UTF-8 string, checked and returned.
fn utf8_field(value: &[u8]) -> String {
    let len = usize::from(u16::from_be_bytes([value[0], value[1]]));
    assert_eq!(value.len(), 2 + len, "string length");
    String::from_utf8(value[2..].to_vec()).expect("well-formed UTF-8")
}

/// Checks that the session ended the connection over the server's fault: in MQTT 5.0 its
/// last packet is a DISCONNECT carrying the error code it reports, in MQTT 3.1.1 it sends no
/// DISCONNECT; no deadline is left. Returns the reason code.
fn closed(h: &mut Harness) -> ReasonCode {
    let sent = h.sent();
    assert_eq!(h.session.state(), ConnectionState::Disconnected);
    assert_eq!(h.session.poll_timeout(), None);
    let code = match h.events().last() {
        Some(Event::Disconnected(DisconnectReason::ProtocolError { reason_code, .. })) => {
            *reason_code
        }
        other => panic!("expected a protocol error, got {other:?}"),
    };
    assert!(code.is_error(), "{code:?}");
    if h.mode.v5() {
        assert_eq!(sent.last(), Some(&Packet::from(Disconnect::new(code))));
    } else {
        assert!(!sent.iter().any(|p| matches!(p, Packet::Disconnect(_))));
    }
    code
}

/// Connects in `mode`, feeds `bytes` and checks that the client closed the connection.
fn closes_on(mode: Mode, config: Config, bytes: &[u8]) -> ReasonCode {
    let mut h = Harness::with_config(mode, config);
    h.connect();
    h.inject_bytes(bytes);
    let code = closed(&mut h);
    let delivered = h
        .transcript
        .iter()
        .any(|(_, e)| matches!(e, Entry::Event(Event::Message(_))));
    assert!(!delivered, "nothing is delivered");
    code
}

fn first_bytes(packets: &[Vec<u8>]) -> Vec<u8> {
    packets.iter().map(|p| p[0]).collect()
}

fn manual(mode: Mode) -> Config {
    let mut config = mode.config();
    config.ack_mode = AckMode::Manual;
    config
}

fn resumed(properties: ConnAckProperties) -> ConnAck {
    ConnAck {
        session_present: true,
        ..connack_v5(properties)
    }
}

// ---- MQTT-3.3.1-1: DUP on re-delivery -------------------------------------------------------

/// A QoS 1 and a QoS 2 PUBLISH go out first with DUP 0; sent again on the resumed session
/// they carry DUP 1 and are otherwise the same bytes.
fn dup_on_redelivery(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    let (_, first) = raw(&mut h, |s, now| {
        s.publish(now, msg("a", "1", 1)).unwrap();
        s.publish(now, msg("a", "2", 2)).unwrap();
    });
    let first = split(&first);
    assert_eq!(first_bytes(&first), [0x32, 0x34]);
    h.close();
    h.open();
    let again = split(&answer(&mut h, connack_present()));
    assert_eq!(first_bytes(&again), [0x3A, 0x3C]);
    for (again, first) in again.iter().zip(&first) {
        assert_eq!(again[1..], first[1..]);
    }
}

/// MQTT 3.1.1: a PUBLISH sent again has DUP 1.
#[test]
fn mqtt_311_3_3_1_1_dup_set_on_redelivery() {
    for mode in MQTT_311 {
        dup_on_redelivery(mode);
    }
}

/// MQTT 5.0: a PUBLISH sent again has DUP 1.
#[test]
fn mqtt_5_3_3_1_1_dup_set_on_redelivery_a() {
    for mode in MQTT_5 {
        dup_on_redelivery(mode);
    }
}

/// MQTT 5.0: a PUBLISH sent again late, once the resumed server's lower Receive Maximum left
/// room for it, still has DUP 1.
#[test]
fn mqtt_5_3_3_1_1_dup_set_on_redelivery_b_after_waiting() {
    for mode in MQTT_5 {
        let mut h = Harness::new(mode);
        h.connect();
        h.cmd(|s, now| s.publish(now, msg("a", "1", 1))).unwrap();
        h.cmd(|s, now| s.publish(now, msg("a", "2", 1))).unwrap();
        h.close();
        h.open();
        let limit = resumed(ConnAckProperties {
            receive_maximum: NonZeroU16::new(1),
            ..Default::default()
        });
        let again = split(&answer(&mut h, limit));
        assert_eq!(first_bytes(&again), [0x3A]);
        assert_eq!(parse_publish(mode.version, &again[0]).id, Some(1));
        let later = split(&answer(&mut h, puback(1)));
        assert_eq!(first_bytes(&later), [0x3A]);
        assert_eq!(parse_publish(mode.version, &later[0]).id, Some(2));
    }
}

// ---- MQTT-3.3.1-2: DUP 0 at QoS 0 -----------------------------------------------------------

/// QoS 0 PUBLISH packets have DUP 0: when the application set DUP, and when one waited
/// offline and goes out after a resumed session's re-deliveries.
fn qos0_dup_zero_sent(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    let dup = |p: Publish| {
        let mut publish = p;
        publish.dup = true;
        publish
    };
    let (_, bytes) = raw(&mut h, |s, now| {
        s.publish(now, dup(msg("a", "x", 0))).unwrap();
        s.publish(now, msg("a", "y", 1)).unwrap();
    });
    assert_eq!(first_bytes(&split(&bytes)), [0x30, 0x32]);
    h.close();
    h.cmd(|s, now| s.publish(now, dup(msg("a", "z", 0))))
        .unwrap();
    h.open();
    let after = split(&answer(&mut h, connack_present()));
    assert_eq!(first_bytes(&after), [0x3A, 0x30]);
}

/// A QoS 0 PUBLISH with DUP 1 is malformed: the client closes the connection.
fn qos0_dup_one_closes(mode: Mode) {
    let bytes = publish_bytes(mode, 0b1000, b"t", None, &[], b"x");
    assert_eq!(
        closes_on(mode, mode.config(), &bytes),
        ReasonCode::MALFORMED_PACKET
    );
}

/// MQTT 3.1.1: the client sends every QoS 0 PUBLISH with DUP 0.
#[test]
fn mqtt_311_3_3_1_2_qos0_dup_zero_a_sent() {
    for mode in MQTT_311 {
        qos0_dup_zero_sent(mode);
    }
}

/// MQTT 3.1.1: a QoS 0 PUBLISH with DUP 1 from the server closes the connection.
#[test]
fn mqtt_311_3_3_1_2_qos0_dup_zero_b_received_dup_closes() {
    for mode in MQTT_311 {
        qos0_dup_one_closes(mode);
    }
}

/// MQTT 5.0: the client sends every QoS 0 PUBLISH with DUP 0.
#[test]
fn mqtt_5_3_3_1_2_qos0_dup_zero_a_sent() {
    for mode in MQTT_5 {
        qos0_dup_zero_sent(mode);
    }
}

/// MQTT 5.0: a QoS 0 PUBLISH with DUP 1 from the server: DISCONNECT 0x81 and close.
#[test]
fn mqtt_5_3_3_1_2_qos0_dup_zero_b_received_dup_closes() {
    for mode in MQTT_5 {
        qos0_dup_one_closes(mode);
    }
}

// ---- MQTT-3.3.1-4: never QoS bits 11 --------------------------------------------------------

/// The QoS bits of what the client sends are those of the QoS asked for, never 11, and there
/// is no QoS 3 to ask for.
fn qos_bits_never_3_sent(mode: Mode) {
    assert_eq!(QoS::from_u8(3), None);
    let mut h = Harness::new(mode);
    h.connect();
    for q in 0..=2u8 {
        let (_, bytes) = raw(&mut h, |s, now| s.publish(now, msg("t", "x", q)).unwrap());
        let flags = parse_publish(mode.version, &split(&bytes)[0]).flags;
        assert_eq!((flags >> 1) & 0b11, q);
    }
}

/// A PUBLISH with both QoS bits set: the client closes the connection.
fn qos_bits_3_closes(mode: Mode) {
    let bytes = publish_bytes(mode, 0b0110, b"t", Some(1), &[], b"x");
    assert_eq!(
        closes_on(mode, mode.config(), &bytes),
        ReasonCode::MALFORMED_PACKET
    );
}

/// MQTT 3.1.1: the client never sends a PUBLISH with QoS bits 11.
#[test]
fn mqtt_311_3_3_1_4_qos_bits_never_3_a_sent() {
    for mode in MQTT_311 {
        qos_bits_never_3_sent(mode);
    }
}

/// MQTT 3.1.1: a PUBLISH with QoS bits 11 from the server closes the connection.
#[test]
fn mqtt_311_3_3_1_4_qos_bits_never_3_b_received_closes() {
    for mode in MQTT_311 {
        qos_bits_3_closes(mode);
    }
}

/// MQTT 5.0: the client never sends a PUBLISH with both QoS bits set.
#[test]
fn mqtt_5_3_3_1_4_qos_bits_never_3_a_sent() {
    for mode in MQTT_5 {
        qos_bits_never_3_sent(mode);
    }
}

/// MQTT 5.0: a PUBLISH with both QoS bits set: DISCONNECT 0x81 and close.
#[test]
fn mqtt_5_3_3_1_4_qos_bits_never_3_b_received_closes() {
    for mode in MQTT_5 {
        qos_bits_3_closes(mode);
    }
}

// ---- MQTT-3.3.2-1: the Topic Name first, UTF-8 ------------------------------------------------

/// The variable header of every PUBLISH starts with the topic name, a length-prefixed UTF-8
/// string, before the packet identifier and (MQTT 5.0) the properties.
fn topic_name_first_sent(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    for (name, q) in [("a/b", 0), ("capteurs/température", 1), ("日本/☕", 2)] {
        let mut publish = msg(name, "payload", q);
        if mode.v5() {
            publish.properties_mut().message_expiry_interval = Some(60);
            publish.properties_mut().user_properties = vec![UserProperty::new("k", "v")];
        }
        let (_, bytes) = raw(&mut h, |s, now| s.publish(now, publish).unwrap());
        let packet = &split(&bytes)[0];
        let (_, body) = parts(packet);
        let len = usize::from(u16::from_be_bytes([body[0], body[1]]));
        assert_eq!(std::str::from_utf8(&body[2..2 + len]), Ok(name));
        assert_eq!(parse_publish(mode.version, packet).topic, name.as_bytes());
    }
}

/// A PUBLISH whose topic name is not UTF-8, or that ends before its topic name: the client
/// closes the connection.
fn topic_name_not_utf8_closes(mode: Mode) {
    let bad = publish_bytes(mode, 0, &[b'a', 0xC3, 0x28], None, &[], b"x");
    assert_eq!(
        closes_on(mode, mode.config(), &bad),
        ReasonCode::MALFORMED_PACKET
    );
    assert_eq!(
        closes_on(mode, mode.config(), &[0x30, 0x01, 0x00]),
        ReasonCode::MALFORMED_PACKET
    );
}

/// MQTT 3.1.1: the client's PUBLISH starts with its topic name, in UTF-8.
#[test]
fn mqtt_311_3_3_2_1_topic_name_first_utf8_a_sent() {
    for mode in MQTT_311 {
        topic_name_first_sent(mode);
    }
}

/// MQTT 3.1.1: a PUBLISH whose topic name is missing or not UTF-8 closes the connection.
#[test]
fn mqtt_311_3_3_2_1_topic_name_first_utf8_b_received_closes() {
    for mode in MQTT_311 {
        topic_name_not_utf8_closes(mode);
    }
}

/// MQTT 5.0: the client's PUBLISH starts with its topic name, in UTF-8, before the properties.
#[test]
fn mqtt_5_3_3_2_1_topic_name_first_utf8_a_sent() {
    for mode in MQTT_5 {
        topic_name_first_sent(mode);
    }
}

/// MQTT 5.0: a PUBLISH whose topic name is missing or not UTF-8: DISCONNECT 0x81 and close.
#[test]
fn mqtt_5_3_3_2_1_topic_name_first_utf8_b_received_closes() {
    for mode in MQTT_5 {
        topic_name_not_utf8_closes(mode);
    }
}

// ---- MQTT-3.3.2-2: no wildcards in the Topic Name --------------------------------------------

/// A topic name with a wildcard can't be made, so can't be published; one without goes out
/// unchanged.
fn topic_name_without_wildcards_sent(mode: Mode) {
    for name in ["+", "#", "a/+", "a/#", "+/b", "a/+/c"] {
        assert!(TopicName::new(name).is_err(), "{name}");
    }
    let mut h = Harness::new(mode);
    h.connect();
    let (_, bytes) = raw(&mut h, |s, now| s.publish(now, msg("a/b", "x", 0)).unwrap());
    let topic = parse_publish(mode.version, &split(&bytes)[0]).topic;
    assert_eq!(topic, b"a/b");
}

/// A PUBLISH whose topic name holds a wildcard: the client closes the connection (MQTT 5.0:
/// with 0x90 Topic Name invalid).
fn topic_name_wildcard_closes(mode: Mode) {
    for name in [&b"a/+"[..], b"a/#", b"#"] {
        let bytes = publish_bytes(mode, 0, name, None, &[], b"x");
        let code = closes_on(mode, mode.config(), &bytes);
        if mode.v5() {
            assert_eq!(code, ReasonCode::TOPIC_NAME_INVALID);
        }
    }
}

/// MQTT 3.1.1: the client never sends a topic name with a wildcard.
#[test]
fn mqtt_311_3_3_2_2_topic_name_no_wildcards_a_sent() {
    for mode in MQTT_311 {
        topic_name_without_wildcards_sent(mode);
    }
}

/// MQTT 3.1.1: a PUBLISH whose topic name holds a wildcard closes the connection.
#[test]
fn mqtt_311_3_3_2_2_topic_name_no_wildcards_b_received_closes() {
    for mode in MQTT_311 {
        topic_name_wildcard_closes(mode);
    }
}

/// MQTT 5.0: the client never sends a topic name with a wildcard.
#[test]
fn mqtt_5_3_3_2_2_topic_name_no_wildcards_a_sent() {
    for mode in MQTT_5 {
        topic_name_without_wildcards_sent(mode);
    }
}

/// MQTT 5.0: a PUBLISH whose topic name holds a wildcard: DISCONNECT 0x90 and close.
#[test]
fn mqtt_5_3_3_2_2_topic_name_no_wildcards_b_received_closes() {
    for mode in MQTT_5 {
        topic_name_wildcard_closes(mode);
    }
}

// ---- MQTT-3.3.4-1: the answer to a PUBLISH ---------------------------------------------------

/// QoS 0: no answer; QoS 1: PUBACK; QoS 2: PUBREC; each with the PUBLISH's identifier, with
/// automatic and with manual acknowledgement.
fn answers_per_qos(mode: Mode) {
    for config in [mode.config(), manual(mode)] {
        let is_manual = config.ack_mode == AckMode::Manual;
        let mut h = Harness::with_config(mode, config);
        h.connect();
        let answer_to = |h: &mut Harness, q: u8, id: u16| {
            h.inject(incoming("t", "x", q, id));
            if is_manual && q > 0 {
                let token = h.take_ack(id);
                h.cmd(|s, now| s.ack(now, token, ReasonCode::SUCCESS))
                    .unwrap();
            }
            h.sent()
        };
        assert_eq!(answer_to(&mut h, 0, 0), []);
        assert_eq!(answer_to(&mut h, 1, 7), [Packet::from(puback(7))]);
        assert_eq!(answer_to(&mut h, 2, 8), [Packet::from(pubrec(8))]);
        assert_eq!(answer_to(&mut h, 1, 9), [Packet::from(puback(9))]);
        assert!(h.session.is_connected());
    }
}

/// MQTT 3.1.1: the client answers a PUBLISH as Table 3.4 says: nothing, PUBACK or PUBREC.
#[test]
fn mqtt_311_3_3_4_1_publish_answer_per_qos() {
    for mode in MQTT_311 {
        answers_per_qos(mode);
    }
}

/// MQTT 5.0: the client answers a PUBLISH by its QoS: nothing, PUBACK or PUBREC.
#[test]
fn mqtt_5_3_3_4_1_publish_answer_per_qos() {
    for mode in MQTT_5 {
        answers_per_qos(mode);
    }
}

// ---- MQTT-3.6.1-1: PUBREL flags 0010 ---------------------------------------------------------

/// The PUBREL the client sends, in the exchange and again on a resumed session, is
/// 0x62 0x02 and the identifier.
fn pubrel_flags_sent(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.cmd(|s, now| s.publish(now, msg("t", "x", 2))).unwrap();
    assert_eq!(answer(&mut h, pubrec(1)), [0x62, 0x02, 0x00, 0x01]);
    h.close();
    h.open();
    assert_eq!(answer(&mut h, connack_present()), [0x62, 0x02, 0x00, 0x01]);
}

/// A PUBREL with other flags than 0010 is malformed: the client closes the connection.
fn pubrel_bad_flags_close(mode: Mode) {
    for first in [0x60, 0x61, 0x63, 0x66, 0x6A] {
        let mut h = Harness::new(mode);
        h.connect();
        h.inject(incoming("t", "x", 2, 1));
        h.skip();
        h.inject_bytes(&[first, 0x02, 0x00, 0x01]);
        assert_eq!(closed(&mut h), ReasonCode::MALFORMED_PACKET, "{first:#04x}");
        assert!(!h.sent().iter().any(|p| matches!(p, Packet::PubComp(_))));
    }
}

/// MQTT 3.1.1: the client's PUBREL has fixed header flags 0010.
#[test]
fn mqtt_311_3_6_1_1_pubrel_flags_0010_a_sent() {
    for mode in MQTT_311 {
        pubrel_flags_sent(mode);
    }
}

/// MQTT 3.1.1: a PUBREL with other flags closes the connection.
#[test]
fn mqtt_311_3_6_1_1_pubrel_flags_0010_b_received_closes() {
    for mode in MQTT_311 {
        pubrel_bad_flags_close(mode);
    }
}

/// MQTT 5.0: the client's PUBREL has fixed header flags 0010.
#[test]
fn mqtt_5_3_6_1_1_pubrel_flags_0010_a_sent() {
    for mode in MQTT_5 {
        pubrel_flags_sent(mode);
    }
}

/// MQTT 5.0: a PUBREL with other flags is malformed: DISCONNECT 0x81 and close.
#[test]
fn mqtt_5_3_6_1_1_pubrel_flags_0010_b_received_closes() {
    for mode in MQTT_5 {
        pubrel_bad_flags_close(mode);
    }
}

// ---- MQTT 5.0: Topic Aliases -----------------------------------------------------------------

fn alias(n: u16) -> Option<NonZeroU16> {
    NonZeroU16::new(n)
}

fn with_alias(mut p: Publish, n: u16) -> Publish {
    p.properties_mut().topic_alias = alias(n);
    p
}

/// A session that accepts `max` inbound Topic Aliases.
fn accepting_aliases(mode: Mode, max: u16) -> Config {
    let mut config = mode.config();
    config.connect_properties.topic_alias_maximum = Some(max);
    config
}

fn aliasing(mode: Mode) -> Config {
    let mut config = mode.config();
    config.outbound_topic_aliases = true;
    config
}

fn server_aliases(max: Option<u16>) -> ConnAck {
    connack_v5(ConnAckProperties {
        topic_alias_maximum: max,
        ..Default::default()
    })
}

/// The topic name and Topic Alias of every PUBLISH in `packets`.
fn topics_and_aliases(packets: &[Packet]) -> Vec<(String, Option<u16>)> {
    packets
        .iter()
        .filter_map(|p| match p {
            Packet::Publish(p) => Some((
                p.topic.as_str().to_owned(),
                p.topic_alias().map(NonZeroU16::get),
            )),
            _ => None,
        })
        .collect()
}

/// The topic of every message delivered since the last look.
fn delivered_topics(h: &mut Harness) -> Vec<String> {
    h.events()
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(m.publish.topic.as_str().to_owned()),
            _ => None,
        })
        .collect()
}

/// MQTT 5.0: an alias the server set on one connection means nothing on the next: used there
/// without a topic name it is a protocol error, not the old topic.
#[test]
fn mqtt_5_3_3_2_7_aliases_end_with_connection_a_inbound() {
    for mode in MQTT_5 {
        let mut h = Harness::with_config(mode, accepting_aliases(mode, 2));
        h.connect();
        h.inject(with_alias(incoming("x/y", "1", 0, 0), 1));
        h.inject(with_alias(incoming("", "2", 0, 0), 1));
        assert_eq!(delivered_topics(&mut h), ["x/y", "x/y"]);
        h.close();
        h.open();
        h.inject(ConnAck::default());
        h.skip();
        h.inject(with_alias(incoming("", "3", 0, 0), 1));
        assert_eq!(closed(&mut h), ReasonCode::PROTOCOL_ERROR);
        let last = h.transcript.last().map(|(_, e)| e);
        assert!(
            matches!(
                last,
                Some(Entry::Event(Event::Disconnected(
                    DisconnectReason::ProtocolError {
                        error: ProtocolError::UnknownTopicAlias(1),
                        ..
                    }
                )))
            ),
            "{last:?}"
        );
    }
}

/// MQTT 5.0: the client's own aliases start again on a new connection: the first PUBLISH to
/// a topic after reconnecting carries its topic name with the alias again.
#[test]
fn mqtt_5_3_3_2_7_aliases_end_with_connection_b_outbound() {
    for mode in MQTT_5 {
        let mut h = Harness::with_config(mode, aliasing(mode));
        h.connect_with(server_aliases(Some(2)));
        h.cmd(|s, now| s.publish(now, msg("a", "1", 0))).unwrap();
        h.cmd(|s, now| s.publish(now, msg("a", "2", 0))).unwrap();
        assert_eq!(
            topics_and_aliases(&h.sent()),
            [("a".to_owned(), Some(1)), (String::new(), Some(1))]
        );
        h.close();
        h.open();
        h.inject(server_aliases(Some(2)));
        h.cmd(|s, now| s.publish(now, msg("a", "3", 0))).unwrap();
        let sent = h.sent();
        assert_eq!(topics_and_aliases(&sent), [("a".to_owned(), Some(1))]);
    }
}

/// MQTT 5.0: every Topic Alias the client sends is at least 1, on the wire; the application
/// can't set one itself (and a zero can't even be expressed).
#[test]
fn mqtt_5_3_3_2_8_topic_alias_never_0_a_sent() {
    for mode in MQTT_5 {
        let mut h = Harness::with_config(mode, aliasing(mode));
        h.connect_with(server_aliases(Some(3)));
        let topics = ["a", "b", "a", "c", "d", "b", "c"];
        let (_, bytes) = raw(&mut h, |s, now| {
            for t in topics {
                s.publish(now, msg(t, "x", 1)).unwrap();
            }
        });
        let mut aliases = Vec::new();
        for packet in split(&bytes) {
            let publish = parse_publish(mode.version, &packet);
            for (property, value) in publish.properties {
                if property == 0x23 {
                    aliases.push(u16::from_be_bytes([value[0], value[1]]));
                }
            }
        }
        assert_eq!(aliases, [1, 2, 1, 3, 2, 3]);
        let by_hand = with_alias(msg("t", "x", 0), 1);
        assert_eq!(
            h.cmd(|s, now| s.publish(now, by_hand)),
            Err(UsageError::TopicAliasNotAllowed)
        );
        assert!(h.sent().is_empty());
    }
}

/// MQTT 5.0: a PUBLISH with Topic Alias 0 from the server: DISCONNECT with an error code and
/// close, nothing delivered.
#[test]
fn mqtt_5_3_3_2_8_topic_alias_never_0_b_received_closes() {
    for mode in MQTT_5 {
        let bytes = publish_bytes(mode, 0, b"t", None, &[0x23, 0x00, 0x00], b"x");
        closes_on(mode, accepting_aliases(mode, 5), &bytes);
    }
}

/// MQTT 5.0: the client's aliases stay within the server's Topic Alias Maximum: none when
/// the server gives none, at most 2 when it allows 2, at most 1 after reconnecting to a
/// server that allows 1.
#[test]
fn mqtt_5_3_3_2_9_topic_alias_within_server_maximum() {
    let topics = ["a", "b", "c", "a", "d", "b", "c"];
    for mode in MQTT_5 {
        for (max, expected) in [(None, 0), (Some(0), 0), (Some(2), 2), (Some(1), 1)] {
            let mut h = Harness::with_config(mode, aliasing(mode));
            h.connect_with(server_aliases(Some(5)));
            h.close();
            h.open();
            h.inject(server_aliases(max));
            h.skip();
            for t in topics {
                h.cmd(|s, now| s.publish(now, msg(t, "x", 0))).unwrap();
            }
            let used: Vec<u16> = topics_and_aliases(&h.sent())
                .into_iter()
                .filter_map(|(_, a)| a)
                .collect();
            assert!(used.iter().all(|&a| a <= expected), "{max:?}: {used:?}");
            assert_eq!(used.iter().max().copied().unwrap_or(0), expected);
        }
    }
}

/// MQTT 5.0: every alias from 1 to the client's Topic Alias Maximum is accepted, set and
/// then used, and the connection stays up.
#[test]
fn mqtt_5_3_3_2_10_accepts_aliases_up_to_own_maximum() {
    for mode in MQTT_5 {
        for max in [1u16, 5, u16::MAX] {
            let mut h = Harness::with_config(mode, accepting_aliases(mode, max));
            h.connect();
            let aliases: Vec<u16> = if max > 5 {
                vec![1, 2, max - 1, max]
            } else {
                (1..=max).collect()
            };
            let names: Vec<&'static str> =
                aliases.iter().map(|n| &*format!("t/{n}").leak()).collect();
            for (&n, &name) in aliases.iter().zip(&names) {
                h.inject(with_alias(incoming(name, "set", 0, 0), n));
            }
            for (i, &n) in aliases.iter().enumerate() {
                h.inject(with_alias(incoming("", "use", 1, i as u16 + 1), n));
            }
            let topics = delivered_topics(&mut h);
            assert_eq!(topics[..names.len()], names);
            assert_eq!(topics[names.len()..], names);
            assert_eq!(h.sent().len(), aliases.len(), "one PUBACK each");
            assert!(h.session.is_connected());
        }
    }
}

// ---- MQTT 5.0: Response Topic and Content Type -----------------------------------------------

/// The value of property `id` in the raw PUBLISH the client sends for `publish`.
fn sent_property(mode: Mode, publish: Publish, id: u8) -> Vec<u8> {
    let mut h = Harness::new(mode);
    h.connect();
    let (_, bytes) = raw(&mut h, |s, now| s.publish(now, publish).unwrap());
    let packet = parse_publish(mode.version, &split(&bytes)[0]);
    let values: Vec<Vec<u8>> = packet
        .properties
        .into_iter()
        .filter(|(p, _)| *p == id)
        .map(|(_, v)| v)
        .collect();
    assert_eq!(values.len(), 1, "property {id:#04x} once");
    values.into_iter().next().unwrap()
}

/// MQTT 5.0: the client sends the Response Topic as a length-prefixed UTF-8 string.
#[test]
fn mqtt_5_3_3_2_13_response_topic_utf8_a_sent() {
    for mode in MQTT_5 {
        let name = "réponses/client/☕";
        let mut publish = msg("service", "req", 1);
        publish.properties_mut().response_topic = Some(topic(name));
        assert_eq!(utf8_field(&sent_property(mode, publish, 0x08)), name);
    }
}

/// MQTT 5.0: a Response Topic that is not UTF-8: DISCONNECT 0x81 and close.
#[test]
fn mqtt_5_3_3_2_13_response_topic_utf8_b_received_closes() {
    for mode in MQTT_5 {
        let bytes = publish_bytes(mode, 0, b"t", None, &[0x08, 0x00, 0x02, 0xC3, 0x28], b"x");
        assert_eq!(
            closes_on(mode, mode.config(), &bytes),
            ReasonCode::MALFORMED_PACKET
        );
    }
}

/// MQTT 5.0: a Response Topic is a topic name, which can't hold a wildcard; one without goes
/// out unchanged.
#[test]
fn mqtt_5_3_3_2_14_response_topic_no_wildcards_a_sent() {
    for name in ["r/+", "r/#", "#", "+"] {
        assert!(TopicName::new(name).is_err(), "{name}");
    }
    for mode in MQTT_5 {
        let mut publish = msg("service", "req", 0);
        publish.properties_mut().response_topic = Some(topic("r/1"));
        let value = sent_property(mode, publish, 0x08);
        let sent = utf8_field(&value);
        assert!(!sent.contains(['+', '#']), "{sent}");
    }
}

/// MQTT 5.0: a Response Topic with a wildcard from the server: DISCONNECT with an error code
/// and close.
#[test]
fn mqtt_5_3_3_2_14_response_topic_no_wildcards_b_received_closes() {
    for mode in MQTT_5 {
        for name in [&b"r/#"[..], b"r/+/x"] {
            let mut property = vec![0x08, 0x00, name.len() as u8];
            property.extend_from_slice(name);
            let bytes = publish_bytes(mode, 0, b"t", None, &property, b"x");
            closes_on(mode, mode.config(), &bytes);
        }
    }
}

/// MQTT 5.0: the client sends the Content Type as a length-prefixed UTF-8 string.
#[test]
fn mqtt_5_3_3_2_19_content_type_utf8_a_sent() {
    for mode in MQTT_5 {
        let content_type = "text/plain; charset=utf-8; ✓";
        let mut publish = msg("t", "x", 0);
        publish.properties_mut().content_type = Some(content_type.into());
        assert_eq!(
            utf8_field(&sent_property(mode, publish, 0x03)),
            content_type
        );
    }
}

/// MQTT 5.0: a Content Type that is not UTF-8: DISCONNECT 0x81 and close.
#[test]
fn mqtt_5_3_3_2_19_content_type_utf8_b_received_closes() {
    for mode in MQTT_5 {
        for value in [&[0xC3, 0x28][..], &[0xED, 0xA0, 0x80]] {
            let mut property = vec![0x03, 0x00, value.len() as u8];
            property.extend_from_slice(value);
            let bytes = publish_bytes(mode, 0, b"t", None, &property, b"x");
            assert_eq!(
                closes_on(mode, mode.config(), &bytes),
                ReasonCode::MALFORMED_PACKET
            );
        }
    }
}

// ---- MQTT 5.0: PUBLISH actions -----------------------------------------------------------------

/// MQTT 5.0: no PUBLISH from the client carries a Subscription Identifier: not one the
/// application put in, nor one on a received message it publishes again.
#[test]
fn mqtt_5_3_3_4_6_no_subscription_identifier_sent() {
    for mode in MQTT_5 {
        let mut h = Harness::new(mode);
        h.connect();
        let mut own = msg("t", "x", 1);
        own.properties_mut().subscription_identifiers = vec![NonZeroU32::new(5).unwrap()];
        let _ = h.cmd(|s, now| s.publish(now, own));
        let mut received = incoming("in", "y", 0, 0);
        received.properties_mut().subscription_identifiers = vec![NonZeroU32::new(7).unwrap()];
        h.inject(received);
        let message = h
            .events()
            .iter()
            .find_map(|e| match e {
                Event::Message(m) => Some(m.publish.clone()),
                _ => None,
            })
            .unwrap();
        assert!(!message.properties().subscription_identifiers.is_empty());
        let _ = h.cmd(|s, now| s.publish(now, message));
        // And on a resumed session, the re-delivery.
        h.close();
        h.open();
        h.inject(connack_present());
        for packet in h.sent() {
            if let Packet::Publish(p) = packet {
                assert!(p.properties().subscription_identifiers.is_empty(), "{p:?}");
            }
        }
    }
}

/// MQTT 5.0: with the server's Receive Maximum at 2, at most two QoS 1 and 2 PUBLISH packets
/// are unacknowledged at any time (a QoS 2 one until its PUBCOMP); the others wait.
#[test]
fn mqtt_5_3_3_4_7_receive_maximum_respected_a() {
    for mode in MQTT_5 {
        let mut h = Harness::new(mode);
        h.connect_with(connack_v5(ConnAckProperties {
            receive_maximum: NonZeroU16::new(2),
            ..Default::default()
        }));
        for (payload, q) in [("1", 1), ("2", 2), ("3", 1), ("4", 2), ("5", 1)] {
            h.cmd(|s, now| s.publish(now, msg("t", payload, q)))
                .unwrap();
        }
        assert_eq!(publish_ids(&h.sent()), [1, 2]);
        h.inject(puback(1));
        assert_eq!(publish_ids(&h.sent()), [3]);
        h.inject(pubrec(2));
        assert_eq!(h.sent(), [Packet::from(pubrel(2))]);
        h.inject(pubcomp(2));
        assert_eq!(publish_ids(&h.sent()), [4]);
        h.inject(pubrec(4));
        h.inject(puback(3));
        assert_eq!(publish_ids(&h.sent()), [5]);
        assert_eq!(h.session.publishes_queued(), 0);
    }
}

/// MQTT 5.0: a resumed session whose server now allows one unacknowledged PUBLISH re-sends
/// one at a time.
#[test]
fn mqtt_5_3_3_4_7_receive_maximum_respected_b_on_resume() {
    for mode in MQTT_5 {
        let mut h = Harness::new(mode);
        h.connect();
        for payload in ["1", "2", "3"] {
            h.cmd(|s, now| s.publish(now, msg("t", payload, 1)))
                .unwrap();
        }
        assert_eq!(publish_ids(&h.sent()), [1, 2, 3]);
        h.close();
        h.open();
        h.skip();
        h.inject(resumed(ConnAckProperties {
            receive_maximum: NonZeroU16::new(1),
            ..Default::default()
        }));
        assert_eq!(publish_ids(&h.sent()), [1]);
        h.inject(puback(1));
        assert_eq!(publish_ids(&h.sent()), [2]);
        h.inject(puback(2));
        assert_eq!(publish_ids(&h.sent()), [3]);
    }
}

/// MQTT 5.0: with the server's Receive Maximum used up, everything but QoS 1 and 2 PUBLISH
/// still goes out at once: PUBREL, SUBSCRIBE, UNSUBSCRIBE, PUBACK, PUBREC, PUBCOMP,
/// PINGREQ and DISCONNECT.
#[test]
fn mqtt_5_3_3_4_8_non_publish_not_delayed_by_receive_maximum() {
    for mode in MQTT_5 {
        let mut h = Harness::new(mode);
        h.connect_with(connack_v5(ConnAckProperties {
            receive_maximum: NonZeroU16::new(1),
            ..Default::default()
        }));
        h.cmd(|s, now| s.publish(now, msg("t", "1", 2))).unwrap();
        h.cmd(|s, now| s.publish(now, msg("t", "2", 1))).unwrap();
        assert_eq!(publish_ids(&h.sent()), [1]);
        h.inject(pubrec(1));
        assert_eq!(h.sent(), [Packet::from(pubrel(1))]);
        h.cmd(|s, now| s.subscribe(now, subscriptions(&["s"], 1), Default::default()))
            .unwrap();
        assert!(matches!(h.sent().as_slice(), [Packet::Subscribe(_)]));
        h.cmd(|s, now| s.unsubscribe(now, vec![filter("s")], Default::default()))
            .unwrap();
        assert!(matches!(h.sent().as_slice(), [Packet::Unsubscribe(_)]));
        h.inject(incoming("in", "a", 1, 7));
        assert_eq!(h.sent(), [Packet::from(puback(7))]);
        h.inject(incoming("in", "b", 2, 8));
        assert_eq!(h.sent(), [Packet::from(pubrec(8))]);
        h.inject(pubrel(8));
        assert_eq!(h.sent(), [Packet::from(pubcomp(8))]);
        h.drive();
        assert_eq!(h.sent(), [Packet::PingReq]);
        h.inject(Packet::PingResp);
        assert_eq!(
            h.session.publishes_queued(),
            1,
            "the QoS 1 PUBLISH still waits"
        );
        h.cmd(|s, now| s.disconnect(now, Disconnect::default()))
            .unwrap();
        assert_eq!(h.sent(), [Packet::from(Disconnect::default())]);
    }
}

// ---- MQTT 5.0: acknowledgement reason codes and properties -----------------------------------

/// The reason codes of Table 3-4 (PUBACK) and Table 3-5 (PUBREC), which are the same.
const PUBACK_PUBREC_CODES: [u8; 9] = [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
/// The reason codes of PUBREL and PUBCOMP.
const PUBREL_PUBCOMP_CODES: [u8; 2] = [0x00, 0x92];

/// The type and reason code of every acknowledgement in `packets`.
fn ack_codes(packets: &[Packet]) -> Vec<(PacketType, u8)> {
    packets
        .iter()
        .filter_map(|p| {
            let code = match p {
                Packet::PubAck(a) => a.reason_code,
                Packet::PubRec(a) => a.reason_code,
                Packet::PubRel(a) => a.reason_code,
                Packet::PubComp(a) => a.reason_code,
                _ => return None,
            };
            Some((p.packet_type(), code.0))
        })
        .collect()
}

/// The acknowledgement for a QoS `q` message (PUBACK or PUBREC) carries a code of its table:
/// 0x00 when automatic, and for each of the 256 codes an application may pass to `ack`, that
/// code when the table has it.
fn ack_reason_codes_defined(mode: Mode, q: u8) {
    let expected_type = if q == 1 {
        PacketType::PubAck
    } else {
        PacketType::PubRec
    };
    let mut h = Harness::new(mode);
    h.connect();
    h.inject(incoming("t", "x", q, 1));
    assert_eq!(ack_codes(&h.sent()), [(expected_type, 0x00)]);

    let mut h = Harness::with_config(mode, manual(mode));
    h.connect();
    for code in 0..=255u8 {
        let id = u16::from(code) + 1;
        h.inject(incoming("t", "x", q, id));
        let token = h.take_ack(id);
        let _ = h.cmd(|s, now| s.ack(now, token, ReasonCode(code)));
        let sent = ack_codes(&h.sent());
        for &(packet_type, sent_code) in &sent {
            assert_eq!(packet_type, expected_type);
            assert!(
                PUBACK_PUBREC_CODES.contains(&sent_code),
                "asked {code:#04x}, sent {sent_code:#04x}"
            );
        }
        if PUBACK_PUBREC_CODES.contains(&code) {
            assert_eq!(sent, [(expected_type, code)]);
        }
    }
}

/// MQTT 5.0: every PUBACK the client sends carries a PUBACK reason code.
#[test]
fn mqtt_5_3_4_2_1_puback_reason_code_defined() {
    for mode in MQTT_5 {
        ack_reason_codes_defined(mode, 1);
    }
}

/// MQTT 5.0: every PUBREC the client sends carries a PUBREC reason code.
#[test]
fn mqtt_5_3_5_2_1_pubrec_reason_code_defined() {
    for mode in MQTT_5 {
        ack_reason_codes_defined(mode, 2);
    }
}

/// MQTT 5.0: every PUBREL the client sends carries 0x00 or 0x92: in the exchange, for a
/// PUBREC of an unknown identifier, and re-sent on a resumed session.
#[test]
fn mqtt_5_3_6_2_1_pubrel_reason_code_defined() {
    for mode in MQTT_5 {
        let mut h = Harness::new(mode);
        h.connect();
        h.cmd(|s, now| s.publish(now, msg("t", "x", 2))).unwrap();
        h.inject(pubrec(1));
        h.inject(pubrec(9));
        h.close();
        h.open();
        h.inject(connack_present());
        let codes = ack_codes(&h.sent());
        assert_eq!(
            codes,
            [
                (PacketType::PubRel, 0x00),
                (PacketType::PubRel, 0x92),
                (PacketType::PubRel, 0x00)
            ]
        );
        assert!(codes.iter().all(|(_, c)| PUBREL_PUBCOMP_CODES.contains(c)));
    }
}

/// MQTT 5.0: every PUBCOMP the client sends carries 0x00 or 0x92: in the exchange, for a
/// PUBREL of an unknown identifier, and after a manual ack whatever code the application gave.
#[test]
fn mqtt_5_3_7_2_1_pubcomp_reason_code_defined() {
    for mode in MQTT_5 {
        let mut h = Harness::new(mode);
        h.connect();
        h.inject(incoming("t", "x", 2, 1));
        h.inject(pubrel(1));
        h.inject(pubrel(5));
        let mut config = manual(mode);
        config.qos2_delivery = Qos2Delivery::OnPubRel;
        let mut m = Harness::with_config(mode, config);
        m.connect();
        m.inject(incoming("t", "x", 2, 3));
        m.inject(pubrel(3));
        let token = m.take_ack(3);
        let _ = m.cmd(|s, now| s.ack(now, token, ReasonCode(0x83)));
        let mut codes = ack_codes(&h.sent());
        codes.extend(ack_codes(&m.sent()));
        let pubcomps: Vec<u8> = codes
            .iter()
            .filter(|(t, _)| *t == PacketType::PubComp)
            .map(|(_, c)| *c)
            .collect();
        assert_eq!(pubcomps, [0x00, 0x92, 0x00]);
    }
}

/// A server acknowledgement with a reason code its table does not define is a Protocol Error
/// (MQTT 5.0 §1.2): the client sends DISCONNECT 0x82 and closes. The exchanges it would have
/// touched stay as they were, and carry on with the next connection.
///
/// `flow` runs on a connected session and returns the acknowledgement to break; `resumed` is
/// what the client must send after reconnecting with Session Present 1.
fn undefined_ack_code_closes(
    mode: Mode,
    flow: impl Fn(&mut Harness),
    bad: &[u8],
    resumed: &[Packet],
) {
    let mut config = mode.config();
    config.clean_start = false;
    let mut h = Harness::with_config(mode, config);
    h.connect();
    flow(&mut h);
    let (in_flight, queued) = (
        h.session.publishes_in_flight(),
        h.session.publishes_queued(),
    );
    h.skip();
    h.raw_frames();
    h.inject_bytes(bad);
    let code = bad[bad.len() - 1 - usize::from(bad[1] == 4)];
    assert_eq!(
        closed_on_fault(&mut h, 0x82),
        ProtocolError::Decode(DecodeError::InvalidReasonCode(code))
    );
    assert_eq!(h.session.publishes_in_flight(), in_flight, "kept in flight");
    assert_eq!(h.session.publishes_queued(), queued, "kept in the queue");
    h.open();
    h.inject(connack_present());
    let sent = h.sent();
    assert_eq!(sent[1..], *resumed, "after reconnecting");
}

/// MQTT-3.4.2-1 on receipt: `40 04 00 01 FF 00`, a PUBACK with 0xFF, closes the connection
/// whether the publish is in flight or not; the publish is sent again on the next connection
/// instead of failing with 0xFF.
#[test]
fn mqtt_5_3_4_2_1_undefined_puback_reason_from_server_closes() {
    let bad = [0x40, 0x04, 0x00, 0x01, 0xFF, 0x00];
    for mode in MQTT_5 {
        let publish = |h: &mut Harness| {
            h.cmd(|s, now| s.publish(now, msg("t", "x", 1))).unwrap();
        };
        let again = on_wire(msg("t", "x", 1), Some(1), true);
        undefined_ack_code_closes(mode, publish, &bad, &[again]);
        undefined_ack_code_closes(mode, |_| {}, &bad, &[]);
        for code in [0x01, 0x02, 0x11, 0x81, 0x92] {
            let bad = [0x40, 0x03, 0x00, 0x01, code];
            let again = on_wire(msg("t", "x", 1), Some(1), true);
            undefined_ack_code_closes(mode, publish, &bad, &[again]);
        }
    }
}

/// MQTT-3.5.2-1 on receipt: `50 04 00 01 FF 00`, a PUBREC with 0xFF, closes the connection
/// whether the publish is in flight or not; no PUBREL answers it, and the publish is sent again
/// on the next connection.
#[test]
fn mqtt_5_3_5_2_1_undefined_pubrec_reason_from_server_closes() {
    let bad = [0x50, 0x04, 0x00, 0x01, 0xFF, 0x00];
    for mode in MQTT_5 {
        let publish = |h: &mut Harness| {
            h.cmd(|s, now| s.publish(now, msg("t", "x", 2))).unwrap();
        };
        let again = on_wire(msg("t", "x", 2), Some(1), true);
        undefined_ack_code_closes(mode, publish, &bad, &[again]);
        undefined_ack_code_closes(mode, |_| {}, &bad, &[]);
        for code in [0x01, 0x12, 0x81, 0x92] {
            let bad = [0x50, 0x03, 0x00, 0x01, code];
            let again = on_wire(msg("t", "x", 2), Some(1), true);
            undefined_ack_code_closes(mode, publish, &bad, &[again]);
        }
    }
}

/// MQTT-3.6.2-1 on receipt: a PUBREL with a code other than 0x00 and 0x92 (`62 03 00 01 80`)
/// closes the connection; no PUBCOMP answers it, and the inbound exchange is still known when
/// the server releases the message again.
#[test]
fn mqtt_5_3_6_2_1_undefined_pubrel_reason_from_server_closes() {
    for mode in MQTT_5 {
        for code in [0x10, 0x80, 0x91, 0xFF] {
            let received = |h: &mut Harness| h.inject(incoming("t", "x", 2, 1));
            let bad = [0x62, 0x03, 0x00, 0x01, code];
            undefined_ack_code_closes(mode, received, &bad, &[]);
        }
        let mut config = mode.config();
        config.clean_start = false;
        let mut h = Harness::with_config(mode, config);
        h.connect();
        h.inject(incoming("t", "x", 2, 1));
        h.skip();
        h.inject_bytes(&[0x62, 0x04, 0x00, 0x01, 0x80, 0x00]);
        closed_on_fault(&mut h, 0x82);
        h.open();
        h.inject(connack_present());
        h.skip();
        h.inject(pubrel(1));
        assert_eq!(h.sent(), [Packet::from(pubcomp(1))]);
    }
}

/// MQTT-3.7.2-1 on receipt: a PUBCOMP with a code other than 0x00 and 0x92 (`70 03 00 01 80`)
/// closes the connection; the publish stays released, and its PUBREL is sent again on the next
/// connection.
#[test]
fn mqtt_5_3_7_2_1_undefined_pubcomp_reason_from_server_closes() {
    for mode in MQTT_5 {
        for code in [0x10, 0x80, 0x91, 0xFF] {
            let released = |h: &mut Harness| {
                h.cmd(|s, now| s.publish(now, msg("t", "x", 2))).unwrap();
                h.inject(pubrec(1));
            };
            let bad = [0x70, 0x03, 0x00, 0x01, code];
            undefined_ack_code_closes(mode, released, &bad, &[pubrel(1).into()]);
        }
    }
}

/// The server's Maximum Packet Size in [`acks_to_small_server`].
const SMALL: u32 = 16;

/// Every PUBACK, PUBREC, PUBREL and PUBCOMP the client sends to a server whose Maximum Packet
/// Size is 16 bytes: automatic and manual acks, refusals, unknown identifiers, both
/// directions.
fn acks_to_small_server(mode: Mode) -> Vec<Packet> {
    let mut h = Harness::with_config(mode, manual(mode));
    h.connect_with(connack_v5(ConnAckProperties {
        maximum_packet_size: NonZeroU32::new(SMALL),
        ..Default::default()
    }));
    for (q, id, code) in [(1, 1, 0x80), (1, 2, 0x00), (2, 3, 0x87), (2, 4, 0x00)] {
        h.inject(incoming("t", "", q, id));
        let token = h.take_ack(id);
        h.cmd(|s, now| s.ack(now, token, ReasonCode(code))).unwrap();
    }
    h.inject(pubrel(4));
    h.inject(pubrel(99));
    h.cmd(|s, now| s.publish(now, msg("t", "", 1))).unwrap();
    h.cmd(|s, now| s.publish(now, msg("t", "", 2))).unwrap();
    h.inject(puback(1));
    h.inject(PubRec {
        reason_code: ReasonCode::NO_MATCHING_SUBSCRIBERS,
        ..pubrec(2)
    });
    h.inject(pubrec(77));
    h.inject(pubcomp(2));
    let sent = h.sent();
    for packet in &sent {
        assert!(
            packet.encoded_len(mode.version) <= SMALL as usize,
            "{packet:?}"
        );
    }
    sent
}

/// The properties of the acknowledgements of type `packet_type` in `packets`; at least one.
fn ack_properties(packets: &[Packet], packet_type: PacketType) -> Vec<AckProperties> {
    let found: Vec<AckProperties> = packets
        .iter()
        .filter(|p| p.packet_type() == packet_type)
        .map(|p| match p {
            Packet::PubAck(a) => a.properties.clone(),
            Packet::PubRec(a) => a.properties.clone(),
            Packet::PubRel(a) => a.properties.clone(),
            Packet::PubComp(a) => a.properties.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(!found.is_empty(), "no {packet_type:?} sent");
    found
}

fn no_reason_string_beyond_limit(packet_type: PacketType) {
    for mode in MQTT_5 {
        let sent = acks_to_small_server(mode);
        for properties in ack_properties(&sent, packet_type) {
            assert_eq!(properties.reason_string, None);
        }
    }
}

fn no_user_properties_beyond_limit(packet_type: PacketType) {
    for mode in MQTT_5 {
        let sent = acks_to_small_server(mode);
        for properties in ack_properties(&sent, packet_type) {
            assert!(properties.user_properties.is_empty());
        }
    }
}

/// MQTT 5.0: no PUBACK from the client carries a Reason String that the server's Maximum
/// Packet Size can't take.
#[test]
fn mqtt_5_3_4_2_2_puback_reason_string_within_maximum_packet_size() {
    no_reason_string_beyond_limit(PacketType::PubAck);
}

/// MQTT 5.0: no PUBACK from the client carries User Properties that the server's Maximum
/// Packet Size can't take.
#[test]
fn mqtt_5_3_4_2_3_puback_user_properties_within_maximum_packet_size() {
    no_user_properties_beyond_limit(PacketType::PubAck);
}

/// MQTT 5.0: no PUBREC from the client carries a Reason String beyond the server's Maximum
/// Packet Size.
#[test]
fn mqtt_5_3_5_2_2_pubrec_reason_string_within_maximum_packet_size() {
    no_reason_string_beyond_limit(PacketType::PubRec);
}

/// MQTT 5.0: no PUBREC from the client carries User Properties beyond the server's Maximum
/// Packet Size.
#[test]
fn mqtt_5_3_5_2_3_pubrec_user_properties_within_maximum_packet_size() {
    no_user_properties_beyond_limit(PacketType::PubRec);
}

/// MQTT 5.0: no PUBREL from the client carries a Reason String beyond the server's Maximum
/// Packet Size.
#[test]
fn mqtt_5_3_6_2_2_pubrel_reason_string_within_maximum_packet_size() {
    no_reason_string_beyond_limit(PacketType::PubRel);
}

/// MQTT 5.0: no PUBREL from the client carries User Properties beyond the server's Maximum
/// Packet Size.
#[test]
fn mqtt_5_3_6_2_3_pubrel_user_properties_within_maximum_packet_size() {
    no_user_properties_beyond_limit(PacketType::PubRel);
}

/// MQTT 5.0: no PUBCOMP from the client carries a Reason String beyond the server's Maximum
/// Packet Size.
#[test]
fn mqtt_5_3_7_2_2_pubcomp_reason_string_within_maximum_packet_size() {
    no_reason_string_beyond_limit(PacketType::PubComp);
}

/// MQTT 5.0: no PUBCOMP from the client carries User Properties beyond the server's Maximum
/// Packet Size.
#[test]
fn mqtt_5_3_7_2_3_pubcomp_user_properties_within_maximum_packet_size() {
    no_user_properties_beyond_limit(PacketType::PubComp);
}
