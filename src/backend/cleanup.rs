//! A background task that deletes expired records at an interval.

use std::sync::Arc;

use time::Duration;
use tokio::task::JoinHandle;

use super::session_backend::SessionBackend;
use crate::error::ConfigError;

/// Spawns a task on the current Tokio runtime that calls
/// [`delete_expired`](SessionBackend::delete_expired) every `interval`, logging failures and
/// carrying on. Abort the returned handle to stop it.
///
/// The SQL backends need it (or a job of your own) to delete expired rows, which never load but
/// take room; Redis expires its records by itself, and the memory backend deletes them on its
/// own writes.
///
/// # Errors
/// [`ConfigError::NonPositiveDuration`] when `interval` is zero or negative.
///
/// # Panics
/// When called outside a Tokio runtime, as [`tokio::spawn`] does.
///
/// ```
/// use std::sync::Arc;
/// use axum_session_store::{spawn_cleanup, MemoryBackend};
/// use time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let backend = Arc::new(MemoryBackend::new());
/// let cleanup = spawn_cleanup(backend.clone(), Duration::minutes(5))?;
/// // ... register `backend` and serve ...
/// cleanup.abort();
/// assert!(spawn_cleanup(backend, Duration::ZERO).is_err());
/// # Ok(()) }
/// ```
pub fn spawn_cleanup(
    backend: Arc<dyn SessionBackend>,
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
