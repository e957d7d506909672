//! The seed's callbacks against a real broker: `on(command, function, condition, priority)`
//! with its single-winner and generic-fallback rules, QoS 2 messages at PUBREL, callbacks for
//! acknowledgements, and publishing from inside a callback.

#[path = "../../mqtt-tokio/tests/support/mod.rs"]
mod support;

mod common;

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{KEEP_ALIVE, WAIT, connected, host, options};
use mqtt_blocking::{Client, Command, Error, QoS, Received, Version};
use support::{client_id, topic};

/// A callback that reports its name and the topic of the message it saw.
fn recorder(
    sender: &Sender<(&'static str, Option<String>)>,
    name: &'static str,
) -> impl FnMut(&Client, &Received) + Send + 'static {
    let sender = Mutex::new(sender.clone());
    move |_client, data| {
        let topic = data.message.as_ref().map(|m| m.topic.to_string());
        let _ = sender.lock().unwrap().send((name, topic));
    }
}

fn ends_with(suffix: &'static str) -> impl Fn(&Received) -> bool + Send + 'static {
    move |data| {
        data.message
            .as_ref()
            .is_some_and(|m| m.topic.as_str().ends_with(suffix))
    }
}

/// The only callback that runs for the next packet.
fn only(ran: &Receiver<(&'static str, Option<String>)>) -> &'static str {
    let (name, _) = ran.recv_timeout(WAIT).expect("a callback runs");
    if let Ok(extra) = ran.recv_timeout(Duration::from_millis(200)) {
        panic!("{name} ran, and so did {extra:?}");
    }
    name
}

#[test]
fn one_conditional_winner_by_priority_else_the_generic() {
    for version in [Version::V311, Version::V5] {
        let base = topic("router");
        let client = connected(version, &client_id("router"));
        let (sender, ran) = mpsc::channel();
        client.on_if(
            Command::Publish,
            recorder(&sender, "low"),
            ends_with("/match"),
            1,
        );
        client.on_if(
            Command::Publish,
            recorder(&sender, "high"),
            ends_with("/match"),
            5,
        );
        client.on_if(Command::Publish, recorder(&sender, "never"), |_| false, 9);
        client.on_if(
            Command::Publish,
            recorder(&sender, "tie-1"),
            ends_with("/tie"),
            3,
        );
        client.on_if(
            Command::Publish,
            recorder(&sender, "tie-2"),
            ends_with("/tie"),
            3,
        );
        client.on(Command::Publish, recorder(&sender, "generic-1"));
        // A second generic callback replaces the first.
        client.on(Command::Publish, recorder(&sender, "generic-2"));
        let subscribed = client
            .subscribe(&[(format!("{base}/#"), QoS::AtLeastOnce)])
            .unwrap();
        client.loop_start(None).unwrap();
        client.wait_for_request(subscribed, WAIT).unwrap();

        for (suffix, winner) in [("match", "high"), ("tie", "tie-1"), ("other", "generic-2")] {
            let mid = client
                .publish(&format!("{base}/{suffix}"), suffix, QoS::AtLeastOnce, false)
                .unwrap();
            client.wait_for_publish(mid, WAIT).unwrap();
            assert_eq!(only(&ran), winner, "{version}: {suffix}");
        }
        client.disconnect().unwrap();
    }
}

#[test]
fn a_qos2_message_comes_with_pubrel_as_in_the_seed() {
    let topic = topic("qos2-pubrel");
    let client = connected(Version::V311, &client_id("qos2-pubrel"));
    let (sender, ran) = mpsc::channel();
    client.on(Command::Publish, recorder(&sender, "publish"));
    client.on(Command::PubRel, recorder(&sender, "pubrel"));
    let subscribed = client.subscribe(&[(&topic, QoS::ExactlyOnce)]).unwrap();
    client.loop_start(None).unwrap();
    client.wait_for_request(subscribed, WAIT).unwrap();
    let mid = client
        .publish(&topic, "exactly once", QoS::ExactlyOnce, false)
        .unwrap();
    client.wait_for_publish(mid, WAIT).unwrap();
    // The PUBLISH callback runs without the message, as the seed's `is_cool` warns...
    assert_eq!(ran.recv_timeout(WAIT).unwrap(), ("publish", None));
    // ...and the PUBREL callback with it.
    assert_eq!(
        ran.recv_timeout(WAIT).unwrap(),
        ("pubrel", Some(topic.clone()))
    );
    client.disconnect().unwrap();
}

#[test]
fn acknowledgements_and_pings_reach_their_callbacks() {
    let topic = topic("acks");
    let client = common::client(Version::V311, &client_id("acks"));
    let (sender, ran) = mpsc::channel::<(Command, Option<u16>)>();
    for command in [
        Command::PubAck,
        Command::PubRec,
        Command::PubComp,
        Command::SubAck,
        Command::UnsubAck,
        Command::PingResp,
    ] {
        let sender = Mutex::new(sender.clone());
        client.on(command, move |_, data: &Received| {
            let id = data.packet_id.map(|p| p.get());
            let _ = sender.lock().unwrap().send((data.command, id));
        });
    }
    // A one-second keep alive, so that a PINGREQ goes out while the test waits.
    client
        .connect(
            &host(Version::V311),
            Duration::from_secs(1),
            options(Version::V311),
        )
        .unwrap();
    client.loop_start(None).unwrap();
    let subscribed = client.subscribe(&[(&topic, QoS::AtMostOnce)]).unwrap();
    client.wait_for_request(subscribed, WAIT).unwrap();
    let mid = client
        .publish(&topic, "1", QoS::AtLeastOnce, false)
        .unwrap();
    client.wait_for_publish(mid, WAIT).unwrap();
    let mid = client
        .publish(&topic, "2", QoS::ExactlyOnce, false)
        .unwrap();
    client.wait_for_publish(mid, WAIT).unwrap();
    let unsubscribed = client.unsubscribe(&[&topic]).unwrap();
    client.wait_for_request(unsubscribed, WAIT).unwrap();
    let mut seen = Vec::new();
    while !seen.contains(&Command::PingResp) {
        let (command, id) = ran
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_else(|_| panic!("callbacks so far: {seen:?}"));
        assert_eq!(id.is_some(), command != Command::PingResp, "{command:?}");
        seen.push(command);
    }
    assert_eq!(
        seen,
        [
            Command::SubAck,
            Command::PubAck,
            Command::PubRec,
            Command::PubComp,
            Command::UnsubAck,
            Command::PingResp
        ]
    );
    client.disconnect().unwrap();
}

#[test]
fn a_callback_publishes_without_deadlocking() {
    for version in [Version::V311, Version::V5] {
        let base = topic("reply");
        let (request, reply) = (format!("{base}/request"), format!("{base}/reply"));
        let client = connected(version, &client_id("reply"));
        let messages = client.messages();
        let (sender, waited) = mpsc::channel();
        let sender = Mutex::new(sender);
        let reply_topic = reply.clone();
        client.on_if(
            Command::Publish,
            move |client: &Client, data: &Received| {
                let payload = data.message.as_ref().unwrap().payload.clone();
                let mid = client
                    .publish(&reply_topic, payload, QoS::AtLeastOnce, false)
                    .expect("publish from a callback");
                // Waiting here would wait for this very thread: refused at once.
                let _ = sender
                    .lock()
                    .unwrap()
                    .send(client.wait_for_publish(mid, WAIT));
            },
            ends_with("/request"),
            0,
        );
        let subscribed = client
            .subscribe(&[(&request, QoS::AtLeastOnce), (&reply, QoS::AtLeastOnce)])
            .unwrap();
        client.loop_start(None).unwrap();
        client.wait_for_request(subscribed, WAIT).unwrap();
        client
            .publish(&request, "ping", QoS::AtLeastOnce, false)
            .unwrap();
        let mut topics = vec![
            messages.recv_timeout(WAIT).unwrap().topic.to_string(),
            messages.recv_timeout(WAIT).unwrap().topic.to_string(),
        ];
        topics.sort();
        assert_eq!(topics, [reply.clone(), request.clone()], "{version}");
        assert!(matches!(
            waited.recv_timeout(WAIT).unwrap(),
            Err(Error::WouldDeadlock)
        ));
        client.disconnect().unwrap();
    }
}

#[test]
fn hooks_run_after_connect_with_the_client() {
    let topic = topic("hook");
    let client = common::client(Version::V311, &client_id("hook"));
    let messages = client.messages();
    let connects = Arc::new(Mutex::new(0));
    let mut options = options(Version::V311);
    let (count, hook_topic) = (connects.clone(), topic.clone());
    // The seed's aconnect_cb: subscribe on every connection.
    options.after_connect = Some(Arc::new(move |client: &Client| {
        *count.lock().unwrap() += 1;
        client
            .subscribe(&[(&hook_topic, QoS::AtLeastOnce)])
            .expect("subscribe from the hook");
    }));
    client
        .connect(&host(Version::V311), KEEP_ALIVE, options)
        .unwrap();
    assert_eq!(
        *connects.lock().unwrap(),
        1,
        "after_connect ran inside connect"
    );
    client.loop_start(None).unwrap();
    // The SUBSCRIBE from the hook goes out before this PUBLISH, so the message comes back.
    client
        .publish(&topic, "hooked", QoS::AtLeastOnce, false)
        .unwrap();
    assert_eq!(
        messages.recv_timeout(WAIT).unwrap().payload_str(),
        Some("hooked")
    );
    client.disconnect().unwrap();
}
