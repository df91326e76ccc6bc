//! How big the batches were: a backend wrapper that counts, for loads and for saves, the
//! calls that reached the backend and the operations they carried.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use axum_session_store::backend::{
    ApplyItem, BatchLimits, Batched, Batching, Changes, Record, Regenerated, Storage, UserIndex,
    UserSession,
};
use axum_session_store::{BackendError, SessionBackend, SessionId};
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

/// `inner`, counting the calls its loads and saves arrive in; registered as the built-in
/// backends are ([`Observed::storage`]).
#[derive(Debug)]
pub struct Observed<B> {
    inner: B,
    sizes: Arc<BatchSizes>,
}

impl<B: Batching + UserIndex> Observed<B> {
    pub fn new(inner: B, sizes: Arc<BatchSizes>) -> Self {
        Self { inner, sizes }
    }

    /// As a config keeps a built-in backend: batched, with its user index.
    pub fn storage(self) -> Storage {
        Storage::with_user_index(Batched::new(self))
    }
}

impl<B: SessionBackend> SessionBackend for Observed<B> {
    async fn load(&self, id: &SessionId) -> Result<Option<Record>, BackendError> {
        self.sizes.loads.add(1);
        self.inner.load(id).await
    }

    async fn create(
        &self,
        id: &SessionId,
        record: &Record,
        ttl: Duration,
    ) -> Result<bool, BackendError> {
        self.inner.create(id, record, ttl).await
    }

    async fn apply(
        &self,
        id: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<bool, BackendError> {
        self.sizes.saves.add(1);
        self.inner.apply(id, changes, ttl).await
    }

    async fn regenerate(
        &self,
        old: &SessionId,
        new: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, BackendError> {
        self.inner.regenerate(old, new, changes, ttl).await
    }

    async fn delete(&self, id: &SessionId) -> Result<(), BackendError> {
        self.inner.delete(id).await
    }
}

impl<B: Batching> Batching for Observed<B> {
    async fn load_many(&self, ids: &[SessionId]) -> Vec<Result<Option<Record>, BackendError>> {
        self.sizes.loads.add(ids.len());
        self.inner.load_many(ids).await
    }

    async fn apply_many(&self, items: &[ApplyItem]) -> Vec<Result<bool, BackendError>> {
        self.sizes.saves.add(items.len());
        self.inner.apply_many(items).await
    }

    fn batch_limits(&self) -> BatchLimits {
        self.inner.batch_limits()
    }
}

impl<B: UserIndex> UserIndex for Observed<B> {
    async fn user_sessions(
        &self,
        user_id: &str,
        limit: usize,
    ) -> Result<Vec<UserSession>, BackendError> {
        self.inner.user_sessions(user_id, limit).await
    }

    async fn revoke_user_sessions(
        &self,
        user_id: &str,
        except: Option<&SessionId>,
    ) -> Result<u64, BackendError> {
        self.inner.revoke_user_sessions(user_id, except).await
    }
}
