//! Inbound publishes: QoS 0, 1 and 2, acknowledgements in arrival order (MQTT-4.6.0-2,
//! MQTT-4.6.0-3), exactly-once delivery, the two QoS 2 delivery points and manual acks.

mod harness;

use harness::*;

/// The payloads of the messages delivered since the last look.
fn delivered(h: &mut Harness) -> Vec<String> {
    h.events()
        .into_iter()
        .map(|e| match e {
            Event::Message(m) => String::from_utf8(m.publish.payload.to_vec()).unwrap(),
            other => panic!("expected Message, got {other:?}"),
        })
        .collect()
}

fn manual(mode: Mode) -> Config {
    let mut config = mode.config();
    config.ack_mode = AckMode::Manual;
    config
}

fn on_pubrel(mut config: Config) -> Config {
    config.qos2_delivery = Qos2Delivery::OnPubRel;
    config
}

fn ack(h: &mut Harness, id: u16, code: ReasonCode) {
    let token = h.take_ack(id);
    h.cmd(|s, now| s.ack(now, token, code)).unwrap();
}

/// QoS 0: delivered, nothing sent back.
fn qos0(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.inject(incoming("a/b", "zero", 0, 0));
    assert_eq!(
        h.events(),
        [&Event::Message(Message {
            publish: incoming("a/b", "zero", 0, 0),
            ack: None
        })]
    );
    assert!(h.sent().is_empty());
}

/// QoS 1: delivered and acknowledged with PUBACK.
fn qos1(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.inject(incoming("a", "one", 1, 5));
    assert_eq!(
        h.events(),
        [&Event::Message(Message {
            publish: incoming("a", "one", 1, 5),
            ack: None
        })]
    );
    assert_eq!(h.sent(), [Packet::from(puback(5))]);
}

/// QoS 1 redelivered with DUP is delivered again: QoS 1 is at least once.
fn qos1_duplicate_delivered_again(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.inject(incoming("a", "one", 1, 5));
    h.inject({
        let mut publish = incoming("a", "one", 1, 5);
        publish.dup = true;
        publish
    });
    assert_eq!(delivered(&mut h), ["one", "one"]);
    assert_eq!(h.sent(), [Packet::from(puback(5)), puback(5).into()]);
}

/// QoS 2, delivered on PUBLISH (the default): PUBREC, and a PUBLISH sent again with the
/// same identifier before PUBREL is answered again but not delivered twice. After
/// PUBCOMP the identifier starts a new message.
fn qos2_on_publish_exactly_once(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.inject(incoming("a", "two", 2, 7));
    assert_eq!(delivered(&mut h), ["two"]);
    assert_eq!(h.sent(), [Packet::from(pubrec(7))]);
    h.inject({
        let mut publish = incoming("a", "two", 2, 7);
        publish.dup = true;
        publish
    });
    assert!(h.events().is_empty());
    assert_eq!(h.sent(), [Packet::from(pubrec(7))]);
    h.inject(pubrel(7));
    assert_eq!(h.sent(), [Packet::from(pubcomp(7))]);
    assert!(h.events().is_empty());
    h.inject(incoming("a", "next", 2, 7));
    assert_eq!(delivered(&mut h), ["next"]);
}

/// QoS 2, delivered on PUBREL: nothing is delivered until the server releases the message,
/// and then exactly once.
fn qos2_on_pubrel(mode: Mode) {
    let mut h = Harness::with_config(mode, on_pubrel(mode.config()));
    h.connect();
    h.inject(incoming("a", "two", 2, 7));
    assert!(h.events().is_empty());
    assert_eq!(h.sent(), [Packet::from(pubrec(7))]);
    h.inject({
        let mut publish = incoming("a", "two", 2, 7);
        publish.dup = true;
        publish
    });
    assert!(h.events().is_empty());
    assert_eq!(h.sent(), [Packet::from(pubrec(7))]);
    h.inject(pubrel(7));
    assert_eq!(delivered(&mut h), ["two"]);
    assert_eq!(h.sent(), [Packet::from(pubcomp(7))]);
    // A repeated PUBREL completes again and delivers nothing.
    h.inject(pubrel(7));
    assert!(h.events().is_empty());
    let mut comp = pubcomp(7);
    if mode.v5() {
        comp.reason_code = ReasonCode::PACKET_IDENTIFIER_NOT_FOUND;
    }
    assert_eq!(h.sent(), [Packet::from(comp)]);
}

/// Mixed QoS: acknowledgements leave in the order the PUBLISH packets arrived.
fn acks_in_arrival_order(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.inject(incoming("a", "1", 1, 3));
    h.inject(incoming("a", "2", 2, 1));
    h.inject(incoming("a", "3", 0, 0));
    h.inject(incoming("a", "4", 1, 2));
    assert_eq!(delivered(&mut h), ["1", "2", "3", "4"]);
    assert_eq!(
        h.sent(),
        [Packet::from(puback(3)), pubrec(1).into(), puback(2).into()]
    );
}

/// Manual acks: the application acknowledges out of order, the wire still gets PUBACK and
/// PUBREC in arrival order; each waits for those before it.
fn manual_acks_in_order(mode: Mode) {
    let mut h = Harness::with_config(mode, manual(mode));
    h.connect();
    h.inject(incoming("a", "1", 1, 1));
    h.inject(incoming("a", "2", 2, 2));
    h.inject(incoming("a", "3", 1, 3));
    h.inject(incoming("a", "4", 0, 0));
    assert_eq!(delivered(&mut h), ["1", "2", "3", "4"]);
    assert!(h.sent().is_empty());
    ack(&mut h, 3, ReasonCode::SUCCESS);
    assert!(h.sent().is_empty());
    ack(&mut h, 1, ReasonCode::SUCCESS);
    assert_eq!(h.sent(), [Packet::from(puback(1))]);
    ack(&mut h, 2, ReasonCode::SUCCESS);
    assert_eq!(h.sent(), [Packet::from(pubrec(2)), puback(3).into()]);
    h.inject(pubrel(2));
    assert_eq!(h.sent(), [Packet::from(pubcomp(2))]);
    assert!(h.events().is_empty());
}

/// Manual acks: a QoS 0 message carries no token; a QoS 2 PUBLISH repeated before the
/// application's ack is neither delivered again nor answered yet.
fn manual_tokens(mode: Mode) {
    let mut h = Harness::with_config(mode, manual(mode));
    h.connect();
    h.inject(incoming("a", "0", 0, 0));
    h.inject(incoming("a", "2", 2, 9));
    match h.events().as_slice() {
        [Event::Message(m0), Event::Message(m2)] => {
            assert!(m0.ack.is_none());
            assert_eq!(m2.ack.as_ref().map(AckToken::packet_id), Some(pid(9)));
        }
        other => panic!("{other:?}"),
    }
    h.inject({
        let mut publish = incoming("a", "2", 2, 9);
        publish.dup = true;
        publish
    });
    assert!(h.events().is_empty());
    assert!(h.sent().is_empty());
    ack(&mut h, 9, ReasonCode::SUCCESS);
    assert_eq!(h.sent(), [Packet::from(pubrec(9))]);
}

/// Manual acks with QoS 2 delivered on PUBREL: PUBREC goes out at once, the message and its
/// token come with PUBREL, and PUBCOMP waits for the application.
fn manual_on_pubrel(mode: Mode) {
    let mut h = Harness::with_config(mode, on_pubrel(manual(mode)));
    h.connect();
    h.inject(incoming("a", "2", 2, 4));
    assert_eq!(h.sent(), [Packet::from(pubrec(4))]);
    assert!(h.events().is_empty());
    h.inject(pubrel(4));
    assert_eq!(delivered(&mut h), ["2"]);
    assert!(h.sent().is_empty());
    // A repeated PUBREL while the application holds the message: still no PUBCOMP.
    h.inject(pubrel(4));
    assert!(h.sent().is_empty());
    ack(&mut h, 4, ReasonCode::SUCCESS);
    assert_eq!(h.sent(), [Packet::from(pubcomp(4))]);
}

/// A PUBREL for an identifier with no exchange gets PUBCOMP, 0x92 Packet Identifier not
/// found in MQTT 5.0 (§4.3.3).
fn pubrel_unknown_id(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.inject(pubrel(12));
    let mut comp = pubcomp(12);
    if mode.v5() {
        comp.reason_code = ReasonCode::PACKET_IDENTIFIER_NOT_FOUND;
    }
    assert_eq!(h.sent(), [Packet::from(comp)]);
    assert!(h.session.is_connected());
}

/// A token from before the server lost the session is refused: its message is gone.
fn tokens_after_session_loss_refused(mode: Mode) {
    let mut config = manual(mode);
    config.clean_start = false;
    let mut h = Harness::with_config(mode, config);
    h.connect();
    h.inject(incoming("a", "x", 1, 1));
    let token = h.take_ack(1);
    h.close();
    h.open();
    h.inject(ConnAck::default()); // the server lost the session
    assert_eq!(
        h.cmd(|s, now| s.ack(now, token, ReasonCode::SUCCESS)),
        Err(UsageError::UnknownAckToken)
    );
}

/// MQTT 5.0: the application's reason codes go out in PUBACK and PUBREC; a refused QoS 2
/// message ends its exchange at PUBREC, so a later PUBREL finds nothing.
fn v5_ack_reason_codes(mode: Mode) {
    let mut h = Harness::with_config(mode, manual(mode));
    h.connect();
    h.inject(incoming("a", "1", 1, 1));
    h.inject(incoming("a", "2", 2, 2));
    ack(&mut h, 1, ReasonCode::NOT_AUTHORIZED);
    ack(&mut h, 2, ReasonCode::PAYLOAD_FORMAT_INVALID);
    assert_eq!(
        h.sent(),
        [
            Packet::from(PubAck {
                reason_code: ReasonCode::NOT_AUTHORIZED,
                ..puback(1)
            }),
            PubRec {
                reason_code: ReasonCode::PAYLOAD_FORMAT_INVALID,
                ..pubrec(2)
            }
            .into(),
        ]
    );
    h.inject(pubrel(2));
    assert_eq!(
        h.sent(),
        [Packet::from(PubComp {
            reason_code: ReasonCode::PACKET_IDENTIFIER_NOT_FOUND,
            ..pubcomp(2)
        })]
    );
    // The identifier is free for a new message.
    h.skip();
    h.inject(incoming("a", "3", 2, 2));
    assert_eq!(delivered(&mut h), ["3"]);
}

/// MQTT 3.1.1 has no reason codes in acknowledgements: the application's code is dropped.
fn v311_ack_reason_code_ignored(mode: Mode) {
    let mut h = Harness::with_config(mode, manual(mode));
    h.connect();
    h.inject(incoming("a", "1", 1, 1));
    ack(&mut h, 1, ReasonCode::NOT_AUTHORIZED);
    assert_eq!(h.sent(), [Packet::from(puback(1))]);
}

/// Retained flag and properties of an inbound message are passed through.
fn message_passed_through(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    let mut p = {
        let mut publish = incoming("r/t", "payload", 1, 3);
        publish.retain = true;
        publish
    };
    if mode.v5() {
        p.properties_mut().content_type = Some("text/plain".into());
        p.properties_mut().user_properties = vec![UserProperty::new("k", "v")];
        p.properties_mut().subscription_identifiers = vec![NonZeroU32::new(4).unwrap()];
    }
    h.inject(p.clone());
    assert_eq!(
        h.events(),
        [&Event::Message(Message {
            publish: p,
            ack: None
        })]
    );
}

scenarios! {
    all: qos0, qos1, qos1_duplicate_delivered_again, qos2_on_publish_exactly_once, qos2_on_pubrel,
        acks_in_arrival_order, manual_acks_in_order, manual_tokens, manual_on_pubrel,
        pubrel_unknown_id, tokens_after_session_loss_refused, message_passed_through;
    v5: v5_ack_reason_codes;
    v311: v311_ack_reason_code_ignored;
}
