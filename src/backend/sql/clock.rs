//! Whose clock decides when a row expires, and the TTLs and expiry times the statements take.

#[cfg(feature = "sqlite")]
use std::time::{SystemTime, UNIX_EPOCH};

use time::Duration;

/// The longest TTL stored: a hundred years, as the memory backend does,
/// so that adding it to the clock cannot overflow any database's timestamps.
const MAX_TTL_MS: i64 = 100 * 365 * 24 * 3600 * 1000;

/// `ttl` in whole milliseconds, between 0 (already expired) and a hundred years.
pub(super) fn ttl_millis(ttl: Duration) -> i64 {
    let millis = ttl.whole_milliseconds().clamp(0, i128::from(MAX_TTL_MS));
    i64::try_from(millis).unwrap_or(MAX_TTL_MS)
}

/// Whose clock decides when a record expires.
#[derive(Clone, Copy, Debug)]
pub(super) enum Clock {
    /// The database's, which the statements read themselves, so every application server
    /// agrees on it. The statements take TTLs in milliseconds.
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    Database,
    /// This process's. The statements take expiry times (Unix milliseconds) and, as their
    /// last parameter, the time now.
    #[cfg(feature = "sqlite")]
    Process,
}

impl Clock {
    /// The time now, if the statements take it as a parameter.
    pub(super) fn now(self) -> Option<i64> {
        match self {
            #[cfg(any(feature = "postgres", feature = "mysql"))]
            Self::Database => None,
            #[cfg(feature = "sqlite")]
            Self::Process => Some(now_millis()),
        }
    }
}

/// This process's clock in Unix milliseconds.
#[cfg(feature = "sqlite")]
fn now_millis() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// The expiry parameter for `ttl`: the TTL in milliseconds, or with the time `now` (on
/// [`Clock::Process`]), the expiry time.
pub(super) fn expiry(now: Option<i64>, ttl: Duration) -> i64 {
    let ttl = ttl_millis(ttl);
    now.map_or(ttl, |now| now.saturating_add(ttl))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_are_clamped() {
        assert_eq!(ttl_millis(Duration::seconds(-5)), 0);
        assert_eq!(ttl_millis(Duration::milliseconds(1500)), 1500);
        assert_eq!(ttl_millis(Duration::MAX), MAX_TTL_MS);
    }
}
