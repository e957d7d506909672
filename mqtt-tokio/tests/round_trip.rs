//! Publish and subscribe through a real broker, at every QoS, in both protocol versions.

mod support;

use std::time::Duration;

use mqtt_tokio::{Client, QoS, Version};
use support::{broker, client_id, topic};

const VERSIONS: [Version; 2] = [Version::V311, Version::V5];
const ALL_QOS: [QoS; 3] = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce];

#[tokio::test]
async fn publish_and_receive_at_every_qos_in_both_versions() {
    for version in VERSIONS {
        let (client, _) = Client::spawn(broker().options(version, &client_id("round-trip")))
            .await
            .unwrap_or_else(|e| panic!("{version}: connect: {e}"));
        for qos in ALL_QOS {
            let topic = topic("round-trip");
            let mut messages = client.subscription(&topic, qos).await.unwrap();
            let published = client.publish(&topic, "hello", qos, false).await.unwrap();
            assert_eq!(published.qos, qos);
            let message = tokio::time::timeout(Duration::from_secs(5), messages.recv())
                .await
                .unwrap_or_else(|_| panic!("{version} {qos:?}: no message"))
                .expect("the stream is open");
            assert_eq!(message.topic.as_str(), topic);
            assert_eq!(message.payload_str(), Some("hello"));
            assert_eq!(
                message.qos, qos,
                "{version}: granted QoS is the requested one"
            );
        }
        client.disconnect().await.unwrap();
    }
}

#[tokio::test]
async fn retained_message_reaches_a_later_subscriber() {
    for version in VERSIONS {
        let topic = topic("retained");
        let (publisher, _) = Client::spawn(broker().options(version, &client_id("retain-pub")))
            .await
            .unwrap();
        publisher
            .publish(&topic, "kept", QoS::AtLeastOnce, true)
            .await
            .unwrap();
        let (subscriber, _) = Client::spawn(broker().options(version, &client_id("retain-sub")))
            .await
            .unwrap();
        let mut messages = subscriber
            .subscription(&topic, QoS::AtLeastOnce)
            .await
            .unwrap();
        let message = tokio::time::timeout(Duration::from_secs(5), messages.recv())
            .await
            .expect("the retained message arrives")
            .unwrap();
        assert!(message.retain, "{version}: delivered as retained");
        assert_eq!(message.payload_str(), Some("kept"));
        // Clear it so reruns against the same broker start clean.
        publisher
            .publish(&topic, "", QoS::AtLeastOnce, true)
            .await
            .unwrap();
        publisher.disconnect().await.unwrap();
        subscriber.disconnect().await.unwrap();
    }
}
