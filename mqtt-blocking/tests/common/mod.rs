//! Helpers shared by the integration tests: blocking clients connected to the test broker of
//! `mqtt-tokio/tests/support` (mosquitto from the `MQTT_TEST_*` variables, or the embedded
//! rumqttd with its TLS fronts).
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use mqtt_blocking::{Client, Config, ConnectOptions, Messages, QoS, Version};

use crate::support::broker;

/// How long the tests wait for anything the broker should do promptly.
pub const WAIT: Duration = Duration::from_secs(10);

/// Keep alive for test connections.
pub const KEEP_ALIVE: Duration = Duration::from_secs(30);

/// A client for `version`: the seed's constructor for MQTT 3.1.1, a `Config` for MQTT 5.0.
pub fn client(version: Version, id: &str) -> Client {
    match version {
        Version::V311 => Client::new(id, true),
        _ => Client::with_config(Config::new(id, version)),
    }
}

/// Options for the broker's plain TCP port for `version`.
pub fn options(version: Version) -> ConnectOptions {
    let mut options = ConnectOptions::port(broker().tcp(version).port());
    options.connect_timeout = Duration::from_secs(5);
    options
}

/// A client connected over plain TCP, no loop yet.
pub fn connected(version: Version, id: &str) -> Client {
    let client = client(version, id);
    client
        .connect(&host(version), KEEP_ALIVE, options(version))
        .unwrap_or_else(|e| panic!("{version}: connect {id}: {e}"));
    client
}

pub fn host(version: Version) -> String {
    broker().tcp(version).ip().to_string()
}

/// A connected client with a running loop, subscribed to `filters` (SUBACK received), and the
/// receiver of its messages.
pub fn subscriber<T: AsRef<str>>(
    version: Version,
    id: &str,
    filters: &[(T, QoS)],
) -> (Client, Messages) {
    let client = connected(version, id);
    let messages = client.messages();
    let request = client.subscribe(filters).unwrap();
    client.loop_start(None).unwrap();
    let codes = client.wait_for_request(request, WAIT).unwrap();
    assert!(
        codes.iter().all(|c| !c.is_error()),
        "{version}: subscription refused: {codes:?}"
    );
    (client, messages)
}
