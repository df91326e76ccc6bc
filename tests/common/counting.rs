//! A backend wrapper that counts calls, to prove which requests reach the backend.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum_session_store::{
    ApplyItem, BackendError, BoxFuture, Changes, Record, Regenerated, SessionBackend, SessionId,
};
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

#[derive(Debug)]
pub struct Counting {
    inner: Arc<dyn SessionBackend>,
    pub calls: Arc<Calls>,
}

impl Counting {
    pub fn new(inner: Arc<dyn SessionBackend>) -> (Self, Arc<Calls>) {
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

impl SessionBackend for Counting {
    fn load<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<Record>, BackendError>> {
        self.calls.load.fetch_add(1, Ordering::SeqCst);
        self.inner.load(id)
    }

    fn create<'a>(
        &'a self,
        id: &'a SessionId,
        record: &'a Record,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        self.calls.create.fetch_add(1, Ordering::SeqCst);
        self.inner.create(id, record, ttl)
    }

    fn apply<'a>(
        &'a self,
        id: &'a SessionId,
        changes: &'a Changes,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        self.calls.apply.fetch_add(1, Ordering::SeqCst);
        self.inner.apply(id, changes, ttl)
    }

    fn regenerate<'a>(
        &'a self,
        old: &'a SessionId,
        new: &'a SessionId,
        changes: &'a Changes,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Regenerated, BackendError>> {
        self.calls.regenerate.fetch_add(1, Ordering::SeqCst);
        self.inner.regenerate(old, new, changes, ttl)
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<(), BackendError>> {
        self.calls.delete.fetch_add(1, Ordering::SeqCst);
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
        self.calls.load.fetch_add(ids.len(), Ordering::SeqCst);
        self.calls
            .largest_load_batch
            .fetch_max(ids.len(), Ordering::SeqCst);
        self.inner.load_many(ids)
    }

    fn apply_many<'a>(
        &'a self,
        items: &'a [ApplyItem],
    ) -> BoxFuture<'a, Vec<Result<bool, BackendError>>> {
        self.calls.apply.fetch_add(items.len(), Ordering::SeqCst);
        self.calls
            .largest_apply_batch
            .fetch_max(items.len(), Ordering::SeqCst);
        self.inner.apply_many(items)
    }

    fn user_sessions<'a>(
        &'a self,
        user_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<SessionId>, BackendError>> {
        self.inner.user_sessions(user_id)
    }

    fn revoke_user_sessions<'a>(
        &'a self,
        user_id: &'a str,
        except: Option<&'a SessionId>,
    ) -> BoxFuture<'a, Result<u64, BackendError>> {
        self.inner.revoke_user_sessions(user_id, except)
    }
}
