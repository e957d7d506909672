//! CONNECT contents, CONNACK accepted and refused, and the connect timeout.

mod harness;

use harness::*;

/// The defaults: the configured client id, Clean Start, a 60 s keep alive, nothing else.
fn default_connect(mode: Mode) {
    let mut h = Harness::new(mode);
    h.open();
    let expected = Connect::new("client");
    assert_eq!(h.sent(), [Packet::from(expected)]);
    assert_eq!(h.session.state(), ConnectionState::Connecting);
    // Nothing is reported before CONNACK.
    assert!(h.events().is_empty());
    h.inject(ConnAck::default());
    match h.events().as_slice() {
        [Event::Connected(c)] => assert!(!c.session_present),
        other => panic!("{other:?}"),
    }
    assert!(h.session.is_connected());
}

/// A second CONNECT while one is open is a usage error.
fn already_connected(mode: Mode) {
    let mut h = Harness::new(mode);
    h.open();
    assert_eq!(
        h.cmd(|s, now| s.handle_transport_opened(now)),
        Err(UsageError::AlreadyConnected)
    );
    h.inject(ConnAck::default());
    assert!(h.session.is_connected());
    assert_eq!(
        h.cmd(|s, now| s.handle_transport_opened(now)),
        Err(UsageError::AlreadyConnected)
    );
}

/// Clean Start off, a custom keep alive, a user name and a password.
fn credentials_and_keep_alive(mode: Mode) {
    let mut config = mode.config();
    config.clean_start = false;
    config.keep_alive = Duration::from_secs(17);
    config.username = Some("user".into());
    config.password = Some(Bytes::from_static(b"secret"));
    let mut h = Harness::with_config(mode, config);
    h.open();
    let Packet::Connect(c) = &h.sent()[0] else {
        panic!()
    };
    assert!(!c.clean_start);
    assert_eq!(c.keep_alive, 17);
    assert_eq!(c.username.as_deref(), Some("user"));
    assert_eq!(c.password.as_deref(), Some(&b"secret"[..]));
}

/// A keep alive beyond 65,535 s is sent as 65,535.
fn keep_alive_saturates(mode: Mode) {
    let mut config = mode.config();
    config.keep_alive = Duration::from_secs(100_000);
    let mut h = Harness::with_config(mode, config);
    h.open();
    let Packet::Connect(c) = &h.sent()[0] else {
        panic!()
    };
    assert_eq!(c.keep_alive, u16::MAX);
}

/// An empty client id: MQTT 3.1.1 must then ask for a clean session (MQTT-3.1.3-7);
/// MQTT 5.0 sends what was configured.
fn empty_client_id(mode: Mode) {
    let mut config = Config::new("", mode.version);
    config.clean_start = false;
    let mut h = Harness::with_config(mode, config);
    h.open();
    let Packet::Connect(c) = &h.sent()[0] else {
        panic!()
    };
    assert_eq!(c.client_id, "");
    assert_eq!(c.clean_start, !mode.v5());
}

/// The Will Message, with its QoS and retain flag.
fn will(mode: Mode) {
    let mut config = mode.config();
    let mut will = Will::new(topic("clients/client/status"), "gone");
    will.qos = QoS::ExactlyOnce;
    will.retain = true;
    config.will = Some(will.clone());
    let mut h = Harness::with_config(mode, config);
    h.open();
    let Packet::Connect(c) = &h.sent()[0] else {
        panic!()
    };
    assert_eq!(c.will, Some(will));
}

/// An accepted CONNACK with Session Present: the session state is resumed.
fn session_present(mode: Mode) {
    let mut config = mode.config();
    config.clean_start = false;
    let mut h = Harness::with_config(mode, config);
    h.open();
    h.inject(connack_present());
    match h.events().as_slice() {
        [Event::Connected(c)] => assert!(c.session_present),
        other => panic!("{other:?}"),
    }
}

/// Session Present in answer to Clean Start is a protocol violation (MQTT-3.2.2-4 in 5.0,
/// MQTT-3.2.2-1 in 3.1.1): the client closes the connection.
fn session_present_after_clean_start(mode: Mode) {
    let mut h = Harness::new(mode);
    h.open();
    h.skip();
    h.inject(connack_present());
    assert!(matches!(
        h.events().as_slice(),
        [Event::Disconnected(DisconnectReason::ProtocolError { .. })]
    ));
    let expected: Vec<Packet> = if mode.v5() {
        vec![Disconnect::new(ReasonCode::PROTOCOL_ERROR).into()]
    } else {
        vec![]
    };
    assert_eq!(h.sent(), expected);
}

/// MQTT 3.1.1 return codes 1 to 5 end the connection as refused, with the code mapped onto
/// its MQTT 5.0 equivalent.
fn refused_v311(mode: Mode) {
    for (wire, code) in [
        (1u8, ReasonCode::UNSUPPORTED_PROTOCOL_VERSION),
        (2, ReasonCode::CLIENT_IDENTIFIER_NOT_VALID),
        (3, ReasonCode::SERVER_UNAVAILABLE),
        (4, ReasonCode::BAD_USER_NAME_OR_PASSWORD),
        (5, ReasonCode::NOT_AUTHORIZED),
    ] {
        let mut h = Harness::new(mode);
        h.open();
        h.skip();
        // 3.1.1 §3.2: 0x20, remaining length 2, flags, return code.
        h.inject_bytes(&[0x20, 0x02, 0x00, wire]);
        match h.events().as_slice() {
            [Event::Disconnected(DisconnectReason::Refused(c))] => {
                assert_eq!(c.reason_code, code)
            }
            other => panic!("{other:?}"),
        }
        assert!(h.sent().is_empty());
        assert_eq!(h.session.state(), ConnectionState::Disconnected);
        assert_eq!(h.session.poll_timeout(), None);
    }
}

/// MQTT 5.0 reason codes from 0x80 end the connection as refused, with the whole CONNACK.
fn refused_v5(mode: Mode) {
    for code in [
        ReasonCode::UNSPECIFIED_ERROR,
        ReasonCode::BAD_USER_NAME_OR_PASSWORD,
        ReasonCode::NOT_AUTHORIZED,
        ReasonCode::BANNED,
        ReasonCode::QUOTA_EXCEEDED,
        ReasonCode::USE_ANOTHER_SERVER,
    ] {
        let mut h = Harness::new(mode);
        h.open();
        h.skip();
        let connack = ConnAck {
            reason_code: code,
            properties: ConnAckProperties {
                server_reference: Some("other.example".into()),
                reason_string: Some("go away".into()),
                ..Default::default()
            },
            ..ConnAck::default()
        };
        h.inject(connack.clone());
        match h.events().as_slice() {
            [Event::Disconnected(DisconnectReason::Refused(c))] => assert_eq!(c, &connack),
            other => panic!("{other:?}"),
        }
        assert!(h.sent().is_empty(), "no DISCONNECT after a refusal");
        assert_eq!(h.session.state(), ConnectionState::Disconnected);
    }
}

/// No CONNACK within the connect timeout: the connection is given up, once.
fn connect_timeout(mode: Mode) {
    let mut config = mode.config();
    config.connect_timeout = Duration::from_secs(5);
    let mut h = Harness::with_config(mode, config);
    h.open();
    h.skip();
    assert_eq!(h.drive(), Duration::from_secs(5));
    assert!(matches!(
        h.events().as_slice(),
        [Event::Disconnected(DisconnectReason::ConnectTimeout)]
    ));
    assert!(h.sent().is_empty());
    assert_eq!(h.session.poll_timeout(), None);
    // A CONNACK arriving late is ignored: the connection is over.
    h.inject(ConnAck::default());
    assert!(h.events().is_empty());
    // And a new transport starts over.
    h.open();
    assert!(matches!(h.sent().as_slice(), [Packet::Connect(_)]));
}

/// A CONNACK in time stops the connect timer.
fn connack_stops_connect_timer(mode: Mode) {
    let mut h = Harness::new(mode);
    h.open();
    h.advance(Duration::from_secs(29));
    h.inject(ConnAck::default());
    h.skip();
    h.advance(Duration::from_secs(31));
    assert!(h.session.is_connected());
    assert!(h.events().is_empty());
}

/// Reconnecting asks to resume the session (Clean Start 0), unless
/// `clean_start_on_reconnect`.
fn reconnect_clean_start(mode: Mode) {
    for on_reconnect in [false, true] {
        let mut config = mode.config();
        config.clean_start_on_reconnect = on_reconnect;
        let mut h = Harness::with_config(mode, config);
        assert!(h.connect().clean_start);
        h.close();
        h.open();
        let Packet::Connect(c) = &h.sent()[0] else {
            panic!()
        };
        assert_eq!(c.clean_start, on_reconnect);
    }
}

/// A refused first connection does not make the session resumable.
fn refused_first_connection_stays_clean(mode: Mode) {
    let mut h = Harness::new(mode);
    h.open();
    h.inject(ConnAck {
        reason_code: ReasonCode::SERVER_UNAVAILABLE,
        ..ConnAck::default()
    });
    h.skip();
    h.open();
    let Packet::Connect(c) = &h.sent()[0] else {
        panic!()
    };
    assert!(c.clean_start);
}

/// The server's Maximum QoS and Retain Available are honoured by `publish`
/// (MQTT-3.2.2-11, MQTT-3.2.2-14); MQTT 3.1.1 allows everything.
fn maximum_qos_and_retain(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect_with(connack_v5(ConnAckProperties {
        maximum_qos: Some(QoS::AtLeastOnce),
        retain_available: Some(false),
        ..Default::default()
    }));
    assert_eq!(
        h.cmd(|s, now| s.publish(now, msg("t", "x", 2))),
        Err(UsageError::QoSNotSupported(QoS::ExactlyOnce))
    );
    let retained = {
        let mut publish = msg("t", "x", 0);
        publish.retain = true;
        publish
    };
    assert_eq!(
        h.cmd(|s, now| s.publish(now, retained)),
        Err(UsageError::RetainNotSupported)
    );
    assert!(h.sent().is_empty());
    h.cmd(|s, now| s.publish(now, msg("t", "x", 1))).unwrap();
    assert_eq!(h.sent(), [on_wire(msg("t", "x", 1), Some(1), false)]);
}

/// Every MQTT 5.0 CONNECT property and the Will properties, Will Delay Interval included,
/// go out as configured.
fn every_connect_property(mode: Mode) {
    let mut config = mode.config();
    config.connect_properties = ConnectProperties {
        session_expiry_interval: Some(3600),
        receive_maximum: NonZeroU16::new(20),
        maximum_packet_size: NonZeroU32::new(64 * 1024),
        topic_alias_maximum: Some(8),
        request_response_information: Some(true),
        request_problem_information: Some(false),
        user_properties: vec![UserProperty::new("a", "1"), UserProperty::new("a", "2")],
        authentication_method: None,
        authentication_data: None,
    };
    let mut will = Will::new(topic("w"), "bye");
    will.qos = QoS::AtLeastOnce;
    will.properties = WillProperties {
        will_delay_interval: Some(30),
        payload_format_indicator: Some(true),
        message_expiry_interval: Some(60),
        content_type: Some("text/plain".into()),
        response_topic: Some(topic("w/response")),
        correlation_data: Some(Bytes::from_static(b"cd")),
        user_properties: vec![UserProperty::new("k", "v")],
    };
    config.will = Some(will);
    let mut h = Harness::with_config(mode, config.clone());
    h.open();
    let Packet::Connect(c) = &h.sent()[0] else {
        panic!()
    };
    assert_eq!(c.properties, config.connect_properties);
    assert_eq!(c.will, config.will);
}

/// MQTT 5.0: a server-assigned client id is used when reconnecting.
fn assigned_client_id_reused(mode: Mode) {
    let mut h = Harness::with_config(mode, Config::new("", mode.version));
    let c = h.connect_with(connack_v5(ConnAckProperties {
        assigned_client_identifier: Some("server-made-7".into()),
        ..Default::default()
    }));
    assert_eq!(c.client_id, "");
    assert_eq!(
        h.session.server().assigned_client_identifier.as_deref(),
        Some("server-made-7")
    );
    h.close();
    h.open();
    let Packet::Connect(c) = &h.sent()[0] else {
        panic!()
    };
    assert_eq!(c.client_id, "server-made-7");
    assert!(!c.clean_start);
    // A CONNACK without the property keeps the id for later reconnections too.
    h.inject(connack_present());
    h.close();
    h.open();
    let Packet::Connect(c) = &h.sent()[0] else {
        panic!()
    };
    assert_eq!(c.client_id, "server-made-7");
}

/// MQTT 5.0: the server's limits are recorded.
fn server_limits_recorded(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect_with(connack_v5(ConnAckProperties {
        receive_maximum: NonZeroU16::new(3),
        maximum_qos: Some(QoS::AtLeastOnce),
        retain_available: Some(false),
        maximum_packet_size: NonZeroU32::new(200),
        topic_alias_maximum: Some(4),
        server_keep_alive: Some(5),
        wildcard_subscription_available: Some(false),
        subscription_identifiers_available: Some(false),
        shared_subscription_available: Some(false),
        ..Default::default()
    }));
    let s = h.session.server();
    assert_eq!(s.receive_maximum, 3);
    assert_eq!(s.maximum_qos, QoS::AtLeastOnce);
    assert!(!s.retain_available);
    assert_eq!(s.maximum_packet_size, NonZeroU32::new(200));
    assert_eq!(s.topic_alias_maximum, 4);
    assert_eq!(s.keep_alive, Duration::from_secs(5));
    assert!(!s.wildcard_subscription_available);
    assert!(!s.subscription_identifiers_available);
    assert!(!s.shared_subscription_available);
}

scenarios! {
    all: default_connect, already_connected, credentials_and_keep_alive, keep_alive_saturates,
        will, connect_timeout, connack_stops_connect_timer, reconnect_clean_start,
        refused_first_connection_stays_clean;
    v311_v5: empty_client_id, session_present, session_present_after_clean_start;
    v5: refused_v5, maximum_qos_and_retain, every_connect_property, assigned_client_id_reused,
        server_limits_recorded;
    v311: refused_v311;
}

/// MQTT 3.1.1 can't carry a password without a user name (MQTT-3.1.2-22): opening the transport
/// reports the encode error and sends nothing.
#[test]
fn v311_password_without_username() {
    let mut config = V311_WHOLE.config();
    config.password = Some(Bytes::from_static(b"pw"));
    let mut h = Harness::with_config(V311_WHOLE, config);
    let result = h.cmd(|s, now| s.handle_transport_opened(now));
    assert!(matches!(result, Err(UsageError::Encode(_))), "{result:?}");
    assert!(h.sent().is_empty());
    assert_eq!(h.session.state(), ConnectionState::Disconnected);
}

/// MQTT 5.0 allows a password without a user name.
#[test]
fn v5_password_without_username() {
    let mut config = V5_WHOLE.config();
    config.password = Some(Bytes::from_static(b"pw"));
    let mut h = Harness::with_config(V5_WHOLE, config);
    h.open();
    let Packet::Connect(c) = &h.sent()[0] else {
        panic!()
    };
    assert_eq!(c.username, None);
    assert_eq!(c.password.as_deref(), Some(&b"pw"[..]));
}
