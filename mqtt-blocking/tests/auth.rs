//! MQTT 5.0 enhanced authentication against a scripted broker, byte for byte: a two-step AUTH
//! exchange at connect answered by the `on_auth` handler, a re-authentication the client
//! starts with `auth`, and the seed's callbacks for AUTH and DISCONNECT packets.

#[path = "../../mqtt-tokio/tests/support/mod.rs"]
mod support;

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use common::{KEEP_ALIVE, WAIT};
use mqtt_blocking::proto::{Auth, AuthProperties, Decoder, Packet, ReasonCode};
use mqtt_blocking::session::UsageError;
use mqtt_blocking::{Client, Command, Config, ConnectOptions, Error, Received, Version};
use support::client_id;
use support::scripted::Scripted;

/// AUTH (MQTT 5.0 §3.15) with `code`, Authentication Method "M" and, when given, two bytes of
/// Authentication Data.
fn auth_bytes(code: u8, data: Option<&[u8; 2]>) -> Vec<u8> {
    let mut properties = vec![0x15, 0x00, 0x01, b'M'];
    if let Some(data) = data {
        properties.extend_from_slice(&[0x16, 0x00, 0x02, data[0], data[1]]);
    }
    let mut packet = vec![
        0xF0,
        (2 + properties.len()) as u8,
        code,
        properties.len() as u8,
    ];
    packet.extend_from_slice(&properties);
    packet
}

fn auth(code: ReasonCode, data: &'static [u8]) -> Auth {
    Auth {
        reason_code: code,
        properties: AuthProperties {
            authentication_data: Some(Bytes::from_static(data)),
            ..Default::default()
        },
    }
}

#[test]
fn a_two_step_exchange_at_connect_then_a_reauthentication() {
    let script = Scripted::start();
    let port = script.address.port();
    let broker = std::thread::spawn(move || {
        let mut peer = script.accept();
        let connect = peer.expect(0x10);
        peer.send(&auth_bytes(0x18, Some(b"s1")));
        let answer = peer.packet();
        // CONNACK, success, with the Authentication Method.
        peer.send(&[0x20, 0x07, 0x00, 0x00, 0x04, 0x15, 0x00, 0x01, b'M']);
        (peer, connect, answer)
    });

    let mut config = Config::new(client_id("auth"), Version::V5);
    config.connect_properties.authentication_method = Some("M".into());
    config.connect_properties.authentication_data = Some(Bytes::from_static(b"c1"));
    let client = Client::with_config(config);
    // The handler: what the broker sent, and the answers "c2", then "c3".
    let challenges = Arc::new(Mutex::new(Vec::new()));
    let log = challenges.clone();
    let mut answers = [&b"c2"[..], b"c3"].into_iter();
    client.on_auth(move |challenge: &Auth| {
        let data = challenge.properties.authentication_data.clone();
        log.lock().unwrap().push((challenge.reason_code, data));
        if challenge.reason_code != ReasonCode::CONTINUE_AUTHENTICATION {
            return None;
        }
        Some(auth(ReasonCode::CONTINUE_AUTHENTICATION, answers.next()?))
    });
    // The seed's callbacks for AUTH and DISCONNECT packets.
    let packets = Arc::new(Mutex::new(Vec::new()));
    for command in [Command::Auth, Command::Disconnect] {
        let log = packets.clone();
        client.on(command, move |_client: &Client, data: &Received| {
            log.lock()
                .unwrap()
                .push((data.command, data.reason_codes.clone()));
        });
    }
    let mut options = ConnectOptions::port(port);
    options.reconnect = None;
    client.connect("127.0.0.1", KEEP_ALIVE, options).unwrap();
    let (mut peer, connect, answer) = broker.join().unwrap();

    let decoded = Decoder::new(Version::V5)
        .decode(&mut BytesMut::from(&connect[..]))
        .unwrap();
    let Some(Packet::Connect(connect)) = decoded else {
        panic!("{decoded:?}");
    };
    assert_eq!(
        connect.properties.authentication_method.as_deref(),
        Some("M")
    );
    assert_eq!(
        connect.properties.authentication_data.as_deref(),
        Some(&b"c1"[..])
    );
    // The handler's answer, with the method filled in (MQTT-4.12.0-5).
    assert_eq!(answer, auth_bytes(0x18, Some(b"c2")));

    // Re-authentication, started by the client once connected (MQTT 5.0 §4.12.1).
    client.loop_start(None).unwrap();
    client
        .auth(auth(ReasonCode::REAUTHENTICATE, b"r1"))
        .unwrap();
    assert_eq!(peer.packet(), auth_bytes(0x19, Some(b"r1")));
    peer.send(&auth_bytes(0x18, Some(b"s2")));
    assert_eq!(peer.packet(), auth_bytes(0x18, Some(b"c3")));
    peer.send(&auth_bytes(0x00, None));
    // Still connected: the broker ends it with DISCONNECT, Session taken over.
    assert!(peer.packets_within(Duration::from_millis(200)).is_empty());
    assert!(client.is_connected());
    peer.send(&[0xE0, 0x02, 0x8E, 0x00]);

    let deadline = Instant::now() + WAIT;
    while packets.lock().unwrap().len() < 4 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        *packets.lock().unwrap(),
        [
            (Command::Auth, vec![ReasonCode(0x18)]),
            (Command::Auth, vec![ReasonCode(0x18)]),
            (Command::Auth, vec![ReasonCode(0x00)]),
            (Command::Disconnect, vec![ReasonCode(0x8E)]),
        ]
    );
    assert_eq!(
        *challenges.lock().unwrap(),
        [
            (ReasonCode(0x18), Some(Bytes::from_static(b"s1"))),
            (ReasonCode(0x18), Some(Bytes::from_static(b"s2"))),
            (ReasonCode(0x00), None),
        ]
    );
}

#[test]
fn auth_needs_mqtt5_and_an_authentication_method() {
    let seed = Client::new(client_id("auth-v311"), true);
    assert!(matches!(
        seed.auth(auth(ReasonCode::REAUTHENTICATE, b"x")),
        Err(Error::Usage(UsageError::NoAuthenticationMethod))
    ));
    let mut config = Config::new(client_id("auth-offline"), Version::V5);
    config.connect_properties.authentication_method = Some("M".into());
    let offline = Client::with_config(config);
    assert!(matches!(
        offline.auth(auth(ReasonCode::REAUTHENTICATE, b"x")),
        Err(Error::Usage(UsageError::NotConnected))
    ));
}
