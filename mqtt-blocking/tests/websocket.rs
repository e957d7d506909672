//! MQTT over WebSocket and secure WebSocket (MQTT 5.0 §6) on the mio loop: QoS 0, 1 and 2
//! round trips for MQTT 3.1.1 and 5.0 through the broker's `ws://` and `wss://` endpoints
//! (mosquitto's listeners, or the embedded broker's WebSocket fronts), with a payload that
//! spans several WebSocket messages and TLS records; and, against a scripted WebSocket
//! server, the upgrade request (path, subprotocol `mqtt`, extra headers), a byte stream cut
//! across messages at arbitrary points, a refused upgrade and an untrusted certificate.

// The scripted server's callbacks have tungstenite's signature, with its large error type.
#![allow(clippy::result_large_err)]

#[path = "../../mqtt-tokio/tests/support/mod.rs"]
mod support;

mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::{KEEP_ALIVE, WAIT, client};
use mqtt_blocking::{ConnectOptions, Error, QoS, Version, WebSocketOptions, tls};
use support::{broker, client_id, topic};
use tungstenite::Message as WsMessage;
use tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tungstenite::http::{HeaderValue, StatusCode};

const LEVELS: [QoS; 3] = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce];

/// `ws://host:port/path` or `wss://...`: the host, the options, and whether it is secure.
fn endpoint(url: &str) -> (String, ConnectOptions) {
    let (secure, rest) = match url.strip_prefix("wss://") {
        Some(rest) => (true, rest),
        None => (false, url.strip_prefix("ws://").expect("a ws:// URL")),
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = authority.rsplit_once(':').expect("a port");
    let mut options = ConnectOptions::port(port.parse().expect("a port number"))
        .with_websocket(if path.is_empty() { "/" } else { path });
    if secure {
        options.tls = Some(tls::with_ca_pem(&broker().ca, None).unwrap());
    }
    options.connect_timeout = Duration::from_secs(5);
    options.reconnect = None;
    (host.to_owned(), options)
}

/// Subscribes to one topic per QoS at that QoS, publishes to each and receives every message
/// back on the same connection; then a 100 kB message, larger than a WebSocket message and a
/// TLS record. (mosquitto 2.0's WebSocket listener takes about 2 s to send that one back, to
/// mqtt-tokio's client too.)
fn round_trip(version: Version, url: &str, name: &str) {
    let (host, options) = endpoint(url);
    let client = client(version, &client_id(name));
    client
        .connect(&host, KEEP_ALIVE, options)
        .unwrap_or_else(|e| panic!("{version} {name}: connect: {e}"));
    let topic = topic(name);
    let levels: Vec<(String, QoS)> = LEVELS
        .iter()
        .map(|&qos| (format!("{topic}/{}", qos as u8), qos))
        .collect();
    let messages = client.messages();
    let subscribed = client.subscribe(&levels).unwrap();
    client.loop_start(None).unwrap();
    client.wait_for_request(subscribed, WAIT).unwrap();
    for (topic, qos) in &levels {
        let payload = format!("{version} {name} {qos:?}");
        let mid = client.publish(topic, payload.clone(), *qos, false).unwrap();
        client
            .wait_for_publish(mid, WAIT)
            .unwrap_or_else(|e| panic!("{version} {name} {qos:?}: {e}"));
        let message = messages
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("{version} {name} {qos:?}: no message"));
        assert_eq!(
            (message.topic.as_str(), message.payload_str(), message.qos),
            (topic.as_str(), Some(payload.as_str()), *qos),
            "{version} {name}"
        );
    }
    let payload: Vec<u8> = (0..100_000).map(|i| (i % 251) as u8).collect();
    let mid = client
        .publish(&levels[1].0, payload.clone(), QoS::AtLeastOnce, false)
        .unwrap();
    client.wait_for_publish(mid, WAIT).unwrap();
    let message = messages.recv_timeout(WAIT).expect("the large message");
    assert!(
        message.payload == payload,
        "{version} {name}: payload intact"
    );
    client.disconnect().unwrap();
}

#[test]
fn websocket_round_trips_at_qos_0_1_2() {
    for version in [Version::V311, Version::V5] {
        round_trip(version, &broker().endpoints(version).ws.clone(), "ws");
    }
}

#[test]
fn secure_websocket_round_trips_at_qos_0_1_2() {
    for version in [Version::V311, Version::V5] {
        round_trip(version, &broker().endpoints(version).wss.clone(), "wss");
    }
}

#[test]
fn secure_websocket_with_an_unknown_ca_fails_with_a_tls_error() {
    let (host, mut options) = endpoint(&broker().endpoints(Version::V311).wss.clone());
    options.tls = Some(tls::with_ca_pem(&broker().wrong_ca, None).unwrap());
    let client = client(Version::V311, &client_id("wss-wrong-ca"));
    match client.connect(&host, KEEP_ALIVE, options) {
        Err(Error::Tls(_)) => {}
        other => panic!("expected a TLS error, got {other:?}"),
    }
}

/// One WebSocket connection accepted by hand, with tungstenite's server side on std sockets.
fn scripted_server(
    check: impl FnOnce(&Request, Response) -> Result<Response, ErrorResponse> + Send + 'static,
) -> (u16, std::thread::JoinHandle<Option<Vec<Vec<u8>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let mut ws = tungstenite::accept_hdr(stream, check).ok()?;
        let binary = |ws: &mut tungstenite::WebSocket<_>| loop {
            match ws.read() {
                Ok(WsMessage::Binary(data)) => return Some(data.to_vec()),
                Ok(WsMessage::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        };
        let connect = binary(&mut ws)?;
        // CONNACK in two messages, the second also carrying the start of a PUBLISH
        // (QoS 1, id 1, topic "t", payload "hi"), whose end comes in a third.
        let parts: [&[u8]; 3] = [
            &[0x20, 0x02],
            &[0x00, 0x00, 0x32, 0x07],
            &[0x00, 0x01, b't', 0x00, 0x01, b'h', b'i'],
        ];
        for part in parts {
            ws.send(WsMessage::Binary(part.to_vec().into())).ok()?;
        }
        // Everything else the client sends, until it closes.
        let mut seen = vec![connect];
        seen.extend(std::iter::from_fn(|| binary(&mut ws)));
        Some(seen)
    });
    (port, server)
}

#[test]
fn the_upgrade_carries_the_path_the_subprotocol_and_extra_headers() {
    let (port, server) = scripted_server(|request: &Request, mut response: Response| {
        assert_eq!(request.uri().path(), "/custom/path");
        let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
        assert_eq!(header("Sec-WebSocket-Protocol"), Some("mqtt"));
        assert_eq!(header("Authorization"), Some("Bearer token"));
        assert_eq!(header("X-Client"), Some("blocking"));
        response
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("mqtt"));
        Ok(response)
    });
    let websocket = WebSocketOptions::new("custom/path")
        .with_header("Authorization", "Bearer token")
        .with_header("X-Client", "blocking");
    let mut options = ConnectOptions::port(port).with_websocket(websocket);
    options.reconnect = None;
    let client = mqtt_blocking::Client::new(client_id("ws-script"), true);
    client.connect("127.0.0.1", KEEP_ALIVE, options).unwrap();
    let messages = client.messages();
    client.loop_start(None).unwrap();
    let message = messages
        .recv_timeout(WAIT)
        .expect("the PUBLISH cut across messages");
    assert_eq!(
        (message.topic.as_str(), message.payload_str()),
        ("t", Some("hi"))
    );
    client.disconnect().unwrap();
    let seen = server.join().unwrap().expect("the server saw the exchange");
    assert_eq!(seen[0][0], 0x10, "CONNECT first, in a binary message");
    let rest: Vec<u8> = seen[1..].concat();
    assert_eq!(
        rest,
        [0x40, 0x02, 0x00, 0x01, 0xE0, 0x00],
        "PUBACK, then DISCONNECT"
    );
}

#[test]
fn a_refused_upgrade_is_a_websocket_error() {
    let (port, server) = scripted_server(|_request: &Request, _response: Response| {
        let mut refusal = ErrorResponse::new(Some("no".into()));
        *refusal.status_mut() = StatusCode::UNAUTHORIZED;
        Err(refusal)
    });
    let mut options = ConnectOptions::port(port).with_websocket("/mqtt");
    options.reconnect = None;
    let client = mqtt_blocking::Client::new(client_id("ws-refused"), true);
    match client.connect("127.0.0.1", KEEP_ALIVE, options) {
        Err(Error::WebSocket(why)) => assert!(why.to_string().contains("401"), "{why}"),
        other => panic!("expected a WebSocket error, got {other:?}"),
    }
    assert!(server.join().unwrap().is_none());
}
