//! The crate's two error types: [`ConfigError`] at build time, [`SessionError`] at request time.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use time::Duration;

use crate::rejection_log::RejectionLog;

/// A mistake in the session configuration, found by [`SessionConfigBuilder::build`].
///
/// Each message names the setting and says how to fix it.
///
/// [`SessionConfigBuilder::build`]: crate::SessionConfigBuilder::build
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No `secret_key` was given.
    #[error(
        "secret_key is missing: set it with SessionConfig::builder().secret_key(...) to at least \
         32 random bytes kept out of the source code (generate one with `openssl rand -base64 48`)"
    )]
    MissingSecretKey,
    /// The `secret_key` is shorter than 32 bytes.
    #[error(
        "secret_key is {len} bytes, fewer than the 32 required: use at least 32 random bytes \
         (generate one with `openssl rand -base64 48`)"
    )]
    SecretKeyTooShort {
        /// The length that was given.
        len: usize,
    },
    /// The `secret_key` is long enough but made of too few distinct bytes to be random.
    #[error(
        "secret_key has only {distinct} distinct bytes: a secret repeated from a few characters \
         can be guessed whatever its length; use at least 32 random bytes (generate one with \
         `openssl rand -base64 48`)"
    )]
    SecretKeyTooSimple {
        /// How many distinct bytes it holds.
        distinct: usize,
    },
    /// One of the `fallback_keys` is shorter than 32 bytes.
    #[error(
        "fallback_keys[{index}] is {len} bytes, fewer than the 32 required: a fallback key is a \
         former secret_key and must be as long as one"
    )]
    FallbackKeyTooShort {
        /// Position of the key in `fallback_keys`.
        index: usize,
        /// The length that was given.
        len: usize,
    },
    /// One of the `fallback_keys` is made of too few distinct bytes to be random.
    #[error(
        "fallback_keys[{index}] has only {distinct} distinct bytes: a fallback key is a former \
         secret_key and must be as random as one (generate secrets with `openssl rand -base64 48`)"
    )]
    FallbackKeyTooSimple {
        /// Position of the key in `fallback_keys`.
        index: usize,
        /// How many distinct bytes it holds.
        distinct: usize,
    },
    /// A session or cookie name that is not a valid cookie name.
    #[error(
        "cookie name {name:?} is not valid: use 1 to 256 letters, digits or the characters \
         !#$%&'*+-.^_`|~"
    )]
    InvalidCookieName {
        /// The name that was given.
        name: String,
    },
    /// A `__Host-` cookie without `secure`.
    #[error("cookie {name:?}: the __Host- prefix requires cookie_args.secure = true")]
    HostPrefixNeedsSecure {
        /// The cookie name.
        name: String,
    },
    /// A `__Host-` cookie whose path is not `/`.
    #[error("cookie {name:?}: the __Host- prefix requires cookie_args.path = \"/\"")]
    HostPrefixNeedsRootPath {
        /// The cookie name.
        name: String,
    },
    /// A `__Host-` cookie with a domain.
    #[error("cookie {name:?}: the __Host- prefix forbids a domain: set cookie_args.domain = None")]
    HostPrefixForbidsDomain {
        /// The cookie name.
        name: String,
    },
    /// A `__Secure-` cookie without `secure`.
    #[error("cookie {name:?}: the __Secure- prefix requires cookie_args.secure = true")]
    SecurePrefixNeedsSecure {
        /// The cookie name.
        name: String,
    },
    /// `SameSite=None` without `secure`, which browsers reject.
    #[error(
        "cookie {name:?}: cookie_args.same_site = SameSite::None requires cookie_args.secure = \
         true (browsers drop such cookies); use SameSite::Lax or enable secure"
    )]
    SameSiteNoneNeedsSecure {
        /// The cookie name.
        name: String,
    },
    /// A path that does not start with `/` or holds characters a cookie attribute cannot.
    #[error(
        "cookie {name:?}: cookie_args.path {path:?} must start with '/' and hold only printable \
         ASCII without ';'"
    )]
    InvalidPath {
        /// The cookie name.
        name: String,
        /// The path that was given.
        path: String,
    },
    /// A domain that holds characters a cookie attribute cannot.
    #[error(
        "cookie {name:?}: cookie_args.domain {domain:?} must be an ASCII host name (punycode \
         for international names), without ';' or spaces"
    )]
    InvalidDomain {
        /// The cookie name.
        name: String,
        /// The domain that was given.
        domain: String,
    },
    /// A backend registered under a reserved or empty name.
    #[error(
        "backend name {name:?} is reserved for a cookie backend (or empty): register \
         server-side backends under another name"
    )]
    ReservedBackendName {
        /// The name that was given.
        name: String,
    },
    /// `default_backend` names a backend that is not registered.
    #[error(
        "default_backend {name:?} is not registered: register it with \
         SessionConfig::builder().backend({name:?}, ...) or pick \"securecookie\" or \"memory\""
    )]
    UnknownDefaultBackend {
        /// The name that was given.
        name: String,
    },
    /// A count setting that is zero, which would turn its feature off entirely.
    #[error("{setting} is 0: it must be at least 1 (or left unset for its default)")]
    ZeroLimit {
        /// The setting, such as `max_cookie_pairs`.
        setting: &'static str,
    },
    /// A duration setting that is zero or negative.
    #[error("{setting} is {value}: it must be positive (or left unset)")]
    NonPositiveDuration {
        /// The setting, such as `session_max_age`.
        setting: &'static str,
        /// The value that was given.
        value: Duration,
    },
}

/// An error while using or saving a session.
///
/// It implements [`IntoResponse`]: returned from a handler (or as the rejection of an
/// extractor) it logs the details with `tracing` and answers `500 Internal Server Error` (`503
/// Service Unavailable` for a backend that did not answer in time, see
/// [`BackendError::is_timeout`](crate::BackendError::is_timeout)) with a short body that reveals
/// nothing about the session.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// A value given to [`Session::insert`](crate::Session::insert) cannot be serialized as JSON.
    #[error("session {session:?}: the value for key {key:?} cannot be serialized as JSON")]
    Serialize {
        /// The session name.
        session: String,
        /// The key being set.
        key: String,
        /// What serde_json said.
        #[source]
        source: serde_json::Error,
    },
    /// The session could not be encoded into its cookie.
    #[error("session {session:?}: it cannot be encoded into its cookie")]
    Encode {
        /// The session name.
        session: String,
        /// The codec's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A stored value cannot be read as the type that [`Session::get`](crate::Session::get) asked for.
    #[error("session {session:?}: the value under key {key:?} is not of the requested type")]
    Deserialize {
        /// The session name.
        session: String,
        /// The key being read.
        key: String,
        /// What serde_json said.
        #[source]
        source: serde_json::Error,
    },
    /// A handler tried to write a key that the crate keeps in the session for itself (such as
    /// [`CREATED_KEY`](crate::CREATED_KEY)); the session is left unchanged.
    #[error(
        "session {session:?}: the key {key:?} is reserved by axum-session-store; store the value \
         under another key"
    )]
    ReservedKey {
        /// The session name.
        session: String,
        /// The reserved key.
        key: String,
    },
    /// A value nests deeper than [`MAX_VALUE_DEPTH`](crate::MAX_VALUE_DEPTH): it could be saved
    /// but never read back, so the save is refused.
    #[error(
        "session {session:?}: the value under key {key:?} nests deeper than {} levels; it could \
         not be read back, so it is not saved: flatten it",
        crate::nesting::MAX_VALUE_DEPTH
    )]
    TooDeep {
        /// The session name.
        session: String,
        /// The key whose value nests too deep.
        key: String,
    },
    /// The session's `Set-Cookie` header would exceed the 4096 bytes browsers keep.
    #[error(
        "session {session:?}: its Set-Cookie header would be {size} bytes, over the 4096-byte \
         limit browsers keep; store less in it, or keep the data server-side"
    )]
    CookieTooLarge {
        /// The session name.
        session: String,
        /// Size of the `Set-Cookie` value in bytes.
        size: usize,
    },
    /// A server-side record would hold more than
    /// [`max_record_bytes`](crate::SessionConfigBuilder::max_record_bytes) as JSON; nothing was
    /// written.
    #[error(
        "session {session:?}: its record would hold about {size} bytes, over the {limit}-byte \
         limit (max_record_bytes); store less in the session (keep large data in your own \
         tables, under a key the session holds), or raise the limit"
    )]
    RecordTooLarge {
        /// The session name.
        session: String,
        /// The record's size as JSON, in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The session's `Set-Cookie` header is not a valid HTTP header value.
    #[error("session {session:?}: its Set-Cookie header is not a valid header value")]
    InvalidHeader {
        /// The session name.
        session: String,
    },
    /// The session asks for a backend that the config does not have.
    #[error(
        "session {session:?} uses backend {backend:?}, which is not registered: add it with \
         SessionConfig::builder().backend({backend:?}, ...)"
    )]
    UnknownBackend {
        /// The session name.
        session: String,
        /// The backend name.
        backend: String,
    },
    /// A server-side session was used where no session layer awaits its backend: on a route
    /// without the layer, in a middleware outside it, or changed after the layer saved.
    #[error(
        "session {session:?} is kept by the server-side backend {backend:?}, which needs the \
         session layer around every use: add `.layer(config.layer())` to the router, outside \
         every middleware that extracts a session"
    )]
    LayerMissing {
        /// The session name.
        session: String,
        /// The backend name.
        backend: String,
    },
    /// A backend failed to load, create, change or delete a record.
    #[error("session {session:?}: backend {backend:?} failed to {action}")]
    Backend {
        /// The session name.
        session: String,
        /// The backend name.
        backend: String,
        /// What was being done: "load the session", "save the session", ...
        action: &'static str,
        /// The backend's error.
        #[source]
        source: crate::backend::error::BackendError,
    },
    /// The record was deleted (by a logout in another request), moved to a new id (by a
    /// concurrent login) or expired between loading and saving; the changes of this request
    /// were not saved, and the session is not brought back. A client conflict, not a server
    /// failure: it answers `409 Conflict` ([`SessionError::is_conflict`]), and
    /// [`SessionLayer::on_conflict`](crate::SessionLayer::on_conflict) can answer otherwise.
    #[error(
        "session {session:?}: the record was deleted or expired while this request ran; its \
         changes were not saved"
    )]
    SessionGone {
        /// The session name.
        session: String,
    },
    /// No free session id was found after several tries, or the OS random generator failed.
    #[error("session {session:?}: could not create a record under a fresh id: {reason}")]
    NoFreshId {
        /// The session name.
        session: String,
        /// Why.
        reason: String,
    },
    /// The request already opened as many sessions as the config allows.
    #[error(
        "session {session:?}: this request already opened {limit} sessions, the most \
         max_sessions_per_request allows; choose session names from a fixed set (never from the \
         request), or raise the limit with SessionConfig::builder().max_sessions_per_request(..)"
    )]
    TooManySessions {
        /// The session that was refused.
        session: String,
        /// The limit.
        limit: usize,
    },
    /// A session kept in its cookie was asked to be tied to a user, listed or revoked: the
    /// browser holds a cookie session, so the server can neither find nor end it.
    #[error(
        "session {session:?} is kept in its cookie by backend {backend:?}, which cannot tie it to \
         a user, list or revoke it (the browser holds it): keep it in a server-side backend \
         (memory, Redis, SQL) for this"
    )]
    NotRevocable {
        /// The session name.
        session: String,
        /// The backend name.
        backend: String,
    },
    /// A user id given to [`Session::set_user_id`](crate::Session::set_user_id) is empty or
    /// longer than [`MAX_USER_ID_LEN`](crate::MAX_USER_ID_LEN) bytes.
    #[error(
        "session {session:?}: a user id must be 1 to {} bytes long, not {len}; use the user's \
         primary key rather than a name",
        crate::reserved::MAX_USER_ID_LEN
    )]
    InvalidUserId {
        /// The session name.
        session: String,
        /// The length of the id given, in bytes.
        len: usize,
    },
    /// The operating system's random generator failed (it essentially never does).
    #[error("session {session:?}: the OS random generator failed")]
    Random {
        /// The session name.
        session: String,
        /// The generator's error.
        #[source]
        source: getrandom::Error,
    },
    /// A session name or its cookie settings chosen at run time are not valid.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl SessionError {
    /// Whether this is a client conflict rather than a failure of the server: the session was
    /// deleted (a logout in another tab) or moved to a new id (a double-clicked login) while
    /// this request ran ([`SessionError::SessionGone`]). Nothing of this request was saved and
    /// the browser's cookie is left as it is; retrying the request with that cookie is safe.
    ///
    /// ```
    /// use axum_session_store::SessionError;
    ///
    /// let error = SessionError::SessionGone { session: "session".into() };
    /// assert!(error.is_conflict());
    /// assert_eq!(error.status(), axum::http::StatusCode::CONFLICT);
    /// ```
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::SessionGone { .. })
    }

    /// The status this error answers with: `409 Conflict` for a [conflict](Self::is_conflict)
    /// (the client's session changed under the request: not a failure of the server),
    /// `503 Service Unavailable` for a backend that did not answer in time
    /// ([`BackendError::is_timeout`](crate::BackendError::is_timeout): retryable), else
    /// `500 Internal Server Error`.
    ///
    /// ```
    /// use axum_session_store::SessionError;
    ///
    /// let error = SessionError::InvalidUserId { session: "session".into(), len: 0 };
    /// assert_eq!(error.status(), axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            _ if self.is_conflict() => StatusCode::CONFLICT,
            Self::Backend { source, .. } if source.is_timeout() => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for SessionError {
    /// Logs the error and answers with [`SessionError::status`] and a short body that reveals
    /// nothing about the session. A conflict is the client's race, not the server's failure:
    /// it is logged at `DEBUG`, with at most one `WARN` a minute (the same rate limit as
    /// rejected cookies); every other error at `ERROR`.
    fn into_response(self) -> Response {
        let status = self.status();
        if self.is_conflict() {
            conflict_log().conflict(&self);
            return (
                status,
                "Conflict: this session was logged out, expired or changed by another request; \
                 reload the page and try again",
            )
                .into_response();
        }
        tracing::error!(error = &self as &dyn std::error::Error, "session error");
        let body = if status == StatusCode::SERVICE_UNAVAILABLE {
            "Service Unavailable"
        } else {
            "Internal Server Error"
        };
        (status, body).into_response()
    }
}

/// The process's rate limit for logging conflicts (they arise where no config is at hand).
fn conflict_log() -> &'static RejectionLog {
    static LOG: std::sync::OnceLock<RejectionLog> = std::sync::OnceLock::new();
    LOG.get_or_init(RejectionLog::default)
}
