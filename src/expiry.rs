//! When sessions end: [`Expiry`], the lifetime one session may choose for itself ("remember
//! me"), and the config's policies beyond webapp2's idle `session_max_age`: an absolute lifetime
//! counted from the session's creation, and an opt-in rolling refresh on reads. All of them are
//! enforced by the server.
//!
//! Times are Unix seconds; every computation saturates, so no lifetime, TTL or timestamp a
//! config or a record can hold makes it overflow.

use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

/// The lifetime one session chooses for itself, with
/// [`Session::set_expiry`](crate::Session::set_expiry): the cookie's `Max-Age` and the server
/// record's TTL follow it, the server enforces it whatever the browser does, and it is stored in
/// the session, so it holds on later requests too.
///
/// ```
/// use axum_session_store::session::Expiry;
/// use time::{Duration, OffsetDateTime};
///
/// let remember_me = Expiry::OnInactivity(Duration::days(30));
/// let until_closed = Expiry::OnBrowserClose;
/// let until_midnight = Expiry::AtDateTime(OffsetDateTime::UNIX_EPOCH + Duration::days(20_000));
/// assert_ne!(remember_me, until_closed);
/// # let _ = until_midnight;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expiry {
    /// A browser-session cookie (no `Max-Age`): it goes when the browser closes. The server
    /// keeps the config's idle limit (`session_max_age`) and record TTL.
    OnBrowserClose,
    /// An idle lifetime: the session ends this long after its last save, in place of the
    /// config's `session_max_age`; the cookie's `Max-Age` and the record's TTL are this long.
    OnInactivity(Duration),
    /// A fixed end: the session ends at this instant, however active it is.
    AtDateTime(OffsetDateTime),
}

impl Expiry {
    /// The stored form, under the reserved key `_expiry`.
    pub(crate) fn to_value(self) -> Value {
        match self {
            Expiry::OnBrowserClose => json!({"browser": true}),
            Expiry::OnInactivity(idle) => json!({"idle": idle.whole_seconds()}),
            Expiry::AtDateTime(at) => json!({"at": at.unix_timestamp()}),
        }
    }

    /// Reads the stored form; `None` for anything else (the session then has no lifetime of
    /// its own).
    pub(crate) fn from_value(value: &Value) -> Option<Self> {
        let object = value.as_object()?;
        if let Some(seconds) = object.get("idle").and_then(Value::as_i64) {
            return Some(Expiry::OnInactivity(Duration::seconds(seconds)));
        }
        if let Some(at) = object.get("at").and_then(Value::as_i64) {
            return OffsetDateTime::from_unix_timestamp(at)
                .ok()
                .map(Expiry::AtDateTime);
        }
        object
            .get("browser")
            .and_then(Value::as_bool)
            .filter(|&browser| browser)
            .map(|_| Expiry::OnBrowserClose)
    }
}

/// How long one session may live, as its settings and its own [`Expiry`] say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Idle: the session ends this long after its last save.
    pub(crate) idle: Option<Duration>,
    /// A fixed end (Unix seconds).
    pub(crate) ends_at: Option<i64>,
}

impl Limits {
    /// The limits of a session with `expiry` (if it chose one), whose settings give
    /// `configured_idle` (the max age: `session_max_age`, else the cookie's).
    pub(crate) fn of(expiry: Option<Expiry>, configured_idle: Option<Duration>) -> Self {
        match expiry {
            Some(Expiry::OnInactivity(idle)) => Self {
                idle: Some(idle),
                ends_at: None,
            },
            Some(Expiry::AtDateTime(at)) => Self {
                idle: None,
                ends_at: Some(at.unix_timestamp()),
            },
            Some(Expiry::OnBrowserClose) | None => Self {
                idle: configured_idle,
                ends_at: None,
            },
        }
    }
}

/// Without a configured `rolling_refresh`, a read saves a session again once this fraction of
/// its idle lifetime has passed since its last save (a tenth: the idle expiry is then exact to
/// within 10 %, for at most one write per session per tenth of its lifetime).
pub(crate) const REFRESH_FRACTION: i32 = 10;

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
    /// The cookie or record holds `at` under `_created`. When false (a session saved before
    /// the lifetime was configured, or a time that had to be clamped), the next save writes it,
    /// so the lifetime stays anchored however often the cookie is signed again.
    pub(crate) stored: bool,
}

/// What the policies say of a session that just verified.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Past one of its limits (its absolute lifetime, its idle limit, its fixed end): treat it
    /// as no session.
    Ended(&'static str),
    /// Live; `creation` is known when an absolute lifetime is configured, and `refresh` says
    /// whether a rolling refresh is due.
    Live {
        creation: Option<Creation>,
        refresh: bool,
    },
}

impl ExpiryPolicy {
    /// Judges a verified session: `stored` is the creation time its cookie or record holds (if
    /// any), `saved_at` when it was last saved (its cookie's timestamp), `limits` its own.
    pub(crate) fn judge(
        self,
        stored: Option<i64>,
        saved_at: i64,
        now: i64,
        limits: Limits,
    ) -> Verdict {
        if limits
            .idle
            .is_some_and(|idle| now.saturating_sub(saved_at) > idle.whole_seconds())
        {
            return Verdict::Ended("idle for longer than its max age");
        }
        if limits.ends_at.is_some_and(|ends_at| now > ends_at) {
            return Verdict::Ended("past the end it was given");
        }
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
                    return Verdict::Ended("past its absolute lifetime");
                }
                Some(creation)
            }
            None => None,
        };
        // Idle expiry moves on reads too: once per configured interval, else once a tenth of
        // the idle lifetime has passed since the last save.
        let refresh = self
            .rolling_refresh
            .or(limits.idle.map(|idle| idle / REFRESH_FRACTION))
            .is_some_and(|interval| now.saturating_sub(saved_at) >= interval.whole_seconds());
        Verdict::Live { creation, refresh }
    }

    /// How long a server-side record saved now should live: `ttl`, cut to what is left of its
    /// absolute lifetime (at least one second, so a save in the last instant still lands).
    pub(crate) fn record_ttl(self, ttl: Duration, created_at: Option<i64>, now: i64) -> Duration {
        match (self.absolute_max_age, created_at) {
            (Some(lifetime), Some(created_at)) => {
                let ends_at = created_at.saturating_add(lifetime.whole_seconds());
                let left = Duration::seconds(ends_at.saturating_sub(now));
                ttl.min(left).max(Duration::SECOND)
            }
            _ => ttl,
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

/// How long the record of a session with `expiry` lives after a save at `now`, when its
/// settings say `configured`: its idle lifetime, or what is left until its fixed end (at least
/// one second).
pub(crate) fn record_ttl_of(expiry: Option<Expiry>, configured: Duration, now: i64) -> Duration {
    match expiry {
        Some(Expiry::OnInactivity(idle)) => idle,
        Some(Expiry::AtDateTime(at)) => {
            Duration::seconds(at.unix_timestamp().saturating_sub(now)).max(Duration::SECOND)
        }
        Some(Expiry::OnBrowserClose) | None => configured,
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

    const NO_LIMITS: Limits = Limits {
        idle: None,
        ends_at: None,
    };

    #[test]
    fn the_lifetime_counts_from_the_stored_creation_or_else_the_last_save() {
        let policy = lifetime(3600);
        assert_eq!(
            policy.judge(Some(NOW - 3600), NOW, NOW, NO_LIMITS),
            Verdict::Live {
                creation: Some(Creation {
                    at: NOW - 3600,
                    stored: true
                }),
                refresh: false
            }
        );
        assert!(matches!(
            policy.judge(Some(NOW - 3601), NOW, NOW, NO_LIMITS),
            Verdict::Ended(_)
        ));
        assert_eq!(
            policy.judge(None, NOW - 60, NOW, NO_LIMITS),
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
        let Verdict::Live { creation, .. } =
            lifetime(60).judge(Some(NOW + 86_400), NOW, NOW, NO_LIMITS)
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
    fn idle_limits_and_fixed_ends() {
        let policy = ExpiryPolicy::default();
        let idle = Limits::of(None, Some(Duration::seconds(10)));
        assert!(matches!(
            policy.judge(None, NOW - 10, NOW, idle),
            Verdict::Live { .. }
        ));
        assert!(matches!(
            policy.judge(None, NOW - 11, NOW, idle),
            Verdict::Ended(_)
        ));
        // A session of its own lifetime replaces the configured one, longer or shorter.
        let remember = Limits::of(
            Some(Expiry::OnInactivity(Duration::days(30))),
            Some(Duration::seconds(10)),
        );
        assert!(matches!(
            policy.judge(None, NOW - 86_400, NOW, remember),
            Verdict::Live { .. }
        ));
        let until = Limits::of(
            Some(Expiry::AtDateTime(
                OffsetDateTime::from_unix_timestamp(NOW).unwrap_or(OffsetDateTime::UNIX_EPOCH),
            )),
            Some(Duration::seconds(10)),
        );
        assert!(matches!(
            policy.judge(None, NOW - 86_400, NOW, until),
            Verdict::Live { .. }
        ));
        assert!(matches!(
            policy.judge(None, NOW, NOW + 1, until),
            Verdict::Ended(_)
        ));
        let browser = Limits::of(Some(Expiry::OnBrowserClose), Some(Duration::seconds(10)));
        assert_eq!(
            browser, idle,
            "a browser-session cookie keeps the configured limit"
        );
    }

    #[test]
    fn expiries_round_trip_their_stored_form() {
        for expiry in [
            Expiry::OnBrowserClose,
            Expiry::OnInactivity(Duration::days(30)),
            Expiry::AtDateTime(
                OffsetDateTime::from_unix_timestamp(NOW).unwrap_or(OffsetDateTime::UNIX_EPOCH),
            ),
        ] {
            assert_eq!(Expiry::from_value(&expiry.to_value()), Some(expiry));
        }
        assert_eq!(Expiry::from_value(&json!("forever")), None);
    }

    #[test]
    fn extreme_values_saturate() {
        let longest = ExpiryPolicy {
            absolute_max_age: Some(Duration::MAX),
            rolling_refresh: Some(Duration::MAX),
        };
        // The widest gap saturates at the longest lifetime, which it does not exceed.
        assert!(matches!(
            longest.judge(Some(i64::MIN), i64::MIN, i64::MAX, NO_LIMITS),
            Verdict::Live { .. }
        ));
        assert!(matches!(
            lifetime(1).judge(Some(i64::MIN), NOW, i64::MAX, NO_LIMITS),
            Verdict::Ended(_)
        ));
        assert!(matches!(
            longest.judge(Some(0), NOW, NOW, NO_LIMITS),
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
        let idle_forever = Limits::of(Some(Expiry::OnInactivity(Duration::MAX)), None);
        assert!(matches!(
            ExpiryPolicy::default().judge(None, i64::MIN, i64::MAX, idle_forever),
            Verdict::Live { .. }
        ));
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
        assert_eq!(
            record_ttl_of(
                Some(Expiry::OnInactivity(Duration::days(30))),
                Duration::days(14),
                NOW
            ),
            Duration::days(30)
        );
    }
}
