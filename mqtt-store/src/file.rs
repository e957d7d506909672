//! [`FileStore`]: the session's state in an append-only log file.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use mqtt_proto::{PacketId, Publish, QoS};
use mqtt_session::{OutgoingRecord, PublishId, Stage, Store, StoreError, StoredSession};

use crate::record::{self, FRAME_LEN, INCOMING_LEN, MAGIC, MAX_BODY, Record};
use crate::recovery::{Damage, DamageKind, Recovery};

/// When [`FileStore`] asks the operating system to put what it wrote on the disk (`fsync`).
///
/// Every record is written to the file (into the operating system's cache) as soon as the
/// session reports the change, whatever the policy: all three survive the process being killed.
/// The policy decides what survives a power loss or an operating system crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SyncPolicy {
    /// `fsync` after every record: a publish accepted is on the disk before
    /// [`Session::publish`](mqtt_session::Session::publish) returns. The slowest.
    #[default]
    EveryRecord,
    /// `fsync` in [`Store::flush`], when anything was written since the last one. The client
    /// layer calls `flush` before it writes the bytes the session produced, so one `fsync`
    /// covers a batch of messages, and no packet reaches the broker before the state it implies
    /// is on the disk. A publish accepted but not yet flushed is lost with the power.
    Batched,
    /// Never `fsync` (but for compaction, which must): the operating system writes the cache
    /// back when it likes, typically within seconds. A power loss may lose the recent past,
    /// never the log's consistency: what is read back is a prefix of what was written.
    Never,
}

/// How a [`FileStore`] behaves.
///
/// ```
/// use mqtt_store::{StoreOptions, SyncPolicy};
///
/// let options = StoreOptions::default()
///     .with_sync(SyncPolicy::Batched)
///     .with_max_bytes(16 << 20);
/// assert_eq!(options.sync, SyncPolicy::Batched);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreOptions {
    /// When to `fsync`. Default: [`SyncPolicy::EveryRecord`], the one that depends on nobody
    /// calling [`Store::flush`].
    pub sync: SyncPolicy,
    /// The size the log may grow to with new messages, in bytes. Default: 64 MiB.
    ///
    /// A new outbound publish that would take the log past it is refused with
    /// [`StoreError::Full`] (after a compaction, where one would make room). Records about
    /// messages already kept (stage changes, completions) and inbound QoS 2 identifiers are
    /// never refused: dropping them would lose or duplicate messages, not save space. They can
    /// take the log past the limit by a few records' worth, until the next compaction.
    pub max_bytes: u64,
    /// The smallest log that is compacted on its own, in bytes. Default: 1 MiB.
    ///
    /// A log longer than this and more than twice as long as its live records is rewritten
    /// with only the live records. Near [`max_bytes`](Self::max_bytes), a compaction also runs
    /// when it is what makes room for a record.
    pub compact_min_bytes: u64,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions::new()
    }
}

impl StoreOptions {
    /// The defaults.
    pub const fn new() -> StoreOptions {
        StoreOptions {
            sync: SyncPolicy::EveryRecord,
            max_bytes: 64 << 20,
            compact_min_bytes: 1 << 20,
        }
    }

    /// Sets [`sync`](Self::sync).
    #[must_use]
    pub const fn with_sync(mut self, sync: SyncPolicy) -> StoreOptions {
        self.sync = sync;
        self
    }

    /// Sets [`max_bytes`](Self::max_bytes).
    #[must_use]
    pub const fn with_max_bytes(mut self, max_bytes: u64) -> StoreOptions {
        self.max_bytes = max_bytes;
        self
    }

    /// Sets [`compact_min_bytes`](Self::compact_min_bytes).
    #[must_use]
    pub const fn with_compact_min_bytes(mut self, compact_min_bytes: u64) -> StoreOptions {
        self.compact_min_bytes = compact_min_bytes;
        self
    }
}

/// An outbound publish as the store keeps it in memory.
#[derive(Debug)]
struct Entry {
    publish: Publish,
    stage: Stage,
    /// The length of its outgoing record, which a compaction writes again.
    len: u64,
}

/// A [`Store`] that keeps the session's state in an append-only log file, so that a process
/// that is killed, or a machine that loses power, resumes where it stopped.
///
/// Every change the session reports becomes one small record appended to the log, framed with
/// its length and a CRC-32 (the format is in the [crate docs](crate)). The store also keeps
/// the live state in memory, so [`load`](Store::load) reads nothing. When the log is more than
/// twice as long as its live records, it is compacted: the live records are written to a new
/// file, which replaces the log by an atomic rename.
///
/// [`open`](FileStore::open) replays the log; a damaged tail is dropped and reported in the
/// [`Recovery`].
///
/// One process at a time may open a log: nothing locks the file. Dropping the store does not
/// `fsync`: with [`SyncPolicy::Batched`], call [`flush`](Store::flush) first.
///
/// # Errors
///
/// A failed write or `fsync` comes back as [`StoreError::Failed`] from the method that
/// made it, or, for the methods that return nothing, from the next [`flush`](Store::flush). The
/// change is kept in memory all the same, and the log may end in a partial record, so the
/// store appends nothing more: the next write, or `flush`, rewrites the whole live state to a
/// new log instead (as a compaction does), and the store is back to normal once that works.
///
/// ```no_run
/// use mqtt_session::{Config, Session, Version};
/// use mqtt_store::{FileStore, StoreOptions, SyncPolicy};
///
/// let options = StoreOptions::default().with_sync(SyncPolicy::Batched);
/// let (store, recovery) = FileStore::open("client.mqttlog", options)?;
/// if let Some(damage) = recovery.damage {
///     eprintln!("the store's log was damaged: {damage}");
/// }
/// // Resumes the publishes left unfinished when the process last stopped.
/// let session = Session::from_store(Config::new("client", Version::V5), store);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct FileStore {
    path: PathBuf,
    file: File,
    options: StoreOptions,
    /// The log's length: where the next record goes.
    len: u64,
    /// The length the log would have if compacted now.
    live: u64,
    outgoing: BTreeMap<PublishId, Entry>,
    incoming: BTreeSet<PacketId>,
    /// Records written and not yet `fsync`ed ([`SyncPolicy::Batched`]).
    unsynced: bool,
    /// A write failed: the log may end in a partial record, so the next write is a rewrite.
    needs_rewrite: bool,
    /// The log length past which an automatic compaction is next tried.
    compact_at: u64,
    /// The record being written.
    buf: Vec<u8>,
}

impl FileStore {
    /// Opens the log at `path`, or creates it (its directory must exist), and replays it.
    ///
    /// A log whose end is damaged (a record cut short by a crash, a checksum that does not
    /// match) is kept up to the last good record, cut there, and the damage reported in the
    /// [`Recovery`]. The temporary file of an interrupted compaction is removed.
    ///
    /// # Errors
    ///
    /// The I/O error when the file can't be opened, read, created or cut; an error of kind
    /// [`InvalidData`](ErrorKind::InvalidData) when the file does not start as a log does
    /// (it is left untouched).
    pub fn open(
        path: impl AsRef<Path>,
        options: StoreOptions,
    ) -> io::Result<(FileStore, Recovery)> {
        let path = path.as_ref().to_path_buf();
        let mut recovery = Recovery::default();
        match fs::remove_file(compaction_path(&path)) {
            Ok(()) => recovery.stale_compaction = true,
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mut file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .open(&path)?;
                sync_dir(&path)?;
                file
            }
            Err(e) => return Err(e),
        };
        let file_len = file.metadata()?.len();
        let mut state = Replayed::default();
        let good = replay(&mut file, file_len, &mut state, &mut recovery)?;
        if good < MAGIC.len() as u64 {
            // A new file, or one whose header was being written.
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            file.write_all(&MAGIC)?;
            file.sync_all()?;
        } else if good < file_len {
            file.set_len(good)?;
            file.sync_all()?;
        }
        let len = file.seek(SeekFrom::Start(good.max(MAGIC.len() as u64)))?;
        let store = FileStore {
            path,
            file,
            options,
            len,
            live: state.live,
            outgoing: state.outgoing,
            incoming: state.incoming,
            unsynced: false,
            needs_rewrite: false,
            compact_at: options.compact_min_bytes,
            buf: Vec::new(),
        };
        Ok((store, recovery))
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The options it was opened with.
    pub fn options(&self) -> &StoreOptions {
        &self.options
    }

    /// The log's length in bytes.
    pub fn log_len(&self) -> u64 {
        self.len
    }

    /// The length the log would have right after a compaction: its header and the records of
    /// the live state.
    pub fn live_len(&self) -> u64 {
        self.live
    }

    /// Rewrites the log with only the live records, and makes it durable.
    ///
    /// The records go to a temporary file next to the log (its name followed by `.compact`),
    /// which is `fsync`ed and renamed over the log, and the directory is `fsync`ed. A crash at
    /// any point leaves either the old log or the new one whole; [`open`](Self::open) removes
    /// a leftover temporary file.
    ///
    /// # Errors
    ///
    /// [`StoreError::Failed`] when the new log could not be written or renamed (the old one is
    /// still the log, untouched), or when the directory could not be `fsync`ed after the
    /// rename (the new log is in use, but may not survive a power loss).
    pub fn compact(&mut self) -> Result<(), StoreError> {
        let temporary = compaction_path(&self.path);
        let (file, len) = match self.write_live(&temporary) {
            Ok(written) => written,
            Err(e) => {
                let _ = fs::remove_file(&temporary);
                return Err(failed("compaction", &e));
            }
        };
        if let Err(e) = fs::rename(&temporary, &self.path) {
            let _ = fs::remove_file(&temporary);
            return Err(failed("compaction", &e));
        }
        // The new log is in place: whatever the directory's fsync gives, it is the one to
        // append to.
        self.file = file;
        self.len = len;
        self.live = len;
        self.unsynced = false;
        self.needs_rewrite = false;
        self.compact_at = self.options.compact_min_bytes;
        sync_dir(&self.path).map_err(|e| {
            // The rename may not last: write everything again next time.
            self.needs_rewrite = true;
            failed("compaction", &e)
        })
    }

    /// Writes the header and the live records to a new file at `path` and `fsync`s it.
    fn write_live(&mut self, path: &Path) -> io::Result<(File, u64)> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        let mut writer = BufWriter::with_capacity(64 * 1024, &file);
        writer.write_all(&MAGIC)?;
        let mut len = MAGIC.len() as u64;
        let mut buf = Vec::new();
        for (id, entry) in &mut self.outgoing {
            buf.clear();
            record::outgoing(&mut buf, *id, entry.stage, &entry.publish)
                .map_err(io::Error::other)?;
            writer.write_all(&buf)?;
            entry.len = buf.len() as u64;
            len += entry.len;
        }
        for packet_id in &self.incoming {
            buf.clear();
            record::incoming(&mut buf, *packet_id, false);
            writer.write_all(&buf)?;
            len += buf.len() as u64;
        }
        writer.flush()?;
        drop(writer);
        file.sync_all()?;
        Ok((file, len))
    }

    /// Whether a compaction before writing a record of `len` bytes would save at least an
    /// eighth of the size limit; `live` is the live length with the record's change applied.
    /// Below that, compacting to make room would run for every record near the limit.
    fn compaction_pays(&self, len: u64, live: u64) -> bool {
        let saved = (self.len + len).saturating_sub(live);
        saved >= (self.options.max_bytes / 8).max(1)
    }

    /// Makes the change whose record is in `buf`, already applied to the in-memory state,
    /// durable as the policy says: by appending the record, or by a compaction, which writes
    /// the whole state, when the log needs one.
    fn commit(&mut self) -> Result<(), StoreError> {
        let len = self.buf.len() as u64;
        let over = self.len.saturating_add(len) > self.options.max_bytes;
        if self.needs_rewrite || (over && self.compaction_pays(len, self.live)) {
            // The change is on the disk only if the compaction succeeds.
            return self.compact().inspect_err(|_| self.needs_rewrite = true);
        }
        if let Err(e) = self.append() {
            self.needs_rewrite = true;
            return Err(failed("write", &e));
        }
        if self.len > self.compact_at && self.len / 2 > self.live && self.compact().is_err() {
            // The old log is still whole (or the new one in place): only try again later.
            self.compact_at = self.len.saturating_add(self.options.compact_min_bytes);
        }
        Ok(())
    }

    fn append(&mut self) -> io::Result<()> {
        self.file.write_all(&self.buf)?;
        self.len += self.buf.len() as u64;
        match self.options.sync {
            SyncPolicy::EveryRecord => self.file.sync_data()?,
            SyncPolicy::Batched => self.unsynced = true,
            SyncPolicy::Never => {}
        }
        Ok(())
    }
}

impl Store for FileStore {
    /// Appends an outgoing record for a publish it does not hold yet, a stage-change record
    /// otherwise (nothing when neither the stage nor the packet identifier changed).
    ///
    /// # Errors
    ///
    /// - [`StoreError::Full`] for a new publish that does not fit under
    ///   [`StoreOptions::max_bytes`]; nothing is recorded.
    /// - [`StoreError::Failed`] for a publish that can't be encoded, and when writing failed.
    ///   A new publish is then not kept; a stage change is kept in memory and written by the
    ///   next rewrite (see [`FileStore`]).
    fn save_outgoing(
        &mut self,
        id: PublishId,
        publish: &Publish,
        stage: Stage,
    ) -> Result<(), StoreError> {
        self.buf.clear();
        if let Some(entry) = self.outgoing.get_mut(&id) {
            if entry.stage == stage && entry.publish.packet_id == publish.packet_id {
                return Ok(());
            }
            if entry.publish.qos == QoS::AtMostOnce && publish.packet_id.is_some() {
                return Err(StoreError::Failed(
                    "a QoS 0 publish has no packet identifier".into(),
                ));
            }
            record::stage(&mut self.buf, id, stage, publish.packet_id)?;
            entry.stage = stage;
            entry.publish.packet_id = publish.packet_id;
            return self.commit();
        }
        record::outgoing(&mut self.buf, id, stage, publish)?;
        let len = self.buf.len() as u64;
        let live = self.live + len;
        let limit = self.options.max_bytes;
        let fits = live <= limit
            && (self.len.saturating_add(len) <= limit || self.compaction_pays(len, live));
        if !fits {
            return Err(StoreError::Full { limit });
        }
        let publish = publish.clone();
        self.outgoing.insert(
            id,
            Entry {
                publish,
                stage,
                len,
            },
        );
        self.live = live;
        self.commit().inspect_err(|_| {
            if let Some(entry) = self.outgoing.remove(&id) {
                self.live -= entry.len;
            }
        })
    }

    /// Appends a record of the completion. A write failure is reported by the next
    /// [`flush`](Store::flush).
    fn remove_outgoing(&mut self, id: PublishId) {
        let Some(entry) = self.outgoing.remove(&id) else {
            return;
        };
        self.live -= entry.len;
        self.buf.clear();
        record::outgoing_done(&mut self.buf, id);
        let _ = self.commit();
    }

    /// Appends a record of the identifier. A write failure is reported by the next
    /// [`flush`](Store::flush).
    fn save_incoming(&mut self, packet_id: PacketId) {
        if !self.incoming.insert(packet_id) {
            return;
        }
        self.live += INCOMING_LEN;
        self.buf.clear();
        record::incoming(&mut self.buf, packet_id, false);
        let _ = self.commit();
    }

    /// Appends a record of the end of the exchange. A write failure is reported by the next
    /// [`flush`](Store::flush).
    fn remove_incoming(&mut self, packet_id: PacketId) {
        if !self.incoming.remove(&packet_id) {
            return;
        }
        self.live -= INCOMING_LEN;
        self.buf.clear();
        record::incoming(&mut self.buf, packet_id, true);
        let _ = self.commit();
    }

    /// The live state, from memory.
    fn load(&self) -> StoredSession {
        StoredSession {
            outgoing: self
                .outgoing
                .iter()
                .map(|(id, entry)| OutgoingRecord {
                    id: *id,
                    publish: entry.publish.clone(),
                    stage: entry.stage,
                })
                .collect(),
            incoming: self.incoming.iter().copied().collect(),
        }
    }

    /// `fsync`s the records written since the last `fsync` ([`SyncPolicy::Batched`]), or
    /// rewrites the log after a failed write.
    ///
    /// # Errors
    ///
    /// [`StoreError::Failed`] when the records could not be made durable; the next call tries
    /// again, with a rewrite of the whole state.
    fn flush(&mut self) -> Result<(), StoreError> {
        if self.needs_rewrite {
            return self.compact();
        }
        if self.unsynced {
            if let Err(e) = self.file.sync_data() {
                // After a failed fsync, what reached the disk is unknown: write it all again.
                self.needs_rewrite = true;
                return Err(failed("fsync", &e));
            }
            self.unsynced = false;
        }
        Ok(())
    }
}

/// The state a log's records add up to.
#[derive(Debug)]
struct Replayed {
    outgoing: BTreeMap<PublishId, Entry>,
    incoming: BTreeSet<PacketId>,
    live: u64,
}

impl Default for Replayed {
    fn default() -> Replayed {
        Replayed {
            outgoing: BTreeMap::new(),
            incoming: BTreeSet::new(),
            live: MAGIC.len() as u64,
        }
    }
}

impl Replayed {
    /// Applies one replayed record to the in-memory state.
    fn apply(&mut self, record: Record, len: u64) {
        match record {
            Record::Outgoing { id, stage, publish } => {
                let entry = Entry {
                    publish,
                    stage,
                    len,
                };
                self.live += len;
                if let Some(old) = self.outgoing.insert(id, entry) {
                    self.live -= old.len;
                }
            }
            Record::Stage {
                id,
                stage,
                packet_id,
            } => {
                if let Some(entry) = self.outgoing.get_mut(&id) {
                    entry.stage = stage;
                    entry.publish.packet_id = packet_id;
                }
            }
            Record::OutgoingDone(id) => {
                if let Some(entry) = self.outgoing.remove(&id) {
                    self.live -= entry.len;
                }
            }
            Record::Incoming(packet_id) => {
                if self.incoming.insert(packet_id) {
                    self.live += INCOMING_LEN;
                }
            }
            Record::IncomingDone(packet_id) => {
                if self.incoming.remove(&packet_id) {
                    self.live -= INCOMING_LEN;
                }
            }
        }
    }
}

/// Reads the log into `state`; returns the length of its good part. The first record that is
/// cut short, fails its checksum or makes no sense ends it, and is reported in `recovery`.
fn replay(
    file: &mut File,
    file_len: u64,
    state: &mut Replayed,
    recovery: &mut Recovery,
) -> io::Result<u64> {
    let mut reader = BufReader::new(file);
    let mut header = [0; MAGIC.len()];
    let header_len = read_up_to(&mut reader, &mut header)?;
    if header_len < MAGIC.len() {
        if header[..header_len] != MAGIC[..header_len] {
            return Err(not_a_log());
        }
        if header_len > 0 {
            recovery.damage = Some(damage(0, file_len, DamageKind::Incomplete));
        }
        return Ok(0);
    }
    if header != MAGIC {
        return Err(not_a_log());
    }
    let mut pos = MAGIC.len() as u64;
    let mut body = Vec::new();
    while pos < file_len {
        let remaining = file_len - pos;
        let mut frame = [0; FRAME_LEN];
        if remaining < FRAME_LEN as u64 {
            recovery.damage = Some(damage(pos, remaining, DamageKind::Incomplete));
            break;
        }
        reader.read_exact(&mut frame)?;
        let [l0, l1, l2, l3, c0, c1, c2, c3, kind] = frame;
        let len = u64::from(u32::from_le_bytes([l0, l1, l2, l3]));
        let crc = u32::from_le_bytes([c0, c1, c2, c3]);
        if len > remaining - FRAME_LEN as u64 {
            recovery.damage = Some(damage(pos, remaining, DamageKind::Incomplete));
            break;
        }
        if len > MAX_BODY {
            recovery.damage = Some(damage(pos, remaining, DamageKind::Invalid));
            break;
        }
        // Bounded by the file's length (checked above) and by MAX_BODY.
        body.resize(usize::try_from(len).map_err(io::Error::other)?, 0);
        reader.read_exact(&mut body)?;
        if record::checksum(&frame[..4], kind, &body) != crc {
            recovery.damage = Some(damage(pos, remaining, DamageKind::Checksum));
            break;
        }
        let Some(record) = record::decode(kind, &body) else {
            recovery.damage = Some(damage(pos, remaining, DamageKind::Invalid));
            break;
        };
        state.apply(record, FRAME_LEN as u64 + len);
        recovery.records += 1;
        pos += FRAME_LEN as u64 + len;
    }
    Ok(pos)
}

/// The temporary file a compaction writes: the log's name followed by `.compact`.
fn compaction_path(path: &Path) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(".compact");
    PathBuf::from(name)
}

/// Makes the creation or renaming of `path` durable, by `fsync`ing its directory.
#[cfg(unix)]
fn sync_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// Elsewhere a directory can't be opened to be `fsync`ed.
#[cfg(not(unix))]
fn sync_dir(_path: &Path) -> io::Result<()> {
    Ok(())
}

/// Reads until `buf` is full or the input ends; returns the number of bytes read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn damage(offset: u64, dropped_bytes: u64, kind: DamageKind) -> Damage {
    Damage {
        offset,
        dropped_bytes,
        kind,
    }
}

fn not_a_log() -> io::Error {
    io::Error::new(ErrorKind::InvalidData, "not an mqtt-store log")
}

fn failed(what: &str, e: &dyn std::fmt::Display) -> StoreError {
    StoreError::Failed(format!("{what}: {e}"))
}
