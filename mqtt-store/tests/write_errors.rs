//! Write failures, made real by a file size limit (`ulimit -f`, so writes past 8 KiB fail with
//! EFBIG) on a child process: a new publish that can't be written is refused, a change that
//! can't be written is kept in memory and `flush` reports it, and the store repairs itself with
//! a rewrite once there is room. Linux only: the child reads its limit in /proc.
#![cfg(target_os = "linux")]

mod common;

use std::process::Command;

use common::*;

const CHILD_LOG: &str = "MQTT_STORE_WRITE_ERRORS_LOG";

fn save(store: &mut FileStore, id: u64, payload: usize) -> Result<(), StoreError> {
    let publish = publish(QoS::AtLeastOnce, &vec![7; payload], None);
    store.save_outgoing(PublishId::new(id), &publish, Stage::Queued)
}

fn ids(store: &FileStore) -> Vec<u64> {
    store.load().outgoing.iter().map(|r| r.id.get()).collect()
}

/// The child, run with writes limited to 8 KiB.
#[test]
#[ignore = "the child process of write_failures_are_reported_and_repaired"]
fn write_errors_child() {
    let Ok(log) = std::env::var(CHILD_LOG) else {
        return;
    };
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    assert!(
        limits
            .lines()
            .any(|l| l.starts_with("Max file size") && l.contains(" 8192 ")),
        "{limits}"
    );
    let (mut store, _) =
        FileStore::open(&log, StoreOptions::default().with_sync(SyncPolicy::Batched)).unwrap();
    // Records of 1,023 bytes: eight fill the 8 KiB exactly, header included.
    save(&mut store, 1, 993).unwrap();
    assert_eq!(store.log_len(), 8 + 1023);
    for id in 2..=8 {
        save(&mut store, id, 993).unwrap();
    }
    assert_eq!(store.log_len(), 8192);
    // The ninth can't be written: refused, and not kept.
    let refused = save(&mut store, 9, 993).unwrap_err();
    assert!(matches!(refused, StoreError::Failed(_)), "{refused:?}");
    assert_eq!(ids(&store), [1, 2, 3, 4, 5, 6, 7, 8]);
    // An inbound identifier: kept in memory, but the rewrite that would save it does not fit
    // either, and flush says so.
    store.save_incoming(pid(5));
    assert_eq!(store.load().incoming, [pid(5)]);
    assert!(matches!(store.flush(), Err(StoreError::Failed(_))));
    assert!(
        matches!(store.flush(), Err(StoreError::Failed(_))),
        "until it works"
    );
    // A publish completes: the rewrite fits now, and all is well again.
    store.remove_outgoing(PublishId::new(1));
    store.flush().unwrap();
    save(&mut store, 10, 100).unwrap();
    store.flush().unwrap();
    assert_eq!(ids(&store), [2, 3, 4, 5, 6, 7, 8, 10]);
}

#[test]
fn write_failures_are_reported_and_repaired() {
    let dir = TempDir::new("write-errors");
    let status = Command::new("sh")
        .args([
            "-c",
            "trap '' XFSZ; ulimit -f 16 && exec \"$0\" --exact write_errors_child --ignored",
        ])
        .arg(std::env::current_exe().unwrap())
        .env(CHILD_LOG, dir.log())
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the child failed: {status}");
    let (store, recovery) = open(&dir.log(), fast());
    assert!(recovery.is_clean(), "{recovery:?}");
    assert_eq!(ids(&store), [2, 3, 4, 5, 6, 7, 8, 10]);
    assert_eq!(store.load().incoming, [pid(5)]);
}
