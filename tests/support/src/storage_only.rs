//! [`StorageOnly`]: a backend of a user's own that implements only the five required methods
//! of `SessionBackend`, over the memory backend, and none of the optional capabilities.

use axum_session_store::backend::{Changes, MemoryBackend, Record, Regenerated};
use axum_session_store::{BackendError, SessionBackend, SessionId};
use time::Duration;

/// The memory backend, seen through `SessionBackend` alone: no batching, no user index, no
/// cleanup.
#[derive(Debug, Default)]
pub struct StorageOnly(MemoryBackend);

impl SessionBackend for StorageOnly {
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
