//! Heap allocations per message in the steady state, for the flows of `benches/throughput.rs`
//! (see `flows/mod.rs`): the session connected to a fake broker that answers at once.
//!
//! The goals: an inbound QoS 0 message allocates nothing beyond what its payload needs, and the
//! payload is a slice of the read buffer, so nothing at all once that buffer has grown; an
//! outbound QoS 1 message allocates at most once. Each flow is warmed up first, then counted
//! over about 10,000 messages ([`flows::COUNTED`]), so that the read buffer, the transmit
//! buffer and the queues growing now and then are amortized: the bound asserted is what is
//! measured now (zero) with room for such growth, well below the goals.
//!
//! The counting allocator counts every thread, so everything is measured in one test, with
//! nothing printed while counting. `cargo test -p mqtt-session --test allocations --
//! --nocapture` shows the table.

mod flows;

use std::alloc::System;
use std::hint::black_box;

use flows::{VERSIONS, inbound_allocations, outbound_allocations, per_message};
use mqtt_session::proto::QoS;
use mqtt_session::{MemoryStore, NoStore};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The most allocations (and reallocations) per message asserted for every flow: what the
/// buffers growing now and then may cost, amortized. Measured: 0.
const BOUND: f64 = 0.05;

#[test]
fn steady_state_allocations_per_message() {
    // The counter is live: a zero below is a measurement.
    assert_eq!(
        per_message(GLOBAL, 1, || drop(black_box(Box::new(1u64)))),
        1.0
    );
    let mut rows = Vec::new();
    for (version, v) in VERSIONS {
        for (qos, q) in [
            (QoS::AtMostOnce, 0),
            (QoS::AtLeastOnce, 1),
            (QoS::ExactlyOnce, 2),
        ] {
            let memory = outbound_allocations(GLOBAL, version, qos, MemoryStore::new());
            rows.push((format!("outbound/{v}/qos{q}/memory"), memory));
            let none = outbound_allocations(GLOBAL, version, qos, NoStore);
            rows.push((format!("outbound/{v}/qos{q}/nostore"), none));
        }
        for (qos, q) in [(QoS::AtMostOnce, 0), (QoS::AtLeastOnce, 1)] {
            let count = inbound_allocations(GLOBAL, version, qos);
            rows.push((format!("inbound/{v}/qos{q}"), count));
        }
    }
    for (flow, count) in &rows {
        println!("{flow:<28} {count:.4}");
    }
    for (flow, count) in &rows {
        // The goals, then the tighter bound that holds today.
        if flow.starts_with("inbound") && flow.ends_with("qos0") {
            assert!(
                *count < BOUND,
                "{flow}: {count} allocations per inbound QoS 0 message"
            );
        }
        if flow.contains("qos1/memory") {
            assert!(
                *count <= 1.0,
                "{flow}: {count} allocations per outbound QoS 1 message"
            );
        }
        assert!(*count < BOUND, "{flow}: {count} allocations per message");
    }
}
