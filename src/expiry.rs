//! Expiry policies beyond webapp2's idle `session_max_age`: an absolute lifetime counted from the
//! session's creation, and an opt-in rolling refresh on reads. Both are enforced by the server.
//!
//! Times are Unix seconds; every computation saturates, so no lifetime, TTL or timestamp a
//! config or a record can hold makes it overflow.

use time::Duration;

/// The reserved key that carries a session's creation time (Unix seconds) in its cookie or
/// record, when an absolute lifetime is configured. It never shows among the session's keys,
/// and handlers cannot write it.
pub const CREATED_KEY: &str = "_created";

/// Whether `key` is one the crate keeps in sessions for itself, which handlers cannot write.
pub(crate) fn is_reserved(key: &str) -> bool {
    key == CREATED_KEY
}

/// The expiry policies of a config: plain data, decided once at `build()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ExpiryPolicy {
    /// The absolute lifetime, counted from creation; never extended by activity.
    pub(crate) absolute_max_age: Option<Duration>,
    /// Reading a session last saved at least this long ago saves it again.
    pub(crate) rolling_refresh: Option<Duration>,
}

/// When a session was created, and whether its cookie or record says so already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Creation {
    /// Unix seconds, never after the moment the session was loaded.
    pub(crate) at: i64,
    /// The cookie or record holds `at` under [`CREATED_KEY`]. When false (a session saved
    /// before the lifetime was configured, or a time that had to be clamped), the next save
    /// writes it, so the lifetime stays anchored however often the cookie is signed again.
    pub(crate) stored: bool,
}

/// What the policies say of a session that just verified.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Past its absolute lifetime: treat it as no session.
    PastLifetime,
    /// Live; `creation` is known when an absolute lifetime is configured, and `refresh` says
    /// whether a rolling refresh is due.
    Live {
        creation: Option<Creation>,
        refresh: bool,
    },
}

impl ExpiryPolicy {
    /// Judges a verified session: `stored` is the creation time its cookie or record holds (if
    /// any), `saved_at` when it was last saved (its cookie's timestamp).
    pub(crate) fn judge(self, stored: Option<i64>, saved_at: i64, now: i64) -> Verdict {
        let creation = match self.absolute_max_age {
            Some(lifetime) => {
                // Without a stored time, the last save is the earliest the server can vouch for.
                let creation = match stored {
                    Some(at) if at <= now => Creation { at, stored: true },
                    // A time in the future (a clock that jumped): counted as now, and stored.
                    Some(_) => Creation {
                        at: now,
                        stored: false,
                    },
                    None => Creation {
                        at: saved_at.min(now),
                        stored: false,
                    },
                };
                if now.saturating_sub(creation.at) > lifetime.whole_seconds() {
                    return Verdict::PastLifetime;
                }
                Some(creation)
            }
            None => None,
        };
        let refresh = self
            .rolling_refresh
            .is_some_and(|interval| now.saturating_sub(saved_at) >= interval.whole_seconds());
        Verdict::Live { creation, refresh }
    }

    /// How long a server-side record saved now should live: `idle_ttl`, cut to what is left of
    /// its absolute lifetime (at least one second, so a save in the last instant still lands).
    pub(crate) fn record_ttl(
        self,
        idle_ttl: Duration,
        created_at: Option<i64>,
        now: i64,
    ) -> Duration {
        match (self.absolute_max_age, created_at) {
            (Some(lifetime), Some(created_at)) => {
                let ends_at = created_at.saturating_add(lifetime.whole_seconds());
                let left = Duration::seconds(ends_at.saturating_sub(now));
                idle_ttl.min(left).max(Duration::SECOND)
            }
            _ => idle_ttl,
        }
    }

    /// The creation to record for a session being saved: kept when known, else now (a new
    /// session), and only when an absolute lifetime is configured.
    pub(crate) fn creation_to_save(self, known: Option<Creation>, now: i64) -> Option<Creation> {
        self.absolute_max_age.map(|_| {
            known.unwrap_or(Creation {
                at: now,
                stored: false,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn lifetime(seconds: i64) -> ExpiryPolicy {
        ExpiryPolicy {
            absolute_max_age: Some(Duration::seconds(seconds)),
            rolling_refresh: None,
        }
    }

    #[test]
    fn the_lifetime_counts_from_the_stored_creation_or_else_the_last_save() {
        let policy = lifetime(3600);
        assert_eq!(
            policy.judge(Some(NOW - 3600), NOW, NOW),
            Verdict::Live {
                creation: Some(Creation {
                    at: NOW - 3600,
                    stored: true
                }),
                refresh: false
            }
        );
        assert_eq!(
            policy.judge(Some(NOW - 3601), NOW, NOW),
            Verdict::PastLifetime
        );
        assert_eq!(
            policy.judge(None, NOW - 60, NOW),
            Verdict::Live {
                creation: Some(Creation {
                    at: NOW - 60,
                    stored: false
                }),
                refresh: false
            }
        );
    }

    #[test]
    fn a_future_creation_is_clamped_to_now_and_stored_again() {
        let Verdict::Live { creation, .. } = lifetime(60).judge(Some(NOW + 86_400), NOW, NOW)
        else {
            panic!("live");
        };
        assert_eq!(
            creation,
            Some(Creation {
                at: NOW,
                stored: false
            })
        );
    }

    #[test]
    fn extreme_values_saturate() {
        let longest = ExpiryPolicy {
            absolute_max_age: Some(Duration::MAX),
            rolling_refresh: Some(Duration::MAX),
        };
        // The widest gap saturates at the longest lifetime, which it does not exceed.
        assert!(matches!(
            longest.judge(Some(i64::MIN), i64::MIN, i64::MAX),
            Verdict::Live { .. }
        ));
        assert_eq!(
            lifetime(1).judge(Some(i64::MIN), NOW, i64::MAX),
            Verdict::PastLifetime
        );
        assert!(matches!(
            longest.judge(Some(0), NOW, NOW),
            Verdict::Live { refresh: false, .. }
        ));
        assert_eq!(
            longest.record_ttl(Duration::MAX, Some(NOW), NOW),
            Duration::MAX.min(Duration::seconds(i64::MAX - NOW))
        );
        assert_eq!(
            lifetime(10).record_ttl(Duration::MAX, Some(i64::MIN), i64::MAX),
            Duration::SECOND
        );
    }

    #[test]
    fn the_record_ttl_is_cut_to_the_lifetime_left() {
        let policy = lifetime(100);
        assert_eq!(
            policy.record_ttl(Duration::days(14), Some(NOW - 40), NOW),
            Duration::seconds(60)
        );
        assert_eq!(
            policy.record_ttl(Duration::seconds(30), Some(NOW - 40), NOW),
            Duration::seconds(30)
        );
        assert_eq!(
            ExpiryPolicy::default().record_ttl(Duration::days(14), Some(NOW), NOW),
            Duration::days(14)
        );
    }
}
