//! TLS, mutual TLS, WebSocket and secure WebSocket against a real broker.

mod support;

use std::time::Duration;

use mqtt_tokio::{Client, Error, Options, QoS, TlsOptions, Transport, Version, rustls};
use support::{broker, client_id, topic};

/// Connects, publishes to itself at QoS 1 and disconnects.
async fn round_trip(options: Options) -> Result<(), Error> {
    let (client, _) = Client::spawn(options).await?;
    let topic = topic("transport");
    let mut messages = client.subscription(&topic, QoS::AtLeastOnce).await?;
    client
        .publish(&topic, "over the wire", QoS::AtLeastOnce, false)
        .await?;
    let message = tokio::time::timeout(Duration::from_secs(5), messages.recv())
        .await
        .expect("the message comes back")
        .expect("the stream is open");
    assert_eq!(message.payload_str(), Some("over the wire"));
    client.disconnect().await
}

fn tls_options(version: Version, host: &str, tls: TlsOptions, mutual: bool) -> Options {
    let endpoints = broker().endpoints(version);
    let address = if mutual {
        endpoints.mtls
    } else {
        endpoints.tls
    };
    let mut options = Options::new(host, address.port(), client_id("tls"));
    options.transport = Transport::Tls;
    options.tls = Some(tls);
    options.set_version(version);
    options.reconnect = None;
    options.connect_timeout = Duration::from_secs(5);
    options
}

fn trusted() -> TlsOptions {
    TlsOptions::with_ca_pem(&broker().ca).expect("the test CA parses")
}

#[tokio::test]
async fn tls_with_the_right_ca_by_name_and_by_ip_address() {
    for version in [Version::V311, Version::V5] {
        for host in ["localhost", "127.0.0.1"] {
            round_trip(tls_options(version, host, trusted(), false))
                .await
                .unwrap_or_else(|e| panic!("{version} via {host}: {e}"));
        }
    }
}

#[tokio::test]
async fn tls_with_a_wrong_ca_is_rejected() {
    let wrong = TlsOptions::with_ca_pem(&broker().wrong_ca).unwrap();
    let error = Client::connect(tls_options(Version::V5, "localhost", wrong, false))
        .await
        .expect_err("an unknown issuer must not be trusted");
    assert!(
        matches!(
            rustls_error(&error),
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            ))
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("TLS handshake with"), "{error}");
}

/// The rustls error behind a TLS failure: the typed source.
fn rustls_error(error: &Error) -> Option<&rustls::Error> {
    use std::error::Error as _;
    assert!(matches!(error, Error::Tls(_)), "{error:?}");
    error.source()?.downcast_ref::<rustls::Error>()
}

/// Plain MQTT to a TLS port, and TLS to a plain port: the errors say which.
#[tokio::test]
async fn the_wrong_transport_for_a_port_says_so() {
    let b = broker();
    let address = b.tcp(Version::V5);
    let mut options = Options::new(address.ip().to_string(), address.port(), "tls-to-plain");
    options.transport = Transport::Tls;
    options.tls = Some(trusted());
    options.reconnect = None;
    let error = Client::connect(options)
        .await
        .expect_err("a plain port does not speak TLS");
    assert!(error.to_string().contains("plain MQTT port"), "{error}");

    // And plain MQTT to a TLS port: the broker hangs up on the CONNECT it can't read.
    let tls = b.endpoints(Version::V5).tls;
    let mut options = Options::new(tls.ip().to_string(), tls.port(), "plain-to-tls");
    options.reconnect = None;
    let error = Client::connect(options)
        .await
        .expect_err("a TLS port does not speak plain MQTT");
    // mosquitto resets the connection; a TLS terminator answers with an alert.
    let text = error.to_string();
    assert!(
        text.contains("expects TLS on this port") || text.contains("answered in TLS"),
        "{error}"
    );
}

#[tokio::test]
async fn tls_with_a_wrong_host_name_is_rejected() {
    let tls = trusted().with_server_name("not-the-broker.example");
    let error = Client::connect(tls_options(Version::V5, "127.0.0.1", tls, false))
        .await
        .expect_err("a certificate for another name must be refused");
    assert!(
        matches!(
            rustls_error(&error),
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                    | rustls::CertificateError::NotValidForNameContext { .. }
            ))
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn opting_out_of_verification_connects_to_an_untrusted_broker() {
    round_trip(tls_options(
        Version::V311,
        "localhost",
        TlsOptions::danger_accept_invalid_certs(),
        false,
    ))
    .await
    .unwrap();
}

#[tokio::test]
async fn mutual_tls_with_a_client_certificate() {
    let b = broker();
    let tls = trusted()
        .with_client_cert_pem(&b.client_cert, &b.client_key)
        .unwrap();
    for version in [Version::V311, Version::V5] {
        round_trip(tls_options(version, "localhost", tls.clone(), true))
            .await
            .unwrap_or_else(|e| panic!("{version}: {e}"));
    }
}

#[tokio::test]
async fn mutual_tls_without_a_client_certificate_fails() {
    let result = Client::connect(tls_options(Version::V311, "localhost", trusted(), true)).await;
    assert!(result.is_err(), "the broker requires a client certificate");
}

#[tokio::test]
async fn websocket_and_secure_websocket() {
    for version in [Version::V311, Version::V5] {
        let endpoints = broker().endpoints(version).clone();
        let mut ws = Options::from_url(&endpoints.ws, client_id("ws")).unwrap();
        ws.set_version(version);
        round_trip(ws)
            .await
            .unwrap_or_else(|e| panic!("{version} ws: {e}"));

        let mut wss = Options::from_url(&endpoints.wss, client_id("wss")).unwrap();
        wss.set_version(version);
        wss.tls = Some(trusted());
        assert_eq!(wss.transport, Transport::SecureWebSocket);
        round_trip(wss)
            .await
            .unwrap_or_else(|e| panic!("{version} wss: {e}"));
    }
}

/// A transport of the application's own: the client reaches the broker over a Unix socket
/// (relayed to the broker's TCP port by the test), opened by the connector for the server
/// the client wants.
#[cfg(unix)]
#[tokio::test]
async fn a_custom_connector_carries_the_connection() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let dir = std::env::temp_dir().join(client_id("unix-socket"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mqtt.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let upstream = broker().tcp(Version::V311);
    let relay = tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut broker = tokio::net::TcpStream::connect(upstream).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut broker).await;
            });
        }
    });
    let opened = Arc::new(AtomicUsize::new(0));
    let mut options = Options::new("unix-socket", 1883, client_id("custom"));
    options.set_version(Version::V311);
    let (count, socket) = (opened.clone(), path.clone());
    options.set_connector(move |server| {
        assert_eq!(server.host, "unix-socket", "the server the client wants");
        count.fetch_add(1, Ordering::Relaxed);
        let socket = socket.clone();
        async move {
            let stream = tokio::net::UnixStream::connect(socket).await?;
            Ok(mqtt_tokio::stream(stream))
        }
    });
    round_trip(options).await.unwrap();
    assert_eq!(opened.load(Ordering::Relaxed), 1);
    relay.abort();
    let _ = std::fs::remove_dir_all(&dir);
}
