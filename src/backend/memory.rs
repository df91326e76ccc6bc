//! [`MemoryBackend`]: session records in this process's memory.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use time::Duration;
use tokio::time::Instant;

use super::{BackendError, BoxFuture, Changes, Record, Regenerated, SessionBackend};
use crate::id::SessionId;

/// Session records in this process's memory, behind one lock.
///
/// Registered by default under the name `"memory"`. Good for development, tests and single
/// processes; records are lost on restart and not shared between processes. Expired records
/// never load; [`delete_expired`](SessionBackend::delete_expired) (or
/// [`spawn_cleanup`](crate::spawn_cleanup)) frees their memory.
///
/// ```
/// use axum_session_store::{MemoryBackend, SessionConfig};
///
/// # let secret = "an example secret, at least 32 bytes long";
/// let config = SessionConfig::builder()
///     .secret_key(secret)
///     .backend("memory", MemoryBackend::new()) // replaces the default one
///     .build()?;
/// # Ok::<(), axum_session_store::ConfigError>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryBackend {
    records: Mutex<HashMap<SessionId, Entry>>,
}

#[derive(Debug)]
struct Entry {
    record: Record,
    expires_at: Instant,
}

impl Entry {
    fn is_live(&self, now: Instant) -> bool {
        self.expires_at > now
    }
}

impl MemoryBackend {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of records held, expired ones included until they are deleted.
    pub fn len(&self) -> usize {
        self.records().len()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.records().is_empty()
    }

    fn records(&self) -> MutexGuard<'_, HashMap<SessionId, Entry>> {
        // Every change under the lock is a single map operation: nothing is left half-done.
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The instant `ttl` from now; a TTL too large for the clock means "practically never".
fn expiry(ttl: Duration) -> Instant {
    let now = Instant::now();
    std::time::Duration::try_from(ttl)
        .ok()
        .and_then(|ttl| now.checked_add(ttl))
        .unwrap_or(now + std::time::Duration::from_secs(100 * 365 * 24 * 3600))
}

impl SessionBackend for MemoryBackend {
    fn load<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<Record>, BackendError>> {
        let now = Instant::now();
        let record = self
            .records()
            .get(id)
            .filter(|entry| entry.is_live(now))
            .map(|entry| entry.record.clone());
        Box::pin(async move { Ok(record) })
    }

    fn create<'a>(
        &'a self,
        id: &'a SessionId,
        record: &'a Record,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        let now = Instant::now();
        let mut records = self.records();
        let taken = records.get(id).is_some_and(|entry| entry.is_live(now));
        if !taken {
            records.insert(
                id.clone(),
                Entry {
                    record: record.clone(),
                    expires_at: expiry(ttl),
                },
            );
        }
        Box::pin(async move { Ok(!taken) })
    }

    fn apply<'a>(
        &'a self,
        id: &'a SessionId,
        changes: &'a Changes,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        let now = Instant::now();
        let applied = match self.records().get_mut(id) {
            Some(entry) if entry.is_live(now) => {
                changes.apply_to(&mut entry.record);
                entry.expires_at = expiry(ttl);
                true
            }
            _ => false,
        };
        Box::pin(async move { Ok(applied) })
    }

    fn regenerate<'a>(
        &'a self,
        old: &'a SessionId,
        new: &'a SessionId,
        changes: &'a Changes,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Regenerated, BackendError>> {
        let now = Instant::now();
        let mut records = self.records();
        // One lock for the whole move: no other operation sees it half done.
        let moved = if records.get(new).is_some_and(|entry| entry.is_live(now)) {
            Regenerated::Taken
        } else {
            match records.remove(old) {
                Some(mut entry) if entry.is_live(now) => {
                    changes.apply_to(&mut entry.record);
                    entry.expires_at = expiry(ttl);
                    records.insert(new.clone(), entry);
                    Regenerated::Moved
                }
                _ => Regenerated::Gone,
            }
        };
        Box::pin(async move { Ok(moved) })
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<(), BackendError>> {
        self.records().remove(id);
        Box::pin(async { Ok(()) })
    }

    fn delete_expired(&self) -> BoxFuture<'_, Result<u64, BackendError>> {
        let now = Instant::now();
        let mut records = self.records();
        let before = records.len();
        records.retain(|_, entry| entry.is_live(now));
        let deleted = (before - records.len()) as u64;
        Box::pin(async move { Ok(deleted) })
    }
}
