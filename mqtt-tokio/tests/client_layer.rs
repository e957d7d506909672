//! The client layer's guarantees through mqtt-tokio, against scripted brokers (exact bytes) and
//! the real one: nothing acknowledged is dropped, subscriptions survive a lost session, a slow
//! consumer does not stall the client, state is visible, and dropping the client flushes.

mod support;

use std::time::Duration;

use mqtt_tokio::proto::{UnsubscribeProperties, UserProperty};
use mqtt_tokio::session::DisconnectReason;
use mqtt_tokio::{Backoff, Client, ClientEvent, Options, QoS, Target, Version};
use support::scripted::Scripted;
use support::{broker, client_id, topic};

const WAIT: Duration = Duration::from_secs(10);

/// CONNACK, session present.
const CONNACK_PRESENT: [u8; 4] = [0x20, 0x02, 0x01, 0x00];
/// CONNACK, no session.
const CONNACK: [u8; 4] = [0x20, 0x02, 0x00, 0x00];
/// PUBLISH QoS 1, topic "t/x", packet id 1, payload "hi".
const PUBLISH_T_X: [u8; 11] = [
    0x32, 0x09, 0x00, 0x03, b't', b'/', b'x', 0x00, 0x01, b'h', b'i',
];
/// The client's PUBACK for it.
const PUBACK_1: [u8; 4] = [0x40, 0x02, 0x00, 0x01];

fn scripted_options(script: &Scripted, version: Version) -> Options {
    let mut options = Options::new("127.0.0.1", script.address.port(), client_id("scripted"));
    options.set_version(version);
    options.reconnect = Some(Backoff {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(100),
        multiplier: 2.0,
        jitter: false,
    });
    options
}

/// The broker resumes the session and sends a QoS 1 message right after CONNACK; the client
/// may acknowledge it only once the application has it: it waits in the default stream.
fn serve_message_after_connack(script: Scripted) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut peer = script.accept();
        peer.expect(0x10);
        let mut bytes = CONNACK_PRESENT.to_vec();
        bytes.extend_from_slice(&PUBLISH_T_X);
        peer.send(&bytes);
        peer.packet()
    })
}

#[tokio::test]
async fn a_message_right_after_connack_reaches_the_application() {
    // Client::spawn, the order the README shows.
    let script = Scripted::start();
    let mut options = scripted_options(&script, Version::V311);
    options.session.clean_start = false;
    let broker = serve_message_after_connack(script);
    let (client, mut default) = Client::spawn(options).await.unwrap();
    let message = tokio::time::timeout(WAIT, default.recv())
        .await
        .expect("the message reaches the default stream")
        .unwrap();
    assert_eq!(
        (message.topic.as_str(), message.payload_str()),
        ("t/x", Some("hi"))
    );
    let puback = tokio::task::spawn_blocking(move || broker.join().unwrap())
        .await
        .unwrap();
    assert_eq!(puback, PUBACK_1);
    drop(client);

    // Client::connect, then the connection task.
    let script = Scripted::start();
    let mut options = scripted_options(&script, Version::V311);
    options.session.clean_start = false;
    let broker = serve_message_after_connack(script);
    let (_client, mut default, connection) = Client::connect(options).await.unwrap();
    tokio::spawn(connection.run());
    let message = tokio::time::timeout(WAIT, default.recv())
        .await
        .expect("the message reaches the default stream")
        .unwrap();
    assert_eq!(message.payload_str(), Some("hi"));
    let puback = tokio::task::spawn_blocking(move || broker.join().unwrap())
        .await
        .unwrap();
    assert_eq!(puback, PUBACK_1);
}

/// With the defaults, a reconnection that finds no session makes the subscription again, says
/// so in an event, and the stream goes on receiving.
#[tokio::test]
async fn a_lost_session_is_resubscribed_by_default() {
    let script = Scripted::start();
    let options = scripted_options(&script, Version::V5);
    let broker = std::thread::spawn(move || {
        let mut peer = script.accept();
        peer.expect(0x10);
        peer.send(&[0x20, 0x03, 0x00, 0x00, 0x00]);
        let subscribe = peer.expect(0x82);
        let id = [subscribe[2], subscribe[3]];
        peer.send(&[0x90, 0x04, id[0], id[1], 0x00, 0x01]);
        drop(peer); // the connection breaks; the broker forgets the session
        let mut peer = script.accept();
        peer.expect(0x10);
        peer.send(&[0x20, 0x03, 0x00, 0x00, 0x00]);
        let again = peer.expect(0x82);
        assert_eq!(
            &again[4..],
            &subscribe[4..],
            "the same subscription, made again"
        );
        let id = [again[2], again[3]];
        peer.send(&[0x90, 0x04, id[0], id[1], 0x00, 0x01]);
        // A message for the restored subscription.
        peer.send(&[
            0x30, 0x0a, 0x00, 0x03, b'a', b'/', b'b', 0x00, b'n', b'e', b'w', b'!',
        ]);
        peer.packets_within(Duration::from_millis(500))
    });
    let (client, _default) = Client::spawn(options).await.unwrap();
    let mut events = client.events();
    let mut stream = client.subscription("a/#", QoS::AtLeastOnce).await.unwrap();
    let message = tokio::time::timeout(WAIT, stream.recv())
        .await
        .expect("the stream receives after the reconnection")
        .unwrap();
    assert_eq!(message.payload_str(), Some("new!"));
    let mut saw = Vec::new();
    while let Ok(Some(event)) =
        tokio::time::timeout(Duration::from_millis(100), events.recv()).await
    {
        saw.push(event);
    }
    assert!(
        saw.iter().any(
            |e| matches!(e, ClientEvent::Resubscribed { restored, refused }
            if restored.len() == 1 && refused.is_empty())
        ),
        "{saw:?}"
    );
    drop(stream);
    client.disconnect().await.unwrap();
    tokio::task::spawn_blocking(move || broker.join().unwrap())
        .await
        .unwrap();
}

/// The reported deadlock: a stream of 4, and a consumer that publishes at QoS 1 and waits for
/// each message it handles. The client keeps reading, so its publishes complete.
#[tokio::test]
async fn a_slow_consumer_that_publishes_handles_a_thousand_messages() {
    const COUNT: u32 = 1000;
    let topic = topic("slow-loop");
    let mut options = broker().options(Version::V311, &client_id("slow-loop"));
    options.stream_capacity = 4;
    let (consumer, _) = Client::spawn(options).await.unwrap();
    let mut messages = consumer
        .subscription(&topic, QoS::AtLeastOnce)
        .await
        .unwrap();
    let (publisher, _) = Client::spawn(broker().options(Version::V311, &client_id("slow-pub")))
        .await
        .unwrap();
    let feeding = tokio::spawn({
        let (publisher, topic) = (publisher.clone(), topic.clone());
        async move {
            for n in 0..COUNT {
                let pending = publisher
                    .start_publish(&topic, n.to_be_bytes().to_vec(), QoS::AtLeastOnce, false)
                    .await
                    .unwrap();
                drop(pending);
            }
        }
    });
    let reply = format!("{topic}/reply");
    let handled = tokio::time::timeout(Duration::from_secs(60), async {
        let mut handled = 0;
        while handled < COUNT {
            messages.recv().await.expect("a message");
            consumer
                .publish(&reply, "done", QoS::AtLeastOnce, false)
                .await
                .expect("the consumer's own publish completes");
            handled += 1;
        }
        handled
    })
    .await
    .expect("the consumer is not deadlocked");
    assert_eq!(handled, COUNT);
    feeding.await.unwrap();
    publisher.disconnect().await.unwrap();
    consumer.disconnect().await.unwrap();
}

/// State is visible: a first connection that fails is retried when asked, and events tell
/// the story; the broker's DISCONNECT reason reaches the application.
#[tokio::test]
async fn the_first_connection_is_retried_and_events_tell_the_story() {
    // A port where nothing listens yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut options = Options::new("127.0.0.1", port, client_id("retry-first"));
    options.reconnect = Some(Backoff {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(200),
        multiplier: 2.0,
        jitter: false,
    });
    options.retry_first_connect = true;
    let (client, _) = Client::spawn(options).await.expect("spawn returns at once");
    let mut events = client.events();
    assert!(!client.is_connected());
    // Each attempt starts with the server it goes to.
    let mut next = async || loop {
        match tokio::time::timeout(WAIT, events.recv()).await.unwrap() {
            Some(ClientEvent::Connecting(Target::Server(0))) => {}
            other => return other,
        }
    };
    match next().await {
        Some(ClientEvent::ConnectFailed { error }) => assert!(error.contains("refused"), "{error}"),
        other => panic!("expected ConnectFailed, got {other:?}"),
    }
    assert!(matches!(
        next().await,
        Some(ClientEvent::Reconnecting { attempt: 1, .. })
    ));
    let mid = client
        .start_publish("t", "queued", QoS::AtLeastOnce, false)
        .await
        .unwrap();
    assert_eq!(client.publishes_queued(), 1);

    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let broker = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let mut peer = support::scripted::Peer::from(stream);
        peer.expect(0x10);
        peer.send(&[0x20, 0x03, 0x00, 0x00, 0x00]);
        let publish = peer.expect(0x32);
        let id = [publish[5], publish[6]];
        peer.send(&[0x40, 0x02, id[0], id[1]]);
        // The broker goes away, and says why.
        peer.send(&[0xe0, 0x01, 0x8b]);
        peer.packets_within(Duration::from_millis(300))
    });
    let published = tokio::time::timeout(WAIT, mid).await.unwrap().unwrap();
    assert_eq!(published.qos, QoS::AtLeastOnce);
    let mut connected = false;
    loop {
        match tokio::time::timeout(WAIT, events.recv()).await.unwrap() {
            Some(ClientEvent::Connected(c)) => {
                assert!(!c.session_present);
                connected = true;
            }
            Some(ClientEvent::Disconnected { reason, .. }) => {
                assert!(connected);
                assert!(
                    matches!(&reason, DisconnectReason::ByServer(d) if d.reason_code.0 == 0x8b),
                    "{reason:?}"
                );
                break;
            }
            Some(_) => {}
            None => panic!("the events ended"),
        }
    }
    drop(client);
    tokio::task::spawn_blocking(move || broker.join().unwrap())
        .await
        .unwrap();
}

/// UNSUBSCRIBE with MQTT 5.0 properties.
#[tokio::test]
async fn unsubscribe_carries_properties() {
    let script = Scripted::start();
    let options = scripted_options(&script, Version::V5);
    let broker = std::thread::spawn(move || {
        let mut peer = script.accept();
        peer.expect(0x10);
        peer.send(&[0x20, 0x03, 0x00, 0x00, 0x00]);
        let unsubscribe = peer.expect(0xa2);
        let id = [unsubscribe[2], unsubscribe[3]];
        peer.send(&[0xb0, 0x04, id[0], id[1], 0x00, 0x11]);
        unsubscribe
    });
    let (client, _) = Client::spawn(options).await.unwrap();
    let mut properties = UnsubscribeProperties::default();
    properties
        .user_properties
        .push(UserProperty::new("why", "done"));
    let filter = mqtt_tokio::proto::TopicFilter::new("a/b").unwrap();
    let unsubscribed = client
        .unsubscribe_with(vec![filter], properties)
        .await
        .unwrap();
    assert_eq!(unsubscribed.reason_codes[0].0, 0x11);
    let frame = tokio::task::spawn_blocking(move || broker.join().unwrap())
        .await
        .unwrap();
    let user_property = [
        0x26, 0x00, 0x03, b'w', b'h', b'y', 0x00, 0x04, b'd', b'o', b'n', b'e',
    ];
    assert!(
        frame
            .windows(user_property.len())
            .any(|w| w == user_property),
        "{frame:02x?}"
    );
}

/// Dropping the last handle writes what is queued, then DISCONNECT.
#[tokio::test]
async fn dropping_the_client_flushes_queued_packets() {
    let script = Scripted::start();
    let options = scripted_options(&script, Version::V311);
    let broker = std::thread::spawn(move || {
        let mut peer = script.accept();
        peer.expect(0x10);
        peer.send(&CONNACK);
        let mut seen = Vec::new();
        while let Some(packet) = peer.try_packet() {
            seen.push(packet[0]);
        }
        seen
    });
    let (client, _) = Client::spawn(options).await.unwrap();
    for _ in 0..3 {
        client
            .try_publish("t", "last words", QoS::AtMostOnce, false)
            .unwrap();
    }
    drop(client);
    let seen = tokio::task::spawn_blocking(move || broker.join().unwrap())
        .await
        .unwrap();
    assert_eq!(
        seen,
        [0x30, 0x30, 0x30, 0xe0],
        "three PUBLISH, then DISCONNECT"
    );
}

/// PUBLISH (MQTT 5.0) to "t" with `id`, QoS `qos`, a two-byte payload and no properties.
fn publish_t(qos: u8, id: u8, payload: &[u8; 2]) -> Vec<u8> {
    let mut packet = vec![0x30 | (qos << 1), 0x08, 0x00, 0x01, b't', 0x00, id, 0x00];
    packet.extend_from_slice(payload);
    packet
}

/// Manual acknowledgement from callbacks: a callback keeps its message to acknowledge later,
/// refuses one at once, or lets the client acknowledge on return; the acknowledgements leave
/// in the order the messages arrived.
#[tokio::test]
async fn a_callback_keeps_its_message_and_acks_later_or_at_once() {
    use mqtt_tokio::{AckMode, Command, Message, ReasonCode, Received};
    const QUIET: Duration = Duration::from_millis(200);
    let script = Scripted::start();
    let mut options = scripted_options(&script, Version::V5);
    options.session.ack_mode = AckMode::Manual;
    options.reconnect = None;
    let broker = std::thread::spawn(move || {
        let mut peer = script.accept();
        peer.expect(0x10);
        peer.send(&[0x20, 0x03, 0x00, 0x00, 0x00]);
        peer
    });
    let (client, _default, connection) = Client::new(options);
    let (sender, mut kept) = tokio::sync::mpsc::unbounded_channel::<Message>();
    client.on(Command::Publish, move |client: &Client, data: &Received| {
        let payload = data.message.as_ref().map(|m| m.payload.clone());
        match payload.as_deref() {
            Some(b"k1" | b"k3") => {
                let message = client.take_message(data).expect("the callback's message");
                sender.send(message).unwrap();
            }
            Some(b"no") => {
                let mut message = client.take_message(data).expect("the callback's message");
                client.ack(&mut message, ReasonCode(0x80)).unwrap();
                assert!(client.take_message(data).is_none(), "taken once");
            }
            _ => {}
        }
    });
    tokio::spawn(connection.run());
    let mut peer = tokio::task::spawn_blocking(move || broker.join().unwrap())
        .await
        .unwrap();
    let peer = tokio::task::spawn_blocking(move || {
        for (n, (qos, payload)) in [1, 1, 2, 1]
            .into_iter()
            .zip([b"k1", b"no", b"k3", b"ok"])
            .enumerate()
        {
            peer.send(&publish_t(qos, n as u8 + 1, payload));
        }
        peer
    })
    .await
    .unwrap();
    let mut first = tokio::time::timeout(WAIT, kept.recv())
        .await
        .unwrap()
        .unwrap();
    let mut third = tokio::time::timeout(WAIT, kept.recv())
        .await
        .unwrap()
        .unwrap();
    let quiet = |mut peer: support::scripted::Peer| async move {
        tokio::task::spawn_blocking(move || (peer.packets_within(QUIET), peer))
            .await
            .unwrap()
    };
    let (seen, peer) = quiet(peer).await;
    assert_eq!(
        seen,
        Vec::<Vec<u8>>::new(),
        "nothing before the first is acknowledged"
    );
    client.ack(&mut third, ReasonCode::SUCCESS).unwrap();
    let (seen, mut peer) = quiet(peer).await;
    assert_eq!(seen, Vec::<Vec<u8>>::new(), "the third waits for the first");
    client.ack(&mut first, ReasonCode::SUCCESS).unwrap();
    let acks =
        tokio::task::spawn_blocking(move || (0..4).map(|_| peer.packet()).collect::<Vec<_>>())
            .await
            .unwrap();
    assert_eq!(
        acks,
        [
            vec![0x40, 0x02, 0x00, 0x01],
            vec![0x40, 0x03, 0x00, 0x02, 0x80],
            vec![0x50, 0x02, 0x00, 0x03],
            vec![0x40, 0x02, 0x00, 0x04],
        ]
    );
}
