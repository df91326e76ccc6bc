//! [`SessionConfigBuilder`]: every setting of a [`SessionConfig`], checked once by
//! [`build`](SessionConfigBuilder::build), which also derives the keys and resolves the settings
//! of each session name it knows.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use time::Duration;

use crate::backend::Storage;
use crate::config::built::{
    SessionConfig, Settings, DEFAULT_MAX_SESSIONS_PER_REQUEST, DEFAULT_SERVER_SESSION_TTL,
};
use crate::config::keeper::{Codecs, Keeper};
use crate::config::profile::{
    SessionSettings, SizeLimits, DEFAULT_MAX_FLASHES, DEFAULT_MAX_RECORD_BYTES,
};
use crate::config_error::ConfigError;
use crate::cookie::args::{CookieArgs, CookieAttributes};
use crate::cookie::legacy::{LegacyCookie, LegacyReader};
use crate::cookie::request::DEFAULT_MAX_COOKIE_PAIRS;
use crate::event::SessionEvents;
use crate::event_sink::{EventSink, DEFAULT_EVENT_BUFFER};
use crate::expiry::ExpiryPolicy;
use crate::handle::HandleKey;
use crate::key::{distinct_bytes, MIN_DISTINCT_SECRET_BYTES, MIN_SECRET_LEN};
use crate::metadata::{Metadata, MetadataRecorder};
use crate::name::{self, SessionName, DEFAULT_COOKIE_NAME};
use crate::rejection_log::RejectionLog;

impl SessionConfig {
    /// Starts a config; only [`secret_key`](SessionConfigBuilder::secret_key) is required.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).build()?;
    /// assert_eq!(config.cookie_name(), "session");
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    pub fn builder() -> SessionConfigBuilder {
        SessionConfigBuilder::default()
    }
}

/// Builds a [`SessionConfig`]; [`build`](Self::build) checks every setting.
///
/// ```
/// use axum_session_store::{ConfigError, SessionConfig};
/// use axum_session_store::cookie::CookieArgs;
/// use time::Duration;
///
/// # std::env::set_var("SESSION_SECRET", "an example secret, at least 32 bytes long");
/// let config = SessionConfig::builder()
///     .secret_key(std::env::var("SESSION_SECRET")?) // no default: a missing secret stops the app
///     .fallback_keys(["a former secret, still accepted!!"])
///     .cookie_name("__Host-session")
///     .session_max_age(Duration::days(14))
///     .cookie_args(CookieArgs::default().max_age(Duration::days(14)))
///     .build()?;
/// assert_eq!(config.cookie_name(), "__Host-session");
///
/// // Mistakes fail here, not on the first request.
/// let err = SessionConfig::builder().secret_key("too short").build().unwrap_err();
/// assert_eq!(err, ConfigError::SecretKeyTooShort { len: 9 });
/// let err = SessionConfig::builder().secret_key("x".repeat(32)).build().unwrap_err();
/// assert_eq!(err, ConfigError::SecretKeyTooSimple { distinct: 1 });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Default)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct SessionConfigBuilder {
    secret_key: Option<Vec<u8>>,
    fallback_keys: Vec<Vec<u8>>,
    cookie_name: Option<String>,
    session_max_age: Option<Duration>,
    cookie_args: CookieArgs,
    cookie_args_by_session: HashMap<String, CookieArgs>,
    default_storage: Vec<Storage>,
    storage_by_session: Vec<(&'static str, Storage)>,
    /// By session name; `None` is the default session, whatever `cookie_name` says.
    legacy_cookies: Vec<(Option<&'static str>, LegacyCookie)>,
    server_session_ttl: Option<Duration>,
    absolute_max_age: Option<Duration>,
    rolling_refresh: Option<Duration>,
    max_cookie_pairs: Option<usize>,
    max_sessions_per_request: Option<usize>,
    max_flashes: Option<usize>,
    max_record_bytes: Option<usize>,
    metadata: Option<Metadata>,
    events: Option<EventSink>,
    event_buffer: Option<usize>,
}

impl SessionConfigBuilder {
    /// The secret that signs cookies: at least 32 random bytes, kept out of the source code.
    /// Required.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    ///
    /// // From the environment or a secret store; at least 32 bytes.
    /// # std::env::set_var("SESSION_SECRET", "an example secret, at least 32 bytes long");
    /// let config = SessionConfig::builder()
    ///     .secret_key(std::env::var("SESSION_SECRET")?)
    ///     .build()?;
    /// assert!(SessionConfig::builder().secret_key("short").build().is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn secret_key(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.secret_key = Some(secret.as_ref().to_vec());
        self
    }

    /// Former secrets that still verify cookies, for key rotation. A cookie verified by one of
    /// them is signed again with `secret_key` when its response is written; a record
    /// [sealed at rest](crate::backend::Storage::sealed) opened by one is sealed again then
    /// too. The README's "Rotating keys" gives the steps.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    ///
    /// # let (new_secret, old_secret) = ("the new secret, at least 32 bytes long", "the old secret, at least 32 bytes long");
    /// // Rotating: sign with the new secret, still accept cookies signed with the old one.
    /// let config = SessionConfig::builder()
    ///     .secret_key(new_secret)
    ///     .fallback_keys([old_secret])
    ///     .build()?;
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    pub fn fallback_keys<K: AsRef<[u8]>>(mut self, keys: impl IntoIterator<Item = K>) -> Self {
        self.fallback_keys = keys.into_iter().map(|k| k.as_ref().to_vec()).collect();
        self
    }

    /// The cookie name of the default session. Default `"session"`.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).cookie_name("__Host-sid").build()?;
    /// assert_eq!(config.cookie_name(), "__Host-sid");
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = Some(name.into());
        self
    }

    /// How long a session stays valid after it was last saved, enforced by the server from the
    /// signed timestamp whatever the browser does. Default: no limit beyond the cookie's own
    /// `max_age`.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).session_max_age(time::Duration::days(14)).build()?;
    /// assert_eq!(config.session_max_age(), Some(time::Duration::days(14)));
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    pub fn session_max_age(mut self, max_age: Duration) -> Self {
        self.session_max_age = Some(max_age);
        self
    }

    /// The default cookie attributes of every session.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    /// use axum_session_store::cookie::{CookieArgs, SameSite};
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder()
    ///     .secret_key(secret)
    ///     .cookie_args(CookieArgs::default().same_site(SameSite::Strict))
    ///     .build()?;
    /// assert_eq!(config.cookie_args().same_site, SameSite::Strict);
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    pub fn cookie_args(mut self, args: CookieArgs) -> Self {
        self.cookie_args = args;
        self
    }

    /// Cookie attributes for the session `name` alone, in place of the defaults.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    /// use axum_session_store::cookie::CookieArgs;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// // A session the page's JavaScript may read; the others stay HttpOnly.
    /// let config = SessionConfig::builder()
    ///     .secret_key(secret)
    ///     .session_cookie_args("ui", CookieArgs::default().http_only(false))
    ///     .build()?;
    /// assert!(!config.cookie_args_for("ui").http_only);
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    pub fn session_cookie_args(mut self, name: impl Into<String>, args: CookieArgs) -> Self {
        self.cookie_args_by_session.insert(name.into(), args);
        self
    }

    /// Where the default session (`Session` without a name) keeps its data: a signed cookie
    /// unless set. Given twice (here or through
    /// [`session_backend::<DefaultSession>`](Self::session_backend)), it fails
    /// [`build`](Self::build). A built-in backend converts into a [`Storage`] as it is; see
    /// [`Storage`] for cookies and backends of your own.
    ///
    /// ```
    /// use axum_session_store::backend::MemoryBackend;
    /// use axum_session_store::SessionConfig;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let sessions = MemoryBackend::new(); // clones share the records
    /// let config = SessionConfig::builder()
    ///     .secret_key(secret)
    ///     .default_backend(sessions.clone())
    ///     .build()?;
    /// assert!(sessions.is_empty());
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    #[doc(alias = "backends")]
    pub fn default_backend(mut self, storage: impl Into<Storage>) -> Self {
        self.default_storage.push(storage.into());
        self
    }

    /// Where the session `N` keeps its data: a signed cookie unless set (webapp2's
    /// `get_session(name, backend=...)`, decided once). For [`DefaultSession`](crate::DefaultSession), the same as
    /// [`default_backend`](Self::default_backend).
    ///
    /// The choice is a value: no session can name a backend that was never given. Two
    /// sessions of one name fail [`build`](Self::build).
    ///
    /// ```
    /// use axum_session_store::backend::{MemoryBackend, Storage};
    /// use axum_session_store::{ConfigError, SessionConfig, SessionName};
    ///
    /// struct Cart;
    /// impl SessionName for Cart {
    ///     const NAME: &'static str = "cart";
    /// }
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder()
    ///     .secret_key(secret)
    ///     .session_backend::<Cart>(MemoryBackend::new())
    ///     .build()?;
    ///
    /// let twice = SessionConfig::builder()
    ///     .secret_key(secret)
    ///     .session_backend::<Cart>(MemoryBackend::new())
    ///     .session_backend::<Cart>(Storage::private_cookie())
    ///     .build();
    /// assert!(matches!(twice, Err(ConfigError::DuplicateSession { .. })));
    /// # Ok::<(), ConfigError>(())
    /// ```
    ///
    /// A backend named by a string, as before 0.1, is a compile error, not a 500 on the first
    /// request that uses it:
    ///
    /// ```compile_fail
    /// # use axum_session_store::{SessionConfig, SessionName};
    /// # struct Cart;
    /// # impl SessionName for Cart { const NAME: &'static str = "cart"; }
    /// let config = SessionConfig::builder().session_backend::<Cart>("reddis");
    /// ```
    pub fn session_backend<N: SessionName>(mut self, storage: impl Into<Storage>) -> Self {
        if name::is_default::<N>() {
            return self.default_backend(storage);
        }
        self.storage_by_session.push((N::NAME, storage.into()));
        self
    }

    /// Reads session `N` from another framework's cookie when a request brings no valid cookie
    /// of this crate's own, so that users of the app this one replaces stay signed in: see
    /// [`LegacyCookie`] for the formats and what their values become. Called more than once for
    /// the same session, the cookies are tried in the order given.
    ///
    /// The response carries the session in this crate's format, whatever the session's
    /// backend (a server-side one gets a new record); an old cookie of another name is removed,
    /// with the session's own `Path` and `Domain`. `build()` fails with
    /// [`ConfigError::InvalidSetting`] for an empty secret or a webapp2 cookie that would be
    /// read forever, and with [`ConfigError::InvalidCookieName`] for a name no cookie can have.
    ///
    /// ```
    /// use axum_session_store::cookie::LegacyCookie;
    /// use axum_session_store::{ConfigError, DefaultSession, SessionConfig};
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder()
    ///     .secret_key(secret)
    ///     .legacy_cookie::<DefaultSession>(
    ///         LegacyCookie::django("the old SECRET_KEY").fallback_secrets(["an older one"]),
    ///     )
    ///     .build()?;
    ///
    /// let forever = SessionConfig::builder()
    ///     .secret_key(secret)
    ///     .legacy_cookie::<DefaultSession>(LegacyCookie::webapp2("the old secret"))
    ///     .build();
    /// assert!(matches!(forever, Err(ConfigError::InvalidSetting { .. })));
    /// # Ok::<(), ConfigError>(())
    /// ```
    pub fn legacy_cookie<N: SessionName>(mut self, cookie: LegacyCookie) -> Self {
        let name = (!name::is_default::<N>()).then_some(N::NAME);
        self.legacy_cookies.push((name, cookie));
        self
    }

    /// How long a session lives after its last save when neither `session_max_age` nor
    /// `cookie_args.max_age` is set: a server-side record's TTL, and the age past which the
    /// server refuses a cookie session's signed timestamp (webapp2 would accept it forever, so
    /// a copied cookie would never die). Default 14 days, as Django's `SESSION_COOKIE_AGE`.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).server_session_ttl(time::Duration::days(1)).build()?;
    /// assert_eq!(config.record_ttl_for("session"), time::Duration::days(1));
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    pub fn server_session_ttl(mut self, ttl: Duration) -> Self {
        self.server_session_ttl = Some(ttl);
        self
    }

    /// An absolute lifetime for every session, counted from its creation and never extended by
    /// activity: past it, the session reads as a new one, for cookie and server-side sessions
    /// alike. The creation time travels with the session under the reserved key `_created`.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    /// use time::Duration;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder()
    ///     .secret_key(secret)
    ///     .session_max_age(Duration::minutes(30)) // idle: 30 minutes without a save
    ///     .absolute_max_age(Duration::hours(12))  // and never more than 12 hours in all
    ///     .build()?;
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    pub fn absolute_max_age(mut self, lifetime: Duration) -> Self {
        self.absolute_max_age = Some(lifetime);
        self
    }

    /// How often reads move the idle expiry: a request that only reads a session whose last
    /// save is at least `interval` old saves it again, so the idle expiry (`session_max_age`,
    /// the record's TTL, the cookie's `max_age`) restarts. Reads become writes at most once per
    /// `interval`. Default: a tenth of the session's idle lifetime; `Duration::MAX` turns
    /// refreshing on reads off.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    /// use time::Duration;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder()
    ///     .secret_key(secret)
    ///     .session_max_age(Duration::minutes(30))
    ///     .rolling_refresh(Duration::minutes(5))
    ///     .build()?;
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    pub fn rolling_refresh(mut self, interval: Duration) -> Self {
        self.rolling_refresh = Some(interval);
        self
    }

    /// How many `;`-separated pairs of a request's `Cookie` headers are read (default
    /// [`DEFAULT_MAX_COOKIE_PAIRS`](crate::SessionConfig::DEFAULT_MAX_COOKIE_PAIRS), 512); later ones are ignored, so a forged header of
    /// thousands of cookies costs no more than this many. Browsers keep at most about 180
    /// cookies per domain; raise it only if your pages set more cookies than that.
    ///
    /// ```
    /// use axum_session_store::{ConfigError, SessionConfig};
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).max_cookie_pairs(64).build()?;
    /// assert_eq!(config.max_cookie_pairs(), 64);
    /// let zero = SessionConfig::builder().secret_key(secret).max_cookie_pairs(0).build();
    /// assert_eq!(zero.unwrap_err(), ConfigError::ZeroLimit { setting: "max_cookie_pairs" });
    /// # Ok::<(), ConfigError>(())
    /// ```
    pub fn max_cookie_pairs(mut self, pairs: usize) -> Self {
        self.max_cookie_pairs = Some(pairs);
        self
    }

    /// How many sessions one request may open (default
    /// [`DEFAULT_MAX_SESSIONS_PER_REQUEST`](crate::SessionConfig::DEFAULT_MAX_SESSIONS_PER_REQUEST), 8); beyond it, opening another is
    /// [`SessionError::TooManySessions`](crate::SessionError::TooManySessions). Every session a
    /// request opens may set a cookie: the limit keeps a handler that names sessions at run
    /// time from planting hundreds of them.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder()
    ///     .secret_key(secret)
    ///     .max_sessions_per_request(16)
    ///     .build()?;
    /// assert_eq!(config.max_sessions_per_request(), 16);
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    pub fn max_sessions_per_request(mut self, sessions: usize) -> Self {
        self.max_sessions_per_request = Some(sessions);
        self
    }

    /// How many flash messages a session keeps waiting to be shown (default
    /// [`DEFAULT_MAX_FLASHES`](crate::SessionConfig::DEFAULT_MAX_FLASHES), 32): adding one more drops the
    /// oldest. A form that flashes an error and redirects, replayed by a bot that never follows
    /// the redirect, would otherwise grow the session without end.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).max_flashes(8).build()?;
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    pub fn max_flashes(mut self, messages: usize) -> Self {
        self.max_flashes = Some(messages);
        self
    }

    /// The most bytes a server-side record may hold, as JSON (default
    /// [`DEFAULT_MAX_RECORD_BYTES`](crate::SessionConfig::DEFAULT_MAX_RECORD_BYTES), 256 KiB). A save that
    /// would make a record larger fails with
    /// [`SessionError::RecordTooLarge`](crate::SessionError::RecordTooLarge) and writes
    /// nothing: the record is never truncated. Cookie sessions have the browsers' 4096 bytes.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder()
    ///     .secret_key(secret)
    ///     .max_record_bytes(1024 * 1024)
    ///     .build()?;
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    pub fn max_record_bytes(mut self, bytes: usize) -> Self {
        self.max_record_bytes = Some(bytes);
        self
    }

    /// Turns on session metadata for server-side sessions: creation and last-seen times, the
    /// user agent and, if chosen, the client address, for a "where you're signed in" page
    /// ([`Session::user_sessions`](crate::Session::user_sessions)). Off by default, when it
    /// costs nothing.
    ///
    /// # Errors
    /// `build()` fails with [`ConfigError::InvalidSetting`] for a negative last-seen interval
    /// or a network prefix longer than the address.
    ///
    /// ```
    /// use axum_session_store::session::Metadata;
    /// use axum_session_store::{ConfigError, SessionConfig};
    /// use time::Duration;
    ///
    /// let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).metadata(Metadata::new()).build()?;
    /// let wrong = Metadata::new().last_seen_interval(Duration::seconds(-1));
    /// let err = SessionConfig::builder().secret_key(secret).metadata(wrong).build().unwrap_err();
    /// assert!(matches!(err, ConfigError::InvalidSetting { .. }));
    /// # Ok::<(), ConfigError>(())
    /// ```
    pub fn metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Sends sessions' lifecycle events (created, regenerated, tied to a user, invalidated,
    /// revoked, expired, cookie rejected, conflict) to `handler`, once each change is durable,
    /// through a bounded buffer a background task drains: a slow or failing handler never slows
    /// or fails a request (see [`SessionEvents`](crate::session::SessionEvents)). Off by
    /// default, when nothing is built or sent.
    ///
    /// ```
    /// use axum_session_store::session::{SessionEvent, SessionEvents};
    /// use axum_session_store::SessionConfig;
    ///
    /// #[derive(Debug)]
    /// struct Log;
    /// impl SessionEvents for Log {
    ///     async fn handle(&self, event: SessionEvent) {
    ///         tracing::info!(session = event.session, kind = event.kind.as_str(), "session event");
    ///     }
    /// }
    ///
    /// let config = SessionConfig::builder()
    ///     .secret_key("an example secret, at least 32 bytes long")
    ///     .events(Log)
    ///     .event_buffer(4096)
    ///     .build()?;
    /// assert_eq!(config.dropped_events(), 0);
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    pub fn events(mut self, handler: impl SessionEvents) -> Self {
        self.events = Some(EventSink::new(handler, DEFAULT_EVENT_BUFFER));
        self
    }

    /// How many events wait for the handler before more are dropped (and counted): 1024
    /// unless set. Zero fails `build()`.
    pub fn event_buffer(mut self, events: usize) -> Self {
        self.event_buffer = Some(events);
        self
    }

    /// Checks every setting and derives the signing keys.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first setting that is missing or wrong.
    ///
    /// ```
    /// use axum_session_store::{ConfigError, SessionConfig};
    ///
    /// let missing = SessionConfig::builder().build();
    /// assert!(matches!(missing, Err(ConfigError::MissingSecretKey)));
    /// ```
    pub fn build(mut self) -> Result<SessionConfig, ConfigError> {
        let secret = self
            .secret_key
            .as_deref()
            .ok_or(ConfigError::MissingSecretKey)?;
        check_secrets(secret, &self.fallback_keys)?;
        self.check_durations()?;
        self.check_limits()?;
        if let Some(Err((setting, problem))) = self.metadata.as_ref().map(Metadata::check) {
            return Err(ConfigError::InvalidSetting { setting, problem });
        }
        let cookie_name = self
            .cookie_name
            .clone()
            .unwrap_or_else(|| DEFAULT_COOKIE_NAME.to_owned());
        self.check_cookie_args(&cookie_name)?;
        let codecs = Codecs::derive(secret, &self.fallback_keys);
        let keepers = self.keepers(&cookie_name, &codecs)?;
        let legacy = self.legacy_readers(&cookie_name)?;
        let signed = Storage::signed_cookie();
        let signed_cookie = (Keeper::new(&signed.kind, &codecs), signed.label());
        let server_session_ttl = self
            .server_session_ttl
            .unwrap_or(DEFAULT_SERVER_SESSION_TTL);
        let expiry = ExpiryPolicy {
            absolute_max_age: self.absolute_max_age,
            rolling_refresh: self.rolling_refresh,
        };
        let limits = SizeLimits {
            max_flashes: self.max_flashes.unwrap_or(DEFAULT_MAX_FLASHES),
            max_record_bytes: self.max_record_bytes.unwrap_or(DEFAULT_MAX_RECORD_BYTES),
        };
        let settings = |args| {
            Arc::new(SessionSettings::new(
                CookieAttributes::new(args),
                self.session_max_age,
                server_session_ttl,
                expiry,
                limits,
            ))
        };
        Ok(SessionConfig::from_settings(Settings {
            codecs,
            default_settings: settings(self.cookie_args.clone()),
            settings_by_session: self
                .cookie_args_by_session
                .iter()
                .map(|(name, args)| (name.clone(), settings(args.clone())))
                .collect(),
            cookie_name,
            session_max_age: self.session_max_age,
            keepers,
            signed_cookie,
            legacy,
            server_session_ttl,
            expiry,
            max_cookie_pairs: self.max_cookie_pairs.unwrap_or(DEFAULT_MAX_COOKIE_PAIRS),
            max_sessions_per_request: self
                .max_sessions_per_request
                .unwrap_or(DEFAULT_MAX_SESSIONS_PER_REQUEST),
            rejection_log: RejectionLog::default(),
            metadata: self
                .metadata
                .clone()
                .map(|metadata| MetadataRecorder::new(metadata, secret)),
            handles: HandleKey::derive(secret),
            events: self
                .events
                .take()
                .map(|sink| sink.with_capacity(self.event_buffer.unwrap_or(DEFAULT_EVENT_BUFFER))),
        }))
    }

    /// Refuses a lifetime of zero or less.
    fn check_durations(&self) -> Result<(), ConfigError> {
        for (setting, value) in [
            ("session_max_age", self.session_max_age),
            ("server_session_ttl", self.server_session_ttl),
            ("absolute_max_age", self.absolute_max_age),
            ("rolling_refresh", self.rolling_refresh),
        ] {
            if let Some(value) = value.filter(|v| !v.is_positive()) {
                return Err(ConfigError::NonPositiveDuration { setting, value });
            }
        }
        Ok(())
    }

    /// Refuses a limit of zero.
    fn check_limits(&self) -> Result<(), ConfigError> {
        for (setting, value) in [
            ("max_cookie_pairs", self.max_cookie_pairs),
            ("max_sessions_per_request", self.max_sessions_per_request),
            ("max_flashes", self.max_flashes),
            ("max_record_bytes", self.max_record_bytes),
            ("event_buffer", self.event_buffer),
        ] {
            if value == Some(0) {
                return Err(ConfigError::ZeroLimit { setting });
            }
        }
        Ok(())
    }

    /// Checks the default cookie attributes, and each session's own, against the cookie rules
    /// of its name.
    fn check_cookie_args(&self, cookie_name: &str) -> Result<(), ConfigError> {
        // The defaults serve every session without its own attributes: check them under the
        // default session's name, unless that session has attributes of its own.
        let name_for_defaults = if self.cookie_args_by_session.contains_key(cookie_name) {
            DEFAULT_COOKIE_NAME
        } else {
            cookie_name
        };
        self.cookie_args.validate(name_for_defaults)?;
        for (name, args) in &self.cookie_args_by_session {
            args.validate(name)?;
        }
        Ok(())
    }

    /// The legacy cookie readers of each session, by name (the default session's under
    /// `cookie_name`).
    fn legacy_readers(
        &self,
        cookie_name: &str,
    ) -> Result<HashMap<String, Arc<[LegacyReader]>>, ConfigError> {
        let mut readers: HashMap<String, Vec<LegacyReader>> = HashMap::new();
        for (name, cookie) in &self.legacy_cookies {
            let name = name.unwrap_or(cookie_name);
            readers
                .entry(name.to_owned())
                .or_default()
                .push(cookie.reader()?);
        }
        Ok(readers
            .into_iter()
            .map(|(name, readers)| (name, readers.into()))
            .collect())
    }

    /// The keeper of each session given a storage of its own, by name (the default session's
    /// under `cookie_name`), refusing a name given twice and a name no cookie can have.
    fn keepers(
        &self,
        cookie_name: &str,
        codecs: &Codecs,
    ) -> Result<HashMap<String, (Keeper, Arc<str>)>, ConfigError> {
        let default = self
            .default_storage
            .iter()
            .map(|storage| (cookie_name, storage));
        let named = self
            .storage_by_session
            .iter()
            .map(|(name, storage)| (*name, storage));
        let mut keepers = HashMap::new();
        for (name, storage) in default.chain(named) {
            if !self.cookie_args_by_session.contains_key(name) && name != cookie_name {
                self.cookie_args.validate(name)?;
            }
            if let Some(problem) = storage.refused {
                return Err(ConfigError::InvalidSetting {
                    setting: "Storage::sealed",
                    problem: problem.to_owned(),
                });
            }
            if !storage.seals.iter().all(|slot| slot.fill(&codecs.records)) {
                return Err(ConfigError::InvalidSetting {
                    setting: "Storage::sealed",
                    problem: "this sealed storage was given to a config with other secrets: \
                              records sealed under one config's keys do not open under \
                              another's; give each config a storage of its own"
                        .to_owned(),
                });
            }
            let keeper = (Keeper::new(&storage.kind, codecs), storage.label());
            if keepers.insert(name.to_owned(), keeper).is_some() {
                return Err(ConfigError::DuplicateSession {
                    name: name.to_owned(),
                });
            }
        }
        Ok(keepers)
    }
}

/// Refuses a secret or fallback key that is too short, or made of too few distinct bytes.
fn check_secrets(secret: &[u8], fallbacks: &[Vec<u8>]) -> Result<(), ConfigError> {
    if secret.len() < MIN_SECRET_LEN {
        return Err(ConfigError::SecretKeyTooShort { len: secret.len() });
    }
    let distinct = distinct_bytes(secret);
    if distinct < MIN_DISTINCT_SECRET_BYTES {
        return Err(ConfigError::SecretKeyTooSimple { distinct });
    }
    for (index, key) in fallbacks.iter().enumerate() {
        if key.len() < MIN_SECRET_LEN {
            return Err(ConfigError::FallbackKeyTooShort {
                index,
                len: key.len(),
            });
        }
        let distinct = distinct_bytes(key);
        if distinct < MIN_DISTINCT_SECRET_BYTES {
            return Err(ConfigError::FallbackKeyTooSimple { index, distinct });
        }
    }
    Ok(())
}

impl fmt::Debug for SessionConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfigBuilder")
            .field("secret_key", &self.secret_key.as_ref().map(|_| ".."))
            .field("fallback_keys", &self.fallback_keys.len())
            .field("cookie_name", &self.cookie_name)
            .field("session_max_age", &self.session_max_age)
            .field("cookie_args", &self.cookie_args)
            .field("cookie_args_by_session", &self.cookie_args_by_session)
            .field("default_backend", &self.default_storage)
            .field("session_backends", &self.storage_by_session)
            .field("legacy_cookies", &self.legacy_cookies)
            .field("server_session_ttl", &self.server_session_ttl)
            .field("absolute_max_age", &self.absolute_max_age)
            .field("rolling_refresh", &self.rolling_refresh)
            .field("max_cookie_pairs", &self.max_cookie_pairs)
            .field("max_sessions_per_request", &self.max_sessions_per_request)
            .field("max_flashes", &self.max_flashes)
            .field("max_record_bytes", &self.max_record_bytes)
            .field("metadata", &self.metadata)
            .field("events", &self.events)
            .field("event_buffer", &self.event_buffer)
            .finish()
    }
}
