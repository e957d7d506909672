//! Conformance, MQTT 4.9: flow control (Receive Maximum and the send quota, MQTT 5.0).
//!
//! One test per client-binding normative statement, named after its id; see
//! `CONFORMANCE.md` at the repository root.

#[path = "../harness/mod.rs"]
mod harness;

#[allow(unused_imports)]
use harness::*;

const V5: [Mode; 2] = [V5_WHOLE, V5_BYTES];

/// A CONNACK with the server's Receive Maximum.
fn receive_maximum(max: u16, session_present: bool) -> ConnAck {
    ConnAck {
        session_present,
        ..connack_v5(ConnAckProperties {
            receive_maximum: NonZeroU16::new(max),
            ..Default::default()
        })
    }
}

/// The QoS 1 and 2 PUBLISH packets among `packets`.
fn qos_publishes(packets: &[Packet]) -> usize {
    packets
        .iter()
        .filter(|p| matches!(p, Packet::Publish(p) if p.qos != QoS::AtMostOnce))
        .count()
}

/// The one packet sent, a first-time PUBLISH of `payload` at QoS `q`; returns its packet
/// identifier.
fn sent_new(h: &mut Harness, payload: &'static str, q: u8) -> u16 {
    let sent = h.sent();
    let ids = publish_ids(&sent);
    assert_eq!(ids.len(), 1, "{sent:?}");
    assert_eq!(sent, [on_wire(msg("t", payload, q), Some(ids[0]), false)]);
    ids[0]
}

/// Publishes `n` messages alternating QoS 1 and 2.
fn publish_many(h: &mut Harness, n: usize) {
    for i in 0..n {
        let q = 1 + (i % 2) as u8;
        h.cmd(|s, now| s.publish(now, msg("t", "x", q))).unwrap();
    }
}

/// The initial send quota is non-zero and at most the server's Receive Maximum.
#[test]
fn mqtt_5_4_9_0_1_initial_quota_within_receive_maximum() {
    for mode in V5 {
        for (server, window, expected) in [(1, 20, 1), (3, 20, 3), (10, 4, 4), (65535, 1, 1)] {
            let mut config = mode.config();
            config.max_inflight = NonZeroU16::new(window).unwrap();
            let mut h = Harness::with_config(mode, config);
            h.connect_with(receive_maximum(server, false));
            publish_many(&mut h, 12);
            assert_eq!(
                qos_publishes(&h.sent()),
                expected,
                "Receive Maximum {server}, max_inflight {window}"
            );
        }
    }
}

/// Each connection starts its send quota afresh from that connection's Receive Maximum.
#[test]
fn mqtt_5_4_9_0_1_initial_quota_each_connection() {
    for mode in V5 {
        let mut config = mode.config();
        config.clean_start = false;
        let mut h = Harness::with_config(mode, config);
        publish_many(&mut h, 6);
        h.open();
        h.skip();
        h.inject(receive_maximum(4, false));
        assert_eq!(publish_ids(&h.sent()), [1, 2, 3, 4]);
        h.close();
        h.open();
        h.skip();
        h.inject(receive_maximum(2, true));
        let resent = h.sent();
        assert_eq!(publish_ids(&resent), [1, 2]);
        assert!(
            resent
                .iter()
                .all(|p| matches!(p, Packet::Publish(p) if p.dup))
        );
        h.close();
        h.open();
        h.skip();
        h.inject(receive_maximum(5, true));
        assert_eq!(publish_ids(&h.sent()), [1, 2, 3, 4, 5]);
    }
}

/// Each QoS>0 PUBLISH uses up quota; at zero no QoS>0 PUBLISH is sent.
#[test]
fn mqtt_5_4_9_0_2_no_qos_publish_at_zero_quota() {
    for mode in V5 {
        let mut h = Harness::new(mode);
        h.connect_with(receive_maximum(2, false));
        h.cmd(|s, now| s.publish(now, msg("t", "a", 1))).unwrap();
        h.cmd(|s, now| s.publish(now, msg("t", "b", 2))).unwrap();
        assert_eq!(publish_ids(&h.sent()), [1, 2]);
        for (payload, q) in [("c", 1), ("d", 2), ("e", 2), ("f", 1)] {
            h.cmd(|s, now| s.publish(now, msg("t", payload, q)))
                .unwrap();
        }
        assert!(h.sent().is_empty(), "quota is zero");
        h.inject(pubrec(2));
        assert_eq!(h.sent(), [Packet::from(pubrel(2))], "PUBREC gives no quota");
        h.inject(pubcomp(2));
        let c = sent_new(&mut h, "c", 1);
        h.inject(puback(1));
        let d = sent_new(&mut h, "d", 2);
        h.inject(PubRec {
            reason_code: ReasonCode::QUOTA_EXCEEDED,
            ..pubrec(d)
        });
        sent_new(&mut h, "e", 2);
        assert_eq!(h.session.publishes_queued(), 1);
        // Unrelated or repeated acknowledgements give nothing back.
        h.inject(puback(999));
        h.inject(pubcomp(999));
        h.inject(puback(1));
        h.inject(pubcomp(2));
        h.inject(PubRec {
            reason_code: ReasonCode::QUOTA_EXCEEDED,
            ..pubrec(d)
        });
        assert!(h.sent().iter().all(|p| !matches!(p, Packet::Publish(_))));
        h.inject(puback(c));
        sent_new(&mut h, "f", 1);
        assert_eq!(h.session.publishes_in_flight(), 2);
    }
}

/// PUBLISHes resent on a resumed session use up the new connection's quota too.
#[test]
fn mqtt_5_4_9_0_2_resent_publishes_within_quota() {
    for mode in V5 {
        let mut config = mode.config();
        config.clean_start = false;
        let mut h = Harness::with_config(mode, config);
        h.connect_with(receive_maximum(10, false));
        publish_many(&mut h, 5);
        h.inject(pubrec(2));
        h.close();
        h.open();
        h.skip();
        h.inject(receive_maximum(2, true));
        // The released one holds a slot until PUBCOMP: one PUBLISH fits.
        assert_eq!(
            h.sent(),
            [on_wire(msg("t", "x", 1), Some(1), true), pubrel(2).into()]
        );
        h.inject(puback(1));
        assert_eq!(publish_ids(&h.sent()), [3]);
        h.inject(pubcomp(2));
        assert_eq!(publish_ids(&h.sent()), [4]);
        assert!(h.sent().is_empty());
    }
}

/// A server exceeding the client's Receive Maximum makes the client close (0x93).
#[test]
fn mqtt_5_4_9_0_2_server_exceeding_quota_closes() {
    for mode in V5 {
        let mut config = mode.config();
        config.connect_properties.receive_maximum = NonZeroU16::new(2);
        config.ack_mode = AckMode::Manual;
        let mut h = Harness::with_config(mode, config);
        h.connect();
        h.inject(incoming("t", "1", 1, 1));
        h.inject(incoming("t", "2", 2, 2));
        h.inject(incoming("t", "q0", 0, 0));
        assert!(h.session.is_connected());
        h.skip();
        h.inject(incoming("t", "3", 1, 3));
        assert_eq!(
            h.sent(),
            [Packet::from(Disconnect::new(
                ReasonCode::RECEIVE_MAXIMUM_EXCEEDED
            ))]
        );
        assert_eq!(h.session.state(), ConnectionState::Disconnected);
        assert!(
            !h.events().iter().any(|e| matches!(e, Event::Message(_))),
            "the excess message is not delivered"
        );
    }
}

/// At zero quota the client still sends and answers every other packet.
#[test]
fn mqtt_5_4_9_0_3_other_packets_at_zero_quota() {
    for mode in V5 {
        let mut h = Harness::new(mode);
        h.connect_with(receive_maximum(1, false));
        h.cmd(|s, now| s.publish(now, msg("t", "mine", 2))).unwrap();
        h.cmd(|s, now| s.publish(now, msg("t", "waits", 1)))
            .unwrap();
        assert_eq!(publish_ids(&h.sent()), [1]);
        h.skip();

        h.inject(incoming("in", "q1", 1, 10));
        h.inject(incoming("in", "q2", 2, 11));
        h.inject(incoming("in", "q0", 0, 0));
        assert_eq!(h.sent(), [Packet::from(puback(10)), pubrec(11).into()]);
        h.inject(pubrel(11));
        assert_eq!(h.sent(), [Packet::from(pubcomp(11))]);
        let delivered = h
            .events()
            .iter()
            .filter(|e| matches!(e, Event::Message(_)))
            .count();
        assert_eq!(delivered, 3);

        h.cmd(|s, now| s.subscribe(now, subscriptions(&["x"], 1), Default::default()))
            .unwrap();
        h.cmd(|s, now| s.unsubscribe(now, vec![filter("y")], Default::default()))
            .unwrap();
        assert_eq!(
            h.sent(),
            [
                Packet::from(Subscribe::new(pid(2), subscriptions(&["x"], 1))),
                Unsubscribe::new(pid(3), vec![filter("y")]).into(),
            ]
        );
        h.inject(suback(2, &[1]));
        h.inject(unsuback(3, &[0]));
        let events = h.events();
        assert!(
            matches!(
                events.as_slice(),
                [Event::Subscribed(_), Event::Unsubscribed(_)]
            ),
            "{events:?}"
        );

        h.inject(pubrec(1));
        assert_eq!(h.sent(), [Packet::from(pubrel(1))]);

        h.drive();
        assert_eq!(h.sent(), [Packet::PingReq]);
        h.inject(Packet::PingResp);
        h.advance(Duration::from_secs(90));
        assert!(h.session.is_connected());
        assert_eq!(h.sent(), [Packet::PingReq], "keep alive goes on");
        h.inject(Packet::PingResp);

        // Still nothing of the waiting publish until the quota comes back.
        h.inject(pubcomp(1));
        sent_new(&mut h, "waits", 1);
    }
}
