//! [`SessionConfig`], webapp2's `default_config`, and its builder.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use time::Duration;

use crate::backend::{Backend, SessionBackend, PRIVATE_COOKIE, SECURE_COOKIE};
use crate::codec::{CookieCodec, PrivateCookieSerializer, SecureCookieSerializer};
use crate::cookie_args::{CookieArgs, CookieAttributes};
use crate::error::ConfigError;
use crate::expiry::ExpiryPolicy;
use crate::key::{
    distinct_bytes, KeyRing, ID_COOKIE_PURPOSE, MIN_DISTINCT_SECRET_BYTES, MIN_SECRET_LEN,
    SIGNING_PURPOSE,
};
use crate::rejection_log::RejectionLog;
use crate::request_cookies::DEFAULT_MAX_COOKIE_PAIRS;

/// How many sessions one request may open unless
/// [`SessionConfigBuilder::max_sessions_per_request`] says otherwise.
pub const DEFAULT_MAX_SESSIONS_PER_REQUEST: usize = 8;

/// The default cookie name of the default session.
pub const DEFAULT_COOKIE_NAME: &str = "session";

/// How long a server-side record lives when neither `session_max_age` nor the cookie's
/// `max_age` says: 14 days.
pub const DEFAULT_SERVER_SESSION_TTL: Duration = Duration::days(14);

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
    inner: Arc<Inner>,
}

struct Inner {
    serializer: SecureCookieSerializer,
    id_serializer: SecureCookieSerializer,
    private_serializer: PrivateCookieSerializer,
    cookie_name: String,
    session_max_age: Option<Duration>,
    cookie_args: CookieAttributes,
    cookie_args_by_session: HashMap<String, CookieAttributes>,
    backends: BTreeMap<String, Backend>,
    default_backend: String,
    server_session_ttl: Duration,
    expiry: ExpiryPolicy,
    max_cookie_pairs: usize,
    max_sessions_per_request: usize,
    /// Rejected cookies are logged through it: one warning a minute at most.
    rejection_log: RejectionLog,
}

impl SessionConfig {
    /// Starts a config; only [`secret_key`](SessionConfigBuilder::secret_key) is required.
    pub fn builder() -> SessionConfigBuilder {
        SessionConfigBuilder::default()
    }

    /// The cookie name of the default session (`"session"` unless configured).
    pub fn cookie_name(&self) -> &str {
        &self.inner.cookie_name
    }

    /// How long a session stays valid after it was last saved, checked by the server from the
    /// signed timestamp. `None`: as long as the cookie lives.
    pub fn session_max_age(&self) -> Option<Duration> {
        self.inner.session_max_age
    }

    /// The default cookie attributes.
    pub fn cookie_args(&self) -> &CookieArgs {
        self.inner.cookie_args.args()
    }

    /// The absolute lifetime of a session, counted from its creation; activity never extends
    /// it. `None` (default): no absolute limit.
    pub fn absolute_max_age(&self) -> Option<Duration> {
        self.inner.expiry.absolute_max_age
    }

    /// The rolling refresh interval: when set, reading a session whose last save is at least
    /// this old saves it again, extending its idle expiry. `None` (default): only changes do.
    pub fn rolling_refresh(&self) -> Option<Duration> {
        self.inner.expiry.rolling_refresh
    }

    /// How many sessions one request may open.
    pub fn max_sessions_per_request(&self) -> usize {
        self.inner.max_sessions_per_request
    }

    /// Where rejected cookies are logged.
    pub(crate) fn rejection_log(&self) -> &RejectionLog {
        &self.inner.rejection_log
    }

    /// The expiry policies, as one value.
    pub(crate) fn expiry_policy(&self) -> ExpiryPolicy {
        self.inner.expiry
    }

    /// How many pairs of a request's `Cookie` headers are read; later ones are ignored.
    pub fn max_cookie_pairs(&self) -> usize {
        self.inner.max_cookie_pairs
    }

    /// The cookie attributes of the session `name`: its own, if it was given some with
    /// [`SessionConfigBuilder::session_cookie_args`], else the defaults.
    pub fn cookie_args_for(&self, name: &str) -> &CookieArgs {
        self.cookie_attributes_for(name).args()
    }

    /// The cookie attributes of the session `name`, with their rendered `Set-Cookie` text.
    pub(crate) fn cookie_attributes_for(&self, name: &str) -> &CookieAttributes {
        self.inner
            .cookie_args_by_session
            .get(name)
            .unwrap_or(&self.inner.cookie_args)
    }

    /// The backend of the default session (`Session` without a name): `"securecookie"` unless
    /// configured.
    pub fn default_backend(&self) -> &str {
        &self.inner.default_backend
    }

    /// The names of the registered backends in alphabetical order, `"memory"` and
    /// `"securecookie"` among them.
    pub fn backend_names(&self) -> impl Iterator<Item = &str> {
        self.inner.backends.keys().map(String::as_str)
    }

    /// The signer of cookie values, keyed with this config's secrets.
    pub fn serializer(&self) -> &SecureCookieSerializer {
        &self.inner.serializer
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
    pub fn id_serializer(&self) -> &SecureCookieSerializer {
        &self.inner.id_serializer
    }

    /// The sealer of encrypted cookie values (the `privatecookie` backend), keyed with this
    /// config's secrets through a key derived for that purpose only.
    pub fn private_serializer(&self) -> &PrivateCookieSerializer {
        &self.inner.private_serializer
    }

    /// The codec of a cookie backend; `None` for server-side backends.
    pub(crate) fn cookie_codec(&self, backend: &Backend) -> Option<&dyn CookieCodec> {
        match backend {
            Backend::SecureCookie => Some(&self.inner.serializer),
            Backend::PrivateCookie => Some(&self.inner.private_serializer),
            Backend::Server(_) => None,
        }
    }

    /// The server-side backend registered as `name` (`"memory"` is always there), to share it
    /// with [`spawn_cleanup`](crate::spawn_cleanup) or inspect it. `None` for cookie backends
    /// and unknown names.
    pub fn server_backend(&self, name: &str) -> Option<Arc<dyn SessionBackend>> {
        match self.inner.backends.get(name)? {
            Backend::Server(backend) => Some(backend.clone()),
            Backend::SecureCookie | Backend::PrivateCookie => None,
        }
    }

    /// How long the server keeps the record of the session `name` after its last save:
    /// `session_max_age`, else the cookie's `max_age`, else the server-session TTL (14 days
    /// unless configured).
    pub fn record_ttl_for(&self, name: &str) -> Duration {
        self.max_age_for(name)
            .unwrap_or(self.inner.server_session_ttl)
    }

    /// The layer that loads and saves sessions around every handler, awaiting server-side
    /// backends. Required for server-side sessions; optional for cookie sessions, which it then
    /// saves without the handler returning them.
    ///
    /// ```
    /// use axum::{routing::get, Router};
    /// use axum_session_store::SessionConfig;
    ///
    /// # fn main() -> Result<(), axum_session_store::ConfigError> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).build()?;
    /// let app: Router = Router::new()
    ///     .route("/", get(|| async { "hi" }))
    ///     .layer(config.layer())
    ///     .with_state(config);
    /// # Ok(()) }
    /// ```
    pub fn layer(&self) -> crate::layer::SessionLayer {
        crate::layer::SessionLayer::new(self.clone())
    }

    /// The max age that a signed value of the session `name` is checked against: the session
    /// max age, else the cookie's own max age (a browser would have dropped it by then).
    pub(crate) fn max_age_for(&self, name: &str) -> Option<Duration> {
        self.inner
            .session_max_age
            .or(self.cookie_args_for(name).max_age)
    }

    pub(crate) fn backend(&self, name: &str) -> Option<&Backend> {
        self.inner.backends.get(name)
    }

    /// Checks a session name chosen at run time, with the cookie attributes it will get.
    pub(crate) fn validate_session_name(&self, name: &str) -> Result<(), ConfigError> {
        if name == self.inner.cookie_name {
            // The default session's name was checked with its attributes by `build()`.
            return Ok(());
        }
        self.cookie_args_for(name).validate(name)
    }
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("secret_key", &"..")
            .field("cookie_name", &self.inner.cookie_name)
            .field("session_max_age", &self.inner.session_max_age)
            .field("cookie_args", self.inner.cookie_args.args())
            .field(
                "cookie_args_by_session",
                &self
                    .inner
                    .cookie_args_by_session
                    .iter()
                    .map(|(name, attributes)| (name, attributes.args()))
                    .collect::<HashMap<_, _>>(),
            )
            .field("backends", &self.inner.backends.keys().collect::<Vec<_>>())
            .field("default_backend", &self.inner.default_backend)
            .field("server_session_ttl", &self.inner.server_session_ttl)
            .field("absolute_max_age", &self.inner.expiry.absolute_max_age)
            .field("rolling_refresh", &self.inner.expiry.rolling_refresh)
            .field("max_cookie_pairs", &self.inner.max_cookie_pairs)
            .field(
                "max_sessions_per_request",
                &self.inner.max_sessions_per_request,
            )
            .finish()
    }
}

/// Builds a [`SessionConfig`]; [`build`](Self::build) checks every setting.
///
/// ```
/// use axum_session_store::{ConfigError, CookieArgs, SessionConfig};
/// use time::Duration;
///
/// # std::env::set_var("SESSION_SECRET", "an example secret, at least 32 bytes long");
/// let config = SessionConfig::builder()
///     .secret_key(std::env::var("SESSION_SECRET")?) // no default: a missing secret stops the app
///     .fallback_keys(["a former secret, still accepted!!"])
///     .cookie_name("__Host-session")
///     .session_max_age(Duration::days(14))
///     .cookie_args(CookieArgs { max_age: Some(Duration::days(14)), ..CookieArgs::default() })
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
    backends: Vec<(String, Arc<dyn SessionBackend>)>,
    default_backend: Option<String>,
    server_session_ttl: Option<Duration>,
    absolute_max_age: Option<Duration>,
    rolling_refresh: Option<Duration>,
    max_cookie_pairs: Option<usize>,
    max_sessions_per_request: Option<usize>,
}

impl SessionConfigBuilder {
    /// The secret that signs cookies: at least 32 random bytes, kept out of the source code.
    /// Required.
    pub fn secret_key(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.secret_key = Some(secret.as_ref().to_vec());
        self
    }

    /// Former secrets that still verify cookies, for key rotation. A cookie verified by one of
    /// them is signed again with `secret_key` when its response is written.
    pub fn fallback_keys<K: AsRef<[u8]>>(mut self, keys: impl IntoIterator<Item = K>) -> Self {
        self.fallback_keys = keys.into_iter().map(|k| k.as_ref().to_vec()).collect();
        self
    }

    /// The cookie name of the default session. Default `"session"`.
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = Some(name.into());
        self
    }

    /// How long a session stays valid after it was last saved, enforced by the server from the
    /// signed timestamp whatever the browser does. Default: no limit beyond the cookie's own
    /// `max_age`.
    pub fn session_max_age(mut self, max_age: Duration) -> Self {
        self.session_max_age = Some(max_age);
        self
    }

    /// The default cookie attributes of every session.
    pub fn cookie_args(mut self, args: CookieArgs) -> Self {
        self.cookie_args = args;
        self
    }

    /// Cookie attributes for the session `name` alone, in place of the defaults.
    pub fn session_cookie_args(mut self, name: impl Into<String>, args: CookieArgs) -> Self {
        self.cookie_args_by_session.insert(name.into(), args);
        self
    }

    /// Registers a server-side backend under `name`, for sessions whose
    /// [`BACKEND`](crate::SessionName::BACKEND) is that name. `"memory"` is registered by
    /// default and may be replaced; `"securecookie"` is reserved.
    ///
    /// ```
    /// use axum_session_store::{MemoryBackend, SessionConfig, SessionName};
    ///
    /// struct Cart;
    /// impl SessionName for Cart {
    ///     const NAME: &'static str = "cart";
    ///     const BACKEND: &'static str = "carts";
    /// }
    ///
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder()
    ///     .secret_key(secret)
    ///     .backend("carts", MemoryBackend::new())
    ///     .build()?;
    /// assert!(config.server_backend("carts").is_some());
    /// # Ok::<(), axum_session_store::ConfigError>(())
    /// ```
    pub fn backend(mut self, name: impl Into<String>, backend: impl SessionBackend) -> Self {
        self.backends.push((name.into(), Arc::new(backend)));
        self
    }

    /// Like [`backend`](Self::backend), for a backend already shared behind an `Arc`.
    pub fn shared_backend(
        mut self,
        name: impl Into<String>,
        backend: Arc<dyn SessionBackend>,
    ) -> Self {
        self.backends.push((name.into(), backend));
        self
    }

    /// The backend of the default session (`Session` without a name). Default
    /// `"securecookie"`; name a registered server-side backend to keep the default session's
    /// data on the server.
    pub fn default_backend(mut self, name: impl Into<String>) -> Self {
        self.default_backend = Some(name.into());
        self
    }

    /// How long a server-side record lives after its last save when neither
    /// `session_max_age` nor `cookie_args.max_age` is set. Default 14 days.
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

    /// Opt in to rolling expiry: a request that only reads a session whose last save is at
    /// least `interval` old saves it again, so the idle expiry (`session_max_age`, the record's
    /// TTL, the cookie's `max_age`) restarts. Reads become writes at most once per `interval`.
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
    /// [`DEFAULT_MAX_COOKIE_PAIRS`], 512); later ones are ignored, so a forged header of
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
    /// [`DEFAULT_MAX_SESSIONS_PER_REQUEST`], 8); beyond it, opening another is
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

    /// Checks every setting and derives the signing keys.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first setting that is missing or wrong.
    pub fn build(self) -> Result<SessionConfig, ConfigError> {
        let secret = self.secret_key.ok_or(ConfigError::MissingSecretKey)?;
        if secret.len() < MIN_SECRET_LEN {
            return Err(ConfigError::SecretKeyTooShort { len: secret.len() });
        }
        let distinct = distinct_bytes(&secret);
        if distinct < MIN_DISTINCT_SECRET_BYTES {
            return Err(ConfigError::SecretKeyTooSimple { distinct });
        }
        for (index, key) in self.fallback_keys.iter().enumerate() {
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
        for (setting, value) in [
            ("max_cookie_pairs", self.max_cookie_pairs),
            ("max_sessions_per_request", self.max_sessions_per_request),
        ] {
            if value == Some(0) {
                return Err(ConfigError::ZeroLimit { setting });
            }
        }
        let cookie_name = self
            .cookie_name
            .unwrap_or_else(|| DEFAULT_COOKIE_NAME.to_owned());
        // The defaults serve every session without its own attributes: check them under the
        // default session's name, unless that session has attributes of its own.
        let name_for_defaults = if self.cookie_args_by_session.contains_key(&cookie_name) {
            DEFAULT_COOKIE_NAME
        } else {
            &cookie_name
        };
        self.cookie_args.validate(name_for_defaults)?;
        for (name, args) in &self.cookie_args_by_session {
            args.validate(name)?;
        }

        let keys = KeyRing::new(&secret, &self.fallback_keys, SIGNING_PURPOSE);
        let mut backends = Backend::defaults();
        for (name, backend) in self.backends {
            if name == SECURE_COOKIE || name == PRIVATE_COOKIE || name.is_empty() {
                return Err(ConfigError::ReservedBackendName { name });
            }
            backends.insert(name, Backend::Server(backend));
        }
        let default_backend = self
            .default_backend
            .unwrap_or_else(|| SECURE_COOKIE.to_owned());
        if !backends.contains_key(&default_backend) {
            return Err(ConfigError::UnknownDefaultBackend {
                name: default_backend,
            });
        }
        Ok(SessionConfig {
            inner: Arc::new(Inner {
                serializer: SecureCookieSerializer::new(keys),
                id_serializer: SecureCookieSerializer::new(KeyRing::new(
                    &secret,
                    &self.fallback_keys,
                    ID_COOKIE_PURPOSE,
                )),
                private_serializer: PrivateCookieSerializer::new(&secret, &self.fallback_keys),
                cookie_name,
                session_max_age: self.session_max_age,
                cookie_args: CookieAttributes::new(self.cookie_args),
                cookie_args_by_session: self
                    .cookie_args_by_session
                    .into_iter()
                    .map(|(name, args)| (name, CookieAttributes::new(args)))
                    .collect(),
                backends,
                default_backend,
                server_session_ttl: self
                    .server_session_ttl
                    .unwrap_or(DEFAULT_SERVER_SESSION_TTL),
                expiry: ExpiryPolicy {
                    absolute_max_age: self.absolute_max_age,
                    rolling_refresh: self.rolling_refresh,
                },
                max_cookie_pairs: self.max_cookie_pairs.unwrap_or(DEFAULT_MAX_COOKIE_PAIRS),
                max_sessions_per_request: self
                    .max_sessions_per_request
                    .unwrap_or(DEFAULT_MAX_SESSIONS_PER_REQUEST),
                rejection_log: RejectionLog::default(),
            }),
        })
    }
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
            .field("backends", &self.backends)
            .field("default_backend", &self.default_backend)
            .field("server_session_ttl", &self.server_session_ttl)
            .field("absolute_max_age", &self.absolute_max_age)
            .field("rolling_refresh", &self.rolling_refresh)
            .field("max_cookie_pairs", &self.max_cookie_pairs)
            .field("max_sessions_per_request", &self.max_sessions_per_request)
            .finish()
    }
}
