//! [`SessionBackend`]: what every server-side store does, the built-in ones as a user's own.

use std::fmt;
use std::future::Future;

use serde_json::{Map, Value};
use time::Duration;

use super::changes::Changes;
use super::error::BackendError;
use crate::id::SessionId;

/// A session's data: a JSON object.
pub type Record = Map<String, Value>;

/// `value`, a JSON object, as a record: for the crate's tests and the backend suite.
///
/// # Panics
/// When `value` is not an object: a mistake in the test that wrote it.
#[cfg(any(test, feature = "test-util"))]
pub(crate) fn record(value: Value) -> Record {
    match value {
        Value::Object(map) => map,
        other => panic!("a record is a JSON object, not {other}"),
    }
}

/// A store of server-side session records, keyed by [`SessionId`]: the whole of what a backend
/// author writes.
///
/// The session cookie then holds only the signed id; the data stays on the server. Give a
/// backend to a session with
/// [`SessionConfigBuilder::default_backend`](crate::SessionConfigBuilder::default_backend) or
/// [`session_backend`](crate::SessionConfigBuilder::session_backend), through
/// [`Storage::server`](crate::backend::Storage::server).
///
/// Records expire: every write gives the TTL to keep the record for, and an expired record must
/// never load again, whatever the cookie says.
///
/// What a backend may add is optional and apart: [`Batching`](crate::backend::Batching) (many
/// loads or saves in one round trip), [`UserIndex`](crate::backend::UserIndex) (a user's
/// sessions, listed and revoked) and [`DeleteExpired`](crate::backend::DeleteExpired).
/// `test_util::backend_suite` (feature `test-util`) checks
/// the contract below; `examples/custom_backend.rs` shows a whole backend.
///
/// # Example
///
/// A backend of records in a map under one lock, which makes every operation atomic:
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use std::time::Instant;
///
/// use axum_session_store::backend::{Changes, Record, Regenerated, Storage};
/// use axum_session_store::{BackendError, SessionBackend, SessionConfig, SessionId};
/// use time::Duration;
///
/// #[derive(Debug, Default)]
/// struct MapBackend(Mutex<HashMap<SessionId, (Instant, Record)>>);
///
/// impl MapBackend {
///     /// Runs `f` on the map, with every expired record gone.
///     fn with<T>(&self, f: impl FnOnce(&mut HashMap<SessionId, (Instant, Record)>) -> T) -> T {
///         let mut map = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
///         let now = Instant::now();
///         map.retain(|_, (expires, _)| *expires > now);
///         f(&mut map)
///     }
/// }
///
/// fn expiry(ttl: Duration) -> Instant {
///     let now = Instant::now();
///     std::time::Duration::try_from(ttl).map_or(now, |ttl| now + ttl)
/// }
///
/// impl SessionBackend for MapBackend {
///     async fn load(&self, id: &SessionId) -> Result<Option<Record>, BackendError> {
///         Ok(self.with(|map| map.get(id).map(|(_, record)| record.clone())))
///     }
///
///     async fn create(&self, id: &SessionId, record: &Record, ttl: Duration) -> Result<bool, BackendError> {
///         Ok(self.with(|map| match map.contains_key(id) {
///             true => false,
///             false => map.insert(id.clone(), (expiry(ttl), record.clone())).is_none(),
///         }))
///     }
///
///     async fn apply(&self, id: &SessionId, changes: &Changes, ttl: Duration) -> Result<bool, BackendError> {
///         Ok(self.with(|map| match map.get_mut(id) {
///             Some((expires, record)) => {
///                 changes.apply_to(record);
///                 *expires = expiry(ttl);
///                 true
///             }
///             None => false, // gone: never create it again
///         }))
///     }
///
///     async fn regenerate(&self, old: &SessionId, new: &SessionId, changes: &Changes, ttl: Duration)
///         -> Result<Regenerated, BackendError> {
///         Ok(self.with(|map| {
///             if map.contains_key(new) {
///                 return Regenerated::Taken;
///             }
///             let Some((_, mut record)) = map.remove(old) else {
///                 return Regenerated::Gone; // logged out meanwhile: never bring it back
///             };
///             changes.apply_to(&mut record);
///             map.insert(new.clone(), (expiry(ttl), record));
///             Regenerated::Moved
///         }))
///     }
///
///     async fn delete(&self, id: &SessionId) -> Result<(), BackendError> {
///         self.with(|map| map.remove(id));
///         Ok(())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let backend = MapBackend::default();
/// let id = SessionId::generate()?;
/// let record = serde_json::json!({"user": "ada"}).as_object().unwrap().clone();
/// assert!(backend.create(&id, &record, Duration::HOUR).await?);
/// assert_eq!(backend.load(&id).await?, Some(record));
///
/// # let secret = "an example secret, at least 32 bytes long";
/// let config = SessionConfig::builder()
///     .secret_key(secret)
///     .default_backend(Storage::server(backend))
///     .build()?;
/// # Ok(()) }
/// ```
#[doc(alias = "SessionStore")]
#[doc(alias = "store")]
pub trait SessionBackend: fmt::Debug + Send + Sync + 'static {
    /// The record `id`, or `None` when there is none or it has expired.
    fn load(
        &self,
        id: &SessionId,
    ) -> impl Future<Output = Result<Option<Record>, BackendError>> + Send;

    /// Stores `record` under `id`, to expire after `ttl`, only if no live record `id` exists.
    /// Returns `false` when the id is taken (the caller retries with a fresh id).
    fn create(
        &self,
        id: &SessionId,
        record: &Record,
        ttl: Duration,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// Applies `changes` to the record `id` atomically and makes it expire after `ttl`.
    /// Returns `false` when the record no longer exists (expired, or deleted by another
    /// request); it must not be created then.
    fn apply(
        &self,
        id: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// Moves the record `old` to the fresh id `new`, with `changes` applied, and deletes `old`:
    /// what [`Session::regenerate_id`](crate::Session::regenerate_id) saves as.
    ///
    /// It must be atomic with respect to the other operations on `old`: the new record is the
    /// record as it is when the move happens (a change another request applied to `old` before
    /// is kept), `old` is gone afterwards (a later change to it finds no record), and nothing
    /// is written when `old` no longer exists (a logout that ran meanwhile is never undone).
    /// A load, a create and a delete one after another are **not** atomic: a change applied
    /// between them is lost, and a logout between them is undone.
    ///
    /// # Errors
    /// The store failed; nothing must have been moved then, or the move must be complete.
    fn regenerate(
        &self,
        old: &SessionId,
        new: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> impl Future<Output = Result<Regenerated, BackendError>> + Send;

    /// Deletes the record `id`, if there is one.
    fn delete(&self, id: &SessionId) -> impl Future<Output = Result<(), BackendError>> + Send;
}

/// A backend shared behind an [`Arc`](std::sync::Arc) is the backend.
impl<B: SessionBackend> SessionBackend for std::sync::Arc<B> {
    fn load(
        &self,
        id: &SessionId,
    ) -> impl Future<Output = Result<Option<Record>, BackendError>> + Send {
        (**self).load(id)
    }

    fn create(
        &self,
        id: &SessionId,
        record: &Record,
        ttl: Duration,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send {
        (**self).create(id, record, ttl)
    }

    fn apply(
        &self,
        id: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send {
        (**self).apply(id, changes, ttl)
    }

    fn regenerate(
        &self,
        old: &SessionId,
        new: &SessionId,
        changes: &Changes,
        ttl: Duration,
    ) -> impl Future<Output = Result<Regenerated, BackendError>> + Send {
        (**self).regenerate(old, new, changes, ttl)
    }

    fn delete(&self, id: &SessionId) -> impl Future<Output = Result<(), BackendError>> + Send {
        (**self).delete(id)
    }
}

/// What [`SessionBackend::regenerate`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Regenerated {
    /// The record is under the new id now, with the changes applied; the old id is gone.
    Moved,
    /// The old record no longer exists (deleted by a logout elsewhere, or expired): nothing was
    /// written.
    Gone,
    /// The new id is taken: nothing was written, and the caller tries another id.
    Taken,
}
