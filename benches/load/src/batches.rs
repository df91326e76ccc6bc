//! How big the batches were: a backend wrapper that counts, for loads and for saves, the
//! calls that reached the backend and the operations they carried.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use axum_session_store::{
    ApplyItem, BackendError, BoxFuture, Changes, Record, Regenerated, SessionBackend, SessionId,
};
use time::Duration;

/// Calls and operations of one kind.
#[derive(Debug, Default)]
pub struct Tally {
    calls: AtomicU64,
    operations: AtomicU64,
    largest: AtomicU64,
}

impl Tally {
    fn add(&self, operations: usize) {
        let operations = operations as u64;
        self.calls.fetch_add(1, Relaxed);
        self.operations.fetch_add(operations, Relaxed);
        self.largest.fetch_max(operations, Relaxed);
    }

    /// `mean/largest` operations per call, or `-` when none was made.
    pub fn summary(&self) -> String {
        let calls = self.calls.load(Relaxed);
        if calls == 0 {
            return "-".to_owned();
        }
        let mean = self.operations.load(Relaxed) as f64 / calls as f64;
        format!("{mean:.1}/{}", self.largest.load(Relaxed))
    }
}

/// The batch sizes of one run.
#[derive(Debug, Default)]
pub struct BatchSizes {
    pub loads: Tally,
    pub saves: Tally,
}

impl BatchSizes {
    /// `loads mean/largest, saves mean/largest`.
    pub fn summary(&self) -> String {
        format!("{} {}", self.loads.summary(), self.saves.summary())
    }
}

/// `inner`, counting the calls its loads and saves arrive in.
#[derive(Debug)]
pub struct Observed {
    inner: Arc<dyn SessionBackend>,
    sizes: Arc<BatchSizes>,
}

impl Observed {
    pub fn new(inner: impl SessionBackend, sizes: Arc<BatchSizes>) -> Self {
        Self {
            inner: Arc::new(inner),
            sizes,
        }
    }
}

impl SessionBackend for Observed {
    fn load<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<Record>, BackendError>> {
        self.sizes.loads.add(1);
        self.inner.load(id)
    }

    fn create<'a>(
        &'a self,
        id: &'a SessionId,
        record: &'a Record,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        self.inner.create(id, record, ttl)
    }

    fn apply<'a>(
        &'a self,
        id: &'a SessionId,
        changes: &'a Changes,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        self.sizes.saves.add(1);
        self.inner.apply(id, changes, ttl)
    }

    fn regenerate<'a>(
        &'a self,
        old: &'a SessionId,
        new: &'a SessionId,
        changes: &'a Changes,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Regenerated, BackendError>> {
        self.inner.regenerate(old, new, changes, ttl)
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<(), BackendError>> {
        self.inner.delete(id)
    }

    fn delete_expired(&self) -> BoxFuture<'_, Result<u64, BackendError>> {
        self.inner.delete_expired()
    }

    fn max_batch_size(&self) -> usize {
        self.inner.max_batch_size()
    }

    fn max_batches_in_flight(&self) -> usize {
        self.inner.max_batches_in_flight()
    }

    fn load_many<'a>(
        &'a self,
        ids: &'a [SessionId],
    ) -> BoxFuture<'a, Vec<Result<Option<Record>, BackendError>>> {
        self.sizes.loads.add(ids.len());
        self.inner.load_many(ids)
    }

    fn apply_many<'a>(
        &'a self,
        items: &'a [ApplyItem],
    ) -> BoxFuture<'a, Vec<Result<bool, BackendError>>> {
        self.sizes.saves.add(items.len());
        self.inner.apply_many(items)
    }
}
