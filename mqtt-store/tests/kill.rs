//! `kill -9`: a child process saves records with `SyncPolicy::EveryRecord` and reports each
//! one done; it is killed (SIGKILL on Unix) at varying moments, compactions included. After
//! each kill the log opens, and holds the state after every reported record: exactly the
//! records reported, or one more that was written before the report.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Set, in the child, to the log's path.
const CHILD_LOG: &str = "MQTT_STORE_KILL_LOG";
/// Set, in the child, to the run's number.
const CHILD_RUN: &str = "MQTT_STORE_KILL_RUN";
/// Set, in the child, to make it compact the log after every record.
const CHILD_COMPACTS: &str = "MQTT_STORE_KILL_COMPACTS";

/// Small enough that the child compacts every few dozen records.
fn options() -> StoreOptions {
    StoreOptions::default()
        .with_sync(SyncPolicy::EveryRecord)
        .with_compact_min_bytes(8 * 1024)
}

/// The calls of run `run`, in order: each publish is queued, sent, and completed eight
/// publishes later; every third message also starts an inbound exchange that ends with the
/// next message.
fn calls(run: u64) -> impl Iterator<Item = Op> {
    (1..).flat_map(move |i: u64| {
        let id = run * 1_000_000 + i;
        let mut ops = vec![
            Op::Save {
                id,
                packet_id: None,
                stage: Stage::Queued,
                payload_len: 100,
            },
            Op::Save {
                id,
                packet_id: Some((i % 65_535 + 1) as u16),
                stage: Stage::Sent,
                payload_len: 100,
            },
        ];
        if i > 8 {
            ops.push(Op::Remove(id - 8));
        }
        let incoming = (i % 1000 + 1) as u16;
        match i % 3 {
            0 => ops.push(Op::SaveIncoming(incoming)),
            1 if i > 1 => ops.push(Op::RemoveIncoming(((i - 1) % 1000 + 1) as u16)),
            _ => {}
        }
        ops
    })
}

/// The child: saves the calls of its run, reporting each one done, until it is killed (or,
/// should the parent be gone, for at most a minute).
#[test]
#[ignore = "the child process of kill_9_keeps_every_reported_record"]
fn kill_child() {
    let (Ok(log), Ok(run)) = (std::env::var(CHILD_LOG), std::env::var(CHILD_RUN)) else {
        return;
    };
    let run: u64 = run.parse().unwrap();
    let compacts = std::env::var_os(CHILD_COMPACTS).is_some();
    let (mut store, _) = FileStore::open(&log, options()).unwrap();
    let start = Instant::now();
    let mut out = std::io::stdout().lock();
    for (done, op) in calls(run).enumerate() {
        op.apply(&mut store);
        if compacts {
            store.compact().unwrap();
        }
        writeln!(out, "done {}", done + 1).unwrap();
        out.flush().unwrap();
        if start.elapsed() > Duration::from_secs(60) {
            break;
        }
    }
}

/// A random number, from the standard library's randomly keyed hasher.
fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

/// Takes the number out of a child's "done N" line.
fn read(line: &str, reported: &mut usize) {
    if let Some(n) = line.strip_prefix("done ") {
        *reported = n.parse().unwrap();
    }
}

/// Runs a child on the log in `dir` for run `run`, kills it once it has reported
/// `wait_for` records, and checks that the log holds `before` and then the child's records up
/// to the last it reported, or one more. Returns the state and the recovery report.
fn kill_and_check(
    dir: &TempDir,
    run: u64,
    wait_for: usize,
    compacts: bool,
    before: &MemoryStore,
) -> (MemoryStore, Recovery) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "kill_child", "--ignored", "--nocapture"])
        .env(CHILD_LOG, dir.log())
        .env(CHILD_RUN, run.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if compacts {
        command.env(CHILD_COMPACTS, "1");
    }
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut reported = 0;
    for line in lines.by_ref() {
        read(&line.unwrap(), &mut reported);
        if reported >= wait_for {
            break;
        }
    }
    // Then lets it run on for a random while under 2 ms: a fixed delay lands at the same point
    // of the child's loop every time.
    std::thread::sleep(Duration::from_micros(random() % 2000));
    child.kill().unwrap();
    child.wait().unwrap();
    // What the child reported before it died is still in the pipe.
    for line in lines {
        read(&line.unwrap(), &mut reported);
    }
    assert!(
        reported >= wait_for,
        "run {run}: the child stopped at {reported}"
    );

    let (store, recovery) = FileStore::open(dir.log(), options()).unwrap();
    let mut expected = before.clone();
    let mut calls = calls(run);
    for op in calls.by_ref().take(reported) {
        op.apply(&mut expected);
    }
    if store.load() != expected.load() {
        // The record after the last report was written; its report was not.
        calls.next().unwrap().apply(&mut expected);
    }
    assert_eq!(
        store.load(),
        expected.load(),
        "run {run}: killed after {reported} reported, {recovery:?}"
    );
    (expected, recovery)
}

#[test]
fn kill_9_keeps_every_reported_record() {
    let dir = TempDir::new("kill");
    let mut state = MemoryStore::new();
    // How many records the parent waits for before it kills the child.
    for (run, wait_for) in [(1, 1), (2, 37), (3, 150), (4, 420), (5, 1000)] {
        (state, _) = kill_and_check(&dir, run, wait_for, false, &state);
    }
}

/// A child that compacts after every record is killed until a kill has landed in the middle
/// of a compaction (its temporary file left behind): the log is whole all the same.
#[test]
fn kill_9_during_a_compaction_leaves_a_whole_log() {
    let dir = TempDir::new("kill-compaction");
    let mut state = MemoryStore::new();
    let mut interrupted = 0;
    for run in 1..=20 {
        let recovery;
        (state, recovery) = kill_and_check(&dir, run, 5 + 7 * run as usize, true, &state);
        // A write cut short by the kill (one that spans two pages can be) is the only damage.
        assert!(
            recovery
                .damage
                .is_none_or(|damage| damage.kind == DamageKind::Incomplete),
            "{recovery:?}"
        );
        interrupted += u32::from(recovery.stale_compaction);
        if interrupted >= 2 {
            return;
        }
    }
    panic!("only {interrupted} of 20 kills landed in a compaction");
}
