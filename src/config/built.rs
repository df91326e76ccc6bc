//! [`SessionConfig`], webapp2's `default_config` once built: its settings, its keys, its
//! backends, and the resolution of a session name into its [`SessionProfile`].

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use crate::config::keeper::{Codecs, Keeper};
use crate::config::profile::{SessionProfile, SessionSettings};
use crate::cookie::args::CookieArgs;
#[cfg(feature = "test-util")]
use crate::cookie::codec::PrivateCookieSerializer;
use crate::cookie::codec::SecureCookieSerializer;
use crate::cookie::legacy::LegacyReader;
use crate::error::SessionError;
use crate::event_sink::{Emitter, EventSink};
use crate::expiry::ExpiryPolicy;
use crate::handle::HandleKey;
use crate::metadata::MetadataRecorder;
use crate::rejection_log::RejectionLog;

/// How many sessions one request may open unless
/// [`SessionConfigBuilder::max_sessions_per_request`](crate::SessionConfigBuilder::max_sessions_per_request)
/// says otherwise.
pub(crate) const DEFAULT_MAX_SESSIONS_PER_REQUEST: usize = 8;

/// How long a session lives after its last save when neither `session_max_age` nor the
/// cookie's `max_age` says: 14 days (a server-side record's TTL, and the oldest signed
/// timestamp a cookie session may carry).
pub(crate) const DEFAULT_SERVER_SESSION_TTL: Duration = Duration::days(14);

/// The session configuration: webapp2's `default_config`, validated once and cheap to clone.
///
/// Put it in the router's state (or in any state it can be taken from with
/// [`FromRef`](axum::extract::FromRef)); the [`Session`](crate::Session),
/// [`Flash`](crate::Flash) and [`SessionStore`](crate::SessionStore) extractors find it there.
/// Signing keys are derived from the secrets once, when the config is built.
///
/// # Example
/// ```
/// use axum::{routing::get, Router};
/// use axum_session_store::{Session, SessionConfig};
///
/// async fn visits(session: Session) -> (Session, String) {
///     let n: u64 = session.get("visits").ok().flatten().unwrap_or(0) + 1;
///     let _ = session.insert("visits", n);
///     (session, format!("visit {n}"))
/// }
///
/// # fn main() -> Result<(), axum_session_store::ConfigError> {
/// # let secret = "an example secret, at least 32 bytes long";
/// let config = SessionConfig::builder()
///     .secret_key(secret)
///     .build()?;
/// let app: Router = Router::new().route("/", get(visits)).with_state(config);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SessionConfig {
    inner: Arc<Settings>,
}

/// Everything a built config holds, as the builder assembles it.
pub(crate) struct Settings {
    /// The cookie codecs, keyed with the config's secrets.
    pub(crate) codecs: Codecs,
    pub(crate) cookie_name: String,
    pub(crate) session_max_age: Option<Duration>,
    /// The settings of every session without cookie attributes of its own.
    pub(crate) default_settings: Arc<SessionSettings>,
    /// The settings of each session with cookie attributes of its own.
    pub(crate) settings_by_session: HashMap<String, Arc<SessionSettings>>,
    /// Where each session with a storage of its own is kept (the default session's under its
    /// cookie name), ready to use, with what errors call it.
    pub(crate) keepers: HashMap<String, (Keeper, Arc<str>)>,
    /// Where every other session is kept: a signed cookie.
    pub(crate) signed_cookie: (Keeper, Arc<str>),
    /// The other frameworks' cookies each session may be read from, by session name.
    pub(crate) legacy: HashMap<String, Arc<[LegacyReader]>>,
    pub(crate) server_session_ttl: Duration,
    pub(crate) expiry: ExpiryPolicy,
    pub(crate) max_cookie_pairs: usize,
    pub(crate) max_sessions_per_request: usize,
    /// Rejected cookies are logged through it: one warning a minute at most.
    pub(crate) rejection_log: RejectionLog,
    /// What server-side sessions record about their clients, when metadata is on.
    pub(crate) metadata: Option<MetadataRecorder>,
    /// The key of session handles.
    pub(crate) handles: HandleKey,
    /// Where lifecycle events go, when the app listens.
    pub(crate) events: Option<EventSink>,
}

impl SessionConfig {
    /// The cookie name of the default session unless
    /// [`cookie_name`](crate::SessionConfigBuilder::cookie_name) says otherwise.
    pub const DEFAULT_COOKIE_NAME: &'static str = crate::name::DEFAULT_COOKIE_NAME;

    /// How long a session lives after its last save when neither `session_max_age` nor the
    /// cookie's `max_age` says: 14 days (a server-side record's TTL, and the oldest signed
    /// timestamp a cookie session may carry), unless
    /// [`server_session_ttl`](crate::SessionConfigBuilder::server_session_ttl) says otherwise.
    pub const DEFAULT_SERVER_SESSION_TTL: Duration = DEFAULT_SERVER_SESSION_TTL;

    /// How many sessions one request may open unless
    /// [`max_sessions_per_request`](crate::SessionConfigBuilder::max_sessions_per_request)
    /// says otherwise.
    pub const DEFAULT_MAX_SESSIONS_PER_REQUEST: usize = DEFAULT_MAX_SESSIONS_PER_REQUEST;

    /// How many `name=value` pairs of a `Cookie` header are read unless
    /// [`max_cookie_pairs`](crate::SessionConfigBuilder::max_cookie_pairs) says otherwise.
    pub const DEFAULT_MAX_COOKIE_PAIRS: usize = crate::cookie::request::DEFAULT_MAX_COOKIE_PAIRS;

    /// How many flash messages a session keeps waiting to be shown unless
    /// [`max_flashes`](crate::SessionConfigBuilder::max_flashes) says otherwise: adding one
    /// more drops the oldest.
    pub const DEFAULT_MAX_FLASHES: usize = crate::config::profile::DEFAULT_MAX_FLASHES;

    /// The most bytes a server-side record may hold as JSON unless
    /// [`max_record_bytes`](crate::SessionConfigBuilder::max_record_bytes) says otherwise:
    /// 256 KiB.
    pub const DEFAULT_MAX_RECORD_BYTES: usize = crate::config::profile::DEFAULT_MAX_RECORD_BYTES;

    /// The config of `settings`, checked by the builder.
    pub(crate) fn from_settings(settings: Settings) -> Self {
        Self {
            inner: Arc::new(settings),
        }
    }

    /// The cookie name of the default session (`"session"` unless configured).
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).cookie_name("sid").build()?;
    /// assert_eq!(config.cookie_name(), "sid");
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    pub fn cookie_name(&self) -> &str {
        &self.inner.cookie_name
    }

    /// How long a session stays valid after it was last saved, checked by the server from the
    /// signed timestamp. `None`: as long as the cookie lives.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).session_max_age(time::Duration::days(7)).build()?;
    /// assert_eq!(config.session_max_age(), Some(time::Duration::days(7)));
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    pub fn session_max_age(&self) -> Option<Duration> {
        self.inner.session_max_age
    }

    /// The default cookie attributes.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).build()?;
    /// assert!(config.cookie_args().http_only && config.cookie_args().secure);
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    pub fn cookie_args(&self) -> &CookieArgs {
        self.inner.default_settings.attributes.args()
    }

    /// The absolute lifetime of a session, counted from its creation; activity never extends
    /// it. `None` (default): no absolute limit.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).absolute_max_age(time::Duration::days(30)).build()?;
    /// assert_eq!(config.absolute_max_age(), Some(time::Duration::days(30)));
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    pub fn absolute_max_age(&self) -> Option<Duration> {
        self.inner.expiry.absolute_max_age
    }

    /// The rolling refresh interval: when set, reading a session whose last save is at least
    /// this old saves it again, extending its idle expiry. `None` (default): the interval is a
    /// tenth of the session's idle lifetime.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).build()?;
    /// assert_eq!(config.rolling_refresh(), None);
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    pub fn rolling_refresh(&self) -> Option<Duration> {
        self.inner.expiry.rolling_refresh
    }

    /// How many sessions one request may open.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).build()?;
    /// assert_eq!(config.max_sessions_per_request(), SessionConfig::DEFAULT_MAX_SESSIONS_PER_REQUEST);
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    pub fn max_sessions_per_request(&self) -> usize {
        self.inner.max_sessions_per_request
    }

    /// How many pairs of a request's `Cookie` headers are read; later ones are ignored.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).max_cookie_pairs(64).build()?;
    /// assert_eq!(config.max_cookie_pairs(), 64);
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    pub fn max_cookie_pairs(&self) -> usize {
        self.inner.max_cookie_pairs
    }

    /// The cookie attributes of the session `name`: its own, if it was given some with
    /// [`SessionConfigBuilder::session_cookie_args`](crate::SessionConfigBuilder::session_cookie_args),
    /// else the defaults.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    /// use axum_session_store::cookie::CookieArgs;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder()
    ///     .secret_key(secret)
    ///     .session_cookie_args("prefs", CookieArgs::default().http_only(false))
    ///     .build()?;
    /// assert!(!config.cookie_args_for("prefs").http_only);
    /// assert!(config.cookie_args_for("session").http_only);
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    pub fn cookie_args_for(&self, name: &str) -> &CookieArgs {
        self.settings_for(name).attributes.args()
    }

    /// The signer of cookie values, keyed with this config's secrets: to make or read a signed
    /// cookie in a test (feature `test-util`).
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).build()?;
    /// let value = config.serializer().serialize("prefs", &serde_json::json!({"a": 1})).unwrap();
    /// let data = config.serializer().deserialize("prefs", &value, None).unwrap();
    /// assert_eq!(data["a"], 1);
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    #[cfg(feature = "test-util")]
    #[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
    pub fn serializer(&self) -> &SecureCookieSerializer {
        &self.inner.codecs.signed
    }

    /// The signer of server-side sessions' id cookies (`{"_sid": id}`), keyed through a key
    /// derived for that purpose only: it neither reads nor makes cookie sessions, and
    /// [`serializer`](Self::serializer) neither reads nor makes id cookies. Handy to read the id
    /// a response set, or to forge a cookie in a test.
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    /// use serde_json::json;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).build()?;
    /// let id_cookie = config.id_serializer().serialize("session", &json!({ "_sid": "A".repeat(32) }))?;
    /// assert!(config.serializer().deserialize("session", &id_cookie, None).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "test-util")]
    #[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
    pub fn id_serializer(&self) -> &SecureCookieSerializer {
        &self.inner.codecs.ids
    }

    /// The sealer of encrypted cookie values ([`Storage::private_cookie`](crate::backend::Storage::private_cookie)),
    /// keyed with this config's secrets through a key derived for that purpose only (feature
    /// `test-util`).
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).build()?;
    /// let sealed = config.private_serializer().serialize("vault", &serde_json::json!({"a": 1})).unwrap();
    /// let data = config.private_serializer().deserialize("vault", &sealed, None).unwrap();
    /// assert_eq!(data["a"], 1);
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    #[cfg(feature = "test-util")]
    #[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
    pub fn private_serializer(&self) -> &PrivateCookieSerializer {
        &self.inner.codecs.private
    }

    /// How long the server keeps the record of the session `name` after its last save:
    /// `session_max_age`, else the cookie's `max_age`, else the server-session TTL (14 days
    /// unless configured).
    ///
    /// ```
    /// use axum_session_store::SessionConfig;
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).session_max_age(time::Duration::hours(12)).build()?;
    /// assert_eq!(config.record_ttl_for("session"), time::Duration::hours(12));
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    pub fn record_ttl_for(&self, name: &str) -> Duration {
        self.settings_for(name).record_ttl
    }

    /// The max age a signed value of the session `name` is checked against.
    pub(crate) fn max_age_for(&self, name: &str) -> Option<Duration> {
        self.settings_for(name).max_age
    }

    /// The signer of cookie values.
    pub(crate) fn signer(&self) -> &SecureCookieSerializer {
        &self.inner.codecs.signed
    }

    /// Where rejected cookies are logged.
    pub(crate) fn rejection_log(&self) -> &RejectionLog {
        &self.inner.rejection_log
    }

    /// What server-side sessions record about their clients, when metadata is on.
    pub(crate) fn metadata(&self) -> Option<&MetadataRecorder> {
        self.inner.metadata.as_ref()
    }

    /// The key of session handles.
    pub(crate) fn handles(&self) -> &HandleKey {
        &self.inner.handles
    }

    /// How many lifecycle events were dropped because the
    /// [`events`](crate::SessionConfigBuilder::events) handler was behind and its buffer full
    /// (0 when events are off).
    ///
    /// ```
    /// # let config = axum_session_store::SessionConfig::builder()
    /// #     .secret_key("an example secret, at least 32 bytes long").build()?;
    /// assert_eq!(config.dropped_events(), 0);
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    pub fn dropped_events(&self) -> u64 {
        self.inner.events.as_ref().map_or(0, EventSink::dropped)
    }

    /// What the session `profile` of a request begun at `at` sends its events through.
    pub(crate) fn emitter<'a>(
        &'a self,
        profile: &'a SessionProfile,
        at: OffsetDateTime,
    ) -> Emitter<'a> {
        Emitter {
            sink: self.inner.events.as_ref(),
            handles: &self.inner.handles,
            session: profile.name(),
            backend: profile.backend_label(),
            at,
        }
    }

    /// The settings of the session `name`: its own, else the shared defaults.
    fn settings_for(&self, name: &str) -> &Arc<SessionSettings> {
        self.inner
            .settings_by_session
            .get(name)
            .unwrap_or(&self.inner.default_settings)
    }

    /// The session `name` resolved into what loading and saving it need: the storage it was
    /// given ([`SessionConfigBuilder::default_backend`](crate::SessionConfigBuilder::default_backend)
    /// for the default session's name, else
    /// [`session_backend`](crate::SessionConfigBuilder::session_backend)), else a signed
    /// cookie. Names the config knows (the default session's, those with attributes or a
    /// backend of their own) were checked by `build()`; any other is checked here, with the
    /// default attributes it gets.
    ///
    /// # Errors
    /// [`SessionError::Config`] for a name that is no valid cookie name or breaks the prefix
    /// rules.
    pub(crate) fn resolve(&self, name: &str) -> Result<SessionProfile, SessionError> {
        let keeper = self
            .inner
            .keepers
            .get(name)
            .unwrap_or(&self.inner.signed_cookie);
        self.profile(name, keeper)
    }

    /// The session `name` resolved as a signed cookie, whatever storage the config gives the
    /// name: webapp2's `set_secure_cookie`.
    ///
    /// # Errors
    /// As [`resolve`](Self::resolve).
    pub(crate) fn resolve_signed_cookie(&self, name: &str) -> Result<SessionProfile, SessionError> {
        self.profile(name, &self.inner.signed_cookie)
    }

    fn profile(
        &self,
        name: &str,
        (keeper, label): &(Keeper, Arc<str>),
    ) -> Result<SessionProfile, SessionError> {
        let settings = match self.inner.settings_by_session.get(name) {
            Some(own) => own,
            None => {
                if name != self.inner.cookie_name && !self.inner.keepers.contains_key(name) {
                    self.inner
                        .default_settings
                        .attributes
                        .args()
                        .validate(name)?;
                }
                &self.inner.default_settings
            }
        };
        Ok(SessionProfile::new(
            name,
            label.clone(),
            keeper.clone(),
            settings.clone(),
            self.inner.legacy.get(name).cloned(),
        ))
    }
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let settings = &self.inner;
        f.debug_struct("SessionConfig")
            .field("secret_key", &"..")
            .field("cookie_name", &settings.cookie_name)
            .field("session_max_age", &settings.session_max_age)
            .field("cookie_args", settings.default_settings.attributes.args())
            .field(
                "cookie_args_by_session",
                &settings
                    .settings_by_session
                    .iter()
                    .map(|(name, own)| (name, own.attributes.args()))
                    .collect::<HashMap<_, _>>(),
            )
            .field(
                "backends",
                &settings
                    .keepers
                    .iter()
                    .map(|(name, (_, label))| (name, label))
                    .collect::<std::collections::BTreeMap<_, _>>(),
            )
            .field("server_session_ttl", &settings.server_session_ttl)
            .field("absolute_max_age", &settings.expiry.absolute_max_age)
            .field("rolling_refresh", &settings.expiry.rolling_refresh)
            .field("max_cookie_pairs", &settings.max_cookie_pairs)
            .field(
                "max_sessions_per_request",
                &settings.max_sessions_per_request,
            )
            .finish()
    }
}
