//! Byte vectors written by hand from the text of the standards, one test per packet form.
//!
//! Sources: MQTT Version 3.1.1 (OASIS Standard, 29 October 2014) and MQTT Version 5.0 (OASIS
//! Standard, 7 March 2019). Where a standard gives a non-normative example, the test reproduces
//! its bytes and names the figure; elsewhere the bytes follow the layout the cited section
//! describes. Properties are written in ascending identifier order, the order this codec encodes
//! them in; the standards allow any order, and `properties_in_any_order_decode` checks that.
//!
//! Every vector is checked both ways by [`round_trip`]: `decode(bytes) == packet`, with every
//! proper prefix reported as incomplete; `encode(packet) == bytes`; and
//! `encoded_len(packet) == bytes.len()`, also when encoding into a slice of exactly that size.

use std::num::{NonZeroU16, NonZeroU32};

use bytes::{Bytes, BytesMut};
use mqtt_proto::{
    AckProperties, Auth, AuthProperties, ByteString, ConnAck, ConnAckProperties, Connect,
    ConnectProperties, Decoder, Disconnect, DisconnectProperties, EncodeError, Packet, PacketId,
    PubAck, PubComp, PubRec, PubRel, Publish, PublishProperties, QoS, ReasonCode, RetainHandling,
    SubAck, Subscribe, SubscribeProperties, Subscription, SubscriptionOptions, TopicFilter,
    TopicName, UnsubAck, Unsubscribe, UnsubscribeProperties, UserProperty, Version, Will,
    WillProperties,
};

// ---- helpers ---------------------------------------------------------------------------------

/// Joins the pieces of a hand-written packet.
fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn id(value: u16) -> PacketId {
    PacketId::new(value).unwrap()
}

fn topic(name: &str) -> TopicName {
    TopicName::new(name).unwrap()
}

fn filter(filter: &str) -> TopicFilter {
    TopicFilter::new(filter).unwrap()
}

fn user(key: &'static str, value: &'static str) -> UserProperty {
    UserProperty::new(key, value)
}

fn s(value: &'static str) -> ByteString {
    ByteString::from_static(value)
}

fn b(value: &'static (impl AsRef<[u8]> + ?Sized)) -> Bytes {
    Bytes::from_static(value.as_ref())
}

/// Decodes `wire` as one whole packet, through all three decoding entry points, and checks that
/// every proper prefix of it is reported as incomplete without consuming anything.
fn decode(version: Version, wire: &[u8]) -> Packet {
    let decoder = Decoder::new(version);
    for n in 0..wire.len() {
        let mut partial = BytesMut::from(&wire[..n]);
        assert_eq!(
            decoder.decode(&mut partial),
            Ok(None),
            "prefix of {n} bytes of {}",
            hex(wire)
        );
        assert_eq!(partial.len(), n, "a prefix was consumed");
        assert_eq!(decoder.decode_slice(&wire[..n]), Ok(None));
        assert_eq!(decoder.decode_ref(&wire[..n]), Ok(None));
    }
    let mut buf = BytesMut::from(wire);
    let packet = decoder
        .decode(&mut buf)
        .unwrap_or_else(|e| panic!("decoding {}: {e:?}", hex(wire)))
        .expect("a whole packet");
    assert!(buf.is_empty(), "decode left {} bytes", buf.len());

    let mut bytes = Bytes::copy_from_slice(wire);
    assert_eq!(decoder.decode_bytes(&mut bytes), Ok(Some(packet.clone())));
    assert!(bytes.is_empty());
    assert_eq!(
        decoder.decode_slice(wire),
        Ok(Some((packet.clone(), wire.len())))
    );
    let (borrowed, len) = decoder
        .decode_ref(wire)
        .expect("decode_ref agrees")
        .expect("a whole packet");
    assert_eq!((borrowed.into_owned(), len), (packet.clone(), wire.len()));
    assert_eq!(decoder.packet_len(wire), Ok(Some(wire.len())));
    packet
}

/// Encodes `packet` and checks the bytes, the announced length, and the behaviour on slices of
/// exactly the right size and one byte too small.
fn assert_encodes(version: Version, packet: &Packet, wire: &[u8]) {
    let mut out = Vec::new();
    packet
        .encode(version, &mut out)
        .unwrap_or_else(|e| panic!("encoding {packet:?}: {e:?}"));
    assert_eq!(hex(&out), hex(wire), "encoding {packet:?}");
    assert_eq!(packet.encoded_len(version), wire.len(), "encoded_len");

    let mut exact = vec![0u8; wire.len()];
    let mut slice = &mut exact[..];
    packet.encode(version, &mut slice).unwrap();
    assert!(slice.is_empty());
    assert_eq!(exact, wire);

    let mut short = vec![0u8; wire.len() - 1];
    let mut slice = &mut short[..];
    assert_eq!(
        packet.encode(version, &mut slice),
        Err(EncodeError::BufferTooSmall {
            needed: wire.len(),
            remaining: wire.len() - 1,
        })
    );
    assert!(
        short.iter().all(|&b| b == 0),
        "a refused encode wrote bytes"
    );
}

/// `decode(wire) == packet`, `encode(packet) == wire` and `encoded_len(packet) == wire.len()`.
#[track_caller]
fn round_trip(version: Version, wire: &[u8], packet: impl Into<Packet>) {
    let packet = packet.into();
    assert_eq!(decode(version, wire), packet, "decoding {}", hex(wire));
    assert_encodes(version, &packet, wire);
}

/// For the longer forms the standard allows but the encoder does not produce: `wire` decodes to
/// `packet`, which encodes to the shorter `canonical` form.
#[track_caller]
fn decodes_to_shorter_form(
    version: Version,
    wire: &[u8],
    packet: impl Into<Packet>,
    canonical: &[u8],
) {
    let packet = packet.into();
    assert_eq!(decode(version, wire), packet, "decoding {}", hex(wire));
    assert_encodes(version, &packet, canonical);
    assert_eq!(decode(version, canonical), packet);
}

const V3: Version = Version::V311;
const V5: Version = Version::V5;

// ---- CONNECT ---------------------------------------------------------------------------------

/// MQTT 3.1.1 §3.1.2.11, Figure 3.6 "Variable header non normative example": user name, password,
/// Will QoS 1, Will Flag and Clean Session set (flags 0xCE), Keep Alive 10; the payload fields
/// follow in the order of §3.1.3 (MQTT-3.1.3-1).
#[test]
fn v311_connect_figure_3_6() {
    let wire = cat(&[
        &[0x10, 37],
        &[0x00, 0x04],
        b"MQTT",
        &[0x04],       // Protocol Level 4 (§3.1.2.2)
        &[0xCE],       // 1100 1110
        &[0x00, 0x0A], // Keep Alive 10
        &[0x00, 0x03],
        b"cid",
        &[0x00, 0x03],
        b"w/t", // Will Topic
        &[0x00, 0x03],
        b"bye", // Will Message
        &[0x00, 0x04],
        b"user",
        &[0x00, 0x04],
        b"pass",
    ]);
    let connect = Connect {
        clean_start: true,
        keep_alive: 10,
        client_id: s("cid"),
        will: Some(Will {
            qos: QoS::AtLeastOnce,
            ..Will::new(topic("w/t"), b("bye"))
        }),
        username: Some(s("user")),
        password: Some(b("pass")),
        properties: ConnectProperties::default(),
    };
    round_trip(V3, &wire, connect);
}

/// MQTT 3.1.1 §3.1.3.1: a zero-byte Client Identifier with Clean Session 1 (MQTT-3.1.3-6/7),
/// Keep Alive 0 turning keep alive off (§3.1.2.10).
#[test]
fn v311_connect_empty_client_id_clean_session() {
    let wire = cat(&[
        &[0x10, 12, 0x00, 0x04],
        b"MQTT",
        &[0x04, 0x02, 0x00, 0x00, 0x00, 0x00],
    ]);
    let connect = Connect {
        keep_alive: 0,
        ..Connect::new("")
    };
    round_trip(V3, &wire, connect);
}

/// MQTT 3.1.1 §3.1.2.5 to §3.1.2.7: Will QoS 2 (bits 4-3 = 10) with Will Retain, Clean Session 0,
/// and a zero-length Will Message (§3.1.3.3: "zero or more bytes").
#[test]
fn v311_connect_will_qos2_retain_no_clean_session() {
    let wire = cat(&[
        &[0x10, 18, 0x00, 0x04],
        b"MQTT",
        &[0x04, 0x34, 0x01, 0x2C], // flags 0011 0100, Keep Alive 300
        &[0x00, 0x01, b'a'],
        &[0x00, 0x01, b't'],
        &[0x00, 0x00],
    ]);
    let connect = Connect {
        clean_start: false,
        keep_alive: 300,
        will: Some(Will {
            qos: QoS::ExactlyOnce,
            retain: true,
            ..Will::new(topic("t"), Bytes::new())
        }),
        ..Connect::new("a")
    };
    round_trip(V3, &wire, connect);
}

/// MQTT 3.1.1 §3.1.2.8: User Name Flag alone (flags 1000 0010).
#[test]
fn v311_connect_username_only() {
    let wire = cat(&[
        &[0x10, 19, 0x00, 0x04],
        b"MQTT",
        &[0x04, 0x82, 0x00, 0x3C],
        &[0x00, 0x01, b'c'],
        &[0x00, 0x04],
        b"user",
    ]);
    let connect = Connect {
        username: Some(s("user")),
        ..Connect::new("c")
    };
    round_trip(V3, &wire, connect);
}

/// Every combination of the CONNECT flags that the standard allows (MQTT 3.1.1 and 5.0 §3.1.2.3
/// Figure 3.4 / Figure 3-4): Clean Session/Start, no will or a will at each QoS with and without
/// Will Retain, user name, and password (MQTT 3.1.1 only with a user name, MQTT-3.1.2-22; MQTT 5.0
/// also without, §3.1.2.9). The bytes are laid out from the figure for each combination.
#[test]
fn connect_every_flag_combination() {
    for version in [V3, V5] {
        let v5 = version.is_v5();
        let wills = [None]
            .into_iter()
            .chain((0..3).flat_map(|qos| [false, true].map(|retain| Some((qos, retain)))));
        for will in wills {
            for clean in [false, true] {
                for (username, password) in
                    [(false, false), (true, false), (true, true), (false, true)]
                {
                    if !v5 && password && !username {
                        continue;
                    }
                    let mut flags = u8::from(clean) << 1;
                    if let Some((qos, retain)) = will {
                        flags |= 0b100 | (qos << 3) | (u8::from(retain) << 5);
                    }
                    flags |= (u8::from(username) << 7) | (u8::from(password) << 6);

                    let mut body = cat(&[
                        &[0x00, 0x04],
                        b"MQTT",
                        &[version.level(), flags, 0x00, 0x3C],
                    ]);
                    if v5 {
                        body.push(0x00); // Property Length
                    }
                    body.extend_from_slice(&[0x00, 0x01, b'c']);
                    if will.is_some() {
                        if v5 {
                            body.push(0x00); // Will Property Length
                        }
                        body.extend_from_slice(&[0x00, 0x01, b't', 0x00, 0x01, b'm']);
                    }
                    if username {
                        body.extend_from_slice(&[0x00, 0x01, b'u']);
                    }
                    if password {
                        body.extend_from_slice(&[0x00, 0x01, b'p']);
                    }
                    let wire = cat(&[&[0x10, body.len() as u8], &body]);

                    let connect = Connect {
                        clean_start: clean,
                        will: will.map(|(qos, retain)| Will {
                            qos: QoS::from_u8(qos).unwrap(),
                            retain,
                            ..Will::new(topic("t"), b("m"))
                        }),
                        username: username.then(|| s("u")),
                        password: password.then(|| b("p")),
                        ..Connect::new("c")
                    };
                    round_trip(version, &wire, connect);
                }
            }
        }
    }
}

/// MQTT 5.0 §3.1.2.12, Figure 3-6 "Variable Header example": flags 0xCE, Keep Alive 10, and a
/// property list of 5 bytes holding Session Expiry Interval (identifier 17) = 10. The payload
/// follows §3.1.3 with an empty Will Properties list (§3.1.3.2.1).
#[test]
fn v5_connect_figure_3_6() {
    let wire = cat(&[
        &[0x10, 44],
        &[0x00, 0x04],
        b"MQTT",
        &[0x05], // Protocol Version 5 (§3.1.2.2)
        &[0xCE],
        &[0x00, 0x0A],
        &[0x05, 0x11, 0x00, 0x00, 0x00, 0x0A],
        &[0x00, 0x03],
        b"cid",
        &[0x00], // Will Properties: none
        &[0x00, 0x03],
        b"w/t",
        &[0x00, 0x03],
        b"bye",
        &[0x00, 0x04],
        b"user",
        &[0x00, 0x04],
        b"pass",
    ]);
    let connect = Connect {
        clean_start: true,
        keep_alive: 10,
        client_id: s("cid"),
        will: Some(Will {
            qos: QoS::AtLeastOnce,
            ..Will::new(topic("w/t"), b("bye"))
        }),
        username: Some(s("user")),
        password: Some(b("pass")),
        properties: ConnectProperties {
            session_expiry_interval: Some(10),
            ..ConnectProperties::default()
        },
    };
    round_trip(V5, &wire, connect);
}

/// MQTT 5.0 §3.1.2.9: "This version of the protocol allows the sending of a Password with no User
/// Name, where MQTT v3.1.1 did not" (flags 0100 0010).
#[test]
fn v5_connect_password_without_username() {
    let wire = cat(&[
        &[0x10, 22, 0x00, 0x04],
        b"MQTT",
        &[0x05, 0x42, 0x00, 0x3C, 0x00],
        &[0x00, 0x01, b'c'],
        &[0x00, 0x06],
        b"secret",
    ]);
    let connect = Connect {
        password: Some(b("secret")),
        ..Connect::new("c")
    };
    round_trip(V5, &wire, connect);
}

/// MQTT 5.0 §3.1.2.11.2 to §3.1.2.11.10: every CONNECT property, the User Property twice with the
/// same name (§3.1.2.11.8: "The User Property is allowed to appear multiple times ... The same name
/// is allowed to appear more than once"), in order.
#[test]
fn v5_connect_every_property() {
    let wire = cat(&[
        &[0x10, 61, 0x00, 0x04],
        b"MQTT",
        &[0x05, 0x02, 0x00, 0x00],
        &[47],                           // Property Length
        &[0x11, 0x00, 0x00, 0x0E, 0x10], // Session Expiry Interval 3600
        &[0x15, 0x00, 0x05],
        b"SCRAM",                        // Authentication Method
        &[0x16, 0x00, 0x02, 0x01, 0x02], // Authentication Data
        &[0x17, 0x00],                   // Request Problem Information 0
        &[0x19, 0x01],                   // Request Response Information 1
        &[0x21, 0x00, 0x14],             // Receive Maximum 20
        &[0x22, 0x00, 0x0A],             // Topic Alias Maximum 10
        &[0x26, 0x00, 0x01, b'a', 0x00, 0x01, b'1'],
        &[0x26, 0x00, 0x01, b'a', 0x00, 0x01, b'2'],
        &[0x27, 0x00, 0x00, 0x04, 0x00], // Maximum Packet Size 1024
        &[0x00, 0x01, b'c'],
    ]);
    let connect = Connect {
        keep_alive: 0,
        properties: ConnectProperties {
            session_expiry_interval: Some(3600),
            receive_maximum: NonZeroU16::new(20),
            maximum_packet_size: NonZeroU32::new(1024),
            topic_alias_maximum: Some(10),
            request_response_information: Some(true),
            request_problem_information: Some(false),
            user_properties: vec![user("a", "1"), user("a", "2")],
            authentication_method: Some(s("SCRAM")),
            authentication_data: Some(b(&[1, 2])),
        },
        ..Connect::new("c")
    };
    round_trip(V5, &wire, connect);
}

/// MQTT 5.0 §3.1.3.2: every Will Property, with Will QoS 1 and Will Retain (flags 0010 1110).
#[test]
fn v5_connect_every_will_property() {
    let wire = cat(&[
        &[0x10, 58, 0x00, 0x04],
        b"MQTT",
        &[0x05, 0x2E, 0x00, 0x1E, 0x00],
        &[0x00, 0x01, b'c'],
        &[37],                           // Will Property Length
        &[0x01, 0x01],                   // Payload Format Indicator: UTF-8
        &[0x02, 0x00, 0x00, 0x00, 0x3C], // Message Expiry Interval 60
        &[0x03, 0x00, 0x04],
        b"json", // Content Type
        &[0x08, 0x00, 0x03],
        b"r/t",                          // Response Topic
        &[0x09, 0x00, 0x02, 0xCA, 0xFE], // Correlation Data
        &[0x18, 0x00, 0x00, 0x00, 0x05], // Will Delay Interval 5
        &[0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v'],
        &[0x00, 0x01, b'w'],
        &[0x00, 0x01, b'x'],
    ]);
    let connect = Connect {
        keep_alive: 30,
        will: Some(Will {
            topic: topic("w"),
            payload: b("x"),
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: WillProperties {
                will_delay_interval: Some(5),
                payload_format_indicator: Some(true),
                message_expiry_interval: Some(60),
                content_type: Some(s("json")),
                response_topic: Some(topic("r/t")),
                correlation_data: Some(b(&[0xCA, 0xFE])),
                user_properties: vec![user("k", "v")],
            },
        }),
        ..Connect::new("c")
    };
    round_trip(V5, &wire, connect);
}

// ---- CONNACK ---------------------------------------------------------------------------------

/// MQTT 3.1.1 §3.2.2.3, Table 3.1: return codes 0 to 5, each mapped onto the MQTT 5.0 reason code
/// of the same meaning (MQTT 5.0 §3.2.2.2, Table 3-1).
#[test]
fn v311_connack_return_codes() {
    let codes = [
        (0x00, ReasonCode::SUCCESS),
        (0x01, ReasonCode::UNSUPPORTED_PROTOCOL_VERSION),
        (0x02, ReasonCode::CLIENT_IDENTIFIER_NOT_VALID),
        (0x03, ReasonCode::SERVER_UNAVAILABLE),
        (0x04, ReasonCode::BAD_USER_NAME_OR_PASSWORD),
        (0x05, ReasonCode::NOT_AUTHORIZED),
    ];
    for (code, reason_code) in codes {
        let connack = ConnAck {
            reason_code,
            ..ConnAck::default()
        };
        round_trip(V3, &[0x20, 0x02, 0x00, code], connack);
    }
}

/// MQTT 3.1.1 §3.2.2.2: Session Present, bit 0 of the Connect Acknowledge Flags.
#[test]
fn v311_connack_session_present() {
    let connack = ConnAck {
        session_present: true,
        ..ConnAck::default()
    };
    round_trip(V3, &[0x20, 0x02, 0x01, 0x00], connack);
}

/// MQTT 5.0 §3.2.2: flags, reason code and an empty property list (§3.2.2.3.1).
#[test]
fn v5_connack_without_properties() {
    round_trip(V5, &[0x20, 0x03, 0x00, 0x00, 0x00], ConnAck::default());
    let resumed = ConnAck {
        session_present: true,
        ..ConnAck::default()
    };
    round_trip(V5, &[0x20, 0x03, 0x01, 0x00, 0x00], resumed);
    for code in [
        0x80, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97, 0x9C, 0x9F,
    ] {
        let refused = ConnAck {
            reason_code: ReasonCode(code),
            ..ConnAck::default()
        };
        round_trip(V5, &[0x20, 0x03, 0x00, code, 0x00], refused);
    }
}

/// MQTT 5.0 §3.2.2.3.2 to §3.2.2.3.18: every CONNACK property.
#[test]
fn v5_connack_every_property() {
    let wire = cat(&[
        &[0x20, 68, 0x00, 0x00],
        &[65],                           // Property Length
        &[0x11, 0xFF, 0xFF, 0xFF, 0xFF], // Session Expiry Interval: never expires
        &[0x12, 0x00, 0x03],
        b"id1",              // Assigned Client Identifier
        &[0x13, 0x00, 0x78], // Server Keep Alive 120
        &[0x15, 0x00, 0x01, b'm'],
        &[0x16, 0x00, 0x01, 0x00],
        &[0x1A, 0x00, 0x02],
        b"ri", // Response Information
        &[0x1C, 0x00, 0x02],
        b"s2", // Server Reference
        &[0x1F, 0x00, 0x02],
        b"ok",               // Reason String
        &[0x21, 0x00, 0x64], // Receive Maximum 100
        &[0x22, 0x00, 0x10], // Topic Alias Maximum 16
        &[0x24, 0x01],       // Maximum QoS 1
        &[0x25, 0x00],       // Retain Available: no
        &[0x26, 0x00, 0x01, b'x', 0x00, 0x01, b'y'],
        &[0x27, 0x00, 0x01, 0x00, 0x00], // Maximum Packet Size 65536
        &[0x28, 0x00],                   // Wildcard Subscription Available: no
        &[0x29, 0x01],                   // Subscription Identifiers Available: yes
        &[0x2A, 0x00],                   // Shared Subscription Available: no
    ]);
    let connack = ConnAck {
        session_present: false,
        reason_code: ReasonCode::SUCCESS,
        properties: ConnAckProperties {
            session_expiry_interval: Some(u32::MAX),
            receive_maximum: NonZeroU16::new(100),
            maximum_qos: Some(QoS::AtLeastOnce),
            retain_available: Some(false),
            maximum_packet_size: NonZeroU32::new(65536),
            assigned_client_identifier: Some(s("id1")),
            topic_alias_maximum: Some(16),
            reason_string: Some(s("ok")),
            user_properties: vec![user("x", "y")],
            wildcard_subscription_available: Some(false),
            subscription_identifiers_available: Some(true),
            shared_subscription_available: Some(false),
            server_keep_alive: Some(120),
            response_information: Some(s("ri")),
            server_reference: Some(s("s2")),
            authentication_method: Some(s("m")),
            authentication_data: Some(b(&[0x00])),
        },
    };
    round_trip(V5, &wire, connack);
}

/// MQTT 5.0 §3.2.2.3.4: Maximum QoS 0.
#[test]
fn v5_connack_maximum_qos_0() {
    let connack = ConnAck {
        properties: ConnAckProperties {
            maximum_qos: Some(QoS::AtMostOnce),
            ..ConnAckProperties::default()
        },
        ..ConnAck::default()
    };
    round_trip(V5, &[0x20, 0x05, 0x00, 0x00, 0x02, 0x24, 0x00], connack);
}

// ---- PUBLISH ---------------------------------------------------------------------------------

fn publish(qos: QoS, packet_id: Option<u16>, name: &str, payload: &'static [u8]) -> Publish {
    let mut publish = Publish::new(topic(name), b(payload));
    publish.qos = qos;
    publish.packet_id = packet_id.map(id);
    publish
}

/// MQTT 3.1.1 §3.3.2.3, Table 3.3 and Figure 3.11 "Publish Packet variable header non normative
/// example": Topic Name "a/b", Packet Identifier 10; here with QoS 1 and payload "hi".
#[test]
fn v311_publish_figure_3_11() {
    let wire = cat(&[&[0x32, 9, 0x00, 0x03], b"a/b", &[0x00, 0x0A], b"hi"]);
    round_trip(V3, &wire, publish(QoS::AtLeastOnce, Some(10), "a/b", b"hi"));
}

/// MQTT 3.1.1 §3.3.3: "It is valid for a PUBLISH Packet to contain a zero length payload"; QoS 0
/// has no Packet Identifier (§3.3.2.2).
#[test]
fn publish_qos0_empty_payload() {
    let wire = cat(&[&[0x30, 5, 0x00, 0x03], b"a/b"]);
    round_trip(V3, &wire, publish(QoS::AtMostOnce, None, "a/b", b""));
    let wire = cat(&[&[0x30, 6, 0x00, 0x03], b"a/b", &[0x00]]);
    round_trip(V5, &wire, publish(QoS::AtMostOnce, None, "a/b", b""));
}

/// MQTT 3.1.1 and 5.0 §3.3.1, Figure 3.10 / Figure 3-7: every valid combination of DUP, QoS and
/// RETAIN in the fixed header (DUP only with QoS 1 and 2, MQTT-3.3.1-2).
#[test]
fn publish_every_fixed_header_flag_combination() {
    for version in [V3, V5] {
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            for dup in [false, true] {
                if dup && qos == QoS::AtMostOnce {
                    continue;
                }
                for retain in [false, true] {
                    let first = 0x30 | (u8::from(dup) << 3) | (qos.as_u8() << 1) | u8::from(retain);
                    let mut body = cat(&[&[0x00, 0x03], b"a/b"]);
                    if qos != QoS::AtMostOnce {
                        body.extend_from_slice(&[0x12, 0x34]);
                    }
                    if version.is_v5() {
                        body.push(0x00);
                    }
                    body.push(b'!');
                    let wire = cat(&[&[first, body.len() as u8], &body]);
                    let packet = {
                        let mut publish =
                            publish(qos, (qos != QoS::AtMostOnce).then_some(0x1234), "a/b", b"!");
                        publish.dup = dup;
                        publish.retain = retain;
                        publish
                    };
                    round_trip(version, &wire, packet);
                }
            }
        }
    }
}

/// MQTT 3.1.1 §2.2.3, Table 2.4: a Remaining Length of 205 takes two bytes, 0xCD 0x01.
#[test]
fn v311_publish_two_byte_remaining_length() {
    static PAYLOAD: [u8; 200] = [0x5A; 200];
    let wire = cat(&[&[0x30, 0xCD, 0x01, 0x00, 0x03], b"a/b", &PAYLOAD]);
    round_trip(V3, &wire, publish(QoS::AtMostOnce, None, "a/b", &PAYLOAD));
}

/// MQTT 5.0 §1.5.4, Figure 1-1 "UTF-8 Encoded String non-normative example": "A𪛔" (U+0041,
/// U+2A6D4) is 00 05 41 F0 AA 9B 94, here as a Topic Name.
#[test]
fn publish_topic_figure_1_1() {
    let wire = [0x30, 0x08, 0x00, 0x05, 0x41, 0xF0, 0xAA, 0x9B, 0x94, 0x00];
    round_trip(V5, &wire, publish(QoS::AtMostOnce, None, "A\u{2A6D4}", b""));
}

/// MQTT 5.0 §3.3.2, Figure 3-9 "Publish packet Variable Header non-normative example": Topic Name
/// "a/b", Packet Identifier 10, no properties; here with QoS 1 and no payload.
#[test]
fn v5_publish_figure_3_9() {
    let wire = cat(&[&[0x32, 8, 0x00, 0x03], b"a/b", &[0x00, 0x0A, 0x00]]);
    round_trip(V5, &wire, publish(QoS::AtLeastOnce, Some(10), "a/b", b""));
}

/// MQTT 5.0 §3.3.2.3.2 to §3.3.2.3.9: every PUBLISH property. The Subscription Identifier appears
/// three times (§3.3.2.3.8: "Multiple Subscription Identifiers will be included if the publication
/// is the result of a match to more than one subscription"), with 1, 2 and 4 byte encodings up to
/// the maximum 268,435,455; the User Property three times, in an order that is kept (§3.3.2.3.7:
/// "The Server MUST maintain the order of User Properties", MQTT-3.3.2-18).
#[test]
fn v5_publish_every_property() {
    let wire = cat(&[
        &[0x32, 69, 0x00, 0x03],
        b"t/1",
        &[0x00, 0x01],
        &[59],                           // Property Length
        &[0x01, 0x01],                   // Payload Format Indicator: UTF-8
        &[0x02, 0x00, 0x00, 0x0E, 0x10], // Message Expiry Interval 3600
        &[0x03, 0x00, 0x04],
        b"json",
        &[0x08, 0x00, 0x03],
        b"r/1",
        &[0x09, 0x00, 0x02],
        b"cd",
        &[0x0B, 0x01],                   // Subscription Identifier 1
        &[0x0B, 0xC8, 0x01],             // Subscription Identifier 200
        &[0x0B, 0xFF, 0xFF, 0xFF, 0x7F], // Subscription Identifier 268,435,455
        &[0x23, 0x00, 0x05],             // Topic Alias 5
        &[0x26, 0x00, 0x01, b'b', 0x00, 0x01, b'2'],
        &[0x26, 0x00, 0x01, b'a', 0x00, 0x01, b'1'],
        &[0x26, 0x00, 0x01, b'b', 0x00, 0x01, b'3'],
        b"{}",
    ]);
    let packet =
        publish(QoS::AtLeastOnce, Some(1), "t/1", b"{}").with_properties(PublishProperties {
            payload_format_indicator: Some(true),
            message_expiry_interval: Some(3600),
            topic_alias: NonZeroU16::new(5),
            response_topic: Some(topic("r/1")),
            correlation_data: Some(b(b"cd")),
            user_properties: vec![user("b", "2"), user("a", "1"), user("b", "3")],
            subscription_identifiers: [1, 200, 268_435_455]
                .map(|v| NonZeroU32::new(v).unwrap())
                .to_vec(),
            content_type: Some(s("json")),
        });
    round_trip(V5, &wire, packet);
}

/// MQTT 5.0 §3.3.2.3.4: "A sender can modify the Topic Alias mapping by sending another PUBLISH
/// in the same Network Connection with the same Topic Alias value and a different non-zero length
/// Topic Name"; and one that uses the alias sends a zero length Topic Name (§3.3.2.1).
#[test]
fn v5_publish_topic_alias_with_empty_topic() {
    let wire = [0x30, 7, 0x00, 0x00, 0x03, 0x23, 0x00, 0x05, b'p'];
    let packet = {
        let mut publish = Publish::new(topic("x"), b("p"));
        publish.topic = TopicName::default();
        publish.set_properties(PublishProperties {
            topic_alias: NonZeroU16::new(5),
            ..PublishProperties::default()
        });
        publish
    };
    round_trip(V5, &wire, packet);

    let wire = cat(&[&[0x30, 9, 0x00, 0x03], b"a/b", &[0x03, 0x23, 0x00, 0x05]]);
    let packet = Publish::new(topic("a/b"), Bytes::new()).with_properties(PublishProperties {
        topic_alias: NonZeroU16::new(5),
        ..PublishProperties::default()
    });
    round_trip(V5, &wire, packet);
}

/// MQTT 5.0 §2.2.2.2: the standard fixes no order among properties. A list in descending order,
/// User Properties mixed with Subscription Identifiers, decodes to the same packet, keeping the
/// relative order of the User Properties and of the Subscription Identifiers.
#[test]
fn properties_in_any_order_decode() {
    let wire = cat(&[
        &[0x30, 27, 0x00, 0x01, b't'],
        &[21],
        &[0x26, 0x00, 0x01, b'z', 0x00, 0x00],
        &[0x23, 0x00, 0x07],
        &[0x0B, 0x09],
        &[0x26, 0x00, 0x01, b'a', 0x00, 0x00],
        &[0x0B, 0x02],
        &[0x01, 0x00],
        b"pl",
    ]);
    let packet = publish(QoS::AtMostOnce, None, "t", b"pl").with_properties(PublishProperties {
        payload_format_indicator: Some(false),
        topic_alias: NonZeroU16::new(7),
        user_properties: vec![user("z", ""), user("a", "")],
        subscription_identifiers: vec![NonZeroU32::new(9).unwrap(), NonZeroU32::new(2).unwrap()],
        ..PublishProperties::default()
    });
    assert_eq!(decode(V5, &wire), Packet::Publish(packet.clone()));
    let canonical = cat(&[
        &[0x30, 27, 0x00, 0x01, b't'],
        &[21],
        &[0x01, 0x00],
        &[0x0B, 0x09],
        &[0x0B, 0x02],
        &[0x23, 0x00, 0x07],
        &[0x26, 0x00, 0x01, b'z', 0x00, 0x00],
        &[0x26, 0x00, 0x01, b'a', 0x00, 0x00],
        b"pl",
    ]);
    round_trip(V5, &canonical, packet);
}

// ---- PUBACK, PUBREC, PUBREL, PUBCOMP ----------------------------------------------------------

/// The four acknowledgements share a layout; this builds one of them.
fn ack(first: u8, packet_id: u16, reason_code: u8, properties: AckProperties) -> Packet {
    let (packet_id, reason_code) = (id(packet_id), ReasonCode(reason_code));
    match first >> 4 {
        4 => PubAck {
            packet_id,
            reason_code,
            properties,
        }
        .into(),
        5 => PubRec {
            packet_id,
            reason_code,
            properties,
        }
        .into(),
        6 => PubRel {
            packet_id,
            reason_code,
            properties,
        }
        .into(),
        7 => PubComp {
            packet_id,
            reason_code,
            properties,
        }
        .into(),
        _ => unreachable!(),
    }
}

/// The first byte of each acknowledgement (§3.4.1, §3.5.1, §3.6.1 with its reserved 0010, §3.7.1)
/// with a reason code that is not Success and that the packet may carry.
const ACKS: [(u8, u8); 4] = [(0x40, 0x10), (0x50, 0x80), (0x62, 0x92), (0x70, 0x92)];

/// MQTT 3.1.1 §3.4 to §3.7, Figures 3.12 to 3.19: fixed header, Remaining Length 2, Packet
/// Identifier.
#[test]
fn v311_acks() {
    for (first, _) in ACKS {
        round_trip(
            V3,
            &[first, 0x02, 0x00, 0x0A],
            ack(first, 10, 0x00, AckProperties::default()),
        );
    }
}

/// MQTT 5.0 §3.4.2.1 (and §3.5.2.1, §3.6.2.1, §3.7.2.1): "The Reason Code and Property Length can
/// be omitted if the Reason Code is 0x00 (Success) and there are no Properties. In this case the
/// PUBACK has a Remaining Length of 2."
#[test]
fn v5_acks_remaining_length_2() {
    for (first, _) in ACKS {
        round_trip(
            V5,
            &[first, 0x02, 0xAB, 0xCD],
            ack(first, 0xABCD, 0x00, AckProperties::default()),
        );
    }
}

/// MQTT 5.0 §3.4.2.2.1: "If the Remaining Length is less than 4 there is no Property Length and
/// the value of 0 is used": a Remaining Length of 3 carries a reason code alone.
#[test]
fn v5_acks_remaining_length_3() {
    for (first, code) in ACKS {
        round_trip(
            V5,
            &[first, 0x03, 0x00, 0x0A, code],
            ack(first, 10, code, AckProperties::default()),
        );
    }
}

/// MQTT 5.0 §3.4.2.2.1: a Remaining Length of 4 with a Property Length of 0 is valid too; the
/// encoder sends the shorter form that means the same.
#[test]
fn v5_acks_remaining_length_4_empty_properties() {
    for (first, code) in ACKS {
        decodes_to_shorter_form(
            V5,
            &[first, 0x04, 0x00, 0x0A, code, 0x00],
            ack(first, 10, code, AckProperties::default()),
            &[first, 0x03, 0x00, 0x0A, code],
        );
        decodes_to_shorter_form(
            V5,
            &[first, 0x04, 0x00, 0x0A, 0x00, 0x00],
            ack(first, 10, 0x00, AckProperties::default()),
            &[first, 0x02, 0x00, 0x0A],
        );
    }
}

/// MQTT 5.0 §3.4.2.2.2 and §3.4.2.2.3: Reason String and User Property.
#[test]
fn v5_acks_with_properties() {
    for (first, code) in ACKS {
        let wire = cat(&[
            &[first, 18, 0x00, 0x0A, code, 14],
            &[0x1F, 0x00, 0x04],
            b"nope",
            &[0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v'],
        ]);
        let properties = AckProperties {
            reason_string: Some(s("nope")),
            user_properties: vec![user("k", "v")],
        };
        round_trip(V5, &wire, ack(first, 10, code, properties));

        // Success with a property: the reason code must be written to reach the properties.
        let wire = [first, 8, 0x00, 0x0A, 0x00, 4, 0x1F, 0x00, 0x01, b'x'];
        let properties = AckProperties {
            reason_string: Some(s("x")),
            ..AckProperties::default()
        };
        round_trip(V5, &wire, ack(first, 10, 0x00, properties));
    }
}

// ---- SUBSCRIBE -------------------------------------------------------------------------------

fn subscription(f: &str, qos: QoS) -> Subscription {
    Subscription::new(filter(f), qos)
}

/// MQTT 3.1.1 §3.8.2, Figure 3.21 "Variable header with a Packet Identifier of 10", and §3.8.3,
/// Table 3.5 and Figure 3.23 "Payload byte format non normative example": "a/b" at QoS 1 and
/// "c/d" at QoS 2.
#[test]
fn v311_subscribe_figures_3_21_and_3_23() {
    let wire = cat(&[
        &[0x82, 14, 0x00, 0x0A],
        &[0x00, 0x03],
        b"a/b",
        &[0x01],
        &[0x00, 0x03],
        b"c/d",
        &[0x02],
    ]);
    let subscribe = Subscribe::new(
        id(10),
        vec![
            subscription("a/b", QoS::AtLeastOnce),
            subscription("c/d", QoS::ExactlyOnce),
        ],
    );
    round_trip(V3, &wire, subscribe);
}

/// MQTT 3.1.1 §3.8.3.1, Figure 3.22: the Requested QoS byte, 0 to 2.
#[test]
fn v311_subscribe_each_qos() {
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let wire = [0x82, 6, 0x00, 0x01, 0x00, 0x01, b'#', qos.as_u8()];
        round_trip(
            V3,
            &wire,
            Subscribe::new(id(1), vec![subscription("#", qos)]),
        );
    }
}

/// MQTT 5.0 §3.8.3, Figure 3-21 "Payload byte format non-normative example": "a/b" with
/// Subscription Options 1 and "c/d" with 2, after a Packet Identifier of 10 and no properties
/// (§3.8.2).
#[test]
fn v5_subscribe_figure_3_21() {
    let wire = cat(&[
        &[0x82, 15, 0x00, 0x0A, 0x00],
        &[0x00, 0x03],
        b"a/b",
        &[0x01],
        &[0x00, 0x03],
        b"c/d",
        &[0x02],
    ]);
    let subscribe = Subscribe::new(
        id(10),
        vec![
            subscription("a/b", QoS::AtLeastOnce),
            subscription("c/d", QoS::ExactlyOnce),
        ],
    );
    round_trip(V5, &wire, subscribe);
}

/// MQTT 5.0 §3.8.3.1, Figure 3-20 "SUBSCRIBE packet Subscription Options": every valid
/// combination of Maximum QoS (bits 1-0), No Local (bit 2), Retain As Published (bit 3) and
/// Retain Handling (bits 5-4, 0 to 2).
#[test]
fn v5_subscribe_every_subscription_option() {
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        for no_local in [false, true] {
            for retain_as_published in [false, true] {
                for (rh, retain_handling) in [
                    (0, RetainHandling::SendAtSubscribe),
                    (1, RetainHandling::SendAtSubscribeIfNew),
                    (2, RetainHandling::DoNotSend),
                ] {
                    let options_byte = (rh << 4)
                        | (u8::from(retain_as_published) << 3)
                        | (u8::from(no_local) << 2)
                        | qos.as_u8();
                    let wire = [0x82, 7, 0x00, 0x01, 0x00, 0x00, 0x01, b'a', options_byte];
                    let options = SubscriptionOptions {
                        qos,
                        no_local,
                        retain_as_published,
                        retain_handling,
                    };
                    let subscribe = Subscribe::new(
                        id(1),
                        vec![Subscription {
                            filter: filter("a"),
                            options,
                        }],
                    );
                    round_trip(V5, &wire, subscribe);
                }
            }
        }
    }
}

/// MQTT 5.0 §3.8.2.1: Subscription Identifier 128 (two bytes) and a User Property, for a shared
/// subscription (§4.8.2) at QoS 2 with Retain Handling 1 and No Local clear (MQTT-3.8.3-4).
#[test]
fn v5_subscribe_with_properties_and_shared_filter() {
    let wire = cat(&[
        &[0x82, 28, 0x00, 0x02],
        &[10],
        &[0x0B, 0x80, 0x01],
        &[0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v'],
        &[0x00, 12],
        b"$share/g/a/#",
        &[0x12],
    ]);
    let subscribe = Subscribe {
        packet_id: id(2),
        subscriptions: vec![Subscription {
            filter: filter("$share/g/a/#"),
            options: SubscriptionOptions {
                qos: QoS::ExactlyOnce,
                retain_handling: RetainHandling::SendAtSubscribeIfNew,
                ..SubscriptionOptions::default()
            },
        }],
        properties: SubscribeProperties {
            subscription_identifier: NonZeroU32::new(128),
            user_properties: vec![user("k", "v")],
        },
    };
    round_trip(V5, &wire, subscribe);
}

// ---- SUBACK ----------------------------------------------------------------------------------

/// MQTT 3.1.1 §3.9.3, Table 3.6 and Figure 3.27 "Payload byte format non normative example":
/// Success QoS 0, Success QoS 2, Failure (0x80).
#[test]
fn v311_suback_figure_3_27() {
    let suback = SubAck {
        packet_id: id(10),
        reason_codes: vec![
            ReasonCode::GRANTED_QOS_0,
            ReasonCode::GRANTED_QOS_2,
            ReasonCode::UNSPECIFIED_ERROR,
        ],
        properties: AckProperties::default(),
    };
    round_trip(V3, &[0x90, 0x05, 0x00, 0x0A, 0x00, 0x02, 0x80], suback);
    let suback = SubAck {
        packet_id: id(10),
        reason_codes: vec![ReasonCode::GRANTED_QOS_1],
        properties: AckProperties::default(),
    };
    round_trip(V3, &[0x90, 0x03, 0x00, 0x0A, 0x01], suback);
}

/// MQTT 5.0 §3.9.3, Table 3-8: every SUBACK reason code, in one packet.
#[test]
fn v5_suback_every_reason_code() {
    let codes = [
        0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2,
    ];
    let wire = cat(&[&[0x90, 15, 0x00, 0x0A, 0x00], &codes]);
    let suback = SubAck {
        packet_id: id(10),
        reason_codes: codes.map(ReasonCode).to_vec(),
        properties: AckProperties::default(),
    };
    round_trip(V5, &wire, suback);
}

/// MQTT 5.0 §3.9.2.1: a Reason String.
#[test]
fn v5_suback_with_reason_string() {
    let wire = cat(&[&[0x90, 9, 0x00, 0x0A, 5, 0x1F, 0x00, 0x02], b"no", &[0x87]]);
    let suback = SubAck {
        packet_id: id(10),
        reason_codes: vec![ReasonCode::NOT_AUTHORIZED],
        properties: AckProperties {
            reason_string: Some(s("no")),
            ..AckProperties::default()
        },
    };
    round_trip(V5, &wire, suback);
}

// ---- UNSUBSCRIBE -----------------------------------------------------------------------------

/// MQTT 3.1.1 §3.10.3, Table 3.7 and Figure 3.30 "Payload byte format non normative example":
/// the Topic Filters "a/b" and "c/d".
#[test]
fn v311_unsubscribe_figure_3_30() {
    let wire = cat(&[
        &[0xA2, 12, 0x00, 0x0A],
        &[0x00, 0x03],
        b"a/b",
        &[0x00, 0x03],
        b"c/d",
    ]);
    round_trip(
        V3,
        &wire,
        Unsubscribe::new(id(10), vec![filter("a/b"), filter("c/d")]),
    );
}

/// MQTT 5.0 §3.10.3, Figure 3-30 "Payload byte format non-normative example", after an empty
/// property list (§3.10.2.1).
#[test]
fn v5_unsubscribe_figure_3_30() {
    let wire = cat(&[
        &[0xA2, 13, 0x00, 0x0A, 0x00],
        &[0x00, 0x03],
        b"a/b",
        &[0x00, 0x03],
        b"c/d",
    ]);
    round_trip(
        V5,
        &wire,
        Unsubscribe::new(id(10), vec![filter("a/b"), filter("c/d")]),
    );
}

/// MQTT 5.0 §3.10.2.1.2: a User Property.
#[test]
fn v5_unsubscribe_with_user_property() {
    let wire = cat(&[
        &[0xA2, 15, 0x00, 0x0A, 7],
        &[0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v'],
        &[0x00, 0x03],
        b"a/b",
    ]);
    let unsubscribe = Unsubscribe {
        properties: UnsubscribeProperties {
            user_properties: vec![user("k", "v")],
        },
        ..Unsubscribe::new(id(10), vec![filter("a/b")])
    };
    round_trip(V5, &wire, unsubscribe);
}

// ---- UNSUBACK --------------------------------------------------------------------------------

/// MQTT 3.1.1 §3.11, Figures 3.31 and 3.32: a Packet Identifier and no payload.
#[test]
fn v311_unsuback() {
    let unsuback = UnsubAck {
        packet_id: id(10),
        reason_codes: vec![],
        properties: AckProperties::default(),
    };
    round_trip(V3, &[0xB0, 0x02, 0x00, 0x0A], unsuback);
}

/// MQTT 5.0 §3.11.3: one reason code per Topic Filter (Table 3-9), here Success and No
/// subscription existed.
#[test]
fn v5_unsuback() {
    let unsuback = UnsubAck {
        packet_id: id(10),
        reason_codes: vec![ReasonCode::SUCCESS, ReasonCode::NO_SUBSCRIPTION_EXISTED],
        properties: AckProperties::default(),
    };
    round_trip(V5, &[0xB0, 0x05, 0x00, 0x0A, 0x00, 0x00, 0x11], unsuback);
}

/// MQTT 5.0 §3.11.2.1 and Table 3-9: the failure codes with a Reason String.
#[test]
fn v5_unsuback_failures_with_reason_string() {
    let wire = cat(&[
        &[0xB0, 13, 0x00, 0x0A, 5, 0x1F, 0x00, 0x02],
        b"no",
        &[0x80, 0x83, 0x87, 0x8F, 0x91],
    ]);
    let unsuback = UnsubAck {
        packet_id: id(10),
        reason_codes: [0x80, 0x83, 0x87, 0x8F, 0x91].map(ReasonCode).to_vec(),
        properties: AckProperties {
            reason_string: Some(s("no")),
            ..AckProperties::default()
        },
    };
    round_trip(V5, &wire, unsuback);
}

// ---- PINGREQ, PINGRESP -----------------------------------------------------------------------

/// MQTT 3.1.1 §3.12.1 Figure 3.33 and §3.13.1 Figure 3.34; MQTT 5.0 §3.12.1 and §3.13.1: a fixed
/// header with Remaining Length 0.
#[test]
fn pingreq_and_pingresp() {
    for version in [V3, V5] {
        round_trip(version, &[0xC0, 0x00], Packet::PingReq);
        round_trip(version, &[0xD0, 0x00], Packet::PingResp);
    }
}

// ---- DISCONNECT ------------------------------------------------------------------------------

/// MQTT 3.1.1 §3.14.1, Figure 3.35: a fixed header with Remaining Length 0.
#[test]
fn v311_disconnect() {
    round_trip(V3, &[0xE0, 0x00], Disconnect::default());
}

/// MQTT 5.0 §3.14.2.1: "The Reason Code and Property Length can be omitted if the Reason Code is
/// 0x00 (Normal disconnection) and there are no Properties. In this case the DISCONNECT has a
/// Remaining Length of 0"; and §3.14.2.2.1: "If the Remaining Length is less than 2, a value of 0
/// is used" for the Property Length.
#[test]
fn v5_disconnect_short_forms() {
    round_trip(V5, &[0xE0, 0x00], Disconnect::default());
    round_trip(
        V5,
        &[0xE0, 0x01, 0x04],
        Disconnect::new(ReasonCode::DISCONNECT_WITH_WILL),
    );
    decodes_to_shorter_form(
        V5,
        &[0xE0, 0x01, 0x00],
        Disconnect::default(),
        &[0xE0, 0x00],
    );
    decodes_to_shorter_form(
        V5,
        &[0xE0, 0x02, 0x00, 0x00],
        Disconnect::default(),
        &[0xE0, 0x00],
    );
    decodes_to_shorter_form(
        V5,
        &[0xE0, 0x02, 0x8E, 0x00],
        Disconnect::new(ReasonCode::SESSION_TAKEN_OVER),
        &[0xE0, 0x01, 0x8E],
    );
}

/// MQTT 5.0 §3.14.2.2, Figure 3-24 "DISCONNECT packet Variable Header non-normative example":
/// Reason Code 0, a property list of 5 bytes holding Session Expiry Interval (17) = 0.
#[test]
fn v5_disconnect_figure_3_24() {
    let wire = [0xE0, 0x07, 0x00, 0x05, 0x11, 0x00, 0x00, 0x00, 0x00];
    let disconnect = Disconnect {
        reason_code: ReasonCode::NORMAL_DISCONNECTION,
        properties: DisconnectProperties {
            session_expiry_interval: Some(0),
            ..DisconnectProperties::default()
        },
    };
    round_trip(V5, &wire, disconnect);
}

/// MQTT 5.0 §3.14.2.2.2 to §3.14.2.2.5: every DISCONNECT property, with Reason Code 0x9C Use
/// another server.
#[test]
fn v5_disconnect_every_property() {
    let wire = cat(&[
        &[0xE0, 25, 0x9C, 23],
        &[0x11, 0x00, 0x00, 0x00, 0x3C],
        &[0x1C, 0x00, 0x02],
        b"s2",
        &[0x1F, 0x00, 0x03],
        b"bye",
        &[0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v'],
    ]);
    let disconnect = Disconnect {
        reason_code: ReasonCode::USE_ANOTHER_SERVER,
        properties: DisconnectProperties {
            session_expiry_interval: Some(60),
            reason_string: Some(s("bye")),
            user_properties: vec![user("k", "v")],
            server_reference: Some(s("s2")),
        },
    };
    round_trip(V5, &wire, disconnect);
}

// ---- AUTH ------------------------------------------------------------------------------------

/// MQTT 5.0 §3.15.2.1: "The Reason Code and Property Length can be omitted if the Reason Code is
/// 0x00 (Success) and there are no Properties. In this case the AUTH has a Remaining Length of 0."
#[test]
fn v5_auth_short_form() {
    round_trip(V5, &[0xF0, 0x00], Auth::default());
    decodes_to_shorter_form(
        V5,
        &[0xF0, 0x02, 0x00, 0x00],
        Auth::default(),
        &[0xF0, 0x00],
    );
}

/// MQTT 5.0 §3.15.2: a reason code other than Success is followed by the Property Length, which
/// AUTH, unlike DISCONNECT (§3.14.2.2.1) and the acknowledgements (§3.4.2.2.1), never omits on its
/// own (§3.15.2.2.1).
#[test]
fn v5_auth_reason_code_with_empty_properties() {
    let auth = Auth {
        reason_code: ReasonCode::CONTINUE_AUTHENTICATION,
        properties: AuthProperties::default(),
    };
    round_trip(V5, &[0xF0, 0x02, 0x18, 0x00], auth);
}

/// MQTT 5.0 §3.15.2.2.2 to §3.15.2.2.5: every AUTH property, with Reason Code 0x18 Continue
/// authentication; and Re-authenticate (0x19) with the method alone.
#[test]
fn v5_auth_every_property() {
    let wire = cat(&[
        &[0xF0, 33, 0x18, 31],
        &[0x15, 0x00, 0x0B],
        b"SCRAM-SHA-1",
        &[0x16, 0x00, 0x03, 0x01, 0x02, 0x03],
        &[0x1F, 0x00, 0x01, b'r'],
        &[0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v'],
    ]);
    let auth = Auth {
        reason_code: ReasonCode::CONTINUE_AUTHENTICATION,
        properties: AuthProperties {
            authentication_method: Some(s("SCRAM-SHA-1")),
            authentication_data: Some(b(&[1, 2, 3])),
            reason_string: Some(s("r")),
            user_properties: vec![user("k", "v")],
        },
    };
    round_trip(V5, &wire, auth);

    let wire = [0xF0, 6, 0x19, 4, 0x15, 0x00, 0x01, b'm'];
    let auth = Auth {
        reason_code: ReasonCode::REAUTHENTICATE,
        properties: AuthProperties {
            authentication_method: Some(s("m")),
            ..AuthProperties::default()
        },
    };
    round_trip(V5, &wire, auth);
}

// ---- MQTT 3.1 --------------------------------------------------------------------------------
//
// Source: MQTT V3.1 Protocol Specification (IBM and Eurotech, 2010). Its packets are laid out as
// in MQTT 3.1.1 but for the differences tested here: CONNECT names the protocol "MQIsdp" with
// level 3 (§3.1), CONNACK's first byte is reserved (§3.2), SUBACK carries granted QoS levels
// only (§3.9).

const V31: Version = Version::V31;

/// MQTT 3.1 §3.1, the variable header example: Protocol Name "MQIsdp", Protocol Version 3, the
/// flags of Figure 3.6's example (user name, password, Will QoS 1, Will flag, Clean Session:
/// 0xCE), Keep Alive 10; the payload in the order client identifier, Will Topic, Will Message,
/// User Name, Password.
#[test]
fn v31_connect() {
    let wire = cat(&[
        &[0x10, 39],
        &[0x00, 0x06],
        b"MQIsdp",
        &[0x03],       // Protocol Version 3
        &[0xCE],       // 1100 1110
        &[0x00, 0x0A], // Keep Alive 10
        &[0x00, 0x03],
        b"cid",
        &[0x00, 0x03],
        b"w/t",
        &[0x00, 0x03],
        b"bye",
        &[0x00, 0x04],
        b"user",
        &[0x00, 0x04],
        b"pass",
    ]);
    let connect = Connect {
        clean_start: true,
        keep_alive: 10,
        client_id: s("cid"),
        will: Some(Will {
            qos: QoS::AtLeastOnce,
            ..Will::new(topic("w/t"), b("bye"))
        }),
        username: Some(s("user")),
        password: Some(b("pass")),
        properties: ConnectProperties::default(),
    };
    round_trip(V31, &wire, connect);
}

/// MQTT 3.1 §3.1: the client identifier may be as long as 23 characters (here 23 two-byte
/// characters, 46 bytes), with Clean Session 0.
#[test]
fn v31_connect_23_character_client_id() {
    let id = "é".repeat(23);
    let wire = cat(&[
        &[0x10, 60, 0x00, 0x06],
        b"MQIsdp",
        &[0x03, 0x00, 0x00, 0x3C, 0x00, 46],
        id.as_bytes(),
    ]);
    let connect = Connect {
        clean_start: false,
        ..Connect::new(id.as_str())
    };
    round_trip(V31, &wire, connect);
}

/// MQTT 3.1 §3.2: return codes 0 to 5 (Connection Accepted, refused: unacceptable protocol
/// version, identifier rejected, server unavailable, bad user name or password, not
/// authorized), mapped as in MQTT 3.1.1; the first byte is reserved, sent as 0.
#[test]
fn v31_connack_return_codes() {
    let codes = [
        (0x00, ReasonCode::SUCCESS),
        (0x01, ReasonCode::UNSUPPORTED_PROTOCOL_VERSION),
        (0x02, ReasonCode::CLIENT_IDENTIFIER_NOT_VALID),
        (0x03, ReasonCode::SERVER_UNAVAILABLE),
        (0x04, ReasonCode::BAD_USER_NAME_OR_PASSWORD),
        (0x05, ReasonCode::NOT_AUTHORIZED),
    ];
    for (code, reason_code) in codes {
        let connack = ConnAck {
            reason_code,
            ..ConnAck::default()
        };
        round_trip(V31, &[0x20, 0x02, 0x00, code], connack);
    }
}

/// MQTT 3.1 §3.2: the first byte is "Reserved values. Not used.": whatever it holds, it is no
/// Session Present flag, and it is ignored.
#[test]
fn v31_connack_reserved_byte_ignored() {
    for reserved in [0x01, 0x02, 0x80, 0xFF] {
        decodes_to_shorter_form(
            V31,
            &[0x20, 0x02, reserved, 0x00],
            ConnAck::default(),
            &[0x20, 0x02, 0x00, 0x00],
        );
    }
}

/// MQTT 3.1 §3.9: the payload is a vector of granted QoS levels, one per topic of the
/// SUBSCRIBE, with no failure code.
#[test]
fn v31_suback_granted_qos() {
    let suback = SubAck {
        packet_id: id(10),
        reason_codes: vec![
            ReasonCode::GRANTED_QOS_0,
            ReasonCode::GRANTED_QOS_1,
            ReasonCode::GRANTED_QOS_2,
        ],
        properties: AckProperties::default(),
    };
    round_trip(V31, &[0x90, 0x05, 0x00, 0x0A, 0x00, 0x01, 0x02], suback);
}

/// MQTT 3.1 §3.3 to §3.14: the other packets are laid out as in MQTT 3.1.1.
#[test]
fn v31_other_packets_as_in_v311() {
    let cases: Vec<(Vec<u8>, Packet)> = vec![
        (
            cat(&[&[0x32, 0x0A, 0x00, 0x03], b"a/b", &[0x00, 0x0A], b"hi!"]),
            publish(QoS::AtLeastOnce, Some(10), "a/b", b"hi!").into(),
        ),
        (vec![0x40, 0x02, 0x00, 0x0A], PubAck::new(id(10)).into()),
        (vec![0x50, 0x02, 0x00, 0x0A], PubRec::new(id(10)).into()),
        (vec![0x62, 0x02, 0x00, 0x0A], PubRel::new(id(10)).into()),
        (vec![0x70, 0x02, 0x00, 0x0A], PubComp::new(id(10)).into()),
        (
            cat(&[&[0x82, 0x08, 0x00, 0x0A, 0x00, 0x03], b"a/#", &[0x01]]),
            Subscribe::new(id(10), vec![subscription("a/#", QoS::AtLeastOnce)]).into(),
        ),
        (
            cat(&[&[0xA2, 0x07, 0x00, 0x0A, 0x00, 0x03], b"a/#"]),
            Unsubscribe::new(id(10), vec![filter("a/#")]).into(),
        ),
        (
            vec![0xB0, 0x02, 0x00, 0x0A],
            UnsubAck {
                packet_id: id(10),
                reason_codes: Vec::new(),
                properties: AckProperties::default(),
            }
            .into(),
        ),
        (vec![0xC0, 0x00], Packet::PingReq),
        (vec![0xD0, 0x00], Packet::PingResp),
        (vec![0xE0, 0x00], Disconnect::default().into()),
    ];
    for (wire, packet) in cases {
        round_trip(V31, &wire, packet.clone());
        round_trip(V3, &wire, packet);
    }
}

/// The protocol levels of CONNECT (MQTT 3.1 §3.1, MQTT 3.1.1 §3.1.2.2, MQTT 5.0 §3.1.2.2) name
/// the versions, and the versions their protocol names.
#[test]
fn versions_and_protocol_levels() {
    for (level, version, name, text) in [
        (3, V31, "MQIsdp", "MQTT 3.1"),
        (4, V3, "MQTT", "MQTT 3.1.1"),
        (5, V5, "MQTT", "MQTT 5.0"),
    ] {
        assert_eq!(Version::from_level(level), Some(version));
        assert_eq!(version.level(), level);
        assert_eq!(version.protocol_name(), name);
        assert_eq!(version.to_string(), text);
        assert_eq!(version.has_session_present(), level > 3);
    }
    for level in [0, 1, 2, 6, 255] {
        assert_eq!(Version::from_level(level), None);
    }
}

// ---- streams ---------------------------------------------------------------------------------

/// MQTT 5.0 §4.2: packets follow one another on the stream; the decoder takes one at a time and
/// leaves the rest, here fed one byte at a time.
#[test]
fn packets_back_to_back_fed_byte_by_byte() {
    let stream = cat(&[
        &[0xD0, 0x00],
        &[0x32, 8, 0x00, 0x03],
        b"a/b",
        &[0x00, 0x0A, 0x00],
        &[0xE0, 0x01, 0x04],
    ]);
    let decoder = Decoder::new(V5);
    let mut buf = BytesMut::new();
    let mut packets = Vec::new();
    for &byte in &stream {
        buf.extend_from_slice(&[byte]);
        while let Some(packet) = decoder.decode(&mut buf).unwrap() {
            packets.push(packet);
        }
    }
    assert!(buf.is_empty());
    assert_eq!(
        packets,
        [
            Packet::PingResp,
            publish(QoS::AtLeastOnce, Some(10), "a/b", b"").into(),
            Disconnect::new(ReasonCode::DISCONNECT_WITH_WILL).into(),
        ]
    );
}
