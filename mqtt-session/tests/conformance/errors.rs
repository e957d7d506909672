//! Conformance, MQTT 4.8 (3.1.1) and 4.13 (5.0): handling errors, and the unnumbered SHOULDs about closing
//! with the right reason code.
//!
//! One test per client-binding normative statement, named after its id; see
//! `CONFORMANCE.md` at the repository root.

#[path = "../harness/mod.rs"]
mod harness;

#[allow(unused_imports)]
use harness::*;

const V311: [Mode; 2] = [V311_WHOLE, V311_BYTES];
const V5: [Mode; 2] = [V5_WHOLE, V5_BYTES];

// ---- helpers ------------------------------------------------------------------------------

/// Checks that the connection is over and stays over: no deadline left, and bytes that still
/// arrive are neither processed nor answered.
fn stays_closed(h: &mut Harness) {
    assert_eq!(h.session.state(), ConnectionState::Disconnected);
    assert_eq!(h.session.poll_timeout(), None, "no timer may run");
    h.skip();
    h.inject(incoming("t", "late", 1, 1));
    h.inject(Packet::PingResp);
    h.advance(Duration::from_secs(600));
    assert!(h.sent().is_empty(), "nothing is sent after closing");
    assert!(h.events().is_empty(), "nothing is processed after closing");
}

/// After a protocol violation by the server: the client sent exactly `disconnect` (nothing in
/// MQTT 3.1.1), reported the end of the connection, and closed it. Returns the error.
fn closed_after(h: &mut Harness, disconnect: Option<ReasonCode>) -> ProtocolError {
    let sent = h.sent();
    match disconnect {
        Some(code) => assert_eq!(sent, [Packet::from(Disconnect::new(code))]),
        None => assert!(sent.is_empty(), "{sent:?}"),
    }
    let events = h.events();
    let error = match events.as_slice() {
        [
            ..,
            Event::Disconnected(DisconnectReason::ProtocolError { reason_code, error }),
        ] => {
            if let Some(code) = disconnect {
                assert_eq!(*reason_code, code);
            }
            error.clone()
        }
        other => panic!("expected the end of the connection, got {other:?}"),
    };
    assert!(
        !events.iter().any(|e| matches!(e, Event::Message(_))),
        "nothing from the bad packet is delivered: {events:?}"
    );
    stays_closed(h);
    error
}

/// Feeds `bytes` to a session in `stage` and checks the outcome with [`closed_after`].
fn violation(
    mode: Mode,
    name: &str,
    stage: When,
    bytes: &[u8],
    disconnect: Option<u8>,
) -> ProtocolError {
    eprintln!("case: {name} ({mode:?})");
    let mut config = mode.config();
    if mode.v5() {
        config.connect_properties.topic_alias_maximum = Some(5);
    }
    let mut h = Harness::with_config(mode, config);
    match stage {
        When::Connecting => h.open(),
        When::Connected => {
            h.connect();
        }
    }
    h.skip();
    h.inject_bytes(bytes);
    closed_after(&mut h, disconnect.map(ReasonCode))
}

#[derive(Clone, Copy, Debug)]
enum When {
    /// CONNECT sent, no CONNACK yet.
    Connecting,
    /// CONNACK accepted.
    Connected,
}

use When::{Connected as Up, Connecting as Opening};

// ---- MQTT 3.1.1, 4.8 ----------------------------------------------------------------------

/// MQTT 3.1.1 packets that are malformed: reserved type, wrong flags, QoS 3, DUP on QoS 0,
/// packet identifier 0, a five-byte remaining length, too short and too long bodies, bad
/// UTF-8, U+0000, AUTH (which 3.1.1 lacks), reserved CONNACK flags and return codes.
const V311_MALFORMED: &[(&str, When, &[u8])] = &[
    ("reserved type 0", Up, &[0x00, 0x00]),
    ("PUBACK flags", Up, &[0x42, 0x02, 0x00, 0x01]),
    ("PUBREL flags 0", Up, &[0x60, 0x02, 0x00, 0x01]),
    (
        "PUBLISH QoS 3",
        Up,
        &[0x36, 0x05, 0x00, 0x01, b't', 0x00, 0x01],
    ),
    ("DUP on QoS 0", Up, &[0x38, 0x03, 0x00, 0x01, b't']),
    ("packet id 0", Up, &[0x40, 0x02, 0x00, 0x00]),
    (
        "varint of five bytes",
        Up,
        &[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],
    ),
    ("PUBACK too short", Up, &[0x40, 0x01, 0x00]),
    ("PINGRESP with a body", Up, &[0xD0, 0x01, 0x00]),
    ("topic not UTF-8", Up, &[0x30, 0x04, 0x00, 0x02, 0xC3, 0x28]),
    (
        "topic with U+0000",
        Up,
        &[0x30, 0x04, 0x00, 0x02, b'a', 0x00],
    ),
    ("AUTH", Up, &[0xF0, 0x00]),
    ("CONNACK reserved flags", Opening, &[0x20, 0x02, 0x02, 0x00]),
    ("CONNACK return code 6", Opening, &[0x20, 0x02, 0x00, 0x06]),
];

/// On a malformed packet the Client closes the connection, sending nothing in MQTT 3.1.1.
#[test]
fn mqtt_311_4_8_0_1_malformed_closes() {
    for mode in V311 {
        for (name, stage, bytes) in V311_MALFORMED {
            let error = violation(mode, name, *stage, bytes, None);
            assert!(
                matches!(error, ProtocolError::Decode(_)),
                "{name}: {error:?}"
            );
        }
    }
}

/// On a packet the server must not send the Client closes the connection.
#[test]
fn mqtt_311_4_8_0_1_unexpected_packet_closes() {
    for mode in V311 {
        let cases: Vec<(&str, When, Vec<u8>)> = vec![
            ("CONNECT", Up, encode(mode, Connect::new("x"))),
            ("SUBSCRIBE", Up, vec![0x82, 6, 0, 1, 0, 1, b'a', 0]),
            ("UNSUBSCRIBE", Up, vec![0xA2, 5, 0, 1, 0, 1, b'a']),
            ("PINGREQ", Up, vec![0xC0, 0]),
            ("second CONNACK", Up, encode(mode, ConnAck::default())),
            (
                "PUBLISH first",
                Opening,
                encode(mode, incoming("t", "x", 0, 0)),
            ),
            ("PUBACK first", Opening, encode(mode, puback(1))),
            (
                "wildcard topic",
                Up,
                vec![0x30, 0x05, 0x00, 0x03, b'a', b'/', b'#'],
            ),
            ("session present", Opening, encode(mode, connack_present())),
        ];
        for (name, stage, bytes) in cases {
            violation(mode, name, stage, &bytes, None);
        }
    }
}

/// The connection closes at the violating packet; earlier data is processed, later is not.
#[test]
fn mqtt_311_4_8_0_1_closes_at_the_violation() {
    for mode in V311 {
        let mut config = mode.config();
        config.clean_start = false;
        let mut h = Harness::with_config(mode, config);
        h.connect();
        h.cmd(|s, now| s.publish(now, msg("t", "mine", 1))).unwrap();
        h.skip();
        let mut bytes = encode(mode, incoming("t", "before", 1, 1));
        bytes.extend_from_slice(&[0x00, 0x00]);
        bytes.extend(encode(mode, incoming("t", "after", 0, 0)));
        h.inject_bytes(&bytes);
        assert_eq!(h.sent(), [Packet::from(puback(1))]);
        let events = h.events();
        assert!(
            matches!(
                events.as_slice(),
                [Event::Message(m), Event::Disconnected(DisconnectReason::ProtocolError { .. })]
                    if &m.publish.payload[..] == b"before"
            ),
            "{events:?}"
        );
        stays_closed(&mut h);
        h.open();
        h.inject(connack_present());
        let resent = h.sent();
        assert_eq!(resent[1..], [on_wire(msg("t", "mine", 1), Some(1), true)]);
    }
}

// ---- MQTT 5.0, 4.13 -------------------------------------------------------------------------

/// A CONNACK with a reason code of 0x80 or more ends the network connection.
#[test]
fn mqtt_5_4_13_2_1_connack_error_closes() {
    for mode in V5 {
        for code in [0x80, 0x84, 0x87, 0x8A, 0x9C, 0x9F] {
            let mut h = Harness::new(mode);
            h.cmd(|s, now| s.publish(now, msg("t", "waiting", 1)))
                .unwrap();
            h.open();
            h.skip();
            let refusal = ConnAck {
                reason_code: ReasonCode(code),
                ..ConnAck::default()
            };
            h.inject(refusal.clone());
            assert!(h.sent().is_empty(), "{code:#x}");
            assert_eq!(
                h.events(),
                [&Event::Disconnected(DisconnectReason::Refused(refusal))]
            );
            stays_closed(&mut h);
            assert_eq!(h.session.publishes_queued(), 1);
        }
    }
}

/// A server DISCONNECT with a reason code of 0x80 or more ends the network connection.
#[test]
fn mqtt_5_4_13_2_1_server_disconnect_error_closes() {
    for mode in V5 {
        for code in [0x80, 0x81, 0x82, 0x8B, 0x8E, 0x98, 0x9C] {
            let mut h = Harness::new(mode);
            h.connect();
            h.cmd(|s, now| s.publish(now, msg("t", "x", 1))).unwrap();
            h.skip();
            let disconnect = Disconnect::new(ReasonCode(code));
            h.inject(disconnect.clone());
            assert!(h.sent().is_empty(), "{code:#x}");
            assert_eq!(
                h.events(),
                [&Event::Disconnected(DisconnectReason::ByServer(disconnect))]
            );
            stays_closed(&mut h);
        }
    }
}

/// A client DISCONNECT with a reason code of 0x80 or more ends the network connection.
#[test]
fn mqtt_5_4_13_2_1_client_disconnect_error_closes() {
    for mode in V5 {
        let mut h = Harness::new(mode);
        h.connect();
        h.skip();
        h.inject_bytes(&[0x00, 0x00]);
        closed_after(&mut h, Some(ReasonCode::MALFORMED_PACKET));

        for code in [0x80, 0x83, 0x93] {
            let mut h = Harness::new(mode);
            h.connect();
            h.skip();
            let disconnect = Disconnect::new(ReasonCode(code));
            h.cmd(|s, now| s.disconnect(now, disconnect.clone()))
                .unwrap();
            assert_eq!(h.sent(), [Packet::from(disconnect)]);
            assert_eq!(
                h.events(),
                [&Event::Disconnected(DisconnectReason::Requested)]
            );
            stays_closed(&mut h);
            h.cmd(|s, now| s.publish(now, msg("t", "x", 0))).unwrap();
            assert!(h.sent().is_empty(), "nothing follows the DISCONNECT");
        }
    }
}

// ---- the SHOULDs of MQTT 5.0 §4.13.1 --------------------------------------------------------

/// MQTT 5.0 packets that are malformed (0x81).
const V5_MALFORMED: &[(&str, When, &[u8])] = &[
    ("reserved type 0", Up, &[0x00, 0x00]),
    ("PUBACK flags", Up, &[0x42, 0x02, 0x00, 0x01]),
    ("PUBREL flags 0", Up, &[0x60, 0x02, 0x00, 0x01]),
    ("SUBACK flags", Up, &[0x91, 0x04, 0x00, 0x01, 0x00, 0x00]),
    (
        "PUBLISH QoS 3",
        Up,
        &[0x36, 0x06, 0x00, 0x01, b't', 0x00, 0x01, 0x00],
    ),
    ("DUP on QoS 0", Up, &[0x38, 0x04, 0x00, 0x01, b't', 0x00]),
    ("packet id 0", Up, &[0x40, 0x02, 0x00, 0x00]),
    (
        "varint of five bytes",
        Up,
        &[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],
    ),
    ("remaining length too short", Up, &[0x40, 0x01, 0x00]),
    ("bytes after the last field", Up, &[0xD0, 0x01, 0x00]),
    ("remaining length not minimal", Up, &[0xD0, 0x80, 0x00]),
    (
        "topic not UTF-8",
        Up,
        &[0x30, 0x05, 0x00, 0x02, 0xC3, 0x28, 0x00],
    ),
    (
        "topic with a surrogate",
        Up,
        &[0x30, 0x06, 0x00, 0x03, 0xED, 0xA0, 0x80, 0x00],
    ),
    (
        "topic with U+0000",
        Up,
        &[0x30, 0x05, 0x00, 0x02, b'a', 0x00, 0x00],
    ),
    (
        "property length past the end",
        Up,
        &[0x40, 0x04, 0x00, 0x01, 0x00, 0x05],
    ),
    (
        "property value past the property length",
        Up,
        &[0x40, 0x07, 0x00, 0x01, 0x00, 0x03, 0x1F, 0x00, 0x05],
    ),
    (
        "unknown property",
        Up,
        &[0x40, 0x06, 0x00, 0x01, 0x00, 0x02, 0x05, 0x00],
    ),
    (
        "reason string not UTF-8",
        Up,
        &[0x40, 0x08, 0x00, 0x01, 0x00, 0x04, 0x1F, 0x00, 0x01, 0xFF],
    ),
    (
        "CONNACK reserved flags",
        Opening,
        &[0x20, 0x03, 0x02, 0x00, 0x00],
    ),
];

/// On a Malformed Packet the client sends DISCONNECT 0x81 and closes the connection.
#[test]
fn should_5_4_13_1_1_malformed_disconnect_0x81() {
    for mode in V5 {
        for (name, stage, bytes) in V5_MALFORMED {
            let error = violation(mode, name, *stage, bytes, Some(0x81));
            assert!(
                matches!(error, ProtocolError::Decode(_)),
                "{name}: {error:?}"
            );
        }
    }
}

/// On a Protocol Error the client sends DISCONNECT 0x82 and closes the connection.
#[test]
fn should_5_4_13_1_2_protocol_error_disconnect_0x82() {
    for mode in V5 {
        let mut twice = vec![
            0x40, 0x0A, 0x00, 0x01, 0x00, 0x06, 0x1F, 0x00, 0x01, b'a', 0x1F, 0x00, 0x01, b'b',
        ];
        twice[1] = (twice.len() - 2) as u8;
        let unknown_alias = {
            let mut p = incoming("", "x", 0, 0);
            p.properties_mut().topic_alias = NonZeroU16::new(3);
            encode(mode, p)
        };
        let reauth = Auth {
            reason_code: ReasonCode::REAUTHENTICATE,
            ..Auth::default()
        };
        let cases: Vec<(&str, When, Vec<u8>)> = vec![
            ("CONNECT", Up, encode(mode, Connect::new("x"))),
            ("SUBSCRIBE", Up, vec![0x82, 7, 0, 1, 0, 0, 1, b'a', 0]),
            ("UNSUBSCRIBE", Up, vec![0xA2, 6, 0, 1, 0, 0, 1, b'a']),
            ("PINGREQ", Up, vec![0xC0, 0]),
            ("second CONNACK", Up, encode(mode, ConnAck::default())),
            (
                "PUBLISH first",
                Opening,
                encode(mode, incoming("t", "x", 0, 0)),
            ),
            ("SUBACK first", Opening, encode(mode, suback(1, &[0]))),
            ("AUTH without method", Up, encode(mode, reauth.clone())),
            ("AUTH without method first", Opening, encode(mode, reauth)),
            ("reason string twice", Up, twice),
            (
                "Receive Maximum 0",
                Opening,
                vec![0x20, 0x06, 0x00, 0x00, 0x03, 0x21, 0x00, 0x00],
            ),
            (
                "Maximum QoS 2",
                Opening,
                vec![0x20, 0x05, 0x00, 0x00, 0x02, 0x24, 0x02],
            ),
            ("empty topic", Up, vec![0x30, 0x03, 0x00, 0x00, 0x00]),
            ("alias never set", Up, unknown_alias),
            ("session present", Opening, encode(mode, connack_present())),
        ];
        for (name, stage, bytes) in cases {
            violation(mode, name, stage, &bytes, Some(0x82));
        }
    }
}

/// On a packet above its Maximum Packet Size the client sends DISCONNECT 0x95 and closes.
#[test]
fn should_5_4_13_1_3_packet_too_large_disconnect_0x95() {
    for mode in V5 {
        let mut config = mode.config();
        config.connect_properties.maximum_packet_size = NonZeroU32::new(64);
        let mut h = Harness::with_config(mode, config);
        h.connect();
        // 2 (fixed header) + 3 (topic) + 1 (properties) + 58 = 64 bytes.
        let fits = incoming("t", &*"x".repeat(58).leak(), 0, 0);
        assert_eq!(Packet::from(fits.clone()).encoded_len(mode.version), 64);
        h.inject(fits);
        assert!(h.session.is_connected());
        h.skip();
        let big = encode(mode, incoming("t", &*"x".repeat(59).leak(), 0, 0));
        assert_eq!(big.len(), 65);
        // The fixed header alone tells the size: the rest need not arrive.
        h.inject_bytes(&big[..2]);
        let error = closed_after(&mut h, Some(ReasonCode::PACKET_TOO_LARGE));
        assert!(
            matches!(
                error,
                ProtocolError::Decode(DecodeError::PacketTooLarge { max: 64, .. })
            ),
            "{error:?}"
        );
    }
}

/// When the server exceeds its Receive Maximum the client sends DISCONNECT 0x93 and closes.
#[test]
fn should_5_4_13_1_4_receive_maximum_exceeded_disconnect_0x93() {
    for mode in V5 {
        let mut config = mode.config();
        config.connect_properties.receive_maximum = NonZeroU16::new(2);
        let mut h = Harness::with_config(mode, config);
        h.connect();
        h.inject(incoming("t", "1", 2, 1));
        h.inject(incoming("t", "acked at once", 1, 3));
        h.inject(incoming("t", "2", 2, 2));
        h.inject(pubrel(1));
        h.inject(incoming("t", "3", 2, 4));
        assert!(h.session.is_connected());
        h.skip();
        h.inject(incoming("t", "one too many", 1, 5));
        assert_eq!(
            closed_after(&mut h, Some(ReasonCode::RECEIVE_MAXIMUM_EXCEEDED)),
            ProtocolError::ReceiveMaximumExceeded
        );
    }
}
