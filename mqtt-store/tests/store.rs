//! FileStore against the reference MemoryStore, and what it does with damaged, truncated and
//! half-compacted logs and at its size limit.

mod common;

use common::*;
use proptest::prelude::*;

/// A few records of every kind.
fn script() -> Vec<Op> {
    let save = |id, packet_id, stage| Op::Save {
        id,
        packet_id,
        stage,
        payload_len: 20,
    };
    vec![
        save(1, None, Stage::Queued),
        save(1, Some(1), Stage::Sent),
        Op::SaveIncoming(7),
        save(2, None, Stage::Queued),
        save(2, Some(2), Stage::Sent),
        save(2, Some(2), Stage::Released),
        Op::Remove(1),
        Op::RemoveIncoming(7),
        save(3, None, Stage::Queued),
    ]
}

/// Writes `ops` to a new log; returns its bytes and the log's length after each op (the
/// first entry is the empty log's).
fn written(dir: &TempDir, ops: &[Op]) -> (Vec<u8>, Vec<u64>) {
    let (mut store, recovery) = open(&dir.log(), fast());
    assert!(recovery.is_clean() && recovery.records == 0);
    let mut ends = vec![store.log_len()];
    for op in ops {
        op.apply(&mut store);
        ends.push(store.log_len());
    }
    // Every op here changes something: one record each.
    assert!(ends.windows(2).all(|w| w[0] < w[1]), "{ends:?}");
    drop(store);
    (std::fs::read(dir.log()).unwrap(), ends)
}

#[test]
fn a_reopened_log_gives_back_what_was_saved() {
    let dir = TempDir::new("reopen");
    let ops = script();
    for sync in [
        SyncPolicy::EveryRecord,
        SyncPolicy::Batched,
        SyncPolicy::Never,
    ] {
        let _ = std::fs::remove_file(dir.log());
        let options = StoreOptions::default().with_sync(sync);
        let (mut store, _) = open(&dir.log(), options);
        for op in &ops {
            op.apply(&mut store);
        }
        store.flush().unwrap();
        assert_eq!(store.load(), model(&ops));
        drop(store);
        let (store, recovery) = open(&dir.log(), options);
        assert!(recovery.is_clean(), "{recovery:?}");
        assert_eq!(recovery.records, ops.len() as u64);
        assert_eq!(store.load(), model(&ops));
    }
}

#[test]
fn saving_what_is_already_saved_writes_nothing() {
    let dir = TempDir::new("idempotent");
    let (mut store, _) = open(&dir.log(), fast());
    let ops = script();
    for op in &ops {
        op.apply(&mut store);
    }
    let len = store.log_len();
    ops[4].apply(&mut store); // 2 is Released now: a change
    assert!(store.log_len() > len);
    let len = store.log_len();
    ops[5].apply(&mut store); // Released again
    store.remove_outgoing(PublishId::new(1)); // gone already
    store.remove_incoming(pid(7)); // gone already
    store.save_incoming(pid(9));
    let len_after_incoming = store.log_len();
    store.save_incoming(pid(9));
    assert_eq!(store.log_len(), len_after_incoming);
    assert!(len_after_incoming > len);
}

/// A log cut at every byte offset opens without error, keeps exactly the records wholly
/// before the cut, reports the rest as dropped, and takes new records after the good ones.
#[test]
fn truncation_at_every_offset_keeps_the_whole_records_before_it() {
    let dir = TempDir::new("truncate");
    let ops = script();
    let (bytes, ends) = written(&dir, &ops);
    let cut_log = dir.path().join("cut.mqttlog");
    for cut in 0..=bytes.len() {
        std::fs::write(&cut_log, &bytes[..cut]).unwrap();
        let (mut store, recovery) = open(&cut_log, fast());
        let kept = ends[1..].iter().filter(|&&end| end <= cut as u64).count();
        assert_eq!(store.load(), model(&ops[..kept]), "cut at {cut}");
        let good = if cut < 8 { 0 } else { ends[kept] };
        assert_eq!(recovery.dropped_bytes(), cut as u64 - good, "cut at {cut}");
        assert_eq!(recovery.is_clean(), cut as u64 == good || cut == 0);
        if let Some(damage) = recovery.damage {
            assert_eq!(damage.kind, DamageKind::Incomplete, "cut at {cut}");
            assert_eq!(damage.offset, good);
        }
        assert_eq!(recovery.records, kept as u64);
        assert_eq!(
            std::fs::metadata(&cut_log).unwrap().len(),
            good.max(8),
            "cut at {cut}"
        );
        // New records follow the good ones and are read back.
        Op::SaveIncoming(99).apply(&mut store);
        drop(store);
        let (store, recovery) = open(&cut_log, fast());
        assert!(recovery.is_clean(), "cut at {cut}: {recovery:?}");
        let mut expected = ops[..kept].to_vec();
        expected.push(Op::SaveIncoming(99));
        assert_eq!(store.load(), model(&expected), "cut at {cut}");
    }
}

/// A byte changed anywhere in a record drops that record and everything after it, and keeps
/// everything before.
#[test]
fn a_damaged_byte_drops_its_record_and_the_rest() {
    let dir = TempDir::new("flip");
    let ops = script();
    let (bytes, ends) = written(&dir, &ops);
    let damaged_log = dir.path().join("damaged.mqttlog");
    for offset in 8..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[offset] ^= 0xFF;
        std::fs::write(&damaged_log, &damaged).unwrap();
        let (store, recovery) = open(&damaged_log, fast());
        let record = ends.iter().rposition(|&end| end <= offset as u64).unwrap();
        assert_eq!(store.load(), model(&ops[..record]), "byte {offset}");
        let damage = recovery.damage.expect("damage reported");
        assert_eq!(damage.offset, ends[record], "byte {offset}");
        assert_eq!(damage.dropped_bytes, bytes.len() as u64 - ends[record]);
        let in_length_field = offset as u64 - ends[record] < 4;
        if in_length_field {
            assert!(
                matches!(damage.kind, DamageKind::Checksum | DamageKind::Incomplete),
                "byte {offset}: {damage:?}"
            );
        } else {
            assert_eq!(damage.kind, DamageKind::Checksum, "byte {offset}");
        }
        assert_eq!(recovery.records, record as u64);
    }
}

#[test]
fn a_file_that_is_not_a_log_is_refused_and_left_alone() {
    let dir = TempDir::new("not-a-log");
    let (bytes, _) = written(&dir, &script());
    for contents in [
        b"hello, world".to_vec(),
        b"MQTX".to_vec(),
        [&b"MQTTLOG\x02"[..], &bytes[8..]].concat(),
    ] {
        std::fs::write(dir.log(), &contents).unwrap();
        let error = FileStore::open(dir.log(), fast()).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        assert_eq!(std::fs::read(dir.log()).unwrap(), contents);
    }
    // An empty file is a new log.
    std::fs::write(dir.log(), b"").unwrap();
    let (store, recovery) = open(&dir.log(), fast());
    assert!(recovery.is_clean());
    assert_eq!(store.load(), StoredSession::default());
}

/// A length field claiming more than any record can hold is damage, not an allocation.
#[test]
fn a_huge_length_field_is_damage() {
    let dir = TempDir::new("huge");
    let ops = script();
    let (mut bytes, ends) = written(&dir, &ops);
    let at = ends[2] as usize;
    bytes[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(dir.log(), &bytes).unwrap();
    let (store, recovery) = open(&dir.log(), fast());
    assert_eq!(store.load(), model(&ops[..2]));
    assert_eq!(recovery.damage.unwrap().offset, ends[2]);
}

#[test]
fn compaction_keeps_the_state_and_appends_go_on_after_it() {
    let dir = TempDir::new("compact");
    let (mut store, _) = open(&dir.log(), fast());
    let mut ops = Vec::new();
    for id in 1..=100 {
        ops.push(Op::Save {
            id,
            packet_id: None,
            stage: Stage::Queued,
            payload_len: 50,
        });
        ops.push(Op::Save {
            id,
            packet_id: Some(id as u16),
            stage: Stage::Sent,
            payload_len: 50,
        });
        if id % 10 != 0 {
            ops.push(Op::Remove(id));
        }
        ops.push(Op::SaveIncoming(id as u16));
        if id % 3 != 0 {
            ops.push(Op::RemoveIncoming(id as u16));
        }
    }
    for op in &ops {
        op.apply(&mut store);
    }
    let before = store.log_len();
    store.compact().unwrap();
    assert!(
        store.log_len() < before / 4,
        "{} of {before}",
        store.log_len()
    );
    assert_eq!(store.log_len(), store.live_len());
    assert_eq!(store.load(), model(&ops));
    assert!(!dir.path().join("session.mqttlog.compact").exists());
    ops.push(Op::Remove(10));
    ops.push(Op::SaveIncoming(500));
    for op in &ops[ops.len() - 2..] {
        op.apply(&mut store);
    }
    drop(store);
    let (store, recovery) = open(&dir.log(), fast());
    assert!(recovery.is_clean(), "{recovery:?}");
    assert_eq!(store.load(), model(&ops));
}

/// With a small minimum, a log that keeps little stays small on its own.
#[test]
fn compaction_runs_on_its_own() {
    let dir = TempDir::new("auto");
    let options = fast().with_compact_min_bytes(4096);
    let (mut store, _) = open(&dir.log(), options);
    let mut ops = Vec::new();
    let mut longest = 0;
    for id in 1..=2000 {
        let batch = [
            Op::Save {
                id,
                packet_id: None,
                stage: Stage::Queued,
                payload_len: 30,
            },
            Op::Save {
                id,
                packet_id: Some((id % 60_000 + 1) as u16),
                stage: Stage::Sent,
                payload_len: 30,
            },
        ];
        for op in batch {
            op.apply(&mut store);
            ops.push(op);
        }
        if id > 5 {
            let op = Op::Remove(id - 5);
            op.apply(&mut store);
            ops.push(op);
        }
        longest = longest.max(store.log_len());
    }
    assert!(longest <= 4096 + 200, "{longest}");
    drop(store);
    let (store, recovery) = open(&dir.log(), options);
    assert!(recovery.is_clean());
    assert_eq!(store.load(), model(&ops));
}

/// A crash during a compaction leaves its temporary file, half written or whole but not
/// renamed: the log is the old one, whole, and the temporary file is removed.
#[test]
fn a_compaction_cut_short_leaves_the_old_log() {
    let dir = TempDir::new("compact-crash");
    let ops = script();
    let (bytes, _) = written(&dir, &ops);
    let temporary = dir.path().join("session.mqttlog.compact");
    // A compacted log of the same state, as the compaction would have written it.
    let compacted_dir = TempDir::new("compacted");
    written(&compacted_dir, &ops);
    let (mut store, _) = open(&compacted_dir.log(), fast());
    store.compact().unwrap();
    drop(store);
    let compacted = std::fs::read(compacted_dir.log()).unwrap();
    assert!(compacted.len() < bytes.len());
    for cut in [0, 5, 8, compacted.len() / 2, compacted.len()] {
        std::fs::write(dir.log(), &bytes).unwrap();
        std::fs::write(&temporary, &compacted[..cut]).unwrap();
        let (store, recovery) = open(&dir.log(), fast());
        assert!(recovery.stale_compaction);
        assert!(recovery.is_clean(), "{recovery:?}");
        assert_eq!(store.load(), model(&ops));
        assert!(!temporary.exists());
        assert_eq!(std::fs::read(dir.log()).unwrap(), bytes);
    }
    // Renamed but not yet followed by anything: the new log, whole.
    std::fs::write(dir.log(), &compacted).unwrap();
    let (store, recovery) = open(&dir.log(), fast());
    assert!(recovery.is_clean() && !recovery.stale_compaction);
    assert_eq!(store.load(), model(&ops));
}

fn queued(store: &mut FileStore, id: u64, payload_len: usize) -> Result<(), StoreError> {
    let publish = publish(QoS::AtLeastOnce, &vec![1; payload_len], None);
    store.save_outgoing(PublishId::new(id), &publish, Stage::Queued)
}

#[test]
fn a_full_store_refuses_new_publishes_and_takes_them_again_after_removals() {
    let dir = TempDir::new("full");
    let limit = 4096;
    let options = fast().with_max_bytes(limit);
    let (mut store, _) = open(&dir.log(), options);
    let mut id = 0;
    let full = loop {
        id += 1;
        match queued(&mut store, id, 100) {
            Ok(()) => assert!(store.log_len() <= limit),
            Err(e) => break e,
        }
    };
    assert_eq!(full, StoreError::Full { limit });
    assert_eq!(
        full.to_string(),
        "the store is full (4096 bytes)",
        "the message says what happened"
    );
    let accepted = id - 1;
    assert!(accepted > 20, "{accepted}");
    assert_eq!(store.load().outgoing.len() as u64, accepted);
    // The refused publish left nothing behind.
    assert!(
        store
            .load()
            .outgoing
            .iter()
            .all(|r| r.id != PublishId::new(id))
    );
    // What is kept already goes on through its stages, and inbound ids are kept, full or not.
    let first = publish(QoS::AtLeastOnce, &[1; 100], Some(1));
    store
        .save_outgoing(PublishId::new(1), &first, Stage::Sent)
        .unwrap();
    store.save_incoming(pid(3));
    assert_eq!(store.load().outgoing[0].stage, Stage::Sent);
    assert_eq!(store.load().incoming, [pid(3)]);
    // A publish larger than the limit never fits.
    assert_eq!(
        queued(&mut store, 10_000, 5000),
        Err(StoreError::Full { limit })
    );
    // Half the messages complete: new ones fit again, the log compacted under the limit.
    for done in 1..=accepted / 2 {
        store.remove_outgoing(PublishId::new(done));
    }
    let mut kept: Vec<u64> = (accepted / 2 + 1..=accepted).collect();
    for more in 0..accepted / 4 {
        let new = 20_000 + more;
        queued(&mut store, new, 100).unwrap();
        kept.push(new);
        assert!(store.log_len() <= limit + 64, "{}", store.log_len());
    }
    drop(store);
    let (store, recovery) = open(&dir.log(), options);
    assert!(recovery.is_clean());
    let ids: Vec<u64> = store.load().outgoing.iter().map(|r| r.id.get()).collect();
    assert_eq!(ids, kept);
    assert_eq!(store.load().incoming, [pid(3)]);
}

fn op() -> impl Strategy<Value = Op> {
    let stage = prop_oneof![
        Just(Stage::Queued),
        Just(Stage::Sent),
        Just(Stage::Released)
    ];
    prop_oneof![
        4 => (0..24u64, proptest::option::of(1..4u16), stage, 0..200usize).prop_map(
            |(id, packet_id, stage, payload_len)| Op::Save {
                id,
                packet_id,
                stage,
                payload_len
            }
        ),
        2 => (0..24u64).prop_map(Op::Remove),
        1 => (1..6u16).prop_map(Op::SaveIncoming),
        1 => (1..6u16).prop_map(Op::RemoveIncoming),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// After any sequence of calls, the store (and the same log reopened) holds what a
    /// MemoryStore given the same calls holds, compactions or not.
    #[test]
    fn behaves_like_the_memory_store(
        ops in proptest::collection::vec(op(), 0..80),
        compact_min in prop_oneof![Just(0u64), Just(512), Just(1 << 20)],
        sync in prop_oneof![Just(SyncPolicy::Batched), Just(SyncPolicy::Never)],
    ) {
        let dir = TempDir::new("model");
        let options = StoreOptions::default().with_sync(sync).with_compact_min_bytes(compact_min);
        let (mut store, _) = open(&dir.log(), options);
        let mut memory = MemoryStore::new();
        for (i, op) in ops.iter().enumerate() {
            op.apply(&mut store);
            op.apply(&mut memory);
            prop_assert_eq!(store.load(), memory.load());
            if i % 16 == 15 {
                store.flush().unwrap();
            }
        }
        store.flush().unwrap();
        drop(store);
        let (store, recovery) = open(&dir.log(), options);
        prop_assert!(recovery.is_clean());
        prop_assert_eq!(store.load(), memory.load());
    }
}
