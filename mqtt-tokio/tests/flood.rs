//! A QoS 0 flood to a slow consumer keeps memory bounded: 200,000 messages of 1 KiB, a consumer
//! that takes 1 ms for each. The client keeps reading (so its own traffic goes on), drops the
//! oldest QoS 0 messages beyond the stream's capacity and says how many; the process's peak
//! RSS stays within a stated bound.
//!
//! A test binary of its own, so that no other test's memory is counted. The bound is checked
//! against an external broker (mosquitto in CI): the embedded one lives in this process.

mod support;

use std::time::{Duration, Instant};

use mqtt_tokio::{Client, ClientEvent, QoS, Version};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qos0_flood_to_a_slow_consumer_stays_within_the_bound() {
    const COUNT: u32 = 200_000;
    let version = Version::V311;
    let topic = topic("flood");
    let (consumer, _) = Client::spawn(broker().options(version, &client_id("flood-sub")))
        .await
        .unwrap();
    let mut events = consumer.events();
    let mut messages = consumer
        .subscription(&topic, QoS::AtMostOnce)
        .await
        .unwrap();
    let (publisher, _) = Client::spawn(broker().options(version, &client_id("flood-pub")))
        .await
        .unwrap();
    let Some(before) = peak_rss() else {
        eprintln!("no /proc/self/status: the RSS bound is not checked here");
        return;
    };

    let slow = tokio::spawn(async move {
        let mut handled = 0u32;
        while let Some(_message) = messages.recv().await {
            std::thread::sleep(Duration::from_millis(1));
            handled += 1;
        }
        handled
    });
    let payload = bytes::Bytes::from(vec![0x5a; 1024]);
    let started = Instant::now();
    for _ in 0..COUNT {
        let pending = publisher
            .start_publish(&topic, payload.clone(), QoS::AtMostOnce, false)
            .await
            .unwrap();
        drop(pending); // the outcome does not matter here
    }
    // The last message out of the publisher, and a moment for the broker to pass it on.
    publisher
        .publish(&topic, "end", QoS::AtMostOnce, false)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let took = started.elapsed();

    // The consumer's own traffic went on meanwhile.
    tokio::time::timeout(
        Duration::from_secs(10),
        consumer.publish(&format!("{topic}/own"), "alive", QoS::AtLeastOnce, false),
    )
    .await
    .expect("the flooded client completes its own publish")
    .unwrap();

    let peak = peak_rss().unwrap_or(before);
    let mut dropped = 0;
    while let Ok(Some(event)) = tokio::time::timeout(Duration::from_millis(50), events.recv()).await
    {
        if let ClientEvent::MessagesDropped { count } = event {
            dropped += count;
        }
    }
    publisher.disconnect().await.unwrap();
    consumer.disconnect().await.unwrap();
    let handled = slow.await.unwrap();
    eprintln!(
        "flood of {COUNT} x 1 KiB in {took:?}: peak RSS +{} KiB, {handled} handled, {dropped} dropped",
        peak.saturating_sub(before) / 1024
    );
    assert!(
        dropped > 0,
        "the slow consumer could not have taken them all"
    );
    assert!(
        u64::from(handled) + dropped <= u64::from(COUNT) + 1,
        "every message is handled or counted as dropped once"
    );
    if !broker().external {
        // rumqttd runs in this process and keeps what it forwards in its commit log, so the
        // process's RSS measures the broker too; CI measures against mosquitto.
        eprintln!("embedded broker: the RSS bound is checked against mosquitto only");
        return;
    }
    assert!(
        peak.saturating_sub(before) < BOUND,
        "peak RSS grew by {} KiB, over the bound of {} KiB",
        peak.saturating_sub(before) / 1024,
        BOUND / 1024
    );
}
