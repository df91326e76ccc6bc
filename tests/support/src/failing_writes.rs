//! [`FailingWrites`]: a backend that loads but cannot write, as a server that went away.

use axum_session_store::backend::{Changes, MemoryBackend, Record, Regenerated};
use axum_session_store::{BackendError, SessionBackend, SessionId};
use time::Duration;

/// A backend whose writes fail, as a server that went away would.
#[derive(Debug, Default)]
pub struct FailingWrites(pub MemoryBackend);

impl SessionBackend for FailingWrites {
    async fn load(&self, id: &SessionId) -> Result<Option<Record>, BackendError> {
        self.0.load(id).await
    }
    async fn create(&self, _: &SessionId, _: &Record, _: Duration) -> Result<bool, BackendError> {
        Err(BackendError::msg("disk full"))
    }
    async fn apply(&self, _: &SessionId, _: &Changes, _: Duration) -> Result<bool, BackendError> {
        Err(BackendError::msg("disk full"))
    }
    async fn regenerate(
        &self,
        _: &SessionId,
        _: &SessionId,
        _: &Changes,
        _: Duration,
    ) -> Result<Regenerated, BackendError> {
        Err(BackendError::msg("disk full"))
    }
    async fn delete(&self, id: &SessionId) -> Result<(), BackendError> {
        self.0.delete(id).await
    }
}
