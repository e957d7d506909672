//! The client layer's guarantees through mqtt-blocking: a message that arrives before the loop
//! is acknowledged only once the loop's consumers have it, a QoS 0 publish is written before
//! `wait_for_publish` returns (a program may exit right after), dropping the client flushes,
//! and the acknowledgement callbacks name the publish by the `mid` it returned.

#[path = "../../mqtt-tokio/tests/support/mod.rs"]
mod support;

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{KEEP_ALIVE, WAIT, connected, host, options};
use mqtt_blocking::{Backoff, Client, ClientEvent, Command, Config, ConnectOptions, QoS, Version};
use support::scripted::Scripted;
use support::{client_id, topic};

/// The reported bug, in the order the README shows: connect, messages(), loop_start. The
/// broker resumes the session and sends a QoS 1 message right after CONNACK.
#[test]
fn a_message_right_after_connack_waits_for_the_loop() {
    let script = Scripted::start();
    let port = script.address.port();
    let broker = std::thread::spawn(move || {
        let mut peer = script.accept();
        peer.expect(0x10);
        peer.send(&[0x20, 0x02, 0x01, 0x00]);
        peer.send(&[
            0x32, 0x09, 0x00, 0x03, b't', b'/', b'x', 0x00, 0x01, b'h', b'i',
        ]);
        let before_loop = peer.packets_within(Duration::from_millis(300));
        (before_loop, peer.packet())
    });
    let mut config = Config::new(client_id("early"), Version::V311);
    config.clean_start = false;
    let client = Client::with_config(config);
    let mut options = ConnectOptions::port(port);
    options.reconnect = None;
    client.connect("127.0.0.1", KEEP_ALIVE, options).unwrap();
    let messages = client.messages();
    std::thread::sleep(Duration::from_millis(400));
    client.loop_start(None).unwrap();
    let message = messages.recv_timeout(WAIT).expect("the message arrives");
    assert_eq!(
        (message.topic.as_str(), message.payload_str()),
        ("t/x", Some("hi"))
    );
    let (before_loop, after) = broker.join().unwrap();
    assert_eq!(
        before_loop,
        Vec::<Vec<u8>>::new(),
        "no PUBACK before the loop has it"
    );
    assert_eq!(after, [0x40, 0x02, 0x00, 0x01]);
}

/// The child of [`a_qos0_publish_is_written_when_wait_for_publish_returns`]: publishes once at
/// QoS 0, waits for it, and exits at once, as a short program does.
#[test]
#[ignore = "run by a_qos0_publish_is_written_when_wait_for_publish_returns"]
fn child_publishes_then_exits() {
    let (Ok(address), Ok(topic)) = (
        std::env::var("MQTT_CHILD_BROKER"),
        std::env::var("MQTT_CHILD_TOPIC"),
    ) else {
        return;
    };
    let address: std::net::SocketAddr = address.parse().unwrap();
    let client = Client::new(client_id("child"), true);
    let options = ConnectOptions::port(address.port());
    client
        .connect(&address.ip().to_string(), KEEP_ALIVE, options)
        .unwrap();
    client.loop_start(None).unwrap();
    let mid = client
        .publish(&topic, "last", QoS::AtMostOnce, false)
        .unwrap();
    client.wait_for_publish(mid, WAIT).unwrap();
    std::process::exit(0);
}

/// `wait_for_publish` at QoS 0 returns once the bytes are written: a program that exits right
/// after does not lose the message (it did 8 times in 20 before).
#[test]
fn a_qos0_publish_is_written_when_wait_for_publish_returns() {
    const RUNS: usize = 20;
    let version = Version::V311;
    let topic = topic("exit");
    let (subscriber, messages) = common::subscriber(
        version,
        &client_id("exit-sub"),
        &[(&topic, QoS::AtMostOnce)],
    );
    let broker = support::broker().tcp(version).to_string();
    for run in 0..RUNS {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_publishes_then_exits",
                "--ignored",
                "--quiet",
            ])
            .env("MQTT_CHILD_BROKER", &broker)
            .env("MQTT_CHILD_TOPIC", &topic)
            .status()
            .unwrap();
        assert!(status.success(), "run {run}: the child failed");
        let message = messages
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("run {run}: the message was lost at exit"));
        assert_eq!(message.payload_str(), Some("last"));
    }
    subscriber.disconnect().unwrap();
}

/// Dropping the last handle writes the queued QoS 0 publishes before DISCONNECT.
#[test]
fn dropping_the_client_flushes_queued_publishes() {
    let script = Scripted::start();
    let port = script.address.port();
    let broker = std::thread::spawn(move || {
        let mut peer = script.accept();
        peer.expect(0x10);
        peer.send(&[0x20, 0x02, 0x00, 0x00]);
        let mut seen = Vec::new();
        while let Some(packet) = peer.try_packet() {
            seen.push(packet[0]);
        }
        seen
    });
    let client = Client::new(client_id("drop"), true);
    client
        .connect("127.0.0.1", KEEP_ALIVE, ConnectOptions::port(port))
        .unwrap();
    client.loop_start(None).unwrap();
    for _ in 0..3 {
        client
            .publish("t", "last words", QoS::AtMostOnce, false)
            .unwrap();
    }
    drop(client);
    assert_eq!(broker.join().unwrap(), [0x30, 0x30, 0x30, 0xe0]);
}

/// The seed's `mid`: `publish` returns it, and the PUBACK callback names the same one, so a
/// condition on it picks exactly that message.
#[test]
fn acknowledgement_callbacks_carry_the_mid_publish_returned() {
    for version in [Version::V311, Version::V5] {
        let client = connected(version, &client_id("mid"));
        let topic = topic("mid");
        // Published before the loop runs, so nothing is acknowledged before the callback is set.
        let mids: Vec<_> = (0..3)
            .map(|n| {
                client
                    .publish(&topic, n.to_string(), QoS::AtLeastOnce, false)
                    .unwrap()
            })
            .collect();
        let chosen = mids[1];
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        client.on_if(
            Command::PubAck,
            move |_, data| log.lock().unwrap().push(data.mid),
            move |data| data.mid == Some(chosen),
            0,
        );
        client.loop_start(None).unwrap();
        for mid in &mids {
            client.wait_for_publish(*mid, WAIT).unwrap();
        }
        // The callbacks run on the loop right after the outcomes are recorded.
        let started = std::time::Instant::now();
        while seen.lock().unwrap().is_empty() && started.elapsed() < WAIT {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(*seen.lock().unwrap(), [Some(chosen)], "{version}");
        client.disconnect().unwrap();
    }
}

/// State is visible: events, `is_connected` and the counts; and `connect` retries when asked.
#[test]
fn connect_retries_when_asked_and_events_tell_the_story() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::new(client_id("retry"), true);
    let events = client.events();
    let mut options = ConnectOptions::port(port);
    options.retry_first_connect = true;
    options.reconnect = Some(Backoff {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(200),
        multiplier: 2.0,
        jitter: false,
    });
    let mid = client
        .publish("t", "queued", QoS::AtLeastOnce, false)
        .unwrap();
    assert_eq!(client.publishes_queued(), 1);
    let broker = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        let (stream, _) = listener.accept().unwrap();
        let mut peer = support::scripted::Peer::from(stream);
        peer.expect(0x10);
        peer.send(&[0x20, 0x02, 0x00, 0x00]);
        let publish = peer.expect(0x32);
        peer.send(&[0x40, 0x02, publish[5], publish[6]]);
        peer.packets_within(Duration::from_millis(500))
    });
    client.connect("127.0.0.1", KEEP_ALIVE, options).unwrap();
    assert!(client.is_connected());
    client.loop_start(None).unwrap();
    client.wait_for_publish(mid, WAIT).unwrap();
    assert_eq!(
        (client.publishes_queued(), client.publishes_in_flight()),
        (0, 0)
    );
    let mut seen = Vec::new();
    while let Ok(event) = events.recv_timeout(Duration::from_millis(100)) {
        // Each attempt starts with the server it goes to.
        if !matches!(event, ClientEvent::Connecting(_)) {
            seen.push(event);
        }
    }
    assert!(
        matches!(seen.first(), Some(ClientEvent::ConnectFailed { .. })),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|e| matches!(e, ClientEvent::Reconnecting { .. })),
        "{seen:?}"
    );
    assert!(
        matches!(seen.last(), Some(ClientEvent::Connected(c)) if !c.session_present),
        "{seen:?}"
    );
    client.disconnect().unwrap();
    broker.join().unwrap();
}

/// A connection the broker refuses without retry is an error at once, as before.
#[test]
fn connect_without_retry_reports_the_failure() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::new(client_id("no-retry"), true);
    let error = client
        .connect("127.0.0.1", KEEP_ALIVE, ConnectOptions::port(port))
        .expect_err("nothing listens");
    assert!(
        matches!(error, mqtt_blocking::Error::Connect { .. }),
        "{error:?}"
    );
    // And the same client connects once the broker is there.
    client
        .connect(&host(Version::V311), KEEP_ALIVE, options(Version::V311))
        .unwrap();
    client.disconnect().unwrap();
}

/// A durable store: what a client accepted and the broker did not acknowledge survives the
/// client, and a new client on the same store (a restarted process) sends it again, in order,
/// with DUP.
#[test]
fn a_durable_store_carries_unacknowledged_publishes_to_the_next_client() {
    let path = std::env::temp_dir()
        .join(client_id("blocking-store"))
        .join("session.log");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let script = Scripted::start();
    let port = script.address.port();
    let broker = std::thread::spawn(move || {
        // First client: three publishes, none acknowledged.
        let mut peer = script.accept();
        peer.expect(0x10);
        peer.send(&[0x20, 0x02, 0x00, 0x00]);
        let first: Vec<Vec<u8>> = (0..3).map(|_| peer.expect(0x32)).collect();
        drop(peer);
        // The next client, on the same store: the session is resumed and they come again.
        let mut peer = script.accept();
        peer.expect(0x10);
        peer.send(&[0x20, 0x02, 0x01, 0x00]);
        let again: Vec<Vec<u8>> = (0..3).map(|_| peer.expect(0x3a)).collect();
        for publish in &again {
            peer.send(&[0x40, 0x02, publish[7], publish[8]]);
        }
        (first, again)
    });
    let open = || {
        let (store, _) = mqtt_store::FileStore::open(&path, Default::default()).unwrap();
        let mut config = Config::new("durable-blocking", Version::V311);
        config.clean_start = false;
        Client::with_store(config, store)
    };
    let mut options = ConnectOptions::port(port);
    options.disconnect_timeout = Duration::from_millis(100);
    // The first client must not come back by itself: the broker's next connection is for the
    // second one.
    options.reconnect = None;
    let client = open();
    client
        .connect("127.0.0.1", KEEP_ALIVE, options.clone())
        .unwrap();
    client.loop_start(None).unwrap();
    for n in 0..3u8 {
        client
            .publish("t/x", vec![n], QoS::AtLeastOnce, false)
            .unwrap();
    }
    std::thread::sleep(Duration::from_millis(200));
    drop(client);
    let client = open();
    assert_eq!(client.publishes_in_flight(), 3, "the store gave them back");
    client.connect("127.0.0.1", KEEP_ALIVE, options).unwrap();
    client.loop_start(None).unwrap();
    let (first, again) = broker.join().unwrap();
    let payloads = |packets: &[Vec<u8>]| packets.iter().map(|p| p[9]).collect::<Vec<u8>>();
    assert_eq!(payloads(&first), [0, 1, 2]);
    assert_eq!(payloads(&again), [0, 1, 2], "in order, with DUP (0x3a)");
    let started = std::time::Instant::now();
    while client.publishes_in_flight() > 0 && started.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(client.publishes_in_flight(), 0);
    client.disconnect().unwrap();
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}
