//! [`SessionBackend`]: the trait every server-side store implements, the built-in ones as a
//! user's own.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value};
use time::Duration;

use super::changes::Changes;
use super::error::BackendError;
use crate::id::SessionId;

/// The default of [`SessionBackend::max_queue_len`].
pub(crate) const DEFAULT_MAX_WAITING: usize = 65_536;

/// The default of [`SessionBackend::max_queue_len_per_session`].
pub(crate) const DEFAULT_MAX_WAITING_PER_SESSION: usize = 256;

/// A built-in backend's [`SessionBackend::max_queue_len`] and
/// [`SessionBackend::max_queue_len_per_session`], as its setters left them.
#[cfg(any(
    feature = "redis",
    feature = "postgres",
    feature = "sqlite",
    feature = "mysql"
))]
#[derive(Clone, Copy, Debug)]
pub(crate) struct WaitingBounds {
    pub(crate) total: usize,
    pub(crate) per_session: usize,
}

#[cfg(any(
    feature = "redis",
    feature = "postgres",
    feature = "sqlite",
    feature = "mysql"
))]
impl Default for WaitingBounds {
    fn default() -> Self {
        Self {
            total: DEFAULT_MAX_WAITING,
            per_session: DEFAULT_MAX_WAITING_PER_SESSION,
        }
    }
}

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
/// See `examples/custom_backend.rs` for a whole backend, and
/// [`test_util::backend_suite`](crate::test_util::backend_suite) (feature `test-util`) for the
/// checks one must pass.
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
/// use axum_session_store::{
///     BackendError, BoxFuture, Changes, Record, Regenerated, SessionBackend, SessionConfig,
///     SessionId,
/// };
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
///     fn load<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<Option<Record>, BackendError>> {
///         let record = self.with(|map| map.get(id).map(|(_, record)| record.clone()));
///         Box::pin(async move { Ok(record) })
///     }
///
///     fn create<'a>(&'a self, id: &'a SessionId, record: &'a Record, ttl: Duration)
///         -> BoxFuture<'a, Result<bool, BackendError>> {
///         let created = self.with(|map| match map.contains_key(id) {
///             true => false,
///             false => map.insert(id.clone(), (expiry(ttl), record.clone())).is_none(),
///         });
///         Box::pin(async move { Ok(created) })
///     }
///
///     fn apply<'a>(&'a self, id: &'a SessionId, changes: &'a Changes, ttl: Duration)
///         -> BoxFuture<'a, Result<bool, BackendError>> {
///         let applied = self.with(|map| match map.get_mut(id) {
///             Some((expires, record)) => {
///                 changes.apply_to(record);
///                 *expires = expiry(ttl);
///                 true
///             }
///             None => false, // gone: never create it again
///         });
///         Box::pin(async move { Ok(applied) })
///     }
///
///     fn regenerate<'a>(&'a self, old: &'a SessionId, new: &'a SessionId, changes: &'a Changes, ttl: Duration)
///         -> BoxFuture<'a, Result<Regenerated, BackendError>> {
///         let moved = self.with(|map| {
///             if map.contains_key(new) {
///                 return Regenerated::Taken;
///             }
///             let Some((_, mut record)) = map.remove(old) else {
///                 return Regenerated::Gone; // logged out meanwhile: never bring it back
///             };
///             changes.apply_to(&mut record);
///             map.insert(new.clone(), (expiry(ttl), record));
///             Regenerated::Moved
///         });
///         Box::pin(async move { Ok(moved) })
///     }
///
///     fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<(), BackendError>> {
///         self.with(|map| map.remove(id));
///         Box::pin(async { Ok(()) })
///     }
///
///     fn delete_expired(&self) -> BoxFuture<'_, Result<u64, BackendError>> {
///         self.with(|_| ()); // `with` dropped them
///         Box::pin(async { Ok(0) })
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
///     .backend("map", backend)
///     .default_backend("map")
///     .build()?;
/// # Ok(()) }
/// ```
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

    /// The most operations one [`load_many`](Self::load_many) or
    /// [`apply_many`](Self::apply_many) call may carry. More than 1 turns on natural batching:
    /// while the loads (or saves) of this backend in flight are as many as
    /// [`max_batches_in_flight`](Self::max_batches_in_flight) allows, the loads (saves) that
    /// other requests start meanwhile wait, and go out together, as one call, when one is
    /// done; otherwise an operation goes out at once. The default, 1, sends every operation on
    /// its own, as before.
    ///
    /// ```
    /// use axum_session_store::{MemoryBackend, SessionBackend};
    ///
    /// // In process, there is no round trip to save: the memory backend does not batch.
    /// assert_eq!(MemoryBackend::new().max_batch_size(), 1);
    /// ```
    fn max_batch_size(&self) -> usize {
        1
    }

    /// How many loads (and, apart, how many saves) of a batching backend may be in flight at
    /// once, each alone or as a batch; 1, the default, is a database's group commit: one
    /// statement at a time, the next carrying everything that arrived meanwhile. A store that
    /// pipelines requests on one connection (Redis) gains from a few in flight. Two saves of
    /// one session are never in flight at once. Only read when
    /// [`max_batch_size`](Self::max_batch_size) is above 1.
    ///
    /// ```
    /// use axum_session_store::{MemoryBackend, SessionBackend};
    ///
    /// assert_eq!(MemoryBackend::new().max_batches_in_flight(), 1);
    /// ```
    fn max_batches_in_flight(&self) -> usize {
        1
    }

    /// How many loads (and, apart, how many saves) of a batching backend may wait for a batch
    /// at once, over every session: 65,536 unless overridden. One more fails at once with a
    /// [`BackendError`] that says the queue is full and how to raise this, rather than holding
    /// the request, and its data, while the backend falls further behind. Taking a batch costs
    /// the same however many wait. Only read when [`max_batch_size`](Self::max_batch_size) is
    /// above 1; the built-in backends set it with `.max_queue(n)`.
    ///
    /// ```
    /// use axum_session_store::{MemoryBackend, SessionBackend};
    ///
    /// assert_eq!(MemoryBackend::new().max_queue_len(), 65_536);
    /// ```
    fn max_queue_len(&self) -> usize {
        DEFAULT_MAX_WAITING
    }

    /// How many loads (and, apart, how many saves) of one session may wait for a batch at
    /// once: 256 unless overridden. Saves of one session go out one per batch, in order, so
    /// many concurrent requests with one cookie wait behind each other; one more than this
    /// fails at once, as with [`max_queue_len`](Self::max_queue_len). The built-in backends set it
    /// with `.max_queue_per_session(n)`.
    ///
    /// ```
    /// use axum_session_store::{MemoryBackend, SessionBackend};
    ///
    /// assert_eq!(MemoryBackend::new().max_queue_len_per_session(), 256);
    /// ```
    fn max_queue_len_per_session(&self) -> usize {
        DEFAULT_MAX_WAITING_PER_SESSION
    }

    /// Loads the records `ids`, as [`load`](Self::load) would one by one: one result per id,
    /// in order. An id may appear more than once.
    ///
    /// The default calls [`load`](Self::load) for each id in turn; a backend that can load
    /// many records in one round trip overrides it (and [`max_batch_size`](Self::max_batch_size)).
    /// When the round trip fails, every result is that error: none is reported as loaded.
    ///
    /// ```
    /// use axum_session_store::{MemoryBackend, SessionBackend, SessionId};
    /// use time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let backend = MemoryBackend::new();
    /// let (saved, unknown) = (SessionId::generate()?, SessionId::generate()?);
    /// backend.create(&saved, &serde_json::Map::new(), Duration::HOUR).await?;
    /// let loaded = backend.load_many(&[saved, unknown]).await;
    /// assert!(matches!(loaded[..], [Ok(Some(_)), Ok(None)]));
    /// # Ok(()) }
    /// ```
    fn load_many<'a>(
        &'a self,
        ids: &'a [SessionId],
    ) -> BoxFuture<'a, Vec<Result<Option<Record>, BackendError>>> {
        Box::pin(async move {
            let mut loaded = Vec::with_capacity(ids.len());
            for id in ids {
                loaded.push(self.load(id).await);
            }
            loaded
        })
    }

    /// Applies each item's changes, as [`apply`](Self::apply) would one by one: one result
    /// per item, in order (`Ok(false)` for a record that no longer exists, which fails only
    /// that item). The batching never puts two items for one id in one call.
    ///
    /// The default calls [`apply`](Self::apply) for each item in turn. A backend that
    /// overrides it applies every item or fails them all with the same error: an item is never
    /// reported as saved when its change did not reach the store.
    ///
    /// ```
    /// use axum_session_store::{ApplyItem, Changes, MemoryBackend, SessionBackend, SessionId};
    /// use time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let backend = MemoryBackend::new();
    /// let saved = SessionId::generate()?;
    /// backend.create(&saved, &serde_json::Map::new(), Duration::HOUR).await?;
    /// let set = Changes { set: vec![("n".into(), 1.into())], ..Changes::default() };
    /// let items = [
    ///     ApplyItem { id: saved, changes: set.clone(), ttl: Duration::HOUR },
    ///     ApplyItem { id: SessionId::generate()?, changes: set, ttl: Duration::HOUR },
    /// ];
    /// let applied = backend.apply_many(&items).await;
    /// assert!(matches!(applied[..], [Ok(true), Ok(false)]));
    /// # Ok(()) }
    /// ```
    fn apply_many<'a>(
        &'a self,
        items: &'a [ApplyItem],
    ) -> BoxFuture<'a, Vec<Result<bool, BackendError>>> {
        Box::pin(async move {
            let mut applied = Vec::with_capacity(items.len());
            for item in items {
                applied.push(self.apply(&item.id, &item.changes, item.ttl).await);
            }
            applied
        })
    }

    /// The ids of the live records tied to `user_id` (records that hold it under the reserved
    /// key `_user`, set with [`Session::set_user_id`](crate::Session::set_user_id)).
    ///
    /// Optional: the default answers [`BackendError::unsupported`], so a backend of your own
    /// keeps compiling; every built-in server-side backend implements it.
    fn user_sessions<'a>(
        &'a self,
        user_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<SessionId>, BackendError>> {
        let _ = user_id;
        Box::pin(async { Err(BackendError::unsupported("listing a user's sessions")) })
    }

    /// Deletes, atomically, every record tied to `user_id` but `except` (the current session,
    /// for "sign out all other devices"), and returns how many went.
    ///
    /// Optional, as [`user_sessions`](Self::user_sessions).
    fn revoke_user_sessions<'a>(
        &'a self,
        user_id: &'a str,
        except: Option<&'a SessionId>,
    ) -> BoxFuture<'a, Result<u64, BackendError>> {
        let _ = (user_id, except);
        Box::pin(async { Err(BackendError::unsupported("revoking a user's sessions")) })
    }
}

/// One save in an [`apply_many`](SessionBackend::apply_many) batch: the arguments of
/// [`apply`](SessionBackend::apply).
///
/// ```
/// use axum_session_store::{ApplyItem, Changes, SessionId};
///
/// let item = ApplyItem { id: SessionId::generate()?, changes: Changes::default(), ttl: time::Duration::HOUR };
/// assert!(item.changes.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ApplyItem {
    /// The record to change.
    pub id: SessionId,
    /// What to change in it.
    pub changes: Changes,
    /// How long it lives from now on.
    pub ttl: Duration,
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
