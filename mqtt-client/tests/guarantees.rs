//! The client layer's guarantees (G1 to G6 in the crate documentation), each scenario fed
//! whole and one byte at a time, on a virtual clock.

mod harness;

use std::sync::{Arc, Mutex};
use std::task::Poll;

use harness::*;

fn config(version: Version) -> Config {
    Config::new("client", version)
}

fn settings() -> Settings {
    let mut settings = Settings::default();
    settings.reconnect = Some(mqtt_client::session::Backoff {
        jitter: false,
        ..Default::default()
    });
    settings
}

// ---- G1: no acknowledgement before delivery ----------------------------------------------

/// The reported bug: on a resumed session, a QoS 1 message right after CONNACK, before the
/// application registered anything. It lands in the default stream, and only then is it
/// acknowledged.
fn message_right_after_connack_reaches_the_default_stream(feed: Feed) {
    let mut config = config(Version::V311);
    config.clean_start = false;
    let mut h = Harness::new(config, settings(), feed).with_default_stream();
    h.run();
    h.sent();
    h.inject_bytes(&[0x20, 0x02, 0x01, 0x00]);
    h.inject_bytes(&[
        0x32, 0x09, 0x00, 0x03, b't', b'/', b'x', 0x00, 0x01, b'h', b'i',
    ]);
    assert_eq!(
        h.sent(),
        [Packet::PubAck(PubAck::new(pid(1)))],
        "40 02 00 01"
    );
    let message = h
        .recv(StreamId::DEFAULT)
        .expect("the message is in the default stream");
    assert_eq!(
        (message.topic.as_str(), &message.payload[..]),
        ("t/x", &b"hi"[..])
    );
}

/// With delivery paused (an adapter whose consumers register before its loop starts), the
/// message waits unacknowledged, and goes to the consumer registered by the time delivery
/// resumes.
fn paused_delivery_acknowledges_nothing_until_a_consumer_has_it(feed: Feed) {
    let mut h = Harness::new(config(Version::V5), settings(), feed);
    h.core.pause_delivery();
    h.connect();
    h.inject(incoming("t/x", "hi", QoS::AtLeastOnce, 1));
    assert_eq!(h.sent(), [], "no PUBACK while nobody has the message");
    let stream = h.core.open_stream(None);
    h.core.resume_delivery(h.now);
    h.run();
    assert_eq!(pubacks(&h.sent()), [1]);
    assert_eq!(h.recv(stream).map(|m| m.payload), Some(Bytes::from("hi")));
}

/// A message no stream or callback takes goes to the default stream; when the application
/// dropped that too, the message is acknowledged and dropped.
fn unmatched_messages_go_to_the_default_stream_while_it_is_open(feed: Feed) {
    let mut h = Harness::new(config(Version::V5), settings(), feed).with_default_stream();
    h.connect();
    let news = h
        .core
        .open_stream(Some(TopicFilter::new("news/#").unwrap()));
    h.inject(incoming("news/a", "1", QoS::AtLeastOnce, 1));
    h.inject(incoming("other", "2", QoS::AtLeastOnce, 2));
    assert_eq!(pubacks(&h.sent()), [1, 2]);
    assert_eq!(h.recv(news).map(|m| m.payload), Some(Bytes::from("1")));
    assert_eq!(h.recv(news), None);
    assert_eq!(
        h.recv(StreamId::DEFAULT).map(|m| m.payload),
        Some(Bytes::from("2"))
    );

    h.core.release_stream(h.now, StreamId::DEFAULT);
    h.inject(incoming("other", "3", QoS::AtLeastOnce, 3));
    assert_eq!(pubacks(&h.sent()), [3]);
    assert_eq!(h.recv(StreamId::DEFAULT), None);
}

/// A message for the callbacks is acknowledged once the callback returned; one no callback
/// takes goes to the default stream.
fn callbacks_take_messages_and_the_rest_go_to_the_default_stream(feed: Feed) {
    let mut h = Harness::new(config(Version::V311), settings(), feed).with_default_stream();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    h.core.on_if(
        Command::Publish,
        Box::new(move |_, data: &Received| {
            let payload = data.message.as_ref().unwrap().payload.clone();
            log.lock().unwrap().push(payload);
        }),
        Box::new(|data: &Received| data.message.as_ref().is_some_and(|m| m.topic == "cool")),
        0,
    );
    h.connect();
    h.inject(incoming("cool", "ice", QoS::AtLeastOnce, 1));
    h.inject(incoming("warm", "tea", QoS::AtLeastOnce, 2));
    assert_eq!(pubacks(&h.sent()), [1, 2]);
    assert_eq!(*seen.lock().unwrap(), [Bytes::from("ice")]);
    assert_eq!(
        h.recv(StreamId::DEFAULT).map(|m| m.payload),
        Some(Bytes::from("tea"))
    );
}

/// With manual acknowledgement the message carries the token, and the broker hears nothing
/// until the application acknowledges.
fn manual_acknowledgement_waits_for_the_application(feed: Feed) {
    let mut config = config(Version::V5);
    config.ack_mode = AckMode::Manual;
    let mut h = Harness::new(config, settings(), feed).with_default_stream();
    h.connect();
    h.inject(incoming("t", "x", QoS::ExactlyOnce, 7));
    assert_eq!(h.sent(), []);
    let mut message = h.recv(StreamId::DEFAULT).unwrap();
    let token = message.take_ack().expect("a token");
    h.core.ack(h.now, token, ReasonCode::SUCCESS).unwrap();
    h.run();
    assert_eq!(h.sent(), [Packet::PubRec(PubRec::new(pid(7)))]);
}

/// With manual acknowledgement a callback's message is acknowledged when the callback
/// returns, unless the callback takes it (`Core::take_message`, through the client it is
/// given): then the application acknowledges it, with any reason code, and acknowledgements
/// still leave in the order the messages arrived.
fn a_callback_may_take_its_message_to_acknowledge_it_later(feed: Feed) {
    let mut config = config(Version::V5);
    config.ack_mode = AckMode::Manual;
    let mut h = Harness::new(config, settings(), feed).with_default_stream();
    let given = Arc::new(Mutex::new(Vec::<Received>::new()));
    let log = given.clone();
    h.core.on(
        Command::Publish,
        Box::new(move |_, data: &Received| log.lock().unwrap().push(data.clone())),
    );
    // The callback takes the messages that say "keep"; the others are acknowledged when it
    // returns.
    let taken = Arc::new(Mutex::new(Vec::<Message>::new()));
    let keep = taken.clone();
    h.in_callbacks = Some(Box::new(move |core: &mut Core<()>| {
        for data in given.lock().unwrap().drain(..) {
            if data.message.as_ref().is_some_and(|m| m.payload == "keep") {
                let message = core.take_message(&data).expect("the callback's message");
                assert!(message.needs_ack());
                assert_eq!(core.take_message(&data), None, "taken once");
                keep.lock().unwrap().push(message);
            } else if data
                .message
                .as_ref()
                .is_some_and(|m| m.qos == QoS::AtMostOnce)
            {
                assert_eq!(core.take_message(&data), None, "QoS 0 has no token");
            }
        }
    }));
    h.connect();
    h.inject(incoming("t", "keep", QoS::AtLeastOnce, 1));
    h.inject(incoming("t", "auto", QoS::AtLeastOnce, 2));
    h.inject(incoming("t", "keep", QoS::ExactlyOnce, 3));
    h.inject(incoming("t", "qos0", QoS::AtMostOnce, 0));
    assert_eq!(h.sent(), [], "the first message holds back the others");
    assert_eq!(h.recv(StreamId::DEFAULT), None, "the callback had them all");
    let mut taken = std::mem::take(&mut *taken.lock().unwrap());
    assert_eq!(taken.len(), 2);
    let third = taken[1].take_ack().unwrap();
    h.core.ack(h.now, third, ReasonCode(0x80)).unwrap();
    h.run();
    assert_eq!(h.sent(), []);
    let first = taken[0].take_ack().unwrap();
    h.core.ack(h.now, first, ReasonCode::SUCCESS).unwrap();
    h.run();
    assert_eq!(
        h.sent(),
        [
            Packet::PubAck(PubAck::new(pid(1))),
            Packet::PubAck(PubAck::new(pid(2))),
            Packet::PubRec(PubRec {
                reason_code: ReasonCode(0x80),
                ..PubRec::new(pid(3))
            }),
        ]
    );
}

// ---- G2: bounded and deadlock-free -------------------------------------------------------

/// QoS 1 messages beyond a stream's capacity wait unacknowledged, while the client keeps
/// reading: its own publish completes.
fn a_full_stream_holds_acknowledgements_but_not_the_client(feed: Feed) {
    let mut settings = settings();
    settings.stream_capacity = 4;
    let mut h = Harness::new(config(Version::V5), settings, feed);
    h.connect();
    let stream = h.core.open_stream(None);
    for n in 1..=10 {
        h.inject(incoming("t", "m", QoS::AtLeastOnce, n));
    }
    assert_eq!(pubacks(&h.sent()), [1, 2, 3, 4]);
    let mid = h.publish("out", "x", QoS::AtLeastOnce);
    assert!(matches!(h.sent().as_slice(), [Packet::Publish(_)]));
    h.inject(PubAck::new(pid(1)));
    assert!(matches!(
        h.core.poll_publish(mid, None),
        Poll::Ready(Some(Ok(_)))
    ));
    h.recv(stream).unwrap();
    assert_eq!(pubacks(&h.sent()), [5], "room for one more");
    assert_eq!(h.drain(stream).len(), 9);
    assert_eq!(pubacks(&h.sent()), [6, 7, 8, 9, 10]);
}

/// After a cut, a resumed session's broker sends again every QoS 1 message it has no PUBACK
/// for, among them those that waited beyond a full stream: the application gets each message
/// once, and the resends are acknowledged as they are accepted. (The reported duplicates: a
/// slow consumer saw every held-back message twice after each cut.)
fn held_messages_come_once_when_the_session_is_resumed(feed: Feed) {
    let mut settings = settings();
    settings.stream_capacity = 2;
    let mut config = config(Version::V311);
    config.clean_start = false;
    let mut h = Harness::new(config, settings, feed);
    h.connect();
    let stream = h.core.open_stream(None);
    for n in 1..=5u16 {
        h.inject(incoming("t", &n.to_string(), QoS::AtLeastOnce, n));
    }
    assert_eq!(pubacks(&h.sent()), [1, 2]);
    h.cut();
    h.advance(Duration::from_millis(100));
    assert!(matches!(h.sent().as_slice(), [Packet::Connect(_)]));
    h.inject(ConnAck {
        session_present: true,
        ..Default::default()
    });
    for n in 3..=5u16 {
        h.inject({
            let mut publish = incoming("t", &n.to_string(), QoS::AtLeastOnce, n);
            publish.dup = true;
            publish
        });
    }
    let got: Vec<Bytes> = h.drain(stream).into_iter().map(|m| m.payload).collect();
    assert_eq!(got, ["1", "2", "3", "4", "5"].map(Bytes::from));
    assert_eq!(pubacks(&h.sent()), [3, 4, 5]);
}

/// The same cut, and a broker that lost the session: it sends nothing again, so the held
/// messages are delivered, and nothing is acknowledged for them on the new session.
fn held_messages_are_delivered_when_the_session_is_lost(feed: Feed) {
    let mut settings = settings();
    settings.stream_capacity = 2;
    let mut config = config(Version::V311);
    config.clean_start = false;
    let mut h = Harness::new(config, settings, feed);
    h.connect();
    let stream = h.core.open_stream(None);
    for n in 1..=5u16 {
        h.inject(incoming("t", &n.to_string(), QoS::AtLeastOnce, n));
    }
    assert_eq!(pubacks(&h.sent()), [1, 2]);
    h.cut();
    h.advance(Duration::from_millis(100));
    assert!(matches!(h.sent().as_slice(), [Packet::Connect(_)]));
    h.inject(ConnAck::default());
    let got: Vec<Bytes> = h.drain(stream).into_iter().map(|m| m.payload).collect();
    assert_eq!(got, ["1", "2", "3", "4", "5"].map(Bytes::from));
    assert_eq!(pubacks(&h.sent()), Vec::<u16>::new());
}

/// The reported deadlock: a consumer with a stream of 4 that, for each message, publishes at
/// QoS 1 and waits for it. The broker keeps 20 messages unacknowledged, as mosquitto does.
/// (Fed whole only: the logic is that of the scenario above, a thousand times.)
#[test]
fn a_consumer_that_publishes_for_each_message_handles_a_thousand() {
    let mut settings = settings();
    settings.stream_capacity = 4;
    let mut h = Harness::new(config(Version::V311), settings, Feed::Whole);
    h.connect();
    let stream = h.core.open_stream(Some(TopicFilter::new("in").unwrap()));
    let (mut sent, mut unacked, mut handled) = (0u32, 0u32, 0u32);
    for _ in 0..100_000 {
        if handled == 1000 {
            break;
        }
        while unacked < 20 && sent < 1000 {
            sent += 1;
            h.inject(incoming(
                "in",
                "m",
                QoS::AtLeastOnce,
                (sent % 1000 + 1) as u16,
            ));
            unacked += 1;
        }
        unacked -= pubacks(&h.sent()).len() as u32;
        let Some(_message) = h.recv(stream) else {
            continue;
        };
        unacked -= pubacks(&h.sent()).len() as u32;
        let mid = h.publish("out", "reply", QoS::AtLeastOnce);
        for packet in h.sent() {
            match packet {
                Packet::Publish(p) => h.inject(PubAck::new(p.packet_id.unwrap())),
                Packet::PubAck(_) => unacked -= 1,
                _ => {}
            }
        }
        assert!(
            matches!(h.core.poll_publish(mid, None), Poll::Ready(Some(Ok(_)))),
            "the consumer's publish completes while its stream is full"
        );
        handled += 1;
    }
    assert_eq!(handled, 1000);
}

/// A QoS 0 flood to a slow stream keeps the newest messages within its capacity and reports
/// how many were dropped.
fn a_qos0_flood_drops_the_oldest_and_says_so(feed: Feed) {
    let mut settings = settings();
    settings.stream_capacity = 4;
    let mut h = Harness::new(config(Version::V5), settings, feed);
    h.connect();
    let stream = h.core.open_stream(None);
    h.events();
    for n in 0..100 {
        h.inject(incoming("t", &n.to_string(), QoS::AtMostOnce, 0));
        assert!(h.core.stream_len(stream) <= 4);
        assert!(h.core.wants_read());
    }
    let dropped: u64 = h
        .events()
        .iter()
        .map(|e| match e {
            ClientEvent::MessagesDropped { count } => *count,
            _ => 0,
        })
        .sum();
    assert_eq!(dropped, 96);
    let kept: Vec<Bytes> = h.drain(stream).into_iter().map(|m| m.payload).collect();
    assert_eq!(kept, ["96", "97", "98", "99"].map(Bytes::from));
}

/// With `Overflow::StopReading`, a full stream stops the client reading until there is room.
fn stop_reading_waits_for_room(feed: Feed) {
    let mut settings = settings();
    settings.stream_capacity = 2;
    settings.overflow = Overflow::StopReading;
    let mut h = Harness::new(config(Version::V5), settings, feed);
    h.connect();
    let stream = h.core.open_stream(None);
    for n in 0..3 {
        h.inject(incoming("t", &n.to_string(), QoS::AtMostOnce, 0));
    }
    assert!(!h.core.wants_read());
    h.recv(stream).unwrap();
    assert!(h.core.wants_read());
    assert_eq!(h.drain(stream).len(), 2, "nothing was dropped");
}

// ---- G3: subscriptions survive ------------------------------------------------------------

fn subscribed(h: &mut Harness, filter: &str) -> StreamId {
    let stream = h.core.open_stream(Some(TopicFilter::new(filter).unwrap()));
    let id = h.subscribe(filter, QoS::AtLeastOnce);
    let packet_id = match h.sent().as_slice() {
        [Packet::Subscribe(s)] => s.packet_id,
        other => panic!("expected SUBSCRIBE, got {other:?}"),
    };
    h.inject(suback(packet_id, ReasonCode::GRANTED_QOS_1));
    assert!(matches!(
        h.core.poll_subscribe(id, None),
        Poll::Ready(Some(Ok(_)))
    ));
    stream
}

/// The broker lost the session: the subscription is made again before the queued publish,
/// an event says so, and the stream keeps receiving.
fn a_lost_session_is_resubscribed_before_queued_publishes(feed: Feed) {
    let mut h = Harness::new(config(Version::V5), settings(), feed);
    h.connect();
    let stream = subscribed(&mut h, "a/#");
    h.cut();
    h.publish("out", "queued", QoS::AtLeastOnce);
    h.advance(Duration::from_millis(100));
    assert!(h.open, "reconnected after the backoff");
    assert!(matches!(h.sent().as_slice(), [Packet::Connect(_)]));
    h.events();
    h.inject(ConnAck::default());
    let sent = h.sent();
    let subscribe = match sent.as_slice() {
        [Packet::Subscribe(s), Packet::Publish(_)] => s.clone(),
        other => panic!("expected SUBSCRIBE then PUBLISH, got {other:?}"),
    };
    h.inject(suback(subscribe.packet_id, ReasonCode::GRANTED_QOS_1));
    let events = h.events();
    assert!(
        events.contains(&ClientEvent::Resubscribed {
            restored: vec![TopicFilter::new("a/#").unwrap()],
            refused: vec![],
        }),
        "{events:?}"
    );
    h.inject(incoming("a/b", "still here", QoS::AtLeastOnce, 9));
    assert_eq!(
        h.recv(stream).map(|m| m.payload),
        Some(Bytes::from("still here"))
    );
}

/// A filter the broker refuses to restore ends its stream with the reason.
fn a_subscription_that_cannot_be_restored_ends_its_stream(feed: Feed) {
    let mut h = Harness::new(config(Version::V5), settings(), feed);
    h.connect();
    let stream = subscribed(&mut h, "a/#");
    h.inject(incoming("a/1", "before", QoS::AtMostOnce, 0));
    h.cut();
    h.advance(Duration::from_millis(100));
    h.sent();
    h.inject(ConnAck::default());
    let packet_id = match h.sent().as_slice() {
        [Packet::Subscribe(s)] => s.packet_id,
        other => panic!("expected SUBSCRIBE, got {other:?}"),
    };
    h.inject(suback(packet_id, ReasonCode::NOT_AUTHORIZED));
    assert_eq!(
        h.recv(stream).map(|m| m.payload),
        Some(Bytes::from("before"))
    );
    assert_eq!(h.recv(stream), None, "the stream ended");
    assert_eq!(
        h.core.stream_end(stream),
        Some(&StreamEnd::NotRestored(ReasonCode::NOT_AUTHORIZED))
    );
}

/// With resubscription off, a lost session ends the streams of its subscriptions.
fn without_resubscription_a_lost_session_ends_the_streams(feed: Feed) {
    let mut config = config(Version::V311);
    config.resubscribe = false;
    let mut h = Harness::new(config, settings(), feed);
    h.connect();
    let stream = subscribed(&mut h, "a/#");
    h.cut();
    h.advance(Duration::from_millis(100));
    h.events();
    h.inject(ConnAck::default());
    assert_eq!(h.recv(stream), None);
    assert_eq!(h.core.stream_end(stream), Some(&StreamEnd::SessionLost));
    assert!(h.events().contains(&ClientEvent::SubscriptionsLost(vec![
        TopicFilter::new("a/#").unwrap()
    ])));
}

// ---- G4: state is visible ------------------------------------------------------------------

fn connection_events_tell_the_story(feed: Feed) {
    let mut h = Harness::new(config(Version::V5), settings(), feed);
    h.connect();
    h.publish("t", "x", QoS::AtLeastOnce);
    assert_eq!(
        (h.core.publishes_in_flight(), h.core.publishes_queued()),
        (1, 0)
    );
    h.cut();
    assert!(!h.core.is_connected());
    h.publish("t", "y", QoS::AtLeastOnce);
    assert_eq!(
        (h.core.publishes_in_flight(), h.core.publishes_queued()),
        (1, 1)
    );
    let events = h.events();
    assert_eq!(events[0], ClientEvent::Connecting(Target::Server(0)));
    assert!(matches!(&events[1], ClientEvent::Connected(c) if !c.session_present));
    assert_eq!(
        events[2..],
        [
            ClientEvent::Disconnected {
                reason: DisconnectReason::TransportClosed,
                error: Some("connection reset".into()),
            },
            ClientEvent::Reconnecting {
                attempt: 1,
                delay: Duration::from_millis(100),
            },
        ]
    );
}

fn the_first_connection_is_retried_when_asked(feed: Feed) {
    let mut settings = settings();
    settings.retry_first_connect = true;
    let mut h = Harness::new(config(Version::V311), settings, feed);
    h.refuse_opens = 2;
    h.run();
    assert_eq!(h.opened, 1);
    h.advance(Duration::from_millis(100));
    h.advance(Duration::from_millis(200));
    assert_eq!(h.opened, 3);
    assert!(h.open);
    let events = h.events();
    assert_eq!(
        events,
        [
            ClientEvent::Connecting(Target::Server(0)),
            ClientEvent::ConnectFailed {
                error: "connection refused".into()
            },
            ClientEvent::Reconnecting {
                attempt: 1,
                delay: Duration::from_millis(100)
            },
            ClientEvent::Connecting(Target::Server(0)),
            ClientEvent::ConnectFailed {
                error: "connection refused".into()
            },
            ClientEvent::Reconnecting {
                attempt: 2,
                delay: Duration::from_millis(200)
            },
            ClientEvent::Connecting(Target::Server(0)),
        ]
    );
    h.sent();
    h.inject(ConnAck::default());
    assert!(h.core.is_connected());
}

/// A list of servers: a connection that can't be made goes on to the next at once, the
/// connected event's `Connecting` names the server in use, and after a lost connection the
/// same server is tried first.
fn a_server_list_is_tried_in_order(feed: Feed) {
    let mut settings = settings();
    settings.servers = 3;
    let mut h = Harness::new(config(Version::V311), settings, feed);
    h.refuse_opens = 2;
    h.run();
    assert_eq!(
        h.opened, 3,
        "servers 0 and 1 refused, 2 opened, with no wait"
    );
    h.sent();
    h.inject(ConnAck::default());
    assert!(h.core.is_connected());
    let events = h.events();
    assert_eq!(
        events[..5],
        [
            ClientEvent::Connecting(Target::Server(0)),
            ClientEvent::ConnectFailed {
                error: "connection refused".into()
            },
            ClientEvent::Connecting(Target::Server(1)),
            ClientEvent::ConnectFailed {
                error: "connection refused".into()
            },
            ClientEvent::Connecting(Target::Server(2)),
        ]
    );
    assert!(matches!(events[5], ClientEvent::Connected(_)), "{events:?}");
    h.cut();
    h.advance(Duration::from_millis(100));
    assert!(h.open);
    assert!(
        h.events()
            .contains(&ClientEvent::Connecting(Target::Server(2))),
        "the server that worked first"
    );
}

/// When every server fails, the backoff applies before the next round.
fn a_round_of_failures_waits_for_the_backoff(feed: Feed) {
    let mut settings = settings();
    settings.servers = 2;
    settings.retry_first_connect = true;
    let mut h = Harness::new(config(Version::V311), settings, feed);
    h.refuse_opens = 3;
    h.run();
    assert_eq!(h.opened, 2, "one round, then the backoff");
    h.advance(Duration::from_millis(100));
    assert_eq!(
        h.opened, 4,
        "the second round: server 0 refused, server 1 opened"
    );
    assert!(h.open);
}

fn redirect(code: ReasonCode, reference: &str) -> ConnAck {
    ConnAck {
        reason_code: code,
        properties: ConnAckProperties {
            server_reference: Some(reference.into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// MQTT 5.0 server redirection (§4.11): a CONNACK with 0x9C and a Server Reference sends the
/// next connection there, at once; redirects in a loop stop at the limit, and the refusal
/// stands.
fn a_redirect_is_followed_up_to_the_limit(feed: Feed) {
    let mut settings = settings();
    settings.max_redirects = 2;
    let mut h = Harness::new(config(Version::V5), settings, feed);
    h.run();
    h.sent();
    h.inject(redirect(ReasonCode::USE_ANOTHER_SERVER, "other:1884"));
    assert_eq!(h.opened, 2, "the redirect is followed at once");
    assert_eq!(
        h.core.target(),
        Target::Redirect {
            host: "other".into(),
            port: Some(1884),
            base: 0
        }
    );
    let events = h.events();
    assert!(
        events.contains(&ClientEvent::Redirected {
            reference: "other:1884".into(),
            permanent: false
        }),
        "{events:?}"
    );
    h.sent();
    h.inject(redirect(ReasonCode::USE_ANOTHER_SERVER, "back:1883"));
    assert_eq!(h.opened, 3);
    h.sent();
    h.inject(redirect(ReasonCode::USE_ANOTHER_SERVER, "other:1884"));
    assert_eq!(h.opened, 3, "a third redirect is not followed");
    assert!(
        matches!(&h.stopped, Some(Err(End::Lost(reason))) if reason.reason_code() == Some(ReasonCode::USE_ANOTHER_SERVER)),
        "{:?}",
        h.stopped
    );
}

/// 0x9D (Server moved) in a DISCONNECT: the next connection, and every later one, goes to
/// the new server.
fn a_server_that_moved_is_replaced(feed: Feed) {
    let mut h = Harness::new(config(Version::V5), settings(), feed);
    h.connect();
    h.inject(Disconnect {
        reason_code: ReasonCode::SERVER_MOVED,
        properties: mqtt_client::proto::DisconnectProperties {
            server_reference: Some("[::1]:2883".into()),
            ..Default::default()
        },
    });
    h.run();
    let moved = Target::Redirect {
        host: "::1".into(),
        port: Some(2883),
        base: 0,
    };
    assert_eq!(h.core.target(), moved);
    assert!(h.open, "reconnected at once");
    h.sent();
    h.inject(ConnAck::default());
    h.cut();
    h.advance(Duration::from_millis(100));
    assert_eq!(h.core.target(), moved, "later connections too");
}

fn without_retry_a_failed_first_connection_stops(feed: Feed) {
    let mut h = Harness::new(config(Version::V311), settings(), feed);
    h.refuse_opens = 1;
    h.run();
    assert_eq!(h.stopped, Some(Err(End::ConnectFailed)));
    assert_eq!(
        h.core.publish(
            h.now,
            incoming("t", "x", QoS::AtMostOnce, 0),
            Interest::None
        ),
        Err(CommandError::Stopped)
    );
}

/// A connection that worked (a packet passed after CONNACK) resets the backoff: repeated cuts
/// after traffic reconnect after the initial wait every time; cuts before any traffic climb.
fn backoff_follows_the_health_of_connections(feed: Feed) {
    let mut h = Harness::new(config(Version::V311), settings(), feed);
    h.connect();
    for round in 1..=4u16 {
        h.publish("t", "x", QoS::AtLeastOnce);
        let id = match h.sent().as_slice() {
            [.., Packet::Publish(p)] => p.packet_id.unwrap(),
            other => panic!("expected PUBLISH, got {other:?}"),
        };
        h.inject(PubAck::new(id));
        h.events();
        h.cut();
        assert!(
            h.events().contains(&ClientEvent::Reconnecting {
                attempt: 0,
                delay: Duration::from_millis(100)
            }),
            "round {round}: a cut after traffic reconnects at once"
        );
        h.advance(Duration::from_millis(100));
        h.sent();
        h.inject(ConnAck::default());
    }
    // Accepted, then cut before anything else passed: failures, which climb.
    for (attempt, delay) in [(1, 100), (2, 200), (3, 400)] {
        h.events();
        h.cut();
        assert!(
            h.events().contains(&ClientEvent::Reconnecting {
                attempt,
                delay: Duration::from_millis(delay)
            }),
            "attempt {attempt}"
        );
        h.advance(Duration::from_millis(delay));
        h.sent();
        h.inject(ConnAck::default());
    }
}

// ---- G5: flush on exit -------------------------------------------------------------------

fn a_qos0_publish_completes_once_written(feed: Feed) {
    let mut h = Harness::new(config(Version::V5), settings(), feed);
    h.connect();
    h.hold_writes = true;
    let mid = h.publish("t", "x", QoS::AtMostOnce);
    assert_eq!(h.core.poll_publish(mid, None), Poll::Pending);
    h.release_writes();
    assert!(matches!(
        h.core.poll_publish(mid, None),
        Poll::Ready(Some(Ok(_)))
    ));

    h.hold_writes = true;
    let lost = h.publish("t", "y", QoS::AtMostOnce);
    h.cut();
    assert_eq!(
        h.core.poll_publish(lost, None),
        Poll::Ready(Some(Err(Failure::Failed(FailReason::ConnectionLost))))
    );
}

/// Disconnect waits for the in-flight publish, then sends DISCONNECT, and closes only once
/// everything queued is written.
fn disconnect_finishes_publishes_and_writes_everything(feed: Feed) {
    let mut h = Harness::new(config(Version::V5), settings(), feed);
    h.connect();
    let mid = h.publish("t", "x", QoS::AtLeastOnce);
    h.sent();
    h.core.disconnect(h.now, Disconnect::default()).unwrap();
    h.run();
    assert_eq!(h.sent(), [], "no DISCONNECT while a publish is in flight");
    h.hold_writes = true;
    h.inject(incoming("in", "m", QoS::AtLeastOnce, 5));
    h.inject(PubAck::new(pid(1)));
    assert!(matches!(
        h.core.poll_publish(mid, None),
        Poll::Ready(Some(Ok(_)))
    ));
    assert!(matches!(
        h.sent().as_slice(),
        [Packet::PubAck(_), Packet::Disconnect(_)]
    ));
    assert!(h.open, "not closed before the bytes are written");
    assert_eq!(h.stopped, None);
    h.release_writes();
    assert!(!h.open);
    assert_eq!(h.stopped, Some(Ok(())));
    assert_eq!(h.core.poll_stopped(None), Poll::Ready(Ok(())));
}

/// A transport that takes nothing is closed anyway after the linger time.
fn a_stuck_transport_is_closed_after_the_linger(feed: Feed) {
    let mut h = Harness::new(config(Version::V311), settings(), feed);
    h.connect();
    h.hold_writes = true;
    h.core.handles_dropped(h.now);
    h.run();
    assert!(h.open);
    h.advance(Duration::from_secs(5));
    assert!(!h.open);
    assert_eq!(h.stopped, Some(Ok(())));
}

// ---- G6: the seed's mid --------------------------------------------------------------------

fn acknowledgement_callbacks_carry_the_mid(feed: Feed) {
    let mut h = Harness::new(config(Version::V311), settings(), feed);
    h.connect();
    h.publish("t", "first", QoS::AtLeastOnce);
    let mid = h.publish("t", "second", QoS::ExactlyOnce);
    let fired = Arc::new(Mutex::new(Vec::new()));
    let log = fired.clone();
    h.core.on_if(
        Command::PubComp,
        Box::new(move |_, data: &Received| log.lock().unwrap().push(data.mid)),
        Box::new(move |data: &Received| data.mid == Some(mid)),
        0,
    );
    h.inject(PubAck::new(pid(1)));
    h.inject(PubRec::new(pid(2)));
    h.inject(PubComp::new(pid(2)));
    assert_eq!(*fired.lock().unwrap(), [Some(mid)]);
}

harness::scenarios!(
    message_right_after_connack_reaches_the_default_stream,
    paused_delivery_acknowledges_nothing_until_a_consumer_has_it,
    unmatched_messages_go_to_the_default_stream_while_it_is_open,
    callbacks_take_messages_and_the_rest_go_to_the_default_stream,
    manual_acknowledgement_waits_for_the_application,
    a_callback_may_take_its_message_to_acknowledge_it_later,
    a_full_stream_holds_acknowledgements_but_not_the_client,
    held_messages_come_once_when_the_session_is_resumed,
    held_messages_are_delivered_when_the_session_is_lost,
    a_qos0_flood_drops_the_oldest_and_says_so,
    stop_reading_waits_for_room,
    a_lost_session_is_resubscribed_before_queued_publishes,
    a_subscription_that_cannot_be_restored_ends_its_stream,
    without_resubscription_a_lost_session_ends_the_streams,
    connection_events_tell_the_story,
    the_first_connection_is_retried_when_asked,
    without_retry_a_failed_first_connection_stops,
    a_server_list_is_tried_in_order,
    a_round_of_failures_waits_for_the_backoff,
    a_redirect_is_followed_up_to_the_limit,
    a_server_that_moved_is_replaced,
    backoff_follows_the_health_of_connections,
    a_qos0_publish_completes_once_written,
    disconnect_finishes_publishes_and_writes_everything,
    a_stuck_transport_is_closed_after_the_linger,
    acknowledgement_callbacks_carry_the_mid,
);
