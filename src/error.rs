//! [`SessionError`]: what goes wrong at request time, in three kinds (a conflict, a backend
//! failure, a caller's mistake).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::config_error::ConfigError;
use crate::rejection_log::RejectionLog;

/// An error while using or saving a session: one of three kinds, each with its status.
///
/// | kind | test | variants | status |
/// | --- | --- | --- | --- |
/// | a client conflict: the session was deleted or moved under the request | [`is_conflict`](Self::is_conflict) | `SessionGone` | `409 Conflict` |
/// | a backend failure: retry later | [`is_backend`](Self::is_backend) | `Backend`, `NoFreshId`, `Random` | `503 Service Unavailable` when the backend timed out, else `500` |
/// | a caller's mistake: a programming error, whose message names the fix | neither | every other | `500 Internal Server Error` |
///
/// It implements [`IntoResponse`]: returned from a handler (or as the rejection of an
/// extractor) it logs the details with `tracing` and answers [`status`](Self::status) with a
/// short body that reveals nothing about the session.
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
    /// [`CREATED_KEY`](crate::session::CREATED_KEY)); the session is left unchanged.
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
    /// A value nests deeper than [`MAX_VALUE_DEPTH`](crate::session::MAX_VALUE_DEPTH): it could be saved
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
    /// longer than [`MAX_USER_ID_LEN`](crate::session::MAX_USER_ID_LEN) bytes.
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
        source: std::io::Error,
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

    /// Whether the server's storage failed (a backend's error or timeout, no fresh id, the OS
    /// random generator): not the caller's mistake, and a later try may succeed. An error that
    /// is neither this nor a [conflict](Self::is_conflict) is a caller's mistake.
    ///
    /// ```
    /// use axum_session_store::{BackendError, SessionError};
    ///
    /// let failed = SessionError::Backend {
    ///     session: "session".into(),
    ///     backend: "redis".into(),
    ///     action: "load the session",
    ///     source: BackendError::msg("connection refused"),
    /// };
    /// assert!(failed.is_backend() && !failed.is_conflict());
    /// let mistake = SessionError::InvalidUserId { session: "session".into(), len: 0 };
    /// assert!(!mistake.is_backend() && !mistake.is_conflict());
    /// ```
    pub fn is_backend(&self) -> bool {
        matches!(
            self,
            Self::Backend { .. } | Self::NoFreshId { .. } | Self::Random { .. }
        )
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
