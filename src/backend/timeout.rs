//! How long an operation of a networked backend (Redis, SQL) may take: the default bound, and
//! the bound applied to a future.

use std::future::Future;
use std::time::Duration;

use super::error::BackendError;

/// How long an operation may take unless the backend's `timeout` says otherwise.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// `duration` as a `std` duration of at least 1 ms (what a backend's `timeout` takes).
pub(crate) fn positive_std(duration: time::Duration) -> Duration {
    Duration::try_from(duration)
        .unwrap_or_default()
        .max(Duration::from_millis(1))
}

/// Runs `work` for at most `timeout`; past it, `work` is dropped (cancelled) and the result is
/// a [`BackendError::timeout`] that says what was being done (`doing`), on what (`server`),
/// and for how long it waited.
pub(crate) async fn bounded<T>(
    timeout: Duration,
    doing: impl FnOnce() -> String,
    server: &str,
    work: impl Future<Output = Result<T, BackendError>>,
) -> Result<T, BackendError> {
    match tokio::time::timeout(timeout, work).await {
        Ok(result) => result,
        Err(_) => Err(BackendError::timeout(format!(
            "{}: {server} did not answer within {} ms",
            doing(),
            timeout.as_millis()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_at_least_a_millisecond() {
        assert_eq!(positive_std(time::Duration::ZERO), Duration::from_millis(1));
        assert_eq!(
            positive_std(time::Duration::seconds(-3)),
            Duration::from_millis(1)
        );
        assert_eq!(
            positive_std(time::Duration::seconds(2)),
            Duration::from_secs(2)
        );
    }

    #[tokio::test]
    async fn work_past_the_bound_is_a_timeout() {
        let slow = bounded(Duration::from_millis(10), || "loading".into(), "X", async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok(())
        })
        .await
        .unwrap_err();
        assert!(slow.is_timeout());
        assert_eq!(slow.to_string(), "loading: X did not answer within 10 ms");
        let quick = bounded(Duration::from_millis(10), String::new, "X", async { Ok(1) }).await;
        assert_eq!(quick.unwrap(), 1);
    }
}
