//! The shared client layer's guarantees (mqtt-client's G1-G6) through this adapter, over real
//! TCP: nothing acknowledged before the application has it, bounded streams that don't stop
//! the client, subscriptions that survive a lost session, visible state, and flush on exit.
//! G6 (the `mid` in acknowledgement callbacks) is in `round_trip.rs`.

mod support;

use std::time::Duration;

use mqtt_embassy::{ClientEvent, QoS, Version};
use support::{Proxy, WAIT, broker, client_id, config, receive, run, settings, start, topic};

const VERSIONS: [Version; 2] = [Version::V311, Version::V5];

/// G1 and G2: a stream holds `stream_capacity` messages; QoS 1 messages beyond it wait
/// unacknowledged while the client goes on (its own publish completes), and when the
/// connection is cut before the application read them, the broker sends them again.
#[test]
fn g1_g2_messages_beyond_a_full_stream_wait_unacknowledged() {
    for version in VERSIONS {
        run(Duration::from_secs(40), async move {
            let topic = topic("g1");
            let proxy = Proxy::start(broker().tcp(version));
            let mut persistent = config(version, &client_id("g1"));
            persistent.clean_start = false;
            if version == Version::V5 {
                persistent.connect_properties.session_expiry_interval = Some(300);
            }
            let mut small = settings();
            small.stream_capacity = 2;
            let (client, _d, _t) = start(persistent, small, proxy.address).await;
            let mut messages = client.subscription(&topic, QoS::AtLeastOnce).await.unwrap();
            let (publisher, _d, _t) = start(
                config(version, &client_id("g1-pub")),
                settings(),
                broker().tcp(version),
            )
            .await;
            for n in 0..6u8 {
                publisher
                    .publish(&topic, vec![n], QoS::AtLeastOnce, false)
                    .await
                    .unwrap();
            }
            // Give them time to arrive; the stream holds two, four wait.
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert_eq!(
                messages.len(),
                6,
                "{version}: all arrived, four beyond capacity"
            );
            // G2: the full stream does not stop the client's own traffic.
            tokio::time::timeout(
                WAIT,
                client.publish(&format!("{topic}-other"), "x", QoS::AtLeastOnce, false),
            )
            .await
            .expect("a publish completes while a stream is full")
            .unwrap();
            // G1: the four beyond capacity were not acknowledged: after a cut the broker sends
            // them again (with DUP), and every one of the six is read.
            proxy.cut();
            tokio::time::timeout(WAIT, async {
                while client.is_connected() {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
            .await
            .unwrap();
            tokio::time::timeout(WAIT, client.connected())
                .await
                .unwrap()
                .unwrap();
            let mut seen = [0u32; 6];
            let got = receive(&mut messages, 6).await;
            for m in &got {
                seen[m.payload[0] as usize] += 1;
            }
            while let Ok(Some(m)) =
                tokio::time::timeout(Duration::from_millis(500), messages.recv()).await
            {
                seen[m.payload[0] as usize] += 1;
            }
            assert!(seen.iter().all(|&c| c >= 1), "{version}: {seen:?}");
            client.disconnect().await.unwrap();
            publisher.disconnect().await.unwrap();
        });
    }
}

/// G3 and G4: when the broker has lost the session (a clean session after a cut), the client
/// subscribes again before anything else, says so in its events, and the subscription's
/// stream goes on; the events report the disconnection and the reconnection.
#[test]
fn g3_g4_subscriptions_survive_a_lost_session_and_events_say_so() {
    for version in VERSIONS {
        run(Duration::from_secs(40), async move {
            let topic = topic("g3");
            let proxy = Proxy::start(broker().tcp(version));
            let mut clean = config(version, &client_id("g3"));
            clean.clean_start = true;
            clean.clean_start_on_reconnect = true;
            let (client, _d, _t) = start(clean, settings(), proxy.address).await;
            let mut messages = client.subscription(&topic, QoS::AtLeastOnce).await.unwrap();
            let mut events = client.events();
            proxy.cut();
            let mut seen = Vec::new();
            let restored = loop {
                let event = tokio::time::timeout(WAIT, events.recv())
                    .await
                    .unwrap()
                    .unwrap();
                if let ClientEvent::Resubscribed { restored, .. } = &event {
                    break restored.clone();
                }
                seen.push(event);
            };
            assert_eq!(restored.len(), 1, "{version}");
            assert!(
                seen.iter()
                    .any(|e| matches!(e, ClientEvent::Disconnected { .. })),
                "{seen:?}"
            );
            assert!(
                seen.iter()
                    .any(|e| matches!(e, ClientEvent::Reconnecting { .. })),
                "{seen:?}"
            );
            assert!(
                seen.iter()
                    .any(|e| matches!(e, ClientEvent::Connected(c) if !c.session_present)),
                "{seen:?}"
            );
            let (publisher, _d, _t) = start(
                config(version, &client_id("g3-pub")),
                settings(),
                broker().tcp(version),
            )
            .await;
            publisher
                .publish(&topic, "after", QoS::AtLeastOnce, false)
                .await
                .unwrap();
            let got = receive(&mut messages, 1).await;
            assert_eq!(got[0].payload_str(), Some("after"));
            assert_eq!(messages.end(), None);
            client.disconnect().await.unwrap();
            publisher.disconnect().await.unwrap();
        });
    }
}

/// G5: a disconnect right after many QoS 0 publishes writes them all before it closes.
#[test]
fn g5_disconnect_writes_everything_queued_first() {
    for version in VERSIONS {
        run(Duration::from_secs(30), async move {
            let topic = topic("g5");
            let (subscriber, _d, _t) = start(
                config(version, &client_id("g5-sub")),
                settings(),
                broker().tcp(version),
            )
            .await;
            let mut messages = subscriber
                .subscription(&topic, QoS::AtMostOnce)
                .await
                .unwrap();
            let (publisher, _d, task) = start(
                config(version, &client_id("g5-pub")),
                settings(),
                broker().tcp(version),
            )
            .await;
            for n in 0..50u8 {
                publisher
                    .try_publish(&topic, vec![n], QoS::AtMostOnce, false)
                    .unwrap();
            }
            publisher.disconnect().await.unwrap();
            assert!(task.await.unwrap().is_ok());
            let got = receive(&mut messages, 50).await;
            let order: Vec<u8> = got.iter().map(|m| m.payload[0]).collect();
            assert_eq!(order, (0..50).collect::<Vec<u8>>(), "{version}");
            subscriber.disconnect().await.unwrap();
        });
    }
}

/// Dropping the last handle disconnects in order: the connection task ends by itself.
#[test]
fn dropping_every_handle_ends_the_connection_task() {
    run(Duration::from_secs(20), async {
        let (client, default, task) = start(
            config(Version::V5, &client_id("drop")),
            settings(),
            broker().tcp(Version::V5),
        )
        .await;
        drop(default);
        drop(client);
        let result = tokio::time::timeout(WAIT, task)
            .await
            .expect("the task ends");
        assert!(result.unwrap().is_ok());
    });
}
