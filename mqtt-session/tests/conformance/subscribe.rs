//! Conformance, MQTT 3.8 to 3.11: SUBSCRIBE and UNSUBSCRIBE.
//!
//! One test per client-binding normative statement, named after its id; see
//! `CONFORMANCE.md` at the repository root.

#[path = "../harness/mod.rs"]
mod harness;

#[allow(unused_imports)]
use harness::*;

use mqtt_proto::EncodeError;

const MQTT_311: [Mode; 2] = [V311_WHOLE, V311_BYTES];
const MQTT_5: [Mode; 2] = [V5_WHOLE, V5_BYTES];

// ---- helpers ------------------------------------------------------------------------------

/// The broker sends `packet`, fed as the mode says; returns what the client wrote back, raw.
fn answer(h: &mut Harness, packet: impl Into<Packet>) -> Vec<u8> {
    let mut bytes = Vec::new();
    packet.into().encode(h.mode.version, &mut bytes).unwrap();
    let feed = h.mode.feed;
    raw(h, |s, now| match feed {
        Feed::Whole => s.handle_bytes(now, &bytes),
        Feed::ByteAtATime => {
            for byte in &bytes {
                s.handle_bytes(now, core::slice::from_ref(byte));
            }
        }
    })
    .1
}

/// A Variable Byte Integer at the start of `bytes`: its value and its length.
fn var_int(bytes: &[u8]) -> (usize, usize) {
    let mut value = 0;
    for (i, byte) in bytes.iter().enumerate().take(4) {
        value |= usize::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return (value, i + 1);
        }
    }
    panic!("bad variable byte integer in {bytes:02X?}")
}

/// Raw client bytes cut into packets.
fn split(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut packets = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (len, n) = var_int(&rest[1..]);
        packets.push(rest[..1 + n + len].to_vec());
        rest = &rest[1 + n + len..];
    }
    packets
}

fn first_bytes(bytes: &[u8]) -> Vec<u8> {
    split(bytes).iter().map(|p| p[0]).collect()
}

/// The payload of a raw SUBSCRIBE or UNSUBSCRIBE: the bytes after the packet identifier and,
/// in MQTT 5.0, the property list.
fn payload(version: Version, packet: &[u8]) -> Vec<u8> {
    let (len, n) = var_int(&packet[1..]);
    assert_eq!(packet.len(), 1 + n + len, "remaining length");
    let body = &packet[1 + n..];
    let mut at = 2;
    if version.is_v5() {
        let (properties, n) = var_int(&body[at..]);
        at += n + properties;
    }
    body[at..].to_vec()
}

/// Reads a payload as consecutive length-prefixed UTF-8 strings, each followed by
/// `trailer` bytes, with nothing between them and nothing left over.
fn packed_strings(mut payload: &[u8], trailer: usize) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    while !payload.is_empty() {
        let len = usize::from(u16::from_be_bytes([payload[0], payload[1]]));
        let text = std::str::from_utf8(&payload[2..2 + len]).expect("well-formed UTF-8");
        let rest = payload[2 + len..2 + len + trailer].to_vec();
        out.push((text.to_owned(), rest));
        payload = &payload[2 + len + trailer..];
    }
    out
}

fn options(no_local: bool, q: u8) -> SubscriptionOptions {
    SubscriptionOptions {
        qos: qos(q),
        no_local,
        ..SubscriptionOptions::default()
    }
}

// ---- MQTT-3.8.1-1 and MQTT-3.10.1-1: fixed header flags 0010 ---------------------------------

/// Every SUBSCRIBE (or UNSUBSCRIBE) the client sends starts with 0x82 (0xA2): sent at once,
/// sent again on a resumed session, made offline and sent on connection, and (SUBSCRIBE)
/// sent again when the server lost the session.
fn request_flags_0010(mode: Mode, subscribe: bool) {
    let expected = if subscribe { 0x82 } else { 0xA2 };
    let request = |s: &mut Session, now: Instant, f: &str| {
        if subscribe {
            s.subscribe(now, subscriptions(&[f], 1), Default::default())
        } else {
            s.unsubscribe(now, vec![filter(f)], Default::default())
        }
        .unwrap()
    };
    let mut config = mode.config();
    config.resubscribe = true;
    let mut h = Harness::with_config(mode, config);
    h.connect();
    let (_, bytes) = raw(&mut h, |s, now| request(s, now, "a/+"));
    assert_eq!(first_bytes(&bytes), [expected]);
    h.close();
    h.open();
    assert_eq!(first_bytes(&answer(&mut h, connack_present())), [expected]);
    h.close();
    h.cmd(|s, now| request(s, now, "b"));
    h.open();
    assert_eq!(
        first_bytes(&answer(&mut h, connack_present())),
        [expected, expected]
    );
    if subscribe {
        h.inject(suback(1, &[1]));
        h.inject(suback(2, &[1]));
        h.close();
        h.open();
        assert_eq!(first_bytes(&answer(&mut h, ConnAck::default())), [0x82]);
    }
}

/// MQTT 3.1.1: every SUBSCRIBE the client sends has fixed header flags 0010.
#[test]
fn mqtt_311_3_8_1_1_subscribe_flags_0010() {
    for mode in MQTT_311 {
        request_flags_0010(mode, true);
    }
}

/// MQTT 5.0: every SUBSCRIBE the client sends has fixed header flags 0010.
#[test]
fn mqtt_5_3_8_1_1_subscribe_flags_0010() {
    for mode in MQTT_5 {
        request_flags_0010(mode, true);
    }
}

/// MQTT 3.1.1: every UNSUBSCRIBE the client sends has fixed header flags 0010.
#[test]
fn mqtt_311_3_10_1_1_unsubscribe_flags_0010() {
    for mode in MQTT_311 {
        request_flags_0010(mode, false);
    }
}

/// MQTT 5.0: every UNSUBSCRIBE the client sends has fixed header flags 0010.
#[test]
fn mqtt_5_3_10_1_1_unsubscribe_flags_0010() {
    for mode in MQTT_5 {
        request_flags_0010(mode, false);
    }
}

// ---- MQTT-3.8.3-1 and MQTT-3.10.3-1: UTF-8 topic filters -------------------------------------

const FILTERS: [&str; 4] = ["capteurs/température/+", "a/#", "日本/+/☕", "$share/g/x"];

/// The SUBSCRIBE payload is each topic filter as a length-prefixed UTF-8 string followed by
/// its options byte, in order, back to back.
fn subscribe_filters_utf8(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    let mut list = subscriptions(&FILTERS, 1);
    list[1].options.qos = QoS::ExactlyOnce;
    let (_, bytes) = raw(&mut h, |s, now| {
        s.subscribe(now, list, Default::default()).unwrap()
    });
    let payload = payload(mode.version, &split(&bytes)[0]);
    let entries = packed_strings(&payload, 1);
    let expected: Vec<(String, Vec<u8>)> = FILTERS
        .iter()
        .zip([1u8, 2, 1, 1])
        .map(|(f, q)| (f.to_string(), vec![q]))
        .collect();
    assert_eq!(entries, expected);
}

/// The UNSUBSCRIBE payload is the topic filters as length-prefixed UTF-8 strings, in order,
/// packed back to back with nothing else.
fn unsubscribe_filters_utf8(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    let filters = FILTERS.iter().map(|f| filter(f)).collect();
    let (_, bytes) = raw(&mut h, |s, now| {
        s.unsubscribe(now, filters, Default::default()).unwrap()
    });
    let payload = payload(mode.version, &split(&bytes)[0]);
    let names: Vec<String> = packed_strings(&payload, 0)
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(names, FILTERS);
}

/// MQTT 3.1.1: the client's SUBSCRIBE carries its topic filters as UTF-8 strings.
#[test]
fn mqtt_311_3_8_3_1_subscribe_filters_utf8() {
    for mode in MQTT_311 {
        subscribe_filters_utf8(mode);
    }
}

/// MQTT 5.0: the client's SUBSCRIBE carries its topic filters as UTF-8 strings.
#[test]
fn mqtt_5_3_8_3_1_subscribe_filters_utf8() {
    for mode in MQTT_5 {
        subscribe_filters_utf8(mode);
    }
}

/// MQTT 3.1.1: the client's UNSUBSCRIBE carries its topic filters as UTF-8 strings, packed
/// contiguously.
#[test]
fn mqtt_311_3_10_3_1_unsubscribe_filters_utf8_contiguous() {
    for mode in MQTT_311 {
        unsubscribe_filters_utf8(mode);
    }
}

/// MQTT 5.0: the client's UNSUBSCRIBE carries its topic filters as UTF-8 strings.
#[test]
fn mqtt_5_3_10_3_1_unsubscribe_filters_utf8() {
    for mode in MQTT_5 {
        unsubscribe_filters_utf8(mode);
    }
}

// ---- MQTT-3.8.3-3 (3.1.1), MQTT-3.8.3-2 (5.0) and MQTT-3.10.3-2: at least one filter ----------

/// A SUBSCRIBE (or UNSUBSCRIBE) of no filter is refused and never sent, online or offline;
/// one of a single filter carries it.
fn at_least_one_filter(mode: Mode, subscribe: bool) {
    let request = |h: &mut Harness, filters: &[&str]| {
        h.cmd(|s, now| {
            if subscribe {
                s.subscribe(now, subscriptions(filters, 0), Default::default())
            } else {
                let filters = filters.iter().map(|f| filter(f)).collect();
                s.unsubscribe(now, filters, Default::default())
            }
        })
    };
    let mut h = Harness::new(mode);
    assert_eq!(
        request(&mut h, &[]),
        Err(UsageError::Encode(EncodeError::NoTopicFilters))
    );
    h.open();
    h.skip();
    h.inject(ConnAck::default());
    assert!(h.session.is_connected());
    assert_eq!(h.sent(), [], "nothing made offline goes out");
    assert_eq!(
        request(&mut h, &[]),
        Err(UsageError::Encode(EncodeError::NoTopicFilters))
    );
    assert_eq!(h.sent(), []);
    let (_, bytes) = raw(&mut h, |s, now| {
        if subscribe {
            s.subscribe(now, subscriptions(&["x"], 0), Default::default())
        } else {
            s.unsubscribe(now, vec![filter("x")], Default::default())
        }
        .unwrap()
    });
    let payload = payload(mode.version, &split(&bytes)[0]);
    let entries = packed_strings(&payload, usize::from(subscribe));
    assert_eq!(entries.len(), 1);
}

/// MQTT 3.1.1: every SUBSCRIBE the client sends has at least one filter and QoS.
#[test]
fn mqtt_311_3_8_3_3_subscribe_at_least_one_filter() {
    for mode in MQTT_311 {
        at_least_one_filter(mode, true);
    }
}

/// MQTT 5.0: every SUBSCRIBE the client sends has at least one filter and its options.
#[test]
fn mqtt_5_3_8_3_2_subscribe_at_least_one_filter() {
    for mode in MQTT_5 {
        at_least_one_filter(mode, true);
    }
}

/// MQTT 3.1.1: every UNSUBSCRIBE the client sends has at least one filter.
#[test]
fn mqtt_311_3_10_3_2_unsubscribe_at_least_one_filter() {
    for mode in MQTT_311 {
        at_least_one_filter(mode, false);
    }
}

/// MQTT 5.0: every UNSUBSCRIBE the client sends has at least one filter.
#[test]
fn mqtt_5_3_10_3_2_unsubscribe_at_least_one_filter() {
    for mode in MQTT_5 {
        at_least_one_filter(mode, false);
    }
}

// ---- MQTT-3.8.3-4: No Local on a shared subscription -------------------------------------------

/// MQTT 5.0: a SUBSCRIBE with No Local on a shared subscription is refused and nothing goes
/// out, alone or among other filters; No Local on an ordinary filter and a shared
/// subscription without it go out as asked.
#[test]
fn mqtt_5_3_8_3_4_no_local_never_on_shared_subscription() {
    for mode in MQTT_5 {
        let mut h = Harness::new(mode);
        h.connect();
        let shared_no_local = Subscription {
            filter: filter("$share/g/t"),
            options: options(true, 1),
        };
        for list in [
            vec![shared_no_local.clone()],
            vec![
                Subscription::new(filter("a"), QoS::AtLeastOnce),
                shared_no_local,
            ],
        ] {
            assert_eq!(
                h.cmd(|s, now| s.subscribe(now, list, Default::default())),
                Err(UsageError::Encode(EncodeError::NoLocalOnSharedSubscription))
            );
            assert_eq!(h.sent(), []);
        }
        let fine = vec![
            Subscription {
                filter: filter("a/b"),
                options: options(true, 1),
            },
            Subscription {
                filter: filter("$share/g/t"),
                options: options(false, 1),
            },
        ];
        let (_, bytes) = raw(&mut h, |s, now| {
            s.subscribe(now, fine, Default::default()).unwrap()
        });
        let payload = payload(mode.version, &split(&bytes)[0]);
        assert_eq!(
            packed_strings(&payload, 1),
            [
                ("a/b".to_owned(), vec![0b0101]),
                ("$share/g/t".to_owned(), vec![0b0001])
            ]
        );
    }
}

// ---- Server statements: SUBACK and UNSUBACK reason codes, checked on receipt ------------------

/// Subscribes to (or unsubscribes from) "a" and "b" on a connected session that resumes on
/// reconnect, feeds `bad`, whose last byte is the undefined `code`, and checks that the client
/// closed over a Protocol Error (DISCONNECT 0x82 in MQTT 5.0, nothing sent in 3.1.1), that the
/// request did not fail, and that it is sent again on the next connection.
fn bad_ack_closes(mode: Mode, unsubscribe: bool, bad: &[u8], code: u8) {
    let mut config = mode.config();
    config.clean_start = false;
    let mut h = Harness::with_config(mode, config);
    h.connect();
    if unsubscribe {
        h.cmd(|s, now| s.unsubscribe(now, vec![filter("a"), filter("b")], Default::default()))
            .unwrap();
    } else {
        h.cmd(|s, now| s.subscribe(now, subscriptions(&["a", "b"], 1), Default::default()))
            .unwrap();
    }
    let request = h.sent();
    h.skip();
    h.inject_bytes(bad);
    assert_eq!(
        closed_on_fault(&mut h, 0x82),
        ProtocolError::Decode(DecodeError::InvalidReasonCode(code))
    );
    h.open();
    h.inject(connack_present());
    let sent = h.sent();
    assert_eq!(sent[1..], request, "sent again");
}

/// MQTT 3.1.1: a SUBACK return code other than 0x00, 0x01, 0x02 and 0x80 closes the connection
/// (`90 04 00 01 00 03`); the SUBSCRIBE is sent again on the next connection.
#[test]
fn mqtt_311_3_9_3_2_reserved_suback_return_code_closes() {
    for mode in MQTT_311 {
        for code in [0x03, 0x10, 0x7F, 0x81, 0x87, 0xFF] {
            bad_ack_closes(mode, false, &[0x90, 0x04, 0x00, 0x01, 0x00, code], code);
        }
    }
}

/// MQTT 5.0: a SUBACK reason code outside Table 3-8 (`90 05 00 01 00 00 03`) is a Protocol
/// Error: DISCONNECT 0x82, and the SUBSCRIBE is sent again on the next connection.
#[test]
fn mqtt_5_3_9_3_2_undefined_suback_reason_code_closes() {
    for mode in MQTT_5 {
        for code in [0x03, 0x10, 0x11, 0x81, 0x92, 0xFF] {
            bad_ack_closes(
                mode,
                false,
                &[0x90, 0x05, 0x00, 0x01, 0x00, 0x00, code],
                code,
            );
        }
    }
}

/// MQTT 5.0: an UNSUBACK reason code outside Table 3-9 (`B0 05 00 01 00 00 01`) is a Protocol
/// Error: DISCONNECT 0x82, and the UNSUBSCRIBE is sent again on the next connection.
#[test]
fn mqtt_5_3_11_3_2_undefined_unsuback_reason_code_closes() {
    for mode in MQTT_5 {
        for code in [0x01, 0x02, 0x10, 0x81, 0x92, 0xFF] {
            bad_ack_closes(
                mode,
                true,
                &[0xB0, 0x05, 0x00, 0x01, 0x00, 0x00, code],
                code,
            );
        }
    }
}
