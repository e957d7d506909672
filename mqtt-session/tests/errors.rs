//! Peer faults: malformed bytes and packets a client must not receive end the connection with
//! Event::Disconnected(ProtocolError), after a DISCONNECT with the matching reason code in
//! MQTT 5.0 (§4.13). What arrived before the bad packet is processed; nothing panics.

mod harness;

use harness::*;

/// Feeds `bytes` to a connected session and checks it closed with `code`: the DISCONNECT (MQTT
/// 5.0 only) is written before the event is reported, and nothing else is sent.
fn closes_with(mode: Mode, bytes: &[u8], code: u8) -> ProtocolError {
    let mut h = Harness::new(mode);
    h.connect();
    h.inject_bytes(bytes);
    closed(&mut h, code)
}

fn closed(h: &mut Harness, code: u8) -> ProtocolError {
    let last = |sent: bool| {
        h.transcript
            .iter()
            .rposition(|(_, e)| matches!(e, Entry::Sent(_)) == sent)
            .unwrap()
    };
    let (last_sent, last_event) = (last(true), last(false));
    assert_eq!(last_event, h.transcript.len() - 1, "the event comes last");
    let disconnect = Entry::Sent(Disconnect::new(ReasonCode(code)).into());
    if h.mode.v5() {
        assert_eq!(h.transcript[last_sent].1, disconnect, "DISCONNECT first");
    } else {
        assert!(!matches!(
            h.transcript[last_sent].1,
            Entry::Sent(Packet::Disconnect(_))
        ));
    }
    assert_eq!(h.session.state(), ConnectionState::Disconnected);
    assert_eq!(h.session.poll_timeout(), None);
    match &h.transcript[last_event].1 {
        Entry::Event(Event::Disconnected(DisconnectReason::ProtocolError {
            reason_code,
            error,
        })) => {
            assert_eq!(reason_code.0, code);
            error.clone()
        }
        other => panic!("{other:?}"),
    }
}

/// Malformed packets: reserved type, wrong header flags, QoS 3, DUP on QoS 0, packet
/// identifier 0, a five-byte remaining length, trailing bytes, bad UTF-8: 0x81 Malformed
/// Packet; a wildcard in a topic name: 0x90 Topic Name invalid (MQTT 5.0 §2.1, §1.5).
fn malformed(mode: Mode) {
    let cases: &[(&str, &[u8], u8)] = &[
        ("reserved type 0", &[0x00, 0x00], 0x81),
        ("PUBACK flags", &[0x42, 0x02, 0x00, 0x01], 0x81),
        (
            "PUBLISH QoS 3",
            &[0x36, 0x05, 0x00, 0x01, b't', 0x00, 0x01],
            0x81,
        ),
        ("DUP on QoS 0", &[0x38, 0x03, 0x00, 0x01, b't'], 0x81),
        ("packet id 0", &[0x40, 0x02, 0x00, 0x00], 0x81),
        (
            "varint of five bytes",
            &[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],
            0x81,
        ),
        ("PINGRESP with a body", &[0xD0, 0x01, 0x00], 0x81),
        (
            "topic not UTF-8",
            &[0x30, 0x04, 0x00, 0x02, 0xC3, 0x28],
            0x81,
        ),
        (
            "topic with NUL",
            &[0x30, 0x04, 0x00, 0x02, b'a', 0x00],
            0x81,
        ),
        (
            "wildcard in topic",
            &[0x30, 0x05, 0x00, 0x03, b'a', b'/', b'#'],
            0x90,
        ),
    ];
    for (name, bytes, code) in cases {
        let mut bytes = bytes.to_vec();
        // MQTT 5.0 PUBLISH packets have a property length after the topic.
        if mode.v5() && bytes[0] >> 4 == 3 && *name != "varint of five bytes" {
            bytes[1] += 1;
            bytes.push(0);
        }
        let error = closes_with(mode, &bytes, *code);
        assert!(
            matches!(error, ProtocolError::Decode(_)),
            "{name}: {error:?}"
        );
    }
}

/// Packets only a server may receive, and a second CONNACK: 0x82 Protocol Error.
fn packets_a_client_must_not_receive(mode: Mode) {
    let encode = |p: Packet| {
        let mut bytes = Vec::new();
        p.encode(mode.version, &mut bytes).unwrap();
        bytes
    };
    let cases: Vec<(Vec<u8>, PacketType)> = vec![
        (encode(Connect::new("x").into()), PacketType::Connect),
        // SUBSCRIBE id 1, "a" QoS 0 (with an empty property list in MQTT 5.0).
        (
            if mode.v5() {
                vec![0x82, 7, 0, 1, 0, 0, 1, b'a', 0]
            } else {
                vec![0x82, 6, 0, 1, 0, 1, b'a', 0]
            },
            PacketType::Subscribe,
        ),
        (
            if mode.v5() {
                vec![0xA2, 6, 0, 1, 0, 0, 1, b'a']
            } else {
                vec![0xA2, 5, 0, 1, 0, 1, b'a']
            },
            PacketType::Unsubscribe,
        ),
        (vec![0xC0, 0], PacketType::PingReq),
        (encode(ConnAck::default().into()), PacketType::ConnAck),
    ];
    for (bytes, packet_type) in cases {
        let error = closes_with(mode, &bytes, 0x82);
        assert_eq!(error, ProtocolError::UnexpectedPacket(packet_type));
    }
}

/// Before CONNACK, only CONNACK (and in MQTT 5.0 AUTH or DISCONNECT) may arrive.
fn publish_before_connack(mode: Mode) {
    let mut h = Harness::new(mode);
    h.open();
    h.inject(incoming("t", "early", 0, 0));
    assert_eq!(
        closed(&mut h, 0x82),
        ProtocolError::UnexpectedPacket(PacketType::Publish)
    );
    assert!(
        !h.transcript
            .iter()
            .any(|(_, e)| matches!(e, Entry::Event(Event::Message(_))))
    );
}

/// A PUBREC for a QoS 1 publish is a protocol error.
fn pubrec_for_qos1(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.cmd(|s, now| s.publish(now, msg("t", "x", 1))).unwrap();
    h.inject(pubrec(1));
    assert_eq!(
        closed(&mut h, 0x82),
        ProtocolError::UnknownPacketId(PacketType::PubRec, pid(1))
    );
}

/// Everything before the bad packet in the same read is processed (the message delivered
/// and acknowledged); nothing after it is.
fn data_before_bad_packet_processed(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    let mut bytes = Vec::new();
    Packet::from(incoming("t", "good", 1, 1))
        .encode(mode.version, &mut bytes)
        .unwrap();
    bytes.extend_from_slice(&[0x00, 0x00]);
    Packet::from(incoming("t", "after", 0, 0))
        .encode(mode.version, &mut bytes)
        .unwrap();
    h.inject_bytes(&bytes);
    closed(&mut h, 0x81);
    let mut expected = vec![Packet::from(puback(1))];
    if mode.v5() {
        expected.push(Disconnect::new(ReasonCode::MALFORMED_PACKET).into());
    }
    assert_eq!(h.sent(), expected);
    match h.events().as_slice() {
        [Event::Message(m), Event::Disconnected(_)] => assert_eq!(&m.publish.payload[..], b"good"),
        other => panic!("{other:?}"),
    }
    // And nothing more is taken from the transport until it is opened again.
    h.skip();
    h.inject(incoming("t", "late", 0, 0));
    assert!(h.events().is_empty());
}

/// Half a packet left when the transport closes is not glued to the next connection's
/// bytes.
fn partial_packet_dropped_on_close(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.inject_bytes(&[0x30, 0x10, 0x00]);
    h.close();
    h.open();
    h.inject(ConnAck::default());
    assert!(h.session.is_connected());
}

/// Arbitrary bytes never make the session panic, and it never sends something the broker
/// can't decode (the harness checks every byte sent).
fn garbage_never_panics(mode: Mode) {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..200 {
        let mut h = Harness::new(mode);
        h.connect();
        h.cmd(|s, now| s.publish(now, msg("t", "x", 2))).unwrap();
        let len = (next() % 64) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // Often start with a plausible packet type so the body parsers run too.
        if !bytes.is_empty() && next() % 2 == 0 {
            bytes[0] = (((next() % 15) as u8 + 1) << 4) | (bytes[0] & 0x0F);
            if bytes.len() > 1 {
                bytes[1] = (len - 2) as u8 & 0x7F;
            }
        }
        h.inject_bytes(&bytes);
        h.advance(Duration::from_secs(200));
        assert_eq!(h.session.state(), ConnectionState::Disconnected);
    }
}

/// MQTT 5.0: a duplicated property or an empty topic without an alias is 0x82 Protocol
/// Error (MQTT 5.0 §2.2.2.2, §3.3.2.1).
fn v5_protocol_errors_in_bytes(mode: Mode) {
    // PUBACK id 1, Success, properties: Reason String twice.
    let dup = [
        0x40, 0x0A, 0x00, 0x01, 0x00, 0x06, 0x1F, 0x00, 0x01, b'a', 0x1F, 0x00,
    ];
    let mut dup = dup.to_vec();
    dup.extend_from_slice(&[0x01, b'b']);
    dup[1] = (dup.len() - 2) as u8;
    dup[5] = (dup.len() - 6) as u8;
    closes_with(mode, &dup, 0x82);
    // PUBLISH with an empty topic and no properties.
    closes_with(mode, &[0x30, 0x03, 0x00, 0x00, 0x00], 0x82);
}

/// MQTT 3.1.1 has no AUTH: type 15 is malformed there.
fn v311_auth_is_malformed(mode: Mode) {
    let error = closes_with(mode, &[0xF0, 0x00], 0x81);
    assert_eq!(
        error,
        ProtocolError::Decode(DecodeError::InvalidPacketType(15))
    );
}

scenarios! {
    all: malformed, packets_a_client_must_not_receive, publish_before_connack, pubrec_for_qos1,
        data_before_bad_packet_processed, partial_packet_dropped_on_close, garbage_never_panics;
    v5: v5_protocol_errors_in_bytes;
    v311: v311_auth_is_malformed;
}
