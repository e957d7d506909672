//! SUBSCRIBE and UNSUBSCRIBE: results per filter, the remembered subscriptions, MQTT 5.0
//! options and identifiers, and malformed answers.

mod harness;

use harness::*;

fn granted(h: &Harness) -> Vec<(String, QoS)> {
    h.session
        .subscriptions()
        .iter()
        .map(|(f, s)| (f.as_str().to_owned(), s.options.qos))
        .collect()
}

/// One result per filter; granted QoS (possibly lower than asked) is remembered, failures
/// are not.
fn suback_per_filter(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    let subs = vec![
        Subscription::new(filter("a"), QoS::AtMostOnce),
        Subscription::new(filter("b/+"), QoS::ExactlyOnce),
        Subscription::new(filter("c/#"), QoS::AtLeastOnce),
    ];
    let id = h
        .cmd(|s, now| s.subscribe(now, subs.clone(), Default::default()))
        .unwrap();
    assert_eq!(h.sent(), [Packet::from(Subscribe::new(pid(1), subs))]);
    assert!(
        h.session.subscriptions().is_empty(),
        "nothing before SUBACK"
    );
    h.inject(suback(1, &[0x00, 0x01, 0x80]));
    let expected = Event::Subscribed(Subscribed {
        id,
        packet_id: pid(1),
        reason_codes: vec![ReasonCode(0), ReasonCode(1), ReasonCode(0x80)],
        properties: AckProperties::default(),
    });
    assert_eq!(h.events(), [&expected]);
    assert_eq!(
        granted(&h),
        [
            ("a".to_owned(), QoS::AtMostOnce),
            ("b/+".to_owned(), QoS::AtLeastOnce)
        ]
    );
}

/// Subscribing again to a filter replaces what is remembered for it.
fn resubscribe_same_filter(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.cmd(|s, now| s.subscribe(now, subscriptions(&["a"], 2), Default::default()))
        .unwrap();
    h.inject(suback(1, &[2]));
    h.cmd(|s, now| s.subscribe(now, subscriptions(&["a"], 0), Default::default()))
        .unwrap();
    h.inject(suback(2, &[0]));
    assert_eq!(granted(&h), [("a".to_owned(), QoS::AtMostOnce)]);
}

/// UNSUBACK: MQTT 3.1.1 has no per-filter result, so every filter is forgotten; MQTT 5.0
/// forgets those with a success code (No subscription existed included).
fn unsubscribe(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.cmd(|s, now| s.subscribe(now, subscriptions(&["a", "b", "c"], 1), Default::default()))
        .unwrap();
    h.inject(suback(1, &[1, 1, 1]));
    let filters = vec![filter("a"), filter("b"), filter("c")];
    let id = h
        .cmd(|s, now| s.unsubscribe(now, filters.clone(), Default::default()))
        .unwrap();
    h.skip();
    let codes: &[u8] = if mode.v5() { &[0x00, 0x11, 0x87] } else { &[] };
    h.inject(unsuback(2, codes));
    match h.events().as_slice() {
        [Event::Unsubscribed(u)] => {
            assert_eq!(u.id, id);
            assert_eq!(u.reason_codes.len(), codes.len());
        }
        other => panic!("{other:?}"),
    }
    let left: Vec<String> = granted(&h).into_iter().map(|(f, _)| f).collect();
    if mode.v5() {
        assert_eq!(left, ["c"]);
    } else {
        assert!(left.is_empty());
    }
}

/// A SUBACK with more or fewer results than filters is a protocol error.
fn suback_wrong_count(mode: Mode) {
    for codes in [&[0u8, 0][..], &[][..]] {
        let mut h = Harness::new(mode);
        h.connect();
        h.cmd(|s, now| s.subscribe(now, subscriptions(&["a"], 0), Default::default()))
            .unwrap();
        h.skip();
        if codes.is_empty() {
            // An empty SUBACK can't be encoded by the codec: write it by hand.
            let bytes: &[u8] = if mode.v5() {
                &[0x90, 3, 0, 1, 0]
            } else {
                &[0x90, 2, 0, 1]
            };
            h.inject_bytes(bytes);
        } else {
            h.inject(suback(1, codes));
        }
        match h.events().as_slice() {
            [Event::Disconnected(DisconnectReason::ProtocolError { reason_code, .. })] => {
                assert!(reason_code.is_error())
            }
            other => panic!("{other:?}"),
        }
        assert!(h.session.subscriptions().is_empty());
    }
}

/// A SUBACK whose identifier belongs to a publish is a protocol error; one for no exchange
/// at all is ignored.
fn suback_for_other_exchange(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.inject(suback(42, &[0]));
    assert!(h.events().is_empty());
    assert!(h.session.is_connected());
    h.cmd(|s, now| s.publish(now, msg("t", "x", 1))).unwrap();
    h.skip();
    h.inject(suback(1, &[0]));
    assert!(matches!(
        h.events().as_slice(),
        [Event::Disconnected(DisconnectReason::ProtocolError { .. })]
    ));
}

/// An empty list of filters is refused at once.
fn empty_lists_refused(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    let r = h.cmd(|s, now| s.subscribe(now, vec![], Default::default()));
    assert!(matches!(r, Err(UsageError::Encode(_))), "{r:?}");
    let r = h.cmd(|s, now| s.unsubscribe(now, vec![], Default::default()));
    assert!(matches!(r, Err(UsageError::Encode(_))), "{r:?}");
    assert!(h.sent().is_empty());
    // No identifier was used up.
    h.cmd(|s, now| s.subscribe(now, subscriptions(&["a"], 0), Default::default()))
        .unwrap();
    assert!(matches!(&h.sent()[..], [Packet::Subscribe(s)] if s.packet_id == pid(1)));
}

/// MQTT 3.1.1 can't carry MQTT 5.0 subscription options or identifiers.
fn v311_refuses_v5_options(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    let mut sub = Subscription::new(filter("a"), QoS::AtLeastOnce);
    sub.options.no_local = true;
    let r = h.cmd(|s, now| s.subscribe(now, vec![sub], Default::default()));
    assert!(matches!(r, Err(UsageError::Encode(_))), "{r:?}");
    let properties = SubscribeProperties {
        subscription_identifier: NonZeroU32::new(1),
        ..Default::default()
    };
    let r = h.cmd(|s, now| s.subscribe(now, subscriptions(&["a"], 0), properties));
    assert!(matches!(r, Err(UsageError::Encode(_))), "{r:?}");
    assert!(h.sent().is_empty());
}

/// MQTT 5.0: subscription options and the Subscription Identifier go out as given and are
/// remembered with the granted QoS.
fn v5_options_and_identifier(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    let options = SubscriptionOptions {
        qos: QoS::ExactlyOnce,
        no_local: true,
        retain_as_published: true,
        retain_handling: RetainHandling::DoNotSend,
    };
    let subs = vec![Subscription {
        filter: filter("a/#"),
        options,
    }];
    let properties = SubscribeProperties {
        subscription_identifier: NonZeroU32::new(77),
        user_properties: vec![UserProperty::new("k", "v")],
    };
    h.cmd(|s, now| s.subscribe(now, subs.clone(), properties.clone()))
        .unwrap();
    let expected = Subscribe {
        packet_id: pid(1),
        subscriptions: subs,
        properties,
    };
    assert_eq!(h.sent(), [Packet::from(expected)]);
    h.inject(SubAck {
        properties: AckProperties {
            reason_string: Some("ok".into()),
            ..Default::default()
        },
        ..suback(1, &[1])
    });
    let active = &h.session.subscriptions()[&filter("a/#")];
    assert_eq!(
        active.options,
        SubscriptionOptions {
            qos: QoS::AtLeastOnce,
            ..options
        }
    );
    assert_eq!(active.identifier, NonZeroU32::new(77));
    match h.events().as_slice() {
        [Event::Subscribed(s)] => {
            assert_eq!(s.properties.reason_string.as_deref(), Some("ok"))
        }
        other => panic!("{other:?}"),
    }
}

/// MQTT 5.0: an UNSUBACK with the wrong number of reason codes is a protocol error, sent
/// as DISCONNECT 0x82.
fn v5_unsuback_wrong_count(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.cmd(|s, now| s.unsubscribe(now, vec![filter("a"), filter("b")], Default::default()))
        .unwrap();
    h.skip();
    h.inject(unsuback(1, &[0]));
    assert_eq!(
        h.sent(),
        [Packet::from(Disconnect::new(ReasonCode::PROTOCOL_ERROR))]
    );
    assert!(matches!(
        h.events().as_slice(),
        [Event::Disconnected(DisconnectReason::ProtocolError {
            error: ProtocolError::WrongReasonCodeCount(PacketType::UnsubAck),
            ..
        })]
    ));
}

/// MQTT 5.0: what the server says it does not support is refused before sending.
fn v5_server_capabilities(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect_with(connack_v5(ConnAckProperties {
        wildcard_subscription_available: Some(false),
        shared_subscription_available: Some(false),
        subscription_identifiers_available: Some(false),
        ..Default::default()
    }));
    assert_eq!(
        h.cmd(|s, now| s.subscribe(now, one("a/+"), Default::default())),
        Err(UsageError::WildcardSubscriptionsNotSupported)
    );
    assert_eq!(
        h.cmd(|s, now| s.subscribe(now, one("$share/g/a"), Default::default())),
        Err(UsageError::SharedSubscriptionsNotSupported)
    );
    let properties = SubscribeProperties {
        subscription_identifier: NonZeroU32::new(1),
        ..Default::default()
    };
    assert_eq!(
        h.cmd(|s, now| s.subscribe(now, one("a"), properties)),
        Err(UsageError::SubscriptionIdentifiersNotSupported)
    );
    assert!(h.sent().is_empty());
    h.cmd(|s, now| s.subscribe(now, one("a"), Default::default()))
        .unwrap();
    assert_eq!(h.sent().len(), 1);
}

scenarios! {
    all: resubscribe_same_filter, unsubscribe, suback_wrong_count, suback_for_other_exchange,
        empty_lists_refused;
    v311_v5: suback_per_filter;
    v5: v5_options_and_identifier, v5_unsuback_wrong_count, v5_server_capabilities;
    v311: v311_refuses_v5_options;
}

fn one(f: &str) -> Vec<Subscription> {
    subscriptions(&[f], 0)
}
