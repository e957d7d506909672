//! MQTT over TLS 1.3 with embedded-tls (feature `tls`), against mosquitto's TLS listener
//! (`MQTT_TEST_TLS`, certificates signed by `MQTT_TEST_CA`, from `.ci/mosquitto.sh`): QoS 0, 1
//! and 2 round trips with payloads larger than a TCP segment, and a broker whose certificate
//! does not chain to the CA given is refused. Without `MQTT_TEST_TLS` (the embedded rumqttd has
//! no TLS listener) it prints why and passes without running.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use mqtt_embassy::tls::{TlsBuffers, TlsConfig, TlsConnector, Verified};
use mqtt_embassy::{Client, Error, QoS, Version};
use support::{WAIT, client_id, config, receive, run, settings};

fn leak(len: usize) -> &'static mut [u8] {
    Box::leak(vec![0; len].into_boxed_slice())
}

/// The DER of the first certificate in a PEM file.
fn der(pem_path: &str) -> &'static [u8] {
    let pem = std::fs::read_to_string(pem_path).unwrap_or_else(|e| panic!("{pem_path}: {e}"));
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let mut out = Vec::new();
    for chunk in body.trim_end_matches('=').as_bytes().chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= value(*c) << (18 - 6 * i);
        }
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    Box::leak(out.into_boxed_slice())
}

/// A TLS connector to `address`, verifying against the CA in `ca_pem` and the name `name`.
fn connector(
    address: SocketAddr,
    ca_pem: &str,
    name: &'static str,
) -> impl mqtt_embassy::Connect + 'static {
    let buffers = TlsBuffers {
        read_record: leak(16_640),
        write_record: leak(4096),
        incoming: leak(16_640),
    };
    let config = TlsConfig::new().with_server_name(name);
    let provider = Verified::new(rand_core::OsRng, der(ca_pem));
    TlsConnector::new(support::tcp(address), config, provider, buffers)
}

#[test]
fn tls_round_trips_and_an_unknown_ca_or_name_is_refused() {
    let (Ok(address), Ok(ca), Ok(wrong_ca)) = (
        std::env::var("MQTT_TEST_TLS"),
        std::env::var("MQTT_TEST_CA"),
        std::env::var("MQTT_TEST_WRONG_CA"),
    ) else {
        println!(
            "TLS test skipped: no TLS broker (MQTT_TEST_TLS; .ci/run starts mosquitto with one)"
        );
        return;
    };
    let address: SocketAddr = address.parse().unwrap();
    for version in [Version::V311, Version::V5] {
        let (ca, wrong_ca) = (ca.clone(), wrong_ca.clone());
        run(Duration::from_secs(60), async move {
            let mut no_retry = settings();
            no_retry.reconnect = None;
            let (client, _default, connection) = Client::new(
                config(version, &client_id("tls")),
                no_retry.clone(),
                5,
                connector(address, &ca, "localhost"),
            );
            let task = tokio::task::spawn_local(connection.run());
            tokio::time::timeout(WAIT, client.connected())
                .await
                .unwrap()
                .unwrap_or_else(|e| panic!("{version}: {e}"));
            let topic = support::topic("tls");
            let mut streams = Vec::new();
            for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
                let filter = format!("{topic}/{}", qos as u8);
                streams.push(client.subscription(&filter, qos).await.unwrap());
            }
            for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
                client
                    .publish(
                        &format!("{topic}/{}", qos as u8),
                        vec![qos as u8; 5000],
                        qos,
                        false,
                    )
                    .await
                    .unwrap_or_else(|e| panic!("{version} {qos:?}: {e}"));
            }
            for (stream, qos) in streams.iter_mut().zip([0u8, 1, 2]) {
                let got = receive(stream, 1).await;
                assert_eq!(
                    (got[0].qos as u8, got[0].payload.len()),
                    (qos, 5000),
                    "{version}"
                );
            }
            client.disconnect().await.unwrap();
            assert!(task.await.unwrap().is_ok());

            // A broker whose certificate does not chain to the CA given is refused, and so is
            // one whose certificate names another host.
            for (ca, name) in [(&wrong_ca, "localhost"), (&ca, "elsewhere.example")] {
                let (client, _default, connection) = Client::new(
                    config(version, &client_id("tls-wrong")),
                    no_retry.clone(),
                    5,
                    connector(address, ca, name),
                );
                let task = tokio::task::spawn_local(connection.run());
                let error = tokio::time::timeout(WAIT, client.connected())
                    .await
                    .unwrap()
                    .expect_err("the broker is refused");
                assert!(
                    matches!(error, Error::Connect(ref e) if e.contains("Tls")),
                    "{name}: {error}"
                );
                assert!(task.await.unwrap().is_err());
            }
        });
    }
}
