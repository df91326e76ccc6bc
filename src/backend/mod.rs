//! Where session data lives: in the cookie itself, or on a server under an id.
//!
//! Server-side backends implement [`SessionBackend`]; the built-in ones do so exactly as a
//! user's own would.

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{Map, Value};
use time::Duration;

use crate::id::SessionId;

mod changes;
mod cleanup;
mod memory;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "sqlx")]
mod sql;

pub(crate) use changes::ChangeLog;
pub use changes::Changes;
pub use cleanup::spawn_cleanup;
pub use memory::{MemoryBackend, WhenFull, DEFAULT_MAX_BYTES, DEFAULT_MAX_RECORDS};
#[cfg(feature = "redis")]
pub use redis::RedisBackend;
#[cfg(feature = "mysql")]
pub use sql::MySqlBackend;
#[cfg(feature = "postgres")]
pub use sql::PostgresBackend;
#[cfg(feature = "sqlite")]
pub use sql::SqliteBackend;

/// The name under which the signed-cookie backend is registered.
pub const SECURE_COOKIE: &str = "securecookie";

/// The name under which the encrypted-cookie backend is registered.
pub const PRIVATE_COOKIE: &str = "privatecookie";

/// The name under which the in-memory backend is registered.
pub const MEMORY: &str = "memory";

/// A boxed, sendable future: what [`SessionBackend`] methods return, so the trait stays
/// object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A session's data: a JSON object.
pub type Record = Map<String, Value>;

/// A store of server-side session records, keyed by [`SessionId`].
///
/// The session cookie then holds only the signed id; the data stays on the server. Register a
/// backend under a name with [`SessionConfigBuilder::backend`](crate::SessionConfigBuilder::backend)
/// and give that name as a session's [`BACKEND`](crate::SessionName::BACKEND).
///
/// Records expire: every write gives the TTL to keep the record for, and an expired record must
/// never load again, whatever the cookie says.
///
/// See `examples/custom_backend.rs` for a whole backend.
pub trait SessionBackend: fmt::Debug + Send + Sync + 'static {
    /// The record `id`, or `None` when there is none or it has expired.
    fn load<'a>(&'a self, id: &'a SessionId)
        -> BoxFuture<'a, Result<Option<Record>, BackendError>>;

    /// Stores `record` under `id`, to expire after `ttl`, only if no record `id` exists.
    /// Returns `false` when the id is taken (the caller retries with a fresh id).
    fn create<'a>(
        &'a self,
        id: &'a SessionId,
        record: &'a Record,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, BackendError>>;

    /// Applies `changes` to the record `id` atomically and makes it expire after `ttl`.
    /// Returns `false` when the record no longer exists (expired, or deleted by another
    /// request); it must not be created then.
    fn apply<'a>(
        &'a self,
        id: &'a SessionId,
        changes: &'a Changes,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, BackendError>>;

    /// Moves the record `old` to the fresh id `new`, with `changes` applied, and deletes `old`:
    /// what [`Session::regenerate_id`](crate::Session::regenerate_id) saves as.
    ///
    /// It must be atomic with respect to the other operations on `old`: the new record is the
    /// record as it is when the move happens (a change another request applied to `old` before
    /// is kept), `old` is gone afterwards (a later change to it finds no record), and nothing
    /// is written when `old` no longer exists (a logout that ran meanwhile is never undone).
    ///
    /// The default runs [`load`](Self::load), [`create`](Self::create) and
    /// [`delete`](Self::delete) one after another, which is **not** atomic: a change applied to
    /// `old` between the load and the delete is lost, and a logout between them is undone.
    /// Override it when the store can do better; every built-in backend does.
    ///
    /// # Errors
    /// The store failed; nothing must have been moved then, or the move must be complete.
    fn regenerate<'a>(
        &'a self,
        old: &'a SessionId,
        new: &'a SessionId,
        changes: &'a Changes,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Regenerated, BackendError>> {
        Box::pin(async move {
            let Some(mut record) = self.load(old).await? else {
                return Ok(Regenerated::Gone);
            };
            changes.apply_to(&mut record);
            if !self.create(new, &record, ttl).await? {
                return Ok(Regenerated::Taken);
            }
            self.delete(old).await?;
            Ok(Regenerated::Moved)
        })
    }

    /// Deletes the record `id`, if there is one.
    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<(), BackendError>>;

    /// Deletes every expired record and returns how many went. Backends whose records expire
    /// by themselves (Redis) return 0.
    fn delete_expired(&self) -> BoxFuture<'_, Result<u64, BackendError>>;
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

/// A backend's failure: the server is unreachable, a query failed, a record is corrupt.
///
/// It keeps the cause as its [`source`](StdError::source).
#[derive(Debug, thiserror::Error)]
#[error("{context}")]
pub struct BackendError {
    context: String,
    #[source]
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl BackendError {
    /// An error with a cause, and a sentence that says what was being done.
    pub fn new(
        context: impl Into<String>,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            context: context.into(),
            source: Some(source.into()),
        }
    }

    /// An error that has no underlying cause.
    pub fn msg(context: impl Into<String>) -> Self {
        Self {
            context: context.into(),
            source: None,
        }
    }
}

/// A registered backend.
#[derive(Clone, Debug)]
pub(crate) enum Backend {
    /// The data is the cookie's signed payload.
    SecureCookie,
    /// The data is the cookie's sealed (encrypted) payload.
    PrivateCookie,
    /// The data is on a server; the cookie holds its signed id.
    Server(Arc<dyn SessionBackend>),
}

impl Backend {
    /// Whether the data lives in the cookie itself.
    pub(crate) fn is_cookie(&self) -> bool {
        matches!(self, Backend::SecureCookie | Backend::PrivateCookie)
    }

    /// The backends every config has: the signed and the encrypted cookie, and memory.
    pub(crate) fn defaults() -> BTreeMap<String, Backend> {
        BTreeMap::from([
            (SECURE_COOKIE.to_owned(), Backend::SecureCookie),
            (PRIVATE_COOKIE.to_owned(), Backend::PrivateCookie),
            (
                MEMORY.to_owned(),
                Backend::Server(Arc::new(MemoryBackend::new())),
            ),
        ])
    }
}
