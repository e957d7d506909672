//! MQTT 5.0 only: Topic Aliases both ways, Maximum Packet Size both ways, Receive Maximum,
//! request/response properties, enhanced authentication and DISCONNECT both ways.

mod harness;

use harness::*;

fn alias(n: u16) -> Option<NonZeroU16> {
    NonZeroU16::new(n)
}

/// `publish` as sent with a Topic Alias, the topic name left out when `known`.
fn aliased(mut publish: Publish, id: Option<u16>, n: u16, known: bool) -> Packet {
    publish.properties_mut().topic_alias = alias(n);
    if known {
        publish.topic = TopicName::default();
    }
    on_wire(publish, id, false)
}

/// A session that accepts `max` inbound Topic Aliases.
fn inbound_aliases(mode: Mode, max: u16) -> Harness {
    let mut config = mode.config();
    config.connect_properties.topic_alias_maximum = Some(max);
    let mut h = Harness::with_config(mode, config);
    h.connect();
    h
}

fn with_alias(mut p: Publish, n: u16) -> Publish {
    p.properties_mut().topic_alias = alias(n);
    p
}

/// The protocol error the session closed with, after checking the DISCONNECT it sent.
fn closed_with(h: &mut Harness, code: ReasonCode) -> ProtocolError {
    assert_eq!(h.sent(), [Packet::from(Disconnect::new(code))]);
    assert_eq!(h.session.state(), ConnectionState::Disconnected);
    match h.events().as_slice() {
        [
            ..,
            Event::Disconnected(DisconnectReason::ProtocolError { reason_code, error }),
        ] => {
            assert_eq!(*reason_code, code);
            error.clone()
        }
        other => panic!("{other:?}"),
    }
}

/// Outbound aliases: the first use of a topic sends the name and an alias, later uses the
/// alias alone; never above the server's Topic Alias Maximum; forgotten on reconnect, and
/// a PUBLISH sent again after reconnecting carries its full topic.
fn outbound_topic_aliases(mode: Mode) {
    let mut config = mode.config();
    config.outbound_topic_aliases = true;
    config.clean_start = false;
    let mut h = Harness::with_config(mode, config);
    let limits = ConnAck {
        session_present: true,
        ..connack_v5(ConnAckProperties {
            topic_alias_maximum: Some(2),
            ..Default::default()
        })
    };
    h.connect_with(limits.clone());
    for (t, q) in [("a", 0), ("a", 1), ("b", 0), ("c", 0), ("c", 0), ("b", 0)] {
        h.cmd(|s, now| s.publish(now, msg(t, "x", q))).unwrap();
    }
    assert_eq!(
        h.sent(),
        [
            aliased(msg("a", "x", 0), None, 1, false),
            aliased(msg("a", "x", 1), Some(1), 1, true),
            aliased(msg("b", "x", 0), None, 2, false),
            on_wire(msg("c", "x", 0), None, false),
            on_wire(msg("c", "x", 0), None, false),
            aliased(msg("b", "x", 0), None, 2, true),
        ]
    );
    h.close();
    h.open();
    h.inject(limits);
    h.cmd(|s, now| s.publish(now, msg("b", "y", 0))).unwrap();
    assert_eq!(
        h.sent()[1..],
        [
            on_wire(msg("a", "x", 1), Some(1), true),
            aliased(msg("b", "y", 0), None, 1, false),
        ]
    );
}

/// No outbound aliases when the server allows none, or when not configured.
fn outbound_aliases_off(mode: Mode) {
    for (configured, server) in [(true, None), (false, Some(10))] {
        let mut config = mode.config();
        config.outbound_topic_aliases = configured;
        let mut h = Harness::with_config(mode, config);
        h.connect_with(connack_v5(ConnAckProperties {
            topic_alias_maximum: server,
            ..Default::default()
        }));
        h.cmd(|s, now| s.publish(now, msg("a", "x", 0))).unwrap();
        h.cmd(|s, now| s.publish(now, msg("a", "x", 0))).unwrap();
        assert_eq!(
            h.sent(),
            [
                on_wire(msg("a", "x", 0), None, false),
                on_wire(msg("a", "x", 0), None, false)
            ]
        );
    }
}

/// Inbound aliases: a topic with an alias sets it, an empty topic uses it, a new topic
/// replaces it.
fn inbound_topic_aliases(mode: Mode) {
    let mut h = inbound_aliases(mode, 3);
    h.inject(with_alias(incoming("x/y", "1", 0, 0), 3));
    h.inject(with_alias(incoming("", "2", 1, 1), 3));
    h.inject(with_alias(incoming("z", "3", 0, 0), 3));
    h.inject(with_alias(incoming("", "4", 0, 0), 3));
    let topics: Vec<(String, String)> = h
        .events()
        .iter()
        .map(|e| match e {
            Event::Message(m) => (
                m.publish.topic.as_str().to_owned(),
                String::from_utf8(m.publish.payload.to_vec()).unwrap(),
            ),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        topics,
        [("x/y", "1"), ("x/y", "2"), ("z", "3"), ("z", "4")]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert_eq!(h.sent(), [Packet::from(puback(1))]);
}

/// An alias that was never given a topic: DISCONNECT 0x82 Protocol Error
/// (MQTT 5.0 §3.3.2.3.4). Aliases don't survive a reconnection.
fn inbound_unknown_alias(mode: Mode) {
    let mut h = inbound_aliases(mode, 3);
    h.inject(with_alias(incoming("", "1", 0, 0), 2));
    assert_eq!(
        closed_with(&mut h, ReasonCode::PROTOCOL_ERROR),
        ProtocolError::UnknownTopicAlias(2)
    );

    let mut h = inbound_aliases(mode, 3);
    h.inject(with_alias(incoming("t", "1", 0, 0), 1));
    h.close();
    h.open();
    h.inject(ConnAck::default());
    h.skip();
    h.inject(with_alias(incoming("", "2", 0, 0), 1));
    assert_eq!(
        closed_with(&mut h, ReasonCode::PROTOCOL_ERROR),
        ProtocolError::UnknownTopicAlias(1)
    );
}

/// An alias above the client's Topic Alias Maximum (0 when not set): DISCONNECT 0x94 Topic
/// Alias invalid (MQTT-3.3.2-9 for the server's side).
fn inbound_alias_above_maximum(mode: Mode) {
    let mut h = inbound_aliases(mode, 3);
    h.inject(with_alias(incoming("t", "1", 0, 0), 4));
    assert_eq!(
        closed_with(&mut h, ReasonCode::TOPIC_ALIAS_INVALID),
        ProtocolError::TopicAliasInvalid(4)
    );

    let mut h = Harness::new(mode);
    h.connect();
    h.inject(with_alias(incoming("t", "1", 0, 0), 1));
    assert_eq!(
        closed_with(&mut h, ReasonCode::TOPIC_ALIAS_INVALID),
        ProtocolError::TopicAliasInvalid(1)
    );
}

/// The server's Maximum Packet Size: a larger PUBLISH or SUBSCRIBE is refused at once;
/// a queued one that turns out too large fails when its turn comes.
fn server_maximum_packet_size(mode: Mode) {
    let mut h = Harness::new(mode);
    h.cmd(|s, now| {
        s.publish(
            now,
            msg("t", "a payload that will not fit in forty bytes", 1),
        )
    })
    .unwrap();
    h.open();
    h.inject(connack_v5(ConnAckProperties {
        maximum_packet_size: NonZeroU32::new(40),
        ..Default::default()
    }));
    match h.events().as_slice() {
        [Event::Connected(_), Event::PublishFailed(f)] => {
            assert_eq!(f.reason, FailReason::PacketTooLarge)
        }
        other => panic!("{other:?}"),
    }
    let big = msg("t", "0123456789012345678901234567890123456789", 0);
    let r = h.cmd(|s, now| s.publish(now, big));
    assert!(
        matches!(r, Err(UsageError::PacketTooLarge { max: 40, size }) if size > 40),
        "{r:?}"
    );
    let long = "f".repeat(40);
    let r = h.cmd(|s, now| s.subscribe(now, subscriptions(&[&long], 0), Default::default()));
    assert!(matches!(r, Err(UsageError::PacketTooLarge { .. })), "{r:?}");
    // Exactly at the limit is fine: 2 + 3 (topic) + 1 (properties) + payload.
    let fits = msg("t", "0123456789012345678901234567890123", 0);
    assert_eq!(Packet::from(fits.clone()).encoded_len(mode.version), 40);
    h.cmd(|s, now| s.publish(now, fits)).unwrap();
    assert_eq!(h.sent()[1..].len(), 1);
}

/// A packet larger than the client's Maximum Packet Size: DISCONNECT 0x95, decided from the
/// fixed header, before the rest arrives.
fn inbound_packet_too_large(mode: Mode) {
    let mut config = mode.config();
    config.connect_properties.maximum_packet_size = NonZeroU32::new(64);
    let mut h = Harness::with_config(mode, config);
    h.connect();
    h.inject(incoming("t", "fits", 0, 0));
    h.skip();
    h.inject(incoming("t", &*"x".repeat(100).leak(), 0, 0));
    let error = closed_with(&mut h, ReasonCode::PACKET_TOO_LARGE);
    assert!(
        matches!(
            error,
            ProtocolError::Decode(DecodeError::PacketTooLarge { max: 64, .. })
        ),
        "{error:?}"
    );
}

/// More unacknowledged inbound QoS 1 and 2 publishes than the client's Receive Maximum:
/// DISCONNECT 0x93 (MQTT 5.0 §3.3.4). A QoS 2 message counts until PUBCOMP.
fn receive_maximum_exceeded(mode: Mode) {
    let mut config = mode.config();
    config.connect_properties.receive_maximum = NonZeroU16::new(2);
    let mut h = Harness::with_config(mode, config);
    h.connect();
    h.inject(incoming("t", "1", 2, 1));
    h.inject(incoming("t", "q1", 1, 3)); // acknowledged at once: not outstanding after
    h.inject(incoming("t", "2", 2, 2));
    h.inject(pubrel(1));
    h.inject(incoming("t", "3", 2, 4));
    h.skip();
    h.inject(incoming("t", "4", 2, 5));
    assert_eq!(
        closed_with(&mut h, ReasonCode::RECEIVE_MAXIMUM_EXCEEDED),
        ProtocolError::ReceiveMaximumExceeded
    );
}

/// Manual acks: QoS 1 messages the application has not acknowledged count too.
fn receive_maximum_manual(mode: Mode) {
    let mut config = mode.config();
    config.connect_properties.receive_maximum = NonZeroU16::new(1);
    config.ack_mode = AckMode::Manual;
    let mut h = Harness::with_config(mode, config);
    h.connect();
    h.inject(incoming("t", "1", 1, 1));
    let token = h.take_ack(1);
    h.cmd(|s, now| s.ack(now, token, ReasonCode::SUCCESS))
        .unwrap();
    h.inject(incoming("t", "2", 1, 2));
    assert!(h.session.is_connected());
    h.skip();
    h.inject(incoming("t", "3", 1, 3));
    assert_eq!(
        closed_with(&mut h, ReasonCode::RECEIVE_MAXIMUM_EXCEEDED),
        ProtocolError::ReceiveMaximumExceeded
    );
}

/// Request/response and other PUBLISH properties pass through both ways unchanged.
fn request_response_properties(mode: Mode) {
    let mut config = mode.config();
    config.connect_properties.request_response_information = Some(true);
    let mut h = Harness::with_config(mode, config);
    let c = h.connect_with(connack_v5(ConnAckProperties {
        response_information: Some("replies/".into()),
        ..Default::default()
    }));
    assert_eq!(c.properties.request_response_information, Some(true));
    assert_eq!(h.session.server().keep_alive, Duration::from_secs(60));
    let mut request = msg("service/add", "1+2", 1);
    request.set_properties(PublishProperties {
        payload_format_indicator: Some(true),
        message_expiry_interval: Some(30),
        response_topic: Some(topic("replies/client")),
        correlation_data: Some(Bytes::from_static(b"req-1")),
        user_properties: vec![UserProperty::new("trace", "abc")],
        content_type: Some("text/plain".into()),
        ..Default::default()
    });
    h.cmd(|s, now| s.publish(now, request.clone())).unwrap();
    assert_eq!(h.sent(), [on_wire(request.clone(), Some(1), false)]);
    let mut response = incoming("replies/client", "3", 0, 0);
    response.properties_mut().correlation_data = Some(Bytes::from_static(b"req-1"));
    response.properties_mut().subscription_identifiers = vec![NonZeroU32::new(9).unwrap()];
    h.inject(response.clone());
    assert_eq!(
        h.events(),
        [&Event::Message(Message {
            publish: response,
            ack: None
        })]
    );
}

/// Enhanced authentication (MQTT 5.0 §4.12): AUTH 0x18 exchanges before CONNACK through
/// Event::Auth and Session::auth, then re-authentication with 0x19.
fn enhanced_authentication(mode: Mode) {
    let method: ByteString = "SCRAM-SHA-1".into();
    let auth = |code: ReasonCode, data: &'static [u8]| Auth {
        reason_code: code,
        properties: AuthProperties {
            authentication_method: Some("SCRAM-SHA-1".into()),
            authentication_data: Some(Bytes::from_static(data)),
            ..Default::default()
        },
    };
    let mut config = mode.config();
    config.connect_properties.authentication_method = Some(method.clone());
    config.connect_properties.authentication_data = Some(Bytes::from_static(b"client-first"));
    let mut h = Harness::with_config(mode, config);
    h.open();
    let Packet::Connect(c) = &h.sent()[0] else {
        panic!()
    };
    assert_eq!(c.properties.authentication_method.as_ref(), Some(&method));
    assert_eq!(
        c.properties.authentication_data.as_deref(),
        Some(&b"client-first"[..])
    );

    h.inject(auth(ReasonCode::CONTINUE_AUTHENTICATION, b"server-first"));
    assert_eq!(
        h.events(),
        [&Event::Auth(auth(
            ReasonCode::CONTINUE_AUTHENTICATION,
            b"server-first"
        ))]
    );
    assert_eq!(h.session.state(), ConnectionState::Connecting);
    h.cmd(|s, now| {
        s.auth(
            now,
            auth(ReasonCode::CONTINUE_AUTHENTICATION, b"client-final"),
        )
    })
    .unwrap();
    assert_eq!(
        h.sent(),
        [Packet::from(auth(
            ReasonCode::CONTINUE_AUTHENTICATION,
            b"client-final"
        ))]
    );
    h.inject(ConnAck {
        properties: ConnAckProperties {
            authentication_method: Some(method.clone()),
            authentication_data: Some(Bytes::from_static(b"server-final")),
            ..Default::default()
        },
        ..ConnAck::default()
    });
    assert!(matches!(h.events().as_slice(), [Event::Connected(_)]));

    // Re-authentication: the client starts with 0x19, the exchange goes on with 0x18 and
    // the server ends it with Success; the connection carries on throughout.
    h.cmd(|s, now| s.auth(now, auth(ReasonCode::REAUTHENTICATE, b"again")))
        .unwrap();
    assert_eq!(
        h.sent(),
        [Packet::from(auth(ReasonCode::REAUTHENTICATE, b"again"))]
    );
    h.inject(auth(ReasonCode::CONTINUE_AUTHENTICATION, b"challenge"));
    h.cmd(|s, now| s.auth(now, auth(ReasonCode::CONTINUE_AUTHENTICATION, b"answer")))
        .unwrap();
    h.inject(auth(ReasonCode::SUCCESS, b"done"));
    assert_eq!(
        h.events(),
        [
            &Event::Auth(auth(ReasonCode::CONTINUE_AUTHENTICATION, b"challenge")),
            &Event::Auth(auth(ReasonCode::SUCCESS, b"done")),
        ]
    );
    assert_eq!(
        h.sent(),
        [Packet::from(auth(
            ReasonCode::CONTINUE_AUTHENTICATION,
            b"answer"
        ))]
    );
    assert!(h.session.is_connected());
}

/// AUTH needs an Authentication Method in CONNECT: the client refuses to send one without
/// it, and a server that sends one anyway breaks the protocol (MQTT 5.0 §4.12: without a
/// method in CONNECT the server must not send AUTH).
fn auth_without_method(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    assert_eq!(
        h.cmd(|s, now| s.auth(now, Auth::default())),
        Err(UsageError::NoAuthenticationMethod)
    );
    h.inject(Auth {
        reason_code: ReasonCode::REAUTHENTICATE,
        ..Auth::default()
    });
    assert_eq!(
        closed_with(&mut h, ReasonCode::PROTOCOL_ERROR),
        ProtocolError::UnexpectedPacket(PacketType::Auth)
    );
}

/// A server DISCONNECT ends the connection with its reason code and server reference; the
/// client sends nothing back and closes (MQTT 5.0 §3.14.4).
fn server_disconnect(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    let disconnect = Disconnect {
        reason_code: ReasonCode::SERVER_MOVED,
        properties: DisconnectProperties {
            server_reference: Some("other:1883".into()),
            reason_string: Some("moving".into()),
            ..Default::default()
        },
    };
    h.inject(disconnect.clone());
    assert_eq!(
        h.events(),
        [&Event::Disconnected(DisconnectReason::ByServer(disconnect))]
    );
    assert!(h.sent().is_empty());
    assert_eq!(h.session.poll_timeout(), None);
}

/// A server DISCONNECT instead of CONNACK.
fn server_disconnect_while_connecting(mode: Mode) {
    let mut h = Harness::new(mode);
    h.open();
    h.skip();
    h.inject(Disconnect::new(ReasonCode::SERVER_BUSY));
    assert_eq!(
        h.events(),
        [&Event::Disconnected(DisconnectReason::ByServer(
            Disconnect::new(ReasonCode::SERVER_BUSY)
        ))]
    );
}

/// The client's DISCONNECT with a reason code and a new Session Expiry Interval.
fn client_disconnect(mode: Mode) {
    let mut config = mode.config();
    config.connect_properties.session_expiry_interval = Some(3600);
    let mut h = Harness::with_config(mode, config);
    h.connect();
    let disconnect = Disconnect {
        reason_code: ReasonCode::DISCONNECT_WITH_WILL,
        properties: DisconnectProperties {
            session_expiry_interval: Some(0),
            ..Default::default()
        },
    };
    h.cmd(|s, now| s.disconnect(now, disconnect.clone()))
        .unwrap();
    assert_eq!(h.sent(), [Packet::from(disconnect)]);
    assert_eq!(
        h.events(),
        [&Event::Disconnected(DisconnectReason::Requested)]
    );
    assert_eq!(h.session.poll_timeout(), None);
    assert_eq!(
        h.cmd(|s, now| s.disconnect(now, Disconnect::default())),
        Err(UsageError::NotConnected)
    );
}

/// A non-zero Session Expiry Interval at DISCONNECT after zero (or none) at CONNECT is a
/// usage error and nothing is sent (MQTT-3.14.2-2).
fn client_disconnect_session_expiry_rule(mode: Mode) {
    for connect_expiry in [None, Some(0)] {
        let mut config = mode.config();
        config.connect_properties.session_expiry_interval = connect_expiry;
        let mut h = Harness::with_config(mode, config);
        h.connect();
        let disconnect = Disconnect {
            properties: DisconnectProperties {
                session_expiry_interval: Some(60),
                ..Default::default()
            },
            ..Disconnect::default()
        };
        assert_eq!(
            h.cmd(|s, now| s.disconnect(now, disconnect)),
            Err(UsageError::InvalidSessionExpiry)
        );
        assert!(h.sent().is_empty());
        assert!(h.session.is_connected());
    }
}

/// MQTT 3.1.1: DISCONNECT has no reason code: one is refused, the plain one is sent.
fn v311_client_disconnect(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    let with_code = Disconnect::new(ReasonCode::DISCONNECT_WITH_WILL);
    let r = h.cmd(|s, now| s.disconnect(now, with_code));
    assert!(matches!(r, Err(UsageError::Encode(_))), "{r:?}");
    assert!(h.session.is_connected());
    h.cmd(|s, now| s.disconnect(now, Disconnect::default()))
        .unwrap();
    assert_eq!(h.sent(), [Packet::from(Disconnect::default())]);
    assert_eq!(
        h.events(),
        [&Event::Disconnected(DisconnectReason::Requested)]
    );
}

scenarios! {
    v5: outbound_topic_aliases, outbound_aliases_off, inbound_topic_aliases, inbound_unknown_alias,
        inbound_alias_above_maximum, server_maximum_packet_size, inbound_packet_too_large,
        receive_maximum_exceeded, receive_maximum_manual, request_response_properties,
        enhanced_authentication, auth_without_method, server_disconnect,
        server_disconnect_while_connecting, client_disconnect,
        client_disconnect_session_expiry_rule;
    v311: v311_client_disconnect;
}
