//! Codec benchmarks: `mqtt-proto` against rumqttc's `mqttbytes` and mqttrs, on identical bytes.
//!
//! Run with `cargo bench -p mqtt-proto --bench codec`. Every group reports packets per second
//! (`Throughput::Elements`). Rows:
//!
//! - `decode_v311/<packet>`: decode a buffer holding [`COPIES`] copies of one PUBLISH, one packet
//!   after another, as a network read loop does. Each implementation gets the same bytes, in the
//!   container its API takes: a fresh `BytesMut` for ours and rumqttc (built outside the timed
//!   region), a borrowed slice for mqttrs. `memcpy` copies the same bytes once, as a floor.
//! - `encode_v311/<packet>`: encode one PUBLISH into a reused, cleared buffer. `ours_header` is the
//!   vectored-I/O path that writes everything but the payload. `memcpy` copies the finished packet.
//! - `mixed_v311`: decode a stream of PUBLISH QoS 1, PUBACK, PUBLISH QoS 0 and PINGRESP,
//!   repeated, 10,000 packets in all.
//! - `decode_v5/..` and `encode_v5/..`: MQTT 5.0 PUBLISH, ours against rumqttc's v5 codec.
//!
//! The peers' APIs differ a little, and each is used the way its documentation shows: mqttrs's
//! `decode_slice` does not say how many bytes the packet took, so its loop reads the remaining
//! length again to step to the next packet.

#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mqtt_proto::{
    Decoder, Packet, PacketId, PubAck, Publish, PublishProperties, QoS, TopicName, UserProperty,
    Version,
};

/// Exactly 30 bytes.
const TOPIC: &str = "sensors/building-7/floor-3/tmp";

/// Payload sizes of the PUBLISH rows.
const SIZES: [(usize, &str); 3] = [(16, "16B"), (1024, "1KiB"), (65536, "64KiB")];

/// How many copies of a packet one decode iteration walks through: about 256 KiB, and at least
/// 16 packets.
fn copies(packet_len: usize) -> usize {
    ((256 << 10) / packet_len).max(16)
}

/// Packets in the mixed stream.
const MIXED: usize = 10_000;

fn payload(len: usize) -> Bytes {
    (0..len)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<u8>>()
        .into()
}

fn ours(qos: QoS, len: usize) -> Publish {
    let mut p = Publish::new(TopicName::new(TOPIC).unwrap(), payload(len));
    p.qos = qos;
    if qos != QoS::AtMostOnce {
        p.packet_id = PacketId::new(0x1234);
    }
    p
}

fn rumqttc_v4(p: &Publish) -> rumqttc::Publish {
    let qos = match p.qos {
        QoS::AtMostOnce => rumqttc::QoS::AtMostOnce,
        QoS::AtLeastOnce => rumqttc::QoS::AtLeastOnce,
        QoS::ExactlyOnce => rumqttc::QoS::ExactlyOnce,
    };
    let mut r = rumqttc::Publish::from_bytes(TOPIC, qos, p.payload.clone());
    r.pkid = p.packet_id.map_or(0, PacketId::get);
    r
}

fn mqttrs_packet(p: &Publish) -> mqttrs::Packet<'_> {
    let qospid = match p.packet_id {
        None => mqttrs::QosPid::AtMostOnce,
        Some(id) => mqttrs::QosPid::AtLeastOnce(mqttrs::Pid::try_from(id.get()).unwrap()),
    };
    mqttrs::Packet::Publish(mqttrs::Publish {
        dup: false,
        qospid,
        retain: false,
        topic_name: TOPIC,
        payload: &p.payload,
    })
}

fn wire(packet: impl Into<Packet>, version: Version) -> Vec<u8> {
    let mut buf = BytesMut::new();
    packet.into().encode(version, &mut buf).unwrap();
    buf.to_vec()
}

fn repeat(one: &[u8], n: usize) -> Vec<u8> {
    let mut all = Vec::with_capacity(one.len() * n);
    for _ in 0..n {
        all.extend_from_slice(one);
    }
    all
}

/// The length of the first packet of `buf`, which must be complete: what a user of mqttrs's
/// `decode_slice` has to work out to find the next packet.
fn frame_len(buf: &[u8]) -> usize {
    let mut remaining = 0usize;
    for (i, &b) in buf[1..].iter().take(4).enumerate() {
        remaining |= usize::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return 2 + i + remaining;
        }
    }
    unreachable!("malformed remaining length")
}

// ---- decode loops, shared by the PUBLISH and mixed-stream groups ------------------------------

fn decode_ours(decoder: &Decoder, buf: &mut BytesMut) -> usize {
    let mut n = 0;
    while let Some(packet) = decoder.decode(buf).unwrap() {
        black_box(&packet);
        n += 1;
    }
    n
}

fn decode_ours_bytes(decoder: &Decoder, buf: &mut Bytes) -> usize {
    let mut n = 0;
    while let Some(packet) = decoder.decode_bytes(buf).unwrap() {
        black_box(&packet);
        n += 1;
    }
    n
}

fn decode_ours_ref(decoder: &Decoder, mut buf: &[u8]) -> usize {
    let mut n = 0;
    while let Some((packet, len)) = decoder.decode_ref(buf).unwrap() {
        black_box(&packet);
        buf = &buf[len..];
        n += 1;
    }
    n
}

fn decode_rumqttc(buf: &mut BytesMut) -> usize {
    let mut n = 0;
    while !buf.is_empty() {
        black_box(&rumqttc::Packet::read(buf, usize::MAX).unwrap());
        n += 1;
    }
    n
}

fn decode_rumqttc_v5(buf: &mut BytesMut) -> usize {
    let mut n = 0;
    while !buf.is_empty() {
        black_box(&rumqttc::v5::mqttbytes::v5::Packet::read(buf, None).unwrap());
        n += 1;
    }
    n
}

fn decode_mqttrs(mut buf: &[u8]) -> usize {
    let mut n = 0;
    while let Some(packet) = mqttrs::decode_slice(buf).unwrap() {
        black_box(&packet);
        buf = &buf[frame_len(buf)..];
        n += 1;
    }
    n
}

/// Sets the timing shared by every group: short enough that the whole run takes a few minutes.
fn configure(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50);
}

fn decode_v311(c: &mut Criterion) {
    let decoder = Decoder::new(Version::V311);
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
        for (len, size) in SIZES {
            let p = ours(qos, len);
            let one = wire(p.clone(), Version::V311);
            let n = copies(one.len());
            let all = repeat(&one, n);
            // The peers read these bytes as the same packet.
            let mut check = BytesMut::from(&one[..]);
            let rumq = rumqttc_v4(&p);
            assert_eq!(
                rumqttc::Packet::read(&mut check, usize::MAX).unwrap(),
                rumqttc::Packet::Publish(rumq)
            );
            assert_eq!(
                mqttrs::decode_slice(&one).unwrap().unwrap(),
                mqttrs_packet(&p)
            );

            let mut group =
                c.benchmark_group(format!("decode_v311/publish_q{}_{size}", qos.as_u8()));
            configure(&mut group);
            group.throughput(Throughput::Elements(n as u64));
            group.bench_function("ours", |b| {
                b.iter_batched_ref(
                    || BytesMut::from(&all[..]),
                    |buf| assert_eq!(decode_ours(&decoder, buf), n),
                    BatchSize::LargeInput,
                )
            });
            group.bench_function("ours_bytes", |b| {
                b.iter_batched_ref(
                    || Bytes::copy_from_slice(&all),
                    |buf| assert_eq!(decode_ours_bytes(&decoder, buf), n),
                    BatchSize::LargeInput,
                )
            });
            group.bench_function("ours_ref", |b| {
                b.iter(|| assert_eq!(decode_ours_ref(&decoder, black_box(&all)), n))
            });
            group.bench_function("rumqttc", |b| {
                b.iter_batched_ref(
                    || BytesMut::from(&all[..]),
                    |buf| assert_eq!(decode_rumqttc(buf), n),
                    BatchSize::LargeInput,
                )
            });
            group.bench_function("mqttrs", |b| {
                b.iter(|| assert_eq!(decode_mqttrs(black_box(&all)), n))
            });
            let mut dst = vec![0u8; all.len()];
            group.bench_function("memcpy", |b| {
                b.iter(|| {
                    dst.copy_from_slice(black_box(&all));
                    black_box(&dst);
                })
            });
            group.finish();
        }
    }
}

fn encode_v311(c: &mut Criterion) {
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
        for (len, size) in SIZES {
            let p = ours(qos, len);
            let one = wire(p.clone(), Version::V311);
            let rumq = rumqttc_v4(&p);
            let mrs = mqttrs_packet(&p);
            // Every implementation writes the same bytes.
            let mut check = BytesMut::new();
            rumq.write(&mut check).unwrap();
            assert_eq!(check[..], one[..]);
            let mut slice = vec![0u8; one.len()];
            assert_eq!(mqttrs::encode_slice(&mrs, &mut slice).unwrap(), one.len());
            assert_eq!(slice, one);

            let mut group =
                c.benchmark_group(format!("encode_v311/publish_q{}_{size}", qos.as_u8()));
            configure(&mut group);
            group.throughput(Throughput::Elements(1));
            let mut buf = BytesMut::with_capacity(one.len());
            group.bench_function("ours", |b| {
                b.iter(|| {
                    buf.clear();
                    black_box(&p).encode(Version::V311, &mut buf).unwrap();
                    black_box(&buf);
                })
            });
            group.bench_function("ours_header", |b| {
                b.iter(|| {
                    buf.clear();
                    black_box(&p)
                        .encode_header(Version::V311, &mut buf)
                        .unwrap();
                    black_box((&buf, &p.payload));
                })
            });
            group.bench_function("rumqttc", |b| {
                b.iter(|| {
                    buf.clear();
                    black_box(&rumq).write(&mut buf).unwrap();
                    black_box(&buf);
                })
            });
            group.bench_function("mqttrs", |b| {
                b.iter(|| {
                    mqttrs::encode_slice(black_box(&mrs), &mut slice).unwrap();
                    black_box(&slice);
                })
            });
            group.bench_function("memcpy", |b| {
                b.iter(|| {
                    buf.clear();
                    buf.extend_from_slice(black_box(&one));
                    black_box(&buf);
                })
            });
            group.finish();
        }
    }
}

fn mixed_v311(c: &mut Criterion) {
    let decoder = Decoder::new(Version::V311);
    let mut stream = Vec::new();
    let id = PacketId::new(0x1234).unwrap();
    for i in 0..MIXED {
        let bytes = match i % 4 {
            0 => wire(ours(QoS::AtLeastOnce, 16), Version::V311),
            1 => wire(PubAck::new(id), Version::V311),
            2 => wire(ours(QoS::AtMostOnce, 16), Version::V311),
            _ => wire(Packet::PingResp, Version::V311),
        };
        stream.extend_from_slice(&bytes);
    }
    assert_eq!(decode_mqttrs(&stream), MIXED);

    let mut group = c.benchmark_group("mixed_v311");
    configure(&mut group);
    group.throughput(Throughput::Elements(MIXED as u64));
    group.bench_function("ours", |b| {
        b.iter_batched_ref(
            || BytesMut::from(&stream[..]),
            |buf| assert_eq!(decode_ours(&decoder, buf), MIXED),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("ours_bytes", |b| {
        b.iter_batched_ref(
            || Bytes::copy_from_slice(&stream),
            |buf| assert_eq!(decode_ours_bytes(&decoder, buf), MIXED),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("ours_ref", |b| {
        b.iter(|| assert_eq!(decode_ours_ref(&decoder, black_box(&stream)), MIXED))
    });
    group.bench_function("rumqttc", |b| {
        b.iter_batched_ref(
            || BytesMut::from(&stream[..]),
            |buf| assert_eq!(decode_rumqttc(buf), MIXED),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("mqttrs", |b| {
        b.iter(|| assert_eq!(decode_mqttrs(black_box(&stream)), MIXED))
    });
    let mut dst = vec![0u8; stream.len()];
    group.bench_function("memcpy", |b| {
        b.iter(|| {
            dst.copy_from_slice(black_box(&stream));
            black_box(&dst);
        })
    });
    group.finish();
}

/// MQTT 5.0 PUBLISH rows: QoS 1, with no properties or with a typical set.
fn v5_cases() -> Vec<(String, Publish, rumqttc::v5::mqttbytes::v5::Publish)> {
    use rumqttc::v5::mqttbytes::v5 as r5;
    let mut cases = Vec::new();
    for (len, size, with_props) in [
        (16, "16B", false),
        (16, "16B_props", true),
        (65536, "64KiB", false),
    ] {
        let mut p = ours(QoS::AtLeastOnce, len);
        let mut props = None;
        if with_props {
            p.set_properties(PublishProperties {
                message_expiry_interval: Some(3600),
                content_type: Some("application/json".into()),
                user_properties: vec![UserProperty::new("trace-id", "4bf92f3577b34da6")],
                ..PublishProperties::default()
            });
            props = Some(r5::PublishProperties {
                message_expiry_interval: Some(3600),
                content_type: Some("application/json".into()),
                user_properties: vec![("trace-id".into(), "4bf92f3577b34da6".into())],
                ..r5::PublishProperties::default()
            });
        }
        let mut r = r5::Publish::new(
            TOPIC,
            rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
            p.payload.clone(),
            props,
        );
        r.pkid = 0x1234;
        cases.push((size.to_string(), p, r));
    }
    cases
}

fn v5(c: &mut Criterion) {
    let decoder = Decoder::new(Version::V5);
    for (size, p, r) in v5_cases() {
        let one = wire(p.clone(), Version::V5);
        // rumqttc reads our bytes as the same packet (the order of properties may differ when it
        // writes them, which the standard allows).
        let mut check = BytesMut::from(&one[..]);
        assert_eq!(
            rumqttc::v5::mqttbytes::v5::Packet::read(&mut check, None).unwrap(),
            rumqttc::v5::mqttbytes::v5::Packet::Publish(r.clone())
        );
        let n = copies(one.len());
        let all = repeat(&one, n);

        let mut group = c.benchmark_group(format!("decode_v5/publish_q1_{size}"));
        configure(&mut group);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function("ours", |b| {
            b.iter_batched_ref(
                || BytesMut::from(&all[..]),
                |buf| assert_eq!(decode_ours(&decoder, buf), n),
                BatchSize::LargeInput,
            )
        });
        group.bench_function("ours_ref", |b| {
            b.iter(|| assert_eq!(decode_ours_ref(&decoder, black_box(&all)), n))
        });
        group.bench_function("rumqttc", |b| {
            b.iter_batched_ref(
                || BytesMut::from(&all[..]),
                |buf| assert_eq!(decode_rumqttc_v5(buf), n),
                BatchSize::LargeInput,
            )
        });
        group.finish();

        let mut group = c.benchmark_group(format!("encode_v5/publish_q1_{size}"));
        configure(&mut group);
        group.throughput(Throughput::Elements(1));
        let mut buf = BytesMut::with_capacity(one.len());
        group.bench_function("ours", |b| {
            b.iter(|| {
                buf.clear();
                black_box(&p).encode(Version::V5, &mut buf).unwrap();
                black_box(&buf);
            })
        });
        group.bench_function("ours_header", |b| {
            b.iter(|| {
                buf.clear();
                black_box(&p).encode_header(Version::V5, &mut buf).unwrap();
                black_box((&buf, &p.payload));
            })
        });
        group.bench_function("rumqttc", |b| {
            b.iter(|| {
                buf.clear();
                black_box(&r).write(&mut buf).unwrap();
                black_box(&buf);
            })
        });
        group.finish();
    }
}

criterion_group!(benches, decode_v311, encode_v311, mixed_v311, v5);
criterion_main!(benches);
