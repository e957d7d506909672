//! Replays the fuzz corpus (`fuzz/corpus/<target>/`) and every crash found by fuzzing
//! (`fuzz/regressions/<target>/`) through the checks the fuzz targets run, so that `cargo test`
//! covers them without a nightly toolchain.
//!
//! The checks live in `tests/fuzz_checks/mod.rs`, which the fuzz targets include too. The seed
//! corpus is written by the ignored test [`write_seed_corpus`]:
//!
//! ```text
//! cargo test -p mqtt-proto --test fuzz_corpus -- --ignored write_seed_corpus
//! ```

mod fuzz_checks;

use std::collections::HashMap;
use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use arbitrary::Unstructured;
use fuzz_checks::{
    TARGETS, VERSIONS, arbitrary_packet, check_encoding, fuzz_decode, run_target, sample_packets,
    sample_stream,
};
use mqtt_proto::{PacketType, Version};

/// `fuzz/` at the root of the workspace.
fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The files of `fuzz/<kind>/<target>/`, sorted; none when the folder does not exist.
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(fuzz_dir().join(kind).join(target)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every file through the target's check and fails with the list of files that panicked.
fn replay(target: &str, files: &[PathBuf]) {
    let mut failures = Vec::new();
    for file in files {
        let data = fs::read(file).expect("readable corpus file");
        if catch_unwind(AssertUnwindSafe(|| run_target(target, &data))).is_err() {
            failures.push(file.display().to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "fuzz target {target} fails on {} input(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn seed_corpus_passes_the_fuzz_checks() {
    for target in TARGETS {
        let files = inputs("corpus", target);
        assert!(
            !files.is_empty(),
            "no seed corpus in fuzz/corpus/{target}: run write_seed_corpus"
        );
        replay(target, &files);
    }
}

#[test]
fn fuzz_regressions_pass_the_fuzz_checks() {
    for target in TARGETS {
        replay(target, &inputs("regressions", target));
    }
}

#[test]
fn sample_packets_pass_the_fuzz_checks() {
    for version in VERSIONS {
        for packet in sample_packets(version) {
            check_encoding(version, &packet);
        }
        fuzz_decode(version, &sample_stream(version));
    }
}

// ---- the seed corpus -------------------------------------------------------------------------

/// A small deterministic generator (xorshift64*), so the corpus is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

fn version_name(version: Version) -> &'static str {
    match version {
        Version::V31 => "v31",
        Version::V311 => "v311",
        _ => "v5",
    }
}

fn type_name(packet_type: PacketType) -> String {
    format!("{packet_type:?}").to_lowercase()
}

/// Empties `fuzz/corpus/<target>/` and writes `files` into it.
fn write_corpus(target: &str, files: &[(String, Vec<u8>)]) {
    let dir = fuzz_dir().join("corpus").join(target);
    if dir.exists() {
        fs::remove_dir_all(&dir).expect("removable corpus folder");
    }
    fs::create_dir_all(&dir).expect("corpus folder created");
    for (name, data) in files {
        fs::write(dir.join(name), data).expect("corpus file written");
    }
}

/// Valid and broken encodings of the sample packets of `version`, plus hand-made malformed
/// inputs.
fn decode_seeds(version: Version) -> Vec<(String, Vec<u8>)> {
    let mut seeds = Vec::new();
    let mut counts: HashMap<PacketType, usize> = HashMap::new();
    for packet in sample_packets(version) {
        let n = counts.entry(packet.packet_type()).or_default();
        let name = format!("{}-{n}", type_name(packet.packet_type()));
        *n += 1;
        let mut wire = Vec::new();
        packet.encode(version, &mut wire).expect("valid sample");
        if wire[1] < 0x7F && wire.len() > 2 {
            // Remaining length one short: the last field is cut.
            let mut short = wire.clone();
            short[1] -= 1;
            short.pop();
            seeds.push((format!("{name}-short"), short));
            // One byte too many.
            let mut long = wire.clone();
            long[1] += 1;
            long.push(0);
            seeds.push((format!("{name}-trailing"), long));
        }
        if *n == 1 {
            // Every flag bit of the first byte flipped at once.
            let mut flags = wire.clone();
            flags[0] ^= 0x0F;
            seeds.push((format!("{name}-flags"), flags));
        }
        seeds.push((name, wire));
    }
    seeds.push(("stream".into(), sample_stream(version)));
    let malformed: &[(&str, &[u8])] = &[
        ("reserved-type", &[0x00, 0x00]),
        ("auth-empty", &[0xF0, 0x00]),
        ("varint-five-bytes", &[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]),
        ("varint-not-minimal", &[0xC0, 0x80, 0x00]),
        ("publish-qos3", &[0x36, 0x05, 0x00, 0x01, b'a', 0x00, 0x01]),
        ("publish-null-topic", &[0x30, 0x04, 0x00, 0x02, b'a', 0x00]),
        (
            "publish-bad-utf8",
            &[0x30, 0x05, 0x00, 0x03, 0xED, 0xA0, 0x80],
        ),
        ("subscribe-no-filter", &[0x82, 0x02, 0x00, 0x01]),
        ("packet-id-zero", &[0x40, 0x02, 0x00, 0x00]),
        (
            "connect-bad-protocol",
            &[
                0x10, 0x0C, 0x00, 0x04, b'M', b'Q', b'T', b'X', 0x04, 0x02, 0x00, 0x3C, 0x00, 0x00,
            ],
        ),
    ];
    for (name, data) in malformed {
        seeds.push((format!("malformed-{name}"), data.to_vec()));
    }
    seeds
}

/// Inputs of the `roundtrip` target: random bytes, two for each packet type of each version.
fn roundtrip_seeds() -> Vec<(String, Vec<u8>)> {
    let mut rng = Rng(0x6D71_7474_2D70_726F);
    let mut seen: HashMap<(u8, PacketType), usize> = HashMap::new();
    let mut seeds = Vec::new();
    for _ in 0..20_000 {
        let len = 16 + (rng.next() % 240) as usize;
        let data = rng.bytes(len);
        let mut u = Unstructured::new(&data);
        let Ok(version) = u.choose(&VERSIONS).copied() else {
            continue;
        };
        let Ok(packet) = arbitrary_packet(&mut u, version) else {
            continue;
        };
        let n = seen
            .entry((version.level(), packet.packet_type()))
            .or_default();
        if *n < 2 {
            seeds.push((
                format!(
                    "{}-{}-{n}",
                    version_name(version),
                    type_name(packet.packet_type())
                ),
                data,
            ));
            *n += 1;
        }
    }
    assert_eq!(
        seen.len(),
        14 + 14 + 15,
        "every packet type of every version"
    );
    seeds
}

/// Inputs of the `fragmented` target: the sample streams under several control prefixes, and a
/// stream that turns malformed half-way.
fn fragmented_seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds = Vec::new();
    for version in VERSIONS {
        // Bit 0 of the first control byte selects MQTT 5.0, bit 2 (without bit 1) MQTT 3.1.
        let v5 = match version {
            Version::V5 => 1,
            Version::V31 => 0b100,
            _ => 0,
        };
        let stream = sample_stream(version);
        let middle = u16::try_from(stream.len() / 2).unwrap_or(u16::MAX);
        let [hi, lo] = middle.to_be_bytes();
        let controls: [(&str, [u8; 4]); 5] = [
            ("bytewise", [v5, 0, 0, 0]),
            ("middle-then-7", [v5, hi, lo, 6]),
            ("middle-then-rest", [v5, hi, lo, 255]),
            ("small-max", [v5 | 0b10 | (8 << 2), 0, 3, 2]),
            ("tiny-max", [v5 | 0b10, 0, 1, 0]),
        ];
        for (name, control) in controls {
            if version == Version::V31 && name.ends_with("-max") {
                continue; // a small maximum selects MQTT 3.1.1 or 5.0 only
            }
            let mut data = control.to_vec();
            data.extend_from_slice(&stream);
            seeds.push((format!("{}-{name}", version_name(version)), data));
        }
        // Valid packets, then a PUBLISH whose topic holds U+0000, then a PINGREQ.
        let mut data = vec![v5, 0, 5, 3];
        data.extend_from_slice(&stream[..stream.len().min(40)]);
        data.extend_from_slice(&[0x30, 0x04, 0x00, 0x02, b'a', 0x00, 0xC0, 0x00]);
        seeds.push((format!("{}-malformed-tail", version_name(version)), data));
        // A fixed header that is still incomplete at the end.
        let mut data = vec![v5, 0, 2, 0];
        data.extend_from_slice(&[0xC0, 0x00, 0x30, 0x80]);
        seeds.push((format!("{}-partial-header", version_name(version)), data));
    }
    seeds
}

/// Writes the seed corpus of every fuzz target into `fuzz/corpus/`, replacing what is there.
#[test]
#[ignore = "writes fuzz/corpus; run by hand to refresh the seed corpus"]
fn write_seed_corpus() {
    write_corpus("decode_v31", &decode_seeds(Version::V31));
    write_corpus("decode_v311", &decode_seeds(Version::V311));
    write_corpus("decode_v5", &decode_seeds(Version::V5));
    write_corpus("roundtrip", &roundtrip_seeds());
    write_corpus("fragmented", &fragmented_seeds());
}
