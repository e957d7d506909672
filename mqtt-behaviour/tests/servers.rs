//! Broker lists and server redirection, through mqtt-tokio against real brokers: failover
//! from a broker that dies mid-stream to the next of the list, and MQTT 5.0 redirects from a
//! scripted broker to the real one, with the hop limit against a loop.

use std::collections::BTreeSet;
use std::time::Duration;

use mqtt_behaviour::restart::OwnBroker;
use mqtt_behaviour::support::scripted::Scripted;
use mqtt_behaviour::support::{broker, client_id, topic};
use mqtt_tokio::{Backoff, Client, ClientEvent, Error, Options, QoS, ReasonCode, Target, Version};

const WAIT: Duration = Duration::from_secs(15);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn fast(options: &mut Options) {
    options.reconnect = Some(Backoff {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(200),
        multiplier: 2.0,
        jitter: true,
    });
    options.connect_timeout = Duration::from_secs(5);
}

/// The first broker of the list dies while 200 QoS 1 messages are being published: the
/// client goes on with the second, and every message reaches a subscriber there.
#[test]
fn failover_to_the_next_broker_loses_nothing() {
    const COUNT: u32 = 200;
    let mut first = OwnBroker::start(Version::V311);
    let second = broker().tcp(Version::V311);
    runtime().block_on(async {
        let topic = topic("failover");
        let mut sub_options = broker().options(Version::V311, &client_id("failover-sub"));
        fast(&mut sub_options);
        let (subscriber, _) = Client::spawn(sub_options).await.unwrap();
        let mut messages = subscriber
            .subscription(&topic, QoS::AtLeastOnce)
            .await
            .unwrap();

        let url = format!("mqtt://{}?version=3.1.1", first.address);
        let mut options = Options::from_url(&url, client_id("failover-pub")).unwrap();
        options.add_server(&format!("mqtt://{second}")).unwrap();
        fast(&mut options);
        let (publisher, _) = Client::spawn(options).await.unwrap();
        let mut events = publisher.events();
        let mut pending = Vec::new();
        for n in 0..COUNT {
            pending.push(
                publisher
                    .start_publish(&topic, n.to_be_bytes().to_vec(), QoS::AtLeastOnce, false)
                    .await
                    .unwrap(),
            );
            if n == 50 {
                first.stop();
            }
        }
        for p in pending {
            tokio::time::timeout(WAIT, p)
                .await
                .expect("every publish completes on the second broker")
                .unwrap();
        }
        let mut seen = BTreeSet::new();
        // Messages 0..=50 may have gone to the first broker only, before it died: the
        // subscriber on the second sees those published after the switch, at least.
        while seen.len() < (COUNT - 51) as usize {
            let message = tokio::time::timeout(WAIT, messages.recv())
                .await
                .expect("the messages reach the second broker")
                .unwrap();
            let n = u32::from_be_bytes(message.payload[..].try_into().unwrap());
            if n > 50 {
                seen.insert(n);
            }
        }
        let mut targets = Vec::new();
        while let Ok(Some(event)) =
            tokio::time::timeout(Duration::from_millis(50), events.recv()).await
        {
            if let ClientEvent::Connecting(target) = event {
                targets.push(target);
            }
        }
        assert_eq!(targets.last(), Some(&Target::Server(1)), "{targets:?}");
        publisher.disconnect().await.unwrap();
        subscriber.disconnect().await.unwrap();
    });
}

/// A CONNACK with reason code 0x9C and a Server Reference (MQTT 5.0).
fn use_another_server(reference: &str) -> Vec<u8> {
    let mut properties = vec![0x1C];
    properties.extend_from_slice(&(reference.len() as u16).to_be_bytes());
    properties.extend_from_slice(reference.as_bytes());
    let mut packet = vec![0x20, (3 + properties.len()) as u8, 0x00, 0x9C];
    packet.push(properties.len() as u8);
    packet.extend_from_slice(&properties);
    packet
}

/// A scripted broker sends the client to the real one, which it then uses.
#[test]
fn a_redirect_to_the_real_broker_is_followed() {
    let script = Scripted::start();
    let port = script.address.port();
    let real = broker().tcp(Version::V5);
    let redirecting = std::thread::spawn(move || {
        let mut peer = script.accept();
        peer.expect(0x10);
        peer.send(&use_another_server(&format!(
            "{}:{}",
            real.ip(),
            real.port()
        )));
    });
    runtime().block_on(async {
        let mut options = Options::new("127.0.0.1", port, client_id("redirected"));
        fast(&mut options);
        let (client, _) = Client::spawn(options)
            .await
            .expect("connected after the redirect");
        let topic = topic("redirect");
        let mut messages = client.subscription(&topic, QoS::AtLeastOnce).await.unwrap();
        client
            .publish(&topic, "via the redirect", QoS::AtLeastOnce, false)
            .await
            .unwrap();
        let message = tokio::time::timeout(WAIT, messages.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(message.payload_str(), Some("via the redirect"));
        client.disconnect().await.unwrap();
    });
    redirecting.join().unwrap();
}

/// A broker that keeps redirecting to itself: the client stops after the hop limit (3 by
/// default), with the broker's refusal.
#[test]
fn a_redirect_loop_stops_at_the_hop_limit() {
    let script = Scripted::start();
    let address = script.address;
    let looping = std::thread::spawn(move || {
        let mut connections = 0;
        while connections < 4 {
            let mut peer = script.accept();
            peer.expect(0x10);
            peer.send(&use_another_server(&address.to_string()));
            connections += 1;
        }
        connections
    });
    runtime().block_on(async {
        let mut options = Options::new("127.0.0.1", address.port(), client_id("loop"));
        fast(&mut options);
        let error = Client::connect(options)
            .await
            .expect_err("the loop ends in a refusal");
        assert!(
            matches!(&error, Error::Refused(connack) if connack.reason_code == ReasonCode::USE_ANOTHER_SERVER),
            "{error:?}"
        );
    });
    assert_eq!(
        looping.join().unwrap(),
        4,
        "the first connection and 3 redirects"
    );
}

/// mqtt-blocking: the same redirect, and the same failover, through the seed's API.
#[test]
fn blocking_follows_a_redirect_and_fails_over() {
    use mqtt_blocking::{Config, ConnectOptions};
    let script = Scripted::start();
    let port = script.address.port();
    let real = broker().tcp(Version::V5);
    let redirecting = std::thread::spawn(move || {
        let mut peer = script.accept();
        peer.expect(0x10);
        peer.send(&use_another_server(&format!(
            "{}:{}",
            real.ip(),
            real.port()
        )));
    });
    let client =
        mqtt_blocking::Client::with_config(Config::new(client_id("b-redirect"), Version::V5));
    let mut options = ConnectOptions::port(port);
    options.connect_timeout = Duration::from_secs(5);
    client
        .connect("127.0.0.1", Duration::from_secs(30), options)
        .expect("connected after the redirect");
    client.loop_start(None).unwrap();
    let mid = client
        .publish(&topic("b-redirect"), "x", QoS::AtLeastOnce, false)
        .unwrap();
    client.wait_for_publish(mid, WAIT).unwrap();
    client.disconnect().unwrap();
    redirecting.join().unwrap();

    // Failover: the first broker dies mid-stream; every publish completes on the second.
    let mut first = OwnBroker::start(Version::V311);
    let second = broker().tcp(Version::V311);
    let client = mqtt_blocking::Client::new(client_id("b-failover"), true);
    let mut options = ConnectOptions::port(first.address.port())
        .with_server(second.ip().to_string(), second.port());
    options.connect_timeout = Duration::from_secs(5);
    options.reconnect = Some(Backoff {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(200),
        multiplier: 2.0,
        jitter: true,
    });
    client
        .connect(
            &first.address.ip().to_string(),
            Duration::from_secs(30),
            options,
        )
        .unwrap();
    client.loop_start(None).unwrap();
    let topic = topic("b-failover");
    let mut mids = Vec::new();
    for n in 0..100u32 {
        mids.push(
            client
                .publish(&topic, n.to_be_bytes().to_vec(), QoS::AtLeastOnce, false)
                .unwrap(),
        );
        if n == 30 {
            first.stop();
        }
    }
    for mid in mids {
        client
            .wait_for_publish(mid, WAIT)
            .unwrap_or_else(|e| panic!("{mid:?} completes on the second broker: {e}"));
    }
    client.disconnect().unwrap();
}

/// mqtt-blocking with a socket of the application's own: a Unix socket, relayed to the
/// broker's TCP port by the test.
#[cfg(unix)]
#[test]
fn blocking_custom_connector_over_a_unix_socket() {
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let dir = std::env::temp_dir().join(client_id("blocking-unix"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mqtt.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let upstream = broker().tcp(Version::V311);
    std::thread::spawn(move || {
        if let Ok((mut client, _)) = listener.accept() {
            let mut broker = std::net::TcpStream::connect(upstream).unwrap();
            let (mut from_client, mut to_broker) =
                (client.try_clone().unwrap(), broker.try_clone().unwrap());
            std::thread::spawn(move || std::io::copy(&mut from_client, &mut to_broker));
            let _ = std::io::copy(&mut broker, &mut client);
        }
    });
    let opened = Arc::new(AtomicUsize::new(0));
    let count = opened.clone();
    let socket = path.clone();
    let options = mqtt_blocking::ConnectOptions::port(1883).with_connector(move |host, port| {
        assert_eq!((host, port), ("unix-socket", 1883));
        count.fetch_add(1, Ordering::Relaxed);
        let stream = UnixStream::connect(&socket)?;
        stream.set_nonblocking(true)?;
        Ok(Box::new(mqtt_blocking::mio::net::UnixStream::from_std(
            stream,
        )))
    });
    let client = mqtt_blocking::Client::new(client_id("blocking-unix"), true);
    client
        .connect("unix-socket", Duration::from_secs(30), options)
        .expect("connected over the Unix socket");
    client.loop_start(None).unwrap();
    let mid = client
        .publish(&topic("blocking-unix"), "x", QoS::AtLeastOnce, false)
        .unwrap();
    client.wait_for_publish(mid, WAIT).unwrap();
    client.disconnect().unwrap();
    assert_eq!(opened.load(Ordering::Relaxed), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
