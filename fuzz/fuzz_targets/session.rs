//! A sans-IO client session driven by the input: broker bytes (raw, and well-formed packets built
//! from the input, so that it gets past CONNACK), commands, time and the transport opening and
//! closing. Nothing panics, everything the client sends decodes, and packet identifiers stay
//! unique among its exchanges in flight.
//!
//! The steps and checks are `fuzz_session` in `mqtt-session/tests/fuzz_session/mod.rs`, which
//! `mqtt-session/tests/fuzz_corpus.rs` also runs on the corpus and on every regression.
#![no_main]

#[path = "../../mqtt-session/tests/fuzz_session/mod.rs"]
mod fuzz_session;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_session::fuzz_session(data));
