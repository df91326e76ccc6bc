//! Expiry policies beyond webapp2's idle `session_max_age`: an absolute lifetime counted from the
//! session's creation, and an opt-in rolling refresh on reads. Both are enforced by the server.

use serde_json::{Map, Value};
use time::Duration;

use crate::config::SessionConfig;

/// The reserved key that carries a session's creation time (Unix seconds) in its cookie or
/// record, when an absolute lifetime is configured. It never shows among the session's keys.
pub const CREATED_KEY: &str = "_created";

/// What the policies say of a session that just verified.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Past its absolute lifetime: treat it as no session.
    PastLifetime,
    /// Live; `created_at` is known when an absolute lifetime is configured, and `refresh` says
    /// whether a rolling refresh is due.
    Live {
        created_at: Option<i64>,
        refresh: bool,
    },
}

/// Applies the policies to a verified session: takes the creation time out of `values`, and
/// decides. `saved_at` is when the session was last saved (its cookie's timestamp).
pub(crate) fn judge(
    config: &SessionConfig,
    values: &mut Map<String, Value>,
    saved_at: i64,
    now: i64,
) -> Verdict {
    let created_at = match config.absolute_max_age() {
        Some(lifetime) => {
            // A session saved before the policy was enabled counts from its last save.
            let created_at = values
                .remove(CREATED_KEY)
                .and_then(|created| created.as_i64())
                .unwrap_or(saved_at);
            if now.saturating_sub(created_at) > lifetime.whole_seconds() {
                return Verdict::PastLifetime;
            }
            Some(created_at)
        }
        None => None,
    };
    let refresh = config
        .rolling_refresh()
        .is_some_and(|interval| now.saturating_sub(saved_at) >= interval.whole_seconds());
    Verdict::Live {
        created_at,
        refresh,
    }
}

/// How long a server-side record saved now should live: its idle TTL, cut to what is left of
/// its absolute lifetime (at least one second, so a save in the last instant still lands).
pub(crate) fn record_ttl(
    config: &SessionConfig,
    name: &str,
    created_at: Option<i64>,
    now: i64,
) -> Duration {
    let ttl = config.record_ttl_for(name);
    match (config.absolute_max_age(), created_at) {
        (Some(lifetime), Some(created_at)) => {
            let left = Duration::seconds(created_at + lifetime.whole_seconds() - now);
            ttl.min(left).max(Duration::SECOND)
        }
        _ => ttl,
    }
}

/// The creation time to record for a session being saved: kept when known, else now, and only
/// when an absolute lifetime is configured.
pub(crate) fn creation_time(
    config: &SessionConfig,
    created_at: Option<i64>,
    now: i64,
) -> Option<i64> {
    config.absolute_max_age().map(|_| created_at.unwrap_or(now))
}
