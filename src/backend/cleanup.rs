//! A background task that deletes expired records at an interval.

use std::sync::Arc;

use tokio::task::JoinHandle;

use super::SessionBackend;

/// Spawns a task on the current Tokio runtime that calls
/// [`delete_expired`](SessionBackend::delete_expired) every `interval`, logging failures and
/// carrying on. Abort the returned handle to stop it.
///
/// Backends whose records expire by themselves (Redis) do not need it.
///
/// # Panics
/// When called outside a Tokio runtime, as [`tokio::spawn`] does.
///
/// ```
/// use std::sync::Arc;
/// use axum_session_store::{spawn_cleanup, MemoryBackend};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let backend = Arc::new(MemoryBackend::new());
/// let cleanup = spawn_cleanup(backend.clone(), std::time::Duration::from_secs(60));
/// // ... register `backend` and serve ...
/// cleanup.abort();
/// # }
/// ```
pub fn spawn_cleanup(
    backend: Arc<dyn SessionBackend>,
    interval: std::time::Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
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
    })
}
