//! End-to-end comparison with rumqttc through a real broker: one publisher and one subscriber
//! in this process, messages/s, client CPU time per message (both clients together), QoS 1
//! round-trip latency, and the resident memory of an idle connected client.
//!
//! ```sh
//! bash .ci/mosquitto.sh start && source .ci/run-state/env
//! cargo bench -p mqtt-tokio --bench end_to_end
//! ```
//!
//! Without `MQTT_TEST_TCP` it uses the embedded test broker, which is slower than mosquitto and
//! makes the figures a measure of the broker as much as of the clients.

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use common::{
    IdleRss, MORE_IDLE_CLIENTS, Rss, Run, Tally, WINDOW, payload, report_idle_rss, report_latency,
    rumqttc_qos,
};
use cpu_time::ProcessTime;
use mqtt_tokio::{Client, QoS, Version};

async fn ours(qos: QoS, messages: u32) -> Run {
    let broker = support::broker();
    let topic = support::topic("bench");
    let mut options = broker.options(Version::V311, &support::client_id("bench-sub"));
    options.stream_capacity = 4096;
    let subscriber = Client::spawn(options).await.expect("subscriber connects");
    let mut stream = subscriber
        .subscription(&topic, qos)
        .await
        .expect("subscribe");
    let mut options = broker.options(Version::V311, &support::client_id("bench-pub"));
    options.session.max_queued = messages as usize;
    let publisher = Client::spawn(options).await.expect("publisher connects");

    let (start, cpu) = (Instant::now(), ProcessTime::now());
    let receiver = tokio::spawn(async move {
        let mut tally = Tally::new(messages);
        while !tally.complete() {
            match tokio::time::timeout(Duration::from_secs(5), stream.recv()).await {
                Ok(Some(m)) => tally.record(&m.payload),
                _ => break,
            }
        }
        tally.received
    });
    let mut pending = Vec::with_capacity(messages as usize);
    for n in 0..messages {
        pending.push(
            publisher
                .start_publish(&topic, payload(n), qos, false)
                .await
                .expect("accepted"),
        );
    }
    for p in pending {
        p.await.expect("acknowledged");
    }
    let received = receiver.await.expect("receiver");
    let run = Run {
        messages,
        received,
        elapsed: start.elapsed(),
        cpu: cpu.elapsed(),
    };
    publisher.disconnect().await.ok();
    subscriber.disconnect().await.ok();
    run
}

fn rumqttc_options(id: &str) -> rumqttc::MqttOptions {
    common::rumqttc_options(id, support::broker().tcp(Version::V311))
}

async fn rumqttc_run(qos: QoS, messages: u32) -> Run {
    use rumqttc::{AsyncClient, Event, Packet};
    let topic = support::topic("bench-rumqttc");
    let (subscriber, mut sub_loop) =
        AsyncClient::new(rumqttc_options(&support::client_id("rumqttc-sub")), 4096);
    subscriber
        .subscribe(&topic, rumqttc_qos(qos))
        .await
        .expect("subscribe");
    // Until SUBACK, then count publishes.
    loop {
        if let Event::Incoming(Packet::SubAck(_)) = sub_loop.poll().await.expect("subscriber") {
            break;
        }
    }
    let (publisher, mut pub_loop) =
        AsyncClient::new(rumqttc_options(&support::client_id("rumqttc-pub")), 4096);

    let (start, cpu) = (Instant::now(), ProcessTime::now());
    let receiver = tokio::spawn(async move {
        let mut tally = Tally::new(messages);
        while !tally.complete() {
            match tokio::time::timeout(Duration::from_secs(5), sub_loop.poll()).await {
                Ok(Ok(Event::Incoming(Packet::Publish(p)))) => tally.record(&p.payload),
                Ok(Ok(_)) => {}
                _ => break,
            }
        }
        tally.received
    });
    // The publisher's event loop completes its QoS flows; count the final acknowledgements.
    let acks = tokio::spawn(async move {
        let mut done = 0;
        let final_ack = |packet: &Packet| match qos {
            QoS::AtMostOnce => false,
            QoS::AtLeastOnce => matches!(packet, Packet::PubAck(_)),
            _ => matches!(packet, Packet::PubComp(_)),
        };
        loop {
            match tokio::time::timeout(Duration::from_secs(5), pub_loop.poll()).await {
                Ok(Ok(Event::Incoming(p))) if final_ack(&p) => {
                    done += 1;
                    if done == messages {
                        break;
                    }
                }
                Ok(Ok(Event::Outgoing(rumqttc::Outgoing::Publish(_))))
                    if qos == QoS::AtMostOnce =>
                {
                    done += 1;
                    if done == messages {
                        break;
                    }
                }
                Ok(Ok(_)) => {}
                _ => break,
            }
        }
        pub_loop
    });
    for n in 0..messages {
        publisher
            .publish(&topic, rumqttc_qos(qos), false, payload(n))
            .await
            .expect("queued");
    }
    let received = receiver.await.expect("receiver");
    let _pub_loop = acks.await.expect("publisher loop");
    Run {
        messages,
        received,
        elapsed: start.elapsed(),
        cpu: cpu.elapsed(),
    }
}

/// QoS 1 round trips one at a time: publish and wait for PUBACK.
async fn latency_ours(samples: usize) -> Vec<Duration> {
    let broker = support::broker();
    let client = Client::spawn(broker.options(Version::V311, &support::client_id("bench-rtt")))
        .await
        .expect("connects");
    let topic = support::topic("rtt");
    let mut times = Vec::with_capacity(samples);
    for n in 0..samples {
        let start = Instant::now();
        client
            .publish(&topic, payload(n as u32), QoS::AtLeastOnce, false)
            .await
            .expect("acknowledged");
        times.push(start.elapsed());
    }
    client.disconnect().await.ok();
    times
}

async fn latency_rumqttc(samples: usize) -> Vec<Duration> {
    use rumqttc::{AsyncClient, Event, Packet};
    let (client, mut eventloop) =
        AsyncClient::new(rumqttc_options(&support::client_id("rumqttc-rtt")), 16);
    let topic = support::topic("rtt-rumqttc");
    loop {
        if let Event::Incoming(Packet::ConnAck(_)) = eventloop.poll().await.expect("connects") {
            break;
        }
    }
    let mut times = Vec::with_capacity(samples);
    for n in 0..samples {
        let start = Instant::now();
        client
            .publish(&topic, rumqttc::QoS::AtLeastOnce, false, payload(n as u32))
            .await
            .expect("queued");
        loop {
            if let Event::Incoming(Packet::PubAck(_)) = eventloop.poll().await.expect("running") {
                break;
            }
        }
        times.push(start.elapsed());
    }
    times
}

/// Runs in a child process so that allocator state from other runs doesn't blur it: resident
/// memory of idle connected clients on a current-thread runtime.
fn idle_rss(which: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        // Start the embedded broker (if any) before measuring.
        let _ = support::broker();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let connect = async || -> Box<dyn std::any::Any> {
            match which {
                "ours" => {
                    let options =
                        support::broker().options(Version::V311, &support::client_id("idle"));
                    Box::new(Client::spawn(options).await.expect("connects"))
                }
                _ => {
                    let (client, mut eventloop) = rumqttc::AsyncClient::new(
                        rumqttc_options(&support::client_id("idle-r")),
                        16,
                    );
                    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
                    Box::new(client) as Box<dyn std::any::Any>
                }
            }
        };
        let settle = Duration::from_millis(500);
        let before = Rss::now();
        let mut keep = vec![connect().await];
        tokio::time::sleep(settle).await;
        let first = Rss::now();
        for _ in 0..MORE_IDLE_CLIENTS {
            keep.push(connect().await);
        }
        tokio::time::sleep(settle).await;
        let more = Rss::now();
        IdleRss {
            before,
            first,
            more,
        }
        .print();
        drop(keep);
    });
}

fn main() {
    if let Some(which) = common::idle_rss_argument() {
        return idle_rss(&which);
    }
    if std::env::var("MQTT_TEST_TCP").is_err() {
        eprintln!("MQTT_TEST_TCP is not set: measuring through the embedded broker");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        println!(
            "end to end, MQTT 3.1.1, {} B payloads, in-flight window {WINDOW}",
            common::PAYLOAD
        );
        for (qos, count) in [
            (QoS::AtMostOnce, 100_000),
            (QoS::AtLeastOnce, 20_000),
            (QoS::ExactlyOnce, 20_000),
        ] {
            ours(qos, count).await.report("ours", qos);
            rumqttc_run(qos, count).await.report("rumqttc", qos);
        }
        report_latency("ours", latency_ours(2_000).await);
        report_latency("rumqttc", latency_rumqttc(2_000).await);
    });
    report_idle_rss();
}
