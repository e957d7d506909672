//! Conformance, MQTT 3.15 and 4.12: AUTH and enhanced authentication (MQTT 5.0).
//!
//! One test per client-binding normative statement, named after its id; see
//! `CONFORMANCE.md` at the repository root.

#[path = "../harness/mod.rs"]
mod harness;

#[allow(unused_imports)]
use harness::*;

const MQTT_5: [Mode; 2] = [V5_WHOLE, V5_BYTES];

/// The reason codes of Table 3-13, AUTH.
const AUTH_CODES: [u8; 3] = [0x00, 0x18, 0x19];

const METHOD: &str = "SCRAM-SHA-1";

// ---- helpers ------------------------------------------------------------------------------

/// An AUTH with `code`, Authentication Method `method` and some Authentication Data.
fn auth_with(code: u8, method: Option<&str>, data: &'static [u8]) -> Auth {
    Auth {
        reason_code: ReasonCode(code),
        properties: AuthProperties {
            authentication_method: method.map(ByteString::from),
            authentication_data: Some(Bytes::from_static(data)),
            ..Default::default()
        },
    }
}

/// An AUTH of the method of the CONNECT.
fn auth(code: u8, data: &'static [u8]) -> Auth {
    auth_with(code, Some(METHOD), data)
}

/// A configuration with the Authentication Method `METHOD`.
fn enhanced(mode: Mode) -> Config {
    let mut config = mode.config();
    config.connect_properties.authentication_method = Some(METHOD.into());
    config.connect_properties.authentication_data = Some(Bytes::from_static(b"client-first"));
    config
}

/// A successful CONNACK that ends the exchange, carrying the method, with `properties`.
fn connack_auth(properties: ConnAckProperties) -> ConnAck {
    connack_v5(ConnAckProperties {
        authentication_method: Some(METHOD.into()),
        ..properties
    })
}

/// CONNECT sent and the server's first challenge (AUTH 0x18) received.
fn challenged(mode: Mode) -> Harness {
    let mut h = Harness::with_config(mode, enhanced(mode));
    h.open();
    h.inject(auth(0x18, b"server-first"));
    assert_eq!(h.events(), [&Event::Auth(auth(0x18, b"server-first"))]);
    assert_eq!(h.session.state(), ConnectionState::Connecting);
    h.skip();
    h
}

/// Connected after an enhanced authentication, with the server's `properties`.
fn authenticated(mode: Mode, properties: ConnAckProperties) -> Harness {
    let mut h = challenged(mode);
    h.cmd(|s, now| s.auth(now, auth(0x18, b"client-final")))
        .unwrap();
    h.inject(connack_auth(properties));
    assert!(h.session.is_connected());
    h.skip();
    h
}

/// The AUTH packets the client sent since the last look; nothing else.
fn auths_sent(h: &mut Harness) -> Vec<Auth> {
    h.sent()
        .into_iter()
        .map(|p| match p {
            Packet::Auth(a) => *a,
            other => panic!("expected AUTH, got {other:?}"),
        })
        .collect()
}

/// The session ended the connection over the server's fault after a DISCONNECT with `code`.
fn closed_with(h: &mut Harness, code: ReasonCode) {
    assert_eq!(h.sent(), [Packet::from(Disconnect::new(code))]);
    assert_eq!(h.session.state(), ConnectionState::Disconnected);
    assert_eq!(h.session.poll_timeout(), None);
    match h.events().last() {
        Some(Event::Disconnected(DisconnectReason::ProtocolError { reason_code, .. })) => {
            assert_eq!(*reason_code, code)
        }
        other => panic!("{other:?}"),
    }
}

// ---- MQTT-3.15.1-1: AUTH flags 0000 -----------------------------------------------------------

/// MQTT 5.0: the AUTH packets the client sends start with 0xF0: answering while
/// connecting, starting and continuing a re-authentication.
#[test]
fn mqtt_5_3_15_1_1_auth_reserved_bits_zero_a_sent() {
    for mode in MQTT_5 {
        let mut h = challenged(mode);
        let (r, bytes) = raw(&mut h, |s, now| s.auth(now, auth(0x18, b"client-final")));
        r.unwrap();
        assert_eq!(bytes[0], 0xF0);
        h.inject(connack_auth(Default::default()));
        let (r, bytes) = raw(&mut h, |s, now| s.auth(now, auth(0x19, b"again")));
        r.unwrap();
        assert_eq!(bytes[0], 0xF0);
        h.inject(auth(0x18, b"challenge"));
        let (r, bytes) = raw(&mut h, |s, now| s.auth(now, auth(0x18, b"answer")));
        r.unwrap();
        assert_eq!(bytes[0], 0xF0);
    }
}

/// MQTT 5.0: an AUTH with a reserved flag set is malformed: DISCONNECT 0x81 and close, while
/// connecting and when connected.
#[test]
fn mqtt_5_3_15_1_1_auth_reserved_bits_zero_b_received_malformed() {
    for mode in MQTT_5 {
        for flags in [0x01, 0x02, 0x04, 0x08, 0x0F] {
            for connected in [false, true] {
                let mut h = Harness::with_config(mode, enhanced(mode));
                if connected {
                    h.connect_with(connack_auth(Default::default()));
                } else {
                    h.open();
                    h.skip();
                }
                let mut bytes = encode(mode, auth(0x18, b"server-first"));
                bytes[0] |= flags;
                h.inject_bytes(&bytes);
                assert!(
                    !h.transcript
                        .iter()
                        .any(|(_, e)| matches!(e, Entry::Event(Event::Auth(_)))),
                    "not handed to the application"
                );
                closed_with(&mut h, ReasonCode::MALFORMED_PACKET);
            }
        }
    }
}

// ---- MQTT-3.15.2-1: defined reason codes ------------------------------------------------------

/// MQTT 5.0: every AUTH the client sends carries a code of Table 3-13, for each of the 256
/// codes the application may pass, answering a challenge and starting a re-authentication;
/// the right one goes out. An AUTH from the server with another code closes the connection.
#[test]
fn mqtt_5_3_15_2_1_auth_reason_code_defined() {
    for mode in MQTT_5 {
        for code in 0..=255u8 {
            for (mut h, right) in [
                (challenged(mode), 0x18),
                (authenticated(mode, Default::default()), 0x19),
            ] {
                let _ = h.cmd(|s, now| s.auth(now, auth(code, b"data")));
                let sent = auths_sent(&mut h);
                for a in &sent {
                    assert!(
                        AUTH_CODES.contains(&a.reason_code.0),
                        "asked {code:#04x}: {a:?}"
                    );
                }
                if code == right {
                    assert_eq!(sent.len(), 1, "{code:#04x}");
                }
            }
        }
        // And on receipt: a server AUTH with another code is a Protocol Error. The encoder
        // refuses to write one, so the code is patched into the bytes of a valid AUTH.
        for code in [0x01, 0x80, 0x87, 0x8C] {
            let mut h = challenged(mode);
            let mut bytes = encode(mode, auth(0x18, b"x"));
            assert_eq!(bytes[2], 0x18);
            bytes[2] = code;
            h.inject_bytes(&bytes);
            closed_with(&mut h, ReasonCode::PROTOCOL_ERROR);
        }
    }
}

// ---- MQTT-3.15.2-2 and MQTT-3.15.2-3 ----------------------------------------------------------

/// The server's Maximum Packet Size in these tests.
const SERVER_MAX: u32 = 48;

/// The AUTH the client sends to start a re-authentication with `reason_string` and
/// `user_properties`, to a server whose Maximum Packet Size is `max` (checked).
fn reauth_sent(
    mode: Mode,
    max: Option<u32>,
    reason_string: Option<ByteString>,
    user_properties: Vec<UserProperty>,
) -> Auth {
    let mut h = authenticated(
        mode,
        ConnAckProperties {
            maximum_packet_size: max.and_then(NonZeroU32::new),
            ..Default::default()
        },
    );
    let mut reauth = auth(0x19, b"again");
    reauth.properties.reason_string = reason_string;
    reauth.properties.user_properties = user_properties;
    let (r, bytes) = raw(&mut h, |s, now| s.auth(now, reauth));
    r.unwrap();
    if let Some(max) = max {
        assert!(bytes.len() <= max as usize, "{} bytes", bytes.len());
    }
    let sent = match Decoder::new(mode.version).decode_slice(&bytes).unwrap() {
        Some((Packet::Auth(a), n)) if n == bytes.len() => a,
        other => panic!("{other:?}"),
    };
    assert_eq!(sent.reason_code, ReasonCode::REAUTHENTICATE);
    assert_eq!(
        sent.properties.authentication_method.as_deref(),
        Some(METHOD)
    );
    assert_eq!(
        sent.properties.authentication_data.as_deref(),
        Some(&b"again"[..])
    );
    *sent
}

fn long_text() -> ByteString {
    "a reason too long for the server's maximum packet size".into()
}

/// MQTT 5.0: a Reason String that would take the AUTH past the server's Maximum Packet Size
/// is left out, the rest sent; one that fits is sent.
#[test]
fn mqtt_5_3_15_2_2_auth_reason_string_within_maximum_packet_size() {
    for mode in MQTT_5 {
        let users = vec![UserProperty::new("k", "v")];
        let sent = reauth_sent(mode, Some(SERVER_MAX), Some(long_text()), users.clone());
        assert_eq!(sent.properties.reason_string, None);
        assert_eq!(sent.properties.user_properties, users);
        let sent = reauth_sent(mode, Some(SERVER_MAX), Some("short".into()), vec![]);
        assert_eq!(sent.properties.reason_string.as_deref(), Some("short"));
        let sent = reauth_sent(mode, None, Some(long_text()), vec![]);
        assert_eq!(sent.properties.reason_string, Some(long_text()));
    }
}

/// MQTT 5.0: User Properties that would take the AUTH past the server's Maximum Packet Size
/// are left out, the rest sent; ones that fit are sent.
#[test]
fn mqtt_5_3_15_2_3_auth_user_properties_within_maximum_packet_size() {
    for mode in MQTT_5 {
        let many = vec![
            UserProperty::new("key-1", "a value"),
            UserProperty::new("key-2", "another value"),
        ];
        let sent = reauth_sent(mode, Some(SERVER_MAX), Some("r".into()), many.clone());
        assert!(sent.properties.user_properties.is_empty());
        assert_eq!(sent.properties.reason_string.as_deref(), Some("r"));
        let one = vec![UserProperty::new("k", "v")];
        let sent = reauth_sent(mode, Some(SERVER_MAX), None, one.clone());
        assert_eq!(sent.properties.user_properties, one);
        let sent = reauth_sent(mode, None, None, many.clone());
        assert_eq!(sent.properties.user_properties, many);
    }
}

// ---- MQTT 4.12: enhanced authentication --------------------------------------------------------

/// MQTT 5.0: the client's answer to the server's AUTH, while connecting and in a
/// re-authentication, is AUTH 0x18: any other code is not sent, 0x18 is.
#[test]
fn mqtt_5_4_12_0_3_answer_auth_with_continue() {
    for mode in MQTT_5 {
        let mut h = challenged(mode);
        for code in [0x00, 0x19] {
            let _ = h.cmd(|s, now| s.auth(now, auth(code, b"wrong")));
            assert_eq!(auths_sent(&mut h), []);
        }
        h.cmd(|s, now| s.auth(now, auth(0x18, b"client-final")))
            .unwrap();
        assert_eq!(auths_sent(&mut h), [auth(0x18, b"client-final")]);
        h.inject(connack_auth(Default::default()));
        h.cmd(|s, now| s.auth(now, auth(0x19, b"again"))).unwrap();
        h.inject(auth(0x18, b"challenge"));
        h.skip();
        for code in [0x00, 0x19] {
            let _ = h.cmd(|s, now| s.auth(now, auth(code, b"wrong")));
            assert_eq!(auths_sent(&mut h), []);
        }
        h.cmd(|s, now| s.auth(now, auth(0x18, b"answer"))).unwrap();
        assert_eq!(auths_sent(&mut h), [auth(0x18, b"answer")]);
        assert!(h.session.is_connected());
    }
}

/// MQTT 5.0: every AUTH the client sends carries the Authentication Method of its CONNECT,
/// while connecting and re-authenticating: when the application left it out, and never
/// another one.
#[test]
fn mqtt_5_4_12_0_5_same_authentication_method_a_sent() {
    for mode in MQTT_5 {
        let mut h = Harness::with_config(mode, enhanced(mode));
        h.open();
        let Packet::Connect(connect) = &h.sent()[0] else {
            panic!("CONNECT first")
        };
        assert_eq!(
            connect.properties.authentication_method.as_deref(),
            Some(METHOD)
        );
        h.inject(auth(0x18, b"server-first"));
        for code in [0x18, 0x19] {
            if code == 0x19 {
                h.inject(connack_auth(Default::default()));
                assert!(h.session.is_connected());
            }
            h.skip();
            let _ = h.cmd(|s, now| s.auth(now, auth_with(code, Some("PLAIN"), b"other")));
            assert_eq!(auths_sent(&mut h), [], "never another method");
            let _ = h.cmd(|s, now| s.auth(now, auth_with(code, None, b"left out")));
            let mut sent = auths_sent(&mut h);
            if sent.is_empty() {
                h.cmd(|s, now| s.auth(now, auth(code, b"given"))).unwrap();
                sent = auths_sent(&mut h);
            }
            assert_eq!(sent.len(), 1);
            assert_eq!(sent[0].reason_code.0, code);
            assert_eq!(
                sent[0].properties.authentication_method.as_deref(),
                Some(METHOD)
            );
        }
    }
}

/// MQTT 5.0: an AUTH from the server with another Authentication Method or none, or a
/// successful CONNACK without the method, breaks the exchange: DISCONNECT 0x82 and close.
/// A refused CONNACK needs none.
#[test]
fn mqtt_5_4_12_0_5_same_authentication_method_b_received() {
    for mode in MQTT_5 {
        for method in [Some("PLAIN"), None] {
            let mut h = challenged(mode);
            h.inject(auth_with(0x18, method, b"x"));
            closed_with(&mut h, ReasonCode::PROTOCOL_ERROR);

            let mut h = authenticated(mode, Default::default());
            h.cmd(|s, now| s.auth(now, auth(0x19, b"again"))).unwrap();
            h.skip();
            h.inject(auth_with(0x18, method, b"x"));
            closed_with(&mut h, ReasonCode::PROTOCOL_ERROR);

            let mut h = challenged(mode);
            h.cmd(|s, now| s.auth(now, auth(0x18, b"client-final")))
                .unwrap();
            h.skip();
            h.inject(connack_v5(ConnAckProperties {
                authentication_method: method.map(ByteString::from),
                ..Default::default()
            }));
            closed_with(&mut h, ReasonCode::PROTOCOL_ERROR);
        }
        let mut h = challenged(mode);
        h.inject(ConnAck {
            reason_code: ReasonCode::NOT_AUTHORIZED,
            ..ConnAck::default()
        });
        assert!(matches!(
            h.events().as_slice(),
            [Event::Disconnected(DisconnectReason::Refused(_))]
        ));
    }
}

/// MQTT 5.0 (and MQTT 3.1.1, which has no AUTH): without an Authentication Method in
/// CONNECT the client sends no AUTH, whatever the application asks, connecting or connected,
/// nor when the server sends one.
#[test]
fn mqtt_5_4_12_0_7_no_auth_without_method() {
    for mode in [V5_WHOLE, V5_BYTES, V311_WHOLE, V311_BYTES] {
        let mut h = Harness::new(mode);
        h.open();
        if let Packet::Connect(c) = &h.sent()[0] {
            assert_eq!(c.properties.authentication_method, None);
        }
        for connected in [false, true] {
            if connected {
                h.inject(ConnAck::default());
                assert!(h.session.is_connected());
            }
            for code in AUTH_CODES {
                assert_eq!(
                    h.cmd(|s, now| s.auth(now, auth(code, b"x"))),
                    Err(UsageError::NoAuthenticationMethod)
                );
            }
        }
        if mode.v5() {
            h.inject(auth(0x19, b"x"));
        }
        let sent = h.sent();
        assert!(
            !sent.iter().any(|p| matches!(p, Packet::Auth(_))),
            "{sent:?}"
        );
    }
}

/// MQTT 5.0: a re-authentication starts with AUTH 0x19 carrying the original Authentication
/// Method (also when the application left it out), only once connected, never with another
/// method.
#[test]
fn mqtt_5_4_12_1_1_reauthenticate_with_original_method() {
    for mode in MQTT_5 {
        let mut h = Harness::with_config(mode, enhanced(mode));
        h.open();
        h.skip();
        let _ = h.cmd(|s, now| s.auth(now, auth(0x19, b"too early")));
        assert_eq!(
            auths_sent(&mut h),
            [],
            "no re-authentication before CONNACK"
        );

        let mut h = authenticated(mode, Default::default());
        let _ = h.cmd(|s, now| s.auth(now, auth_with(0x19, Some("PLAIN"), b"other")));
        assert_eq!(auths_sent(&mut h), []);
        let _ = h.cmd(|s, now| s.auth(now, auth_with(0x19, None, b"left out")));
        h.cmd(|s, now| s.auth(now, auth(0x19, b"again"))).unwrap();
        let sent = auths_sent(&mut h);
        assert!(!sent.is_empty());
        for a in &sent {
            assert_eq!(a.reason_code, ReasonCode::REAUTHENTICATE);
            assert_eq!(a.properties.authentication_method.as_deref(), Some(METHOD));
        }
        assert_eq!(sent.last(), Some(&auth(0x19, b"again")));
        assert!(h.session.is_connected());
    }
}

/// After the connection ended: nothing sent, no deadline, for a while.
fn stays_closed(h: &mut Harness) {
    assert_eq!(h.session.state(), ConnectionState::Disconnected);
    assert_eq!(h.session.poll_timeout(), None);
    let _ = h.cmd(|s, now| s.auth(now, auth(0x18, b"late")));
    let _ = h.cmd(|s, now| s.publish(now, msg("t", "x", 0)));
    h.advance(Duration::from_secs(300));
    assert_eq!(h.sent(), []);
}

/// MQTT 5.0: a re-authentication the server refuses with DISCONNECT ends the connection:
/// reported, nothing sent back or after.
#[test]
fn mqtt_5_4_12_1_2_failed_reauthentication_closes_a_by_server() {
    for mode in MQTT_5 {
        let mut h = authenticated(mode, Default::default());
        h.cmd(|s, now| s.auth(now, auth(0x19, b"again"))).unwrap();
        h.skip();
        let refusal = Disconnect::new(ReasonCode::NOT_AUTHORIZED);
        h.inject(refusal.clone());
        assert_eq!(
            h.events(),
            [&Event::Disconnected(DisconnectReason::ByServer(refusal))]
        );
        stays_closed(&mut h);
    }
}

/// MQTT 5.0: a re-authentication the server answers with an AUTH no exchange allows (an
/// error code): DISCONNECT 0x82 and close.
#[test]
fn mqtt_5_4_12_1_2_failed_reauthentication_closes_b_bad_answer() {
    for mode in MQTT_5 {
        let mut h = authenticated(mode, Default::default());
        h.cmd(|s, now| s.auth(now, auth(0x19, b"again"))).unwrap();
        h.skip();
        // AUTH 0x87: a code AUTH does not define, which the encoder refuses to write.
        let mut bytes = encode(mode, auth(0x18, b"no"));
        bytes[2] = 0x87;
        h.inject_bytes(&bytes);
        closed_with(&mut h, ReasonCode::PROTOCOL_ERROR);
        stays_closed(&mut h);
    }
}

/// MQTT 5.0: a re-authentication the client judges failed (the server's proof is wrong):
/// the application's DISCONNECT ends the connection at once.
#[test]
fn mqtt_5_4_12_1_2_failed_reauthentication_closes_c_by_client() {
    for mode in MQTT_5 {
        let mut h = authenticated(mode, Default::default());
        h.cmd(|s, now| s.auth(now, auth(0x19, b"again"))).unwrap();
        h.inject(auth(0x18, b"bad server proof"));
        h.skip();
        h.cmd(|s, now| s.disconnect(now, Disconnect::new(ReasonCode::UNSPECIFIED_ERROR)))
            .unwrap();
        assert_eq!(
            h.sent(),
            [Packet::from(Disconnect::new(ReasonCode::UNSPECIFIED_ERROR))]
        );
        assert_eq!(
            h.events(),
            [&Event::Disconnected(DisconnectReason::Requested)]
        );
        stays_closed(&mut h);
    }
}
