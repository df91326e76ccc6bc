//! [`Batching`]: a backend that can load, or save, many sessions in one round trip, and the
//! [`BatchLimits`] of its queue.

use std::future::Future;

use time::Duration;

use super::changes::Changes;
use super::error::BackendError;
use super::session_backend::{Record, SessionBackend};
use crate::id::SessionId;

/// A backend that can load, or save, many sessions in one call: a capability a backend opts
/// into, and that [`Batched`](crate::backend::Batched) drives.
///
/// Wrapped in [`Batched`](crate::backend::Batched), a backend batches naturally: while as many
/// of its loads (or saves) are in flight as its [`BatchLimits`] allow, the ones that other
/// requests start meanwhile wait, and go out together, as one call, when one is done; an idle
/// backend adds no wait. The built-in server backends are registered that way.
///
/// ```
/// use axum_session_store::backend::{ApplyItem, Batched, Batching, Changes, MemoryBackend};
/// use axum_session_store::{SessionBackend, SessionId};
/// use time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let backend = MemoryBackend::new();
/// let (saved, unknown) = (SessionId::generate()?, SessionId::generate()?);
/// backend.create(&saved, &serde_json::Map::new(), Duration::HOUR).await?;
/// let loaded = backend.load_many(&[saved.clone(), unknown.clone()]).await;
/// assert!(matches!(loaded[..], [Ok(Some(_)), Ok(None)]));
///
/// let set = Changes::new().set("n", 1);
/// let items = [
///     ApplyItem::new(saved, set.clone(), Duration::HOUR),
///     ApplyItem::new(unknown, set, Duration::HOUR),
/// ];
/// assert!(matches!(backend.apply_many(&items).await[..], [Ok(true), Ok(false)]));
/// # Ok(()) }
/// ```
pub trait Batching: SessionBackend {
    /// Loads the records `ids`, as [`load`](SessionBackend::load) would one by one: one result
    /// per id, in order. An id may appear more than once. When the round trip fails, every
    /// result is that error: none is reported as loaded.
    fn load_many(
        &self,
        ids: &[SessionId],
    ) -> impl Future<Output = Vec<Result<Option<Record>, BackendError>>> + Send;

    /// Applies each item's changes, as [`apply`](SessionBackend::apply) would one by one: one
    /// result per item, in order (`Ok(false)` for a record that no longer exists, which fails
    /// only that item). Batching never puts two items for one id in one call. Every item is
    /// applied, or all fail with the same error: an item is never reported as saved when its
    /// change did not reach the store.
    fn apply_many(
        &self,
        items: &[ApplyItem],
    ) -> impl Future<Output = Vec<Result<bool, BackendError>>> + Send;

    /// How the backend's calls are queued: [`BatchLimits::default`] unless overridden.
    fn batch_limits(&self) -> BatchLimits {
        BatchLimits::default()
    }
}

/// One save in an [`apply_many`](Batching::apply_many) batch: the arguments of
/// [`apply`](SessionBackend::apply).
///
/// ```
/// use axum_session_store::backend::{ApplyItem, Changes};
/// use axum_session_store::SessionId;
///
/// let item = ApplyItem::new(SessionId::generate()?, Changes::new(), time::Duration::HOUR);
/// assert!(item.changes.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ApplyItem {
    /// The record to change.
    pub id: SessionId,
    /// What to change in it.
    pub changes: Changes,
    /// How long it lives from now on.
    pub ttl: Duration,
}

impl ApplyItem {
    /// The save of `changes` to the record `id`, to live `ttl` from now on.
    pub fn new(id: SessionId, changes: Changes, ttl: Duration) -> Self {
        Self { id, changes, ttl }
    }
}

/// How a [`Batching`] backend's calls are queued. Every bound is at least 1.
///
/// ```
/// use axum_session_store::backend::BatchLimits;
///
/// let limits = BatchLimits::default().max_batch(128).max_in_flight(4);
/// assert_eq!(limits.batch(), 128);
/// assert_eq!(limits.in_flight(), 4);
/// assert_eq!(limits.queue(), 65_536);
/// assert_eq!(limits.queue_per_session(), 256);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchLimits {
    max_batch: usize,
    max_in_flight: usize,
    max_queue: usize,
    max_queue_per_session: usize,
}

impl Default for BatchLimits {
    /// 64 operations a call, one call in flight (a database's group commit: one statement at
    /// a time, the next carrying everything that arrived meanwhile), 65,536 waiting in all and
    /// 256 for one session.
    fn default() -> Self {
        Self {
            max_batch: 64,
            max_in_flight: 1,
            max_queue: 65_536,
            max_queue_per_session: 256,
        }
    }
}

impl BatchLimits {
    /// At most `max` loads, or saves, in one call; 1 sends every operation on its own.
    #[must_use]
    pub fn max_batch(mut self, max: usize) -> Self {
        self.max_batch = max.max(1);
        self
    }

    /// At most `max` calls of loads (and, apart, of saves) in flight at once, each alone or
    /// as a batch. A store that pipelines requests on one connection (Redis) gains from a few.
    /// Two saves of one session are never in flight at once.
    #[must_use]
    pub fn max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = max.max(1);
        self
    }

    /// At most `max` loads, or saves, waiting for a batch at once, over every session. One
    /// more fails at once with a [`BackendError`] that says the queue is full, rather than
    /// holding the request, and its data, while the backend falls further behind.
    #[must_use]
    pub fn max_queue(mut self, max: usize) -> Self {
        self.max_queue = max.max(1);
        self
    }

    /// At most `max` loads, or saves, of one session waiting at once: saves of one session go
    /// out one per batch, in order, so many concurrent requests with one cookie wait behind
    /// each other; one more fails at once.
    #[must_use]
    pub fn max_queue_per_session(mut self, max: usize) -> Self {
        self.max_queue_per_session = max.max(1);
        self
    }

    /// The most operations one call carries.
    pub fn batch(&self) -> usize {
        self.max_batch
    }

    /// The most calls in flight at once.
    pub fn in_flight(&self) -> usize {
        self.max_in_flight
    }

    /// The most operations waiting, over every session.
    pub fn queue(&self) -> usize {
        self.max_queue
    }

    /// The most operations of one session waiting.
    pub fn queue_per_session(&self) -> usize {
        self.max_queue_per_session
    }
}

impl<B: Batching> Batching for std::sync::Arc<B> {
    fn load_many(
        &self,
        ids: &[SessionId],
    ) -> impl Future<Output = Vec<Result<Option<Record>, BackendError>>> + Send {
        (**self).load_many(ids)
    }

    fn apply_many(
        &self,
        items: &[ApplyItem],
    ) -> impl Future<Output = Vec<Result<bool, BackendError>>> + Send {
        (**self).apply_many(items)
    }

    fn batch_limits(&self) -> BatchLimits {
        (**self).batch_limits()
    }
}
