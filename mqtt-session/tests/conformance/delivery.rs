//! Conformance, MQTT 4.1 and 4.3 to 4.6: session state, QoS delivery flows, resending, acknowledgement
//! and message ordering.
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

/// A session that asks to resume (Clean Start / Clean Session 0) on every connection.
fn resuming(mode: Mode) -> Config {
    let mut config = mode.config();
    config.clean_start = false;
    config
}

fn manual(mut config: Config) -> Config {
    config.ack_mode = AckMode::Manual;
    config
}

/// A resuming session, connected (the server had no session yet).
fn resumable(mode: Mode, config: Config) -> Harness {
    let mut h = Harness::with_config(mode, config);
    h.connect();
    h
}

/// Drops the transport (if still open), opens a new one whose CONNECT asks to resume, and
/// answers `connack`. Everything before is marked seen; what follows the CONNECT is left for
/// [`Harness::sent`].
fn reconnect(h: &mut Harness, connack: ConnAck) {
    if h.session.state() != ConnectionState::Disconnected {
        h.close();
    }
    h.skip();
    h.open();
    match h.sent().as_slice() {
        [Packet::Connect(c)] => assert!(!c.clean_start, "CONNECT must ask to resume"),
        other => panic!("expected CONNECT, got {other:?}"),
    }
    h.inject(connack);
    assert!(h.session.is_connected());
}

/// Session present, with the server's Receive Maximum (MQTT 5.0 only).
fn present_with_receive_maximum(max: u16) -> ConnAck {
    ConnAck {
        session_present: true,
        ..connack_v5(ConnAckProperties {
            receive_maximum: NonZeroU16::new(max),
            ..Default::default()
        })
    }
}

/// Lets `total` pass on the virtual clock while the server answers every PINGREQ; returns
/// every other packet the client sent meanwhile.
fn idle(h: &mut Harness, total: Duration) -> Vec<Packet> {
    let end = h.now + total;
    let mut other = Vec::new();
    loop {
        let step = match h.session.poll_timeout() {
            Some(deadline) if deadline <= end => deadline - h.now,
            _ => end - h.now,
        };
        h.advance(step);
        for packet in h.sent() {
            if packet == Packet::PingReq {
                h.inject(Packet::PingResp);
            } else {
                other.push(packet);
            }
        }
        assert!(h.session.is_connected(), "the connection must stay up");
        if h.now >= end {
            return other;
        }
    }
}

/// The payloads of the messages delivered since the last look; other events are ignored.
fn delivered(h: &mut Harness) -> Vec<String> {
    h.events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(String::from_utf8(m.publish.payload.to_vec()).unwrap()),
            _ => None,
        })
        .collect()
}

/// The handles of the publishes completed (Published) since the last look.
fn completed(h: &mut Harness) -> Vec<u64> {
    h.events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Published(p) => Some(p.id.get()),
            _ => None,
        })
        .collect()
}

fn ack(h: &mut Harness, id: u16, code: ReasonCode) {
    let token = h.take_ack(id);
    h.cmd(|s, now| s.ack(now, token, code)).unwrap();
}

fn dup(mut publish: Publish) -> Publish {
    publish.dup = true;
    publish
}

/// Asserts that no PUBLISH with packet identifier `id` is among `packets`.
fn no_publish_with_id(packets: &[Packet], id: u16) {
    assert!(
        !publish_ids(packets).contains(&id),
        "PUBLISH {id} was sent again: {packets:?}"
    );
}

// ---- MQTT-4.1.0-x: session state --------------------------------------------------------

/// Everything in flight both ways, then ten hours of an idle connection: nothing is
/// forgotten, every exchange finishes, and the inbound QoS 2 message is not delivered twice.
fn state_kept_while_connected(mode: Mode, config: Config) {
    let mut h = Harness::with_config(mode, config);
    h.connect();
    h.cmd(|s, now| s.publish(now, msg("t", "a", 1))).unwrap();
    h.cmd(|s, now| s.publish(now, msg("t", "b", 2))).unwrap();
    h.cmd(|s, now| s.subscribe(now, subscriptions(&["x"], 1), Default::default()))
        .unwrap();
    h.inject(incoming("in", "once", 2, 7));
    h.inject(pubrec(2));
    assert_eq!(delivered(&mut h), ["once"]);
    h.skip();
    let during = idle(&mut h, Duration::from_secs(10 * 3600));
    assert!(during.is_empty(), "{during:?}");
    h.inject(dup(incoming("in", "once", 2, 7)));
    assert_eq!(h.sent(), [Packet::from(pubrec(7))]);
    assert!(delivered(&mut h).is_empty(), "delivered twice");
    h.inject(puback(1));
    h.inject(pubcomp(2));
    h.inject(suback(3, &[1]));
    h.inject(pubrel(7));
    assert_eq!(h.sent(), [Packet::from(pubcomp(7))]);
    let events = h.events();
    assert!(
        matches!(
            events.as_slice(),
            [Event::Published(a), Event::Published(b), Event::Subscribed(s)]
                if a.id.get() == 1 && b.id.get() == 2 && s.packet_id == pid(3)
        ),
        "{events:?}"
    );
    assert_eq!(h.session.publishes_in_flight(), 0);
}

/// With Clean Session 0, the state outlives the connection: unfinished publishes, the
/// pending SUBSCRIBE and the inbound QoS 2 exchange all carry on on the next one.
fn state_kept_across_connections(mode: Mode) {
    let mut h = resumable(mode, resuming(mode));
    h.cmd(|s, now| s.publish(now, msg("t", "a", 1))).unwrap();
    h.cmd(|s, now| s.publish(now, msg("t", "b", 2))).unwrap();
    h.cmd(|s, now| s.subscribe(now, subscriptions(&["x"], 1), Default::default()))
        .unwrap();
    h.inject(incoming("in", "once", 2, 7));
    h.inject(pubrec(2));
    reconnect(&mut h, connack_present());
    assert_eq!(
        h.sent(),
        [
            on_wire(msg("t", "a", 1), Some(1), true),
            Subscribe::new(pid(3), subscriptions(&["x"], 1)).into(),
            pubrel(2).into(),
        ]
    );
    h.inject(dup(incoming("in", "once", 2, 7)));
    assert_eq!(h.sent(), [Packet::from(pubrec(7))]);
    assert!(delivered(&mut h).is_empty(), "delivered twice");
    h.inject(pubrel(7));
    assert_eq!(h.sent(), [Packet::from(pubcomp(7))]);
    h.inject(puback(1));
    h.inject(pubcomp(2));
    assert_eq!(completed(&mut h), [1, 2]);
}

/// The Client keeps all Session state while the connection is open, however long.
#[test]
fn mqtt_311_4_1_0_1_state_kept_while_connected() {
    for mode in V311 {
        state_kept_while_connected(mode, resuming(mode));
    }
}

/// With Clean Session 0 the Client keeps its Session state across connections.
#[test]
fn mqtt_311_4_1_0_1_state_kept_across_connections() {
    for mode in V311 {
        state_kept_across_connections(mode);
    }
}

/// A Session lasts at least as long as its network connection, even with Clean Session 1.
#[test]
fn mqtt_311_4_1_0_2_session_lasts_while_connected() {
    for mode in V311 {
        state_kept_while_connected(mode, mode.config());
    }
}

/// The Client does not discard its Session State while the network connection is open.
#[test]
fn mqtt_5_4_1_0_1_state_kept_while_connected() {
    for mode in V5 {
        let mut config = mode.config();
        config.connect_properties.session_expiry_interval = Some(0);
        state_kept_while_connected(mode, config);
    }
}

// ---- MQTT-4.3.1-1: QoS 0 ----------------------------------------------------------------

/// A QoS 0 PUBLISH goes out with QoS 0, DUP 0 and no packet identifier, whatever the
/// application put in those fields, online or after waiting offline.
fn qos0_sent_with_dup0(mode: Mode) {
    let tampered = |payload: &'static str| {
        let mut publish = msg("t", payload, 0);
        publish.dup = true;
        publish.packet_id = Some(pid(9));
        publish
    };
    let mut h = Harness::new(mode);
    h.cmd(|s, now| s.publish(now, tampered("offline"))).unwrap();
    h.open();
    h.skip();
    h.inject(ConnAck::default());
    h.cmd(|s, now| s.publish(now, tampered("online"))).unwrap();
    assert_eq!(
        h.sent(),
        [
            on_wire(msg("t", "offline", 0), None, false),
            on_wire(msg("t", "online", 0), None, false),
        ]
    );
}

/// A QoS 0 PUBLISH with DUP 1 from the server breaks the rule: the client closes the
/// connection (DISCONNECT 0x81 first in MQTT 5.0) and delivers nothing.
fn qos0_dup1_received_closes(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    let mut bytes = vec![0x38, 0x03, 0x00, 0x01, b't'];
    if mode.v5() {
        bytes[1] += 1;
        bytes.push(0);
    }
    h.inject_bytes(&bytes);
    assert_eq!(h.session.state(), ConnectionState::Disconnected);
    let sent = h.sent();
    if mode.v5() {
        assert_eq!(
            sent,
            [Packet::from(Disconnect::new(ReasonCode::MALFORMED_PACKET))]
        );
    } else {
        assert!(sent.is_empty(), "{sent:?}");
    }
    let events = h.events();
    assert!(
        matches!(
            events.as_slice(),
            [Event::Disconnected(DisconnectReason::ProtocolError { .. })]
        ),
        "{events:?}"
    );
}

/// QoS 0 sender: the PUBLISH has QoS 0 and DUP 0.
#[test]
fn mqtt_311_4_3_1_1_qos0_publish_dup0() {
    for mode in V311 {
        qos0_sent_with_dup0(mode);
    }
}

/// A QoS 0 PUBLISH must have DUP 0: one from the server with DUP 1 closes the connection.
#[test]
fn mqtt_311_4_3_1_1_qos0_dup1_received_closes() {
    for mode in V311 {
        qos0_dup1_received_closes(mode);
    }
}

/// QoS 0 sender: the PUBLISH has QoS 0 and DUP 0.
#[test]
fn mqtt_5_4_3_1_1_qos0_publish_dup0() {
    for mode in V5 {
        qos0_sent_with_dup0(mode);
    }
}

/// A QoS 0 PUBLISH must have DUP 0: one from the server with DUP 1 closes the connection.
#[test]
fn mqtt_5_4_3_1_1_qos0_dup1_received_closes() {
    for mode in V5 {
        qos0_dup1_received_closes(mode);
    }
}

// ---- QoS 1 and 2 senders ------------------------------------------------------------------

/// Every new QoS `q` message gets a packet identifier no exchange in flight uses: not one of
/// another publish, a SUBSCRIBE or an UNSUBSCRIBE, and not one the server may still answer.
fn new_ids_unused(mode: Mode, q: u8) {
    let mut h = Harness::new(mode);
    h.connect();
    h.cmd(|s, now| s.subscribe(now, subscriptions(&["x"], 1), Default::default()))
        .unwrap();
    for payload in ["a", "b", "c"] {
        h.cmd(|s, now| s.publish(now, msg("t", payload, q)))
            .unwrap();
    }
    h.cmd(|s, now| s.unsubscribe(now, vec![filter("y")], Default::default()))
        .unwrap();
    let sent = h.sent();
    let mut ids = publish_ids(&sent);
    assert_eq!(ids.len(), 3);
    ids.extend([1, 5]); // the SUBSCRIBE and the UNSUBSCRIBE
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 5, "identifiers shared: {sent:?}");
    // Finish the second publish; a new one may reuse only that identifier.
    let finished = ids[1];
    if q == 1 {
        h.inject(puback(finished));
    } else {
        h.inject(pubrec(finished));
        h.inject(pubcomp(finished));
    }
    h.skip();
    for payload in ["d", "e"] {
        h.cmd(|s, now| s.publish(now, msg("t", payload, q)))
            .unwrap();
    }
    let again = publish_ids(&h.sent());
    for id in &again {
        assert!(
            *id == finished || !ids.contains(id),
            "identifier {id} is still in use ({ids:?})"
        );
    }
    assert_ne!(again[0], again[1]);
}

/// A new QoS `q` message goes out with its QoS, DUP 0 and a packet identifier, whatever the
/// application put in DUP and the identifier, online or after waiting offline.
fn new_publish_flags(mode: Mode, q: u8) {
    let tampered = |payload: &'static str| {
        let mut publish = msg("t", payload, q);
        publish.dup = true;
        publish.packet_id = Some(pid(999));
        publish
    };
    let mut h = Harness::new(mode);
    h.cmd(|s, now| s.publish(now, tampered("offline"))).unwrap();
    h.open();
    h.skip();
    h.inject(ConnAck::default());
    h.cmd(|s, now| s.publish(now, tampered("online"))).unwrap();
    assert_eq!(
        h.sent(),
        [
            on_wire(msg("t", "offline", q), Some(1), false),
            on_wire(msg("t", "online", q), Some(2), false),
        ]
    );
}

/// A QoS 1 PUBLISH stays unacknowledged until its PUBACK: other acknowledgements do not end
/// it, a resumed session resends it; after PUBACK it is never sent again.
fn qos1_unacknowledged_until_puback(mode: Mode) {
    let mut h = resumable(mode, resuming(mode));
    let id = h.cmd(|s, now| s.publish(now, msg("t", "a", 1))).unwrap();
    h.skip();
    h.inject(pubcomp(1));
    h.inject(puback(2));
    assert!(completed(&mut h).is_empty());
    assert_eq!(h.session.publishes_in_flight(), 1);
    reconnect(&mut h, connack_present());
    assert_eq!(h.sent(), [on_wire(msg("t", "a", 1), Some(1), true)]);
    h.inject(puback(1));
    assert_eq!(completed(&mut h), [id.get()]);
    assert_eq!(h.session.publishes_in_flight(), 0);
    reconnect(&mut h, connack_present());
    assert!(h.sent().is_empty());
}

/// A QoS 2 PUBLISH stays unacknowledged until its PUBREC: PUBACK or PUBCOMP do not end it,
/// a resumed session resends it; after PUBREC it is never sent again.
fn qos2_unacknowledged_until_pubrec(mode: Mode) {
    let mut h = resumable(mode, resuming(mode));
    h.cmd(|s, now| s.publish(now, msg("t", "a", 2))).unwrap();
    h.skip();
    h.inject(puback(1));
    h.inject(pubcomp(1));
    assert!(completed(&mut h).is_empty());
    assert!(h.sent().is_empty());
    reconnect(&mut h, connack_present());
    assert_eq!(h.sent(), [on_wire(msg("t", "a", 2), Some(1), true)]);
    h.inject(pubrec(1));
    assert_eq!(h.sent(), [Packet::from(pubrel(1))]);
    reconnect(&mut h, connack_present());
    assert_eq!(h.sent(), [Packet::from(pubrel(1))]);
}

/// A PUBREC with a success code is answered with a PUBREL carrying the PUBLISH's packet
/// identifier: each of two publishes gets its own.
fn pubrel_on_pubrec(mode: Mode, code: ReasonCode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.cmd(|s, now| s.publish(now, msg("t", "a", 2))).unwrap();
    h.cmd(|s, now| s.publish(now, msg("t", "b", 2))).unwrap();
    assert_eq!(publish_ids(&h.sent()), [1, 2]);
    h.inject(PubRec {
        reason_code: code,
        ..pubrec(2)
    });
    assert_eq!(h.sent(), [Packet::from(pubrel(2))]);
    h.inject(PubRec {
        reason_code: code,
        ..pubrec(1)
    });
    assert_eq!(h.sent(), [Packet::from(pubrel(1))]);
    assert!(completed(&mut h).is_empty(), "not complete before PUBCOMP");
}

/// A PUBREL stays unacknowledged until PUBCOMP: a PUBACK does not end it, a repeated PUBREC
/// gets it again, a resumed session resends it; after PUBCOMP it is never sent again.
fn pubrel_unacknowledged_until_pubcomp(mode: Mode) {
    let mut h = resumable(mode, resuming(mode));
    let id = h.cmd(|s, now| s.publish(now, msg("t", "a", 2))).unwrap();
    h.inject(pubrec(1));
    h.skip();
    h.inject(puback(1));
    assert!(completed(&mut h).is_empty());
    assert_eq!(h.session.publishes_in_flight(), 1);
    h.inject(pubrec(1));
    assert_eq!(h.sent(), [Packet::from(pubrel(1))]);
    reconnect(&mut h, connack_present());
    assert_eq!(h.sent(), [Packet::from(pubrel(1))]);
    h.inject(pubcomp(1));
    assert_eq!(completed(&mut h), [id.get()]);
    reconnect(&mut h, connack_present());
    assert!(h.sent().is_empty());
}

/// Once PUBREL went out, the PUBLISH is never sent again: not on a repeated PUBREC, not on a
/// resumed session, not after a long idle time, and (MQTT 5.0) not when a lower Receive
/// Maximum makes publishes wait for room on the new connection.
fn never_publish_after_pubrel(mode: Mode) {
    let mut h = resumable(mode, resuming(mode));
    h.cmd(|s, now| s.publish(now, msg("t", "a", 2))).unwrap();
    h.cmd(|s, now| s.publish(now, msg("t", "b", 1))).unwrap();
    h.inject(pubrec(1));
    let mut all = h.sent();
    h.inject(pubrec(1));
    all.extend(h.sent());
    all.extend(idle(&mut h, Duration::from_secs(3600)));
    reconnect(&mut h, connack_present());
    let resent = h.sent();
    assert_eq!(
        resent,
        [on_wire(msg("t", "b", 1), Some(2), true), pubrel(1).into()]
    );
    all.extend(resent);
    if mode.v5() {
        // Room for one publish only, which the released one holds: "b" waits, "a" stays
        // released.
        reconnect(&mut h, present_with_receive_maximum(1));
        let resent = h.sent();
        assert_eq!(resent, [Packet::from(pubrel(1))]);
        all.extend(resent);
        h.inject(pubcomp(1));
        let after = h.sent();
        assert_eq!(after, [on_wire(msg("t", "b", 1), Some(2), true)]);
        all.extend(after);
    }
    assert_eq!(publish_ids(&all).iter().filter(|&&id| id == 1).count(), 1);
    no_publish_with_id(&all[1..], 1);
}

/// QoS 1 sender: each new message gets a currently unused packet identifier.
#[test]
fn mqtt_311_4_3_2_1_new_unused_id() {
    for mode in V311 {
        new_ids_unused(mode, 1);
    }
}

/// QoS 1 sender: the PUBLISH has QoS 1 and DUP 0.
#[test]
fn mqtt_311_4_3_2_1_qos1_dup0() {
    for mode in V311 {
        new_publish_flags(mode, 1);
    }
}

/// QoS 1 sender: the PUBLISH stays unacknowledged until the matching PUBACK.
#[test]
fn mqtt_311_4_3_2_1_unacknowledged_until_puback() {
    for mode in V311 {
        qos1_unacknowledged_until_puback(mode);
    }
}

/// QoS 1 sender: each new message gets a currently unused packet identifier.
#[test]
fn mqtt_5_4_3_2_1_new_unused_id() {
    for mode in V5 {
        new_ids_unused(mode, 1);
    }
}

/// QoS 1 sender: the PUBLISH has QoS 1 and DUP 0.
#[test]
fn mqtt_5_4_3_2_2_qos1_dup0() {
    for mode in V5 {
        new_publish_flags(mode, 1);
    }
}

/// QoS 1 sender: the PUBLISH stays unacknowledged until the matching PUBACK.
#[test]
fn mqtt_5_4_3_2_3_unacknowledged_until_puback() {
    for mode in V5 {
        qos1_unacknowledged_until_puback(mode);
    }
}

/// QoS 2 sender: a new unused packet identifier for each new message.
#[test]
fn mqtt_311_4_3_3_1_new_unused_id() {
    for mode in V311 {
        new_ids_unused(mode, 2);
    }
}

/// QoS 2 sender: the PUBLISH has QoS 2 and DUP 0.
#[test]
fn mqtt_311_4_3_3_1_qos2_dup0() {
    for mode in V311 {
        new_publish_flags(mode, 2);
    }
}

/// QoS 2 sender: the PUBLISH stays unacknowledged until the matching PUBREC.
#[test]
fn mqtt_311_4_3_3_1_unacknowledged_until_pubrec() {
    for mode in V311 {
        qos2_unacknowledged_until_pubrec(mode);
    }
}

/// QoS 2 sender: PUBREC is answered with PUBREL carrying the PUBLISH's packet identifier.
#[test]
fn mqtt_311_4_3_3_1_pubrel_on_pubrec() {
    for mode in V311 {
        pubrel_on_pubrec(mode, ReasonCode::SUCCESS);
    }
}

/// QoS 2 sender: a PUBREC of 0x80 or more gets no PUBREL, whether its packet identifier is in
/// flight or not (`50 03 00 01 80`, `50 03 00 07 97`); an unknown one below 0x80 still gets
/// PUBREL 0x92 (§4.3.3).
#[test]
fn mqtt_5_4_3_3_4_no_pubrel_on_failed_pubrec() {
    for mode in V5 {
        let mut h = Harness::new(mode);
        h.connect();
        h.raw_frames();
        h.inject_bytes(&[0x50, 0x03, 0x00, 0x01, 0x80]);
        h.inject_bytes(&[0x50, 0x03, 0x00, 0x07, 0x97]);
        assert!(h.raw_frames().is_empty(), "nothing answers a failed PUBREC");
        assert!(h.session.is_connected());
        h.inject_bytes(&[0x50, 0x03, 0x00, 0x07, 0x10]);
        assert_eq!(h.raw_frames(), [[0x62, 0x03, 0x00, 0x07, 0x92]]);

        let id = h.cmd(|s, now| s.publish(now, msg("t", "x", 2))).unwrap();
        h.raw_frames();
        h.skip();
        h.inject_bytes(&[0x50, 0x03, 0x00, 0x01, 0x80]);
        assert!(h.raw_frames().is_empty(), "nothing answers a failed PUBREC");
        match h.events().as_slice() {
            [Event::PublishFailed(f)] => assert_eq!(f.id, id),
            other => panic!("{other:?}"),
        }
        h.inject_bytes(&[0x50, 0x03, 0x00, 0x01, 0x80]);
        assert!(h.raw_frames().is_empty(), "nor when it comes again");
        assert!(h.session.is_connected());
    }
}

/// QoS 2 sender: the PUBREL stays unacknowledged until the matching PUBCOMP.
#[test]
fn mqtt_311_4_3_3_1_pubrel_unacknowledged_until_pubcomp() {
    for mode in V311 {
        pubrel_unacknowledged_until_pubcomp(mode);
    }
}

/// QoS 2 sender: the PUBLISH is never sent again once PUBREL went out.
#[test]
fn mqtt_311_4_3_3_1_never_publish_after_pubrel() {
    for mode in V311 {
        never_publish_after_pubrel(mode);
    }
}

/// QoS 2 sender: each new message gets a currently unused packet identifier.
#[test]
fn mqtt_5_4_3_3_1_new_unused_id() {
    for mode in V5 {
        new_ids_unused(mode, 2);
    }
}

/// QoS 2 sender: the PUBLISH has QoS 2 and DUP 0.
#[test]
fn mqtt_5_4_3_3_2_qos2_dup0() {
    for mode in V5 {
        new_publish_flags(mode, 2);
    }
}

/// QoS 2 sender: the PUBLISH stays unacknowledged until the matching PUBREC.
#[test]
fn mqtt_5_4_3_3_3_unacknowledged_until_pubrec() {
    for mode in V5 {
        qos2_unacknowledged_until_pubrec(mode);
    }
}

/// QoS 2 sender: a PUBREC below 0x80 gets a PUBREL with the same packet identifier.
#[test]
fn mqtt_5_4_3_3_4_pubrel_on_pubrec() {
    for mode in V5 {
        pubrel_on_pubrec(mode, ReasonCode::SUCCESS);
        pubrel_on_pubrec(mode, ReasonCode::NO_MATCHING_SUBSCRIBERS);
    }
}

/// QoS 2 sender: the PUBREL stays unacknowledged until the matching PUBCOMP.
#[test]
fn mqtt_5_4_3_3_5_pubrel_unacknowledged_until_pubcomp() {
    for mode in V5 {
        pubrel_unacknowledged_until_pubcomp(mode);
    }
}

/// QoS 2 sender: the PUBLISH is never sent again once PUBREL went out.
#[test]
fn mqtt_5_4_3_3_6_never_publish_after_pubrel() {
    for mode in V5 {
        never_publish_after_pubrel(mode);
    }
}

/// QoS 2 sender: once its PUBLISH was sent, a message never expires.
#[test]
fn mqtt_5_4_3_3_7_no_expiry_once_sent() {
    let expiring = |payload: &'static str| {
        let mut p = msg("t", payload, 2);
        p.properties_mut().message_expiry_interval = Some(1);
        p
    };
    for mode in V5 {
        // Same connection: the PUBREC comes late.
        let mut h = Harness::new(mode);
        h.connect();
        h.cmd(|s, now| s.publish(now, expiring("a"))).unwrap();
        h.skip();
        assert!(idle(&mut h, Duration::from_secs(30)).is_empty());
        h.inject(pubrec(1));
        assert_eq!(h.sent(), [Packet::from(pubrel(1))]);
        h.inject(pubcomp(1));
        assert_eq!(completed(&mut h), [1]);

        // Resumed session after the interval: both resent (DUP), none failed as expired;
        // "b" waits for room under the new Receive Maximum and then goes out too.
        let mut h = resumable(mode, resuming(mode));
        h.cmd(|s, now| s.publish(now, expiring("a"))).unwrap();
        h.cmd(|s, now| s.publish(now, expiring("b"))).unwrap();
        h.close();
        h.advance(Duration::from_secs(10));
        reconnect(&mut h, present_with_receive_maximum(1));
        assert_eq!(h.sent(), [on_wire(expiring("a"), Some(1), true)]);
        let events = h.events();
        assert!(
            !events.iter().any(|e| matches!(e, Event::PublishFailed(_))),
            "{events:?}"
        );
        h.advance(Duration::from_secs(10));
        h.inject(pubrec(1));
        h.inject(pubcomp(1));
        assert_eq!(
            h.sent(),
            [
                Packet::from(pubrel(1)),
                on_wire(expiring("b"), Some(2), true)
            ]
        );
        h.inject(pubrec(2));
        h.inject(pubcomp(2));
        assert_eq!(h.sent(), [Packet::from(pubrel(2))]);
        assert_eq!(completed(&mut h), [1, 2]);
    }
}

// ---- QoS 1 and 2 receivers --------------------------------------------------------------

/// Each QoS 1 PUBLISH is answered with a PUBACK carrying its packet identifier.
fn puback_same_id(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    for id in [5, 300, 65535] {
        h.inject(incoming("t", "x", 1, id));
    }
    assert_eq!(
        h.sent(),
        [
            Packet::from(puback(5)),
            puback(300).into(),
            puback(65535).into()
        ]
    );
}

/// Once the PUBACK went out, a PUBLISH with the same packet identifier is a new message,
/// with DUP 0 or 1: delivered and acknowledged again.
fn qos1_same_id_after_puback_is_new(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.inject(incoming("t", "first", 1, 5));
    assert_eq!(h.sent(), [Packet::from(puback(5))]);
    h.inject(incoming("t", "second", 1, 5));
    h.inject(dup(incoming("t", "third", 1, 5)));
    assert_eq!(delivered(&mut h), ["first", "second", "third"]);
    assert_eq!(h.sent(), [Packet::from(puback(5)), puback(5).into()]);
}

/// Each QoS 2 PUBLISH is answered with a PUBREC carrying its packet identifier.
fn pubrec_same_id(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    for id in [7, 300, 65535] {
        h.inject(incoming("t", "x", 2, id));
    }
    assert_eq!(
        h.sent(),
        [
            Packet::from(pubrec(7)),
            pubrec(300).into(),
            pubrec(65535).into()
        ]
    );
}

/// Until PUBREL, a PUBLISH with the same packet identifier gets PUBREC again and is not
/// delivered again: on the same connection, on a resumed one, and (delivery on PUBREL) when
/// the release comes.
fn qos2_duplicate_before_pubrel(mode: Mode) {
    for on_pubrel in [false, true] {
        let mut config = resuming(mode);
        if on_pubrel {
            config.qos2_delivery = Qos2Delivery::OnPubRel;
        }
        let mut h = resumable(mode, config);
        h.inject(incoming("t", "once", 2, 7));
        assert_eq!(h.sent(), [Packet::from(pubrec(7))]);
        h.inject(dup(incoming("t", "once", 2, 7)));
        assert_eq!(h.sent(), [Packet::from(pubrec(7))]);
        let mut all = delivered(&mut h);
        reconnect(&mut h, connack_present());
        h.inject(dup(incoming("t", "once", 2, 7)));
        assert_eq!(h.sent(), [Packet::from(pubrec(7))]);
        h.inject(pubrel(7));
        assert_eq!(h.sent(), [Packet::from(pubcomp(7))]);
        all.extend(delivered(&mut h));
        assert_eq!(all, ["once"], "delivered exactly once");
    }
}

/// A PUBREL is answered with a PUBCOMP carrying its packet identifier, in whatever order the
/// releases come.
fn pubcomp_on_pubrel(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.inject(incoming("t", "a", 2, 7));
    h.inject(incoming("t", "b", 2, 300));
    h.skip();
    h.inject(pubrel(300));
    assert_eq!(h.sent(), [Packet::from(pubcomp(300))]);
    h.inject(pubrel(7));
    assert_eq!(h.sent(), [Packet::from(pubcomp(7))]);
}

/// Once PUBCOMP went out, a PUBLISH with the same packet identifier is a new message: it is
/// delivered and starts a new exchange.
fn qos2_same_id_after_pubcomp_is_new(mode: Mode) {
    for on_pubrel in [false, true] {
        let mut config = mode.config();
        if on_pubrel {
            config.qos2_delivery = Qos2Delivery::OnPubRel;
        }
        let mut h = Harness::with_config(mode, config);
        h.connect();
        h.inject(incoming("t", "first", 2, 7));
        h.inject(pubrel(7));
        assert_eq!(h.sent(), [Packet::from(pubrec(7)), pubcomp(7).into()]);
        h.inject(dup(incoming("t", "second", 2, 7)));
        assert_eq!(h.sent(), [Packet::from(pubrec(7))]);
        h.inject(pubrel(7));
        assert_eq!(h.sent(), [Packet::from(pubcomp(7))]);
        assert_eq!(delivered(&mut h), ["first", "second"]);
    }
}

/// QoS 1 receiver: the PUBACK carries the PUBLISH's packet identifier.
#[test]
fn mqtt_311_4_3_2_2_puback_same_id() {
    for mode in V311 {
        puback_same_id(mode);
    }
}

/// QoS 1 receiver: after its PUBACK, a PUBLISH with the same identifier is a new message.
#[test]
fn mqtt_311_4_3_2_2_same_id_after_puback_is_new() {
    for mode in V311 {
        qos1_same_id_after_puback_is_new(mode);
    }
}

/// QoS 1 receiver: the PUBACK carries the PUBLISH's packet identifier.
#[test]
fn mqtt_5_4_3_2_4_puback_same_id() {
    for mode in V5 {
        puback_same_id(mode);
    }
}

/// QoS 1 receiver: after its PUBACK, the same identifier is a new message, whatever DUP says.
#[test]
fn mqtt_5_4_3_2_5_same_id_after_puback_is_new() {
    for mode in V5 {
        qos1_same_id_after_puback_is_new(mode);
    }
}

/// QoS 2 receiver: PUBREC carries the PUBLISH's packet identifier.
#[test]
fn mqtt_311_4_3_3_2_pubrec_same_id() {
    for mode in V311 {
        pubrec_same_id(mode);
    }
}

/// QoS 2 receiver: until PUBREL a repeated PUBLISH gets PUBREC again, with no second delivery.
#[test]
fn mqtt_311_4_3_3_2_duplicate_before_pubrel() {
    for mode in V311 {
        qos2_duplicate_before_pubrel(mode);
    }
}

/// QoS 2 receiver: PUBREL is answered with PUBCOMP carrying the same packet identifier.
#[test]
fn mqtt_311_4_3_3_2_pubcomp_on_pubrel() {
    for mode in V311 {
        pubcomp_on_pubrel(mode);
    }
}

/// QoS 2 receiver: after PUBCOMP, the same packet identifier starts a new message.
#[test]
fn mqtt_311_4_3_3_2_same_id_after_pubcomp_is_new() {
    for mode in V311 {
        qos2_same_id_after_pubcomp_is_new(mode);
    }
}

/// QoS 2 receiver: the PUBREC carries the PUBLISH's packet identifier.
#[test]
fn mqtt_5_4_3_3_8_pubrec_same_id() {
    for mode in V5 {
        pubrec_same_id(mode);
    }
}

/// QoS 2 receiver: after a PUBREC of 0x80 or more, the same identifier is a new message.
#[test]
fn mqtt_5_4_3_3_9_same_id_after_refused_pubrec_is_new() {
    for mode in V5 {
        let mut h = Harness::with_config(mode, manual(mode.config()));
        h.connect();
        h.inject(incoming("t", "refused", 2, 7));
        ack(&mut h, 7, ReasonCode::QUOTA_EXCEEDED);
        assert_eq!(
            h.sent(),
            [Packet::from(PubRec {
                reason_code: ReasonCode::QUOTA_EXCEEDED,
                ..pubrec(7)
            })]
        );
        h.inject(dup(incoming("t", "again", 2, 7)));
        assert_eq!(delivered(&mut h), ["refused", "again"]);
        ack(&mut h, 7, ReasonCode::SUCCESS);
        assert_eq!(h.sent(), [Packet::from(pubrec(7))]);
        h.inject(pubrel(7));
        assert_eq!(h.sent(), [Packet::from(pubcomp(7))]);
    }
}

/// QoS 2 receiver: until PUBREL a repeated PUBLISH gets PUBREC again, with no second delivery.
#[test]
fn mqtt_5_4_3_3_10_duplicate_before_pubrel() {
    for mode in V5 {
        qos2_duplicate_before_pubrel(mode);
    }
}

/// QoS 2 receiver: a PUBREL is answered with PUBCOMP carrying the same packet identifier.
#[test]
fn mqtt_5_4_3_3_11_pubcomp_on_pubrel() {
    for mode in V5 {
        pubcomp_on_pubrel(mode);
    }
}

/// QoS 2 receiver: after PUBCOMP, the same packet identifier starts a new message.
#[test]
fn mqtt_5_4_3_3_12_same_id_after_pubcomp_is_new() {
    for mode in V5 {
        qos2_same_id_after_pubcomp_is_new(mode);
    }
}

/// QoS 2 receiver: the acknowledgements go on after the message's expiry interval ran out.
#[test]
fn mqtt_5_4_3_3_13_ack_sequence_after_expiry() {
    for mode in V5 {
        for on_pubrel in [false, true] {
            let mut config = mode.config();
            if on_pubrel {
                config.qos2_delivery = Qos2Delivery::OnPubRel;
            }
            let mut h = Harness::with_config(mode, config);
            h.connect();
            let mut p = incoming("t", "short-lived", 2, 7);
            p.properties_mut().message_expiry_interval = Some(1);
            h.inject(p.clone());
            assert_eq!(h.sent(), [Packet::from(pubrec(7))]);
            assert!(idle(&mut h, Duration::from_secs(30)).is_empty());
            h.inject(dup(p));
            assert_eq!(h.sent(), [Packet::from(pubrec(7))]);
            h.advance(Duration::from_secs(5));
            h.inject(pubrel(7));
            assert_eq!(h.sent(), [Packet::from(pubcomp(7))]);
        }
    }
}

// ---- MQTT-4.4.0-x: resending --------------------------------------------------------------

/// On a resumed session, every unacknowledged QoS 1 and 2 PUBLISH goes again with its
/// original packet identifier (DUP 1), and every unacknowledged PUBREL goes again; finished
/// exchanges and QoS 0 messages do not.
fn resend_on_resume(mode: Mode) {
    let mut h = resumable(mode, resuming(mode));
    for (payload, q) in [("a", 1), ("b", 2), ("c", 2), ("d", 1), ("e", 0), ("f", 2)] {
        h.cmd(|s, now| s.publish(now, msg("t", payload, q)))
            .unwrap();
    }
    h.inject(pubrec(3));
    h.inject(puback(4));
    h.inject(pubrec(5));
    h.inject(pubcomp(5));
    reconnect(&mut h, connack_present());
    assert_eq!(
        h.sent(),
        [
            on_wire(msg("t", "a", 1), Some(1), true),
            on_wire(msg("t", "b", 2), Some(2), true),
            pubrel(3).into(),
        ]
    );
}

/// On a Clean Session 0 reconnect, unacked QoS>0 PUBLISH and PUBREL go again with their ids.
#[test]
fn mqtt_311_4_4_0_1_resend_on_resume() {
    for mode in V311 {
        resend_on_resume(mode);
    }
}

/// On a resumed session, unacked QoS>0 PUBLISH and PUBREL go again with their original ids.
#[test]
fn mqtt_5_4_4_0_1_resend_on_resume() {
    for mode in V5 {
        resend_on_resume(mode);
    }
}

/// Messages are never resent except when a session is resumed.
#[test]
fn mqtt_5_4_4_0_1_never_resend_otherwise() {
    for mode in V5 {
        let mut config = resuming(mode);
        config.session_lost = SessionLostPolicy::Fail;
        let mut h = resumable(mode, config);
        h.cmd(|s, now| s.publish(now, msg("t", "a", 1))).unwrap();
        h.cmd(|s, now| s.publish(now, msg("t", "b", 2))).unwrap();
        h.cmd(|s, now| s.publish(now, msg("t", "c", 1))).unwrap();
        h.inject(pubrec(2));
        h.skip();
        assert!(idle(&mut h, Duration::from_secs(4 * 3600)).is_empty());
        h.inject(puback(3));
        h.inject(puback(9));
        assert!(h.sent().is_empty());
        reconnect(&mut h, ConnAck::default());
        let sent = h.sent();
        assert!(
            !sent
                .iter()
                .any(|p| matches!(p, Packet::Publish(_) | Packet::PubRel(_))),
            "{sent:?}"
        );
    }
}

/// A PUBACK or PUBREC of 0x80 or more acknowledges the PUBLISH: it is never retransmitted.
#[test]
fn mqtt_5_4_4_0_2_refused_never_retransmitted() {
    for mode in V5 {
        let mut h = resumable(mode, resuming(mode));
        h.cmd(|s, now| s.publish(now, msg("t", "a", 1))).unwrap();
        h.cmd(|s, now| s.publish(now, msg("t", "b", 2))).unwrap();
        h.cmd(|s, now| s.publish(now, msg("t", "c", 2))).unwrap();
        h.skip();
        h.inject(PubAck {
            reason_code: ReasonCode::NOT_AUTHORIZED,
            ..puback(1)
        });
        h.inject(PubRec {
            reason_code: ReasonCode::QUOTA_EXCEEDED,
            ..pubrec(2)
        });
        assert!(h.sent().is_empty(), "no PUBREL, no resend");
        let failed = h
            .events()
            .iter()
            .filter(|e| matches!(e, Event::PublishFailed(_)))
            .count();
        assert_eq!(failed, 2);
        assert!(idle(&mut h, Duration::from_secs(3600)).is_empty());
        reconnect(&mut h, connack_present());
        assert_eq!(h.sent(), [on_wire(msg("t", "c", 2), Some(3), true)]);
    }
}

// ---- MQTT-4.5.0-2: acknowledging what is not processed ------------------------------------

/// Every QoS 1 and 2 PUBLISH is acknowledged whether or not the application takes it: on a
/// topic with no subscription, with events left unread, and (MQTT 5.0) when the application
/// refuses it, which still sends the acknowledgement, with the refusal's reason code.
fn acknowledge_unprocessed(mode: Mode) {
    let mut config = mode.config();
    config.max_pending_events = 1;
    let mut session = Session::new(config);
    let t = Instant::ZERO;
    session.handle_transport_opened(t).unwrap();
    let mut connack = Vec::new();
    Packet::from(ConnAck::default())
        .encode(mode.version, &mut connack)
        .unwrap();
    session.handle_bytes(t, &connack);
    while session.poll_transmit().is_some() {}
    // The application reads no event from here on.
    let mut bytes = Vec::new();
    for p in [
        incoming("nobody/listens", "1", 1, 1),
        incoming("nobody/listens", "2", 2, 2),
    ] {
        Packet::from(p).encode(mode.version, &mut bytes).unwrap();
    }
    Packet::from(pubrel(2))
        .encode(mode.version, &mut bytes)
        .unwrap();
    session.handle_bytes(t, &bytes);
    let mut wire = bytes::BytesMut::new();
    while let Some(chunk) = session.poll_transmit() {
        wire.extend_from_slice(&chunk);
    }
    let decoder = Decoder::new(mode.version);
    let mut sent = Vec::new();
    while let Some(p) = decoder.decode(&mut wire).unwrap() {
        sent.push(p);
    }
    assert_eq!(
        sent,
        [Packet::from(puback(1)), pubrec(2).into(), pubcomp(2).into()]
    );

    if mode.v5() {
        let mut h = Harness::with_config(mode, manual(mode.config()));
        h.connect();
        h.inject(incoming("t", "1", 1, 1));
        h.inject(incoming("t", "2", 2, 2));
        ack(&mut h, 1, ReasonCode::IMPLEMENTATION_SPECIFIC_ERROR);
        ack(&mut h, 2, ReasonCode::PAYLOAD_FORMAT_INVALID);
        assert_eq!(
            h.sent(),
            [
                Packet::from(PubAck {
                    reason_code: ReasonCode::IMPLEMENTATION_SPECIFIC_ERROR,
                    ..puback(1)
                }),
                PubRec {
                    reason_code: ReasonCode::PAYLOAD_FORMAT_INVALID,
                    ..pubrec(2)
                }
                .into(),
            ]
        );
    }
}

/// The Client acknowledges every PUBLISH as its QoS requires, even one it does not process.
#[test]
fn mqtt_311_4_5_0_2_acknowledge_unprocessed() {
    for mode in V311 {
        acknowledge_unprocessed(mode);
    }
}

/// The Client acknowledges every PUBLISH as its QoS requires, even one it does not process.
#[test]
fn mqtt_5_4_5_0_2_acknowledge_unprocessed() {
    for mode in V5 {
        acknowledge_unprocessed(mode);
    }
}

// ---- MQTT-4.6.0-x: ordering ---------------------------------------------------------------

/// Resent PUBLISH packets go out in the order they were first sent, whichever acknowledgements
/// arrived in between, and again so on the next resumption.
fn resend_in_original_order(mode: Mode) {
    let mut h = resumable(mode, resuming(mode));
    let payloads = ["p1", "p2", "p3", "p4", "p5", "p6"];
    for (payload, q) in payloads.iter().zip([1, 2, 1, 2, 1, 2]) {
        h.cmd(|s, now| s.publish(now, msg("t", payload, q)))
            .unwrap();
    }
    h.inject(puback(3));
    h.inject(pubrec(6));
    h.inject(pubcomp(6));
    let expected = vec![
        on_wire(msg("t", "p1", 1), Some(1), true),
        on_wire(msg("t", "p2", 2), Some(2), true),
        on_wire(msg("t", "p4", 2), Some(4), true),
        on_wire(msg("t", "p5", 1), Some(5), true),
    ];
    reconnect(&mut h, connack_present());
    assert_eq!(h.sent(), expected);
    reconnect(&mut h, connack_present());
    assert_eq!(h.sent(), expected);
}

/// Resent PUBLISH packets go out in their original order.
#[test]
fn mqtt_311_4_6_0_1_resend_in_original_order() {
    for mode in V311 {
        resend_in_original_order(mode);
    }
}

/// The Client resends PUBLISH packets in their original order.
#[test]
fn mqtt_5_4_6_0_1_resend_in_original_order() {
    for mode in V5 {
        resend_in_original_order(mode);
    }
}

/// Resent PUBLISHes keep their order when a lower Receive Maximum makes some wait.
#[test]
fn mqtt_5_4_6_0_1_resend_in_original_order_small_window() {
    for mode in V5 {
        let mut h = resumable(mode, resuming(mode));
        for payload in ["p1", "p2", "p3", "p4"] {
            h.cmd(|s, now| s.publish(now, msg("t", payload, 1)))
                .unwrap();
        }
        h.close();
        h.cmd(|s, now| s.publish(now, msg("t", "new", 1))).unwrap();
        reconnect(&mut h, present_with_receive_maximum(2));
        assert_eq!(publish_ids(&h.sent()), [1, 2]);
        h.inject(puback(2));
        assert_eq!(publish_ids(&h.sent()), [3]);
        h.inject(puback(1));
        assert_eq!(publish_ids(&h.sent()), [4]);
        h.inject(puback(3));
        let sent = h.sent();
        assert_eq!(sent, [on_wire(msg("t", "new", 1), Some(5), false)]);
    }
}

/// PUBACKs leave in the order the PUBLISH packets arrived, also when the application
/// acknowledges out of order.
fn pubacks_in_arrival_order(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    for id in [3, 1, 2] {
        h.inject(incoming("t", "x", 1, id));
    }
    assert_eq!(
        h.sent(),
        [Packet::from(puback(3)), puback(1).into(), puback(2).into()]
    );

    let mut h = Harness::with_config(mode, manual(mode.config()));
    h.connect();
    for id in [1, 2, 3] {
        h.inject(incoming("t", "x", 1, id));
    }
    ack(&mut h, 3, ReasonCode::SUCCESS);
    ack(&mut h, 2, ReasonCode::SUCCESS);
    assert!(h.sent().is_empty(), "PUBACK 1 must go first");
    ack(&mut h, 1, ReasonCode::SUCCESS);
    assert_eq!(
        h.sent(),
        [Packet::from(puback(1)), puback(2).into(), puback(3).into()]
    );
}

/// PUBRECs leave in the order the PUBLISH packets arrived, also when the application
/// acknowledges out of order, and when a QoS 2 message delivered on PUBREL comes after a QoS 1
/// message the application holds.
fn pubrecs_in_arrival_order(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    for id in [9, 4, 6] {
        h.inject(incoming("t", "x", 2, id));
    }
    assert_eq!(
        h.sent(),
        [Packet::from(pubrec(9)), pubrec(4).into(), pubrec(6).into()]
    );

    let mut h = Harness::with_config(mode, manual(mode.config()));
    h.connect();
    for id in [1, 2, 3] {
        h.inject(incoming("t", "x", 2, id));
    }
    ack(&mut h, 3, ReasonCode::SUCCESS);
    ack(&mut h, 1, ReasonCode::SUCCESS);
    assert_eq!(h.sent(), [Packet::from(pubrec(1))]);
    ack(&mut h, 2, ReasonCode::SUCCESS);
    assert_eq!(h.sent(), [Packet::from(pubrec(2)), pubrec(3).into()]);

    let mut config = manual(mode.config());
    config.qos2_delivery = Qos2Delivery::OnPubRel;
    let mut h = Harness::with_config(mode, config);
    h.connect();
    h.inject(incoming("t", "held", 1, 1));
    h.inject(incoming("t", "x", 2, 2));
    assert!(h.sent().is_empty(), "PUBREC 2 must wait for PUBACK 1");
    ack(&mut h, 1, ReasonCode::SUCCESS);
    assert_eq!(h.sent(), [Packet::from(puback(1)), pubrec(2).into()]);
}

/// PUBRELs leave in the order the PUBRECs arrived, and are resent in that order.
fn pubrels_in_pubrec_order(mode: Mode) {
    let mut h = resumable(mode, resuming(mode));
    for payload in ["a", "b", "c"] {
        h.cmd(|s, now| s.publish(now, msg("t", payload, 2)))
            .unwrap();
    }
    h.skip();
    for id in [3, 1, 2] {
        h.inject(pubrec(id));
    }
    let expected = vec![Packet::from(pubrel(3)), pubrel(1).into(), pubrel(2).into()];
    assert_eq!(h.sent(), expected);
    reconnect(&mut h, connack_present());
    assert_eq!(h.sent(), expected);
}

/// The Client sends PUBACKs in the order the PUBLISH packets arrived.
#[test]
fn mqtt_311_4_6_0_2_pubacks_in_arrival_order() {
    for mode in V311 {
        pubacks_in_arrival_order(mode);
    }
}

/// The Client sends PUBRECs in the order the PUBLISH packets arrived.
#[test]
fn mqtt_311_4_6_0_3_pubrecs_in_arrival_order() {
    for mode in V311 {
        pubrecs_in_arrival_order(mode);
    }
}

/// The Client sends PUBRELs in the order the PUBRECs arrived.
#[test]
fn mqtt_311_4_6_0_4_pubrels_in_pubrec_order() {
    for mode in V311 {
        pubrels_in_pubrec_order(mode);
    }
}

/// The Client sends PUBACKs in the order the PUBLISH packets arrived.
#[test]
fn mqtt_5_4_6_0_2_pubacks_in_arrival_order() {
    for mode in V5 {
        pubacks_in_arrival_order(mode);
    }
}

/// The Client sends PUBRECs in the order the PUBLISH packets arrived.
#[test]
fn mqtt_5_4_6_0_3_pubrecs_in_arrival_order() {
    for mode in V5 {
        pubrecs_in_arrival_order(mode);
    }
}

/// The Client sends PUBRELs in the order the PUBRECs arrived.
#[test]
fn mqtt_5_4_6_0_4_pubrels_in_pubrec_order() {
    for mode in V5 {
        pubrels_in_pubrec_order(mode);
    }
}
