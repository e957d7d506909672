//! Messages at QoS 0, 1 and 2 through a real broker, for MQTT 3.1.1 and 5.0, received through
//! the message receiver and through the seed's `on_message`.

#[path = "../../mqtt-tokio/tests/support/mod.rs"]
mod support;

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::{WAIT, connected, subscriber};
use mqtt_blocking::proto::UserProperty;
use mqtt_blocking::{Client, Message, PublishOptions, QoS, Version};
use support::{client_id, topic};

const LEVELS: [QoS; 3] = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce];

/// One filter per QoS, subscribed at that QoS: a message then arrives at the QoS it was
/// published with on every broker (rumqttd 0.20 delivers at the subscription's QoS rather than
/// the minimum of both, MQTT-3.8.4-8).
fn per_level(topic: &str) -> Vec<(String, QoS)> {
    LEVELS
        .iter()
        .map(|&qos| (format!("{topic}/{}", qos as u8), qos))
        .collect()
}

#[test]
fn qos_0_1_2_round_trip_through_the_receiver() {
    for version in [Version::V311, Version::V5] {
        let levels = per_level(&topic("rt"));
        let (subscriber, messages) = subscriber(version, &client_id("rt-sub"), &levels);
        let publisher = connected(version, &client_id("rt-pub"));
        publisher.loop_start(None).unwrap();
        for (topic, qos) in levels {
            let payload = format!("{version} {qos:?}");
            let mid = publisher
                .publish(&topic, payload.clone(), qos, false)
                .unwrap();
            publisher
                .wait_for_publish(mid, WAIT)
                .unwrap_or_else(|e| panic!("{version} {qos:?}: not acknowledged: {e}"));
            let message = messages
                .recv_timeout(WAIT)
                .unwrap_or_else(|_| panic!("{version} {qos:?}: no message"));
            assert_eq!(message.topic, topic.as_str());
            assert_eq!(message.payload_str(), Some(payload.as_str()));
            assert_eq!(message.qos, qos, "{version}");
            assert_eq!(message.packet_id.is_some(), qos != QoS::AtMostOnce);
            assert!(!message.retain);
        }
        publisher.disconnect().unwrap();
        subscriber.disconnect().unwrap();
    }
}

#[test]
fn on_message_gets_every_qos_once() {
    for version in [Version::V311, Version::V5] {
        let levels = per_level(&topic("on-message"));
        let client = connected(version, &client_id("on-message"));
        let (sender, received) = mpsc::channel::<Message>();
        let sender = std::sync::Mutex::new(sender);
        let subscribed = client.subscribe(&levels).unwrap();
        client
            .loop_start(Some(Box::new(
                move |_client: &Client, message: &Message| {
                    let _ = sender.lock().unwrap().send(message.clone());
                },
            )))
            .unwrap();
        client.wait_for_request(subscribed, WAIT).unwrap();
        for (topic, qos) in &levels {
            let mid = client
                .publish(topic, format!("{qos:?}"), *qos, false)
                .unwrap();
            client.wait_for_publish(mid, WAIT).unwrap();
        }
        let mut got: Vec<QoS> = (0..3)
            .map(|_| received.recv_timeout(WAIT).expect("on_message runs").qos)
            .collect();
        got.sort();
        assert_eq!(got, LEVELS, "{version}");
        assert!(
            received.recv_timeout(Duration::from_millis(300)).is_err(),
            "{version}: a message was delivered twice"
        );
        client.disconnect().unwrap();
    }
}

#[test]
fn mqtt5_properties_travel_with_the_message() {
    let topic = topic("props");
    let (subscriber, messages) = subscriber(
        Version::V5,
        &client_id("props-sub"),
        &[(&topic, QoS::AtLeastOnce)],
    );
    let publisher = connected(Version::V5, &client_id("props-pub"));
    publisher.loop_start(None).unwrap();
    let mut options = PublishOptions::new(QoS::AtLeastOnce, false);
    options.properties.content_type = Some("text/plain".into());
    options
        .properties
        .user_properties
        .push(UserProperty::new("origin", "blocking"));
    let mid = publisher
        .publish_with(&topic, "with properties", options)
        .unwrap();
    publisher.wait_for_publish(mid, WAIT).unwrap();
    let message = messages.recv_timeout(WAIT).expect("the message");
    assert_eq!(message.payload_str(), Some("with properties"));
    assert_eq!(
        message.properties.content_type.as_deref(),
        Some("text/plain")
    );
    assert_eq!(message.properties.user_properties.len(), 1);
    publisher.disconnect().unwrap();
    subscriber.disconnect().unwrap();
}

#[test]
fn retained_messages_are_flagged() {
    for version in [Version::V311, Version::V5] {
        let topic = topic("retained");
        let publisher = connected(version, &client_id("retain-pub"));
        publisher.loop_start(None).unwrap();
        let mid = publisher
            .publish(&topic, "kept", QoS::AtLeastOnce, true)
            .unwrap();
        publisher.wait_for_publish(mid, WAIT).unwrap();
        let (subscriber, messages) = subscriber(
            version,
            &client_id("retain-sub"),
            &[(&topic, QoS::AtLeastOnce)],
        );
        let message = messages.recv_timeout(WAIT).expect("the retained message");
        assert!(message.retain, "{version}");
        assert_eq!(message.payload_str(), Some("kept"));
        // Clear it.
        let mid = publisher
            .publish(&topic, "", QoS::AtLeastOnce, true)
            .unwrap();
        publisher.wait_for_publish(mid, WAIT).unwrap();
        publisher.disconnect().unwrap();
        subscriber.disconnect().unwrap();
    }
}
