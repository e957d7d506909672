//! Persistence: what the store records, and a session rebuilt with Session::from_store after a
//! restart resuming where the old one stopped.

mod harness;

use harness::*;

fn resuming(mode: Mode) -> Config {
    let mut config = mode.config();
    config.clean_start = false;
    config.max_inflight = NonZeroU16::new(2).unwrap();
    config
}

/// (publish id, packet id, stage) of every outgoing record.
fn records(store: &impl Store) -> Vec<(u64, Option<u16>, Stage)> {
    store
        .load()
        .outgoing
        .iter()
        .map(|r| (r.id.get(), r.publish.packet_id.map(PacketId::get), r.stage))
        .collect()
}

/// A session that published a (QoS 1, unacknowledged), b (QoS 2, PUBREC received), c (QoS 1,
/// queued behind the window) and d (QoS 0, sent), and received e (QoS 2, id 7, PUBREC sent),
/// then "crashed": its store is all that is left.
fn crashed(mode: Mode) -> MemoryStore {
    let mut h = Harness::with_config(mode, resuming(mode));
    h.connect_with(connack_present());
    for (payload, q) in [("a", 1), ("b", 2), ("c", 1), ("d", 0)] {
        h.cmd(|s, now| s.publish(now, msg("t", payload, q)))
            .unwrap();
    }
    h.inject(pubrec(2));
    h.inject(incoming("in", "e", 2, 7));
    assert_eq!(
        records(h.session.store()),
        [
            (1, Some(1), Stage::Sent),
            (2, Some(2), Stage::Released),
            (3, None, Stage::Queued)
        ]
    );
    assert_eq!(h.session.store().load().incoming, [pid(7)]);
    h.session.store().clone()
}

/// The store follows each publish through its stages and forgets it when complete.
fn records_follow_stages(mode: Mode) {
    let mut h = Harness::with_config(mode, resuming(mode));
    h.cmd(|s, now| s.publish(now, msg("t", "a", 2))).unwrap();
    h.cmd(|s, now| s.publish(now, msg("t", "z", 0))).unwrap();
    assert_eq!(records(h.session.store()), [(1, None, Stage::Queued)]);
    h.connect_with(connack_present());
    assert_eq!(records(h.session.store()), [(1, Some(1), Stage::Sent)]);
    h.inject(pubrec(1));
    assert_eq!(records(h.session.store()), [(1, Some(1), Stage::Released)]);
    h.inject(pubcomp(1));
    assert!(records(h.session.store()).is_empty());
    h.inject(incoming("t", "in", 2, 3));
    assert_eq!(h.session.store().load().incoming, [pid(3)]);
    h.inject(pubrel(3));
    assert!(h.session.store().load().incoming.is_empty());
}

/// After a restart, a resumed session sends the unacknowledged PUBLISH again with DUP and
/// the PUBREL, in order, then the queue; an inbound QoS 2 message is not delivered again.
fn restart_resumes(mode: Mode) {
    let store = crashed(mode);
    let session = Session::from_store(resuming(mode), store);
    assert_eq!(session.publishes_in_flight(), 2);
    assert_eq!(session.publishes_queued(), 1);
    let mut h = Harness::with_session(mode, session);
    h.open();
    let Packet::Connect(c) = &h.sent()[0] else {
        panic!()
    };
    assert!(!c.clean_start);
    h.inject(connack_present());
    assert_eq!(
        h.sent(),
        [on_wire(msg("t", "a", 1), Some(1), true), pubrel(2).into(),]
    );
    h.inject(puback(1));
    // Identifier 1 is free again, 2 is still taken.
    assert_eq!(h.sent(), [on_wire(msg("t", "c", 1), Some(1), false)]);
    // The server sends e again: answered, not delivered.
    h.inject({
        let mut publish = incoming("in", "e", 2, 7);
        publish.dup = true;
        publish
    });
    assert_eq!(h.sent(), [Packet::from(pubrec(7))]);
    h.inject(pubrel(7));
    assert_eq!(h.sent(), [Packet::from(pubcomp(7))]);
    h.inject(pubcomp(2));
    h.inject(puback(1));
    let done: Vec<u64> = h
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::Published(p) => Some(p.id.get()),
            Event::Connected(_) => None,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(done, [1, 2, 3]);
    assert!(records(h.session.store()).is_empty());
    assert!(h.session.store().load().incoming.is_empty());
    // New publishes get handles after every stored one.
    let id = h.cmd(|s, now| s.publish(now, msg("t", "f", 0))).unwrap();
    assert!(id.get() > 3, "{id:?}");
}

/// After a restart, a server that lost the session: every unfinished message goes again as
/// new, in order, the released QoS 2 message included (SessionLostPolicy::Resend).
fn restart_session_lost(mode: Mode) {
    let store = crashed(mode);
    let mut h = Harness::with_session(mode, Session::from_store(resuming(mode), store));
    h.open();
    h.inject(ConnAck::default());
    let sent = h.sent();
    let payloads: Vec<(&[u8], bool)> = sent[1..]
        .iter()
        .map(|p| match p {
            Packet::Publish(p) => (&p.payload[..], p.dup),
            other => panic!("{other:?}"),
        })
        .collect();
    // The window is 2: c waits for a slot.
    assert_eq!(payloads, [(&b"a"[..], false), (&b"b"[..], false)]);
    assert!(matches!(h.events().as_slice(), [Event::Connected(_)]));
    assert!(h.session.store().load().incoming.is_empty());
    let first = publish_ids(&sent)[0];
    h.inject(PubAck::new(pid(first)));
    let Packet::Publish(c) = &h.sent()[0] else {
        panic!()
    };
    assert_eq!((&c.payload[..], c.dup), (&b"c"[..], false));
}

/// An empty store: a fresh session with the configured Clean Start.
fn empty_store_is_fresh(mode: Mode) {
    let mut h = Harness::with_session(mode, Session::from_store(mode.config(), MemoryStore::new()));
    assert!(h.connect().clean_start);
}

/// NoStore keeps nothing but the session works the same within the process, reconnections
/// included.
fn no_store(mode: Mode) {
    let session = Session::with_store(resuming(mode), NoStore);
    let mut h = Harness::with_session(mode, session);
    h.connect_with(connack_present());
    h.cmd(|s, now| s.publish(now, msg("t", "a", 2))).unwrap();
    h.inject(incoming("in", "b", 2, 4));
    assert!(h.session.store().load().outgoing.is_empty());
    h.close();
    h.open();
    h.inject(connack_present());
    h.skip();
    h.inject({
        let mut publish = incoming("in", "b", 2, 4);
        publish.dup = true;
        publish
    });
    assert!(!h.events().iter().any(|e| matches!(e, Event::Message(_))));
    h.inject(pubrec(1));
    h.inject(pubcomp(1));
    assert!(matches!(h.events().as_slice(), [Event::Published(_)]));
    let h2 = Session::from_store(resuming(mode), NoStore);
    assert_eq!(h2.publishes_in_flight() + h2.publishes_queued(), 0);
}

/// A store that holds two outgoing records at most.
struct TwoAtMost(MemoryStore);

impl Store for TwoAtMost {
    fn save_outgoing(
        &mut self,
        id: PublishId,
        publish: &Publish,
        stage: Stage,
    ) -> Result<(), StoreError> {
        let known = self.0.load().outgoing.iter().any(|r| r.id == id);
        if !known && self.0.load().outgoing.len() >= 2 {
            return Err(StoreError::Full { limit: 2 });
        }
        self.0.save_outgoing(id, publish, stage)
    }
    fn remove_outgoing(&mut self, id: PublishId) {
        self.0.remove_outgoing(id);
    }
    fn save_incoming(&mut self, packet_id: PacketId) {
        self.0.save_incoming(packet_id);
    }
    fn remove_incoming(&mut self, packet_id: PacketId) {
        self.0.remove_incoming(packet_id);
    }
    fn load(&self) -> StoredSession {
        self.0.load()
    }
}

/// A full store refuses the publish, which takes no id and sends nothing; QoS 0 needs no room.
fn full_store_refuses_the_publish(mode: Mode) {
    let session = Session::with_store(mode.config(), TwoAtMost(MemoryStore::new()));
    let mut h = Harness::with_session(mode, session);
    h.connect();
    let a = h.cmd(|s, now| s.publish(now, msg("t", "a", 1))).unwrap();
    h.cmd(|s, now| s.publish(now, msg("t", "b", 2))).unwrap();
    h.skip();
    assert_eq!(
        h.cmd(|s, now| s.publish(now, msg("t", "c", 1))),
        Err(UsageError::Store(StoreError::Full { limit: 2 }))
    );
    assert_eq!(h.sent(), []);
    let d = h.cmd(|s, now| s.publish(now, msg("t", "d", 0))).unwrap();
    assert_eq!(d.get(), a.get() + 2, "the refused publish took no id");
    h.inject(puback(1));
    h.cmd(|s, now| s.publish(now, msg("t", "e", 1))).unwrap();
}

scenarios! {
    all: empty_store_is_fresh, full_store_refuses_the_publish;
    v311_v5: records_follow_stages, restart_resumes, restart_session_lost, no_store;
}
