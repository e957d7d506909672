//! Keep alive: PINGREQ when nothing was sent for the interval (MQTT-3.1.2-23), or nothing
//! received while the client kept sending (a dead link noticed while busy), the PINGRESP
//! timeout, and keep alive off.

mod harness;

use harness::*;

const KEEP_ALIVE: u64 = 60_000;

/// PINGREQ exactly one interval after the last packet sent, CONNECT included; PINGRESP
/// answers it and the next one follows one interval after the PINGREQ.
fn pingreq_when_idle(mode: Mode) {
    let mut h = Harness::new(mode);
    h.open();
    // CONNACK takes 250 ms: the interval runs from CONNECT, the last packet sent.
    h.advance(Duration::from_millis(250));
    h.inject(ConnAck::default());
    h.skip();
    assert_eq!(
        h.session.poll_timeout(),
        Some(Instant::from_millis(KEEP_ALIVE))
    );
    h.drive();
    assert_eq!(h.sent_timed(), [(KEEP_ALIVE, Packet::PingReq)]);
    h.advance(Duration::from_millis(40));
    h.inject(Packet::PingResp);
    assert!(h.events().is_empty());
    h.drive();
    assert_eq!(h.sent_timed(), [(2 * KEEP_ALIVE, Packet::PingReq)]);
    assert!(h.session.is_connected());
}

/// Sending anything restarts the interval; receiving does not, since keep alive is about
/// what the client sends.
fn traffic_postpones_pingreq(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.advance(Duration::from_secs(30));
    h.cmd(|s, now| s.publish(now, msg("t", "x", 0))).unwrap();
    h.advance(Duration::from_secs(10));
    h.inject(incoming("t", "in", 0, 0));
    h.skip();
    h.drive();
    assert_eq!(h.sent_timed(), [(30_000 + KEEP_ALIVE, Packet::PingReq)]);
}

/// An acknowledgement the client sends counts as traffic.
fn acks_postpone_pingreq(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.advance(Duration::from_secs(45));
    h.inject(incoming("t", "in", 1, 1));
    assert_eq!(h.sent(), [Packet::from(puback(1))]);
    h.drive();
    assert_eq!(h.sent_timed(), [(45_000 + KEEP_ALIVE, Packet::PingReq)]);
}

/// No PINGRESP within the ping timeout (one keep alive interval by default): the
/// connection is given up, and nothing more is sent.
fn missing_pingresp(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.drive();
    assert_eq!(h.sent(), [Packet::PingReq]);
    // Traffic sent while waiting does not extend the wait.
    h.advance(Duration::from_secs(10));
    h.cmd(|s, now| s.publish(now, msg("t", "x", 0))).unwrap();
    h.skip();
    h.drive();
    assert_eq!(h.ms(), 2 * KEEP_ALIVE);
    assert!(matches!(
        h.events().as_slice(),
        [Event::Disconnected(DisconnectReason::KeepAliveTimeout)]
    ));
    assert!(h.sent().is_empty());
    assert_eq!(h.session.poll_timeout(), None);
    assert_eq!(h.session.state(), ConnectionState::Disconnected);
}

/// A configured ping timeout shorter than keep alive.
fn ping_timeout_configured(mode: Mode) {
    let mut config = mode.config();
    config.ping_timeout = Some(Duration::from_secs(5));
    let mut h = Harness::with_config(mode, config);
    h.connect();
    h.drive();
    h.skip();
    assert_eq!(h.drive(), Duration::from_secs(5));
    assert!(matches!(
        h.events().as_slice(),
        [Event::Disconnected(DisconnectReason::KeepAliveTimeout)]
    ));
}

/// A ping timeout longer than keep alive: a late PINGRESP still keeps the connection, and
/// keep alive goes on (the interval since the PINGREQ has passed, so another follows at
/// once).
fn ping_timeout_longer_than_keep_alive(mode: Mode) {
    let mut config = mode.config();
    config.ping_timeout = Some(Duration::from_secs(90));
    let mut h = Harness::with_config(mode, config);
    h.connect();
    h.drive();
    assert_eq!(h.sent_timed(), [(KEEP_ALIVE, Packet::PingReq)]);
    h.advance(Duration::from_secs(70));
    assert!(h.session.is_connected());
    h.inject(Packet::PingResp);
    let next = h.session.poll_timeout().expect("keep alive still runs");
    assert!(
        next <= Instant::from_millis(2 * KEEP_ALIVE + 10_000),
        "{next:?}"
    );
    h.drive();
    let sent = h.sent_timed();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1, Packet::PingReq);
    assert!(h.session.is_connected());
}

/// Any packet from the server after PINGREQ shows the connection is alive.
fn any_packet_answers_pingreq(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    h.drive();
    h.advance(Duration::from_secs(1));
    h.inject(incoming("t", "x", 0, 0));
    h.advance(Duration::from_secs(100));
    assert!(h.session.is_connected());
}

/// Keep alive 0: no PINGREQ, ever, and no deadline.
fn keep_alive_zero(mode: Mode) {
    let mut config = mode.config();
    config.keep_alive = Duration::ZERO;
    let mut h = Harness::with_config(mode, config);
    let connect = h.connect();
    assert_eq!(connect.keep_alive, 0);
    assert_eq!(h.session.poll_timeout(), None);
    h.advance(Duration::from_secs(86_400));
    assert!(h.sent().is_empty());
    assert!(h.session.is_connected());
}

/// `handle_timeout` called early or twice does nothing.
fn early_and_repeated_timeouts(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect();
    for ms in [0, 1, 59_999] {
        h.now = Instant::from_millis(ms);
        h.cmd(|s, now| s.handle_timeout(now));
    }
    assert!(h.sent().is_empty());
    h.drive();
    h.cmd(|s, now| s.handle_timeout(now));
    assert_eq!(h.sent(), [Packet::PingReq]);
}

/// MQTT 5.0: the Server Keep Alive replaces the client's value.
fn server_keep_alive(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect_with(connack_v5(ConnAckProperties {
        server_keep_alive: Some(10),
        ..Default::default()
    }));
    h.drive();
    assert_eq!(h.sent_timed(), [(10_000, Packet::PingReq)]);
    // The ping timeout follows it too.
    h.skip();
    assert_eq!(h.drive(), Duration::from_secs(10));
    assert!(matches!(
        h.events().as_slice(),
        [Event::Disconnected(DisconnectReason::KeepAliveTimeout)]
    ));
}

/// MQTT 5.0: a Server Keep Alive of 0 turns keep alive off.
fn server_keep_alive_zero(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect_with(connack_v5(ConnAckProperties {
        server_keep_alive: Some(0),
        ..Default::default()
    }));
    assert_eq!(h.session.poll_timeout(), None);
    h.advance(Duration::from_secs(1000));
    assert!(h.sent().is_empty());
}

/// A Server Keep Alive on one connection does not stick to the next.
fn server_keep_alive_per_connection(mode: Mode) {
    let mut h = Harness::new(mode);
    h.connect_with(connack_v5(ConnAckProperties {
        server_keep_alive: Some(10),
        ..Default::default()
    }));
    h.close();
    let start = h.ms();
    h.open();
    h.inject(connack_present());
    h.skip();
    h.drive();
    assert_eq!(h.sent_timed(), [(start + KEEP_ALIVE, Packet::PingReq)]);
}

/// A client that keeps publishing to a server that went silent (a black-holed link) still
/// pings it one interval after the server last sent anything, and gives the connection up one
/// ping timeout later: within twice the keep alive, at every QoS.
fn busy_client_notices_a_silent_server(mode: Mode) {
    for qos in [0, 1, 2] {
        let mut config = mode.config();
        config.keep_alive = Duration::from_secs(5);
        let mut h = Harness::with_config(mode, config);
        h.connect();
        let connected = h.ms();
        let mut pinged_at = None;
        let mut ended_at = None;
        for _ in 0..20 {
            h.advance(Duration::from_secs(1));
            if h.session.is_connected() {
                h.cmd(|s, now| s.publish(now, msg("t", "x", qos))).unwrap();
            }
            for (at, packet) in h.sent_timed() {
                if packet == Packet::PingReq && pinged_at.is_none() {
                    pinged_at = Some(at);
                }
            }
            if ended_at.is_none()
                && h.events()
                    .iter()
                    .any(|e| matches!(e, Event::Disconnected(DisconnectReason::KeepAliveTimeout)))
            {
                ended_at = Some(h.ms());
            }
        }
        assert_eq!(pinged_at, Some(connected + 5_000), "QoS {qos}");
        assert_eq!(ended_at, Some(connected + 10_000), "QoS {qos}");
    }
}

scenarios! {
    all: pingreq_when_idle, traffic_postpones_pingreq, acks_postpone_pingreq, missing_pingresp,
        busy_client_notices_a_silent_server,
        ping_timeout_configured, ping_timeout_longer_than_keep_alive, any_packet_answers_pingreq,
        keep_alive_zero, early_and_repeated_timeouts;
    v5: server_keep_alive, server_keep_alive_zero, server_keep_alive_per_connection;
}
