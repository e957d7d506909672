//! A QoS 0 flood to a slow consumer keeps memory bounded: 200,000 messages of 1 KiB, a consumer
//! that takes 1 ms for each. The client keeps reading (so its own traffic goes on), drops the
//! oldest QoS 0 messages beyond the stream's capacity and says how many; the process's peak
//! RSS stays within a stated bound.
//!
//! A test binary of its own, so that no other test's memory is counted. The bound is checked
//! against an external broker (mosquitto in CI): the embedded one lives in this process.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use mqtt_tokio::{Client, ClientEvent, Command, QoS, Version};
use support::{broker, client_id, topic};

/// What the flood may add to the process's peak RSS: a stream of 1,024 messages of 1 KiB, read
/// buffers and the broker's bursts, with room to spare; the 200 MB of the flood must not stay.
const BOUND: u64 = 64 * 1024 * 1024;

/// The process's peak resident set (VmHWM), in bytes; `None` off Linux.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The flood through a slow consumer of `path`; returns (handled, dropped).
async fn flood(path: Path) -> (u32, u64) {
    const COUNT: u32 = 200_000;
    let version = Version::V311;
    let topic = topic("flood");
    let (consumer, _) = Client::spawn(broker().options(version, &client_id("flood-sub")))
        .await
        .unwrap();
    let mut events = consumer.events();
    let handled = Arc::new(AtomicU32::new(0));
    let slow = match path {
        Path::Stream => {
            let mut messages = consumer
                .subscription(&topic, QoS::AtMostOnce)
                .await
                .unwrap();
            let handled = handled.clone();
            Some(tokio::spawn(async move {
                while let Some(_message) = messages.recv().await {
                    std::thread::sleep(Duration::from_millis(1));
                    handled.fetch_add(1, Ordering::Relaxed);
                }
            }))
        }
        Path::Callback => {
            let count = handled.clone();
            consumer.on(Command::Publish, move |_, _| {
                std::thread::sleep(Duration::from_millis(1));
                count.fetch_add(1, Ordering::Relaxed);
            });
            consumer
                .subscribe(&[(&topic, QoS::AtMostOnce)])
                .await
                .unwrap();
            None
        }
    };
    let (publisher, _) = Client::spawn(broker().options(version, &client_id("flood-pub")))
        .await
        .unwrap();
    let payload = bytes::Bytes::from(vec![0x5a; 1024]);
    let started = Instant::now();
    for _ in 0..COUNT {
        let pending = publisher
            .start_publish(&topic, payload.clone(), QoS::AtMostOnce, false)
            .await
            .unwrap();
        drop(pending); // the outcome does not matter here
    }
    publisher
        .publish(&topic, "end", QoS::AtMostOnce, false)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    if path == Path::Stream {
        // The consumer's own traffic went on meanwhile: its stream is full, its reading not.
        tokio::time::timeout(
            Duration::from_secs(10),
            consumer.publish(&format!("{topic}/own"), "alive", QoS::AtLeastOnce, false),
        )
        .await
        .expect("the flooded client completes its own publish")
        .unwrap();
    }
    let mut dropped = 0;
    while let Ok(Some(event)) = tokio::time::timeout(Duration::from_millis(50), events.recv()).await
    {
        if let ClientEvent::MessagesDropped { count } = event {
            dropped += count;
        }
    }
    publisher.disconnect().await.unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(30), consumer.disconnect()).await;
    if let Some(slow) = slow {
        slow.await.unwrap();
    }
    let handled = handled.load(Ordering::Relaxed);
    eprintln!(
        "{path:?}: flood of {COUNT} x 1 KiB sent in {:?}; {handled} handled, {dropped} dropped",
        started.elapsed()
    );
    assert!(
        u64::from(handled) + dropped <= u64::from(COUNT) + 1,
        "every message is handled or counted as dropped once"
    );
    if path == Path::Stream {
        assert!(
            dropped > 0,
            "the slow consumer could not have taken them all"
        );
    }
    (handled, dropped)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    /// A message stream read by a consumer that takes 1 ms a message: QoS 0 beyond the
    /// stream's capacity drops the oldest.
    Stream,
    /// A callback that takes 1 ms: the connection task runs it, so the socket pushes back.
    Callback,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qos0_flood_to_a_slow_consumer_stays_within_the_bound() {
    let Some(before) = peak_rss() else {
        eprintln!("no /proc/self/status: the RSS bound is not checked here");
        return;
    };
    for path in [Path::Stream, Path::Callback] {
        flood(path).await;
        let grown = peak_rss().unwrap_or(before).saturating_sub(before);
        eprintln!("{path:?}: peak RSS +{} KiB so far", grown / 1024);
        if !broker().external {
            // rumqttd runs in this process and keeps what it forwards in its commit log, so
            // the process's RSS measures the broker too; CI measures against mosquitto.
            eprintln!("embedded broker: the RSS bound is checked against mosquitto only");
            continue;
        }
        assert!(
            grown < BOUND,
            "{path:?}: peak RSS grew by {} KiB, over the bound of {} KiB",
            grown / 1024,
            BOUND / 1024
        );
    }
}
