//! Conformance, MQTT 3.14: DISCONNECT.
//!
//! One test per client-binding normative statement, named after its id; see
//! `CONFORMANCE.md` at the repository root.

#[path = "../harness/mod.rs"]
mod harness;

#[allow(unused_imports)]
use harness::*;

const MQTT_311: [Mode; 2] = [V311_WHOLE, V311_BYTES];
const MQTT_5: [Mode; 2] = [V5_WHOLE, V5_BYTES];

/// The reason codes of Table 3-10, DISCONNECT.
const DISCONNECT_CODES: [u8; 29] = [
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95,
    0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2,
];

// ---- helpers ------------------------------------------------------------------------------

/// The last entry of the transcript is the end of the connection, reported with `reason`;
/// the session is disconnected with no deadline left.
fn ended(h: &Harness, reason: impl Fn(&DisconnectReason) -> bool) {
    match h.transcript.last() {
        Some((_, Entry::Event(Event::Disconnected(r)))) => assert!(reason(r), "{r:?}"),
        other => panic!("expected the connection's end, got {other:?}"),
    }
    assert_eq!(h.session.state(), ConnectionState::Disconnected);
    assert_eq!(h.session.poll_timeout(), None);
}

/// Work in flight both ways, so that the session would have something to send.
fn busy(mode: Mode) -> Harness {
    let mut config = mode.config();
    config.ack_mode = AckMode::Manual;
    config.keep_alive = Duration::from_secs(10);
    let mut h = Harness::with_config(mode, config);
    h.connect();
    h.cmd(|s, now| s.publish(now, msg("t", "1", 1))).unwrap();
    h.cmd(|s, now| s.publish(now, msg("t", "2", 2))).unwrap();
    h.inject(incoming("in", "a", 1, 1));
    h
}

/// After the connection ended, nothing the application, the clock or stray bytes do makes
/// the session send a packet: no PUBLISH, SUBSCRIBE, UNSUBSCRIBE, acknowledgement, PINGREQ or
/// second DISCONNECT. `start` is the transcript length when it ended.
fn silent_after(h: &mut Harness, start: usize) {
    let token = h.take_ack(1);
    let _ = h.cmd(|s, now| s.ack(now, token, ReasonCode::SUCCESS));
    for q in 0..=2 {
        let _ = h.cmd(|s, now| s.publish(now, msg("t", "later", q)));
    }
    let _ = h.cmd(|s, now| s.subscribe(now, subscriptions(&["s"], 1), Default::default()));
    let _ = h.cmd(|s, now| s.unsubscribe(now, vec![filter("s")], Default::default()));
    assert_eq!(
        h.cmd(|s, now| s.disconnect(now, Disconnect::default())),
        Err(UsageError::NotConnected)
    );
    let mut stray = encode(h.mode, incoming("in", "b", 1, 2));
    stray.extend(encode(h.mode, pubrec(2)));
    stray.extend(encode(h.mode, puback(1)));
    h.cmd(|s, now| s.handle_bytes(now, &stray));
    h.advance(Duration::from_secs(600));
    let after: Vec<&Entry> = h.transcript[start..].iter().map(|(_, e)| e).collect();
    assert!(
        !after.iter().any(|e| matches!(e, Entry::Sent(_))),
        "sent after the DISCONNECT: {after:?}"
    );
    assert!(
        !after
            .iter()
            .any(|e| matches!(e, Entry::Event(Event::Message(_)))),
        "nothing is read after the DISCONNECT either"
    );
    assert_eq!(h.session.state(), ConnectionState::Disconnected);
}

/// The application's DISCONNECT: the session queues it as the last bytes of the connection
/// (0xE0 first, the fixed header of Table 2-2) and reports the end at once, with nothing
/// in flight holding the connection open. Returns the transcript length then.
fn disconnect_requested(h: &mut Harness, disconnect: Disconnect) -> usize {
    let (result, bytes) = raw(h, |s, now| s.disconnect(now, disconnect));
    result.unwrap();
    assert_eq!(bytes[0], 0xE0);
    let (packet, _) = Decoder::new(h.mode.version)
        .decode_slice(&bytes)
        .unwrap()
        .unwrap();
    assert_eq!(
        packet.encoded_len(h.mode.version),
        bytes.len(),
        "one packet, nothing after it"
    );
    assert!(matches!(packet, Packet::Disconnect(_)));
    ended(h, |r| *r == DisconnectReason::Requested);
    h.transcript.len()
}

/// The session's own DISCONNECT over a malformed packet (MQTT 5.0). Returns the transcript
/// length once the connection ended.
fn disconnect_on_error(h: &mut Harness) -> usize {
    let (_, bytes) = raw(h, |s, now| s.handle_bytes(now, &[0x40, 0x02, 0x00, 0x00]));
    assert_eq!(bytes, [0xE0, 0x01, 0x81]);
    ended(h, |r| matches!(r, DisconnectReason::ProtocolError { .. }));
    h.transcript.len()
}

// ---- MQTT 3.1.1 --------------------------------------------------------------------------------

/// MQTT 3.1.1: after its DISCONNECT the client ends the connection: the DISCONNECT is the
/// last thing written, the end is reported at once for the transport to be closed, no
/// timer is left and later bytes are not read.
#[test]
fn mqtt_311_3_14_4_1_close_after_disconnect() {
    for mode in MQTT_311 {
        let mut h = busy(mode);
        let start = disconnect_requested(&mut h, Disconnect::default());
        h.cmd(|s, now| s.handle_bytes(now, &encode(mode, incoming("t", "x", 0, 0))));
        assert_eq!(h.transcript.len(), start, "the connection is gone");
        // A new connection starts with CONNECT.
        h.open();
        assert!(matches!(h.sent().last(), Some(Packet::Connect(_))));
    }
}

/// MQTT 3.1.1: after its DISCONNECT the client sends nothing more on that connection.
#[test]
fn mqtt_311_3_14_4_2_nothing_sent_after_disconnect() {
    for mode in MQTT_311 {
        let mut h = busy(mode);
        let start = disconnect_requested(&mut h, Disconnect::default());
        silent_after(&mut h, start);
    }
}

// ---- MQTT 5.0: MQTT-3.14.4-1 and MQTT-3.14.4-2 ------------------------------------------------

/// MQTT 5.0: after the DISCONNECT the application asked for, the client sends nothing more.
#[test]
fn mqtt_5_3_14_4_1_nothing_sent_after_disconnect_a_requested() {
    for mode in MQTT_5 {
        let mut h = busy(mode);
        let disconnect = Disconnect::new(ReasonCode::DISCONNECT_WITH_WILL);
        let start = disconnect_requested(&mut h, disconnect);
        silent_after(&mut h, start);
    }
}

/// MQTT 5.0: after the DISCONNECT the client sent over the server's error, it sends nothing
/// more.
#[test]
fn mqtt_5_3_14_4_1_nothing_sent_after_disconnect_b_on_error() {
    for mode in MQTT_5 {
        let mut h = busy(mode);
        let start = disconnect_on_error(&mut h);
        silent_after(&mut h, start);
    }
}

/// MQTT 5.0: after the DISCONNECT the application asked for, the client ends the
/// connection at once: reported for the transport to be closed, no timer left, later bytes
/// not read.
#[test]
fn mqtt_5_3_14_4_2_close_after_disconnect_a_requested() {
    for mode in MQTT_5 {
        let mut h = busy(mode);
        let start = disconnect_requested(&mut h, Disconnect::default());
        h.cmd(|s, now| s.handle_bytes(now, &encode(mode, incoming("t", "x", 0, 0))));
        assert_eq!(h.transcript.len(), start, "the connection is gone");
    }
}

/// MQTT 5.0: after the DISCONNECT the client sent over the server's error, it ends the
/// connection at once, also when more bytes followed the bad packet in the same read.
#[test]
fn mqtt_5_3_14_4_2_close_after_disconnect_b_on_error() {
    for mode in MQTT_5 {
        let mut h = busy(mode);
        let mut bytes = vec![0x40, 0x02, 0x00, 0x00];
        bytes.extend(encode(mode, incoming("t", "after", 1, 9)));
        let (_, sent) = raw(&mut h, |s, now| s.handle_bytes(now, &bytes));
        assert_eq!(sent, [0xE0, 0x01, 0x81]);
        ended(&h, |r| matches!(r, DisconnectReason::ProtocolError { .. }));
        let start = h.transcript.len();
        h.cmd(|s, now| s.handle_bytes(now, &encode(mode, incoming("t", "x", 0, 0))));
        assert_eq!(h.transcript.len(), start, "the connection is gone");
    }
}

// ---- MQTT 5.0: MQTT-3.14.1-1 -----------------------------------------------------------------

/// MQTT 5.0: every DISCONNECT the client sends has its reserved flags 0000: plain, with a
/// reason code, with properties, and its own over an error.
#[test]
fn mqtt_5_3_14_1_1_disconnect_reserved_bits_zero_a_sent() {
    for mode in MQTT_5 {
        let mut config = mode.config();
        config.connect_properties.session_expiry_interval = Some(60);
        for disconnect in [
            Disconnect::default(),
            Disconnect::new(ReasonCode::DISCONNECT_WITH_WILL),
            Disconnect {
                reason_code: ReasonCode::UNSPECIFIED_ERROR,
                properties: DisconnectProperties {
                    session_expiry_interval: Some(0),
                    reason_string: Some("bye".into()),
                    user_properties: vec![UserProperty::new("k", "v")],
                    ..Default::default()
                },
            },
        ] {
            let mut h = Harness::with_config(mode, config.clone());
            h.connect();
            disconnect_requested(&mut h, disconnect);
        }
        let mut h = Harness::new(mode);
        h.connect();
        disconnect_on_error(&mut h);
    }
}

/// MQTT 5.0: a DISCONNECT from the server with a reserved bit set: DISCONNECT 0x81
/// Malformed Packet and close, whether connected or still connecting.
#[test]
fn mqtt_5_3_14_1_1_disconnect_reserved_bits_zero_b_received_malformed() {
    for mode in MQTT_5 {
        for first in [0xE1, 0xE2, 0xE4, 0xE8, 0xEF] {
            for connected in [true, false] {
                let mut h = Harness::new(mode);
                if connected {
                    h.connect();
                } else {
                    h.open();
                    h.skip();
                }
                h.inject_bytes(&[first, 0x00]);
                assert_eq!(
                    h.sent(),
                    [Packet::from(Disconnect::new(ReasonCode::MALFORMED_PACKET))],
                    "{first:#04x}"
                );
                ended(&h, |r| {
                    matches!(
                        r,
                        DisconnectReason::ProtocolError {
                            reason_code: ReasonCode::MALFORMED_PACKET,
                            error: ProtocolError::Decode(DecodeError::InvalidHeaderFlags { .. }),
                        }
                    )
                });
            }
        }
    }
}

// ---- MQTT 5.0: MQTT-3.14.2-1 -----------------------------------------------------------------

/// MQTT 5.0: every DISCONNECT the client sends carries a reason code of Table 3-10: for each
/// of the 256 codes the application may ask for, the one sent (if any) is defined, and a
/// defined one goes out as asked; the session's own over errors are defined too.
#[test]
fn mqtt_5_3_14_2_1_disconnect_reason_code_defined() {
    for mode in MQTT_5 {
        for code in 0..=255u8 {
            let mut h = Harness::new(mode);
            h.connect();
            let _ = h.cmd(|s, now| s.disconnect(now, Disconnect::new(ReasonCode(code))));
            let sent: Vec<u8> = h
                .sent()
                .iter()
                .map(|p| match p {
                    Packet::Disconnect(d) => d.reason_code.0,
                    other => panic!("{other:?}"),
                })
                .collect();
            for &c in &sent {
                assert!(
                    DISCONNECT_CODES.contains(&c),
                    "asked {code:#04x}, sent {c:#04x}"
                );
            }
            if DISCONNECT_CODES.contains(&code) {
                assert_eq!(sent, [code]);
            } else if sent.is_empty() {
                assert!(
                    h.session.is_connected(),
                    "a refused DISCONNECT changes nothing"
                );
            }
        }
        // The session's own: Malformed Packet, Protocol Error, Topic Name invalid, Receive
        // Maximum exceeded, Topic Alias invalid, Packet too large.
        let mut config = mode.config();
        config.connect_properties.receive_maximum = NonZeroU16::new(1);
        config.connect_properties.maximum_packet_size = NonZeroU32::new(64);
        let mut over_limit = incoming("t", "x", 1, 2);
        over_limit.properties_mut().topic_alias = NonZeroU16::new(1);
        let cases: Vec<Vec<u8>> = vec![
            vec![0x00, 0x00],
            encode(mode, ConnAck::default()),
            vec![0x30, 0x06, 0x00, 0x03, b'a', b'/', b'#', 0x00],
            [
                encode(mode, incoming("t", "x", 2, 1)),
                encode(mode, incoming("t", "x", 2, 2)),
            ]
            .concat(),
            encode(mode, over_limit),
            encode(mode, incoming("t", &*"x".repeat(100).leak(), 0, 0)),
        ];
        for (bytes, expected) in cases.iter().zip([0x81, 0x82, 0x90, 0x93, 0x94, 0x95]) {
            let mut h = Harness::with_config(mode, config.clone());
            h.connect();
            h.inject_bytes(bytes);
            let sent = h.sent();
            let Some(Packet::Disconnect(d)) = sent.last() else {
                panic!("{sent:?}")
            };
            assert_eq!(d.reason_code.0, expected);
            assert!(DISCONNECT_CODES.contains(&d.reason_code.0));
        }
    }
}

/// MQTT-3.14.2-1 on receipt: a server DISCONNECT with a code Table 3-10 does not define
/// (`E0 01 03`, say) is a Protocol Error, answered by DISCONNECT 0x82; the publish in flight
/// stays for the next connection.
#[test]
fn mqtt_5_3_14_2_1_undefined_disconnect_reason_from_server_closes() {
    for mode in MQTT_5 {
        for code in (0..=255u8).filter(|c| !DISCONNECT_CODES.contains(c)) {
            let mut h = Harness::new(mode);
            h.connect();
            h.cmd(|s, now| s.publish(now, msg("t", "x", 1))).unwrap();
            h.skip();
            h.inject_bytes(&[0xE0, 0x01, code]);
            assert_eq!(
                closed_on_fault(&mut h, 0x82),
                ProtocolError::Decode(DecodeError::InvalidReasonCode(code))
            );
            assert_eq!(h.session.publishes_in_flight(), 1);
        }
    }
}

// ---- MQTT 5.0: MQTT-3.14.2-3 and MQTT-3.14.2-4 -------------------------------------------------

/// The server's Maximum Packet Size in these tests.
const SERVER_MAX: u32 = 40;

/// The DISCONNECT the client sends for `disconnect` to a server whose Maximum Packet Size is
/// `max`, checked to fit it; `None` means no limit.
fn disconnect_sent(mode: Mode, max: Option<u32>, disconnect: Disconnect) -> Disconnect {
    let mut config = mode.config();
    config.connect_properties.session_expiry_interval = Some(600);
    let mut h = Harness::with_config(mode, config);
    h.connect_with(connack_v5(ConnAckProperties {
        maximum_packet_size: max.and_then(NonZeroU32::new),
        ..Default::default()
    }));
    let (result, bytes) = raw(&mut h, |s, now| s.disconnect(now, disconnect));
    result.unwrap();
    if let Some(max) = max {
        assert!(bytes.len() <= max as usize, "{} bytes", bytes.len());
    }
    ended(&h, |r| *r == DisconnectReason::Requested);
    match Decoder::new(mode.version).decode_slice(&bytes).unwrap() {
        Some((Packet::Disconnect(d), _)) => *d,
        other => panic!("{other:?}"),
    }
}

fn long_text() -> ByteString {
    "a reason too long for the server's maximum packet size".into()
}

/// MQTT 5.0: a Reason String that would take the DISCONNECT past the server's Maximum
/// Packet Size is left out, the reason code and other properties kept; one that fits is
/// sent.
#[test]
fn mqtt_5_3_14_2_3_disconnect_reason_string_within_maximum_packet_size() {
    for mode in MQTT_5 {
        let disconnect = |reason: ByteString| Disconnect {
            reason_code: ReasonCode::UNSPECIFIED_ERROR,
            properties: DisconnectProperties {
                session_expiry_interval: Some(5),
                reason_string: Some(reason),
                user_properties: vec![UserProperty::new("k", "v")],
                ..Default::default()
            },
        };
        let sent = disconnect_sent(mode, Some(SERVER_MAX), disconnect(long_text()));
        assert_eq!(sent.properties.reason_string, None);
        assert_eq!(sent.reason_code, ReasonCode::UNSPECIFIED_ERROR);
        assert_eq!(sent.properties.session_expiry_interval, Some(5));
        let sent = disconnect_sent(mode, Some(SERVER_MAX), disconnect("short".into()));
        assert_eq!(sent.properties.reason_string.as_deref(), Some("short"));
        let sent = disconnect_sent(mode, None, disconnect(long_text()));
        assert_eq!(sent.properties.reason_string, Some(long_text()));
    }
}

/// MQTT 5.0: User Properties that would take the DISCONNECT past the server's Maximum Packet
/// Size are left out, the reason code and other properties kept; ones that fit are sent.
#[test]
fn mqtt_5_3_14_2_4_disconnect_user_properties_within_maximum_packet_size() {
    for mode in MQTT_5 {
        let disconnect = |user_properties: Vec<UserProperty>| Disconnect {
            reason_code: ReasonCode::DISCONNECT_WITH_WILL,
            properties: DisconnectProperties {
                session_expiry_interval: Some(5),
                reason_string: Some("bye".into()),
                user_properties,
                ..Default::default()
            },
        };
        let many = vec![
            UserProperty::new("key-1", "a value"),
            UserProperty::new("key-2", "another value"),
        ];
        let sent = disconnect_sent(mode, Some(SERVER_MAX), disconnect(many.clone()));
        assert!(sent.properties.user_properties.is_empty());
        assert_eq!(sent.reason_code, ReasonCode::DISCONNECT_WITH_WILL);
        assert_eq!(sent.properties.session_expiry_interval, Some(5));
        let one = vec![UserProperty::new("k", "v")];
        let sent = disconnect_sent(mode, Some(SERVER_MAX), disconnect(one.clone()));
        assert_eq!(sent.properties.user_properties, one);
        let sent = disconnect_sent(mode, None, disconnect(many.clone()));
        assert_eq!(sent.properties.user_properties, many);
    }
}
