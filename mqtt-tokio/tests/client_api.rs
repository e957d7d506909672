//! The client's own features against a real broker: hooks, manual reconnect, manual
//! acknowledgement, callbacks, back-pressure and a disconnect that flushes.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mqtt_tokio::{
    AckMode, Client, Command, Error, Options, QoS, ReasonCode, SocketKeepalive, Version,
};
use support::{broker, client_id, topic};

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn hooks_run_around_connections_and_reconnect_is_manual_too() {
    let connects = Arc::new(AtomicUsize::new(0));
    let attempts = Arc::new(AtomicUsize::new(0));
    let mut options = broker().options(Version::V5, &client_id("hooks"));
    let c = connects.clone();
    options.after_connect = Some(Arc::new(move |_client: &Client| {
        c.fetch_add(1, Ordering::SeqCst);
    }));
    let a = attempts.clone();
    options.before_reconnect = Some(Arc::new(move |client: &Client| {
        a.fetch_add(1, Ordering::SeqCst);
        // The seed's use: refresh credentials before each attempt.
        client.set_credentials(Some("refreshed".into()), None);
    }));
    options.socket_keepalive = Some(SocketKeepalive {
        count: 3,
        idle: Duration::from_secs(30),
        interval: Duration::from_secs(5),
    });
    let (client, _) = Client::spawn(options).await.unwrap();
    assert_eq!(
        connects.load(Ordering::SeqCst),
        1,
        "after_connect runs once connected"
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 0);

    client.reconnect();
    // Still usable, and a publish proves the new connection works.
    tokio::time::timeout(
        WAIT,
        client.publish(&topic("hooks"), "x", QoS::AtLeastOnce, false),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        1,
        "before_reconnect runs before the attempt"
    );
    assert_eq!(
        connects.load(Ordering::SeqCst),
        2,
        "after_connect runs again"
    );
    client.disconnect().await.unwrap();
}

#[tokio::test]
async fn manual_acknowledgement_hands_out_a_token_once() {
    let mut options = broker().options(Version::V5, &client_id("manual-ack"));
    options.session.ack_mode = AckMode::Manual;
    let (client, _) = Client::spawn(options).await.unwrap();
    let topic = topic("manual-ack");
    let mut messages = client.subscription(&topic, QoS::AtLeastOnce).await.unwrap();
    client
        .publish(&topic, "ack me", QoS::AtLeastOnce, false)
        .await
        .unwrap();
    let mut message = tokio::time::timeout(WAIT, messages.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(message.needs_ack());
    client.ack(&mut message, ReasonCode::SUCCESS).unwrap();
    assert!(!message.needs_ack(), "the token is used up");
    client.ack(&mut message, ReasonCode::SUCCESS).unwrap(); // a no-op now
    client.disconnect().await.unwrap();
}

#[tokio::test]
async fn conditional_callbacks_win_and_a_callback_can_publish() {
    let (client, _) = Client::spawn(broker().options(Version::V311, &client_id("callbacks")))
        .await
        .unwrap();
    let base = topic("callbacks");
    let (cool, other, echo) = (
        format!("{base}/cool"),
        format!("{base}/other"),
        format!("{base}/echo"),
    );
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();

    let log = seen.clone();
    let cool_topic = cool.clone();
    let echo_topic = echo.clone();
    client.on_if(
        Command::Publish,
        move |client: &Client, _data: &mqtt_tokio::Received| {
            log.lock().unwrap().push("cool".into());
            // Publishing from inside a callback must not deadlock.
            client
                .try_publish(&echo_topic, "echo", QoS::AtMostOnce, false)
                .unwrap();
        },
        move |data| {
            data.message
                .as_ref()
                .is_some_and(|m| m.topic == cool_topic.as_str())
        },
        0,
    );
    let log = seen.clone();
    client.on(
        Command::Publish,
        move |_client: &Client, data: &mqtt_tokio::Received| {
            if let Some(m) = &data.message {
                log.lock().unwrap().push(format!(
                    "generic:{}",
                    m.topic.rsplit('/').next().unwrap_or("")
                ));
            }
        },
    );
    client
        .subscribe(&[(&format!("{base}/#"), QoS::AtMostOnce)])
        .await
        .unwrap();
    client
        .publish(&cool, "1", QoS::AtLeastOnce, false)
        .await
        .unwrap();
    client
        .publish(&other, "2", QoS::AtLeastOnce, false)
        .await
        .unwrap();

    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let got = seen.lock().unwrap().clone();
        if got.len() >= 3 {
            assert_eq!(
                got[0], "cool",
                "only the conditional callback runs for `cool`: {got:?}"
            );
            assert!(got.contains(&"generic:other".to_string()), "{got:?}");
            assert!(
                got.contains(&"generic:echo".to_string()),
                "the callback's publish arrives: {got:?}"
            );
            assert!(
                !got.contains(&"generic:cool".to_string()),
                "single winner: {got:?}"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "callbacks ran: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    client.disconnect().await.unwrap();
}

#[tokio::test]
async fn a_slow_consumer_loses_nothing() {
    const COUNT: u32 = 500;
    let mut options = broker().options(Version::V5, &client_id("slow"));
    options.stream_capacity = 4;
    let (subscriber, _) = Client::spawn(options).await.unwrap();
    let topic = topic("slow");
    let mut messages = subscriber
        .subscription(&topic, QoS::AtLeastOnce)
        .await
        .unwrap();
    let (publisher, _) = Client::spawn(broker().options(Version::V5, &client_id("fast")))
        .await
        .unwrap();
    for n in 0..COUNT {
        // Outcomes are not needed: the subscriber's count is the check.
        drop(
            publisher
                .start_publish(&topic, n.to_be_bytes().to_vec(), QoS::AtLeastOnce, false)
                .await
                .unwrap(),
        );
    }
    // Nobody reads for a while: the subscriber's stream is full and holds back its PUBACKs.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut next = 0u32;
    while next < COUNT {
        let message = tokio::time::timeout(WAIT, messages.recv())
            .await
            .unwrap_or_else(|_| panic!("stalled at {next}"))
            .unwrap();
        let n = u32::from_be_bytes(message.payload[..].try_into().unwrap());
        assert_eq!(n, next, "in order, none missing");
        next += 1;
    }
    publisher.disconnect().await.unwrap();
    subscriber.disconnect().await.unwrap();
}

#[tokio::test]
async fn disconnect_waits_for_queued_publishes() {
    let (client, _) = Client::spawn(broker().options(Version::V5, &client_id("flush")))
        .await
        .unwrap();
    let topic = topic("flush");
    let mut pending = Vec::new();
    for n in 0..200u32 {
        pending.push(
            client
                .start_publish(&topic, n.to_be_bytes().to_vec(), QoS::AtLeastOnce, false)
                .await
                .unwrap(),
        );
    }
    client.disconnect().await.unwrap();
    for p in pending {
        p.await
            .expect("every accepted publish completed before DISCONNECT");
    }
    assert!(matches!(
        client.publish(&topic, "late", QoS::AtMostOnce, false).await,
        Err(mqtt_tokio::Error::Closed)
    ));
}

#[tokio::test]
async fn options_from_urls() {
    let o = Options::from_url("mqtts://broker.example:8884?version=3.1.1", "id").unwrap();
    assert_eq!(
        (o.host.as_str(), o.port, o.session.version),
        ("broker.example", 8884, Version::V311)
    );
    let o = Options::from_url("wss://broker.example/ws", "id").unwrap();
    assert_eq!((o.port, o.path.as_str()), (443, "/ws"));
    let o = Options::from_url("mqtt://[::1]", "id").unwrap();
    assert_eq!((o.host.as_str(), o.port), ("::1", 1883));
    assert!(Options::from_url("http://x", "id").is_err());
}

/// Request/response (MQTT 5.0): three requests at once each get their own answer, from a
/// responder that copies the Correlation Data to the Response Topic; a request nobody answers
/// times out; MQTT 3.1.1 has no request/response.
#[tokio::test]
async fn requests_get_their_own_answers() {
    use mqtt_tokio::Publish;
    let service = topic("service");
    let (responder, _) = Client::spawn(broker().options(Version::V5, &client_id("responder")))
        .await
        .unwrap();
    let mut requests = responder
        .subscription(&service, QoS::AtLeastOnce)
        .await
        .unwrap();
    let answering = tokio::spawn({
        let responder = responder.clone();
        async move {
            while let Some(request) = requests.recv().await {
                let reply_to = request.properties.response_topic.clone().unwrap();
                let mut answer = Publish::builder(reply_to.as_str())
                    .payload(format!("re: {}", request.payload_str().unwrap()))
                    .qos(QoS::AtLeastOnce);
                if let Some(data) = request.properties.correlation_data.clone() {
                    answer = answer.correlation_data(data);
                }
                responder
                    .publish_packet(answer.build().unwrap())
                    .await
                    .unwrap();
            }
        }
    });
    let (asker, _) = Client::spawn(broker().options(Version::V5, &client_id("asker")))
        .await
        .unwrap();
    let wait = Duration::from_secs(10);
    let (a, b, c) = tokio::join!(
        asker.request(&service, "a", wait),
        asker.request(&service, "b", wait),
        asker.request(&service, "c", wait),
    );
    let answers: Vec<_> = [a, b, c]
        .into_iter()
        .map(|m| m.unwrap().payload_str().unwrap().to_owned())
        .collect();
    assert_eq!(answers, ["re: a", "re: b", "re: c"]);

    let nobody = topic("nobody");
    let error = asker
        .request(&nobody, "hello?", Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Timeout), "{error:?}");

    let (old, _) = Client::spawn(broker().options(Version::V311, &client_id("old")))
        .await
        .unwrap();
    let error = old.request(&service, "x", wait).await.unwrap_err();
    assert!(error.to_string().contains("needs MQTT 5.0"), "{error}");
    answering.abort();
    asker.disconnect().await.unwrap();
    responder.disconnect().await.unwrap();
    old.disconnect().await.unwrap();
}
