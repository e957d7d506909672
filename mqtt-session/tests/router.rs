//! The seed's callback API: a session with `packet_events` reports every received packet as
//! Event::Received, and Router::dispatch picks the callback the seed's rules choose.

mod harness;

use std::sync::Mutex;

use harness::*;

/// What the callbacks saw: "name command payload-or-dash".
type Log = Mutex<Vec<String>>;

fn line(name: &str, data: &Received) -> String {
    let payload = data.message.as_ref().map_or("-".to_owned(), |m| {
        String::from_utf8(m.payload.to_vec()).unwrap()
    });
    format!("{name} {:?} {payload}", data.command)
}

fn router() -> Router<Log> {
    let mut router: Router<Log> = Router::new();
    for command in Command::ALL {
        router.on(command, |log: &Log, d: &Received| {
            log.lock().unwrap().push(line("generic", d))
        });
    }
    router.on_if(
        Command::Publish,
        |log: &Log, d: &Received| log.lock().unwrap().push(line("cool", d)),
        |d: &Received| d.message.as_ref().is_some_and(|m| m.topic == "cool"),
        1,
    );
    router.on_if(
        Command::Publish,
        |log: &Log, d: &Received| log.lock().unwrap().push(line("cooler", d)),
        |d: &Received| {
            d.message
                .as_ref()
                .is_some_and(|m| m.topic.as_str().starts_with("cool"))
        },
        5,
    );
    router
}

fn packet_events(mode: Mode, delivery: Qos2Delivery) -> Harness {
    let mut config = mode.config();
    config.packet_events = true;
    config.qos2_delivery = delivery;
    let mut h = Harness::with_config(mode, config);
    h.connect();
    h
}

/// Dispatches every Received event since the last look; returns the callbacks' log.
fn dispatch(h: &mut Harness, router: &mut Router<Log>) -> Vec<String> {
    let log = Log::default();
    for event in h.events() {
        if let Event::Received(data) = event {
            router.dispatch(&log, data);
        }
    }
    log.into_inner().unwrap()
}

/// QoS 0 and 1: the message comes with PUBLISH; the highest-priority matching condition
/// wins alone, the generic callback runs when none matches.
fn publish_qos0_qos1(mode: Mode) {
    let mut h = packet_events(mode, Qos2Delivery::OnPublish);
    let mut r = router();
    h.inject(incoming("cool", "a", 0, 0));
    h.inject(incoming("coolest", "b", 1, 1));
    h.inject(incoming("warm", "c", 1, 2));
    assert_eq!(
        dispatch(&mut h, &mut r),
        ["cooler Publish a", "cooler Publish b", "generic Publish c"]
    );
}

/// QoS 2 delivered on PUBLISH: the message comes with PUBLISH; PUBREL carries none.
fn publish_qos2_on_publish(mode: Mode) {
    let mut h = packet_events(mode, Qos2Delivery::OnPublish);
    let mut r = router();
    h.inject(incoming("cool", "x", 2, 1));
    h.inject({
        let mut publish = incoming("cool", "x", 2, 1);
        publish.dup = true;
        publish
    });
    h.inject(pubrel(1));
    assert_eq!(
        dispatch(&mut h, &mut r),
        ["cooler Publish x", "generic Publish -", "generic PubRel -"]
    );
}

/// QoS 2 delivered on PUBREL (the seed's behaviour): PUBLISH carries no message, PUBREL
/// carries it, and the conditions see it there.
fn publish_qos2_on_pubrel(mode: Mode) {
    let mut h = packet_events(mode, Qos2Delivery::OnPubRel);
    let mut r = router();
    h.inject(incoming("cool", "x", 2, 1));
    h.inject(pubrel(1));
    assert_eq!(
        dispatch(&mut h, &mut r),
        ["generic Publish -", "generic PubRel x"]
    );
    let received: Vec<(Command, Option<u16>)> = h
        .transcript
        .iter()
        .filter_map(|(_, e)| match e {
            Entry::Event(Event::Received(d)) => Some((d.command, d.packet_id.map(PacketId::get))),
            _ => None,
        })
        .collect();
    assert_eq!(
        received,
        [(Command::Publish, Some(1)), (Command::PubRel, Some(1))]
    );
}

/// Acknowledgements of the client's own packets and PINGRESP are reported with their
/// packet ids and reason codes.
fn acks_and_pingresp(mode: Mode) {
    let mut h = packet_events(mode, Qos2Delivery::OnPublish);
    let first = h.cmd(|s, now| s.publish(now, msg("t", "1", 1))).unwrap();
    let second = h.cmd(|s, now| s.publish(now, msg("t", "2", 2))).unwrap();
    h.cmd(|s, now| s.subscribe(now, subscriptions(&["a", "b"], 1), Default::default()))
        .unwrap();
    h.skip();
    h.inject(puback(1));
    h.inject(pubrec(2));
    h.inject(pubcomp(2));
    h.inject(suback(3, &[1, 0x80]));
    h.inject(Packet::PingResp);
    h.inject(puback(9));
    type Seen = (Command, Option<u16>, Option<PublishId>, Vec<u8>);
    let received: Vec<Seen> = h
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Received(d) => Some((
                d.command,
                d.packet_id.map(PacketId::get),
                d.mid,
                d.reason_codes.iter().map(|c| c.0).collect(),
            )),
            _ => None,
        })
        .collect();
    // The acknowledgements of a publish name it by the id `publish` returned (the seed's
    // `mid`); one for an unknown packet id names none.
    assert_eq!(
        received,
        [
            (Command::PubAck, Some(1), Some(first), vec![0]),
            (Command::PubRec, Some(2), Some(second), vec![0]),
            (Command::PubComp, Some(2), Some(second), vec![0]),
            (Command::SubAck, Some(3), None, vec![1, 0x80]),
            (Command::PingResp, None, None, vec![]),
            (Command::PubAck, Some(9), None, vec![0]),
        ]
    );
}

/// Every PUBLISH and PUBREL received is reported once, also while the application still
/// holds a manually acknowledged message.
fn every_packet_reported_in_manual_mode(mode: Mode) {
    for delivery in [Qos2Delivery::OnPublish, Qos2Delivery::OnPubRel] {
        let mut config = mode.config();
        config.packet_events = true;
        config.ack_mode = AckMode::Manual;
        config.qos2_delivery = delivery;
        let mut h = Harness::with_config(mode, config);
        h.connect();
        h.inject(incoming("t", "x", 2, 1));
        h.inject({
            let mut publish = incoming("t", "x", 2, 1);
            publish.dup = true;
            publish
        });
        if delivery == Qos2Delivery::OnPublish {
            let token = h.take_ack(1);
            h.cmd(|s, now| s.ack(now, token, ReasonCode::SUCCESS))
                .unwrap();
        }
        // OnPubRel: the PUBREL comes again while the application holds the message.
        h.inject(pubrel(1));
        h.inject(pubrel(1));
        let commands: Vec<Command> = h
            .events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Received(d) => Some(d.command),
                _ => None,
            })
            .collect();
        assert_eq!(
            commands,
            [
                Command::Publish,
                Command::Publish,
                Command::PubRel,
                Command::PubRel
            ],
            "{delivery:?}"
        );
    }
}

/// MQTT 5.0: the server's AUTH and DISCONNECT are reported with their reason codes, before
/// the events that act on them (Event::Auth, Event::Disconnected), so that the seed's
/// callbacks can be registered for them too.
fn auth_and_disconnect(mode: Mode) {
    let method = "SCRAM-SHA-1";
    let auth = |code: u8| Auth {
        reason_code: ReasonCode(code),
        properties: AuthProperties {
            authentication_method: Some(method.into()),
            ..Default::default()
        },
    };
    let mut config = mode.config();
    config.packet_events = true;
    config.connect_properties.authentication_method = Some(method.into());
    let mut h = Harness::with_config(mode, config);
    h.open();
    h.inject(auth(0x18));
    match h.events().as_slice() {
        [Event::Received(data), Event::Auth(a)] => {
            assert_eq!(data.command, Command::Auth);
            assert_eq!(data.reason_codes, [ReasonCode(0x18)]);
            assert_eq!(a.reason_code, ReasonCode(0x18));
        }
        other => panic!("{other:?}"),
    }
    h.cmd(|s, now| s.auth(now, auth(0x18))).unwrap();
    h.inject(connack_v5(ConnAckProperties {
        authentication_method: Some(method.into()),
        ..Default::default()
    }));
    h.skip();
    h.inject(Disconnect::new(ReasonCode(0x8B)));
    let events = h.events();
    match events.as_slice() {
        [
            Event::Received(data),
            Event::Disconnected(DisconnectReason::ByServer(d)),
        ] => {
            assert_eq!(data.command, Command::Disconnect);
            assert_eq!(data.reason_codes, [ReasonCode(0x8B)]);
            assert_eq!((data.message.as_ref(), data.packet_id), (None, None));
            assert_eq!(d.reason_code, ReasonCode(0x8B));
        }
        other => panic!("{other:?}"),
    }
}

/// Without `packet_events` no Received events are made.
fn off_by_default(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.inject(incoming("t", "x", 1, 1));
    assert!(!h.events().iter().any(|e| matches!(e, Event::Received(_))));
    h.cmd(|s, _| s.set_packet_events(true));
    h.inject(incoming("t", "y", 1, 2));
    assert!(h.events().iter().any(|e| matches!(e, Event::Received(_))));
}

scenarios! {
    all: publish_qos0_qos1, publish_qos2_on_publish, publish_qos2_on_pubrel,
        every_packet_reported_in_manual_mode, off_by_default;
    v311_v5: acks_and_pingresp;
    v5: auth_and_disconnect;
}
