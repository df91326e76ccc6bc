//! The object-safe forms of the backend traits, which the crate holds behind `Arc<dyn ..>`:
//! each implemented for every backend of the public trait, boxing its future.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use time::Duration;

use super::batching::{ApplyItem, Batching};
use super::changes::Changes;
use super::error::BackendError;
use super::session_backend::{Record, Regenerated, SessionBackend};
use super::user_index::{UserIndex, UserSession};
use crate::id::SessionId;

/// A boxed, sendable future: what the object-safe traits return.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`SessionBackend`], object-safe.
pub(crate) trait DynBackend: fmt::Debug + Send + Sync + 'static {
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
}

impl<B: SessionBackend> DynBackend for B {
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
}

/// [`Batching`], object-safe: what a batch queue drives.
pub(crate) trait DynBatching: DynBackend {
    fn load_many<'a>(
        &'a self,
        ids: &'a [SessionId],
    ) -> BoxFuture<'a, Vec<Result<Option<Record>, BackendError>>>;

    fn apply_many<'a>(
        &'a self,
        items: &'a [ApplyItem],
    ) -> BoxFuture<'a, Vec<Result<bool, BackendError>>>;
}

impl<B: Batching> DynBatching for B {
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
}

/// [`UserIndex`], object-safe.
pub(crate) trait DynUserIndex: Send + Sync + 'static {
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

impl<B: UserIndex> DynUserIndex for B {
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
