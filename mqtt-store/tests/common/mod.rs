//! Helpers shared by the integration tests: temporary directories and records.
#![allow(dead_code, unreachable_pub, unused_imports)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

pub use mqtt_proto::{PacketId, Publish, QoS, TopicName};
pub use mqtt_session::{MemoryStore, PublishId, Stage, Store, StoreError, StoredSession};
pub use mqtt_store::{DamageKind, FileStore, Recovery, StoreOptions, SyncPolicy};

/// A directory of its own under the system's temporary directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "mqtt-store-{name}-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The path of the log used by the tests.
    pub fn log(&self) -> PathBuf {
        self.0.join("session.mqttlog")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Options that never `fsync` on their own (compaction still does): fast tests.
pub fn fast() -> StoreOptions {
    StoreOptions::default().with_sync(SyncPolicy::Never)
}

pub fn open(path: &Path, options: StoreOptions) -> (FileStore, Recovery) {
    FileStore::open(path, options).unwrap()
}

/// A QoS 1 or 2 publish with a payload of `len` bytes.
pub fn publish(qos: QoS, payload: &[u8], packet_id: Option<u16>) -> Publish {
    let mut publish = Publish::new(TopicName::new("a/b").unwrap(), payload.to_vec());
    publish.qos = qos;
    publish.packet_id = packet_id.and_then(PacketId::new);
    publish
}

pub fn pid(id: u16) -> PacketId {
    PacketId::new(id).unwrap()
}

/// One call on a store.
#[derive(Debug, Clone)]
pub enum Op {
    Save {
        id: u64,
        packet_id: Option<u16>,
        stage: Stage,
        payload_len: usize,
    },
    Remove(u64),
    SaveIncoming(u16),
    RemoveIncoming(u16),
}

impl Op {
    pub fn apply(&self, store: &mut impl Store) {
        match *self {
            Op::Save {
                id,
                packet_id,
                stage,
                payload_len,
            } => {
                let qos = if id % 2 == 0 {
                    QoS::AtLeastOnce
                } else {
                    QoS::ExactlyOnce
                };
                // The payload depends on the id only, as a session's does: saving again changes
                // the stage and the packet identifier, never the message.
                let payload = vec![id as u8; payload_len + (id as usize % 7)];
                store
                    .save_outgoing(
                        PublishId::new(id),
                        &publish(qos, &payload, packet_id),
                        stage,
                    )
                    .unwrap();
            }
            Op::Remove(id) => store.remove_outgoing(PublishId::new(id)),
            Op::SaveIncoming(id) => store.save_incoming(pid(id)),
            Op::RemoveIncoming(id) => store.remove_incoming(pid(id)),
        }
    }
}

/// What a MemoryStore holds after `ops`: the reference a FileStore must match.
pub fn model(ops: &[Op]) -> StoredSession {
    let mut memory = MemoryStore::new();
    for op in ops {
        op.apply(&mut memory);
    }
    memory.load()
}
