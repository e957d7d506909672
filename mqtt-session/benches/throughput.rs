//! Messages per second through the session, and heap allocations per message.
//!
//! Run with `cargo bench -p mqtt-session --bench throughput`. The flows are those of
//! `tests/flows/mod.rs`: a session connected to a fake broker that answers at once with
//! acknowledgements encoded beforehand; messages have a 30-byte topic and a 16-byte payload.
//!
//! - `outbound/<version>/qos<n>/<store>`: publish a batch of messages, as many as the default
//!   in-flight window takes (20), the broker acknowledges them all in one read, the adapter drains
//!   `poll_transmit` and `poll_event`. `memory` is the default [`MemoryStore`], `nostore` is
//!   [`NoStore`].
//! - `inbound/<version>/qos<n>`: feed a stream of [`INBOUND`] PUBLISH packets in 64 KiB reads,
//!   draining events and PUBACKs after each.
//!
//! Criterion reports each row's throughput in messages per second. Before it runs, the bench
//! prints a table of heap allocations (and reallocations) per message, counted in the steady
//! state: after a warm-up, over about 10,000 messages. `tests/allocations.rs` asserts bounds on
//! the same numbers.

#![allow(missing_docs)]

#[path = "../tests/flows/mod.rs"]
mod flows;

use std::alloc::System;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flows::{COUNTED, Inbound, Outbound, VERSIONS, inbound_allocations, outbound_allocations};
use mqtt_session::proto::QoS;
use mqtt_session::{MemoryStore, NoStore, Store, Version};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Messages in one inbound iteration.
const INBOUND: usize = 10_000;

const QOS: [(QoS, &str); 3] = [
    (QoS::AtMostOnce, "qos0"),
    (QoS::AtLeastOnce, "qos1"),
    (QoS::ExactlyOnce, "qos2"),
];

/// Prints the allocations per message of every flow.
fn allocations(_: &mut Criterion) {
    println!("\nheap allocations per message, steady state, over about {COUNTED} messages:");
    println!("{:<32} {:>12}", "flow", "allocations");
    for (version, v) in VERSIONS {
        for (qos, q) in QOS {
            let memory = outbound_allocations(GLOBAL, version, qos, MemoryStore::new());
            println!("{:<32} {memory:>12.3}", format!("outbound/{v}/{q}/memory"));
            let none = outbound_allocations(GLOBAL, version, qos, NoStore);
            println!("{:<32} {none:>12.3}", format!("outbound/{v}/{q}/nostore"));
        }
        for (qos, q) in &QOS[..2] {
            let count = inbound_allocations(GLOBAL, version, *qos);
            println!("{:<32} {count:>12.3}", format!("inbound/{v}/{q}"));
        }
    }
    println!();
}

fn outbound_row<S: Store>(c: &mut Criterion, name: &str, version: Version, qos: QoS, store: S) {
    let mut flow = Outbound::new(version, qos, store);
    let mut group = c.benchmark_group("outbound");
    group.throughput(Throughput::Elements(flow.batch_len() as u64));
    group.bench_function(name, |b| b.iter(|| flow.run_batch()));
    group.finish();
}

fn outbound(c: &mut Criterion) {
    for (version, v) in VERSIONS {
        for (qos, q) in QOS {
            outbound_row(
                c,
                &format!("{v}/{q}/memory"),
                version,
                qos,
                MemoryStore::new(),
            );
            if qos != QoS::AtMostOnce {
                outbound_row(c, &format!("{v}/{q}/nostore"), version, qos, NoStore);
            }
        }
    }
}

fn inbound(c: &mut Criterion) {
    let mut group = c.benchmark_group("inbound");
    group.throughput(Throughput::Elements(INBOUND as u64));
    for (version, v) in VERSIONS {
        for (qos, q) in &QOS[..2] {
            let mut flow = Inbound::new(version, *qos, MemoryStore::new(), INBOUND);
            group.bench_function(format!("{v}/{q}"), |b| b.iter(|| flow.run()));
        }
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = allocations, outbound, inbound
}
criterion_main!(benches);
