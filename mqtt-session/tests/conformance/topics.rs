//! Conformance, MQTT 4.7 and 4.8.2: topic names, topic filters, wildcards and shared subscriptions.
//!
//! One test per client-binding normative statement, named after its id; see
//! `CONFORMANCE.md` at the repository root.
//!
//! Topic names and filters are typed: [`TopicName`] and [`TopicFilter`] check every rule when
//! they are built, and they are the only way to put a topic in a packet. So the client's side
//! of each rule is tested twice: the constructors refuse what breaks it, and what they accept
//! reaches the wire unchanged, in PUBLISH, SUBSCRIBE and UNSUBSCRIBE. Where the server can break
//! the rule on the wire (topic names in PUBLISH), the client's side as receiver is tested too:
//! it closes the connection.

#[path = "../harness/mod.rs"]
mod harness;

#[allow(unused_imports)]
use harness::*;
use mqtt_proto::topic::TopicError;

const V311: [Mode; 2] = [V311_WHOLE, V311_BYTES];
const V5: [Mode; 2] = [V5_WHOLE, V5_BYTES];

// ---- helpers ------------------------------------------------------------------------------

/// Subscribes to and unsubscribes from each of `filters` and checks that SUBSCRIBE and
/// UNSUBSCRIBE carry them byte for byte.
fn filters_reach_the_wire(mode: Mode, filters: &[&str]) {
    let mut h = Harness::new(mode);
    h.connect();
    for f in filters {
        let subscription = Subscription::new(TopicFilter::new(*f).unwrap(), QoS::AtLeastOnce);
        h.cmd(|s, now| s.subscribe(now, vec![subscription], Default::default()))
            .unwrap();
        h.cmd(|s, now| s.unsubscribe(now, vec![filter(f)], Default::default()))
            .unwrap();
        let sent = h.sent();
        match sent.as_slice() {
            [Packet::Subscribe(s), Packet::Unsubscribe(u)] => {
                assert_eq!(s.subscriptions.len(), 1);
                assert_eq!(s.subscriptions[0].filter.as_str(), *f);
                assert_eq!(u.filters.len(), 1);
                assert_eq!(u.filters[0].as_str(), *f);
            }
            other => panic!("{f}: {other:?}"),
        }
        // And in the raw bytes: a two-byte length, then the filter itself.
        let mut bytes = Vec::new();
        sent[0].encode(mode.version, &mut bytes).unwrap();
        let mut field = (f.len() as u16).to_be_bytes().to_vec();
        field.extend_from_slice(f.as_bytes());
        assert!(
            bytes.windows(field.len()).any(|w| w == field.as_slice()),
            "{f} not on the wire as is"
        );
    }
}

/// Publishes to `name` and checks the PUBLISH carries it unchanged.
fn name_reaches_the_wire(mode: Mode, name: &str) {
    let mut h = Harness::new(mode);
    h.connect();
    let publish = Publish::new(TopicName::new(name).unwrap(), "x");
    h.cmd(|s, now| s.publish(now, publish)).unwrap();
    match h.sent().as_slice() {
        [Packet::Publish(p)] => assert_eq!(p.topic.as_str(), name),
        other => panic!("{other:?}"),
    }
}

/// The bytes of a QoS 0 PUBLISH from the server with the raw topic `topic`.
fn publish_bytes(mode: Mode, topic: &[u8]) -> Vec<u8> {
    let mut body = (topic.len() as u16).to_be_bytes().to_vec();
    body.extend_from_slice(topic);
    if mode.v5() {
        body.push(0); // no properties
    }
    body.push(b'x'); // payload
    assert!(body.len() < 128);
    let mut bytes = vec![0x30, body.len() as u8];
    bytes.extend_from_slice(&body);
    bytes
}

/// The server sends a PUBLISH whose topic name breaks the rule: the client closes the
/// connection, in MQTT 5.0 after DISCONNECT with `v5_code`, and delivers nothing.
fn bad_name_received_closes(mode: Mode, topic: &[u8], v5_code: ReasonCode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.inject_bytes(&publish_bytes(mode, topic));
    assert_eq!(
        h.session.state(),
        ConnectionState::Disconnected,
        "{:?}",
        String::from_utf8_lossy(topic)
    );
    let sent = h.sent();
    if mode.v5() {
        assert_eq!(sent, [Packet::from(Disconnect::new(v5_code))]);
    } else {
        assert!(sent.is_empty(), "{sent:?}");
    }
    let events = h.events();
    match events.as_slice() {
        [Event::Disconnected(DisconnectReason::ProtocolError { reason_code, .. })] => {
            if mode.v5() {
                assert_eq!(*reason_code, v5_code);
            }
        }
        other => panic!("{other:?}"),
    }
}

// ---- wildcards ----------------------------------------------------------------------------

/// Wildcards go in topic filters only: a topic name with `+` or `#` can't be built, so no
/// PUBLISH can carry one, while SUBSCRIBE and UNSUBSCRIBE carry filters with them.
fn wildcards_never_in_names(mode: Mode) {
    for name in ["+", "#", "a/+", "a/#", "+/b", "sport+", "a#b"] {
        assert_eq!(
            TopicName::new(name),
            Err(TopicError::WildcardInName),
            "{name}"
        );
        assert_eq!(name.parse::<TopicName>(), Err(TopicError::WildcardInName));
    }
    name_reaches_the_wire(mode, "a/b");
    filters_reach_the_wire(mode, &["a/+", "a/#", "+/+/#"]);
}

/// A PUBLISH from the server whose topic name holds a wildcard closes the connection (0x90
/// Topic Name invalid in MQTT 5.0).
fn wildcard_name_received_closes(mode: Mode) {
    for topic in [&b"a/+"[..], b"#", b"a/#", b"x+y"] {
        bad_name_received_closes(mode, topic, ReasonCode::TOPIC_NAME_INVALID);
    }
}

/// `#` is the whole last level: alone or after `/`, and the filter's last character.
fn multi_level_wildcard(mode: Mode) {
    for bad in ["a#", "a/#/b", "#/", "##", "a/b#", "#a", "a/#/#", "+#"] {
        assert_eq!(
            TopicFilter::new(bad),
            Err(TopicError::InvalidWildcard),
            "{bad}"
        );
    }
    filters_reach_the_wire(mode, &["#", "a/#", "/#", "a/b/#", "+/#"]);
}

/// `+` is a whole level: between separators, or at the start or end of the filter.
fn single_level_wildcard(mode: Mode) {
    for bad in ["a+", "+a", "a/++/b", "a/b+/c", "++", "a/+b", "+a/b"] {
        assert_eq!(
            TopicFilter::new(bad),
            Err(TopicError::InvalidWildcard),
            "{bad}"
        );
    }
    filters_reach_the_wire(mode, &["+", "+/+", "a/+/b", "/+", "+/", "+/#"]);
}

/// Wildcards are used only in Topic Filters, never in Topic Names.
#[test]
fn mqtt_311_4_7_1_1_wildcards_never_in_names() {
    for mode in V311 {
        wildcards_never_in_names(mode);
    }
}

/// Topic Names hold no wildcard: one with a wildcard from the server closes the connection.
#[test]
fn mqtt_311_4_7_1_1_wildcard_name_received_closes() {
    for mode in V311 {
        wildcard_name_received_closes(mode);
    }
}

/// `#` stands alone or follows `/`, and is the filter's last character.
#[test]
fn mqtt_311_4_7_1_2_multi_level_wildcard() {
    for mode in V311 {
        multi_level_wildcard(mode);
    }
}

/// `+` occupies a whole level of the filter.
#[test]
fn mqtt_311_4_7_1_3_single_level_wildcard() {
    for mode in V311 {
        single_level_wildcard(mode);
    }
}

/// Wildcards are used only in Topic Filters, never in Topic Names.
#[test]
fn mqtt_5_4_7_0_1_wildcards_never_in_names() {
    for mode in V5 {
        wildcards_never_in_names(mode);
    }
}

/// Topic Names hold no wildcard: one with a wildcard from the server closes the connection.
#[test]
fn mqtt_5_4_7_0_1_wildcard_name_received_closes() {
    for mode in V5 {
        wildcard_name_received_closes(mode);
    }
}

/// `#` stands alone or follows `/`, and is the filter's last character.
#[test]
fn mqtt_5_4_7_1_1_multi_level_wildcard() {
    for mode in V5 {
        multi_level_wildcard(mode);
    }
}

/// `+` occupies a whole level of the filter.
#[test]
fn mqtt_5_4_7_1_2_single_level_wildcard() {
    for mode in V5 {
        single_level_wildcard(mode);
    }
}

// ---- topic semantics ----------------------------------------------------------------------

/// Names and filters are at least one character long: empty ones can't be built, and a
/// publish with the empty name (which only a Topic Alias may stand in for) is refused without
/// sending anything.
fn never_empty(mode: Mode) {
    assert_eq!(TopicName::new(""), Err(TopicError::Empty));
    assert_eq!(TopicFilter::new(""), Err(TopicError::Empty));
    let mut h = Harness::new(mode);
    h.connect();
    let r = h.cmd(|s, now| s.publish(now, Publish::new(TopicName::default(), "x")));
    assert!(matches!(r, Err(UsageError::Encode(_))), "{r:?}");
    assert!(h.sent().is_empty());
    name_reaches_the_wire(mode, "a");
    name_reaches_the_wire(mode, "/");
    filters_reach_the_wire(mode, &["a", "/"]);
}

/// A PUBLISH from the server with an empty topic name (and no Topic Alias) closes the
/// connection (0x82 Protocol Error in MQTT 5.0).
fn empty_name_received_closes(mode: Mode) {
    bad_name_received_closes(mode, b"", ReasonCode::PROTOCOL_ERROR);
}

/// Names and filters never contain U+0000.
fn never_nul(mode: Mode) {
    for s in ["\0", "a\0b", "a/\0", "\0/#"] {
        assert_eq!(TopicName::new(s), Err(TopicError::NullCharacter), "{s:?}");
        assert_eq!(TopicFilter::new(s), Err(TopicError::NullCharacter), "{s:?}");
    }
    assert_eq!(
        TopicFilter::new("$share/g\0/a"),
        Err(TopicError::NullCharacter)
    );
    name_reaches_the_wire(mode, "a\u{1}b");
}

/// A PUBLISH from the server whose topic name holds U+0000 closes the connection (0x81
/// Malformed Packet in MQTT 5.0).
fn nul_name_received_closes(mode: Mode) {
    bad_name_received_closes(mode, b"a\0b", ReasonCode::MALFORMED_PACKET);
}

/// Names and filters are at most 65,535 bytes once encoded: one of exactly 65,535 bytes
/// reaches the wire whole, one byte more can't be built, in ASCII or in two-byte characters.
fn at_most_65535_bytes(mode: Mode) {
    let longest = "a".repeat(65_535);
    let too_long = "a".repeat(65_536);
    let wide = "é".repeat(32_768); // 65,536 bytes in 32,768 characters
    assert_eq!(TopicName::new(too_long.as_str()), Err(TopicError::TooLong));
    assert_eq!(
        TopicFilter::new(too_long.as_str()),
        Err(TopicError::TooLong)
    );
    assert_eq!(TopicName::new(wide.as_str()), Err(TopicError::TooLong));
    assert_eq!(TopicFilter::new(wide.as_str()), Err(TopicError::TooLong));
    let mut filter_65535 = "a/".repeat(32_766);
    filter_65535.push_str("a/#");
    assert_eq!(filter_65535.len(), 65_535);

    let mut h = Harness::new(mode);
    h.connect();
    let publish = Publish::new(TopicName::new(longest.as_str()).unwrap(), "x");
    h.cmd(|s, now| s.publish(now, publish)).unwrap();
    match h.sent().as_slice() {
        [Packet::Publish(p)] => assert_eq!(p.topic.len(), 65_535),
        other => panic!("{other:?}"),
    }
    let mut bytes = Vec::new();
    Packet::from(Publish::new(TopicName::new(longest.as_str()).unwrap(), "x"))
        .encode(mode.version, &mut bytes)
        .unwrap();
    let remaining_length_bytes = 3;
    assert_eq!(
        bytes[1 + remaining_length_bytes..][..2],
        [0xFF, 0xFF],
        "topic length field"
    );
    filters_reach_the_wire(mode, &[longest.as_str(), filter_65535.as_str()]);
}

/// Topic Names and Filters are at least one character long.
#[test]
fn mqtt_311_4_7_3_1_never_empty() {
    for mode in V311 {
        never_empty(mode);
    }
}

/// Topic Names are never empty: an empty one from the server closes the connection.
#[test]
fn mqtt_311_4_7_3_1_empty_name_received_closes() {
    for mode in V311 {
        empty_name_received_closes(mode);
    }
}

/// Topic Names and Filters do not contain U+0000.
#[test]
fn mqtt_311_4_7_3_2_never_nul() {
    for mode in V311 {
        never_nul(mode);
    }
}

/// Topic Names hold no U+0000: one with it from the server closes the connection.
#[test]
fn mqtt_311_4_7_3_2_nul_name_received_closes() {
    for mode in V311 {
        nul_name_received_closes(mode);
    }
}

/// Topic Names and Filters encode to at most 65,535 bytes.
#[test]
fn mqtt_311_4_7_3_3_at_most_65535_bytes() {
    for mode in V311 {
        at_most_65535_bytes(mode);
    }
}

/// Topic Names and Filters are at least one character long.
#[test]
fn mqtt_5_4_7_3_1_never_empty() {
    for mode in V5 {
        never_empty(mode);
    }
}

/// Topic Names are never empty: one without a Topic Alias from the server closes the connection.
#[test]
fn mqtt_5_4_7_3_1_empty_name_received_closes() {
    for mode in V5 {
        empty_name_received_closes(mode);
    }
}

/// Topic Names and Filters do not contain U+0000.
#[test]
fn mqtt_5_4_7_3_2_never_nul() {
    for mode in V5 {
        never_nul(mode);
    }
}

/// Topic Names hold no U+0000: one with it from the server closes the connection.
#[test]
fn mqtt_5_4_7_3_2_nul_name_received_closes() {
    for mode in V5 {
        nul_name_received_closes(mode);
    }
}

/// Topic Names and Filters encode to at most 65,535 bytes.
#[test]
fn mqtt_5_4_7_3_3_at_most_65535_bytes() {
    for mode in V5 {
        at_most_65535_bytes(mode);
    }
}

// ---- shared subscriptions (MQTT 5.0) --------------------------------------------------------

/// A shared subscription filter is `$share/`, then a ShareName of at least one character.
#[test]
fn mqtt_5_4_8_2_1_share_name_not_empty() {
    for bad in ["$share//a", "$share//", "$share/", "$share//#"] {
        assert_eq!(
            TopicFilter::new(bad),
            Err(TopicError::InvalidSharedSubscription),
            "{bad}"
        );
    }
    let shared = TopicFilter::new("$share/g/a").unwrap();
    assert!(shared.is_shared());
    assert_eq!(shared.share_name(), Some("g"));
    for mode in V5 {
        filters_reach_the_wire(mode, &["$share/g/a", "$share/consumer-1/sport/#"]);
    }
}

/// The ShareName holds no `/`, `+` or `#` and is followed by `/` and a valid Topic Filter.
#[test]
fn mqtt_5_4_8_2_2_share_name_then_filter() {
    let cases = [
        ("$share/g+/a", TopicError::InvalidSharedSubscription),
        ("$share/+/a", TopicError::InvalidSharedSubscription),
        ("$share/#/a", TopicError::InvalidSharedSubscription),
        ("$share/a#b/c", TopicError::InvalidSharedSubscription),
        ("$share/g", TopicError::InvalidSharedSubscription),
        ("$share/g/", TopicError::InvalidSharedSubscription),
        ("$share/g/a+", TopicError::InvalidWildcard),
        ("$share/g/#/a", TopicError::InvalidWildcard),
    ];
    for (bad, error) in cases {
        assert_eq!(TopicFilter::new(bad), Err(error), "{bad}");
    }
    let nested = TopicFilter::new("$share/a/b/c").unwrap();
    assert_eq!(nested.share_name(), Some("a"));
    assert_eq!(nested.topic_filter(), "b/c");
    let plus = TopicFilter::new("$share/g/+/b/#").unwrap();
    assert_eq!(plus.share_name(), Some("g"));
    assert_eq!(plus.topic_filter(), "+/b/#");
    for mode in V5 {
        filters_reach_the_wire(mode, &["$share/a/b/c", "$share/g/+/b/#", "$share/g/#"]);
    }
}
