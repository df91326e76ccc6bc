//! [`Batched`]: a backend whose loads and saves go out in batches when it is busy.

use std::fmt;
use std::sync::Arc;

use time::Duration;

use super::queue::{Batcher, Operation};
use crate::backend::batching::{ApplyItem, BatchLimits, Batching};
use crate::backend::changes::Changes;
use crate::backend::cleanup::DeleteExpired;
use crate::backend::erased::{BoxFuture, DynBatching};
use crate::backend::error::BackendError;
use crate::backend::session_backend::{Record, Regenerated, SessionBackend};
use crate::backend::user_index::{UserIndex, UserSession};
use crate::id::SessionId;

/// A [`Batching`] backend that batches: its loads, and its saves, go out together when it is
/// busy, within its [`BatchLimits`]; every other operation goes straight to it, and so does
/// every operation when the limits allow one a call (`max_batch(1)`).
///
/// The built-in server backends are registered this way; wrap a batching backend of your own
/// in it before you register it. Clones share the queues.
///
/// ```
/// use axum_session_store::backend::{Batched, MemoryBackend, Storage};
/// use axum_session_store::SessionConfig;
///
/// # let secret = "an example secret, at least 32 bytes long";
/// let backend = Batched::new(MemoryBackend::new());
/// let config = SessionConfig::builder()
///     .secret_key(secret)
///     .default_backend(Storage::with_user_index(backend))
///     .build()?;
/// # Ok::<(), axum_session_store::ConfigError>(())
/// ```
pub struct Batched<B> {
    backend: Arc<B>,
    /// Whether loads and saves go through the queues: more than one fits in a call.
    queued: bool,
    pub(super) loads: Arc<Batcher<Load>>,
    pub(super) applies: Arc<Batcher<Apply>>,
}

impl<B: Batching> Batched<B> {
    /// `backend`, batched within its [`batch_limits`](Batching::batch_limits).
    pub fn new(backend: B) -> Self {
        let limits = backend.batch_limits();
        Self::with_limits(backend, limits)
    }

    /// `backend`, batched within `limits`.
    pub(crate) fn with_limits(backend: B, limits: BatchLimits) -> Self {
        let backend = Arc::new(backend);
        let driven: Arc<dyn DynBatching> = backend.clone();
        Self {
            loads: Arc::new(Batcher::new(driven.clone(), limits)),
            applies: Arc::new(Batcher::new(driven, limits)),
            queued: limits.batch() > 1,
            backend,
        }
    }

    /// The backend itself, to call it without the queues.
    pub fn get_ref(&self) -> &B {
        &self.backend
    }

    /// The limits the queues were made with.
    pub fn limits(&self) -> BatchLimits {
        self.backend.batch_limits()
    }
}

impl<B> Clone for Batched<B> {
    fn clone(&self) -> Self {
        Self {
            backend: self.backend.clone(),
            queued: self.queued,
            loads: self.loads.clone(),
            applies: self.applies.clone(),
        }
    }
}

/// [`SessionBackend::load`], batched as [`Batching::load_many`].
pub(super) struct Load;

impl Operation for Load {
    type Item = SessionId;
    type Output = Result<Option<Record>, BackendError>;
    const ONE_PER_ID: bool = false;
    const NAME: &'static str = "loads";

    fn id(item: &SessionId) -> &SessionId {
        item
    }

    fn one<'a>(backend: &'a dyn DynBatching, id: &'a SessionId) -> BoxFuture<'a, Self::Output> {
        backend.load(id)
    }

    fn many<'a>(
        backend: &'a dyn DynBatching,
        ids: &'a [SessionId],
    ) -> BoxFuture<'a, Vec<Self::Output>> {
        backend.load_many(ids)
    }

    fn failed(error: BackendError) -> Self::Output {
        Err(error)
    }
}

/// [`SessionBackend::apply`], batched as [`Batching::apply_many`].
pub(super) struct Apply;

impl Operation for Apply {
    type Item = ApplyItem;
    type Output = Result<bool, BackendError>;
    const ONE_PER_ID: bool = true;
    const NAME: &'static str = "saves";

    fn id(item: &ApplyItem) -> &SessionId {
        &item.id
    }

    fn one<'a>(backend: &'a dyn DynBatching, item: &'a ApplyItem) -> BoxFuture<'a, Self::Output> {
        backend.apply(&item.id, &item.changes, item.ttl)
    }

    fn many<'a>(
        backend: &'a dyn DynBatching,
        items: &'a [ApplyItem],
    ) -> BoxFuture<'a, Vec<Self::Output>> {
        backend.apply_many(items)
    }

    fn failed(error: BackendError) -> Self::Output {
        Err(error)
    }
}

impl<B: fmt::Debug> fmt::Debug for Batched<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Batched").field(&self.backend).finish()
    }
}

impl<B: Batching> SessionBackend for Batched<B> {
    async fn load(&self, id: &SessionId) -> Result<Option<Record>, BackendError> {
        if !self.queued {
            return self.backend.load(id).await;
        }
        self.loads
            .run(id, || id.clone(), || self.backend.load(id))
            .await
    }

    async fn create(
        &self,
        id: &SessionId,
        record: &Record,
        ttl: Duration,
    ) -> Result<bool, BackendError> {
        self.backend.create(id, record, ttl).await
    }

    async fn apply(
        &self,
        id: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<bool, BackendError> {
        if !self.queued {
            return self.backend.apply(id, changes, ttl).await;
        }
        let item = move || ApplyItem::new(id.clone(), changes.clone(), ttl);
        self.applies
            .run(id, item, move || self.backend.apply(id, changes, ttl))
            .await
    }

    async fn regenerate(
        &self,
        old: &SessionId,
        new: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, BackendError> {
        self.backend.regenerate(old, new, changes, ttl).await
    }

    async fn delete(&self, id: &SessionId) -> Result<(), BackendError> {
        self.backend.delete(id).await
    }
}

impl<B: Batching + UserIndex> UserIndex for Batched<B> {
    async fn user_sessions(
        &self,
        user_id: &str,
        limit: usize,
    ) -> Result<Vec<UserSession>, BackendError> {
        self.backend.user_sessions(user_id, limit).await
    }

    async fn revoke_user_sessions(
        &self,
        user_id: &str,
        except: Option<&SessionId>,
    ) -> Result<u64, BackendError> {
        self.backend.revoke_user_sessions(user_id, except).await
    }
}

impl<B: Batching + DeleteExpired> DeleteExpired for Batched<B> {
    async fn delete_expired(&self) -> Result<u64, BackendError> {
        self.backend.delete_expired().await
    }
}
