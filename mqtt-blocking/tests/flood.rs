//! A QoS 0 flood to a slow consumer keeps memory bounded, through each delivery path of the
//! blocking client: the `messages()` receiver and the seed's callbacks. 200,000 messages of
//! 1 KiB; the consumer takes 1 ms for each; the process's peak RSS stays within a bound.
//!
//! A test binary of its own, so that no other test's memory is counted. The bound is checked
//! against an external broker (mosquitto in CI): the embedded one lives in this process.

#[path = "../../mqtt-tokio/tests/support/mod.rs"]
mod support;

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::{WAIT, connected};
use mqtt_blocking::{ClientEvent, Command, QoS, Version};
use support::{broker, client_id, topic};

/// What the flood may add to the process's peak RSS.
const BOUND: u64 = 64 * 1024 * 1024;

fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    Receiver,
    Callback,
}

fn flood(path: Path) {
    const COUNT: u32 = 200_000;
    let version = Version::V311;
    let topic = topic("flood");
    let consumer = connected(version, &client_id("flood-sub"));
    let events = consumer.events();
    let handled = Arc::new(AtomicU32::new(0));
    let mut reader = None;
    match path {
        Path::Receiver => {
            let messages = consumer.messages();
            let handled = handled.clone();
            reader = Some(std::thread::spawn(move || {
                while messages.recv().is_ok() {
                    std::thread::sleep(Duration::from_millis(1));
                    handled.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        Path::Callback => {
            let count = handled.clone();
            consumer.on(Command::Publish, move |_, _| {
                std::thread::sleep(Duration::from_millis(1));
                count.fetch_add(1, Ordering::Relaxed);
            });
        }
    }
    let subscribed = consumer.subscribe(&[(&topic, QoS::AtMostOnce)]).unwrap();
    consumer.loop_start(None).unwrap();
    consumer.wait_for_request(subscribed, WAIT).unwrap();
    let publisher = connected(version, &client_id("flood-pub"));
    publisher.loop_start(None).unwrap();
    let payload = bytes::Bytes::from(vec![0x5a; 1024]);
    let started = Instant::now();
    for _ in 0..COUNT {
        publisher
            .publish(&topic, payload.clone(), QoS::AtMostOnce, false)
            .unwrap();
    }
    let last = publisher
        .publish(&topic, "end", QoS::AtMostOnce, false)
        .unwrap();
    publisher
        .wait_for_publish(last, Duration::from_secs(60))
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    if path == Path::Receiver {
        let own = consumer
            .publish(&format!("{topic}/own"), "alive", QoS::AtLeastOnce, false)
            .unwrap();
        consumer
            .wait_for_publish(own, WAIT)
            .expect("the flooded client completes its own publish");
    }
    let mut dropped = 0;
    while let Ok(event) = events.recv_timeout(Duration::from_millis(50)) {
        if let ClientEvent::MessagesDropped { count } = event {
            dropped += count;
        }
    }
    publisher.disconnect().unwrap();
    consumer.disconnect().unwrap();
    if let Some(reader) = reader {
        reader.join().unwrap();
    }
    let handled = handled.load(Ordering::Relaxed);
    eprintln!(
        "{path:?}: flood of {COUNT} x 1 KiB sent in {:?}; {handled} handled, {dropped} dropped",
        started.elapsed()
    );
    assert!(u64::from(handled) + dropped <= u64::from(COUNT) + 1);
    if path == Path::Receiver {
        assert!(
            dropped > 0,
            "the slow consumer could not have taken them all"
        );
    }
}

#[test]
fn a_qos0_flood_to_a_slow_consumer_stays_within_the_bound() {
    let Some(before) = peak_rss() else {
        eprintln!("no /proc/self/status: the RSS bound is not checked here");
        return;
    };
    for path in [Path::Receiver, Path::Callback] {
        flood(path);
        let grown = peak_rss().unwrap_or(before).saturating_sub(before);
        eprintln!("{path:?}: peak RSS +{} KiB so far", grown / 1024);
        if !broker().external {
            eprintln!("embedded broker: the RSS bound is checked against mosquitto only");
            continue;
        }
        assert!(
            grown < BOUND,
            "{path:?}: peak RSS grew by {} KiB",
            grown / 1024
        );
    }
}
