//! MQTT 3.1 (protocol name "MQIsdp", level 3): what differs from MQTT 3.1.1, as transcripts of
//! exact bytes. The scenarios of the other files marked `all` run under MQTT 3.1 too.
//!
//! Source: MQTT V3.1 Protocol Specification (IBM and Eurotech, 2010): §3.1 CONNECT (the client
//! identifier of 1 to 23 characters, the Clean session flag), §3.2 CONNACK (a reserved byte, return
//! codes 0 to 5), §3.9 SUBACK (granted QoS levels only).

mod harness;

use harness::*;
use mqtt_proto::EncodeError;

/// The client's bytes since the last call, one packet per entry.
fn frames(h: &mut Harness) -> Vec<Vec<u8>> {
    h.raw_frames()
}

/// CONNECT names the protocol "MQIsdp", level 3, and carries the client identifier:
/// `10 14 00 06 MQIsdp 03 02 00 3C 00 06 client`.
fn connect_bytes(mode: Mode) {
    let mut h = Harness::new(mode);
    h.open();
    let mut expected = vec![0x10, 0x14, 0x00, 0x06];
    expected.extend_from_slice(b"MQIsdp");
    expected.extend_from_slice(&[0x03, 0x02, 0x00, 0x3C, 0x00, 0x06]);
    expected.extend_from_slice(b"client");
    assert_eq!(frames(&mut h), [expected]);
    h.inject_bytes(&[0x20, 0x02, 0x00, 0x00]);
    match h.events().as_slice() {
        [Event::Connected(c)] => assert!(!c.session_present),
        other => panic!("{other:?}"),
    }
    assert!(h.session.is_connected());
}

/// The client identifier has 1 to 23 characters. An empty one (MQTT 3.1 can't ask the server
/// for one) or a longer one is refused when the transport opens, with a typed error, and
/// nothing is sent; 23 characters of two bytes each are fine.
fn client_id_of_1_to_23_characters(mode: Mode) {
    for (id, chars) in [
        (String::new(), 0),
        ("c".repeat(24), 24),
        ("é".repeat(30), 30),
    ] {
        let mut h = Harness::with_config(mode, Config::new(id.as_str(), mode.version));
        h.cmd(|s, now| s.publish(now, msg("t", "waiting", 1)))
            .unwrap();
        assert_eq!(
            h.cmd(|s, now| s.handle_transport_opened(now)),
            Err(UsageError::Encode(EncodeError::ClientIdLength { chars }))
        );
        assert!(h.raw.is_empty(), "nothing is sent");
        assert_eq!(h.session.state(), ConnectionState::Disconnected);
        assert_eq!(h.session.poll_timeout(), None);
        assert_eq!(h.session.publishes_queued(), 1);
    }
    let id = "é".repeat(23);
    let mut h = Harness::with_config(mode, Config::new(id.as_str(), mode.version));
    let connect = h.connect();
    assert_eq!(connect.client_id, id);
}

/// CONNACK's first byte is reserved: whatever it holds, it is no Session Present flag. After a
/// CONNECT with Clean Session 1, `20 02 01 00` is an accepted connection without a session
/// (in MQTT 3.1.1 it would be a protocol violation, MQTT-3.2.2-1).
fn connack_reserved_byte_ignored(mode: Mode) {
    for reserved in [0x01, 0x80, 0xFF] {
        let mut h = Harness::new(mode);
        h.open();
        h.skip();
        h.inject_bytes(&[0x20, 0x02, reserved, 0x00]);
        match h.events().as_slice() {
            [Event::Connected(c)] => {
                assert!(!c.session_present);
                assert!(!c.connack.session_present);
            }
            other => panic!("{other:?}"),
        }
        assert!(h.session.is_connected());
    }
}

/// Return codes 1 to 5 refuse the connection, reported with their MQTT 5.0 equivalents; the
/// publish waiting for it stays queued. 6 and above are reserved: a protocol violation, after
/// which the client closes without sending anything.
fn return_codes(mode: Mode) {
    for (code, reason_code) in [
        (1, ReasonCode::UNSUPPORTED_PROTOCOL_VERSION),
        (2, ReasonCode::CLIENT_IDENTIFIER_NOT_VALID),
        (3, ReasonCode::SERVER_UNAVAILABLE),
        (4, ReasonCode::BAD_USER_NAME_OR_PASSWORD),
        (5, ReasonCode::NOT_AUTHORIZED),
    ] {
        let mut h = Harness::new(mode);
        h.cmd(|s, now| s.publish(now, msg("t", "waiting", 1)))
            .unwrap();
        h.open();
        h.skip();
        frames(&mut h);
        h.inject_bytes(&[0x20, 0x02, 0x00, code]);
        let refusal = ConnAck {
            reason_code,
            ..ConnAck::default()
        };
        assert_eq!(
            h.events(),
            [&Event::Disconnected(DisconnectReason::Refused(refusal))]
        );
        assert!(frames(&mut h).is_empty());
        assert_eq!(h.session.publishes_queued(), 1);
    }
    for code in [6, 0x80, 0xFF] {
        let mut h = Harness::new(mode);
        h.cmd(|s, now| s.publish(now, msg("t", "waiting", 1)))
            .unwrap();
        h.open();
        h.skip();
        h.inject_bytes(&[0x20, 0x02, 0x00, code]);
        assert_eq!(
            closed_on_fault(&mut h, 0x82),
            ProtocolError::Decode(DecodeError::InvalidReasonCode(code))
        );
        assert_eq!(h.session.publishes_queued(), 1);
    }
}

/// With Clean Session 0 the server keeps the session (MQTT 3.1 §3.1), and CONNACK can't say
/// otherwise: the client takes it as resumed and sends again, with DUP, the QoS 1 publish and
/// the QoS 2 PUBREL still in flight, under their identifiers.
fn resume_with_clean_session_0(mode: Mode) {
    let mut config = mode.config();
    config.clean_start = false;
    let mut h = Harness::with_config(mode, config);
    h.connect();
    h.cmd(|s, now| s.publish(now, msg("t", "one", 1))).unwrap();
    h.cmd(|s, now| s.publish(now, msg("t", "two", 2))).unwrap();
    h.inject_bytes(&[0x50, 0x02, 0x00, 0x02]); // PUBREC 2
    h.close();
    frames(&mut h);
    h.open();
    h.skip();
    h.inject_bytes(&[0x20, 0x02, 0x00, 0x00]);
    match h.events().as_slice() {
        [Event::Connected(c)] => assert!(c.session_present, "taken as resumed"),
        other => panic!("{other:?}"),
    }
    let sent = frames(&mut h);
    assert_eq!(sent[0][11], 0x00, "CONNECT flags: Clean Session 0");
    assert_eq!(
        sent[1..],
        [
            vec![0x3A, 0x08, 0x00, 0x01, b't', 0x00, 0x01, b'o', b'n', b'e'],
            vec![0x62, 0x02, 0x00, 0x02],
        ]
    );
    h.inject_bytes(&[0x40, 0x02, 0x00, 0x01]);
    h.inject_bytes(&[0x70, 0x02, 0x00, 0x02]);
    let published = h
        .events()
        .iter()
        .filter(|e| matches!(e, Event::Published(_)))
        .count();
    assert_eq!(published, 2);
}

/// With Clean Session 1 on every connection there is never a session: what was in flight is
/// sent again as a new publish (DUP 0, a new packet identifier) under the default policy.
fn clean_session_1_starts_over(mode: Mode) {
    let mut config = mode.config();
    config.clean_start_on_reconnect = true;
    let mut h = Harness::with_config(mode, config);
    h.connect();
    h.cmd(|s, now| s.publish(now, msg("t", "one", 1))).unwrap();
    h.close();
    frames(&mut h);
    h.open();
    h.skip();
    h.inject_bytes(&[0x20, 0x02, 0x00, 0x00]);
    match h.events().as_slice() {
        [Event::Connected(c)] => assert!(!c.session_present),
        other => panic!("{other:?}"),
    }
    let sent = frames(&mut h);
    assert_eq!(sent[0][11], 0x02, "CONNECT flags: Clean Session 1");
    assert_eq!(
        sent[1..],
        [vec![
            0x32, 0x08, 0x00, 0x01, b't', 0x00, 0x02, b'o', b'n', b'e'
        ]]
    );
}

/// SUBACK carries the granted QoS of each topic (`90 04 00 01 00 02`); 0x80, MQTT 3.1.1's
/// failure code, is no QoS: the client closes the connection, sending nothing, and subscribes
/// again on the next one.
fn suback_granted_qos_only(mode: Mode) {
    let mut config = mode.config();
    config.clean_start = false;
    let mut h = Harness::with_config(mode, config);
    h.connect();
    frames(&mut h);
    let id = h
        .cmd(|s, now| s.subscribe(now, subscriptions(&["a", "b"], 2), Default::default()))
        .unwrap();
    let subscribe = frames(&mut h);
    assert_eq!(
        subscribe,
        [vec![
            0x82, 0x0A, 0x00, 0x01, 0x00, 0x01, b'a', 0x02, 0x00, 0x01, b'b', 0x02
        ]]
    );
    h.skip();
    h.inject_bytes(&[0x90, 0x04, 0x00, 0x01, 0x00, 0x80]);
    assert_eq!(
        closed_on_fault(&mut h, 0x82),
        ProtocolError::Decode(DecodeError::InvalidReasonCode(0x80))
    );
    h.open();
    h.inject_bytes(&[0x20, 0x02, 0x00, 0x00]);
    assert_eq!(frames(&mut h)[1..], subscribe, "subscribed again");
    h.skip();
    h.inject_bytes(&[0x90, 0x04, 0x00, 0x01, 0x00, 0x02]);
    match h.events().as_slice() {
        [Event::Subscribed(s)] => {
            assert_eq!(s.id, id);
            assert_eq!(s.reason_codes, [ReasonCode(0), ReasonCode(2)]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(h.session.subscriptions().len(), 2);
}

/// MQTT 3.1 has no AUTH: a packet of type 15 is malformed, and the client closes without
/// sending anything.
fn no_auth(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.skip();
    h.inject_bytes(&[0xF0, 0x00]);
    assert_eq!(
        closed_on_fault(&mut h, 0x81),
        ProtocolError::Decode(DecodeError::InvalidPacketType(15))
    );
}

scenarios! {
    v31: connect_bytes, client_id_of_1_to_23_characters, connack_reserved_byte_ignored,
        return_codes, resume_with_clean_session_0, clean_session_1_starts_over,
        suback_granted_qos_only, no_auth;
}
