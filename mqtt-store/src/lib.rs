#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod file;
mod record;
mod recovery;

pub use file::{FileStore, StoreOptions, SyncPolicy};
pub use recovery::{Damage, DamageKind, Recovery};
