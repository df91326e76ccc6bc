//! A session's settings, resolved once: [`SessionSettings`] (what its cookie attributes, max ages
//! and record TTL are, computed at `build()`) and [`SessionProfile`] (the settings with the
//! session's name and backend, resolved once per request). The load and save paths read the
//! profile and never go back to the config.

use std::sync::Arc;

use time::Duration;

use crate::config::keeper::Keeper;
use crate::cookie::args::CookieAttributes;
use crate::cookie::legacy::LegacyReader;
use crate::expiry::ExpiryPolicy;

/// The settings of the sessions that share cookie attributes: every session without attributes
/// of its own shares one, each session with its own has one.
#[derive(Clone, Debug)]
pub(crate) struct SessionSettings {
    /// The cookie's attributes, with their `Set-Cookie` text.
    pub(crate) attributes: CookieAttributes,
    /// What a signed value is checked against: the session max age, else the cookie's own max
    /// age (a browser would have dropped it by then).
    pub(crate) max_age: Option<Duration>,
    /// How long a server-side record lives after its last save.
    pub(crate) record_ttl: Duration,
    /// The idle limit the server enforces on every session that chose no lifetime of its own:
    /// the max age, else the server-session TTL, so that no signed cookie is valid forever.
    pub(crate) idle_limit: Duration,
    /// The absolute lifetime and rolling refresh.
    pub(crate) expiry: ExpiryPolicy,
    /// Whether a save that keeps a server-side session's id still signs its cookie again: a max
    /// age makes the cookie slide, and a rolling refresh counts from the last save.
    pub(crate) resend_unchanged_id: bool,
    /// How much one session may hold.
    pub(crate) limits: SizeLimits,
}

/// How much one session may hold, so that no client makes a record grow without end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SizeLimits {
    /// Flash messages waiting to be shown; adding one more drops the oldest.
    pub(crate) max_flashes: usize,
    /// Bytes of a server-side record, as JSON; a save past it fails.
    pub(crate) max_record_bytes: usize,
}

/// How many flash messages a session keeps waiting to be shown, unless
/// [`SessionConfigBuilder::max_flashes`](crate::SessionConfigBuilder::max_flashes) says
/// otherwise: adding one more drops the oldest.
pub(crate) const DEFAULT_MAX_FLASHES: usize = 32;

/// The most bytes a server-side record may hold as JSON, unless
/// [`SessionConfigBuilder::max_record_bytes`](crate::SessionConfigBuilder::max_record_bytes)
/// says otherwise: 256 KiB.
pub(crate) const DEFAULT_MAX_RECORD_BYTES: usize = 256 * 1024;

impl Default for SizeLimits {
    fn default() -> Self {
        Self {
            max_flashes: DEFAULT_MAX_FLASHES,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
        }
    }
}

impl SessionSettings {
    /// The settings for cookies with `attributes`, given the config's `session_max_age`,
    /// `server_session_ttl` and expiry policy.
    pub(crate) fn new(
        attributes: CookieAttributes,
        session_max_age: Option<Duration>,
        server_session_ttl: Duration,
        expiry: ExpiryPolicy,
        limits: SizeLimits,
    ) -> Self {
        let max_age = session_max_age.or(attributes.args().max_age);
        Self {
            max_age,
            record_ttl: max_age.unwrap_or(server_session_ttl),
            idle_limit: max_age.unwrap_or(server_session_ttl),
            resend_unchanged_id: max_age.is_some() || expiry.rolling_refresh.is_some(),
            expiry,
            attributes,
            limits,
        }
    }
}

/// One session of a request, resolved against the config: its name, its backend and its
/// settings.
#[derive(Debug)]
pub(crate) struct SessionProfile {
    /// The session's name, which is its cookie's name.
    name: String,
    /// What logs and errors call its backend.
    backend_name: Arc<str>,
    keeper: Keeper,
    settings: Arc<SessionSettings>,
    /// The other frameworks' cookies it may be read from.
    legacy: Option<Arc<[LegacyReader]>>,
}

impl SessionProfile {
    pub(crate) fn new(
        name: &str,
        backend_name: Arc<str>,
        keeper: Keeper,
        settings: Arc<SessionSettings>,
        legacy: Option<Arc<[LegacyReader]>>,
    ) -> Self {
        Self {
            name: name.to_owned(),
            backend_name,
            keeper,
            settings,
            legacy,
        }
    }

    /// The other frameworks' cookies the session may be read from, in the order given.
    pub(crate) fn legacy_readers(&self) -> &[LegacyReader] {
        self.legacy.as_deref().unwrap_or_default()
    }

    /// The session's name, which is its cookie's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The name of the backend that keeps it.
    pub(crate) fn backend_name(&self) -> &str {
        &self.backend_name
    }

    /// What logs, errors and metrics call its backend, shared.
    pub(crate) fn backend_label(&self) -> &Arc<str> {
        &self.backend_name
    }

    /// The profile with `max_age` in place of the configured max age, for this request only
    /// (webapp2's per-call `get_session(name, max_age)`): the record lives that long too.
    pub(crate) fn with_max_age(self, max_age: Duration) -> Self {
        let mut settings = SessionSettings::clone(&self.settings);
        settings.max_age = Some(max_age);
        settings.record_ttl = max_age;
        settings.idle_limit = max_age;
        settings.resend_unchanged_id = true;
        Self {
            settings: Arc::new(settings),
            ..self
        }
    }

    pub(crate) fn keeper(&self) -> &Keeper {
        &self.keeper
    }

    pub(crate) fn settings(&self) -> &SessionSettings {
        &self.settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cookie::args::CookieArgs;

    fn settings(
        session_max_age: Option<Duration>,
        cookie_max_age: Option<Duration>,
    ) -> SessionSettings {
        let args = CookieArgs {
            max_age: cookie_max_age,
            ..CookieArgs::default()
        };
        SessionSettings::new(
            CookieAttributes::new(args),
            session_max_age,
            Duration::days(14),
            ExpiryPolicy::default(),
            SizeLimits::default(),
        )
    }

    #[test]
    fn max_ages_and_ttls_follow_webapp2_then_the_cookie() {
        let none = settings(None, None);
        assert_eq!((none.max_age, none.record_ttl), (None, Duration::days(14)));
        assert!(!none.resend_unchanged_id);
        let cookie = settings(None, Some(Duration::hours(1)));
        assert_eq!(cookie.max_age, Some(Duration::hours(1)));
        assert_eq!(cookie.record_ttl, Duration::hours(1));
        assert!(cookie.resend_unchanged_id);
        let session = settings(Some(Duration::minutes(5)), Some(Duration::hours(1)));
        assert_eq!(session.max_age, Some(Duration::minutes(5)));
    }
}
