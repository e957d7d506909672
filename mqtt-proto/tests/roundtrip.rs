//! Property tests of the codec over arbitrary valid packets of both versions.
//!
//! - every valid packet encodes to exactly `encoded_len` bytes and decodes back equal;
//! - decoding those bytes and encoding again gives the same bytes (the encoding is canonical);
//! - `Publish::encode_header` followed by the payload is the same as `Publish::encode`;
//! - arbitrary bytes, and valid packets with bytes changed, never make a decoder panic, and the
//!   three decode entry points agree;
//! - a stream of packets fed in pieces decodes to the same packets as the stream fed whole.
//!
//! The strategies build only packets that are valid for the version: MQTT 3.1.1 packets have no
//! properties, no AUTH, subscription options with only a QoS and only the return codes 3.1.1
//! has; MQTT 3.1 packets are those of 3.1.1 with a client identifier of 1 to 23 characters, no
//! Session Present and no SUBACK failure code; MQTT 5.0 packets use every property, the reason
//! codes each packet allows, and several Subscription Identifiers in PUBLISH. The checks are shared with the fuzz targets
//! (`tests/fuzz_checks/mod.rs`).

mod fuzz_checks;

use core::num::{NonZeroU16, NonZeroU32};

use bytes::Bytes;
use fuzz_checks::{
    AUTH_CODES, CONNACK_CODES, DISCONNECT_CODES, End, PUBACK_CODES, PUBREL_CODES, UNSUBACK_CODES,
    V311_CONNACK_CODES, VERSIONS, check_encoding, client_id_for, decode_all, feed_in_pieces,
    fuzz_decode, fuzz_fragmented, sample_stream, suback_codes,
};
use mqtt_proto::{
    AckProperties, Auth, AuthProperties, ByteString, ConnAck, ConnAckProperties, Connect,
    ConnectProperties, Decoder, Disconnect, DisconnectProperties, MAX_VAR_INT, Packet, PacketId,
    PubAck, PubComp, PubRec, PubRel, Publish, PublishProperties, QoS, ReasonCode, RetainHandling,
    SubAck, Subscribe, SubscribeProperties, Subscription, SubscriptionOptions, TopicFilter,
    TopicName, UnsubAck, Unsubscribe, UnsubscribeProperties, UserProperty, Version, Will,
    WillProperties,
};
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use proptest::sample::select;

// ---- strategies: fields --------------------------------------------------------------------

/// Any character but U+0000, mostly from a small alphabet that makes topics interesting.
fn character() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => select(vec!['a', 'b', 'Z', '0', ' ', '$', '/', '+', '#', 'é', '€', '😀']),
        1 => any::<char>().prop_map(|c| if c == '\0' { '_' } else { c }),
    ]
}

/// A short string of arbitrary characters without U+0000.
fn string() -> impl Strategy<Value = ByteString> {
    vec(character(), 0..6).prop_map(|chars| chars.into_iter().collect::<String>().into())
}

/// A topic level: no `/`, `+`, `#` or U+0000.
fn level() -> impl Strategy<Value = String> {
    vec(
        character().prop_map(|c| if matches!(c, '/' | '+' | '#') { 'x' } else { c }),
        0..4,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn topic_name() -> impl Strategy<Value = TopicName> {
    (any::<bool>(), vec(level(), 1..4)).prop_filter_map("empty topic", |(system, levels)| {
        let name = levels.join("/");
        TopicName::new(if system { format!("${name}") } else { name }).ok()
    })
}

fn topic_filter() -> impl Strategy<Value = TopicFilter> {
    let filter_level = prop_oneof![3 => level(), 1 => Just("+".to_owned())];
    (
        of(level()),
        vec(filter_level, 1..4),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_filter_map("invalid filter", |(share, levels, hash, shared)| {
            let mut filter = levels.join("/");
            if hash {
                filter.push_str("/#");
            }
            if let (Some(share), true) = (share, shared) {
                filter = format!("$share/{share}/{filter}");
            }
            TopicFilter::new(filter).ok()
        })
}

fn payload() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..24).prop_map(Bytes::from)
}

fn user_properties() -> impl Strategy<Value = Vec<UserProperty>> {
    vec(
        (string(), string()).prop_map(|(key, value)| UserProperty { key, value }),
        0..3,
    )
}

fn packet_id() -> impl Strategy<Value = PacketId> {
    (1..=u16::MAX).prop_map(|id| PacketId::new(id).expect("non-zero"))
}

fn nonzero_u16() -> impl Strategy<Value = NonZeroU16> {
    (1..=u16::MAX).prop_map(|v| NonZeroU16::new(v).expect("non-zero"))
}

fn nonzero_u32() -> impl Strategy<Value = NonZeroU32> {
    (1..=u32::MAX).prop_map(|v| NonZeroU32::new(v).expect("non-zero"))
}

/// A Subscription Identifier: 1 to 268,435,455, with the Variable Byte Integer boundaries.
fn subscription_id() -> impl Strategy<Value = NonZeroU32> {
    prop_oneof![
        select(vec![
            1,
            127,
            128,
            16_383,
            16_384,
            2_097_151,
            2_097_152,
            MAX_VAR_INT
        ]),
        1..=MAX_VAR_INT,
    ]
    .prop_map(|v| NonZeroU32::new(v).expect("non-zero"))
}

fn qos() -> impl Strategy<Value = QoS> {
    select(vec![QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce])
}

fn code(codes: &'static [u8]) -> impl Strategy<Value = ReasonCode> {
    select(codes).prop_map(ReasonCode)
}

/// `strategy` for MQTT 5.0, the default value for MQTT 3.1.1.
fn v5_only<T, S>(version: Version, strategy: S) -> BoxedStrategy<T>
where
    T: Default + Clone + core::fmt::Debug + 'static,
    S: Strategy<Value = T> + 'static,
{
    if version.is_v5() {
        strategy.boxed()
    } else {
        Just(T::default()).boxed()
    }
}

// ---- strategies: properties ----------------------------------------------------------------

fn connect_properties() -> impl Strategy<Value = ConnectProperties> {
    (
        of(any::<u32>()),
        of(nonzero_u16()),
        of(nonzero_u32()),
        of(any::<u16>()),
        of(any::<bool>()),
        of(any::<bool>()),
        user_properties(),
        of((string(), of(payload()))),
    )
        .prop_map(|(sei, rm, mps, tam, rri, rpi, user_properties, auth)| {
            // Authentication Data only with a method (MQTT 5.0 §3.1.2.11.10).
            let (authentication_method, authentication_data) = match auth {
                Some((method, data)) => (Some(method), data),
                None => (None, None),
            };
            ConnectProperties {
                session_expiry_interval: sei,
                receive_maximum: rm,
                maximum_packet_size: mps,
                topic_alias_maximum: tam,
                request_response_information: rri,
                request_problem_information: rpi,
                user_properties,
                authentication_method,
                authentication_data,
            }
        })
}

fn will_properties() -> impl Strategy<Value = WillProperties> {
    (
        of(any::<u32>()),
        of(any::<bool>()),
        of(any::<u32>()),
        of(string()),
        of(topic_name()),
        of(payload()),
        user_properties(),
    )
        .prop_map(
            |(wdi, pfi, mei, ct, rt, cd, user_properties)| WillProperties {
                will_delay_interval: wdi,
                payload_format_indicator: pfi,
                message_expiry_interval: mei,
                content_type: ct,
                response_topic: rt,
                correlation_data: cd,
                user_properties,
            },
        )
}

fn connack_properties() -> impl Strategy<Value = ConnAckProperties> {
    (
        (
            of(any::<u32>()),
            of(nonzero_u16()),
            // Maximum QoS is 0 or 1 (MQTT 5.0 §3.2.2.3.4).
            of(select(vec![QoS::AtMostOnce, QoS::AtLeastOnce])),
            of(any::<bool>()),
            of(nonzero_u32()),
            of(string()),
        ),
        (
            of(any::<u16>()),
            of(string()),
            user_properties(),
            of(any::<bool>()),
            of(any::<bool>()),
            of(any::<bool>()),
        ),
        (
            of(any::<u16>()),
            of(string()),
            of(string()),
            of(string()),
            of(payload()),
        ),
    )
        .prop_map(
            |((sei, rm, mq, ra, mps, aci), (tam, rs, up, wsa, sia, ssa), (ska, ri, sr, am, ad))| {
                ConnAckProperties {
                    session_expiry_interval: sei,
                    receive_maximum: rm,
                    maximum_qos: mq,
                    retain_available: ra,
                    maximum_packet_size: mps,
                    assigned_client_identifier: aci,
                    topic_alias_maximum: tam,
                    reason_string: rs,
                    user_properties: up,
                    wildcard_subscription_available: wsa,
                    subscription_identifiers_available: sia,
                    shared_subscription_available: ssa,
                    server_keep_alive: ska,
                    response_information: ri,
                    server_reference: sr,
                    authentication_method: am,
                    authentication_data: ad,
                }
            },
        )
}

fn publish_properties() -> impl Strategy<Value = PublishProperties> {
    (
        of(any::<bool>()),
        of(any::<u32>()),
        of(nonzero_u16()),
        of(topic_name()),
        of(payload()),
        user_properties(),
        vec(subscription_id(), 0..4),
        of(string()),
    )
        .prop_map(|(pfi, mei, ta, rt, cd, up, sids, ct)| PublishProperties {
            payload_format_indicator: pfi,
            message_expiry_interval: mei,
            topic_alias: ta,
            response_topic: rt,
            correlation_data: cd,
            user_properties: up,
            subscription_identifiers: sids,
            content_type: ct,
        })
}

fn ack_properties(version: Version) -> BoxedStrategy<AckProperties> {
    v5_only(
        version,
        (of(string()), user_properties()).prop_map(|(reason_string, user_properties)| {
            AckProperties {
                reason_string,
                user_properties,
            }
        }),
    )
}

// ---- strategies: packets -------------------------------------------------------------------

fn connect(version: Version) -> impl Strategy<Value = Connect> {
    let will = (
        topic_name(),
        payload(),
        qos(),
        any::<bool>(),
        v5_only(version, will_properties()),
    )
        .prop_map(|(topic, payload, qos, retain, properties)| Will {
            topic,
            payload,
            qos,
            retain,
            properties,
        });
    (
        any::<bool>(),
        any::<u16>(),
        string(),
        of(will),
        of(string()),
        of(payload()),
        v5_only(version, connect_properties()),
    )
        .prop_map(
            move |(clean_start, keep_alive, client_id, will, username, password, properties)| {
                let v311 = !version.is_v5();
                Connect {
                    // MQTT-3.1.3-7 (3.1.1): an empty client identifier needs Clean Session.
                    clean_start: clean_start || (v311 && client_id.is_empty()),
                    keep_alive,
                    // MQTT 3.1: 1 to 23 characters.
                    client_id: client_id_for(version, client_id),
                    will,
                    // MQTT-3.1.2-22 (3.1.1): a password needs a user name.
                    username: if v311 && password.is_some() {
                        Some(username.unwrap_or_default())
                    } else {
                        username
                    },
                    password,
                    properties,
                }
            },
        )
}

fn connack(version: Version) -> impl Strategy<Value = ConnAck> {
    let codes = if version.is_v5() {
        CONNACK_CODES
    } else {
        V311_CONNACK_CODES
    };
    (
        any::<bool>(),
        code(codes),
        v5_only(version, connack_properties()),
    )
        .prop_map(move |(session_present, reason_code, properties)| ConnAck {
            // MQTT-3.2.2-4 (3.1.1), MQTT-3.2.2-6 (5.0): no session with a failure; MQTT 3.1
            // has no Session Present flag.
            session_present: session_present
                && reason_code == ReasonCode::SUCCESS
                && version.has_session_present(),
            reason_code,
            properties,
        })
}

fn publish(version: Version) -> impl Strategy<Value = Publish> {
    (
        any::<(bool, bool, bool)>(),
        qos(),
        packet_id(),
        topic_name(),
        v5_only(version, publish_properties()),
        payload(),
    )
        .prop_map(
            |((dup, retain, alias_only), qos, id, topic, properties, payload)| {
                let qos0 = qos == QoS::AtMostOnce;
                // An empty topic name stands for the Topic Alias (MQTT 5.0 §3.3.2.3.4).
                let topic = if alias_only && properties.topic_alias.is_some() {
                    TopicName::default()
                } else {
                    topic
                };
                let mut publish = Publish::new(topic, payload).with_properties(properties);
                publish.dup = dup && !qos0;
                publish.qos = qos;
                publish.retain = retain;
                publish.packet_id = (!qos0).then_some(id);
                publish
            },
        )
}

/// The identifier, reason code and properties of PUBACK, PUBREC, PUBREL or PUBCOMP.
fn ack(
    version: Version,
    codes: &'static [u8],
) -> impl Strategy<Value = (PacketId, ReasonCode, AckProperties)> {
    let code = if version.is_v5() {
        code(codes).boxed()
    } else {
        Just(ReasonCode::SUCCESS).boxed()
    };
    (packet_id(), code, ack_properties(version))
}

fn subscribe(version: Version) -> impl Strategy<Value = Subscribe> {
    let subscription = (
        topic_filter(),
        qos(),
        any::<(bool, bool)>(),
        select(vec![
            RetainHandling::SendAtSubscribe,
            RetainHandling::SendAtSubscribeIfNew,
            RetainHandling::DoNotSend,
        ]),
    )
        .prop_map(
            move |(filter, qos, (no_local, retain_as_published), retain_handling)| {
                let options = if version.is_v5() {
                    SubscriptionOptions {
                        qos,
                        // No Local is not allowed on a shared subscription (MQTT-3.8.3-4).
                        no_local: no_local && !filter.is_shared(),
                        retain_as_published,
                        retain_handling,
                    }
                } else {
                    SubscriptionOptions {
                        qos,
                        ..SubscriptionOptions::default()
                    }
                };
                Subscription { filter, options }
            },
        );
    let properties = v5_only(
        version,
        (of(subscription_id()), user_properties()).prop_map(|(id, user_properties)| {
            SubscribeProperties {
                subscription_identifier: id,
                user_properties,
            }
        }),
    );
    (packet_id(), vec(subscription, 1..4), properties).prop_map(
        |(packet_id, subscriptions, properties)| Subscribe {
            packet_id,
            subscriptions,
            properties,
        },
    )
}

fn suback(version: Version) -> impl Strategy<Value = SubAck> {
    (
        packet_id(),
        vec(code(suback_codes(version)), 1..5),
        ack_properties(version),
    )
        .prop_map(|(packet_id, reason_codes, properties)| SubAck {
            packet_id,
            reason_codes,
            properties,
        })
}

fn unsubscribe(version: Version) -> impl Strategy<Value = Unsubscribe> {
    let properties = v5_only(
        version,
        user_properties().prop_map(|user_properties| UnsubscribeProperties { user_properties }),
    );
    (packet_id(), vec(topic_filter(), 1..4), properties).prop_map(
        |(packet_id, filters, properties)| Unsubscribe {
            packet_id,
            filters,
            properties,
        },
    )
}

fn unsuback(version: Version) -> impl Strategy<Value = UnsubAck> {
    // MQTT 3.1.1's UNSUBACK has no payload.
    let codes = v5_only(version, vec(code(UNSUBACK_CODES), 1..5));
    (packet_id(), codes, ack_properties(version)).prop_map(
        |(packet_id, reason_codes, properties)| UnsubAck {
            packet_id,
            reason_codes,
            properties,
        },
    )
}

fn disconnect(version: Version) -> BoxedStrategy<Disconnect> {
    v5_only(
        version,
        (
            code(DISCONNECT_CODES),
            of(any::<u32>()),
            of(string()),
            user_properties(),
            of(string()),
        )
            .prop_map(|(reason_code, sei, rs, up, sr)| Disconnect {
                reason_code,
                properties: DisconnectProperties {
                    session_expiry_interval: sei,
                    reason_string: rs,
                    user_properties: up,
                    server_reference: sr,
                },
            }),
    )
}

fn auth() -> impl Strategy<Value = Auth> {
    (
        code(AUTH_CODES),
        of((string(), of(payload()))),
        of(string()),
        user_properties(),
    )
        .prop_map(|(reason_code, auth, reason_string, user_properties)| {
            let (authentication_method, authentication_data) = match auth {
                Some((method, data)) => (Some(method), data),
                None => (None, None),
            };
            Auth {
                reason_code,
                properties: AuthProperties {
                    authentication_method,
                    authentication_data,
                    reason_string,
                    user_properties,
                },
            }
        })
}

/// Any packet that is valid for `version`, every type it has equally likely.
fn packet(version: Version) -> BoxedStrategy<Packet> {
    let common = prop_oneof![
        connect(version).prop_map(Packet::from),
        connack(version).prop_map(Packet::from),
        publish(version).prop_map(Packet::Publish),
        ack(version, PUBACK_CODES).prop_map(|(packet_id, reason_code, properties)| {
            Packet::PubAck(PubAck {
                packet_id,
                reason_code,
                properties,
            })
        }),
        ack(version, PUBACK_CODES).prop_map(|(packet_id, reason_code, properties)| {
            Packet::PubRec(PubRec {
                packet_id,
                reason_code,
                properties,
            })
        }),
        ack(version, PUBREL_CODES).prop_map(|(packet_id, reason_code, properties)| {
            Packet::PubRel(PubRel {
                packet_id,
                reason_code,
                properties,
            })
        }),
        ack(version, PUBREL_CODES).prop_map(|(packet_id, reason_code, properties)| {
            Packet::PubComp(PubComp {
                packet_id,
                reason_code,
                properties,
            })
        }),
        subscribe(version).prop_map(Packet::Subscribe),
        suback(version).prop_map(Packet::SubAck),
        unsubscribe(version).prop_map(Packet::Unsubscribe),
        unsuback(version).prop_map(Packet::UnsubAck),
        Just(Packet::PingReq),
        Just(Packet::PingResp),
        disconnect(version).prop_map(Packet::from),
    ];
    if version.is_v5() {
        prop_oneof![14 => common, 1 => auth().prop_map(Packet::from)].boxed()
    } else {
        common.boxed()
    }
}

/// A version and a packet valid for it.
fn versioned_packet() -> impl Strategy<Value = (Version, Packet)> {
    select(VERSIONS.to_vec()).prop_flat_map(|version| (Just(version), packet(version)))
}

/// A version, a stream of valid packets and the packets it holds.
fn stream() -> impl Strategy<Value = (Version, Vec<Packet>, Vec<u8>)> {
    select(VERSIONS.to_vec())
        .prop_flat_map(|version| (Just(version), vec(packet(version), 1..6)))
        .prop_map(|(version, packets)| {
            let mut wire = Vec::new();
            for p in &packets {
                p.encode(version, &mut wire).expect("valid packet");
            }
            (version, packets, wire)
        })
}

/// One way to damage an encoded packet.
#[derive(Debug, Clone)]
enum Mutation {
    /// XOR the byte at this index (modulo the length) with a non-zero value.
    Flip(usize, u8),
    /// Set the byte at this index to a value.
    Set(usize, u8),
    /// Insert a byte.
    Insert(usize, u8),
    /// Remove a byte.
    Remove(usize),
    /// Cut the bytes from this index on.
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=u8::MAX).prop_map(|(i, x)| Mutation::Flip(i, x)),
        (
            any::<usize>(),
            select(vec![0x00, 0x01, 0x7F, 0x80, 0xFF, 0x26, 0x0B, 0x23])
        )
            .prop_map(|(i, x)| Mutation::Set(i, x)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, x)| Mutation::Insert(i, x)),
        any::<usize>().prop_map(Mutation::Remove),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(wire: &mut Vec<u8>, mutation: &Mutation) {
    if wire.is_empty() {
        return;
    }
    let len = wire.len();
    match *mutation {
        Mutation::Flip(i, x) => wire[i % len] ^= x,
        Mutation::Set(i, x) => wire[i % len] = x,
        Mutation::Insert(i, x) => wire.insert(i % (len + 1), x),
        Mutation::Remove(i) => {
            wire.remove(i % len);
        }
        Mutation::Truncate(i) => wire.truncate(i % len),
    }
}

// ---- properties ----------------------------------------------------------------------------

proptest! {
    /// (a), (d), (e): encode, `encoded_len`, decode back equal, canonical re-encoding, and
    /// `encode_header` + payload, for every packet type of MQTT 3.1.1.
    #[test]
    fn v311_packets_roundtrip(packet in packet(Version::V311)) {
        check_encoding(Version::V311, &packet);
    }

    /// The same for MQTT 5.0, all properties included.
    #[test]
    fn v5_packets_roundtrip(packet in packet(Version::V5)) {
        check_encoding(Version::V5, &packet);
    }

    /// (e) on PUBLISH alone, the packet that has a separate header encoding.
    #[test]
    fn publish_header_then_payload_is_the_packet(
        (version, publish) in select(VERSIONS.to_vec())
            .prop_flat_map(|v| (Just(v), publish(v)))
    ) {
        let mut whole = Vec::new();
        publish.encode(version, &mut whole).expect("valid PUBLISH");
        let mut parts = Vec::new();
        publish.encode_header(version, &mut parts).expect("valid PUBLISH");
        prop_assert_eq!(parts.len() + publish.payload.len(), publish.encoded_len(version));
        parts.extend_from_slice(&publish.payload);
        prop_assert_eq!(parts, whole);
    }

    /// (b): arbitrary bytes never make `decode`, `decode_bytes` or `decode_slice` panic, they
    /// agree, consume at most what they were given, and whatever decodes encodes again.
    #[test]
    fn arbitrary_bytes_never_panic(data in vec(any::<u8>(), 0..96)) {
        for version in VERSIONS {
            fuzz_decode(version, &data);
        }
    }

    /// (b) closer to the valid space: a valid packet with a few bytes damaged, decoded as
    /// both versions.
    #[test]
    fn damaged_packets_never_panic(
        (version, packet) in versioned_packet(),
        mutations in vec(mutation(), 1..4),
    ) {
        let mut wire = Vec::new();
        packet.encode(version, &mut wire).expect("valid packet");
        for m in &mutations {
            mutate(&mut wire, m);
        }
        for version in VERSIONS {
            fuzz_decode(version, &wire);
        }
    }

    /// (c): a stream of valid packets, cut at random points and fed piece by piece, decodes
    /// to the packets it was made of, like the stream fed whole.
    #[test]
    fn stream_fed_in_pieces_decodes_alike(
        (version, packets, wire) in stream(),
        cuts in vec(any::<usize>(), 0..8),
    ) {
        let decoder = Decoder::new(version);
        let whole = decode_all(decoder, &wire);
        prop_assert_eq!(&whole.packets, &packets);
        prop_assert_eq!(&whole.end, &End::NeedMore(0));
        let cuts: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
        prop_assert_eq!(feed_in_pieces(decoder, &wire, &cuts), whole);
    }

    /// (c) with the `fragmented` fuzz target's own check: control bytes, then a stream of
    /// valid packets, possibly with a small maximum packet size.
    #[test]
    fn fragmented_check_holds(
        control in any::<[u8; 4]>(),
        (_, _, wire) in stream(),
    ) {
        let mut data = control.to_vec();
        data.extend_from_slice(&wire);
        fuzz_fragmented(&data);
    }
}

/// (c) exhaustively for fixed streams: the sample packets of each version (every packet type,
/// short and full forms) cut at every index into two pieces, and fed one byte at a time.
#[test]
fn sample_streams_split_at_every_index() {
    for version in VERSIONS {
        let wire = sample_stream(version);
        let decoder = Decoder::new(version);
        let whole = decode_all(decoder, &wire);
        assert_eq!(whole.end, End::NeedMore(0));
        for cut in 0..=wire.len() {
            assert_eq!(
                feed_in_pieces(decoder, &wire, &[cut]),
                whole,
                "{version}: cut at {cut}"
            );
        }
        let every: Vec<usize> = (0..wire.len()).collect();
        assert_eq!(feed_in_pieces(decoder, &wire, &every), whole);
    }
}

/// (c) for a stream with a packet whose remaining length takes several bytes, split at every
/// index: the fixed header itself arrives in pieces.
#[test]
fn long_remaining_length_split_at_every_index() {
    for version in VERSIONS {
        let topic = TopicName::new("big").expect("valid topic");
        let packets = [
            Packet::PingReq,
            Packet::Publish(Publish::new(topic.clone(), vec![0x5Au8; 300])),
            Packet::Publish(Publish::new(topic, vec![0xA5u8; 20_000])),
            Packet::PingResp,
        ];
        let mut wire = Vec::new();
        for p in &packets {
            p.encode(version, &mut wire).expect("valid packet");
        }
        let decoder = Decoder::new(version);
        let whole = decode_all(decoder, &wire);
        assert_eq!(whole.packets, packets);
        // Every cut in and around the headers, and a sample of cuts inside the payloads.
        let cuts = (0..wire.len()).filter(|&i| i < 16 || i % 997 == 0 || i + 16 > wire.len());
        for cut in cuts.chain([305, 306, 307, 308, 309, 310]) {
            assert_eq!(
                feed_in_pieces(decoder, &wire, &[cut]),
                whole,
                "{version}: cut at {cut}"
            );
        }
    }
}

/// The MQTT 3.1.1 and 5.0 samples are different bytes, and each decodes only as its version
/// where the versions disagree (a CONNECT names its protocol level).
#[test]
fn connect_decodes_only_as_its_version() {
    for version in VERSIONS {
        let mut wire = Vec::new();
        Packet::from(Connect::new("c"))
            .encode(version, &mut wire)
            .expect("valid CONNECT");
        let other = if version.is_v5() {
            Version::V311
        } else {
            Version::V5
        };
        assert!(Decoder::new(other).decode_slice(&wire).is_err());
    }
}
