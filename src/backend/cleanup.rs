//! [`DeleteExpired`], and a background task that calls it at an interval.

use std::future::Future;

use time::Duration;
use tokio::task::JoinHandle;

use super::error::BackendError;
use super::session_backend::SessionBackend;
use crate::config_error::ConfigError;

/// A backend whose expired records stay until deleted: expired records never load, but take
/// room. [`spawn_cleanup`] calls it at an interval.
///
/// The SQL backends need it; Redis expires its records by itself, and the memory backend
/// deletes them on its own writes (its `delete_expired` sweeps at once).
pub trait DeleteExpired: SessionBackend {
    /// Deletes every expired record and returns how many went.
    fn delete_expired(&self) -> impl Future<Output = Result<u64, BackendError>> + Send;
}

/// Spawns a task on the current Tokio runtime that calls
/// [`delete_expired`](DeleteExpired::delete_expired) every `interval`, logging failures and
/// carrying on. Abort the returned handle to stop it.
///
/// # Errors
/// [`ConfigError::NonPositiveDuration`] when `interval` is zero or negative.
///
/// # Panics
/// When called outside a Tokio runtime, as [`tokio::spawn`] does.
///
/// ```
/// use axum_session_store::backend::{spawn_cleanup, MemoryBackend};
/// use time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let backend = MemoryBackend::new(); // clones share the records
/// let cleanup = spawn_cleanup(backend.clone(), Duration::minutes(5))?;
/// // ... register `backend` and serve ...
/// cleanup.abort();
/// assert!(spawn_cleanup(backend, Duration::ZERO).is_err());
/// # Ok(()) }
/// ```
#[doc(alias = "continuously_delete_expired")]
pub fn spawn_cleanup<B: DeleteExpired>(
    backend: B,
    interval: Duration,
) -> Result<JoinHandle<()>, ConfigError> {
    let period = std::time::Duration::try_from(interval)
        .ok()
        .filter(|period| !period.is_zero())
        .ok_or(ConfigError::NonPositiveDuration {
            setting: "spawn_cleanup interval",
            value: interval,
        })?;
    Ok(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match backend.delete_expired().await {
                Ok(0) => {}
                Ok(deleted) => tracing::debug!(deleted, "expired sessions deleted"),
                Err(error) => tracing::warn!(
                    error = &error as &dyn std::error::Error,
                    "deleting expired sessions failed; will try again"
                ),
            }
        }
    }))
}

impl<B: DeleteExpired> DeleteExpired for std::sync::Arc<B> {
    fn delete_expired(&self) -> impl Future<Output = Result<u64, BackendError>> + Send {
        (**self).delete_expired()
    }
}
