//! A stream fed whole and fed in pieces cut where the first input bytes say: the same packets,
//! error and leftover bytes.
//!
//! The check is `fuzz_fragmented` in `mqtt-proto/tests/fuzz_checks/mod.rs`, which
//! `mqtt-proto/tests/fuzz_corpus.rs` also runs on the corpus and on every regression.
#![no_main]

#[path = "../../mqtt-proto/tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::fuzz_fragmented(data));
