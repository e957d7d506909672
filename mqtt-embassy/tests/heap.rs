//! How much heap a typical client needs, measured on the host with dhat: connect, subscribe,
//! then 20 QoS 1 and 20 QoS 2 publishes in flight at once (the broker's acknowledgements held
//! back until all 40 are out), then their completion and a disconnect.
//!
//! The client runs in a child process of this test, so that the broker (in this process when
//! it is the embedded one) and the test harness are not counted: the child holds only a tokio
//! current-thread runtime and the client. The figure is the peak of live heap bytes from just
//! before the client is made to its end, and goes in the crate's README.

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use embedded_io_adapters::tokio_1::FromTokio;
use mqtt_embassy::{Client, Config, QoS, Version};
use support::{WAIT, broker, client_id, settings};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const CHILD: &str = "MQTT_EMBASSY_HEAP_CHILD";

/// The budget the README promises, with room: the test fails above it.
const BUDGET: u64 = 96 * 1024;

#[test]
fn peak_heap_for_connect_subscribe_and_40_in_flight() {
    if let Ok(address) = std::env::var(CHILD) {
        child(address.parse().expect("the broker's address"));
        return;
    }
    for (version, scenario) in [
        (Version::V311, "40"),
        (Version::V5, "40"),
        (Version::V5, "firmware"),
    ] {
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "peak_heap_for_connect_subscribe_and_40_in_flight",
                "--exact",
                "--nocapture",
            ])
            .env(CHILD, broker().tcp(version).to_string())
            .env(
                "MQTT_EMBASSY_HEAP_VERSION",
                if version == Version::V5 { "5" } else { "4" },
            )
            .env("MQTT_EMBASSY_HEAP_SCENARIO", scenario)
            .output()
            .expect("run the child");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "child failed: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let line = stdout
            .lines()
            .find(|l| l.starts_with("PEAK_HEAP"))
            .unwrap_or_else(|| panic!("no figure in {stdout}"));
        let numbers: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .map(|n| n.parse().unwrap())
            .collect();
        let (peak, in_flight, blocks) = (numbers[0], numbers[1], numbers[2]);
        if scenario == "firmware" {
            println!(
                "{version}, the firmware's behaviour (one QoS 1 publish at a time, its echo received, 10 times): peak heap {peak} bytes; {blocks} blocks at the peak"
            );
        } else {
            println!(
                "{version}: peak heap {peak} bytes; {in_flight} bytes live with 40 publishes out; {blocks} blocks at the peak"
            );
        }
        assert!(
            peak <= BUDGET,
            "{version}: peak heap {peak} bytes over the {BUDGET}-byte budget"
        );
    }
}

/// A socket whose reads wait while the gate is shut: the broker's acknowledgements stay in the
/// kernel, so the publishes stay in flight. Cancel safe: nothing is read before it opens.
struct Gated {
    inner: FromTokio<tokio::net::TcpStream>,
    open: Rc<Cell<bool>>,
}

impl embedded_io_async::ErrorType for Gated {
    type Error = std::io::Error;
}

impl embedded_io_async::Read for Gated {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, std::io::Error> {
        while !self.open.get() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.inner.read(buf).await
    }
}

impl embedded_io_async::Write for Gated {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, std::io::Error> {
        self.inner.write(buf).await
    }

    async fn flush(&mut self) -> Result<(), std::io::Error> {
        self.inner.flush().await
    }
}

fn child(address: std::net::SocketAddr) {
    let version = match std::env::var("MQTT_EMBASSY_HEAP_VERSION").as_deref() {
        Ok("5") => Version::V5,
        _ => Version::V311,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    // Warm the runtime's own lazy allocations up before counting.
    local.block_on(&runtime, async {
        tokio::time::sleep(Duration::from_millis(1)).await;
        let _ = embassy_time::Timer::after_millis(1).await;
    });
    let profiler = match std::env::var("MQTT_EMBASSY_HEAP_JSON") {
        // A full profile for dh_view.html, to see where the bytes go.
        Ok(file) => dhat::Profiler::builder().file_name(file).build(),
        Err(_) => dhat::Profiler::builder().testing().build(),
    };
    let in_flight = local.block_on(&runtime, async move {
        let open = Rc::new(Cell::new(true));
        let gate = open.clone();
        let connector = move || {
            let open = gate.clone();
            async move {
                let stream = tokio::net::TcpStream::connect(address).await?;
                stream.set_nodelay(true)?;
                Ok::<_, std::io::Error>(Gated {
                    inner: FromTokio::new(stream),
                    open,
                })
            }
        };
        let firmware = std::env::var("MQTT_EMBASSY_HEAP_SCENARIO").as_deref() == Ok("firmware");
        let mut config = Config::new(client_id("heap"), version);
        let mut settings = settings();
        if firmware {
            // As mqtt-embassy/firmware configures it.
            config.max_inflight = 4.try_into().unwrap();
            config.max_queued = 8;
            settings.stream_capacity = 4;
            settings.event_capacity = 1;
        } else {
            config.max_inflight = 40.try_into().unwrap();
            settings.stream_capacity = 8;
        }
        let (client, default, connection) = Client::new(config, settings, 7, connector);
        drop(default);
        let task = tokio::task::spawn_local(connection.run());
        tokio::time::timeout(WAIT, client.connected())
            .await
            .unwrap()
            .unwrap();
        let topic = format!("test/{}/temp", client_id("heap"));
        let mut messages = client.subscription(&topic, QoS::AtLeastOnce).await.unwrap();
        if firmware {
            for n in 0..10u32 {
                let payload = format!("{{\"n\":{n},\"c\":21}}");
                client
                    .publish(&topic, payload, QoS::AtLeastOnce, false)
                    .await
                    .unwrap();
                tokio::time::timeout(WAIT, messages.recv())
                    .await
                    .unwrap()
                    .unwrap();
            }
            let live = dhat::HeapStats::get().curr_bytes;
            drop(messages);
            client.disconnect().await.unwrap();
            task.await.unwrap().unwrap();
            return live;
        }
        // The application reads its messages as they come.
        let reader = tokio::task::spawn_local(async move {
            for _ in 0..40 {
                tokio::time::timeout(WAIT, messages.recv())
                    .await
                    .unwrap()
                    .unwrap();
            }
        });
        open.set(false);
        let mut pending = Vec::new();
        for n in 0..40u32 {
            let qos = if n < 20 {
                QoS::AtLeastOnce
            } else {
                QoS::ExactlyOnce
            };
            let payload = format!("{{\"n\":{n},\"celsius\":21.5,\"sensor\":\"heap-test\"}}");
            pending.push(
                client
                    .start_publish(&topic, payload, qos, false)
                    .await
                    .unwrap(),
            );
        }
        // Everything written, nothing acknowledged.
        tokio::time::sleep(Duration::from_millis(200)).await;
        // An MQTT 5.0 broker may allow fewer in flight (its Receive Maximum: mosquitto's is
        // 20); the rest wait in the session's queue.
        assert_eq!(client.publishes_in_flight() + client.publishes_queued(), 40);
        assert!(client.publishes_in_flight() >= 20);
        let in_flight = dhat::HeapStats::get().curr_bytes;
        open.set(true);
        for p in pending {
            tokio::time::timeout(WAIT, p).await.unwrap().unwrap();
        }
        // The 40 copies come back through the subscription, at QoS 1.
        reader.await.unwrap();
        client.disconnect().await.unwrap();
        task.await.unwrap().unwrap();
        in_flight
    });
    let stats = dhat::HeapStats::get();
    println!(
        "PEAK_HEAP {} {} {}",
        stats.max_bytes, in_flight, stats.max_blocks
    );
    drop(profiler);
}
