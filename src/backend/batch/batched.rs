//! [`Batched`]: a backend whose loads and saves go out in batches when it is busy.

use std::fmt;
use std::sync::Arc;

use time::Duration;

use super::queue::{Batcher, Operation, Settings};
use crate::backend::changes::Changes;
use crate::backend::error::BackendError;
use crate::backend::session_backend::{ApplyItem, BoxFuture, Record, Regenerated, SessionBackend};
use crate::id::SessionId;

/// `backend`, batching its loads and saves when it takes more than one per call
/// ([`SessionBackend::max_batch_size`]); else `backend` itself.
pub(crate) fn batched(backend: Arc<dyn SessionBackend>) -> Arc<dyn SessionBackend> {
    let settings = Settings::of(&*backend);
    if settings.max_batch <= 1 {
        return backend;
    }
    Arc::new(Batched::new(backend, settings))
}

impl Batched {
    pub(super) fn new(backend: Arc<dyn SessionBackend>, settings: Settings) -> Self {
        Self {
            loads: Arc::new(Batcher::new(backend.clone(), settings)),
            applies: Arc::new(Batcher::new(backend.clone(), settings)),
            backend,
        }
    }
}

/// Loads and saves go through their batchers; every other operation goes straight to the
/// backend.
pub(super) struct Batched {
    backend: Arc<dyn SessionBackend>,
    pub(super) loads: Arc<Batcher<Load>>,
    pub(super) applies: Arc<Batcher<Apply>>,
}

/// [`SessionBackend::load`], batched as [`SessionBackend::load_many`].
pub(super) struct Load;

impl Operation for Load {
    type Item = SessionId;
    type Output = Result<Option<Record>, BackendError>;
    const ONE_PER_ID: bool = false;
    const NAME: &'static str = "loads";

    fn id(item: &SessionId) -> &SessionId {
        item
    }

    fn one<'a>(backend: &'a dyn SessionBackend, id: &'a SessionId) -> BoxFuture<'a, Self::Output> {
        backend.load(id)
    }

    fn many<'a>(
        backend: &'a dyn SessionBackend,
        ids: &'a [SessionId],
    ) -> BoxFuture<'a, Vec<Self::Output>> {
        backend.load_many(ids)
    }

    fn failed(error: BackendError) -> Self::Output {
        Err(error)
    }
}

/// [`SessionBackend::apply`], batched as [`SessionBackend::apply_many`].
pub(super) struct Apply;

impl Operation for Apply {
    type Item = ApplyItem;
    type Output = Result<bool, BackendError>;
    const ONE_PER_ID: bool = true;
    const NAME: &'static str = "saves";

    fn id(item: &ApplyItem) -> &SessionId {
        &item.id
    }

    fn one<'a>(
        backend: &'a dyn SessionBackend,
        item: &'a ApplyItem,
    ) -> BoxFuture<'a, Self::Output> {
        backend.apply(&item.id, &item.changes, item.ttl)
    }

    fn many<'a>(
        backend: &'a dyn SessionBackend,
        items: &'a [ApplyItem],
    ) -> BoxFuture<'a, Vec<Self::Output>> {
        backend.apply_many(items)
    }

    fn failed(error: BackendError) -> Self::Output {
        Err(error)
    }
}

impl fmt::Debug for Batched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The backend's own description: batching is how it is driven, not what it is.
        self.backend.fmt(f)
    }
}

impl SessionBackend for Batched {
    fn load<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<Record>, BackendError>> {
        Box::pin(self.loads.run(id, || id.clone(), || self.backend.load(id)))
    }

    fn create<'a>(
        &'a self,
        id: &'a SessionId,
        record: &'a Record,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        self.backend.create(id, record, ttl)
    }

    fn apply<'a>(
        &'a self,
        id: &'a SessionId,
        changes: &'a Changes,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        let item = move || ApplyItem {
            id: id.clone(),
            changes: changes.clone(),
            ttl,
        };
        Box::pin(
            self.applies
                .run(id, item, move || self.backend.apply(id, changes, ttl)),
        )
    }

    fn regenerate<'a>(
        &'a self,
        old: &'a SessionId,
        new: &'a SessionId,
        changes: &'a Changes,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Regenerated, BackendError>> {
        self.backend.regenerate(old, new, changes, ttl)
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<(), BackendError>> {
        self.backend.delete(id)
    }

    fn delete_expired(&self) -> BoxFuture<'_, Result<u64, BackendError>> {
        self.backend.delete_expired()
    }

    fn max_batch_size(&self) -> usize {
        self.backend.max_batch_size()
    }

    fn max_batches_in_flight(&self) -> usize {
        self.backend.max_batches_in_flight()
    }

    fn max_queue_len(&self) -> usize {
        self.backend.max_queue_len()
    }

    fn max_queue_len_per_session(&self) -> usize {
        self.backend.max_queue_len_per_session()
    }

    fn load_many<'a>(
        &'a self,
        ids: &'a [SessionId],
    ) -> BoxFuture<'a, Vec<Result<Option<Record>, BackendError>>> {
        self.backend.load_many(ids)
    }

    fn apply_many<'a>(
        &'a self,
        items: &'a [ApplyItem],
    ) -> BoxFuture<'a, Vec<Result<bool, BackendError>>> {
        self.backend.apply_many(items)
    }

    fn user_sessions<'a>(
        &'a self,
        user_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<SessionId>, BackendError>> {
        self.backend.user_sessions(user_id)
    }

    fn revoke_user_sessions<'a>(
        &'a self,
        user_id: &'a str,
        except: Option<&'a SessionId>,
    ) -> BoxFuture<'a, Result<u64, BackendError>> {
        self.backend.revoke_user_sessions(user_id, except)
    }
}
