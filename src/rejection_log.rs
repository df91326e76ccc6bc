//! Logging rejected cookies without letting an attacker decide how much is logged.
//!
//! Anyone can send a forged cookie with every request; one warning each would let them fill
//! the logs. Each config logs at most one `WARN` per [`INTERVAL`] for rejected cookies, carrying
//! how many were logged at `DEBUG` instead since the previous warning; every rejection is
//! logged at `DEBUG`.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// At most one warning about rejected cookies per this interval, per config.
pub(crate) const INTERVAL: Duration = Duration::from_secs(60);

/// Milliseconds since the first use of this clock: a monotonic time an atomic can hold.
fn now_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let elapsed = START.get_or_init(Instant::now).elapsed();
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

/// When the last warning went out, and how many rejections were logged at `DEBUG` since.
#[derive(Debug)]
pub(crate) struct RejectionLog {
    /// `now_ms()` of the last warning plus one; 0: none yet.
    last_warned: AtomicU64,
    suppressed: AtomicU64,
}

impl Default for RejectionLog {
    fn default() -> Self {
        Self {
            last_warned: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }
}

impl RejectionLog {
    /// Whether this rejection may be a warning; if so, how many were suppressed before it.
    fn permit(&self, now: u64) -> Option<u64> {
        let stamp = now.saturating_add(1);
        let last = self.last_warned.load(Ordering::Acquire);
        let interval = u64::try_from(INTERVAL.as_millis()).unwrap_or(u64::MAX);
        let due = last == 0 || stamp.saturating_sub(last) >= interval;
        if due
            && self
                .last_warned
                .compare_exchange(last, stamp, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::AcqRel));
        }
        self.suppressed.fetch_add(1, Ordering::AcqRel);
        None
    }

    /// Logs a client conflict (a session deleted or moved under a request).
    pub(crate) fn conflict(&self, error: &(dyn std::error::Error + 'static)) {
        match self.permit(now_ms()) {
            Some(suppressed) => tracing::warn!(
                error,
                suppressed,
                "session conflict: answered 409 (one such warning a minute at most; \
                 `suppressed` counts the conflicts since the last one, logged at debug level)"
            ),
            None => tracing::debug!(error, "session conflict: answered 409"),
        }
    }

    /// Logs that the cookie of session `session` was rejected for `reason` (which never holds
    /// the cookie's value or a key), and that a new session starts.
    pub(crate) fn rejected(&self, session: &str, reason: &dyn fmt::Display) {
        match self.permit(now_ms()) {
            Some(suppressed) => tracing::warn!(
                session,
                %reason,
                suppressed,
                "session cookie rejected; starting a new session (one such warning a minute \
                 at most; `suppressed` counts the rejections since the last one, logged at \
                 debug level)"
            ),
            None => tracing::debug!(
                session,
                %reason,
                "session cookie rejected; starting a new session"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_warning_per_interval_with_the_count_of_the_others() {
        let log = RejectionLog::default();
        let interval = u64::try_from(INTERVAL.as_millis()).unwrap_or(u64::MAX);
        assert_eq!(log.permit(0), Some(0));
        for t in 1..1000 {
            assert_eq!(log.permit(t), None);
        }
        assert_eq!(log.permit(interval - 1), None);
        assert_eq!(log.permit(interval), Some(1000));
        assert_eq!(log.permit(interval + 1), None);
        assert_eq!(log.permit(2 * interval), Some(1));
    }
}
