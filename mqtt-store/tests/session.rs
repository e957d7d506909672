//! A session over a FileStore, dropped in the middle of its exchanges, and rebuilt from the
//! reopened log with Session::from_store: the same publishes in flight and queued, resent in
//! the same order with the same properties, and an inbound QoS 2 message not delivered twice.

mod common;

use std::num::NonZeroU16;

use bytes::BytesMut;
use common::*;
use mqtt_proto::{
    ConnAck, Decoder, Packet, PubAck, PubComp, PubRec, PubRel, PublishProperties, UserProperty,
};
use mqtt_session::{Config, Event, Instant, Session, Version};

fn config(version: Version) -> Config {
    let mut config = Config::new("store-test", version);
    config.clean_start = false;
    config.max_inflight = NonZeroU16::new(2).unwrap();
    config
}

fn message(payload: &'static str, qos: QoS, version: Version) -> Publish {
    let mut publish = Publish::new(TopicName::new("t/x").unwrap(), payload);
    publish.qos = qos;
    if version.is_v5() {
        publish.set_properties(PublishProperties {
            content_type: Some("text/plain".into()),
            correlation_data: Some(payload.as_bytes().to_vec().into()),
            user_properties: vec![UserProperty {
                key: "n".into(),
                value: payload.into(),
            }],
            ..PublishProperties::default()
        });
    }
    publish
}

/// Feeds one packet from the broker.
fn feed(session: &mut Session<FileStore>, packet: impl Into<Packet>) {
    let mut bytes = Vec::new();
    packet.into().encode(session.version(), &mut bytes).unwrap();
    session.handle_bytes(Instant::from_millis(10), &bytes);
}

/// Everything the session has to send, decoded as the broker would, after flushing the store
/// as the client layer does before it writes.
fn sent(session: &mut Session<FileStore>) -> Vec<Packet> {
    session.store_mut().flush().unwrap();
    let decoder = Decoder::new(session.version());
    let mut bytes = BytesMut::new();
    while let Some(chunk) = session.poll_transmit() {
        bytes.extend_from_slice(&chunk);
    }
    let mut packets = Vec::new();
    while let Some(packet) = decoder.decode(&mut bytes).unwrap() {
        packets.push(packet);
    }
    packets
}

fn events(session: &mut Session<FileStore>) -> Vec<Event> {
    std::iter::from_fn(|| session.poll_event()).collect()
}

fn wire(mut publish: Publish, packet_id: u16, dup: bool) -> Packet {
    publish.packet_id = PacketId::new(packet_id);
    publish.dup = dup;
    Packet::Publish(publish)
}

fn restart_resumes(version: Version) {
    let dir = TempDir::new("session");
    let options = StoreOptions::default().with_sync(SyncPolicy::Batched);
    let (store, _) = open(&dir.log(), options);
    let mut session = Session::with_store(config(version), store);
    session.handle_transport_opened(Instant::ZERO).unwrap();
    assert!(matches!(sent(&mut session)[..], [Packet::Connect(_)]));
    feed(
        &mut session,
        ConnAck {
            session_present: true,
            ..ConnAck::default()
        },
    );
    let (a, b, c) = (
        message("a", QoS::AtLeastOnce, version),
        message("b", QoS::ExactlyOnce, version),
        message("c", QoS::AtLeastOnce, version),
    );
    for publish in [&a, &b, &c, &message("d", QoS::AtMostOnce, version)] {
        session
            .publish(Instant::from_millis(1), publish.clone())
            .unwrap();
    }
    assert_eq!(
        sent(&mut session).len(),
        2,
        "a and b; c and d wait for room"
    );
    feed(&mut session, PubRec::new(pid(2)));
    assert_eq!(sent(&mut session), [Packet::from(PubRel::new(pid(2)))]);
    let mut inbound = Publish::new(TopicName::new("in").unwrap(), "e");
    inbound.qos = QoS::ExactlyOnce;
    inbound.packet_id = Some(pid(7));
    feed(&mut session, inbound.clone());
    assert_eq!(sent(&mut session), [Packet::from(PubRec::new(pid(7)))]);
    assert_eq!(events(&mut session).len(), 2, "Connected, then the message");
    let before = session.store().load();
    drop(session);

    // The process restarts.
    let (store, recovery) = open(&dir.log(), options);
    assert!(recovery.is_clean(), "{recovery:?}");
    assert_eq!(store.load(), before);
    let stages: Vec<(u64, Stage)> = before
        .outgoing
        .iter()
        .map(|r| (r.id.get(), r.stage))
        .collect();
    assert_eq!(
        stages,
        [(1, Stage::Sent), (2, Stage::Released), (3, Stage::Queued)]
    );
    let mut session = Session::from_store(config(version), store);
    assert_eq!(session.publishes_in_flight(), 2);
    assert_eq!(session.publishes_queued(), 1);
    session.handle_transport_opened(Instant::ZERO).unwrap();
    let Packet::Connect(connect) = &sent(&mut session)[0] else {
        panic!("CONNECT first")
    };
    assert!(!connect.clean_start);
    feed(
        &mut session,
        ConnAck {
            session_present: true,
            ..ConnAck::default()
        },
    );
    // The unacknowledged PUBLISH again with DUP, properties and all, and the PUBREL.
    assert_eq!(
        sent(&mut session),
        [wire(a, 1, true), Packet::from(PubRel::new(pid(2)))]
    );
    feed(&mut session, PubAck::new(pid(1)));
    assert_eq!(sent(&mut session), [wire(c, 1, false)]);
    // The broker sends e again: answered, not delivered again.
    inbound.dup = true;
    feed(&mut session, inbound);
    assert_eq!(sent(&mut session), [Packet::from(PubRec::new(pid(7)))]);
    feed(&mut session, PubRel::new(pid(7)));
    assert_eq!(sent(&mut session), [Packet::from(PubComp::new(pid(7)))]);
    feed(&mut session, PubComp::new(pid(2)));
    feed(&mut session, PubAck::new(pid(1)));
    let published: Vec<u64> = events(&mut session)
        .iter()
        .filter_map(|event| match event {
            Event::Published(p) => Some(p.id.get()),
            Event::Connected(_) => None,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(published, [1, 2, 3]);
    drop(session);

    // Nothing is left to resume.
    let (store, recovery) = open(&dir.log(), options);
    assert!(recovery.is_clean());
    assert_eq!(store.load(), StoredSession::default());
}

#[test]
fn restart_resumes_v5() {
    restart_resumes(Version::V5);
}

#[test]
fn restart_resumes_v311() {
    restart_resumes(Version::V311);
}

/// A full store refuses the publish through the session, which says why.
#[test]
fn a_full_store_refuses_the_publish() {
    let dir = TempDir::new("session-full");
    let options = StoreOptions::default()
        .with_sync(SyncPolicy::Never)
        .with_max_bytes(1024);
    let (store, _) = open(&dir.log(), options);
    let mut session = Session::with_store(config(Version::V5), store);
    let big = {
        let mut publish = Publish::new(TopicName::new("t").unwrap(), vec![0; 2000]);
        publish.qos = QoS::AtLeastOnce;
        publish
    };
    let refused = session.publish(Instant::ZERO, big).unwrap_err();
    assert_eq!(
        refused,
        mqtt_session::UsageError::Store(StoreError::Full { limit: 1024 })
    );
    assert_eq!(session.publishes_queued(), 0);
    let small = {
        let mut publish = Publish::new(TopicName::new("t").unwrap(), vec![0; 20]);
        publish.qos = QoS::AtLeastOnce;
        publish
    };
    session.publish(Instant::ZERO, small).unwrap();
    assert_eq!(session.publishes_queued(), 1);
}
