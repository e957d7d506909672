//! End-to-end comparison with rumqttc's synchronous client through a real broker: one
//! publisher and one subscriber in this process, messages/s, client CPU time per message (both
//! clients together), QoS 1 round-trip latency, and the resident memory of an idle connected
//! client.
//!
//! ```sh
//! bash .ci/mosquitto.sh start && source .ci/run-state/env
//! cargo bench -p mqtt-blocking --bench end_to_end
//! cargo bench -p mqtt-blocking --bench end_to_end -- qos1 latency   # only some parts
//! ```
//!
//! The parts are `qos0`, `qos1`, `qos2`, `latency` and `idle`; with none named, all run.
//!
//! Without `MQTT_TEST_TCP` it uses the embedded test broker, in this process, whose CPU time
//! then counts as the clients'.

#[path = "../../mqtt-tokio/benches/common/mod.rs"]
mod common;
#[path = "../../mqtt-tokio/tests/support/mod.rs"]
mod support;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{
    Cpu, IdleRss, MORE_IDLE_CLIENTS, ROUNDS, Rss, Run, Tally, WINDOW, payload, report_idle_rss,
    report_latency, rumqttc_qos,
};
use mqtt_blocking::{Client, Config, ConnectOptions, QoS, Version};

const WAIT: Duration = Duration::from_secs(10);

/// Counts distinct sequence numbers until all `messages` arrived or nothing came for a while.
fn count(receive: impl Fn() -> Option<Vec<u8>>, messages: u32) -> u32 {
    let mut tally = Tally::new(messages);
    while !tally.complete() {
        match receive() {
            Some(payload) => tally.record(&payload),
            None => break,
        }
    }
    tally.received
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

    let (start, cpu) = (Instant::now(), Cpu::now());
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
        cpu: Cpu::since(cpu),
    };
    publisher.disconnect().ok();
    subscriber.disconnect().ok();
    run
}

fn rumqttc_options(id: &str) -> rumqttc::MqttOptions {
    common::rumqttc_options(id, support::broker().tcp(Version::V311))
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

    let (start, cpu) = (Instant::now(), Cpu::now());
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
        cpu: Cpu::since(cpu),
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

/// Runs in a child process: resident memory added by idle connected clients with their loops
/// running.
fn idle_rss(which: &str) {
    let _ = support::broker();
    std::thread::sleep(Duration::from_millis(100));
    let connect = || -> Box<dyn std::any::Any> {
        match which {
            "ours" => Box::new(ours_client("idle", 16)),
            _ => {
                let (client, mut connection) =
                    rumqttc::Client::new(rumqttc_options(&support::client_id("idle-r")), 16);
                std::thread::spawn(move || for _ in connection.iter() {});
                Box::new(client)
            }
        }
    };
    let settle = Duration::from_millis(500);
    let before = Rss::now();
    let mut keep = vec![connect()];
    std::thread::sleep(settle);
    let first = Rss::now();
    keep.extend((0..MORE_IDLE_CLIENTS).map(|_| connect()));
    std::thread::sleep(settle);
    let more = Rss::now();
    IdleRss {
        before,
        first,
        more,
    }
    .print();
    drop(keep);
}

fn main() {
    if let Some(which) = common::idle_rss_argument() {
        return idle_rss(&which);
    }
    if std::env::var("MQTT_TEST_TCP").is_err() {
        eprintln!("MQTT_TEST_TCP is not set: measuring through the embedded broker");
    }
    println!(
        "end to end, MQTT 3.1.1, {} B payloads, in-flight window {WINDOW}",
        common::PAYLOAD
    );
    for (part, qos, count) in [
        ("qos0", QoS::AtMostOnce, 100_000),
        ("qos1", QoS::AtLeastOnce, 20_000),
        ("qos2", QoS::ExactlyOnce, 20_000),
    ] {
        if common::wanted(part) {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for _ in 0..ROUNDS {
                a.push(ours(qos, count));
                b.push(rumqttc_run(qos, count));
            }
            Run::report("ours", qos, &mut a);
            Run::report("rumqttc", qos, &mut b);
        }
    }
    if common::wanted("latency") {
        report_latency("ours     QoS 1 round trip", latency_ours(2_000));
        report_latency("rumqttc  QoS 1 round trip", latency_rumqttc(2_000));
    }
    if common::wanted("idle") {
        report_idle_rss();
    }
}
