//! Instruction counts for the codec, for `valgrind --tool=callgrind`: repeatable on a busy
//! machine, where wall-clock figures are not. Not a benchmark of its own: it runs one case a
//! fixed number of times, and callgrind counts the instructions of `run` only.
//!
//! ```sh
//! cargo bench -p mqtt-proto --bench count --no-run
//! valgrind --tool=callgrind --toggle-collect='count::run*' target/release/deps/count-* decode_q1_16B
//! ```
//!
//! Cases: `decode_q0_16B`, `decode_q1_16B`, `decode_v5_props`, `encode_q1_16B`,
//! `encode_v5_props`, each with a `_rumqttc` or `_mqttrs` suffix for a peer, and a `_ref`
//! suffix for ours with the borrowing decoder.

#![allow(missing_docs)]

use std::hint::black_box;

use bytes::BytesMut;
use mqtt_proto::{
    Decoder, PacketId, Publish, PublishProperties, QoS, TopicName, UserProperty, Version,
};

const TOPIC: &str = "sensors/building-7/floor-3/tmp";
const PACKETS: usize = 1000;

fn publish(qos: QoS, props: bool) -> Publish {
    let mut p = Publish::new(TopicName::new(TOPIC).unwrap(), vec![7u8; 16]);
    p.qos = qos;
    if qos != QoS::AtMostOnce {
        p.packet_id = PacketId::new(0x1234);
    }
    if props {
        p.set_properties(PublishProperties {
            message_expiry_interval: Some(3600),
            content_type: Some("application/json".into()),
            user_properties: vec![UserProperty::new("trace-id", "4bf92f3577b34da6")],
            ..PublishProperties::default()
        });
    }
    p
}

fn wire(p: &Publish, version: Version) -> Vec<u8> {
    let mut buf = BytesMut::new();
    p.encode(version, &mut buf).unwrap();
    buf.to_vec()
}

fn frame_len(buf: &[u8]) -> usize {
    let mut remaining = 0usize;
    for (i, &b) in buf[1..].iter().take(4).enumerate() {
        remaining |= usize::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return 2 + i + remaining;
        }
    }
    unreachable!()
}

#[inline(never)]
fn run(case: &str, one: &[u8], all: &[u8], p: &Publish, version: Version) {
    let decoder = Decoder::new(version);
    match case {
        c if c.starts_with("decode") && c.ends_with("_rumqttc") => {
            let mut buf = BytesMut::from(all);
            if version.is_v5() {
                while !buf.is_empty() {
                    black_box(&rumqttc::v5::mqttbytes::v5::Packet::read(&mut buf, None).unwrap());
                }
            } else {
                while !buf.is_empty() {
                    black_box(&rumqttc::Packet::read(&mut buf, usize::MAX).unwrap());
                }
            }
        }
        c if c.starts_with("decode") && c.ends_with("_mqttrs") => {
            let mut buf = all;
            while let Some(packet) = mqttrs::decode_slice(buf).unwrap() {
                black_box(&packet);
                buf = &buf[frame_len(buf)..];
            }
        }
        c if c.starts_with("decode") && c.ends_with("_ref") => {
            let mut buf = all;
            while let Some((packet, len)) = decoder.decode_ref(buf).unwrap() {
                black_box(&packet);
                buf = &buf[len..];
            }
        }
        c if c.starts_with("decode") => {
            let mut buf = BytesMut::from(all);
            while let Some(packet) = decoder.decode(&mut buf).unwrap() {
                black_box(&packet);
            }
        }
        c if c.starts_with("encode") && c.ends_with("_rumqttc") => {
            let mut buf = BytesMut::with_capacity(one.len());
            if version.is_v5() {
                let r = rumqttc::v5::mqttbytes::v5::Packet::read(&mut BytesMut::from(one), None)
                    .unwrap();
                let rumqttc::v5::mqttbytes::v5::Packet::Publish(r) = r else {
                    panic!()
                };
                for _ in 0..PACKETS {
                    buf.clear();
                    black_box(&r).write(&mut buf).unwrap();
                    black_box(&buf);
                }
            } else {
                let r = rumqttc::Packet::read(&mut BytesMut::from(one), usize::MAX).unwrap();
                let rumqttc::Packet::Publish(r) = r else {
                    panic!()
                };
                for _ in 0..PACKETS {
                    buf.clear();
                    black_box(&r).write(&mut buf).unwrap();
                    black_box(&buf);
                }
            }
        }
        c if c.starts_with("encode") => {
            let mut buf = BytesMut::with_capacity(one.len());
            for _ in 0..PACKETS {
                buf.clear();
                black_box(p).encode(version, &mut buf).unwrap();
                black_box(&buf);
            }
        }
        _ => panic!("unknown case {case}"),
    }
}

fn main() {
    let case = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "decode_q1_16B".into());
    let (qos, props, version) = if case.contains("v5_props") {
        (QoS::AtLeastOnce, true, Version::V5)
    } else if case.contains("v5") {
        (QoS::AtLeastOnce, false, Version::V5)
    } else if case.contains("q0") {
        (QoS::AtMostOnce, false, Version::V311)
    } else {
        (QoS::AtLeastOnce, false, Version::V311)
    };
    let p = publish(qos, props);
    let one = wire(&p, version);
    let mut all = Vec::new();
    for _ in 0..PACKETS {
        all.extend_from_slice(&one);
    }
    run(&case, &one, &all, &p, version);
}
