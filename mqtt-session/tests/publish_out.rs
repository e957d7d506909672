//! Outbound publishes: the QoS 0, 1 and 2 flows, packet identifiers, the in-flight window and
//! the queue, and MQTT 5.0 negative acknowledgements.

mod harness;

use harness::*;

fn published(h: &mut Harness) -> Vec<(u64, Option<u16>, QoS, ReasonCode)> {
    h.events()
        .into_iter()
        .map(|e| match e {
            Event::Published(p) => (
                p.id.get(),
                p.packet_id.map(PacketId::get),
                p.qos,
                p.reason_code,
            ),
            other => panic!("expected Published, got {other:?}"),
        })
        .collect()
}

/// QoS 0: one PUBLISH without a packet identifier, complete once handed to the transport.
fn qos0(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    let p = {
        let mut publish = msg("a/b", "hello", 0);
        publish.retain = true;
        publish
    };
    let id = h.cmd(|s, now| s.publish(now, p.clone())).unwrap();
    assert_eq!(id.get(), 1);
    assert_eq!(h.sent(), [on_wire(p, None, false)]);
    assert_eq!(
        published(&mut h),
        [(1, None, QoS::AtMostOnce, ReasonCode::SUCCESS)]
    );
    assert_eq!(h.session.publishes_in_flight(), 0);
}

/// QoS 1: PUBLISH, PUBACK, Published.
fn qos1(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.cmd(|s, now| s.publish(now, msg("a", "1", 1))).unwrap();
    assert_eq!(h.sent(), [on_wire(msg("a", "1", 1), Some(1), false)]);
    assert!(h.events().is_empty());
    assert_eq!(h.session.publishes_in_flight(), 1);
    h.inject(puback(1));
    assert_eq!(
        published(&mut h),
        [(1, Some(1), QoS::AtLeastOnce, ReasonCode::SUCCESS)]
    );
    assert!(h.sent().is_empty());
    assert_eq!(h.session.publishes_in_flight(), 0);
    // A second PUBACK for the finished exchange changes nothing.
    h.inject(puback(1));
    assert!(h.events().is_empty());
    assert!(h.sent().is_empty());
}

/// QoS 2: PUBLISH, PUBREC, PUBREL, PUBCOMP, Published. A repeated PUBREC gets PUBREL again
/// and never the PUBLISH (MQTT-4.3.3-4 in 5.0).
fn qos2(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.cmd(|s, now| s.publish(now, msg("a", "2", 2))).unwrap();
    assert_eq!(h.sent(), [on_wire(msg("a", "2", 2), Some(1), false)]);
    h.inject(pubrec(1));
    assert_eq!(h.sent(), [Packet::from(pubrel(1))]);
    assert!(h.events().is_empty());
    h.inject(pubrec(1));
    assert_eq!(h.sent(), [Packet::from(pubrel(1))]);
    h.inject(pubcomp(1));
    assert_eq!(
        published(&mut h),
        [(1, Some(1), QoS::ExactlyOnce, ReasonCode::SUCCESS)]
    );
    assert!(h.sent().is_empty());
    assert_eq!(h.session.publishes_in_flight(), 0);
}

/// PUBCOMP before PUBREC does not complete a QoS 2 publish; PUBACK does not complete one
/// either.
fn qos2_wrong_order_ignored(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.cmd(|s, now| s.publish(now, msg("a", "2", 2))).unwrap();
    h.skip();
    h.inject(pubcomp(1));
    h.inject(puback(1));
    assert!(h.events().is_empty());
    assert_eq!(h.session.publishes_in_flight(), 1);
}

/// Packet identifiers are unique among everything in flight, publishes and (un)subscribes
/// alike, and one is free again once its exchange is over.
fn packet_ids_unique(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.cmd(|s, now| s.publish(now, msg("a", "1", 1))).unwrap();
    h.cmd(|s, now| s.subscribe(now, subscriptions(&["x"], 1), Default::default()))
        .unwrap();
    h.cmd(|s, now| s.publish(now, msg("a", "2", 2))).unwrap();
    h.cmd(|s, now| s.unsubscribe(now, vec![filter("y")], Default::default()))
        .unwrap();
    let ids: Vec<u16> = h
        .sent()
        .iter()
        .map(|p| match p {
            Packet::Publish(p) => p.packet_id.unwrap().get(),
            Packet::Subscribe(s) => s.packet_id.get(),
            Packet::Unsubscribe(u) => u.packet_id.get(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, [1, 2, 3, 4]);
    h.inject(puback(1));
    h.cmd(|s, now| s.publish(now, msg("a", "3", 1))).unwrap();
    let next = publish_ids(&h.sent())[0];
    assert!(![2, 3, 4].contains(&next), "{next} is still in use");
}

/// Many publishes in flight never share an identifier, across wrap-around of the cursor.
fn packet_ids_unique_over_time(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    // Keep identifier 1 busy while 66,000 others come and go.
    h.cmd(|s, now| s.publish(now, msg("slow", "", 1))).unwrap();
    h.skip();
    let mut seen_one = false;
    for _ in 0..66_000u32 {
        let sent = h.cmd(|s, now| {
            s.publish(now, msg("a", "", 1)).unwrap();
            s.poll_transmit().unwrap()
        });
        let decoded = Decoder::new(mode.version).decode_slice(&sent).unwrap();
        let Some((Packet::Publish(p), _)) = decoded else {
            panic!("{decoded:?}")
        };
        let id = p.packet_id.unwrap().get();
        seen_one |= id == 1;
        h.cmd(|s, now| s.handle_bytes(now, &[0x40, 0x02, (id >> 8) as u8, id as u8]));
        while h.session.poll_event().is_some() {}
    }
    assert!(!seen_one, "identifier 1 was handed out while in use");
    assert_eq!(h.session.publishes_in_flight(), 1);
}

/// The window is `max_inflight`: extra QoS 1 and 2 publishes wait in the queue and go out
/// in order as acknowledgements arrive; a QoS 0 publish behind them waits its turn.
fn window_and_queue_order(mode: Mode) {
    let mut config = mode.config();
    config.max_inflight = NonZeroU16::new(2).unwrap();
    let mut h = Harness::with_config(mode, config);
    h.connect();
    for (i, q) in [(0, 1), (1, 2), (2, 1), (3, 0), (4, 2)] {
        let payload: &'static str = ["p0", "p1", "p2", "p3", "p4"][i];
        h.cmd(|s, now| s.publish(now, msg("t", payload, q)))
            .unwrap();
    }
    assert_eq!(
        h.sent(),
        [
            on_wire(msg("t", "p0", 1), Some(1), false),
            on_wire(msg("t", "p1", 2), Some(2), false)
        ]
    );
    assert_eq!(h.session.publishes_queued(), 3);
    h.inject(puback(1));
    // p2 takes the free slot; p3 (QoS 0) follows at once; p4 waits for the window.
    assert_eq!(
        h.sent(),
        [
            on_wire(msg("t", "p2", 1), Some(3), false),
            on_wire(msg("t", "p3", 0), None, false)
        ]
    );
    assert_eq!(h.session.publishes_queued(), 1);
    h.inject(pubrec(2));
    assert_eq!(h.sent(), [Packet::from(pubrel(2))]);
    assert_eq!(
        h.session.publishes_queued(),
        1,
        "a released QoS 2 still holds its slot"
    );
    h.inject(pubcomp(2));
    assert_eq!(h.sent(), [on_wire(msg("t", "p4", 2), Some(4), false)]);
    let ids: Vec<u64> = h
        .events()
        .iter()
        .map(|e| match e {
            Event::Published(p) => p.id.get(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, [1, 4, 2]);
}

/// The queue's limit: `publish` refuses more with QueueFull and changes nothing.
fn queue_full(mode: Mode) {
    let mut config = mode.config();
    config.max_inflight = NonZeroU16::new(1).unwrap();
    config.max_queued = 2;
    let mut h = Harness::with_config(mode, config);
    h.connect();
    for payload in ["0", "1", "2"] {
        h.cmd(|s, now| s.publish(now, msg("t", payload, 1)))
            .unwrap();
    }
    assert_eq!(
        h.cmd(|s, now| s.publish(now, msg("t", "3", 1))),
        Err(UsageError::QueueFull)
    );
    // QoS 0 would have to wait behind the queue too.
    assert_eq!(
        h.cmd(|s, now| s.publish(now, msg("t", "3", 0))),
        Err(UsageError::QueueFull)
    );
    assert_eq!(h.session.publishes_queued(), 2);
    h.inject(puback(1));
    let id = h.cmd(|s, now| s.publish(now, msg("t", "3", 1))).unwrap();
    assert_eq!(id.get(), 4, "refused publishes took no handle");
}

/// Offline, the queue fills up too.
fn queue_full_offline(mode: Mode) {
    let mut config = mode.config();
    config.max_queued = 1;
    let mut h = Harness::with_config(mode, config);
    h.cmd(|s, now| s.publish(now, msg("t", "0", 0))).unwrap();
    assert_eq!(
        h.cmd(|s, now| s.publish(now, msg("t", "1", 1))),
        Err(UsageError::QueueFull)
    );
}

/// Publishes made while CONNECT awaits its CONNACK go out after it, in order.
fn publish_while_connecting(mode: Mode) {
    let mut h = Harness::new(mode);
    h.open();
    h.skip();
    h.cmd(|s, now| s.publish(now, msg("t", "a", 1))).unwrap();
    h.cmd(|s, now| s.publish(now, msg("t", "b", 0))).unwrap();
    assert!(h.sent().is_empty());
    h.inject(ConnAck::default());
    assert_eq!(
        h.sent(),
        [
            on_wire(msg("t", "a", 1), Some(1), false),
            on_wire(msg("t", "b", 0), None, false)
        ]
    );
}

/// Packet id and DUP set by the caller are the session's to choose; a caller's Topic Alias
/// is refused.
fn caller_cannot_choose_packet_id(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    let p = {
        let mut publish = msg("t", "x", 1);
        publish.packet_id = Some(pid(77));
        publish.dup = true;
        publish
    };
    h.cmd(|s, now| s.publish(now, p)).unwrap();
    assert_eq!(h.sent(), [on_wire(msg("t", "x", 1), Some(1), false)]);
    let mut aliased = msg("t", "x", 0);
    aliased.properties_mut().topic_alias = NonZeroU16::new(1);
    assert_eq!(
        h.cmd(|s, now| s.publish(now, aliased)),
        Err(UsageError::TopicAliasNotAllowed)
    );
}

/// MQTT 5.0: the window is the smaller of `max_inflight` and the server's Receive Maximum.
fn receive_maximum_window(mode: Mode) {
    let mut config = mode.config();
    config.max_inflight = NonZeroU16::new(10).unwrap();
    let mut h = Harness::with_config(mode, config);
    h.connect_with(connack_v5(ConnAckProperties {
        receive_maximum: NonZeroU16::new(2),
        ..Default::default()
    }));
    for payload in ["0", "1", "2", "3"] {
        h.cmd(|s, now| s.publish(now, msg("t", payload, 1)))
            .unwrap();
    }
    assert_eq!(publish_ids(&h.sent()), [1, 2]);
    h.inject(puback(2));
    assert_eq!(publish_ids(&h.sent()), [3]);
    h.inject(puback(1));
    assert_eq!(publish_ids(&h.sent()), [4]);
    assert_eq!(h.session.publishes_in_flight(), 2);
}

/// MQTT 5.0: a PUBACK with a reason code of 0x80 or more fails the publish, with the code
/// and the reason string; its slot is freed for the queue.
fn negative_puback(mode: Mode) {
    let mut config = mode.config();
    config.max_inflight = NonZeroU16::new(1).unwrap();
    let mut h = Harness::with_config(mode, config);
    h.connect();
    let id = h.cmd(|s, now| s.publish(now, msg("t", "a", 1))).unwrap();
    h.cmd(|s, now| s.publish(now, msg("t", "b", 1))).unwrap();
    h.skip();
    let properties = AckProperties {
        reason_string: Some("no".into()),
        ..Default::default()
    };
    h.inject(PubAck {
        reason_code: ReasonCode::NOT_AUTHORIZED,
        properties: properties.clone(),
        ..puback(1)
    });
    let expected = Event::PublishFailed(PublishFailed {
        id,
        packet_id: Some(pid(1)),
        reason: FailReason::Rejected {
            reason_code: ReasonCode::NOT_AUTHORIZED,
            properties,
        },
    });
    assert_eq!(h.events(), [&expected]);
    assert_eq!(h.sent(), [on_wire(msg("t", "b", 1), Some(2), false)]);
}

/// MQTT 5.0: a PUBREC of 0x80 or more ends a QoS 2 publish: no PUBREL follows.
fn negative_pubrec(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.cmd(|s, now| s.publish(now, msg("t", "a", 2))).unwrap();
    h.skip();
    h.inject(PubRec {
        reason_code: ReasonCode::QUOTA_EXCEEDED,
        ..pubrec(1)
    });
    match h.events().as_slice() {
        [
            Event::PublishFailed(PublishFailed {
                packet_id,
                reason: FailReason::Rejected { reason_code, .. },
                ..
            }),
        ] => {
            assert_eq!(*packet_id, Some(pid(1)));
            assert_eq!(*reason_code, ReasonCode::QUOTA_EXCEEDED);
        }
        other => panic!("{other:?}"),
    }
    assert!(h.sent().is_empty());
    assert_eq!(h.session.publishes_in_flight(), 0);
    // The identifier is free: a PUBCOMP for it now is ignored.
    h.inject(pubcomp(1));
    assert!(h.events().is_empty());
}

/// MQTT 5.0: success codes below 0x80, such as No matching subscribers, complete the
/// publish and are reported.
fn no_matching_subscribers(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.cmd(|s, now| s.publish(now, msg("t", "a", 1))).unwrap();
    h.inject(PubAck {
        reason_code: ReasonCode::NO_MATCHING_SUBSCRIBERS,
        ..puback(1)
    });
    assert_eq!(
        published(&mut h),
        [(
            1,
            Some(1),
            QoS::AtLeastOnce,
            ReasonCode::NO_MATCHING_SUBSCRIBERS
        )]
    );
}

/// A PUBREC for an identifier with no exchange is answered with PUBREL, 0x92 Packet
/// Identifier not found in MQTT 5.0 (§4.3.3).
fn pubrec_unknown_id(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.inject(pubrec(9));
    let mut expected = pubrel(9);
    if mode.v5() {
        expected.reason_code = ReasonCode::PACKET_IDENTIFIER_NOT_FOUND;
    }
    assert_eq!(h.sent(), [Packet::from(expected)]);
    assert!(h.events().is_empty());
    assert!(h.session.is_connected());
}

/// Publishing needs no connection but refuses what can't be encoded.
fn invalid_publish_refused(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    let mut p = msg("t", "x", 0);
    p.properties_mut().content_type = Some("text".into());
    let result = h.cmd(|s, now| s.publish(now, p));
    if mode.v5() {
        result.unwrap();
    } else {
        assert!(matches!(result, Err(UsageError::Encode(_))), "{result:?}");
        assert!(h.sent().is_empty());
    }
}

scenarios! {
    all: qos0, qos1, qos2, qos2_wrong_order_ignored, packet_ids_unique, packet_ids_unique_over_time,
        window_and_queue_order, queue_full, queue_full_offline, publish_while_connecting,
        caller_cannot_choose_packet_id, pubrec_unknown_id, invalid_publish_refused;
    v5: receive_maximum_window, negative_puback, negative_pubrec, no_matching_subscribers;
}
