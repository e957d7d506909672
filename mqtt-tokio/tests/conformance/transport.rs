//! Conformance, MQTT 3.1.1 §6 and §7.1.2 and MQTT 5.0 §4.2 and §6: the network connection and
//! MQTT over WebSocket, on real sockets.
//!
//! One test per client-binding normative statement, named after its id; see `CONFORMANCE.md` at
//! the repository root. The WebSocket tests run against a scripted broker written here with
//! mqtt-proto and tokio-tungstenite, so they can send what a real broker would not; the byte
//! stream tests against the test suite's real broker.

#[path = "../support/mod.rs"]
mod support;

use std::time::Duration;

use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use mqtt_tokio::proto::{ConnAck, Decoder, Packet, PubAck, Publish, TopicName};
use mqtt_tokio::{Client, Options, QoS, Transport, Version};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;

const WAIT: Duration = Duration::from_secs(5);

/// The scripted broker's side of one WebSocket connection.
struct WsPeer {
    ws: WebSocketStream<TcpStream>,
    version: Version,
    decoder: Decoder,
    buffer: BytesMut,
    /// The subprotocols the client offered.
    offered: Vec<String>,
}

impl WsPeer {
    /// Accepts one WebSocket connection, recording the offered subprotocols and agreeing to
    /// `mqtt`.
    async fn accept(listener: &TcpListener, version: Version) -> WsPeer {
        let (stream, _) = listener.accept().await.expect("a connection");
        let mut offered = Vec::new();
        #[allow(clippy::result_large_err)] // tungstenite's callback signature
        let answer = |request: &Request, mut response: Response| {
            offered = request
                .headers()
                .get_all("Sec-WebSocket-Protocol")
                .iter()
                .flat_map(|v| v.to_str().unwrap_or_default().split(','))
                .map(|p| p.trim().to_string())
                .collect();
            response
                .headers_mut()
                .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("mqtt"));
            Ok(response)
        };
        let ws = tokio_tungstenite::accept_hdr_async(stream, answer)
            .await
            .expect("the WebSocket handshake");
        WsPeer {
            ws,
            version,
            decoder: Decoder::new(version),
            buffer: BytesMut::new(),
            offered,
        }
    }

    /// The next packet from the client; every data message must be binary.
    async fn packet(&mut self) -> Packet {
        loop {
            if let Some(packet) = self.decoder.decode(&mut self.buffer).expect("valid MQTT") {
                return packet;
            }
            match tokio::time::timeout(WAIT, self.ws.next()).await {
                Ok(Some(Ok(WsMessage::Binary(data)))) => self.buffer.extend_from_slice(&data),
                Ok(Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_)))) => {}
                other => panic!("expected a binary message from the client, got {other:?}"),
            }
        }
    }

    fn encode(&self, packet: impl Into<Packet>) -> Vec<u8> {
        let mut bytes = Vec::new();
        packet.into().encode(self.version, &mut bytes).unwrap();
        bytes
    }

    async fn send(&mut self, bytes: Vec<u8>) {
        self.ws.send(WsMessage::Binary(bytes.into())).await.unwrap();
    }

    /// Waits for the client to end the connection: a close frame, the end of the stream or an
    /// error, with no MQTT data before it other than DISCONNECT.
    async fn closed_by_client(&mut self) {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next()).await {
                Err(_) => panic!("the client kept the connection open"),
                Ok(None | Some(Err(_)) | Some(Ok(WsMessage::Close(_)))) => return,
                Ok(Some(Ok(WsMessage::Binary(data)))) => {
                    self.buffer.extend_from_slice(&data);
                    while let Some(p) = self.decoder.decode(&mut self.buffer).unwrap() {
                        assert!(matches!(p, Packet::Disconnect(_)), "{p:?}");
                    }
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }
}

fn ws_options(port: u16, version: Version) -> Options {
    let mut options = Options::new("127.0.0.1", port, "ws-conformance");
    options.transport = Transport::WebSocket;
    options.set_version(version);
    options.reconnect = None;
    options.connect_timeout = WAIT;
    options
}

fn publish(topic: &str, payload: &'static str) -> Publish {
    Publish::new(TopicName::new(topic).unwrap(), payload)
}

/// The client connects over WebSocket to the scripted broker, which runs `script`; returns
/// what the connection task ended with.
async fn over_websocket<F, Fut>(version: Version, client_side: F, script: impl AsyncFnOnce(WsPeer))
where
    F: FnOnce(Client, mqtt_tokio::Connection) -> Fut,
    Fut: Future<Output = ()>,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let broker = async move {
        let peer = WsPeer::accept(&listener, version).await;
        script(peer).await;
    };
    let client = async move {
        let (client, _, connection) = Client::connect(ws_options(port, version))
            .await
            .expect("connected over WebSocket");
        client_side(client, connection).await;
    };
    tokio::time::timeout(Duration::from_secs(20), async {
        tokio::join!(broker, client)
    })
    .await
    .expect("the scenario finishes");
}

/// Answers CONNECT with a CONNACK cut across two WebSocket messages.
async fn handshake_split(peer: &mut WsPeer) {
    assert!(matches!(peer.packet().await, Packet::Connect(_)));
    let connack = peer.encode(ConnAck::default());
    let (a, b) = connack.split_at(1);
    peer.send(a.to_vec()).await;
    peer.send(b.to_vec()).await;
}

/// MQTT travels in binary messages; a text message from the broker ends the connection.
async fn binary_only(version: Version) {
    over_websocket(
        version,
        |client, connection| async move {
            let result = connection.run().await;
            assert!(result.is_err(), "the connection ended in error: {result:?}");
            drop(client);
        },
        async |mut peer: WsPeer| {
            handshake_split(&mut peer).await;
            // The client's own data so far was binary (checked by `packet`). Now a text
            // message, which must close the connection.
            peer.ws.send(WsMessage::text("not MQTT")).await.unwrap();
            peer.closed_by_client().await;
        },
    )
    .await;
}

/// Packets cut across messages, several in one message, and a message holding the end of one
/// packet and the start of the next, all read as the byte stream they are.
async fn packets_across_messages(version: Version) {
    over_websocket(
        version,
        |client, connection| async move {
            let task = tokio::spawn(connection.run());
            let mut messages = client.messages();
            let mut got = Vec::new();
            for _ in 0..4 {
                let m = tokio::time::timeout(WAIT, messages.recv())
                    .await
                    .unwrap()
                    .unwrap();
                got.push(m.payload_str().unwrap().to_string());
            }
            assert_eq!(got, ["one", "two", "three", "four"]);
            client.disconnect().await.unwrap();
            task.await.unwrap().unwrap();
        },
        async |mut peer: WsPeer| {
            handshake_split(&mut peer).await;
            // Give the client time to ask for its message stream.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let mut stream = Vec::new();
            for (i, payload) in ["one", "two", "three", "four"].into_iter().enumerate() {
                stream.extend(peer.encode(publish(&format!("t/{i}"), payload)));
            }
            // Two and a half packets, then the rest one byte at a time, then nothing.
            let cut = stream.len() / 2 + 3;
            let (head, tail) = stream.split_at(cut);
            peer.send(head.to_vec()).await;
            for byte in tail {
                peer.send(vec![*byte]).await;
            }
            // And the client's own packets may come in any framing: read DISCONNECT.
            assert!(matches!(peer.packet().await, Packet::Disconnect(_)));
        },
    )
    .await;
}

/// The client asks for subprotocol `mqtt`.
async fn offers_mqtt_subprotocol(version: Version) {
    over_websocket(
        version,
        |client, connection| async move {
            let task = tokio::spawn(connection.run());
            client.disconnect().await.unwrap();
            task.await.unwrap().unwrap();
        },
        async |mut peer: WsPeer| {
            assert_eq!(peer.offered, ["mqtt"]);
            handshake_split(&mut peer).await;
            assert!(matches!(peer.packet().await, Packet::Disconnect(_)));
        },
    )
    .await;
}

/// Over the byte stream the transport gives (TCP to the test broker), 200 messages at each QoS
/// arrive complete and in order, with nothing MQTT needs beyond the standard.
async fn ordered_lossless_stream(version: Version) {
    let broker = support::broker();
    let options = broker.options(version, &support::client_id("stream"));
    let (client, _) = Client::spawn(options)
        .await
        .expect("connects to the broker");
    let topic = support::topic("stream");
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let mut messages = client.subscription(&topic, qos).await.unwrap();
        for i in 0..200 {
            // The acknowledgements are not awaited: the order of arrival is the point.
            let _pending = client
                .start_publish(&topic, format!("{i}"), qos, false)
                .await
                .unwrap();
        }
        for i in 0..200 {
            let m = tokio::time::timeout(WAIT, messages.recv())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(m.payload_str(), Some(format!("{i}").as_str()), "{qos:?}");
        }
        client.unsubscribe(&[&topic]).await.unwrap();
    }
    client.disconnect().await.unwrap();
}

/// Over TCP to a scripted broker: after DISCONNECT the client sends nothing more and closes the
/// socket (the broker reads end of stream).
async fn disconnect_then_close(version: Version) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let broker = async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let decoder = Decoder::new(version);
        let mut buffer = BytesMut::new();
        let mut packets = Vec::new();
        loop {
            while let Some(p) = decoder.decode(&mut buffer).expect("valid MQTT") {
                let answer = match &p {
                    Packet::Connect(_) => Some(Packet::from(ConnAck::default())),
                    Packet::Publish(p) => p.packet_id.map(|id| PubAck::new(id).into()),
                    _ => None,
                };
                if let Some(answer) = answer {
                    let mut bytes = Vec::new();
                    answer.encode(version, &mut bytes).unwrap();
                    stream.write_all(&bytes).await.unwrap();
                }
                packets.push(p);
            }
            let read = tokio::time::timeout(WAIT, stream.read_buf(&mut buffer)).await;
            match read.unwrap_or_else(|_| panic!("the client closes the connection: {packets:?}")) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert!(buffer.is_empty(), "half a packet before the end");
        let last = packets
            .iter()
            .rposition(|p| matches!(p, Packet::Disconnect(_)));
        assert_eq!(
            last,
            Some(packets.len() - 1),
            "DISCONNECT comes last: {packets:?}"
        );
    };
    let client = async move {
        let mut options = Options::new("127.0.0.1", port, "disconnect-conformance");
        options.set_version(version);
        options.reconnect = None;
        let (client, _, connection) = Client::connect(options).await.unwrap();
        let task = tokio::spawn(connection.run());
        for i in 0..5 {
            let _pending = client
                .start_publish("t", format!("{i}"), QoS::AtLeastOnce, false)
                .await
                .unwrap();
        }
        client.disconnect().await.unwrap();
        task.await.unwrap().unwrap();
    };
    tokio::time::timeout(Duration::from_secs(20), async {
        tokio::join!(broker, client)
    })
    .await
    .expect("the scenario finishes");
}

// ---- MQTT 3.1.1 -----------------------------------------------------------------------------

/// After DISCONNECT the client closes the network connection.
#[tokio::test]
async fn mqtt_311_3_14_4_1_closes_after_disconnect() {
    disconnect_then_close(Version::V311).await;
}

/// After DISCONNECT the client sends nothing more.
#[tokio::test]
async fn mqtt_311_3_14_4_2_nothing_after_disconnect() {
    disconnect_then_close(Version::V311).await;
}

/// Binary messages only; a text message from the broker closes the connection.
#[tokio::test]
async fn mqtt_311_6_0_0_1_websocket_binary_only() {
    binary_only(Version::V311).await;
}

/// Packets need not line up with WebSocket messages.
#[tokio::test]
async fn mqtt_311_6_0_0_2_websocket_packets_across_messages() {
    packets_across_messages(Version::V311).await;
}

/// The client offers subprotocol `mqtt`.
#[tokio::test]
async fn mqtt_311_6_0_0_3_websocket_offers_mqtt() {
    offers_mqtt_subprotocol(Version::V311).await;
}

/// A stock broker (mosquitto in CI, rumqttd otherwise) with its default configuration is all
/// the client needs.
#[tokio::test]
async fn mqtt_311_7_0_0_2_no_extensions_needed() {
    ordered_lossless_stream(Version::V311).await;
}

/// The client runs over an ordered, lossless byte stream: TCP.
#[tokio::test]
async fn mqtt_311_7_1_2_1_ordered_lossless_stream() {
    ordered_lossless_stream(Version::V311).await;
}

// ---- MQTT 5.0 -------------------------------------------------------------------------------

/// After DISCONNECT the client sends nothing more.
#[tokio::test]
async fn mqtt_5_3_14_4_1_nothing_after_disconnect() {
    disconnect_then_close(Version::V5).await;
}

/// After DISCONNECT the client closes the network connection.
#[tokio::test]
async fn mqtt_5_3_14_4_2_closes_after_disconnect() {
    disconnect_then_close(Version::V5).await;
}

/// The client runs over an ordered, lossless byte stream: TCP.
#[tokio::test]
async fn mqtt_5_4_2_0_1_ordered_lossless_stream() {
    ordered_lossless_stream(Version::V5).await;
}

/// Binary messages only; a text message from the broker closes the connection.
#[tokio::test]
async fn mqtt_5_6_0_0_1_websocket_binary_only() {
    binary_only(Version::V5).await;
}

/// Packets need not line up with WebSocket messages.
#[tokio::test]
async fn mqtt_5_6_0_0_2_websocket_packets_across_messages() {
    packets_across_messages(Version::V5).await;
}

/// The client offers subprotocol `mqtt`.
#[tokio::test]
async fn mqtt_5_6_0_0_3_websocket_offers_mqtt() {
    offers_mqtt_subprotocol(Version::V5).await;
}
