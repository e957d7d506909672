//! Conformance, MQTT 3.1 and 3.2: CONNECT and CONNACK.
//!
//! One test per client-binding normative statement, named after its id; see
//! `CONFORMANCE.md` at the repository root.

#[path = "../harness/mod.rs"]
mod harness;

#[allow(unused_imports)]
use harness::*;

// ---- helpers ------------------------------------------------------------------------------

const FEEDS: [Feed; 2] = [Feed::Whole, Feed::ByteAtATime];

fn mode(version: Version, feed: Feed) -> Mode {
    Mode { version, feed }
}

/// A length-prefixed string at the start of `bytes`, and what follows it.
fn string(bytes: &[u8]) -> (&[u8], &[u8]) {
    let len = usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
    (&bytes[2..2 + len], &bytes[2 + len..])
}

/// The raw CONNECT a session with `config` sends: its connect flags and its payload fields in
/// wire order (each will property list as one field).
struct RawConnect {
    protocol_name: Vec<u8>,
    level: u8,
    flags: u8,
    fields: Vec<Vec<u8>>,
}

fn raw_connect(config: Config) -> RawConnect {
    let version = config.version;
    let mut h = Harness::with_config(mode(version, Feed::Whole), config);
    h.open();
    let frame = h.raw_frames().remove(0);
    assert_eq!(frame[0], 0x10);
    let (_, len) = varint(&frame[1..]);
    let rest = &frame[1 + len..];
    let (protocol_name, rest) = string(rest);
    let (level, flags, mut rest) = (rest[0], rest[1], &rest[4..]);
    if version.is_v5() {
        let (len, n) = varint(rest);
        rest = &rest[n + len..];
    }
    let mut fields = Vec::new();
    let (client_id, after) = string(rest);
    fields.push(client_id.to_vec());
    rest = after;
    if flags & 0x04 != 0 {
        if version.is_v5() {
            let (len, n) = varint(rest);
            fields.push(rest[n..n + len].to_vec());
            rest = &rest[n + len..];
        }
        for _ in 0..2 {
            let (field, after) = string(rest);
            fields.push(field.to_vec());
            rest = after;
        }
    }
    for bit in [0x80, 0x40] {
        if flags & bit != 0 {
            let (field, after) = string(rest);
            fields.push(field.to_vec());
            rest = after;
        }
    }
    assert!(
        rest.is_empty(),
        "CONNECT has bytes past its last field: {rest:?}"
    );
    RawConnect {
        protocol_name: protocol_name.to_vec(),
        level,
        flags,
        fields,
    }
}

fn full_config(version: Version) -> Config {
    let mut config = Config::new("id-ü", version);
    let mut will = Will::new(topic("will/tö"), "gone");
    will.qos = qos(1);
    if version.is_v5() {
        will.properties.will_delay_interval = Some(5);
    }
    config.will = Some(will);
    config.username = Some("üser".into());
    config.password = Some(Bytes::from_static(b"p\0ss"));
    config
}

/// The payload fields in the standard's order, raw.
fn connect_payload_order(version: Version) {
    let connect = raw_connect(full_config(version));
    let mut expected: Vec<Vec<u8>> = vec!["id-ü".into()];
    if version.is_v5() {
        expected.push(vec![0x18, 0, 0, 0, 5]); // Will Delay Interval 5
    }
    expected.extend([
        "will/tö".into(),
        "gone".into(),
        "üser".into(),
        b"p\0ss".to_vec(),
    ]);
    assert_eq!(connect.fields, expected);
    assert_eq!(
        connect.flags & 0xC4,
        0xC4,
        "user name, password and will flags"
    );
}

fn will_fields_present(version: Version) {
    for q in 0..=2 {
        for retain in [false, true] {
            let mut config = Config::new("c", version);
            let mut will = Will::new(topic("w"), "bye");
            will.qos = qos(q);
            will.retain = retain;
            config.will = Some(will);
            let connect = raw_connect(config);
            assert_eq!(connect.flags & 0x04, 0x04, "Will Flag");
            assert_eq!((connect.flags >> 3) & 0x03, q, "Will QoS");
            assert_eq!(connect.flags & 0x20 != 0, retain, "Will Retain");
            let fields = &connect.fields[usize::from(version.is_v5()) + 1..];
            assert_eq!(fields, [b"w".to_vec(), b"bye".to_vec()]);
        }
    }
}

fn no_will_no_will_bits(version: Version) -> RawConnect {
    let connect = raw_connect(Config::new("c", version));
    assert_eq!(connect.flags & 0x3C, 0, "Will Flag, QoS and Retain all 0");
    assert_eq!(connect.fields, [b"c".to_vec()]);
    connect
}

fn credential_flags(version: Version) {
    let cases: &[(Option<&str>, Option<&'static [u8]>)] = &[
        (None, None),
        (Some("u"), None),
        (Some("u"), Some(b"pw")),
        (Some(""), Some(b"")),
    ];
    for &(username, password) in cases {
        let mut config = Config::new("c", version);
        config.username = username.map(Into::into);
        config.password = password.map(Bytes::from_static);
        let connect = raw_connect(config);
        assert_eq!(
            connect.flags & 0x80 != 0,
            username.is_some(),
            "User Name Flag"
        );
        assert_eq!(
            connect.flags & 0x40 != 0,
            password.is_some(),
            "Password Flag"
        );
        let mut expected = vec![b"c".to_vec()];
        expected.extend(username.map(|u| u.as_bytes().to_vec()));
        expected.extend(password.map(<[u8]>::to_vec));
        assert_eq!(connect.fields, expected);
    }
}

/// The client sends PINGREQ once Keep Alive has passed since it last sent anything, or since
/// the server last did, whichever is earlier: idle, and also while it publishes to a server
/// that sends nothing back (a dead link is noticed while busy). No gap between its packets
/// exceeds Keep Alive.
fn keep_alive_gaps(version: Version) {
    for feed in FEEDS {
        let mut config = Config::new("c", version);
        config.keep_alive = Duration::from_secs(10);
        let mut h = Harness::with_config(mode(version, feed), config);
        h.open();
        h.advance(Duration::from_millis(300));
        h.inject(ConnAck::default());
        // Busy: a QoS 0 publish every 4 s for 32 s, then idle for a minute; the server answers
        // each PINGREQ and sends nothing else.
        let mut answered = 0;
        let mut answer = |h: &mut Harness| {
            let pings = h
                .transcript
                .iter()
                .filter(|(_, e)| matches!(e, Entry::Sent(Packet::PingReq)))
                .count();
            for _ in answered..pings {
                h.inject(Packet::PingResp);
            }
            answered = pings;
        };
        for _ in 0..32 {
            h.advance(Duration::from_secs(1));
            answer(&mut h);
            if h.ms() % 4_000 == 300 {
                h.cmd(|s, now| s.publish(now, msg("t", "x", 0))).unwrap();
            }
        }
        for _ in 0..60 {
            h.advance(Duration::from_secs(1));
            answer(&mut h);
        }
        let sent = h.sent_timed();
        let mut last = 0;
        for (at, packet) in &sent {
            assert!(
                at - last <= 10_000,
                "{} ms of silence before {packet:?}",
                at - last
            );
            last = *at;
        }
        let pings: Vec<u64> = sent
            .iter()
            .filter(|(_, p)| matches!(p, Packet::PingReq))
            .map(|(at, _)| *at)
            .collect();
        // The first PINGREQ comes Keep Alive after CONNACK, the last packet from the server,
        // although the client published meanwhile; then one per Keep Alive, each answered.
        assert_eq!(pings.first(), Some(&10_300), "{sent:?}");
        assert!(pings.len() >= 8, "{pings:?}");
        assert!(pings.windows(2).all(|w| w[1] - w[0] == 10_000), "{pings:?}");
        assert_eq!(h.session.state(), ConnectionState::Connected);
    }
}

/// CONNECT goes first on every connection, before anything the application queued.
fn connect_first(version: Version) {
    for feed in FEEDS {
        let mut config = Config::new("c", version);
        config.clean_start = false;
        let mut h = Harness::with_config(mode(version, feed), config);
        h.cmd(|s, now| s.publish(now, msg("t", "early", 1)))
            .unwrap();
        h.cmd(|s, now| s.subscribe(now, subscriptions(&["a"], 1), Default::default()))
            .unwrap();
        h.open();
        assert!(matches!(h.sent().as_slice(), [Packet::Connect(_)]));
        h.inject(ConnAck::default());
        let after = h.sent();
        assert_eq!(after.len(), 2, "{after:?}");
        // A reconnection with a message in flight: CONNECT first again.
        h.close();
        h.open();
        h.inject(connack_present());
        let sent = h.sent();
        assert!(matches!(sent.first(), Some(Packet::Connect(_))), "{sent:?}");
        assert!(
            sent.len() > 1,
            "the publish is resent after CONNECT: {sent:?}"
        );
    }
}

/// With a session to resume, CONNECT asks for it and the unfinished work is resumed, not lost:
/// the PUBLISH goes again with its identifier, the PUBREL too.
fn session_resumed(version: Version, config: impl Fn(&mut Config)) {
    for feed in FEEDS {
        let mut c = Config::new("c", version);
        c.clean_start = false;
        config(&mut c);
        let mut h = Harness::with_config(mode(version, feed), c);
        let first = h.connect_with(ConnAck::default());
        assert!(!first.clean_start);
        h.cmd(|s, now| s.publish(now, msg("t", "one", 1))).unwrap();
        h.cmd(|s, now| s.publish(now, msg("t", "two", 2))).unwrap();
        h.inject(pubrec(2));
        h.close();
        h.skip();
        h.open();
        match h.sent().as_slice() {
            [Packet::Connect(c)] => assert!(!c.clean_start, "asks to resume"),
            other => panic!("{other:?}"),
        }
        h.inject(connack_present());
        assert_eq!(
            h.sent(),
            [
                on_wire(msg("t", "one", 1), Some(1), true),
                Packet::PubRel(PubRel::new(pid(2))),
            ]
        );
    }
}

/// A clean start throws the old session away: nothing of it is resent as part of a session
/// (no DUP, no PUBREL), and a QoS 2 identifier the server had not released is a new message.
fn clean_start_discards(version: Version) {
    for feed in FEEDS {
        let mut config = Config::new("c", version);
        config.clean_start_on_reconnect = true;
        let mut h = Harness::with_config(mode(version, feed), config);
        h.connect();
        h.cmd(|s, now| s.publish(now, msg("t", "one", 1))).unwrap();
        h.cmd(|s, now| s.publish(now, msg("t", "two", 2))).unwrap();
        h.inject(pubrec(2));
        h.inject(incoming("in", "first", 2, 9));
        h.close();
        h.skip();
        h.open();
        match h.sent().as_slice() {
            [Packet::Connect(c)] => assert!(c.clean_start, "Clean Start set"),
            other => panic!("{other:?}"),
        }
        h.inject(ConnAck::default());
        let sent = h.sent();
        assert!(
            sent.iter().all(|p| match p {
                Packet::Publish(p) => !p.dup,
                Packet::PubRel(_) => false,
                _ => true,
            }),
            "{sent:?}"
        );
        h.skip();
        h.inject(incoming("in", "second", 2, 9));
        match h.events().as_slice() {
            [Event::Message(m)] => assert_eq!(m.publish.payload, "second"),
            other => panic!("the new message with the old id is delivered: {other:?}"),
        }
    }
}

/// The client identifier of every CONNECT of a session is the same one.
fn client_id_names_the_session(version: Version) {
    let mut config = Config::new("sensor-7", version);
    config.clean_start = false;
    let mut h = Harness::with_config(mode(version, Feed::Whole), config);
    for _ in 0..3 {
        let connect = h.connect_with(connack_present());
        assert_eq!(connect.client_id, "sensor-7");
        h.close();
    }
}

fn client_id_first(version: Version) {
    for id in ["", "x", "a-longer-client-identifier"] {
        let connect = raw_connect(full_config(version).tap(|c| c.client_id = id.into()));
        assert_eq!(connect.fields[0], id.as_bytes(), "present even when empty");
    }
}

fn utf8_fields(version: Version) {
    let connect = raw_connect(full_config(version));
    let skip = usize::from(version.is_v5());
    for field in [
        &connect.fields[0],
        &connect.fields[1 + skip],
        &connect.fields[3 + skip],
    ] {
        std::str::from_utf8(field).expect("a UTF-8 string");
    }
    assert_eq!(connect.fields[0], "id-ü".as_bytes());
    assert_eq!(connect.fields[1 + skip], "will/tö".as_bytes());
    assert_eq!(connect.fields[3 + skip], "üser".as_bytes());
}

trait Tap: Sized {
    fn tap(self, f: impl FnOnce(&mut Self)) -> Self;
}

impl Tap for Config {
    fn tap(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }
}

// ---- MQTT 3.1.1 -----------------------------------------------------------------------------

/// CONNECT is the first packet of every connection.
#[test]
fn mqtt_311_3_1_0_1_connect_first() {
    connect_first(Version::V311);
}

/// Clean Session 0 asks to resume, and the client keeps and resumes its side of the session.
#[test]
fn mqtt_311_3_1_2_4_clean_session_0_resumes() {
    session_resumed(Version::V311, |_| {});
}

/// Clean Session 1 discards the previous session's state.
#[test]
fn mqtt_311_3_1_2_6_clean_session_1_discards() {
    clean_start_discards(Version::V311);
}

/// A will puts its topic and message in the payload, with its QoS and Retain in the flags.
#[test]
fn mqtt_311_3_1_2_9_will_topic_and_message_present() {
    will_fields_present(Version::V311);
}

/// No will: no will bits, no will fields.
#[test]
fn mqtt_311_3_1_2_11_no_will_no_will_fields() {
    no_will_no_will_bits(Version::V311);
}

/// No will: Will QoS 0.
#[test]
fn mqtt_311_3_1_2_13_no_will_qos_0() {
    let connect = no_will_no_will_bits(Version::V311);
    assert_eq!(connect.flags & 0x18, 0);
}

/// Will QoS takes the values 0 to 2 only.
#[test]
fn mqtt_311_3_1_2_14_will_qos_never_3() {
    will_fields_present(Version::V311);
    assert!(QoS::from_u8(3).is_none(), "a QoS of 3 cannot even be built");
}

/// No will: Will Retain 0.
#[test]
fn mqtt_311_3_1_2_15_no_will_retain_0() {
    let connect = no_will_no_will_bits(Version::V311);
    assert_eq!(connect.flags & 0x20, 0);
}

/// No user name flag, no user name.
#[test]
fn mqtt_311_3_1_2_18_no_user_name() {
    credential_flags(Version::V311);
}

/// User name flag, user name.
#[test]
fn mqtt_311_3_1_2_19_user_name_present() {
    credential_flags(Version::V311);
}

/// No password flag, no password.
#[test]
fn mqtt_311_3_1_2_20_no_password() {
    credential_flags(Version::V311);
}

/// Password flag, password.
#[test]
fn mqtt_311_3_1_2_21_password_present() {
    credential_flags(Version::V311);
}

/// A password without a user name is refused before anything goes out.
#[test]
fn mqtt_311_3_1_2_22_password_needs_user_name() {
    let mut config = Config::new("c", Version::V311);
    config.password = Some(Bytes::from_static(b"secret"));
    let mut h = Harness::with_config(V311_WHOLE, config);
    let result = h.cmd(|s, now| s.handle_transport_opened(now));
    assert!(
        matches!(
            result,
            Err(UsageError::Encode(mqtt_proto::EncodeError::InvalidConnect(
                _
            )))
        ),
        "{result:?}"
    );
    assert!(h.raw.is_empty());
}

/// The client is never silent for longer than Keep Alive; idle, it pings.
#[test]
fn mqtt_311_3_1_2_23_keep_alive() {
    keep_alive_gaps(Version::V311);
}

/// The payload fields come in the standard's order.
#[test]
fn mqtt_311_3_1_3_1_payload_order() {
    connect_payload_order(Version::V311);
}

/// Every CONNECT of a session carries the same client identifier.
#[test]
fn mqtt_311_3_1_3_2_client_id_names_the_session() {
    client_id_names_the_session(Version::V311);
}

/// The client identifier is always there, first.
#[test]
fn mqtt_311_3_1_3_3_client_id_first() {
    client_id_first(Version::V311);
}

/// The client identifier is UTF-8.
#[test]
fn mqtt_311_3_1_3_4_client_id_utf8() {
    utf8_fields(Version::V311);
}

/// An empty client identifier goes with Clean Session 1, whatever the configuration says.
#[test]
fn mqtt_311_3_1_3_7_empty_client_id_clean_session() {
    let mut config = Config::new("", Version::V311);
    config.clean_start = false;
    let connect = raw_connect(config);
    assert_eq!(connect.flags & 0x02, 0x02);
}

/// The will topic is UTF-8.
#[test]
fn mqtt_311_3_1_3_10_will_topic_utf8() {
    utf8_fields(Version::V311);
}

/// The user name is UTF-8.
#[test]
fn mqtt_311_3_1_3_11_user_name_utf8() {
    utf8_fields(Version::V311);
}

// ---- MQTT 5.0 -------------------------------------------------------------------------------

/// CONNECT is the first packet of every connection.
#[test]
fn mqtt_5_3_1_0_1_connect_first() {
    connect_first(Version::V5);
}

/// The protocol name is "MQTT" (and the level 5; 4 for 3.1.1).
#[test]
fn mqtt_5_3_1_2_1_protocol_name() {
    for (version, level) in [(Version::V5, 5), (Version::V311, 4)] {
        let connect = raw_connect(Config::new("c", version));
        assert_eq!(connect.protocol_name, b"MQTT");
        assert_eq!(connect.level, level);
    }
}

/// Clean Start 1 discards the previous session's state.
#[test]
fn mqtt_5_3_1_2_4_clean_start_discards() {
    clean_start_discards(Version::V5);
}

/// A will puts its properties, topic and payload in the payload.
#[test]
fn mqtt_5_3_1_2_9_will_fields_present() {
    will_fields_present(Version::V5);
    connect_payload_order(Version::V5);
}

/// No will: Will QoS 0.
#[test]
fn mqtt_5_3_1_2_11_no_will_qos_0() {
    let connect = no_will_no_will_bits(Version::V5);
    assert_eq!(connect.flags & 0x18, 0);
}

/// A will's QoS is 0, 1 or 2.
#[test]
fn mqtt_5_3_1_2_12_will_qos_valid() {
    will_fields_present(Version::V5);
    assert!(QoS::from_u8(3).is_none());
}

/// No will: Will Retain 0.
#[test]
fn mqtt_5_3_1_2_13_no_will_retain_0() {
    let connect = no_will_no_will_bits(Version::V5);
    assert_eq!(connect.flags & 0x20, 0);
}

/// No user name flag, no user name.
#[test]
fn mqtt_5_3_1_2_16_no_user_name() {
    credential_flags(Version::V5);
}

/// User name flag, user name.
#[test]
fn mqtt_5_3_1_2_17_user_name_present() {
    credential_flags(Version::V5);
}

/// No password flag, no password; MQTT 5.0 allows a password without a user name.
#[test]
fn mqtt_5_3_1_2_18_no_password() {
    credential_flags(Version::V5);
}

/// Password flag, password, with or without a user name.
#[test]
fn mqtt_5_3_1_2_19_password_present() {
    credential_flags(Version::V5);
    let mut config = Config::new("c", Version::V5);
    config.password = Some(Bytes::from_static(b"token"));
    let connect = raw_connect(config);
    assert_eq!(connect.flags & 0xC0, 0x40);
    assert_eq!(connect.fields, [b"c".to_vec(), b"token".to_vec()]);
}

/// Idle, the client pings within Keep Alive.
#[test]
fn mqtt_5_3_1_2_20_keep_alive() {
    keep_alive_gaps(Version::V5);
}

/// A Server Keep Alive replaces the client's: pings follow the server's value, shorter or
/// longer, and 0 turns them off.
fn server_keep_alive_used() {
    for (server, expected) in [(5u16, Some(5_000u64)), (120, Some(120_000)), (0, None)] {
        for feed in FEEDS {
            let mut h = Harness::new(mode(Version::V5, feed));
            h.connect_with(connack_v5(ConnAckProperties {
                server_keep_alive: Some(server),
                ..Default::default()
            }));
            h.advance(Duration::from_secs(300));
            let first_ping = h
                .sent_timed()
                .into_iter()
                .find(|(_, p)| matches!(p, Packet::PingReq))
                .map(|(at, _)| at);
            assert_eq!(first_ping, expected, "Server Keep Alive {server}");
        }
    }
}

/// CONNACK's Server Keep Alive replaces the Keep Alive the client asked for.
#[test]
fn mqtt_5_3_1_2_21_server_keep_alive_used() {
    server_keep_alive_used();
}

/// With a Session Expiry Interval the client keeps the session after the connection ends.
#[test]
fn mqtt_5_3_1_2_23_session_kept_with_expiry() {
    session_resumed(Version::V5, |c| {
        c.connect_properties.session_expiry_interval = Some(3_600);
    });
}

/// With an Authentication Method, nothing but AUTH (and DISCONNECT) goes out before CONNACK.
#[test]
fn mqtt_5_3_1_2_30_only_auth_before_connack() {
    for feed in FEEDS {
        let mut config = Config::new("c", Version::V5);
        config.connect_properties.authentication_method = Some("SCRAM-SHA-1".into());
        config.keep_alive = Duration::from_secs(2);
        let mut h = Harness::with_config(mode(Version::V5, feed), config);
        h.open();
        h.skip();
        h.cmd(|s, now| s.publish(now, msg("t", "x", 1))).unwrap();
        h.cmd(|s, now| s.publish(now, msg("t", "x", 0))).unwrap();
        h.cmd(|s, now| s.subscribe(now, subscriptions(&["a"], 0), Default::default()))
            .unwrap();
        let challenge = Auth {
            reason_code: ReasonCode(0x18),
            properties: AuthProperties {
                authentication_method: Some("SCRAM-SHA-1".into()),
                authentication_data: Some(Bytes::from_static(b"challenge")),
                ..Default::default()
            },
        };
        h.inject(challenge.clone());
        h.advance(Duration::from_secs(5)); // past Keep Alive: still no PINGREQ
        h.cmd(|s, now| s.auth(now, challenge.clone())).unwrap();
        let before = h.sent();
        assert!(
            before.iter().all(|p| matches!(p, Packet::Auth(_))),
            "only AUTH before CONNACK: {before:?}"
        );
        assert_eq!(before.len(), 1);
        h.inject(connack_v5(ConnAckProperties {
            authentication_method: Some("SCRAM-SHA-1".into()),
            ..Default::default()
        }));
        assert_eq!(h.sent().len(), 3, "the queued work goes after CONNACK");
    }
}

/// The payload fields come in the standard's order, will properties before the will topic.
#[test]
fn mqtt_5_3_1_3_1_payload_order() {
    connect_payload_order(Version::V5);
}

/// Every CONNECT of a session carries the same client identifier, the server-assigned one once
/// there is one.
#[test]
fn mqtt_5_3_1_3_2_client_id_names_the_session() {
    client_id_names_the_session(Version::V5);
    let mut config = Config::new("", Version::V5);
    config.clean_start = false;
    let mut h = Harness::with_config(V5_WHOLE, config);
    let first = h.connect_with(connack_v5(ConnAckProperties {
        assigned_client_identifier: Some("assigned-1".into()),
        ..Default::default()
    }));
    assert_eq!(first.client_id, "");
    h.close();
    let second = h.connect_with(connack_present());
    assert_eq!(second.client_id, "assigned-1");
}

/// The client identifier is always there, first.
#[test]
fn mqtt_5_3_1_3_3_client_id_first() {
    client_id_first(Version::V5);
}

/// The client identifier is UTF-8.
#[test]
fn mqtt_5_3_1_3_4_client_id_utf8() {
    utf8_fields(Version::V5);
}

/// The will topic is UTF-8.
#[test]
fn mqtt_5_3_1_3_11_will_topic_utf8() {
    utf8_fields(Version::V5);
}

/// The user name is UTF-8.
#[test]
fn mqtt_5_3_1_3_12_user_name_utf8() {
    utf8_fields(Version::V5);
}

/// A client that started clean has no session: Session Present 1 is a protocol error.
#[test]
fn mqtt_5_3_2_2_4_unexpected_session_present_closes() {
    for feed in FEEDS {
        let mut h = Harness::new(mode(Version::V5, feed));
        h.open();
        h.skip();
        h.inject(connack_present());
        assert_eq!(h.sent(), [Packet::from(Disconnect::new(ReasonCode(0x82)))]);
        assert_eq!(h.session.state(), ConnectionState::Disconnected);
        assert!(
            !h.events().iter().any(|e| matches!(e, Event::Connected(_))),
            "never reported as connected"
        );
    }
}

/// Session Present 0 after asking to resume: the old state is dropped (nothing resent as part
/// of the old session, QoS 2 identifiers forgotten).
#[test]
fn mqtt_5_3_2_2_5_session_not_present_discards() {
    for feed in FEEDS {
        let mut config = Config::new("c", Version::V5);
        config.clean_start = false;
        config.session_lost = SessionLostPolicy::Fail;
        let mut h = Harness::with_config(mode(Version::V5, feed), config);
        h.connect();
        h.cmd(|s, now| s.publish(now, msg("t", "one", 1))).unwrap();
        h.cmd(|s, now| s.publish(now, msg("t", "two", 2))).unwrap();
        h.inject(pubrec(2));
        h.inject(incoming("in", "first", 2, 9));
        h.close();
        h.open();
        h.skip();
        h.inject(ConnAck::default());
        assert_eq!(h.sent(), [], "nothing of the old session is resent");
        let failed = h
            .events()
            .iter()
            .filter(|e| matches!(e, Event::PublishFailed(_)))
            .count();
        assert_eq!(failed, 2);
        assert_eq!(h.session.publishes_in_flight(), 0);
        h.inject(incoming("in", "second", 2, 9));
        match h.events().as_slice() {
            [Event::Message(m)] => assert_eq!(m.publish.payload, "second"),
            other => panic!("{other:?}"),
        }
    }
}

/// Publishes above the server's Maximum QoS are refused, and nothing goes out.
#[test]
fn mqtt_5_3_2_2_11_maximum_qos_respected() {
    for max in [0u8, 1] {
        let mut h = Harness::new(V5_WHOLE);
        h.connect_with(connack_v5(ConnAckProperties {
            maximum_qos: Some(qos(max)),
            ..Default::default()
        }));
        for q in 0..=2 {
            let result = h.cmd(|s, now| s.publish(now, msg("t", "x", q)));
            if q <= max {
                assert!(result.is_ok());
                assert_eq!(publish_ids(&h.sent()).len(), usize::from(q > 0));
            } else {
                assert_eq!(result, Err(UsageError::QoSNotSupported(qos(q))));
                assert_eq!(h.sent(), []);
            }
        }
    }
}

/// With Retain Available 0, a retained publish is refused and nothing goes out.
#[test]
fn mqtt_5_3_2_2_14_retain_unavailable_respected() {
    let mut h = Harness::new(V5_WHOLE);
    h.connect_with(connack_v5(ConnAckProperties {
        retain_available: Some(false),
        ..Default::default()
    }));
    let mut publish = msg("t", "x", 1);
    publish.retain = true;
    let result = h.cmd(|s, now| s.publish(now, publish));
    assert_eq!(result, Err(UsageError::RetainNotSupported));
    assert_eq!(h.sent(), []);
    h.cmd(|s, now| s.publish(now, msg("t", "x", 1))).unwrap();
    assert_eq!(h.sent().len(), 1, "not retained: fine");
}

/// Nothing larger than the server's Maximum Packet Size is sent.
#[test]
fn mqtt_5_3_2_2_15_maximum_packet_size_respected() {
    let mut h = Harness::new(V5_WHOLE);
    h.connect_with(connack_v5(ConnAckProperties {
        maximum_packet_size: NonZeroU32::new(64),
        ..Default::default()
    }));
    h.raw.clear();
    // 2 + 3 (topic) + 2 (id) + 1 (properties) + 55 = 63 fits, 58 does not.
    let fits = Publish::new(topic("t"), Bytes::from(vec![0u8; 56]));
    let fits = {
        let mut publish = fits;
        publish.qos = qos(1);
        publish
    };
    h.cmd(|s, now| s.publish(now, fits)).unwrap();
    let too_big = {
        let mut publish = Publish::new(topic("t"), Bytes::from(vec![0u8; 58]));
        publish.qos = qos(1);
        publish
    };
    let result = h.cmd(|s, now| s.publish(now, too_big));
    assert!(
        matches!(result, Err(UsageError::PacketTooLarge { max: 64, .. })),
        "{result:?}"
    );
    let long_filter = "f".repeat(100);
    let result =
        h.cmd(|s, now| s.subscribe(now, subscriptions(&[&long_filter], 0), Default::default()));
    assert!(
        matches!(result, Err(UsageError::PacketTooLarge { .. })),
        "{result:?}"
    );
    let result = h.cmd(|s, now| s.unsubscribe(now, vec![filter(&long_filter)], Default::default()));
    assert!(
        matches!(result, Err(UsageError::PacketTooLarge { .. })),
        "{result:?}"
    );
    let frames = h.raw_frames();
    assert_eq!(frames.len(), 1);
    assert!(frames.iter().all(|f| f.len() <= 64), "{frames:?}");
}

/// Topic Aliases never go above the server's Topic Alias Maximum.
#[test]
fn mqtt_5_3_2_2_17_topic_alias_within_server_maximum() {
    for max in [1u16, 3] {
        let mut config = Config::new("c", Version::V5);
        config.outbound_topic_aliases = true;
        let mut h = Harness::with_config(V5_WHOLE, config);
        h.connect_with(connack_v5(ConnAckProperties {
            topic_alias_maximum: Some(max),
            ..Default::default()
        }));
        for t in ["a", "b", "c", "d", "e", "a", "b"] {
            h.cmd(|s, now| s.publish(now, msg(t, "x", 0))).unwrap();
        }
        let aliases: Vec<u16> = h
            .sent()
            .iter()
            .filter_map(|p| match p {
                Packet::Publish(p) => p.topic_alias().map(NonZeroU16::get),
                _ => None,
            })
            .collect();
        assert!(!aliases.is_empty());
        assert!(aliases.iter().all(|&a| a <= max), "{aliases:?} above {max}");
    }
}

/// No Topic Alias Maximum from the server: no Topic Alias at all, and the application cannot
/// set one either.
#[test]
fn mqtt_5_3_2_2_18_no_topic_alias_without_server_maximum() {
    let mut config = Config::new("c", Version::V5);
    config.outbound_topic_aliases = true;
    let mut h = Harness::with_config(V5_WHOLE, config);
    h.connect();
    for t in ["a", "a", "b"] {
        h.cmd(|s, now| s.publish(now, msg(t, "x", 0))).unwrap();
    }
    let sent = h.sent();
    assert_eq!(sent.len(), 3);
    assert!(
        sent.iter()
            .all(|p| matches!(p, Packet::Publish(p) if p.properties().topic_alias.is_none()))
    );
    let mut own = msg("a", "x", 0);
    own.properties_mut().topic_alias = NonZeroU16::new(1);
    let result = h.cmd(|s, now| s.publish(now, own));
    assert_eq!(result, Err(UsageError::TopicAliasNotAllowed));
    assert_eq!(h.sent(), []);
}

/// CONNACK's Server Keep Alive replaces the Keep Alive the client sent.
#[test]
fn mqtt_5_3_2_2_21_server_keep_alive_used() {
    server_keep_alive_used();
}

// ---- MQTT 5.0: what the server must put in CONNACK, checked by the client -------------------

/// The server's CONNACK carries a Connect Reason Code of Table 3-1. Any other, like 0x01 from
/// `20 03 00 01 00`, is a Protocol Error: DISCONNECT 0x82 and close, never a connection, and the
/// publish accepted before goes out on the next connection.
#[test]
fn mqtt_5_3_2_2_8_undefined_connack_reason_code_closes() {
    for feed in FEEDS {
        for code in [
            0x01, 0x02, 0x04, 0x10, 0x18, 0x7F, 0x8B, 0x8D, 0x92, 0xA0, 0xFF,
        ] {
            let mut h = Harness::new(mode(Version::V5, feed));
            h.cmd(|s, now| s.publish(now, msg("t", "waiting", 1)))
                .unwrap();
            h.open();
            h.skip();
            h.inject_bytes(&[0x20, 0x03, 0x00, code, 0x00]);
            assert_eq!(
                closed_on_fault(&mut h, 0x82),
                ProtocolError::Decode(DecodeError::InvalidReasonCode(code)),
                "{code:#04x}"
            );
            assert_eq!(h.session.publishes_queued(), 1, "{code:#04x}");
            h.open();
            h.inject(ConnAck::default());
            assert!(h.session.is_connected());
            let sent = h.sent();
            assert_eq!(
                sent[1..],
                [on_wire(msg("t", "waiting", 1), Some(1), false)],
                "{code:#04x}"
            );
        }
    }
}

/// The server assigns a client identifier only to a client that sent an empty one
/// (§3.2.2.3.7). One sent to a client that named itself (`20 07 00 00 04 12 00 01 70`) is a
/// Protocol Error: DISCONNECT 0x82, no connection, the queue kept, and the next CONNECT still
/// carries the client's own identifier.
#[test]
fn mqtt_5_3_2_2_16_assigned_client_identifier_only_for_an_empty_one() {
    for feed in FEEDS {
        let mut h = Harness::new(mode(Version::V5, feed));
        h.cmd(|s, now| s.publish(now, msg("t", "waiting", 1)))
            .unwrap();
        h.open();
        h.skip();
        h.inject_bytes(&[0x20, 0x07, 0x00, 0x00, 0x04, 0x12, 0x00, 0x01, b'p']);
        assert_eq!(
            closed_on_fault(&mut h, 0x82),
            ProtocolError::AssignedClientIdentifierNotRequested
        );
        assert_eq!(h.session.publishes_queued(), 1);
        assert_eq!(h.session.server().assigned_client_identifier, None);
        let connect = h.connect();
        assert_eq!(connect.client_id, "client");
        assert_eq!(
            h.session.publishes_in_flight(),
            1,
            "sent on this connection"
        );

        // A client that sent an empty identifier takes the one assigned, and reconnects with
        // it; the server may not assign another then.
        let mut config = Config::new("", Version::V5);
        config.clean_start = false;
        let mut h = Harness::with_config(mode(Version::V5, feed), config);
        h.connect_with(connack_v5(ConnAckProperties {
            assigned_client_identifier: Some("p".into()),
            ..Default::default()
        }));
        assert_eq!(
            h.session.server().assigned_client_identifier.as_deref(),
            Some("p")
        );
        h.close();
        h.open();
        assert!(
            matches!(h.sent().as_slice(), [Packet::Connect(c)] if c.client_id == "p"),
            "the assigned identifier names the session"
        );
        h.inject_bytes(&[0x20, 0x07, 0x01, 0x00, 0x04, 0x12, 0x00, 0x01, b'q']);
        assert_eq!(
            closed_on_fault(&mut h, 0x82),
            ProtocolError::AssignedClientIdentifierNotRequested
        );
        h.open();
        assert!(matches!(h.sent().as_slice(), [Packet::Connect(c)] if c.client_id == "p"));
    }
}
