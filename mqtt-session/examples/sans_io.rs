//! The session with no network at all: a tiny in-process broker, written with `mqtt-proto`,
//! answers the client, and the client subscribes, publishes at QoS 1 and receives its own
//! message back.
//!
//! Run it with `cargo run -p mqtt-session --example sans_io`.

use bytes::BytesMut;
use mqtt_proto::{
    ConnAck, Decoder, Packet, PubAck, Publish, QoS, ReasonCode, SubAck, Subscription, TopicFilter,
    TopicName,
};
use mqtt_session::{Config, Event, Instant, Session, Version};

/// A broker that accepts the connection, grants every subscription and sends every PUBLISH
/// back to the client.
struct LoopbackBroker {
    version: Version,
    inbox: BytesMut,
    filters: Vec<TopicFilter>,
}

impl LoopbackBroker {
    /// Takes the client's bytes and returns the broker's answer.
    fn exchange(&mut self, from_client: &[u8]) -> Vec<u8> {
        self.inbox.extend_from_slice(from_client);
        let decoder = Decoder::new(self.version);
        let mut out = Vec::new();
        while let Some(packet) = decoder
            .decode(&mut self.inbox)
            .expect("client sends valid packets")
        {
            println!("broker <- {:?}", packet.packet_type());
            let answers: Vec<Packet> = match packet {
                Packet::Connect(_) => vec![ConnAck::default().into()],
                Packet::Subscribe(s) => {
                    let codes = s
                        .subscriptions
                        .iter()
                        .map(|s| ReasonCode(s.options.qos.as_u8()));
                    self.filters
                        .extend(s.subscriptions.iter().map(|s| s.filter.clone()));
                    vec![
                        SubAck {
                            packet_id: s.packet_id,
                            reason_codes: codes.collect(),
                            properties: Default::default(),
                        }
                        .into(),
                    ]
                }
                Packet::Publish(p) => {
                    let mut answers: Vec<Packet> = Vec::new();
                    if let Some(id) = p.packet_id {
                        answers.push(PubAck::new(id).into());
                    }
                    if self.filters.iter().any(|f| f.matches(&p.topic)) {
                        let mut forward = Publish::new(p.topic.clone(), p.payload.clone());
                        forward.qos = QoS::AtMostOnce;
                        answers.push(forward.into());
                    }
                    answers
                }
                _ => vec![],
            };
            for answer in answers {
                answer.encode(self.version, &mut out).expect("valid packet");
            }
        }
        out
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let version = Version::V5;
    let mut broker = LoopbackBroker {
        version,
        inbox: BytesMut::new(),
        filters: Vec::new(),
    };
    let mut session = Session::new(Config::new("sans-io-example", version));
    let mut now = Instant::ZERO;

    session.handle_transport_opened(now)?;
    session.subscribe(
        now,
        vec![Subscription::new(
            TopicFilter::new("greetings/#")?,
            QoS::AtLeastOnce,
        )],
        Default::default(),
    )?;
    let mut hello = Publish::new(
        TopicName::new("greetings/world")?,
        "hello from a sans-IO session",
    );
    hello.qos = QoS::AtLeastOnce;
    session.publish(now, hello)?;

    // The adapter's loop, by hand: write what the session wants sent, feed back the answer,
    // drain the events; the clock moves only when we say so.
    for _ in 0..5 {
        now = Instant::from_millis(now.as_millis() + 1);
        while let Some(bytes) = session.poll_transmit() {
            let answer = broker.exchange(&bytes);
            session.handle_bytes(now, &answer);
        }
        while let Some(event) = session.poll_event() {
            match event {
                Event::Message(m) => println!(
                    "client got {:?}: {}",
                    m.publish.topic.as_str(),
                    String::from_utf8_lossy(&m.publish.payload)
                ),
                other => println!("client event: {other:?}"),
            }
        }
    }
    println!(
        "next deadline (keep alive): {:?} ms",
        session.poll_timeout().map(Instant::as_millis)
    );
    Ok(())
}
