//! [`MemoryBackend`]: session records in this process's memory, bounded in count and bytes.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde_json::Value;
use time::Duration;
use tokio::time::Instant;

use super::changes::Changes;
use super::error::BackendError;
use super::session_backend::{BoxFuture, Record, Regenerated, SessionBackend};
use crate::id::SessionId;

/// How many records a [`MemoryBackend`] holds unless [`max_records`](MemoryBackend::max_records)
/// says otherwise.
pub const DEFAULT_MAX_RECORDS: usize = 100_000;

/// How many bytes of session data a [`MemoryBackend`] holds unless
/// [`max_bytes`](MemoryBackend::max_bytes) says otherwise: 64 MiB.
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024 * 1024;

/// What each record costs besides its keys and values: its id, expiry and map.
const RECORD_OVERHEAD: usize = 128;

/// How many expired records each write deletes, at most, on its way: enough to keep up with
/// any rate of creation, small enough that no single request pays for a mass expiry.
const SWEEP_PER_WRITE: usize = 32;

/// What a full [`MemoryBackend`] does with a record that does not fit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum WhenFull {
    /// Refuse it: the save fails with an error (a `500`), and every record already held stays.
    /// A flood of new sessions then stops new logins until records expire, but never logs
    /// anyone out. The default.
    #[default]
    Refuse,
    /// Make room by deleting the records closest to expiry (the least recently saved, when they
    /// share a TTL): new sessions always fit, and a flood of them logs out idle users first.
    EvictSoonestToExpire,
}

/// Session records in this process's memory, behind one lock, bounded in count and bytes.
///
/// Registered by default under the name `"memory"`. Good for development, tests and single
/// processes; records are lost on restart and not shared between processes.
///
/// It holds at most [`DEFAULT_MAX_RECORDS`] records and [`DEFAULT_MAX_BYTES`] of keys and
/// values (their JSON text) unless told otherwise; a record that does not fit is refused with
/// an error, or makes room for itself, as [`WhenFull`] says. Expired records never load, and
/// every write deletes a few of them on its way (the ones whose time is up first), so memory is
/// given back without [`spawn_cleanup`](crate::spawn_cleanup); a full store deletes every
/// expired record before it refuses anything.
///
/// ```
/// use axum_session_store::{MemoryBackend, SessionConfig, WhenFull};
///
/// # let secret = "an example secret, at least 32 bytes long";
/// let backend = MemoryBackend::new()
///     .max_records(10_000)
///     .max_bytes(16 * 1024 * 1024)
///     .when_full(WhenFull::EvictSoonestToExpire);
/// let config = SessionConfig::builder()
///     .secret_key(secret)
///     .backend("memory", backend) // replaces the default one
///     .build()?;
/// # Ok::<(), axum_session_store::ConfigError>(())
/// ```
#[derive(Debug)]
pub struct MemoryBackend {
    store: Mutex<Store>,
    max_records: usize,
    max_bytes: usize,
    when_full: WhenFull,
}

/// The records, ordered by expiry too, and what they weigh.
#[derive(Debug, Default)]
struct Store {
    records: HashMap<SessionId, Entry>,
    /// Every record's `(expires_at, id)`, soonest first.
    by_expiry: BTreeSet<(Instant, SessionId)>,
    /// The sum of the records' sizes.
    bytes: usize,
}

#[derive(Debug)]
struct Entry {
    record: Record,
    expires_at: Instant,
    /// What [`record_size`] said when the record was last written.
    size: usize,
}

impl Entry {
    fn is_live(&self, now: Instant) -> bool {
        self.expires_at > now
    }
}

impl Default for MemoryBackend {
    fn default() -> Self {
        Self {
            store: Mutex::default(),
            max_records: DEFAULT_MAX_RECORDS,
            max_bytes: DEFAULT_MAX_BYTES,
            when_full: WhenFull::default(),
        }
    }
}

impl MemoryBackend {
    /// An empty store with the default limits ([`DEFAULT_MAX_RECORDS`], [`DEFAULT_MAX_BYTES`],
    /// [`WhenFull::Refuse`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Holds at most `records` records (0 refuses every record).
    #[must_use]
    pub fn max_records(mut self, records: usize) -> Self {
        self.max_records = records;
        self
    }

    /// Holds at most `bytes` bytes of session data, counted as the length of each key and of
    /// its value's JSON text, plus 128 bytes per record.
    #[must_use]
    pub fn max_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// What to do with a record that does not fit: refuse it (the default) or evict others.
    #[must_use]
    pub fn when_full(mut self, policy: WhenFull) -> Self {
        self.when_full = policy;
        self
    }

    /// The number of records held, expired ones included until they are deleted.
    pub fn len(&self) -> usize {
        self.store().records.len()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.store().records.is_empty()
    }

    /// The bytes of session data held, as [`max_bytes`](Self::max_bytes) counts them.
    pub fn bytes(&self) -> usize {
        self.store().bytes
    }

    /// The store, locked for a write, with a few expired records deleted on the way; and the
    /// time now.
    fn store_for_write(&self) -> (MutexGuard<'_, Store>, Instant) {
        let now = Instant::now();
        let mut store = self.store();
        store.sweep(now, SWEEP_PER_WRITE);
        (store, now)
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        // Every change under the lock leaves the store consistent before anything can panic.
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes room for a record of `size` bytes, `replacing` one of `replaced_size` (0 for a new
    /// record), as the limits and the policy say.
    fn make_room(
        &self,
        store: &mut Store,
        size: usize,
        replaced_size: usize,
        now: Instant,
        keep: Option<&SessionId>,
    ) -> Result<(), BackendError> {
        let new_records = usize::from(replaced_size == 0);
        let fits = |store: &Store| {
            store.records.len() + new_records <= self.max_records
                && store.bytes - replaced_size + size <= self.max_bytes
        };
        if fits(store) {
            return Ok(());
        }
        store.sweep(now, usize::MAX);
        if self.when_full == WhenFull::EvictSoonestToExpire && size <= self.max_bytes {
            while !fits(store) && store.evict_soonest(keep) {}
        }
        if fits(store) {
            return Ok(());
        }
        Err(BackendError::msg(format!(
            "the memory backend is full ({} of {} records, {} of {} bytes) and refuses this \
             session (WhenFull::Refuse keeps every session it holds): raise \
             MemoryBackend::max_records or max_bytes, shorten the session TTL, choose \
             WhenFull::EvictSoonestToExpire, or keep sessions in Redis or a database",
            store.records.len(),
            self.max_records,
            store.bytes,
            self.max_bytes
        )))
    }

    /// Takes the live record `id` out of the store with `changes` applied, and its new size,
    /// once there is room for it in place of the record as it was; `None` when there is no live
    /// record `id`. Nothing changes when there is no room.
    fn take_changed(
        &self,
        store: &mut Store,
        id: &SessionId,
        changes: &Changes,
        now: Instant,
    ) -> Result<Option<(Record, usize)>, BackendError> {
        let Some(entry) = store.live(id, now) else {
            return Ok(None);
        };
        let (size, old_size) = (size_with(&entry.record, entry.size, changes), entry.size);
        self.make_room(store, size, old_size, now, Some(id))?;
        Ok(store.remove(id).map(|mut entry| {
            changes.apply_to(&mut entry.record);
            (entry.record, size)
        }))
    }
}

impl Store {
    /// Deletes up to `limit` expired records, the soonest expired first.
    fn sweep(&mut self, now: Instant, limit: usize) {
        for _ in 0..limit {
            match self.by_expiry.first() {
                Some((expires_at, _)) if *expires_at <= now => {
                    if let Some((_, id)) = self.by_expiry.pop_first() {
                        self.forget(&id);
                    }
                }
                _ => return,
            }
        }
    }

    /// Deletes the record closest to expiry but `keep`; false when there is none.
    fn evict_soonest(&mut self, keep: Option<&SessionId>) -> bool {
        let victim = self
            .by_expiry
            .iter()
            .find(|(_, id)| Some(id) != keep)
            .cloned();
        match victim {
            Some(victim) => {
                self.by_expiry.remove(&victim);
                self.forget(&victim.1);
                true
            }
            None => false,
        }
    }

    /// Removes the record `id` (already out of `by_expiry`) and its bytes.
    fn forget(&mut self, id: &SessionId) -> Option<Entry> {
        let entry = self.records.remove(id)?;
        self.bytes -= entry.size;
        Some(entry)
    }

    /// Removes the record `id` from both indexes.
    fn remove(&mut self, id: &SessionId) -> Option<Entry> {
        let entry = self.forget(id)?;
        self.by_expiry.remove(&(entry.expires_at, id.clone()));
        Some(entry)
    }

    /// Stores `record` under `id`, replacing any record there.
    fn insert(&mut self, id: SessionId, record: Record, size: usize, expires_at: Instant) {
        self.remove(&id);
        self.by_expiry.insert((expires_at, id.clone()));
        self.bytes += size;
        self.records.insert(
            id,
            Entry {
                record,
                expires_at,
                size,
            },
        );
    }

    /// The live record `id`.
    fn live(&self, id: &SessionId, now: Instant) -> Option<&Entry> {
        self.records.get(id).filter(|entry| entry.is_live(now))
    }
}

/// The instant `ttl` from `now`: at once for a TTL of zero or less, and "practically never"
/// for one too large for the clock.
fn expiry(now: Instant, ttl: Duration) -> Instant {
    if !ttl.is_positive() {
        return now;
    }
    std::time::Duration::try_from(ttl)
        .ok()
        .and_then(|ttl| now.checked_add(ttl))
        .unwrap_or(now + std::time::Duration::from_secs(100 * 365 * 24 * 3600))
}

/// What a record weighs against [`MemoryBackend::max_bytes`]: its keys, its values' JSON text,
/// and a fixed overhead.
fn record_size(record: &Record) -> usize {
    RECORD_OVERHEAD
        + record
            .iter()
            .map(|(key, value)| key.len() + json_len(value))
            .sum::<usize>()
}

/// What a record of `size` bytes weighs once `changes` apply to it, from the sizes of the keys
/// they touch only (the record itself is not walked).
fn size_with(record: &Record, size: usize, changes: &Changes) -> usize {
    let weight = |key: &str, value: &Value| key.len() + json_len(value);
    let mut size = if changes.cleared {
        RECORD_OVERHEAD
    } else {
        let removed: usize = changes
            .removed
            .iter()
            .filter_map(|key| record.get(key).map(|value| weight(key, value)))
            .sum();
        size.saturating_sub(removed)
    };
    for (key, value) in &changes.set {
        if let Some(old) = record.get(key).filter(|_| !changes.cleared) {
            size = size.saturating_sub(weight(key, old));
        }
        size += weight(key, value);
    }
    size
}

/// The length of `value`'s compact JSON text, counted without building it.
fn json_len(value: &Value) -> usize {
    struct Count(usize);
    impl io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing a `Value` into a counter cannot fail.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

impl SessionBackend for MemoryBackend {
    fn load<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<Record>, BackendError>> {
        let now = Instant::now();
        let record = self.store().live(id, now).map(|entry| entry.record.clone());
        Box::pin(async move { Ok(record) })
    }

    fn create<'a>(
        &'a self,
        id: &'a SessionId,
        record: &'a Record,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        let (mut store, now) = self.store_for_write();
        let created = if store.live(id, now).is_some() {
            Ok(false)
        } else {
            // An expired record under this id goes first, and frees its room.
            store.remove(id);
            let size = record_size(record);
            self.make_room(&mut store, size, 0, now, None).map(|()| {
                store.insert(id.clone(), record.clone(), size, expiry(now, ttl));
                true
            })
        };
        drop(store);
        Box::pin(async move { created })
    }

    fn apply<'a>(
        &'a self,
        id: &'a SessionId,
        changes: &'a Changes,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        let (mut store, now) = self.store_for_write();
        let applied = self
            .take_changed(&mut store, id, changes, now)
            .map(|changed| {
                changed
                    .map(|(record, size)| store.insert(id.clone(), record, size, expiry(now, ttl)))
                    .is_some()
            });
        drop(store);
        Box::pin(async move { applied })
    }

    fn regenerate<'a>(
        &'a self,
        old: &'a SessionId,
        new: &'a SessionId,
        changes: &'a Changes,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Regenerated, BackendError>> {
        let (mut store, now) = self.store_for_write();
        // One lock for the whole move: no other operation sees it half done.
        let moved = if store.live(new, now).is_some() {
            Ok(Regenerated::Taken)
        } else {
            // The old record's room is given back as the new one takes its place.
            self.take_changed(&mut store, old, changes, now)
                .map(|changed| match changed {
                    None => Regenerated::Gone,
                    Some((record, size)) => {
                        store.insert(new.clone(), record, size, expiry(now, ttl));
                        Regenerated::Moved
                    }
                })
        };
        drop(store);
        Box::pin(async move { moved })
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<(), BackendError>> {
        self.store().remove(id);
        Box::pin(async { Ok(()) })
    }

    fn delete_expired(&self) -> BoxFuture<'_, Result<u64, BackendError>> {
        let now = Instant::now();
        let mut store = self.store();
        let before = store.records.len();
        store.sweep(now, usize::MAX);
        let deleted = (before - store.records.len()) as u64;
        drop(store);
        Box::pin(async move { Ok(deleted) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Record {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn sizes_after_changes_match_the_changed_record() {
        let before = record(json!({"a": 1, "bb": "two", "c": [1, 2]}));
        for changes in [
            Changes::default(),
            Changes {
                removed: vec!["a".into(), "missing".into()],
                set: vec![
                    ("bb".into(), json!("longer value")),
                    ("d".into(), json!(null)),
                ],
                ..Changes::default()
            },
            Changes {
                cleared: true,
                removed: vec!["c".into()],
                set: vec![("a".into(), json!(2))],
            },
        ] {
            let mut after = before.clone();
            changes.apply_to(&mut after);
            assert_eq!(
                size_with(&before, record_size(&before), &changes),
                record_size(&after),
                "{changes:?}"
            );
        }
    }

    #[test]
    fn sizes_count_keys_and_json_text() {
        assert_eq!(json_len(&json!({"a": [1, "é"]})), r#"{"a":[1,"é"]}"#.len());
        assert_eq!(
            record_size(&record(json!({"ab": "cd"}))),
            RECORD_OVERHEAD + 2 + 4
        );
    }

    #[tokio::test]
    async fn bytes_follow_every_write() {
        let backend = MemoryBackend::new();
        let id = SessionId::generate().unwrap();
        let ttl = Duration::hours(1);
        backend
            .create(&id, &record(json!({"a": 1})), ttl)
            .await
            .unwrap();
        assert_eq!(backend.bytes(), RECORD_OVERHEAD + 2);
        let changes = Changes {
            set: vec![("b".into(), json!("xyz"))],
            ..Changes::default()
        };
        backend.apply(&id, &changes, ttl).await.unwrap();
        assert_eq!(backend.bytes(), RECORD_OVERHEAD + 2 + 6);
        let new = SessionId::generate().unwrap();
        backend
            .regenerate(&id, &new, &Changes::default(), ttl)
            .await
            .unwrap();
        assert_eq!(backend.bytes(), RECORD_OVERHEAD + 2 + 6);
        backend.delete(&new).await.unwrap();
        assert_eq!((backend.bytes(), backend.len()), (0, 0));
    }

    #[tokio::test]
    async fn a_growing_record_past_the_byte_limit_is_refused_and_kept() {
        let backend = MemoryBackend::new().max_bytes(RECORD_OVERHEAD + 10);
        let id = SessionId::generate().unwrap();
        let ttl = Duration::hours(1);
        backend
            .create(&id, &record(json!({"a": 1})), ttl)
            .await
            .unwrap();
        let grow = Changes {
            set: vec![("b".into(), json!("0123456789"))],
            ..Changes::default()
        };
        assert!(backend.apply(&id, &grow, ttl).await.is_err());
        assert_eq!(
            backend.load(&id).await.unwrap(),
            Some(record(json!({"a": 1})))
        );
    }
}
