//! End-to-end comparison with rumqttc through a real broker: one publisher and one subscriber
//! in this process, messages/s, client CPU time per message (both clients together), QoS 1
//! round-trip latency, and the resident memory of an idle connected client.
//!
//! ```sh
//! bash .ci/mosquitto.sh start && source .ci/run-state/env
//! cargo bench -p mqtt-tokio --bench end_to_end
//! cargo bench -p mqtt-tokio --bench end_to_end -- qos1 latency   # only some parts
//! ```
//!
//! The parts are `qos0`, `qos1`, `qos2`, `latency` and `idle`; with none named, all run.
//! `rate` (not run unless named) offers both clients the same fixed rates at each QoS and
//! reports CPU time per message; `syscalls` does the same and then counts system calls per
//! message with `perf stat -e raw_syscalls:sys_enter`, in a separate child process per client
//! and rate, counting only the measured part of the run.
//!
//! Without `MQTT_TEST_TCP` it uses the embedded test broker, which is slower than mosquitto and
//! makes the figures a measure of the broker as much as of the clients.

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use common::{
    IdleRss, MORE_IDLE_CLIENTS, Measure, PACED_ROUNDS, RATES, ROUNDS, Rss, Run, Tally, WINDOW,
    pace, paced_messages, payload, report_idle_rss, report_latency, report_syscalls,
};
use mqtt_tokio::{Client, QoS, Version};

/// One run of our client: a subscriber and a publisher, `messages` at `qos`, offered as fast
/// as the publisher takes them or at `rate` messages per second.
async fn ours(qos: QoS, messages: u32, rate: Option<u32>) -> Run {
    let broker = support::broker();
    let topic = support::topic("bench");
    let mut options = broker.options(Version::V311, &support::client_id("bench-sub"));
    options.stream_capacity = 4096;
    // Lossless at QoS 0 too, as rumqttc's event loop is: the broker holds what the subscriber
    // can't take yet.
    options.overflow = mqtt_tokio::Overflow::StopReading;
    let (subscriber, _) = Client::spawn(options).await.expect("subscriber connects");
    let mut stream = subscriber
        .subscription(&topic, qos)
        .await
        .expect("subscribe");
    let mut options = broker.options(Version::V311, &support::client_id("bench-pub"));
    options.session.max_queued = messages as usize;
    let (publisher, _) = Client::spawn(options).await.expect("publisher connects");

    let measure = Measure::start();
    let start = Instant::now();
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
        pace(start, rate, n).await;
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
    let run = measure.stop(messages, received);
    publisher.disconnect().await.ok();
    subscriber.disconnect().await.ok();
    run
}

fn rumqttc_options(id: &str) -> rumqttc::MqttOptions {
    common::rumqttc_options(id, support::broker().tcp(Version::V311))
}

async fn rumqttc_run(qos: QoS, messages: u32, rate: Option<u32>) -> Run {
    common::rumqttc_run(
        qos,
        messages,
        rate,
        support::broker().tcp(Version::V311),
        &support::topic("bench-rumqttc"),
        [
            &support::client_id("rumqttc-sub"),
            &support::client_id("rumqttc-pub"),
        ],
    )
    .await
}

/// QoS 1 round trips, one message at a time: publish, then wait for the PUBACK.
///
/// Each client is measured twice: with its driver (our [`mqtt_tokio::Connection`], rumqttc's
/// event loop) polled in the measuring task itself, and with the driver in a task of its own,
/// as most applications run it. The four take turns, a round of [`LATENCY_SAMPLES`] each, so
/// that drift in the machine or the broker touches them all alike.
async fn latency(rounds: usize) {
    let mut ours_inline = OursInline::connect().await;
    let (ours_spawned, _) =
        Client::spawn(support::broker().options(Version::V311, &support::client_id("bench-rtt-s")))
            .await
            .expect("connects");
    let mut rumqttc_inline = RumqttcInline::connect().await;
    let mut rumqttc_spawned = RumqttcSpawned::connect().await;
    let topic = support::topic("rtt");
    let mut times: [Vec<Duration>; 4] = Default::default();
    for _ in 0..rounds {
        times[0].extend(ours_inline.measure(&topic).await);
        times[1].extend(measure_ours(&ours_spawned, &topic).await);
        times[2].extend(rumqttc_inline.measure(&topic).await);
        times[3].extend(rumqttc_spawned.measure(&topic).await);
    }
    let [a, b, c, d] = times;
    report_latency("ours     QoS 1 round trip, driver in the measuring task", a);
    report_latency("ours     QoS 1 round trip, driver in its own task", b);
    report_latency("rumqttc  QoS 1 round trip, driver in the measuring task", c);
    report_latency("rumqttc  QoS 1 round trip, driver in its own task", d);
    ours_spawned.disconnect().await.ok();
}

/// Round trips per client and round in [`latency`].
const LATENCY_SAMPLES: usize = 250;

/// Times [`LATENCY_SAMPLES`] round trips, one after the other.
async fn time_round_trips(mut round_trip: impl AsyncFnMut(u32)) -> Vec<Duration> {
    let mut times = Vec::with_capacity(LATENCY_SAMPLES);
    for n in 0..LATENCY_SAMPLES as u32 {
        let start = Instant::now();
        round_trip(n).await;
        times.push(start.elapsed());
    }
    times
}

async fn measure_ours(client: &Client, topic: &str) -> Vec<Duration> {
    time_round_trips(async |n| {
        client
            .publish(topic, payload(n), QoS::AtLeastOnce, false)
            .await
            .expect("acknowledged");
    })
    .await
}

/// Our client with its connection future polled by the measuring task (`select!`).
struct OursInline {
    client: Client,
    connection: std::pin::Pin<Box<dyn Future<Output = Result<(), mqtt_tokio::Error>> + Send>>,
}

impl OursInline {
    async fn connect() -> OursInline {
        let options = support::broker().options(Version::V311, &support::client_id("bench-rtt"));
        let (client, _, connection) = Client::connect(options).await.expect("connects");
        OursInline {
            client,
            connection: Box::pin(connection.run()),
        }
    }

    async fn measure(&mut self, topic: &str) -> Vec<Duration> {
        tokio::select! {
            ended = &mut self.connection => panic!("connection ended: {ended:?}"),
            times = measure_ours(&self.client, topic) => times,
        }
    }
}

async fn rumqttc_publish(client: &rumqttc::AsyncClient, topic: &str, n: u32) {
    client
        .publish(topic, rumqttc::QoS::AtLeastOnce, false, payload(n))
        .await
        .expect("queued");
}

/// rumqttc with its event loop polled by the measuring task.
struct RumqttcInline {
    client: rumqttc::AsyncClient,
    eventloop: rumqttc::EventLoop,
}

impl RumqttcInline {
    async fn connect() -> RumqttcInline {
        use rumqttc::{Event, Packet};
        let (client, mut eventloop) =
            rumqttc::AsyncClient::new(rumqttc_options(&support::client_id("rumqttc-rtt")), 16);
        loop {
            if let Event::Incoming(Packet::ConnAck(_)) = eventloop.poll().await.expect("connects") {
                break;
            }
        }
        RumqttcInline { client, eventloop }
    }

    async fn measure(&mut self, topic: &str) -> Vec<Duration> {
        use rumqttc::{Event, Packet};
        time_round_trips(async |n| {
            rumqttc_publish(&self.client, topic, n).await;
            loop {
                let event = self.eventloop.poll().await.expect("running");
                if let Event::Incoming(Packet::PubAck(_)) = event {
                    break;
                }
            }
        })
        .await
    }
}

/// rumqttc with its event loop in a task of its own, which passes each PUBACK on.
struct RumqttcSpawned {
    client: rumqttc::AsyncClient,
    acks: tokio::sync::mpsc::Receiver<u16>,
}

impl RumqttcSpawned {
    async fn connect() -> RumqttcSpawned {
        use rumqttc::{Event, Packet};
        let RumqttcInline {
            client,
            mut eventloop,
        } = RumqttcInline::connect().await;
        let (sender, acks) = tokio::sync::mpsc::channel(16);
        tokio::spawn(async move {
            while let Ok(event) = eventloop.poll().await {
                if let Event::Incoming(Packet::PubAck(ack)) = event
                    && sender.send(ack.pkid).await.is_err()
                {
                    break;
                }
            }
        });
        RumqttcSpawned { client, acks }
    }

    async fn measure(&mut self, topic: &str) -> Vec<Duration> {
        time_round_trips(async |n| {
            rumqttc_publish(&self.client, topic, n).await;
            self.acks.recv().await.expect("acknowledged");
        })
        .await
    }
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

/// One run of `client`, as [`ours`] or [`rumqttc_run`] make it.
async fn run(client: &str, qos: QoS, messages: u32, rate: Option<u32>) -> Run {
    match client {
        "ours" => ours(qos, messages, rate).await,
        _ => rumqttc_run(qos, messages, rate).await,
    }
}

/// The fixed-rate part: at each QoS, both clients offered the same rates ([`RATES`], then the
/// slower client's unpaced rate, measured first), CPU time per message split into user and
/// system time; then, when `syscalls` is asked for too, the system calls per message counted
/// by perf in a separate run per client and rate.
async fn paced(syscalls: bool) {
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let unpaced = |client| async move { run(client, qos, 20_000, None).await.achieved() };
        let slower = unpaced("ours").await.min(unpaced("rumqttc").await);
        let rates = [RATES[0], RATES[1], slower];
        for rate in rates {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for _ in 0..PACED_ROUNDS {
                a.push(run("ours", qos, paced_messages(rate), Some(rate)).await);
                b.push(run("rumqttc", qos, paced_messages(rate), Some(rate)).await);
            }
            Run::report_paced("ours", qos, rate, &mut a);
            Run::report_paced("rumqttc", qos, rate, &mut b);
        }
        if syscalls {
            report_syscalls("ours", qos, &rates);
            report_syscalls("rumqttc", qos, &rates);
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn main() {
    if let Some(which) = common::idle_rss_argument() {
        return idle_rss(&which);
    }
    if let Some((client, qos, rate, messages)) = common::paced_argument() {
        runtime().block_on(run(&client, qos, messages, Some(rate)));
        return;
    }
    if std::env::var("MQTT_TEST_TCP").is_err() {
        eprintln!("MQTT_TEST_TCP is not set: measuring through the embedded broker");
    }
    runtime().block_on(async {
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
                    a.push(ours(qos, count, None).await);
                    b.push(rumqttc_run(qos, count, None).await);
                }
                Run::report("ours", qos, &mut a);
                Run::report("rumqttc", qos, &mut b);
            }
        }
        if common::wanted("latency") {
            latency(20).await;
        }
        // Not part of a run that names no part: it takes a few minutes.
        let named = |part| std::env::args().any(|a| a == part);
        if named("rate") || named("syscalls") {
            paced(named("syscalls")).await;
        }
    });
    if common::wanted("idle") {
        report_idle_rss();
    }
}
