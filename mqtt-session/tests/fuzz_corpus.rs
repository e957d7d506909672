//! Replays the seed corpus of the `session` fuzz target (`fuzz/corpus/session/`) and every
//! input that made it fail (`fuzz/regressions/session/`) through the same steps and checks, so
//! that `cargo test` covers them without a nightly toolchain.
//!
//! The steps and checks live in `tests/fuzz_session/mod.rs`, which the fuzz target includes
//! too. The seed corpus is written by the ignored test [`write_seed_corpus`]:
//!
//! ```text
//! cargo test -p mqtt-session --test fuzz_corpus -- --ignored write_seed_corpus
//! ```

mod fuzz_session;

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use fuzz_session::{IN_FLIGHT, Script, fuzz_session, kind};

/// `fuzz/` at the root of the workspace.
fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The files of `fuzz/<kind>/session/`, sorted; none when the folder does not exist.
fn inputs(kind: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(fuzz_dir().join(kind).join("session")) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every file through the target and fails with the list of files that panicked.
fn replay(files: &[PathBuf]) {
    let mut failures = Vec::new();
    for file in files {
        let data = fs::read(file).expect("readable corpus file");
        if catch_unwind(AssertUnwindSafe(|| fuzz_session(&data))).is_err() {
            failures.push(file.display().to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "fuzz target session fails on {} input(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn seed_corpus_passes_the_session_checks() {
    let files = inputs("corpus");
    assert!(
        !files.is_empty(),
        "no seed corpus in fuzz/corpus/session: run write_seed_corpus"
    );
    replay(&files);
}

#[test]
fn regressions_pass_the_session_checks() {
    replay(&inputs("regressions"));
}

/// The seeds, also run here so that a change to the input format that breaks them shows.
#[test]
fn seeds_pass_the_session_checks() {
    for (name, script) in seeds() {
        let data = script.0;
        assert!(
            catch_unwind(AssertUnwindSafe(|| fuzz_session(&data))).is_ok(),
            "seed {name}"
        );
    }
}

// ---- the seed corpus -------------------------------------------------------------------------

/// Header flags (see `Script::new`).
const V5: u8 = 0x01;
const MANUAL: u8 = 0x02;
const ON_PUBREL: u8 = 0x04;
const CLEAN: u8 = 0x08;
const FAIL: u8 = 0x10;
const RESUBSCRIBE: u8 = 0x20;
const ALIASES: u8 = 0x40;
const EVENTS: u8 = 0x80;
/// Bit 6 of the MQTT 5.0 byte: MQTT 3.1 instead of 3.1.1.
const V31: u8 = 0x40;

/// A connected session: the header, OPEN and an accepting CONNACK (`connack` as in
/// `Script::connack`).
fn connected(flags: u8, v5: u8, connack: u8, b: u8) -> Script {
    Script::new(flags, 4, 4, 10, v5).open().connack(connack, b)
}

/// The first in-flight packet id of the client.
const FIRST: u8 = IN_FLIGHT;

/// Scenarios for one version: `v` is 0 for MQTT 3.1.1, [`V5`] for MQTT 5.0.
fn scenarios(v: u8) -> Vec<(&'static str, Script)> {
    // MQTT 3.1.1 has no subscription identifiers and no DISCONNECT properties.
    let (identifier, expiry) = if v == V5 { (1, 0x08) } else { (0, 0) };
    vec![
        ("connect", connected(v | CLEAN, 0, 0, 0)),
        (
            "connect-refused",
            Script::new(v, 1, 0, 10, 0).open().connack(0x02, 4),
        ),
        (
            "connect-timeout",
            Script::new(v, 1, 0, 10, 0).open().advance(12_000).open(),
        ),
        (
            "publish-qos0-1-2",
            connected(v, 0, 0, 0)
                .publish(0, b"zero")
                .publish(1, b"one")
                .publish(2, b"two")
                .ack_packet(kind::PUBACK, FIRST, 0)
                .ack_packet(kind::PUBREC, FIRST, 0)
                .ack_packet(kind::PUBCOMP, FIRST, 0),
        ),
        (
            "publish-acks-out-of-order",
            connected(v, 0, 0, 0)
                .publish(1, b"a")
                .publish(2, b"b")
                .publish(1, b"c")
                .ack_packet(kind::PUBACK, FIRST | 2, 0)
                .ack_packet(kind::PUBREC, FIRST | 1, 0)
                .ack_packet(kind::PUBACK, FIRST, 0)
                .ack_packet(kind::PUBCOMP, FIRST, 0),
        ),
        (
            "publish-queue-full",
            Script::new(v, 1, 1, 10, 0)
                .open()
                .connack(0, 0)
                .publish(1, b"a")
                .publish(1, b"b")
                .publish(1, b"c")
                .ack_packet(kind::PUBACK, FIRST, 0),
        ),
        (
            "inbound-qos1-qos2",
            connected(v, 0, 0, 0)
                .server_publish(0, 0, b"q0")
                .server_publish(1, 1, b"q1")
                .server_publish(2, 2, b"q2")
                .server_publish(2 | 0x20, 2, b"q2")
                .ack_packet(kind::PUBREL, 1, 0),
        ),
        (
            "inbound-manual-on-pubrel",
            connected(v | MANUAL | ON_PUBREL, 0, 0, 0)
                .server_publish(1, 0, b"q1")
                .server_publish(2, 1, b"q2")
                .server_publish(2 | 0x20, 1, b"q2")
                .ack(0, 0)
                .ack_packet(kind::PUBREL, 1, 0)
                .ack(0, 0),
        ),
        (
            "inbound-manual-refuse",
            connected(v | MANUAL, 0, 0, 0)
                .server_publish(2, 3, b"q2")
                .ack(0, 4)
                .server_publish(2 | 0x20, 3, b"q2"),
        ),
        (
            "subscribe-unsubscribe",
            connected(v | EVENTS, 0, 0, 0)
                .subscribe(&[1 | 0x08, 2 | 0x10], identifier)
                .request_ack(kind::SUBACK, FIRST, &[1, 2])
                .unsubscribe(&[1])
                .request_ack(kind::UNSUBACK, FIRST, &[0]),
        ),
        (
            "suback-wrong-count",
            connected(v, 0, 0, 0)
                .subscribe(&[0, 3], 0)
                .packet(0, kind::SUBACK, &[FIRST, 8]),
        ),
        (
            "resume-resends",
            connected(v, 0, 1, 0)
                .publish(1, b"a")
                .publish(2, b"b")
                .subscribe(&[0], 0)
                .ack_packet(kind::PUBREC, FIRST | 1, 0)
                .close()
                .open()
                .connack(1, 0)
                .ack_packet(kind::PUBACK, FIRST, 0)
                .ack_packet(kind::PUBCOMP, FIRST, 0),
        ),
        (
            "session-lost-resend",
            connected(v | RESUBSCRIBE, 0, 1, 0)
                .subscribe(&[0], 0)
                .request_ack(kind::SUBACK, FIRST, &[0])
                .publish(1, b"a")
                .publish(2, b"b")
                .close()
                .open()
                .connack(0, 0),
        ),
        (
            "session-lost-fail",
            connected(v | FAIL, 0, 1, 0)
                .publish(1, b"a")
                .subscribe(&[0], 0)
                .close()
                .publish(2, b"b")
                .open()
                .connack(0, 0),
        ),
        (
            "keep-alive",
            connected(v, 0, 0, 0)
                .until_deadline()
                .packet(0, kind::PINGRESP, &[])
                .until_deadline()
                .until_deadline(),
        ),
        (
            "garbage-after-connack",
            connected(v, 0, 0, 0).raw(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x00]),
        ),
        (
            "split-and-read-buffer",
            connected(v, 0, 0, 0)
                .packet(2 | (3 << 2), kind::PUBLISH, &[1, 4, 3, b'x', b'y', b'z'])
                .packet(3, kind::PUBLISH, &[2, 5, 1, b'w']),
        ),
        (
            "client-only-packet",
            connected(v, 0, 0, 0).packet(0, kind::CLIENT_ONLY, &[1]),
        ),
        (
            "disconnect",
            connected(v, 0, 0, 0)
                .publish(1, b"a")
                .disconnect(expiry)
                .open()
                .connack(1, 0),
        ),
    ]
}

/// MQTT 5.0 only: server limits, topic aliases, receive maximum, AUTH and DISCONNECT.
fn scenarios_v5() -> Vec<(&'static str, Script)> {
    vec![
        (
            "server-limits",
            connected(V5, 0, 0x04 | 0x08 | 0x10 | 0x20 | 0x40 | 0x80, 0x01)
                .publish(2, b"two")
                .publish(0x04, b"retained")
                .subscribe(&[1, 4], 2),
        ),
        (
            "receive-maximum-lowered-on-resume",
            connected(V5, 0, 0, 0)
                .publish(1, b"a")
                .publish(1, b"b")
                .publish(2, b"c")
                .close()
                .open()
                .connack(0x01 | 0x04, 0)
                .ack_packet(kind::PUBACK, FIRST, 0)
                .ack_packet(kind::PUBACK, FIRST, 0),
        ),
        (
            "inbound-receive-maximum",
            connected(V5 | MANUAL, 0x01, 0, 0)
                .server_publish(1, 0, b"a")
                .server_publish(1, 1, b"b"),
        ),
        (
            "topic-alias-in",
            connected(V5, 0x18, 0, 0)
                .server_publish(0x40, 0x10, b"set")
                .server_publish(0xC0, 0x10, b"use")
                .server_publish(0xC0, 0x30, b"unknown"),
        ),
        (
            "topic-alias-out",
            connected(V5 | ALIASES, 0, 0x10, 0x02)
                .publish(0, b"a")
                .publish(0, b"a")
                .publish(0xC0, b"refused"),
        ),
        (
            "auth-exchange",
            Script::new(V5, 4, 4, 10, 0x20)
                .open()
                .packet(0, kind::AUTH, &[1 | 0x04])
                .auth_with_data(1 | 0x04, b"data")
                .connack(0, 0)
                .auth(2 | 0x04),
        ),
        (
            "server-disconnect",
            connected(V5, 0, 0, 0)
                .publish(1, b"a")
                .packet(0, kind::DISCONNECT, &[5]),
        ),
        (
            "packet-too-large",
            connected(V5, 0x40, 0, 0)
                .server_publish(0, 0, &[b'x'; 23])
                .raw(&[0x30, 0x7F, 0x00, 0x01, b'a']),
        ),
        (
            "pubrec-error",
            connected(V5, 0, 0, 0)
                .publish(2, b"refused")
                .ack_packet(kind::PUBREC, FIRST, 4)
                .ack_packet(kind::PUBREL, 7, 6),
        ),
    ]
}

fn seeds() -> Vec<(String, Script)> {
    let mut seeds = Vec::new();
    for (v, name) in [(0, "v311"), (V5, "v5")] {
        for (scenario, script) in scenarios(v) {
            seeds.push((format!("{name}-{scenario}"), script));
        }
    }
    // MQTT 3.1: the MQTT 3.1.1 scenarios with bit 6 of the MQTT 5.0 byte (header byte 4) set.
    for (scenario, mut script) in scenarios(0) {
        script.0[4] |= V31;
        seeds.push((format!("v31-{scenario}"), script));
    }
    for (scenario, script) in scenarios_v5() {
        seeds.push((format!("v5-{scenario}"), script));
    }
    seeds
}

#[test]
#[ignore = "writes fuzz/corpus/session; run by hand after changing the input format"]
fn write_seed_corpus() {
    let dir = fuzz_dir().join("corpus").join("session");
    if dir.exists() {
        fs::remove_dir_all(&dir).expect("removable corpus folder");
    }
    fs::create_dir_all(&dir).expect("corpus folder created");
    for (name, script) in seeds() {
        fs::write(dir.join(name), script.0).expect("corpus file written");
    }
}
