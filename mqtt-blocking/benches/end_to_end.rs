//! End-to-end comparison with rumqttc's synchronous client through a real broker: one
//! publisher and one subscriber in this process, messages/s, client CPU time per message (both
//! clients together), QoS 1 round-trip latency, and the resident memory of an idle connected
//! client.
//!
//! ```sh
//! bash .ci/mosquitto.sh start && source .ci/run-state/env
//! cargo bench -p mqtt-blocking --bench end_to_end
//! ```
//!
//! Without `MQTT_TEST_TCP` it uses the embedded test broker, in this process, whose CPU time
//! then counts as the clients'.

#[path = "../../mqtt-tokio/tests/support/mod.rs"]
mod support;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use cpu_time::ProcessTime;
use mqtt_blocking::{Client, Config, ConnectOptions, QoS, Version};

const PAYLOAD: usize = 64;
const WINDOW: u16 = 20;
const WAIT: Duration = Duration::from_secs(10);

fn payload(n: u32) -> Vec<u8> {
    let mut p = vec![0u8; PAYLOAD];
    p[..4].copy_from_slice(&n.to_be_bytes());
    p
}

fn sequence(payload: &[u8]) -> usize {
    u32::from_be_bytes(payload[..4].try_into().expect("a sequence number")) as usize
}

/// What one run measured.
struct Run {
    messages: u32,
    received: u32,
    elapsed: Duration,
    cpu: Duration,
}

impl Run {
    fn report(&self, client: &str, qos: QoS) {
        let rate = f64::from(self.received) / self.elapsed.as_secs_f64();
        let cpu_us = self.cpu.as_secs_f64() * 1e6 / f64::from(self.messages);
        println!(
            "{client:<8} {qos:<12?} {:>7} msgs  {:>9.0} msg/s  {:>6.2} us CPU/msg  lost {}",
            self.messages,
            rate,
            cpu_us,
            self.messages - self.received
        );
    }
}

/// Counts distinct sequence numbers until all `messages` arrived or nothing came for a while.
fn count(receive: impl Fn() -> Option<Vec<u8>>, messages: u32) -> u32 {
    let mut seen = vec![false; messages as usize];
    let mut received = 0;
    while received < messages {
        match receive() {
            Some(payload) => {
                if !std::mem::replace(&mut seen[sequence(&payload)], true) {
                    received += 1;
                }
            }
            None => break,
        }
    }
    received
}

fn ours_client(id: &str, max_queued: usize) -> Client {
    let mut config = Config::new(support::client_id(id), Version::V311);
    config.max_queued = max_queued;
    let client = Client::with_config(config);
    let address = support::broker().tcp(Version::V311);
    client
        .connect(
            &address.ip().to_string(),
            Duration::from_secs(60),
            ConnectOptions::port(address.port()),
        )
        .expect("connects");
    client.loop_start(None).expect("loop starts");
    client
}

fn ours(qos: QoS, messages: u32) -> Run {
    let topic = support::topic("bench");
    let subscriber = ours_client("bench-sub", 1);
    let inbox = subscriber.messages();
    let request = subscriber.subscribe(&[(&topic, qos)]).expect("subscribe");
    subscriber.wait_for_request(request, WAIT).expect("SUBACK");
    let publisher = ours_client("bench-pub", messages as usize);

    let (start, cpu) = (Instant::now(), ProcessTime::now());
    let receiver = std::thread::spawn(move || {
        count(
            || inbox.recv_timeout(WAIT).ok().map(|m| m.payload.to_vec()),
            messages,
        )
    });
    let mids: Vec<_> = (0..messages)
        .map(|n| {
            publisher
                .publish(&topic, payload(n), qos, false)
                .expect("accepted")
        })
        .collect();
    for mid in mids {
        publisher.wait_for_publish(mid, WAIT).expect("acknowledged");
    }
    let received = receiver.join().expect("receiver");
    let run = Run {
        messages,
        received,
        elapsed: start.elapsed(),
        cpu: cpu.elapsed(),
    };
    publisher.disconnect().ok();
    subscriber.disconnect().ok();
    run
}

fn rumqttc_options(id: &str) -> rumqttc::MqttOptions {
    let address = support::broker().tcp(Version::V311);
    let mut options = rumqttc::MqttOptions::new(id, address.ip().to_string(), address.port());
    options.set_keep_alive(Duration::from_secs(60));
    options.set_inflight(WINDOW);
    options
}

fn rumqttc_qos(qos: QoS) -> rumqttc::QoS {
    match qos {
        QoS::AtMostOnce => rumqttc::QoS::AtMostOnce,
        QoS::AtLeastOnce => rumqttc::QoS::AtLeastOnce,
        _ => rumqttc::QoS::ExactlyOnce,
    }
}

fn rumqttc_run(qos: QoS, messages: u32) -> Run {
    use rumqttc::{Event, Outgoing, Packet};
    let topic = support::topic("bench-rumqttc");
    let (subscriber, mut sub_connection) =
        rumqttc::Client::new(rumqttc_options(&support::client_id("rumqttc-sub")), 4096);
    subscriber
        .subscribe(&topic, rumqttc_qos(qos))
        .expect("subscribe");
    for event in sub_connection.iter() {
        if let Ok(Event::Incoming(Packet::SubAck(_))) = event {
            break;
        }
    }
    let (publisher, mut pub_connection) =
        rumqttc::Client::new(rumqttc_options(&support::client_id("rumqttc-pub")), 4096);

    let (start, cpu) = (Instant::now(), ProcessTime::now());
    let (payloads, inbox) = mpsc::channel();
    std::thread::spawn(move || {
        for event in sub_connection.iter() {
            match event {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if payloads.send(p.payload.to_vec()).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    let receiver = std::thread::spawn(move || count(|| inbox.recv_timeout(WAIT).ok(), messages));
    // The publisher's connection completes its QoS flows; count the final acknowledgements.
    let acks = std::thread::spawn(move || {
        let mut done = 0;
        for event in pub_connection.iter() {
            let last = match (&event, qos) {
                (Ok(Event::Outgoing(Outgoing::Publish(_))), QoS::AtMostOnce) => true,
                (Ok(Event::Incoming(Packet::PubAck(_))), QoS::AtLeastOnce) => true,
                (Ok(Event::Incoming(Packet::PubComp(_))), QoS::ExactlyOnce) => true,
                (Err(_), _) => return,
                _ => false,
            };
            if last {
                done += 1;
                if done == messages {
                    return;
                }
            }
        }
    });
    for n in 0..messages {
        publisher
            .publish(&topic, rumqttc_qos(qos), false, payload(n))
            .expect("queued");
    }
    let received = receiver.join().expect("receiver");
    acks.join().expect("publisher loop");
    Run {
        messages,
        received,
        elapsed: start.elapsed(),
        cpu: cpu.elapsed(),
    }
}

/// QoS 1 round trips one at a time: publish and wait for PUBACK.
fn latency_ours(samples: usize) -> Vec<Duration> {
    let client = ours_client("bench-rtt", 16);
    let topic = support::topic("rtt");
    let times = (0..samples)
        .map(|n| {
            let start = Instant::now();
            let mid = client
                .publish(&topic, payload(n as u32), QoS::AtLeastOnce, false)
                .expect("accepted");
            client.wait_for_publish(mid, WAIT).expect("acknowledged");
            start.elapsed()
        })
        .collect();
    client.disconnect().ok();
    times
}

fn latency_rumqttc(samples: usize) -> Vec<Duration> {
    use rumqttc::{Event, Packet};
    let (client, mut connection) =
        rumqttc::Client::new(rumqttc_options(&support::client_id("rumqttc-rtt")), 16);
    let topic = support::topic("rtt-rumqttc");
    let mut events = connection.iter();
    for event in events.by_ref() {
        if let Ok(Event::Incoming(Packet::ConnAck(_))) = event {
            break;
        }
    }
    (0..samples)
        .map(|n| {
            let start = Instant::now();
            client
                .publish(&topic, rumqttc::QoS::AtLeastOnce, false, payload(n as u32))
                .expect("queued");
            for event in events.by_ref() {
                if let Ok(Event::Incoming(Packet::PubAck(_))) = event {
                    break;
                }
            }
            start.elapsed()
        })
        .collect()
}

fn percentiles(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q) as usize];
    (at(0.5), at(0.99))
}

/// Resident memory in KiB, from `/proc/self/statm`.
fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4
}

/// Runs in a child process: RSS added by one idle connected client with its loop running.
fn idle_rss(which: &str) {
    let _ = support::broker();
    std::thread::sleep(Duration::from_millis(100));
    let before = rss_kib();
    let keep: Box<dyn std::any::Any> = match which {
        "ours" => Box::new(ours_client("idle", 16)),
        _ => {
            let (client, mut connection) =
                rumqttc::Client::new(rumqttc_options(&support::client_id("idle-r")), 16);
            std::thread::spawn(move || for _ in connection.iter() {});
            Box::new(client)
        }
    };
    std::thread::sleep(Duration::from_millis(500));
    println!("{}", rss_kib().saturating_sub(before));
    drop(keep);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--idle-rss") {
        return idle_rss(args.get(i + 1).map_or("ours", String::as_str));
    }
    if std::env::var("MQTT_TEST_TCP").is_err() {
        eprintln!("MQTT_TEST_TCP is not set: measuring through the embedded broker");
    }
    println!("end to end, MQTT 3.1.1, {PAYLOAD} B payloads, in-flight window {WINDOW}");
    for (qos, count) in [
        (QoS::AtMostOnce, 100_000),
        (QoS::AtLeastOnce, 20_000),
        (QoS::ExactlyOnce, 20_000),
    ] {
        ours(qos, count).report("ours", qos);
        rumqttc_run(qos, count).report("rumqttc", qos);
    }
    for (name, times) in [
        ("ours", latency_ours(2_000)),
        ("rumqttc", latency_rumqttc(2_000)),
    ] {
        let (p50, p99) = percentiles(times);
        println!("{name:<8} QoS 1 round trip: p50 {p50:?}  p99 {p99:?}");
    }
    let exe = std::env::current_exe().expect("own path");
    for which in ["ours", "rumqttc"] {
        let output = std::process::Command::new(&exe)
            .args(["--idle-rss", which])
            .output()
            .expect("child run");
        let kib = String::from_utf8_lossy(&output.stdout);
        println!("{which:<8} idle connected client: +{} KiB RSS", kib.trim());
    }
}
