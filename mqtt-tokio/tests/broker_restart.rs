//! The client comes back on its own after the broker restarts, and re-subscribes: with the
//! default options, as resubscription is on by default.
//!
//! A test binary of its own: restarting mosquitto would break tests running beside it, and
//! cargo runs test binaries one after another.

mod support;

use std::time::Duration;

use mqtt_tokio::{Backoff, Client, Options, QoS, Version};
use support::front::{Front, Kind};
use support::{broker, client_id, restart_broker, topic};

#[tokio::test]
async fn the_client_reconnects_and_resubscribes_after_a_broker_restart() {
    for version in [Version::V311, Version::V5] {
        let front = Front::start(Kind::Tcp, broker().tcp(version)).await;
        let mut options = Options::new("127.0.0.1", front.address.port(), client_id("restart"));
        options.set_version(version);
        options.reconnect = Some(Backoff {
            initial: Duration::from_millis(50),
            max: Duration::from_millis(500),
            multiplier: 2.0,
            jitter: true,
        });
        let (client, _) = Client::spawn(options).await.unwrap();
        let topic = topic("restart");
        let mut messages = client.subscription(&topic, QoS::AtLeastOnce).await.unwrap();

        let upstream = tokio::task::spawn_blocking(move || restart_broker(version))
            .await
            .unwrap();
        front.set_upstream(upstream);
        front.cut();

        // Accepted at once, sent when the client is back: after the new SUBSCRIBE.
        let published = tokio::time::timeout(
            Duration::from_secs(15),
            client.publish(&topic, "after the restart", QoS::AtLeastOnce, false),
        )
        .await
        .unwrap_or_else(|_| panic!("{version}: the publish completes once reconnected"))
        .unwrap();
        assert_eq!(published.qos, QoS::AtLeastOnce);
        let message = tokio::time::timeout(Duration::from_secs(10), messages.recv())
            .await
            .unwrap_or_else(|_| panic!("{version}: the re-subscription delivers"))
            .unwrap();
        assert_eq!(message.payload_str(), Some("after the restart"));
        client.disconnect().await.unwrap();
    }
}
