//! Clean shutdown: `disconnect`, `loop_stop` and dropping every handle leave no loop thread
//! behind. One test in its own process, so that no other test's threads are counted.

#[path = "../../mqtt-tokio/tests/support/mod.rs"]
mod support;

mod common;

use std::time::{Duration, Instant};

use common::{WAIT, connected};
use mqtt_blocking::{QoS, Version};
use support::{client_id, topic};

/// The threads of this process named like the client's loop thread (Linux: from /proc).
fn loop_threads() -> Option<usize> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    Some(
        tasks
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
            .filter(|name| name.trim() == "mqtt-loop")
            .count(),
    )
}

/// Waits until `expected` loop threads exist (threads take a moment to go after a join, and
/// a dropped client's thread ends on its own).
fn expect_loop_threads(expected: usize, what: &str) {
    let started = Instant::now();
    loop {
        let Some(count) = loop_threads() else {
            eprintln!("no /proc/self/task: thread counting skipped");
            return;
        };
        if count == expected {
            return;
        }
        assert!(
            started.elapsed() < WAIT,
            "{what}: {count} loop threads, expected {expected}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// CPU time (user + system, in clock ticks) of the threads named like the loop thread.
fn loop_cpu_ticks() -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let path = task.ok()?.path();
        if std::fs::read_to_string(path.join("comm")).ok()?.trim() != "mqtt-loop" {
            continue;
        }
        let stat = std::fs::read_to_string(path.join("stat")).ok()?;
        // After the parenthesised name: state is field 3, utime 14 and stime 15.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        total += fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    }
    Some(total)
}

#[test]
fn no_loop_thread_outlives_its_client() {
    expect_loop_threads(0, "at start");
    let version = Version::V311;

    // disconnect() joins the loop thread.
    let client = connected(version, &client_id("shutdown"));
    client.loop_start(None).unwrap();
    expect_loop_threads(1, "after loop_start");
    let mid = client
        .publish(&topic("shutdown"), "x", QoS::AtLeastOnce, false)
        .unwrap();
    client.wait_for_publish(mid, WAIT).unwrap();
    // Nothing spins: an idle connection costs no CPU between keep alives.
    let before = loop_cpu_ticks();
    std::thread::sleep(Duration::from_secs(1));
    if let (Some(before), Some(after)) = (before, loop_cpu_ticks()) {
        assert!(
            after - before <= 2,
            "the idle loop used {} ticks",
            after - before
        );
    }
    client.disconnect().unwrap();
    assert_eq!(
        loop_threads().unwrap_or(0),
        0,
        "disconnect joined the thread"
    );

    // loop_stop() joins it too, and a new loop can start.
    let client = connected(version, &client_id("shutdown"));
    client.loop_start(None).unwrap();
    expect_loop_threads(1, "second loop");
    client.loop_stop().unwrap();
    assert_eq!(
        loop_threads().unwrap_or(0),
        0,
        "loop_stop joined the thread"
    );
    client.loop_start(None).unwrap();
    expect_loop_threads(1, "restarted loop");
    client.disconnect().unwrap();
    assert_eq!(loop_threads().unwrap_or(0), 0);

    // Dropping every handle while the loop runs ends it.
    let client = connected(version, &client_id("shutdown"));
    client.loop_start(None).unwrap();
    let clone = client.clone();
    expect_loop_threads(1, "third loop");
    drop(client);
    drop(clone);
    expect_loop_threads(0, "after dropping every client");
}
