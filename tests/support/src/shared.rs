//! [`Shared`]: any backend under test behind one type, so that one suite runs on them all.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum_session_store::backend::{
    ApplyItem, BatchLimits, Batched, Batching, Changes, Record, Regenerated, Storage, UserIndex,
    UserSession,
};
use axum_session_store::{BackendError, SessionBackend, SessionId};
use time::Duration;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A backend with every capability but cleanup, object-safe.
trait Erased: fmt::Debug + Send + Sync + 'static {
    fn load<'a>(&'a self, id: &'a SessionId)
        -> BoxFuture<'a, Result<Option<Record>, BackendError>>;
    fn create<'a>(
        &'a self,
        id: &'a SessionId,
        record: &'a Record,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, BackendError>>;
    fn apply<'a>(
        &'a self,
        id: &'a SessionId,
        changes: &'a Changes,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, BackendError>>;
    fn regenerate<'a>(
        &'a self,
        old: &'a SessionId,
        new: &'a SessionId,
        changes: &'a Changes,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Regenerated, BackendError>>;
    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<(), BackendError>>;
    fn load_many<'a>(
        &'a self,
        ids: &'a [SessionId],
    ) -> BoxFuture<'a, Vec<Result<Option<Record>, BackendError>>>;
    fn apply_many<'a>(
        &'a self,
        items: &'a [ApplyItem],
    ) -> BoxFuture<'a, Vec<Result<bool, BackendError>>>;
    fn batch_limits(&self) -> BatchLimits;
    fn user_sessions<'a>(
        &'a self,
        user_id: &'a str,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<UserSession>, BackendError>>;
    fn revoke_user_sessions<'a>(
        &'a self,
        user_id: &'a str,
        except: Option<&'a SessionId>,
    ) -> BoxFuture<'a, Result<u64, BackendError>>;
}

impl<B: Batching + UserIndex> Erased for B {
    fn load<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<Record>, BackendError>> {
        Box::pin(SessionBackend::load(self, id))
    }
    fn create<'a>(
        &'a self,
        id: &'a SessionId,
        record: &'a Record,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(SessionBackend::create(self, id, record, ttl))
    }
    fn apply<'a>(
        &'a self,
        id: &'a SessionId,
        changes: &'a Changes,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(SessionBackend::apply(self, id, changes, ttl))
    }
    fn regenerate<'a>(
        &'a self,
        old: &'a SessionId,
        new: &'a SessionId,
        changes: &'a Changes,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Regenerated, BackendError>> {
        Box::pin(SessionBackend::regenerate(self, old, new, changes, ttl))
    }
    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(SessionBackend::delete(self, id))
    }
    fn load_many<'a>(
        &'a self,
        ids: &'a [SessionId],
    ) -> BoxFuture<'a, Vec<Result<Option<Record>, BackendError>>> {
        Box::pin(Batching::load_many(self, ids))
    }
    fn apply_many<'a>(
        &'a self,
        items: &'a [ApplyItem],
    ) -> BoxFuture<'a, Vec<Result<bool, BackendError>>> {
        Box::pin(Batching::apply_many(self, items))
    }
    fn batch_limits(&self) -> BatchLimits {
        Batching::batch_limits(self)
    }
    fn user_sessions<'a>(
        &'a self,
        user_id: &'a str,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<UserSession>, BackendError>> {
        Box::pin(UserIndex::user_sessions(self, user_id, limit))
    }
    fn revoke_user_sessions<'a>(
        &'a self,
        user_id: &'a str,
        except: Option<&'a SessionId>,
    ) -> BoxFuture<'a, Result<u64, BackendError>> {
        Box::pin(UserIndex::revoke_user_sessions(self, user_id, except))
    }
}

/// Any backend under test; clones share it.
#[derive(Clone, Debug)]
pub struct Shared(Arc<dyn Erased>);

impl Shared {
    pub fn new(backend: impl Batching + UserIndex) -> Self {
        Self(Arc::new(backend))
    }
}

/// `backend` as the config keeps a built-in one: batched, with its user index.
pub fn storage<B: Batching + UserIndex>(backend: B) -> Storage {
    Storage::with_user_index(Batched::new(backend))
}

impl SessionBackend for Shared {
    async fn load(&self, id: &SessionId) -> Result<Option<Record>, BackendError> {
        self.0.load(id).await
    }
    async fn create(
        &self,
        id: &SessionId,
        record: &Record,
        ttl: Duration,
    ) -> Result<bool, BackendError> {
        self.0.create(id, record, ttl).await
    }
    async fn apply(
        &self,
        id: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<bool, BackendError> {
        self.0.apply(id, changes, ttl).await
    }
    async fn regenerate(
        &self,
        old: &SessionId,
        new: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, BackendError> {
        self.0.regenerate(old, new, changes, ttl).await
    }
    async fn delete(&self, id: &SessionId) -> Result<(), BackendError> {
        self.0.delete(id).await
    }
}

impl Batching for Shared {
    async fn load_many(&self, ids: &[SessionId]) -> Vec<Result<Option<Record>, BackendError>> {
        self.0.load_many(ids).await
    }
    async fn apply_many(&self, items: &[ApplyItem]) -> Vec<Result<bool, BackendError>> {
        self.0.apply_many(items).await
    }
    fn batch_limits(&self) -> BatchLimits {
        self.0.batch_limits()
    }
}

impl UserIndex for Shared {
    async fn user_sessions(
        &self,
        user_id: &str,
        limit: usize,
    ) -> Result<Vec<UserSession>, BackendError> {
        self.0.user_sessions(user_id, limit).await
    }
    async fn revoke_user_sessions(
        &self,
        user_id: &str,
        except: Option<&SessionId>,
    ) -> Result<u64, BackendError> {
        self.0.revoke_user_sessions(user_id, except).await
    }
}
