//! A valid packet built from the input with `arbitrary`: it encodes to `encoded_len` bytes, decodes
//! back equal and re-encodes to the same bytes.
//!
//! The check is `fuzz_roundtrip` in `mqtt-proto/tests/fuzz_checks/mod.rs`, which
//! `mqtt-proto/tests/fuzz_corpus.rs` also runs on the corpus and on every regression.
#![no_main]

#[path = "../../mqtt-proto/tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::fuzz_roundtrip(data));
