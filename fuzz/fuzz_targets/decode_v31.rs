//! Arbitrary bytes into an MQTT 3.1 decoder: no panic, the three decode entry points agree, and
//! every packet decoded encodes again and decodes back equal.
//!
//! The check is `fuzz_decode` in `mqtt-proto/tests/fuzz_checks/mod.rs`, which
//! `mqtt-proto/tests/fuzz_corpus.rs` also runs on the corpus and on every regression.
#![no_main]

#[path = "../../mqtt-proto/tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::fuzz_decode(mqtt_proto::Version::V31, data));
