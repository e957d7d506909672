//! End-to-end comparison with rumqttc through a real broker, measured as mqtt-tokio's
//! `end_to_end` bench measures (its `common` module: the same messages, tally, window and
//! report): one publisher and one subscriber in this process, messages/s and client CPU time
//! per message (both clients together), ours on smol and on async-std, rumqttc on tokio.
//!
//! ```sh
//! bash .ci/mosquitto.sh start && source .ci/run-state/env
//! cargo bench -p mqtt-async-std --bench end_to_end
//! cargo bench -p mqtt-async-std --bench end_to_end -- qos1   # only some parts
//! ```
//!
//! The parts are `qos0`, `qos1` and `qos2`; with none named, all run.

#[path = "../../mqtt-tokio/benches/common/mod.rs"]
mod common;
#[path = "../../mqtt-tokio/tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use common::{Cpu, ROUNDS, Run, Tally, WINDOW, payload};
use mqtt_async::{Client, Options, Runtime};
use mqtt_async_std::{AsyncStd, Overflow, QoS, Smol, Version};

fn options<R: Runtime>(id: &str) -> Options<R> {
    let address = support::broker().tcp(Version::V311);
    let mut options = Options::new(address.ip().to_string(), address.port(), id);
    options.set_version(Version::V311);
    options
}

/// One run of our client on runtime `R`, as mqtt-tokio's bench runs it on tokio.
async fn ours<R: Runtime>(qos: QoS, messages: u32) -> Run {
    let topic = support::topic("bench");
    let mut sub_options = options::<R>(&support::client_id("bench-sub"));
    sub_options.stream_capacity = 4096;
    // Lossless at QoS 0 too, as rumqttc's event loop is.
    sub_options.overflow = Overflow::StopReading;
    let (subscriber, _) = Client::spawn(sub_options)
        .await
        .expect("subscriber connects");
    let mut stream = subscriber
        .subscription(&topic, qos)
        .await
        .expect("subscribe");
    let mut pub_options = options::<R>(&support::client_id("bench-pub"));
    pub_options.session.max_queued = messages as usize;
    let (publisher, _) = Client::spawn(pub_options)
        .await
        .expect("publisher connects");

    let (start, cpu) = (Instant::now(), Cpu::now());
    let receive = async {
        let mut tally = Tally::new(messages);
        while !tally.complete() {
            let next = smol::future::or(async { stream.recv().await }, async {
                R::sleep_until(Instant::now() + Duration::from_secs(5)).await;
                None
            });
            match next.await {
                Some(m) => tally.record(&m.payload),
                None => break,
            }
        }
        tally.received
    };
    let publish = async {
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
    };
    let (received, ()) = smol::future::zip(receive, publish).await;
    let run = Run {
        messages,
        received,
        elapsed: start.elapsed(),
        cpu: Cpu::since(cpu),
    };
    publisher.disconnect().await.ok();
    subscriber.disconnect().await.ok();
    run
}

fn main() {
    if std::env::var("MQTT_TEST_TCP").is_err() {
        eprintln!("MQTT_TEST_TCP is not set: measuring through the embedded broker");
    }
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let rumqttc = |qos, count| {
        tokio.block_on(common::rumqttc_run(
            qos,
            count,
            None,
            support::broker().tcp(Version::V311),
            &support::topic("bench-rumqttc"),
            [
                &support::client_id("rumqttc-sub"),
                &support::client_id("rumqttc-pub"),
            ],
        ))
    };
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
            let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..ROUNDS {
                a.push(smol::block_on(ours::<Smol>(qos, count)));
                b.push(async_std::task::block_on(ours::<AsyncStd>(qos, count)));
                c.push(rumqttc(qos, count));
            }
            Run::report("smol", qos, &mut a);
            Run::report("asyncstd", qos, &mut b);
            Run::report("rumqttc", qos, &mut c);
        }
    }
}
