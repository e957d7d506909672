//! QoS 1 messages per second through a session, without a durable store and with a
//! [`FileStore`] under each [`SyncPolicy`].
//!
//! ```text
//! cargo run --release -p mqtt-store --example throughput -- [SECONDS] [DIRECTORY]
//! ```
//!
//! A session connected to a fake broker: the application publishes a window of 20 QoS 1
//! messages (30-byte topic, 16-byte payload), the client layer flushes the store once and
//! writes the batch, the broker acknowledges all 20 in one read (PUBACKs encoded beforehand),
//! and the events are drained. No network: the figures are the session's and the store's cost
//! alone. Each row runs for SECONDS (default 3) after a warm-up; the log goes in DIRECTORY
//! (default: the system's temporary directory), which should be on the disk to measure, not
//! on a RAM file system.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant as Clock};

use mqtt_proto::{ConnAck, Packet, PacketId, PubAck, Publish, QoS, TopicName};
use mqtt_session::{Config, Event, Instant, MemoryStore, Session, Store, Version};
use mqtt_store::{FileStore, StoreOptions, SyncPolicy};

const WINDOW: usize = 20;
const NOW: Instant = Instant::from_millis(1);

/// PUBACKs for identifiers 1 to 65,535, back to back, each `len` bytes.
struct Acks {
    bytes: Vec<u8>,
    len: usize,
}

impl Acks {
    fn new() -> Acks {
        let mut bytes = Vec::new();
        for id in 1..=u16::MAX {
            let ack = PubAck::new(PacketId::new(id).expect("not 0"));
            Packet::from(ack)
                .encode(Version::V5, &mut bytes)
                .expect("encodes");
        }
        let len = bytes.len() / usize::from(u16::MAX);
        Acks { bytes, len }
    }

    /// Feeds the acknowledgements of `count` identifiers from `first` on.
    fn feed<S: Store>(&self, session: &mut Session<S>, first: u16, count: usize) {
        let start = usize::from(first - 1) * self.len;
        let end = start + count * self.len;
        if end <= self.bytes.len() {
            session.handle_bytes(NOW, &self.bytes[start..end]);
        } else {
            session.handle_bytes(NOW, &self.bytes[start..]);
            session.handle_bytes(NOW, &self.bytes[..end - self.bytes.len()]);
        }
    }
}

fn connected<S: Store>(store: S) -> Session<S> {
    let mut config = Config::new("throughput", Version::V5);
    config.max_inflight = std::num::NonZeroU16::new(WINDOW as u16).expect("not 0");
    let mut session = Session::with_store(config, store);
    session
        .handle_transport_opened(Instant::ZERO)
        .expect("opens");
    while session.poll_transmit().is_some() {}
    let mut connack = Vec::new();
    Packet::from(ConnAck::default())
        .encode(Version::V5, &mut connack)
        .expect("encodes");
    session.handle_bytes(Instant::ZERO, &connack);
    assert!(matches!(session.poll_event(), Some(Event::Connected(_))));
    session
}

/// Runs windows of QoS 1 publishes for `seconds`; returns messages per second.
fn run<S: Store>(store: S, acks: &Acks, seconds: f64) -> f64 {
    let mut session = connected(store);
    let topic = TopicName::new("sensors/building-7/floor-3/tmp").expect("valid");
    let mut next_id: u16 = 1;
    let mut batch = |session: &mut Session<S>| {
        for _ in 0..WINDOW {
            let mut publish = Publish::new(topic.clone(), &b"0123456789abcdef"[..]);
            publish.qos = QoS::AtLeastOnce;
            black_box(session.publish(NOW, publish).expect("accepted"));
        }
        // The client layer: the store first, then the bytes.
        session.store_mut().flush().expect("flushed");
        while let Some(bytes) = session.poll_transmit() {
            black_box(bytes);
        }
        acks.feed(session, next_id, WINDOW);
        next_id = ((usize::from(next_id) - 1 + WINDOW) % usize::from(u16::MAX) + 1) as u16;
        let mut published = 0;
        while let Some(event) = session.poll_event() {
            published += usize::from(matches!(event, Event::Published(_)));
        }
        assert_eq!(published, WINDOW);
        // The PUBACKs leave nothing to send, so no flush: the records of their completions
        // are made durable with the next window's, by the next flush.
    };
    let warm_up = Clock::now();
    while warm_up.elapsed() < Duration::from_millis(300) {
        batch(&mut session);
    }
    let start = Clock::now();
    let mut messages = 0;
    while start.elapsed().as_secs_f64() < seconds {
        batch(&mut session);
        messages += WINDOW;
    }
    messages as f64 / start.elapsed().as_secs_f64()
}

fn file_store(dir: &Path, sync: SyncPolicy) -> FileStore {
    let path = dir.join(format!(
        "throughput-{}-{sync:?}.mqttlog",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    let (store, _) =
        FileStore::open(&path, StoreOptions::default().with_sync(sync)).expect("opens");
    store
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().map_or(3.0, |s| s.parse().expect("SECONDS"));
    let dir = args.next().map_or_else(std::env::temp_dir, Into::into);
    let acks = Acks::new();
    println!(
        "QoS 1, windows of {WINDOW}, one flush per window, log in {}",
        dir.display()
    );
    println!("{:<24} {:>12} {:>10}", "store", "msg/s", "relative");
    let memory = run(MemoryStore::new(), &acks, seconds);
    println!(
        "{:<24} {memory:>12.0} {:>10.3}",
        "MemoryStore (no file)", 1.0
    );
    for sync in [
        SyncPolicy::Never,
        SyncPolicy::Batched,
        SyncPolicy::EveryRecord,
    ] {
        let store = file_store(&dir, sync);
        let path = store.path().to_path_buf();
        let rate = run(store, &acks, seconds);
        let _ = std::fs::remove_file(path);
        let name = format!("FileStore {sync:?}");
        println!("{name:<24} {rate:>12.0} {:>10.3}", rate / memory);
    }
}
