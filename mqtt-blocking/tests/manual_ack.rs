//! Manual acknowledgement against a scripted broker, byte for byte: the application
//! acknowledges out of order, from the message receiver and from callbacks (which take their
//! message with `take_message`), and the acknowledgements leave in the order the messages
//! arrived, each once its predecessors are acknowledged.

#[path = "../../mqtt-tokio/tests/support/mod.rs"]
mod support;

mod common;

use std::sync::{Mutex, mpsc};
use std::time::Duration;

use common::{KEEP_ALIVE, WAIT};
use mqtt_blocking::{
    AckMode, Client, Command, Config, ConnectOptions, Message, ReasonCode, Received, Version,
};
use support::client_id;
use support::scripted::{Peer, Scripted};

/// How long the broker listens for acknowledgements that must not come yet.
const QUIET: Duration = Duration::from_millis(200);

/// PUBLISH (MQTT 5.0) to "t" with `id`, QoS `qos`, a two-byte payload and no properties.
fn publish(qos: u8, id: u8, payload: &[u8; 2]) -> Vec<u8> {
    vec![
        0x30 | (qos << 1),
        0x08,
        0x00,
        0x01,
        b't',
        0x00,
        id,
        0x00,
        payload[0],
        payload[1],
    ]
}

/// A manually acknowledging MQTT 5.0 client connected to a scripted broker, with `setup`
/// applied before it connects, and the broker's side.
fn connected(name: &str, setup: impl FnOnce(&Client)) -> (Client, Peer) {
    let script = Scripted::start();
    let port = script.address.port();
    let broker = std::thread::spawn(move || {
        let mut peer = script.accept();
        peer.expect(0x10);
        peer.send(&[0x20, 0x03, 0x00, 0x00, 0x00]);
        peer
    });
    let mut config = Config::new(client_id(name), Version::V5);
    config.ack_mode = AckMode::Manual;
    let client = Client::with_config(config);
    setup(&client);
    let mut options = ConnectOptions::port(port);
    options.reconnect = None;
    client.connect("127.0.0.1", KEEP_ALIVE, options).unwrap();
    (client, broker.join().unwrap())
}

/// Four messages, QoS 1, 1, 2, 1, with ids 1 to 4 and the payloads given.
fn send_four(peer: &mut Peer, payloads: [&[u8; 2]; 4]) {
    for (n, (qos, payload)) in [1, 1, 2, 1].into_iter().zip(payloads).enumerate() {
        peer.send(&publish(qos, n as u8 + 1, payload));
    }
}

#[test]
fn acks_from_the_receiver_leave_in_arrival_order() {
    let (client, mut peer) = connected("ack-receiver", |_| {});
    let messages = client.messages();
    client.loop_start(None).unwrap();
    send_four(&mut peer, [b"m1", b"m2", b"m3", b"m4"]);
    let mut got: Vec<Message> = (0..4)
        .map(|_| messages.recv_timeout(WAIT).expect("a message"))
        .collect();
    assert!(got.iter().all(Message::needs_ack));
    assert_eq!(peer.packets_within(QUIET), Vec::<Vec<u8>>::new());

    // 4 and 2 (refused, 0x80) first: nothing leaves while 1 is unacknowledged.
    client.ack(&mut got[3], ReasonCode::SUCCESS).unwrap();
    client.ack(&mut got[1], ReasonCode(0x80)).unwrap();
    assert_eq!(peer.packets_within(QUIET), Vec::<Vec<u8>>::new());
    // 1: its PUBACK and 2's; 3 holds back 4.
    client.ack(&mut got[0], ReasonCode::SUCCESS).unwrap();
    assert_eq!(peer.packet(), [0x40, 0x02, 0x00, 0x01]);
    assert_eq!(peer.packet(), [0x40, 0x03, 0x00, 0x02, 0x80]);
    assert_eq!(peer.packets_within(QUIET), Vec::<Vec<u8>>::new());
    // 3: PUBREC 3, then PUBACK 4.
    client.ack(&mut got[2], ReasonCode::SUCCESS).unwrap();
    assert_eq!(peer.packet(), [0x50, 0x02, 0x00, 0x03]);
    assert_eq!(peer.packet(), [0x40, 0x02, 0x00, 0x04]);
    // A token is used once.
    client.ack(&mut got[0], ReasonCode::SUCCESS).unwrap();
    assert_eq!(peer.packets_within(QUIET), Vec::<Vec<u8>>::new());
    drop(client);
    assert_eq!(peer.expect(0xE0), [0xE0, 0x00]);
}

#[test]
fn a_callback_keeps_its_message_and_acks_later_or_at_once() {
    let (sender, kept) = mpsc::channel::<Message>();
    let sender = Mutex::new(sender);
    let (client, mut peer) = connected("ack-callback", move |client| {
        client.on(Command::Publish, move |client: &Client, data: &Received| {
            let payload = data.message.as_ref().map(|m| m.payload.clone());
            match payload.as_deref() {
                // Kept, to be acknowledged later from another thread.
                Some(b"k1" | b"k3") => {
                    let message = client.take_message(data).expect("the callback's message");
                    sender.lock().unwrap().send(message).unwrap();
                }
                // Refused at once, from the callback.
                Some(b"no") => {
                    let mut message = client.take_message(data).expect("the callback's message");
                    client.ack(&mut message, ReasonCode(0x80)).unwrap();
                    assert_eq!(client.take_message(data), None, "taken once");
                }
                // Acknowledged when the callback returns.
                _ => {}
            }
        });
    });
    client.loop_start(None).unwrap();
    send_four(&mut peer, [b"k1", b"no", b"k3", b"ok"]);
    let mut first = kept.recv_timeout(WAIT).expect("k1 kept");
    let mut third = kept.recv_timeout(WAIT).expect("k3 kept");
    assert_eq!(peer.packets_within(QUIET), Vec::<Vec<u8>>::new());
    client.ack(&mut third, ReasonCode::SUCCESS).unwrap();
    assert_eq!(peer.packets_within(QUIET), Vec::<Vec<u8>>::new());
    client.ack(&mut first, ReasonCode::SUCCESS).unwrap();
    assert_eq!(peer.packet(), [0x40, 0x02, 0x00, 0x01]);
    assert_eq!(peer.packet(), [0x40, 0x03, 0x00, 0x02, 0x80]);
    assert_eq!(peer.packet(), [0x50, 0x02, 0x00, 0x03]);
    assert_eq!(peer.packet(), [0x40, 0x02, 0x00, 0x04]);
    client.disconnect().unwrap();
}
