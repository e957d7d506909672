//! Round trips over real TCP to the test broker (mosquitto in CI, else the embedded rumqttd):
//! QoS 0, 1 and 2 both ways for both protocol versions, credentials, the will, keep alive, and
//! the seed's callbacks.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mqtt_embassy::session::DisconnectReason;
use mqtt_embassy::{ClientEvent, Command, Error, QoS, ReasonCode, Version};
use support::{Proxy, WAIT, broker, client_id, config, receive, run, settings, start, topic};

const VERSIONS: [Version; 2] = [Version::V311, Version::V5];
const ALL_QOS: [QoS; 3] = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce];

#[test]
fn qos_0_1_2_round_trips_both_ways() {
    for version in VERSIONS {
        run(Duration::from_secs(30), async move {
            let address = broker().tcp(version);
            let topic = topic("rt");
            let (client, _default, task) =
                start(config(version, &client_id("rt")), settings(), address).await;
            let (peer, _peer_default, peer_task) =
                start(config(version, &client_id("rt-peer")), settings(), address).await;
            // One subscription per level (rumqttd delivers at the subscription's QoS rather than
            // the lower of the two), each seeing the client's own message and the peer's.
            let mut own = Vec::new();
            for qos in ALL_QOS {
                own.push(
                    client
                        .subscription(&format!("{topic}/+/{}", qos as u8), qos)
                        .await
                        .unwrap(),
                );
            }
            let mut seen_by_peer = Vec::new();
            for qos in ALL_QOS {
                let filter = format!("{topic}/from-client/{}", qos as u8);
                seen_by_peer.push(peer.subscription(&filter, qos).await.unwrap());
            }
            for qos in ALL_QOS {
                let level = qos as u8;
                // Client to broker: resolves when written (0), at PUBACK (1), at PUBCOMP (2).
                let published = client
                    .publish(
                        &format!("{topic}/from-client/{level}"),
                        vec![level; 100],
                        qos,
                        false,
                    )
                    .await
                    .unwrap_or_else(|e| panic!("{version} QoS {level}: {e}"));
                assert_eq!(published.qos, qos);
                assert_eq!(published.packet_id.is_some(), qos != QoS::AtMostOnce);
                // Broker to client.
                peer.publish(
                    &format!("{topic}/from-peer/{level}"),
                    vec![level; 10],
                    qos,
                    false,
                )
                .await
                .unwrap();
            }
            for (stream, qos) in own.iter_mut().zip(ALL_QOS) {
                let got = receive(stream, 2).await;
                for message in &got {
                    assert_eq!(message.qos, qos, "{version}: {}", message.topic);
                    assert!(message.payload.iter().all(|b| *b == qos as u8));
                    assert_eq!(message.packet_id.is_some(), qos != QoS::AtMostOnce);
                }
                let mut sources: Vec<&str> = got
                    .iter()
                    .map(|m| m.topic.split('/').nth(2).unwrap())
                    .collect();
                sources.sort();
                assert_eq!(sources, ["from-client", "from-peer"], "{version} {qos:?}");
            }
            for (stream, qos) in seen_by_peer.iter_mut().zip(ALL_QOS) {
                let got = receive(stream, 1).await;
                assert_eq!((got[0].qos, got[0].payload.len()), (qos, 100), "{version}");
            }
            client.disconnect().await.unwrap();
            peer.disconnect().await.unwrap();
            assert!(task.await.unwrap().is_ok());
            assert!(peer_task.await.unwrap().is_ok());
        });
    }
}

#[test]
fn credentials_are_sent_and_a_wrong_password_is_refused() {
    run(Duration::from_secs(30), async {
        let address = broker().auth;
        let mut wrong = config(Version::V311, &client_id("auth"));
        wrong.username = Some("testuser".into());
        wrong.password = Some("wrong".into());
        let mut no_retry = settings();
        no_retry.reconnect = None;
        let (client, _d, connection) =
            mqtt_embassy::Client::new(wrong, no_retry.clone(), 1, support::tcp(address));
        let task = support::spawn(connection);
        let error = client
            .connected()
            .await
            .expect_err("a wrong password is refused");
        match &error {
            Error::Refused(connack) => assert!(
                [
                    ReasonCode::BAD_USER_NAME_OR_PASSWORD,
                    ReasonCode::NOT_AUTHORIZED
                ]
                .contains(&connack.reason_code),
                "{error}"
            ),
            // rumqttd closes the connection instead of answering.
            Error::Disconnected(reason) if **reason == DisconnectReason::ClosedBeforeConnAck => {
                assert!(!broker().external, "mosquitto answers with CONNACK");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(task.await.unwrap().is_err());

        let mut right = config(Version::V311, &client_id("auth"));
        right.username = Some("testuser".into());
        right.password = Some("testpass".into());
        let (client, _d, task) = start(right, no_retry, address).await;
        client.disconnect().await.unwrap();
        assert!(task.await.unwrap().is_ok());
    });
}

#[test]
fn the_will_is_published_when_the_connection_breaks() {
    for version in VERSIONS {
        run(Duration::from_secs(30), async move {
            let will_topic = topic("will");
            let (watcher, _d, _t) = start(
                config(version, &client_id("will-watch")),
                settings(),
                broker().tcp(version),
            )
            .await;
            let mut wills = watcher
                .subscription(&will_topic, QoS::AtLeastOnce)
                .await
                .unwrap();
            let proxy = Proxy::start(broker().tcp(version));
            let mut victim = config(version, &client_id("will-victim"));
            victim.will = Some(
                mqtt_embassy::client_core::packets::will(
                    &will_topic,
                    "gone",
                    QoS::AtLeastOnce,
                    false,
                )
                .unwrap(),
            );
            let mut no_retry = settings();
            no_retry.reconnect = None;
            let (_victim, _d, victim_task) = start(victim, no_retry, proxy.address).await;
            proxy.cut();
            let will = receive(&mut wills, 1).await;
            assert_eq!(will[0].payload_str(), Some("gone"), "{version}");
            assert!(
                victim_task.await.unwrap().is_err(),
                "stopped: reconnection is off"
            );
            watcher.disconnect().await.unwrap();
        });
    }
}

#[test]
fn keep_alive_holds_an_idle_connection_and_notices_a_silent_one() {
    for version in VERSIONS {
        run(Duration::from_secs(40), async move {
            let proxy = Proxy::start(broker().tcp(version));
            let mut config = config(version, &client_id("keepalive"));
            config.keep_alive = Duration::from_secs(2);
            let (client, _d, _task) = start(config, settings(), proxy.address).await;
            let connections = proxy.accepted();
            let mut events = client.events();
            // Idle for over two keep alive periods: the pings keep the broker from closing it
            // (it may after one and a half periods of silence).
            tokio::time::sleep(Duration::from_millis(4500)).await;
            assert!(client.is_connected(), "{version}");
            assert_eq!(events.try_recv(), None, "{version}: no event while idle");
            assert_eq!(
                proxy.accepted(),
                connections,
                "{version}: no new connection"
            );
            // A silent broker (nothing moves, nothing closes): the ping times out, and the
            // client connects again.
            proxy.freeze();
            let started = std::time::Instant::now();
            let reason = loop {
                let event = tokio::time::timeout(WAIT, events.recv())
                    .await
                    .unwrap()
                    .unwrap();
                if let ClientEvent::Disconnected { reason, .. } = event {
                    break reason;
                }
            };
            assert_eq!(reason, DisconnectReason::KeepAliveTimeout, "{version}");
            assert!(
                started.elapsed() < Duration::from_secs(4),
                "{:?}",
                started.elapsed()
            );
            tokio::time::timeout(WAIT, client.connected())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(proxy.accepted(), connections + 1, "{version}");
            client.disconnect().await.unwrap();
        });
    }
}

#[test]
fn callbacks_route_by_command_condition_and_priority() {
    for version in VERSIONS {
        run(Duration::from_secs(30), async move {
            let topic = topic("cb");
            let (client, _default, _task) = start(
                config(version, &client_id("cb")),
                settings(),
                broker().tcp(version),
            )
            .await;
            let log = Arc::new(Mutex::new(Vec::new()));
            let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
            client.on(Command::Publish, move |_, data| {
                let m = data.message.as_ref().unwrap();
                l1.lock().unwrap().push(format!("generic {}", m.topic));
            });
            client.on_if(
                Command::Publish,
                move |_, data| {
                    let m = data.message.as_ref().unwrap();
                    l2.lock().unwrap().push(format!("urgent {}", m.topic));
                },
                |data| {
                    data.message
                        .as_ref()
                        .is_some_and(|m| m.topic.ends_with("urgent"))
                },
                5,
            );
            // The acknowledgement callback fires for exactly the publish whose `mid` it names.
            let watched = Arc::new(Mutex::new(None));
            let w = watched.clone();
            client.on_if(
                Command::PubAck,
                move |_, data| l3.lock().unwrap().push(format!("puback {:?}", data.mid)),
                move |data| data.mid.is_some() && data.mid == *w.lock().unwrap(),
                0,
            );
            client
                .subscribe(&[(&format!("{topic}/#"), QoS::AtLeastOnce)])
                .await
                .unwrap();
            let pending = client
                .start_publish(&format!("{topic}/urgent"), "!", QoS::AtLeastOnce, false)
                .await
                .unwrap();
            // The connection task runs on this thread: nothing is acknowledged before this.
            *watched.lock().unwrap() = Some(pending.id());
            let mid = pending.id();
            pending.await.unwrap();
            client
                .publish(&format!("{topic}/plain"), "?", QoS::AtLeastOnce, false)
                .await
                .unwrap();
            for _ in 0..200 {
                if log.lock().unwrap().len() >= 3 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let log = log.lock().unwrap().clone();
            assert!(
                log.contains(&format!("urgent {topic}/urgent")),
                "{version}: {log:?}"
            );
            assert!(
                log.contains(&format!("generic {topic}/plain")),
                "{version}: {log:?}"
            );
            assert!(
                !log.contains(&format!("generic {topic}/urgent")),
                "{version}: {log:?}"
            );
            assert!(
                log.contains(&format!("puback {:?}", Some(mid))),
                "{version}: {log:?}"
            );
            assert_eq!(
                log.iter().filter(|l| l.starts_with("puback")).count(),
                1,
                "{log:?}"
            );
            client.disconnect().await.unwrap();
        });
    }
}

#[test]
fn messages_are_forwarded_into_an_embassy_sync_channel() {
    use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
    use embassy_sync::channel::Channel;

    run(Duration::from_secs(30), async {
        let version = Version::V5;
        let topic = topic("fwd");
        let (client, _default, _task) = start(
            config(version, &client_id("fwd")),
            settings(),
            broker().tcp(version),
        )
        .await;
        let mut messages = client.subscription(&topic, QoS::AtLeastOnce).await.unwrap();
        // A channel of two: the forwarder takes a message from the stream (which acknowledges
        // it) only once the channel has room.
        let channel: &'static Channel<CriticalSectionRawMutex, mqtt_embassy::Message, 2> =
            Box::leak(Box::new(Channel::new()));
        let forwarder = tokio::task::spawn_local(async move {
            messages.forward(channel).await;
        });
        for n in 0..5u8 {
            client
                .publish(&topic, vec![n], QoS::AtLeastOnce, false)
                .await
                .unwrap();
        }
        let mut got = Vec::new();
        for _ in 0..5 {
            let message = tokio::time::timeout(WAIT, channel.receive()).await.unwrap();
            got.push(message.payload[0]);
        }
        assert_eq!(got, [0, 1, 2, 3, 4]);
        client.disconnect().await.unwrap();
        // The stream ends when the client stops, and with it the forwarding.
        tokio::time::timeout(WAIT, forwarder)
            .await
            .unwrap()
            .unwrap();
    });
}
