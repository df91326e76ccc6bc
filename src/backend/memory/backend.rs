//! [`MemoryBackend`]: session records in this process's memory, bounded in count and bytes.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use time::{Duration, OffsetDateTime};
use tokio::time::Instant;

use super::size::{record_size, size_with};
use super::store::{expiry, Store};
use crate::backend::batching::{ApplyItem, BatchLimits, Batching};
use crate::backend::changes::Changes;
use crate::backend::cleanup::DeleteExpired;
use crate::backend::error::BackendError;
use crate::backend::listing::{ListRecords, Listed};
use crate::backend::session_backend::{Record, Regenerated, SessionBackend};
use crate::backend::user_index::{latest_first, UserIndex, UserSession};
use crate::id::SessionId;
use crate::reserved::METADATA_KEY;

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
/// Good for development, tests and single processes; records are lost on restart and not
/// shared between processes. Clones share the records.
///
/// It holds at most [`DEFAULT_MAX_RECORDS`](Self::DEFAULT_MAX_RECORDS) records and
/// [`DEFAULT_MAX_BYTES`](Self::DEFAULT_MAX_BYTES) of keys and
/// values (their JSON text) unless told otherwise; a record that does not fit is refused with
/// an error, or makes room for itself, as [`WhenFull`] says. Expired records never load, and
/// every write deletes a few of them on its way (the ones whose time is up first), so memory is
/// given back without [`spawn_cleanup`](crate::backend::spawn_cleanup); a full store deletes every
/// expired record before it refuses anything.
///
/// ```
/// use axum_session_store::backend::{MemoryBackend, WhenFull};
/// use axum_session_store::SessionConfig;
///
/// # let secret = "an example secret, at least 32 bytes long";
/// let backend = MemoryBackend::new()
///     .max_records(10_000)
///     .max_bytes(16 * 1024 * 1024)
///     .when_full(WhenFull::EvictSoonestToExpire);
/// let config = SessionConfig::builder()
///     .secret_key(secret)
///     .default_backend(backend)
///     .build()?;
/// # Ok::<(), axum_session_store::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
#[doc(alias = "MemoryStore")]
pub struct MemoryBackend {
    store: Arc<Mutex<Store>>,
    max_records: usize,
    max_bytes: usize,
    when_full: WhenFull,
}

impl Default for MemoryBackend {
    fn default() -> Self {
        Self {
            store: Arc::default(),
            max_records: Self::DEFAULT_MAX_RECORDS,
            max_bytes: Self::DEFAULT_MAX_BYTES,
            when_full: WhenFull::default(),
        }
    }
}

impl MemoryBackend {
    /// How many records it holds unless [`max_records`](Self::max_records) says otherwise.
    pub const DEFAULT_MAX_RECORDS: usize = 100_000;

    /// How many bytes of session data it holds unless [`max_bytes`](Self::max_bytes) says
    /// otherwise: 64 MiB.
    pub const DEFAULT_MAX_BYTES: usize = 64 * 1024 * 1024;

    /// An empty store with the default limits ([`DEFAULT_MAX_RECORDS`](Self::DEFAULT_MAX_RECORDS), [`DEFAULT_MAX_BYTES`](Self::DEFAULT_MAX_BYTES),
    /// [`WhenFull::Refuse`]).
    ///
    /// ```
    /// use axum_session_store::backend::MemoryBackend;
    ///
    /// let backend = MemoryBackend::new();
    /// assert!(backend.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Holds at most `records` records (0 refuses every record).
    ///
    /// ```
    /// use axum_session_store::backend::MemoryBackend;
    ///
    /// let backend = MemoryBackend::new().max_records(10_000);
    /// ```
    #[must_use]
    pub fn max_records(mut self, records: usize) -> Self {
        self.max_records = records;
        self
    }

    /// Holds at most `bytes` bytes of session data, counted as the length of each key and of
    /// its value's JSON text, plus 128 bytes per record.
    ///
    /// ```
    /// use axum_session_store::backend::MemoryBackend;
    ///
    /// let backend = MemoryBackend::new().max_bytes(16 * 1024 * 1024);
    /// ```
    #[must_use]
    pub fn max_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// What to do with a record that does not fit: refuse it (the default) or evict others.
    ///
    /// ```
    /// use axum_session_store::backend::{MemoryBackend, WhenFull};
    ///
    /// // A cache rather than a store: make room by evicting the session closest to expiry.
    /// let backend = MemoryBackend::new().when_full(WhenFull::EvictSoonestToExpire);
    /// ```
    #[must_use]
    pub fn when_full(mut self, policy: WhenFull) -> Self {
        self.when_full = policy;
        self
    }

    /// The number of records held, expired ones included until they are deleted.
    ///
    /// ```
    /// use axum_session_store::backend::MemoryBackend;
    /// use axum_session_store::{SessionBackend, SessionId};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let backend = MemoryBackend::new();
    /// let record = serde_json::json!({"a": 1}).as_object().unwrap().clone();
    /// backend.create(&SessionId::generate()?, &record, time::Duration::HOUR).await?;
    /// assert_eq!(backend.len(), 1);
    /// # Ok(()) }
    /// ```
    pub fn len(&self) -> usize {
        self.store().records.len()
    }

    /// Whether no record is held.
    ///
    /// ```
    /// use axum_session_store::backend::MemoryBackend;
    /// use axum_session_store::{SessionBackend, SessionId};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let backend = MemoryBackend::new();
    /// let record = serde_json::json!({"a": 1}).as_object().unwrap().clone();
    /// backend.create(&SessionId::generate()?, &record, time::Duration::HOUR).await?;
    /// assert!(!backend.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.store().records.is_empty()
    }

    /// The bytes of session data held, as [`max_bytes`](Self::max_bytes) counts them.
    ///
    /// ```
    /// use axum_session_store::backend::MemoryBackend;
    /// use axum_session_store::{SessionBackend, SessionId};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let backend = MemoryBackend::new();
    /// let record = serde_json::json!({"a": 1}).as_object().unwrap().clone();
    /// backend.create(&SessionId::generate()?, &record, time::Duration::HOUR).await?;
    /// assert!(backend.bytes() > 0);
    /// # Ok(()) }
    /// ```
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

impl SessionBackend for MemoryBackend {
    async fn load(&self, id: &SessionId) -> Result<Option<Record>, BackendError> {
        let now = Instant::now();
        Ok(self.store().live(id, now).map(|entry| entry.record.clone()))
    }

    async fn create(
        &self,
        id: &SessionId,
        record: &Record,
        ttl: Duration,
    ) -> Result<bool, BackendError> {
        let (mut store, now) = self.store_for_write();
        if store.live(id, now).is_some() {
            return Ok(false);
        }
        // An expired record under this id goes first, and frees its room.
        store.remove(id);
        let size = record_size(record);
        self.make_room(&mut store, size, 0, now, None)?;
        store.insert(id.clone(), record.clone(), size, expiry(now, ttl));
        Ok(true)
    }

    async fn apply(
        &self,
        id: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<bool, BackendError> {
        let (mut store, now) = self.store_for_write();
        let changed = self.take_changed(&mut store, id, changes, now)?;
        Ok(changed
            .map(|(record, size)| store.insert(id.clone(), record, size, expiry(now, ttl)))
            .is_some())
    }

    async fn regenerate(
        &self,
        old: &SessionId,
        new: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, BackendError> {
        let (mut store, now) = self.store_for_write();
        // One lock for the whole move: no other operation sees it half done.
        if store.live(new, now).is_some() {
            return Ok(Regenerated::Taken);
        }
        // The old record's room is given back as the new one takes its place.
        Ok(match self.take_changed(&mut store, old, changes, now)? {
            None => Regenerated::Gone,
            Some((record, size)) => {
                store.insert(new.clone(), record, size, expiry(now, ttl));
                Regenerated::Moved
            }
        })
    }

    async fn delete(&self, id: &SessionId) -> Result<(), BackendError> {
        self.store().remove(id);
        Ok(())
    }
}

/// Every record under one lock: a batch is as cheap as its operations. There is no round trip
/// to save, so it takes one operation a call: wrapped in [`Batched`](crate::backend::Batched),
/// every operation still goes out at once.
impl Batching for MemoryBackend {
    async fn load_many(&self, ids: &[SessionId]) -> Vec<Result<Option<Record>, BackendError>> {
        let now = Instant::now();
        let store = self.store();
        ids.iter()
            .map(|id| Ok(store.live(id, now).map(|entry| entry.record.clone())))
            .collect()
    }

    async fn apply_many(&self, items: &[ApplyItem]) -> Vec<Result<bool, BackendError>> {
        let mut applied = Vec::with_capacity(items.len());
        for item in items {
            applied.push(self.apply(&item.id, &item.changes, item.ttl).await);
        }
        applied
    }

    fn batch_limits(&self) -> BatchLimits {
        BatchLimits::default().max_batch(1)
    }
}

impl DeleteExpired for MemoryBackend {
    async fn delete_expired(&self) -> Result<u64, BackendError> {
        let now = Instant::now();
        let mut store = self.store();
        let before = store.records.len();
        store.sweep(now, usize::MAX);
        Ok((before - store.records.len()) as u64)
    }
}

impl UserIndex for MemoryBackend {
    async fn user_sessions(
        &self,
        user_id: &str,
        limit: usize,
    ) -> Result<Vec<UserSession>, BackendError> {
        let (now, wall) = (Instant::now(), OffsetDateTime::now_utc());
        let store = self.store();
        let mut sessions: Vec<UserSession> = store
            .ids_of_user(user_id, now)
            .into_iter()
            .filter_map(|id| {
                let entry = store.live(&id, now)?;
                let left = entry.expires_at().saturating_duration_since(now);
                let metadata = entry.record.get(METADATA_KEY).cloned();
                Some(UserSession::new(id, wall + left, metadata))
            })
            .collect();
        drop(store);
        latest_first(&mut sessions, limit);
        Ok(sessions)
    }

    async fn revoke_user_sessions(
        &self,
        user_id: &str,
        except: Option<&SessionId>,
    ) -> Result<u64, BackendError> {
        // One lock for the whole revocation: no session of the user is created or saved meanwhile.
        let mut store = self.store();
        let mut revoked = 0;
        for id in store.ids_of_user(user_id, Instant::now()) {
            if Some(&id) != except {
                store.remove(&id);
                revoked += 1;
            }
        }
        Ok(revoked)
    }
}

/// Soonest expiry first, from the last record listed.
impl ListRecords for MemoryBackend {
    type Cursor = Option<(Instant, SessionId)>;

    async fn list_page(
        &self,
        cursor: &mut Self::Cursor,
        limit: usize,
    ) -> Result<(Vec<Listed>, bool), BackendError> {
        let now = Instant::now();
        let page = self.store().live_after(cursor.as_ref(), now, limit);
        let complete = page.len() < limit;
        let listed = page
            .iter()
            .map(|(expires_at, id)| Listed {
                id: id.clone(),
                ttl: Duration::try_from(expires_at.saturating_duration_since(now))
                    .unwrap_or(Duration::MAX),
            })
            .collect();
        if let Some(last) = page.into_iter().last() {
            *cursor = Some(last);
        }
        Ok((listed, complete))
    }
}

#[cfg(test)]
mod tests {
    use super::super::size::RECORD_OVERHEAD;
    use super::*;
    use crate::backend::session_backend::record;
    use serde_json::json;

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
