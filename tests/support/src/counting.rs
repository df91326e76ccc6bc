//! A backend wrapper that counts calls, to prove which requests reach the backend.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum_session_store::backend::{
    ApplyItem, BatchLimits, Batching, Changes, Record, Regenerated, UserIndex, UserSession,
};
use axum_session_store::{BackendError, SessionBackend, SessionId};
use time::Duration;

#[derive(Debug, Default)]
pub struct Calls {
    pub load: AtomicUsize,
    pub create: AtomicUsize,
    pub apply: AtomicUsize,
    pub delete: AtomicUsize,
    pub regenerate: AtomicUsize,
    /// The most loads one `load_many` call carried.
    pub largest_load_batch: AtomicUsize,
    /// The most saves one `apply_many` call carried.
    pub largest_apply_batch: AtomicUsize,
}

impl Calls {
    /// (load, create, apply, delete); a regenerate counts as a create.
    pub fn snapshot(&self) -> (usize, usize, usize, usize) {
        (
            self.load.load(Ordering::SeqCst),
            self.create.load(Ordering::SeqCst) + self.regenerate.load(Ordering::SeqCst),
            self.apply.load(Ordering::SeqCst),
            self.delete.load(Ordering::SeqCst),
        )
    }

    pub fn writes(&self) -> usize {
        let (_, create, apply, delete) = self.snapshot();
        create + apply + delete
    }

    /// Loads and writes (creates, applies, deletes) since the `before` snapshot.
    pub fn loads_and_writes_since(&self, before: (usize, usize, usize, usize)) -> (usize, usize) {
        let (load, create, apply, delete) = self.snapshot();
        (
            load - before.0,
            create + apply + delete - (before.1 + before.2 + before.3),
        )
    }
}

/// `inner`, counting the calls it receives.
#[derive(Debug)]
pub struct Counting<B> {
    inner: B,
    pub calls: Arc<Calls>,
}

impl<B> Counting<B> {
    pub fn new(inner: B) -> (Self, Arc<Calls>) {
        let calls = Arc::new(Calls::default());
        (
            Self {
                inner,
                calls: calls.clone(),
            },
            calls,
        )
    }
}

impl<B: SessionBackend> SessionBackend for Counting<B> {
    async fn load(&self, id: &SessionId) -> Result<Option<Record>, BackendError> {
        self.calls.load.fetch_add(1, Ordering::SeqCst);
        self.inner.load(id).await
    }

    async fn create(
        &self,
        id: &SessionId,
        record: &Record,
        ttl: Duration,
    ) -> Result<bool, BackendError> {
        self.calls.create.fetch_add(1, Ordering::SeqCst);
        self.inner.create(id, record, ttl).await
    }

    async fn apply(
        &self,
        id: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<bool, BackendError> {
        self.calls.apply.fetch_add(1, Ordering::SeqCst);
        self.inner.apply(id, changes, ttl).await
    }

    async fn regenerate(
        &self,
        old: &SessionId,
        new: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, BackendError> {
        self.calls.regenerate.fetch_add(1, Ordering::SeqCst);
        self.inner.regenerate(old, new, changes, ttl).await
    }

    async fn delete(&self, id: &SessionId) -> Result<(), BackendError> {
        self.calls.delete.fetch_add(1, Ordering::SeqCst);
        self.inner.delete(id).await
    }
}

impl<B: Batching> Batching for Counting<B> {
    async fn load_many(&self, ids: &[SessionId]) -> Vec<Result<Option<Record>, BackendError>> {
        self.calls.load.fetch_add(ids.len(), Ordering::SeqCst);
        self.calls
            .largest_load_batch
            .fetch_max(ids.len(), Ordering::SeqCst);
        self.inner.load_many(ids).await
    }

    async fn apply_many(&self, items: &[ApplyItem]) -> Vec<Result<bool, BackendError>> {
        self.calls.apply.fetch_add(items.len(), Ordering::SeqCst);
        self.calls
            .largest_apply_batch
            .fetch_max(items.len(), Ordering::SeqCst);
        self.inner.apply_many(items).await
    }

    fn batch_limits(&self) -> BatchLimits {
        self.inner.batch_limits()
    }
}

impl<B: UserIndex> UserIndex for Counting<B> {
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
