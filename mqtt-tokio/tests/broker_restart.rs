//! The client comes back on its own after the broker restarts, and re-subscribes: with the
//! default options, as resubscription is on by default.
//!
//! A test binary of its own: restarting mosquitto would break tests running beside it, and
//! cargo runs test binaries one after another.

mod support;

use std::time::Duration;

use mqtt_tokio::{Backoff, Client, Options, QoS, Version};
use support::front::{Front, Kind};
use support::{broker, client_id, restart_broker, topic};

#[tokio::test]
async fn the_client_reconnects_and_resubscribes_after_a_broker_restart() {
    for version in [Version::V311, Version::V5] {
        let front = Front::start(Kind::Tcp, broker().tcp(version)).await;
        let mut options = Options::new("127.0.0.1", front.address.port(), client_id("restart"));
        options.set_version(version);
        options.reconnect = Some(Backoff {
            initial: Duration::from_millis(50),
            max: Duration::from_millis(500),
            multiplier: 2.0,
            jitter: true,
        });
        let (client, _) = Client::spawn(options).await.unwrap();
        let topic = topic("restart");
        let mut messages = client.subscription(&topic, QoS::AtLeastOnce).await.unwrap();

        let upstream = tokio::task::spawn_blocking(move || restart_broker(version))
            .await
            .unwrap();
        front.set_upstream(upstream);
        front.cut();

        // Accepted at once, sent when the client is back: after the new SUBSCRIBE.
        let published = tokio::time::timeout(
            Duration::from_secs(15),
            client.publish(&topic, "after the restart", QoS::AtLeastOnce, false),
        )
        .await
        .unwrap_or_else(|_| panic!("{version}: the publish completes once reconnected"))
        .unwrap();
        assert_eq!(published.qos, QoS::AtLeastOnce);
        let message = tokio::time::timeout(Duration::from_secs(10), messages.recv())
            .await
            .unwrap_or_else(|_| panic!("{version}: the re-subscription delivers"))
            .unwrap();
        assert_eq!(message.payload_str(), Some("after the restart"));
        client.disconnect().await.unwrap();
    }
}

/// A mosquitto of this test's own, with persistence, on a free loopback port.
struct PersistentBroker {
    dir: std::path::PathBuf,
    port: u16,
    child: Option<std::process::Child>,
}

impl PersistentBroker {
    fn start() -> Option<PersistentBroker> {
        let bin = std::env::var("MQTT_TEST_MOSQUITTO_BIN").ok()?;
        let dir = std::env::temp_dir().join(support::client_id("mosquitto-persistent"));
        std::fs::create_dir_all(&dir).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let user = String::from_utf8(
            std::process::Command::new("id")
                .arg("-un")
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        let conf = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n\
             persistence_location {}/\nmax_queued_messages 0\nuser {}\n",
            dir.display(),
            user.trim()
        );
        std::fs::write(dir.join("mosquitto.conf"), conf).unwrap();
        let mut broker = PersistentBroker {
            dir,
            port,
            child: None,
        };
        broker.run(&bin);
        Some(broker)
    }

    fn run(&mut self, bin: &str) {
        let child = std::process::Command::new(bin)
            .arg("-c")
            .arg(self.dir.join("mosquitto.conf"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start mosquitto");
        self.child = Some(child);
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("the persistent mosquitto does not listen");
    }

    /// SIGTERM (mosquitto saves its sessions), wait, and start again on the same port.
    fn restart(&mut self) {
        self.stop();
        let bin = std::env::var("MQTT_TEST_MOSQUITTO_BIN").unwrap();
        self.run(&bin);
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = std::process::Command::new("kill")
                .arg(child.id().to_string())
                .status();
            let _ = child.wait();
        }
    }
}

impl Drop for PersistentBroker {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// mosquitto with persistence, restarted three times while 3,000 numbered messages flow
/// between two persistent clients: nothing is lost, at QoS 1 and 2. A QoS 2 message may come
/// twice only where the broker sent a PUBLISH again after its PUBREL, which a client can't
/// tell from a new message; this run counts them and reports them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persistent_broker_restarted_three_times_loses_nothing() {
    const COUNT: u32 = 3_000;
    let Some(mut broker) = PersistentBroker::start() else {
        eprintln!("no MQTT_TEST_MOSQUITTO_BIN: the restart suite runs against mosquitto only");
        return;
    };
    for qos in [QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let options = |id: &str| {
            let mut options = Options::new("127.0.0.1", broker.port, client_id(id));
            options.set_version(Version::V311);
            options.session.clean_start = false;
            options.reconnect = Some(Backoff {
                initial: Duration::from_millis(50),
                max: Duration::from_millis(500),
                multiplier: 2.0,
                jitter: true,
            });
            options
        };
        let topic = topic("persistent");
        let (subscriber, _) = Client::spawn(options("persistent-sub")).await.unwrap();
        let mut messages = subscriber.subscription(&topic, qos).await.unwrap();
        let (publisher, _) = Client::spawn(options("persistent-pub")).await.unwrap();
        let mut events = publisher.events();
        let mut counts = vec![0u32; COUNT as usize];
        for n in 0..COUNT {
            if n > 0 && n % 750 == 0 {
                tokio::task::block_in_place(|| broker.restart());
            }
            let pending = publisher
                .start_publish(&topic, n.to_be_bytes().to_vec(), qos, false)
                .await
                .unwrap();
            drop(pending);
            if n % 50 == 49 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            while let Some(message) = messages.try_recv() {
                counts[u32::from_be_bytes(message.payload[..].try_into().unwrap()) as usize] += 1;
            }
        }
        while counts.contains(&0) {
            let message = tokio::time::timeout(Duration::from_secs(20), messages.recv())
                .await
                .unwrap_or_else(|_| {
                    let lost = counts.iter().filter(|&&c| c == 0).count();
                    panic!("{qos:?}: {lost} messages lost across the restarts")
                })
                .unwrap();
            counts[u32::from_be_bytes(message.payload[..].try_into().unwrap()) as usize] += 1;
        }
        let duplicates: u32 = counts.iter().map(|&c| c.saturating_sub(1)).sum();
        eprintln!(
            "{qos:?}: {COUNT} messages across 3 restarts, none lost, {duplicates} duplicates"
        );
        let mut resumed = 0;
        while let Ok(Some(event)) =
            tokio::time::timeout(Duration::from_millis(50), events.recv()).await
        {
            resumed += usize::from(
                matches!(event, mqtt_tokio::ClientEvent::Connected(c) if c.session_present),
            );
        }
        assert_eq!(
            resumed, 3,
            "{qos:?}: the publisher resumed its session after each restart"
        );
        publisher.disconnect().await.unwrap();
        subscriber.disconnect().await.unwrap();
    }
}
