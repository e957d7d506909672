//! Reconnection: resuming a session (MQTT-4.4.0-1, MQTT-4.6.0-1), a lost session under each
//! policy, resubscription, publishes made offline and message expiry while queued.

mod harness;

use harness::*;

/// A session that asks to resume (Clean Start 0 on the first connection too).
fn resuming(mode: Mode) -> Config {
    let mut config = mode.config();
    config.clean_start = false;
    config
}

/// Drops the transport (if still open) and opens a new one; the CONNECT must ask to resume.
fn reconnect(h: &mut Harness, connack: ConnAck) {
    if h.session.state() != ConnectionState::Disconnected {
        h.close();
        assert!(matches!(
            h.events().last(),
            Some(Event::Disconnected(DisconnectReason::TransportClosed))
        ));
    }
    h.open();
    let Packet::Connect(c) = &h.sent()[0] else {
        panic!()
    };
    assert!(!c.clean_start);
    h.inject(connack);
}

fn fail_policy(mode: Mode) -> Config {
    let mut config = resuming(mode);
    config.session_lost = SessionLostPolicy::Fail;
    config
}

/// Session present: every unacknowledged PUBLISH goes again with DUP=1 and its identifier,
/// and PUBREL instead of the PUBLISH once PUBREC was received, in the original order; then
/// the queue.
fn resume_resends_in_order(mode: Mode) {
    let mut config = resuming(mode);
    config.max_inflight = NonZeroU16::new(4).unwrap();
    let mut h = Harness::with_config(mode, config);
    h.connect_with(connack_present());
    for (payload, q) in [("a", 1), ("b", 2), ("c", 2), ("d", 1), ("e", 1)] {
        h.cmd(|s, now| s.publish(now, msg("t", payload, q)))
            .unwrap();
    }
    h.inject(pubrec(3));
    h.inject(puback(4));
    h.skip();
    reconnect(&mut h, connack_present());
    assert_eq!(
        h.sent(),
        [
            on_wire(msg("t", "a", 1), Some(1), true),
            on_wire(msg("t", "b", 2), Some(2), true),
            pubrel(3).into(),
            on_wire(msg("t", "e", 1), Some(5), true),
        ]
    );
    match h.events().as_slice() {
        [Event::Connected(c)] => assert!(c.session_present),
        other => panic!("{other:?}"),
    }
    // The exchanges finish on the new connection.
    h.inject(puback(1));
    h.inject(pubrec(2));
    assert_eq!(h.sent(), [Packet::from(pubrel(2))]);
    h.inject(pubcomp(3));
    h.inject(pubcomp(2));
    h.inject(puback(5));
    let done: Vec<u64> = h
        .events()
        .iter()
        .map(|e| match e {
            Event::Published(p) => p.id.get(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(done, [1, 3, 2, 5]);
    assert_eq!(h.session.publishes_in_flight(), 0);
}

/// PUBREL packets are resent in the order the PUBRECs arrived (MQTT-4.6.0-4), which need
/// not be the order of the PUBLISH packets.
fn pubrel_resent_in_pubrec_order(mode: Mode) {
    let mut h = Harness::with_config(mode, resuming(mode));
    h.connect_with(connack_present());
    h.cmd(|s, now| s.publish(now, msg("t", "a", 2))).unwrap();
    h.cmd(|s, now| s.publish(now, msg("t", "b", 2))).unwrap();
    h.inject(pubrec(2));
    h.inject(pubrec(1));
    h.skip();
    reconnect(&mut h, connack_present());
    assert_eq!(h.sent(), [Packet::from(pubrel(2)), pubrel(1).into()]);
}

/// A disconnection before CONNACK keeps everything for the next try.
fn drop_before_connack(mode: Mode) {
    let mut h = Harness::with_config(mode, resuming(mode));
    h.connect_with(connack_present());
    h.cmd(|s, now| s.publish(now, msg("t", "a", 1))).unwrap();
    h.close();
    h.open();
    h.close();
    h.skip();
    reconnect(&mut h, connack_present());
    assert_eq!(h.sent(), [on_wire(msg("t", "a", 1), Some(1), true)]);
}

/// Session present: SUBSCRIBE and UNSUBSCRIBE still awaiting their acknowledgement are sent
/// again with their identifiers; those made offline go out too.
fn resume_resends_requests(mode: Mode) {
    let mut h = Harness::with_config(mode, resuming(mode));
    h.connect_with(connack_present());
    h.cmd(|s, now| s.subscribe(now, subscriptions(&["a/#"], 1), Default::default()))
        .unwrap();
    h.cmd(|s, now| s.unsubscribe(now, vec![filter("b")], Default::default()))
        .unwrap();
    h.close();
    h.cmd(|s, now| s.subscribe(now, subscriptions(&["c"], 0), Default::default()))
        .unwrap();
    h.skip();
    reconnect(&mut h, connack_present());
    assert_eq!(
        h.sent(),
        [
            Packet::from(Subscribe::new(pid(1), subscriptions(&["a/#"], 1))),
            Unsubscribe::new(pid(2), vec![filter("b")]).into(),
            Subscribe::new(pid(3), subscriptions(&["c"], 0)).into(),
        ]
    );
    h.inject(suback(1, &[1]));
    h.inject(unsuback(2, if mode.v5() { &[0] } else { &[] }));
    h.inject(suback(3, &[0]));
    assert_eq!(h.session.subscriptions().len(), 2);
}

/// No session, Resend policy: unacknowledged publishes go again as new messages, DUP=0 with
/// new identifiers, in their original order and before the queue. That includes a QoS 2
/// message whose PUBREC arrived: the documented choice of `SessionLostPolicy::Resend` (a
/// server delivering on PUBREL lost it with the session).
fn lost_session_resend(mode: Mode) {
    let mut h = Harness::with_config(mode, resuming(mode));
    h.connect_with(connack_present());
    h.cmd(|s, now| s.publish(now, msg("t", "a", 1))).unwrap();
    h.cmd(|s, now| s.publish(now, msg("t", "b", 2))).unwrap();
    h.cmd(|s, now| s.publish(now, msg("t", "c", 2))).unwrap();
    h.inject(pubrec(2));
    h.close();
    h.cmd(|s, now| s.publish(now, msg("t", "d", 1))).unwrap();
    h.skip();
    reconnect(&mut h, ConnAck::default());
    let sent = h.sent();
    let payloads: Vec<(&str, bool)> = sent
        .iter()
        .map(|p| match p {
            Packet::Publish(p) => (std::str::from_utf8(&p.payload).unwrap(), p.dup),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        payloads,
        [("a", false), ("b", false), ("c", false), ("d", false)]
    );
    let mut ids = publish_ids(&sent);
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 4, "identifiers are unique");
    match h.events().as_slice() {
        [Event::Connected(c)] => assert!(!c.session_present),
        other => panic!("{other:?}"),
    }
    for id in &ids {
        h.inject(PubAck::new(pid(*id)));
        h.inject(PubRec::new(pid(*id)));
        h.inject(PubComp::new(pid(*id)));
    }
    let done: Vec<u64> = h
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::Published(p) => Some(p.id.get()),
            _ => None,
        })
        .collect();
    assert_eq!(done, [1, 2, 3, 4]);
}

/// No session, Fail policy: unacknowledged publishes and requests sent on the old
/// connection fail with SessionLost, in order; queued publishes still go out.
fn lost_session_fail(mode: Mode) {
    let mut config = fail_policy(mode);
    config.max_inflight = NonZeroU16::new(2).unwrap();
    let mut h = Harness::with_config(mode, config);
    h.connect_with(connack_present());
    h.cmd(|s, now| s.publish(now, msg("t", "a", 1))).unwrap();
    h.cmd(|s, now| s.subscribe(now, subscriptions(&["x"], 1), Default::default()))
        .unwrap();
    h.cmd(|s, now| s.publish(now, msg("t", "b", 2))).unwrap();
    h.cmd(|s, now| s.publish(now, msg("t", "c", 1))).unwrap(); // queued
    h.skip();
    reconnect(&mut h, ConnAck::default());
    match h.events().as_slice() {
        [
            Event::Connected(_),
            Event::PublishFailed(a),
            Event::RequestFailed {
                id: sub,
                reason: FailReason::SessionLost,
            },
            Event::PublishFailed(b),
        ] => {
            assert_eq!((a.id.get(), &a.reason), (1, &FailReason::SessionLost));
            assert_eq!(sub.get(), 1);
            assert_eq!((b.id.get(), &b.reason), (2, &FailReason::SessionLost));
        }
        other => panic!("{other:?}"),
    }
    let sent = h.sent();
    assert_eq!(sent.len(), 1);
    let Packet::Publish(c) = &sent[0] else {
        panic!("{sent:?}")
    };
    assert_eq!((&c.payload[..], c.dup), (&b"c"[..], false));
}

/// No session: remembered subscriptions are made again when `resubscribe` is set, with the
/// QoS the server granted; otherwise forgotten.
fn resubscribe(mode: Mode) {
    for on in [true, false] {
        let mut config = resuming(mode);
        config.resubscribe = on;
        let mut h = Harness::with_config(mode, config);
        h.connect_with(connack_present());
        h.cmd(|s, now| s.subscribe(now, subscriptions(&["a/+", "b"], 2), Default::default()))
            .unwrap();
        h.inject(suback(1, &[1, 0x80]));
        h.skip();
        reconnect(&mut h, ConnAck::default());
        let a = TopicFilter::new("a/+").unwrap();
        if on {
            assert_eq!(
                h.sent(),
                [Packet::from(Subscribe::new(
                    pid(2),
                    subscriptions(&["a/+"], 1)
                ))]
            );
            assert_eq!(h.session.subscriptions().len(), 1);
            // The event names the request and its filters, so that its SUBACK can be read.
            let resubscribing = h.events().into_iter().find_map(|e| match e {
                Event::Resubscribing(r) => Some(r.clone()),
                _ => None,
            });
            let resubscribing = resubscribing.expect("a Resubscribing event");
            assert_eq!(resubscribing.filters, std::slice::from_ref(&a));
            // Refused this time: not remembered for the next loss either.
            h.inject(suback(2, &[0x80]));
            assert!(matches!(
                h.events().as_slice(),
                [Event::Subscribed(s)] if s.id == resubscribing.id
            ));
            assert!(h.session.subscriptions().is_empty());
        } else {
            assert!(h.sent().is_empty());
            assert!(h.session.subscriptions().is_empty());
            assert!(
                h.events().contains(&&Event::SubscriptionsLost(vec![a])),
                "the lost subscriptions are named"
            );
        }
    }
}

/// Session present: subscriptions stay remembered and nothing is resubscribed.
fn resume_keeps_subscriptions(mode: Mode) {
    let mut config = resuming(mode);
    config.resubscribe = true;
    let mut h = Harness::with_config(mode, config);
    h.connect_with(connack_present());
    h.cmd(|s, now| s.subscribe(now, subscriptions(&["a"], 1), Default::default()))
        .unwrap();
    h.inject(suback(1, &[1]));
    h.skip();
    reconnect(&mut h, connack_present());
    assert!(h.sent().is_empty());
    assert_eq!(h.session.subscriptions().len(), 1);
}

/// A connection that ended before its CONNACK may have made the server start a fresh session;
/// when the next CONNACK then says "session present", subscriptions are made again (with
/// `resubscribe`), since that session may be the fresh one.
fn uncertain_session_resubscribes(mode: Mode) {
    for on in [true, false] {
        let mut config = resuming(mode);
        config.resubscribe = on;
        let mut h = Harness::with_config(mode, config);
        h.connect_with(connack_present());
        h.cmd(|s, now| s.subscribe(now, subscriptions(&["a"], 1), Default::default()))
            .unwrap();
        h.inject(suback(1, &[1]));
        h.skip();
        h.close();
        h.open(); // CONNECT goes out, the connection drops before CONNACK
        h.close();
        h.skip();
        reconnect(&mut h, connack_present());
        let again = Packet::from(Subscribe::new(pid(2), subscriptions(&["a"], 1)));
        if on {
            assert_eq!(h.sent(), [again]);
            h.inject(suback(2, &[1]));
        } else {
            assert!(h.sent().is_empty());
        }
        // Once resolved by a CONNACK, a plain resume does not subscribe again.
        reconnect(&mut h, connack_present());
        assert!(
            h.sent().iter().all(|p| !matches!(p, Packet::Subscribe(_))),
            "{}",
            h.dump()
        );
    }
}

/// Publishes made before the first connection wait and go out after CONNACK, in order.
fn offline_publishes(mode: Mode) {
    let mut h = Harness::new(mode);
    for (payload, q) in [("a", 0), ("b", 1), ("c", 2)] {
        h.cmd(|s, now| s.publish(now, msg("t", payload, q)))
            .unwrap();
    }
    assert_eq!(h.session.publishes_queued(), 3);
    assert!(h.events().is_empty());
    h.open();
    h.inject(ConnAck::default());
    assert_eq!(
        h.sent(),
        [
            Packet::Connect(Box::new(Connect::new("client"))),
            on_wire(msg("t", "a", 0), None, false),
            on_wire(msg("t", "b", 1), Some(1), false),
            on_wire(msg("t", "c", 2), Some(2), false),
        ]
    );
}

/// Inbound QoS 2 on a resumed session: the server resends the PUBLISH; it is answered
/// with PUBREC and not delivered again. On a lost session the identifier is new.
fn inbound_qos2_across_reconnect(mode: Mode) {
    let mut h = Harness::with_config(mode, resuming(mode));
    h.connect_with(connack_present());
    h.inject(incoming("t", "once", 2, 3));
    h.skip();
    reconnect(&mut h, connack_present());
    h.inject({
        let mut publish = incoming("t", "once", 2, 3);
        publish.dup = true;
        publish
    });
    assert_eq!(h.sent(), [Packet::from(pubrec(3))]);
    assert_eq!(h.events().len(), 1, "only Connected");
    reconnect(&mut h, ConnAck::default());
    h.inject(incoming("t", "new", 2, 3));
    assert!(h.events().iter().any(|e| matches!(e, Event::Message(_))));
}

/// Manual acks: an acknowledgement given while offline reaches the server after a resumed
/// CONNACK (QoS 2: PUBREC).
fn manual_ack_while_offline(mode: Mode) {
    let mut config = resuming(mode);
    config.ack_mode = AckMode::Manual;
    let mut h = Harness::with_config(mode, config);
    h.connect_with(connack_present());
    h.inject(incoming("t", "x", 2, 5));
    let token = h.take_ack(5);
    h.close();
    h.cmd(|s, now| s.ack(now, token, ReasonCode::SUCCESS))
        .unwrap();
    assert!(h.sent().is_empty());
    h.skip();
    reconnect(&mut h, connack_present());
    assert_eq!(h.sent(), [Packet::from(pubrec(5))]);
    h.inject({
        let mut publish = incoming("t", "x", 2, 5);
        publish.dup = true;
        publish
    });
    assert_eq!(h.sent(), [Packet::from(pubrec(5))]);
    assert_eq!(h.events().len(), 1, "only Connected");
}

/// MQTT 5.0: a queued message whose Message Expiry Interval ran out fails as Expired; the
/// others go out with the interval reduced by the time they waited.
fn message_expiry_while_queued(mode: Mode) {
    let mut h = Harness::new(mode);
    let with_expiry = |payload: &'static str, secs: u32| {
        let mut p = msg("t", payload, 1);
        p.properties_mut().message_expiry_interval = Some(secs);
        p
    };
    h.cmd(|s, now| s.publish(now, with_expiry("short", 3)))
        .unwrap();
    h.cmd(|s, now| s.publish(now, with_expiry("long", 10)))
        .unwrap();
    h.cmd(|s, now| s.publish(now, msg("t", "none", 1))).unwrap();
    h.advance(Duration::from_millis(4_500));
    h.open();
    h.inject(ConnAck::default());
    let sent = h.sent();
    assert_eq!(
        sent[1..],
        [
            on_wire(with_expiry("long", 6), Some(1), false),
            on_wire(msg("t", "none", 1), Some(2), false),
        ]
    );
    match h.events().as_slice() {
        [Event::Connected(_), Event::PublishFailed(f)] => {
            assert_eq!(f.id.get(), 1);
            assert_eq!(f.reason, FailReason::Expired);
            assert_eq!(f.packet_id, None);
        }
        other => panic!("{other:?}"),
    }
}

scenarios! {
    all: offline_publishes;
    v311_v5: resume_resends_in_order, pubrel_resent_in_pubrec_order, drop_before_connack,
        resume_resends_requests, lost_session_resend, lost_session_fail, resubscribe,
        resume_keeps_subscriptions, uncertain_session_resubscribes, inbound_qos2_across_reconnect,
        manual_ack_while_offline;
    v5: message_expiry_while_queued;
}
