//! TLS and mutual TLS through rustls driven as a sans-IO `ClientConnection`: round trips for
//! both versions, and the failures that must stay failures (an unknown CA, a missing client
//! certificate).

#[path = "../../mqtt-tokio/tests/support/mod.rs"]
mod support;

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{KEEP_ALIVE, WAIT, client};
use mqtt_blocking::{ConnectOptions, Error, QoS, Version, tls};
use support::{broker, client_id, topic};

fn tls_options(
    address: SocketAddr,
    config: std::sync::Arc<mqtt_blocking::rustls::ClientConfig>,
) -> ConnectOptions {
    let mut options = ConnectOptions::port(address.port());
    options.tls = Some(config);
    options.connect_timeout = Duration::from_secs(5);
    options.reconnect = None;
    options
}

/// Connects through `address`, publishes to itself at QoS 1 and receives it back.
fn round_trip(version: Version, address: SocketAddr, options: ConnectOptions, name: &str) {
    let topic = topic(name);
    let client = client(version, &client_id(name));
    client
        .connect(&address.ip().to_string(), KEEP_ALIVE, options)
        .unwrap_or_else(|e| panic!("{version} {name}: connect: {e}"));
    let messages = client.messages();
    let subscribed = client.subscribe(&[(&topic, QoS::AtLeastOnce)]).unwrap();
    client.loop_start(None).unwrap();
    client.wait_for_request(subscribed, WAIT).unwrap();
    // Larger than a TLS record, so the message spans several.
    let payload: Vec<u8> = (0..100_000).map(|i| (i % 251) as u8).collect();
    let mid = client
        .publish(&topic, payload.clone(), QoS::AtLeastOnce, false)
        .unwrap();
    client.wait_for_publish(mid, WAIT).unwrap();
    let message = messages.recv_timeout(WAIT).expect("the message comes back");
    assert!(
        message.payload == payload,
        "{version} {name}: payload intact"
    );
    client.disconnect().unwrap();
}

#[test]
fn tls_with_a_private_ca() {
    for version in [Version::V311, Version::V5] {
        let address = broker().endpoints(version).tls;
        let config = tls::with_ca_pem(&broker().ca, None).unwrap();
        round_trip(version, address, tls_options(address, config), "tls");
    }
}

#[test]
fn mutual_tls_with_a_client_certificate() {
    for version in [Version::V311, Version::V5] {
        let address = broker().endpoints(version).mtls;
        let b = broker();
        let config = tls::with_ca_pem(&b.ca, Some((&b.client_cert, &b.client_key))).unwrap();
        round_trip(version, address, tls_options(address, config), "mtls");
    }
}

#[test]
fn tls_verifies_the_host_name() {
    // The broker's certificate names localhost and 127.0.0.1, not this.
    let address = broker().endpoints(Version::V311).tls;
    let mut options = tls_options(address, tls::with_ca_pem(&broker().ca, None).unwrap());
    options.tls_server_name = Some("broker.invalid".into());
    let client = client(Version::V311, &client_id("tls-name"));
    let error = client
        .connect(&address.ip().to_string(), KEEP_ALIVE, options)
        .expect_err("the name does not match");
    assert!(matches!(error, Error::Tls(_)), "{error:?}");
    // The right name, given explicitly.
    let mut options = tls_options(address, tls::with_ca_pem(&broker().ca, None).unwrap());
    options.tls_server_name = Some("localhost".into());
    client
        .connect(&address.ip().to_string(), KEEP_ALIVE, options)
        .unwrap();
    client.disconnect().unwrap();
}

#[test]
fn an_unknown_ca_is_refused() {
    let address = broker().endpoints(Version::V311).tls;
    let options = tls_options(address, tls::with_ca_pem(&broker().wrong_ca, None).unwrap());
    let error = client(Version::V311, &client_id("tls-wrong-ca"))
        .connect(&address.ip().to_string(), KEEP_ALIVE, options)
        .expect_err("the broker's certificate is not trusted");
    assert!(matches!(error, Error::Tls(_)), "{error:?}");
    assert!(error.to_string().contains("certificate"), "{error}");
}

#[test]
fn mutual_tls_without_a_client_certificate_fails() {
    let address = broker().endpoints(Version::V311).mtls;
    let options = tls_options(address, tls::with_ca_pem(&broker().ca, None).unwrap());
    let error = client(Version::V311, &client_id("mtls-none"))
        .connect(&address.ip().to_string(), KEEP_ALIVE, options)
        .expect_err("the broker wants a client certificate");
    // The broker rejects the handshake with an alert, or closes the connection.
    assert!(
        matches!(error, Error::Tls(_) | Error::Io(_) | Error::Disconnected(_)),
        "{error:?}"
    );
}

#[test]
fn bad_pem_is_a_clear_error() {
    assert!(matches!(
        tls::with_ca_pem(b"not a certificate", None),
        Err(Error::Tls(_))
    ));
    let ca = &broker().ca;
    assert!(matches!(
        tls::with_ca_pem(ca, Some((ca, b"no key here"))),
        Err(Error::Tls(_))
    ));
}
