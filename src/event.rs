//! Lifecycle events: what happened to a session, told to the app's [`SessionEvents`] handler
//! once it is durable, named by the session's handle, never its id or data.

use std::future::Future;

use time::OffsetDateTime;

use crate::cookie::codec::VerifyError;
use crate::handle::SessionHandle;

/// One thing that happened to a session, as [`SessionEvents::handle`] receives it.
///
/// It says which session (its name, the backend that keeps it, and the
/// [`SessionHandle`] of its record, when it has one), when, and what; never the session's id (a
/// bearer secret) or its data.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionEvent {
    /// What happened.
    pub kind: EventKind,
    /// The session's name (its cookie's name).
    pub session: String,
    /// The backend that keeps it, as errors and logs name it.
    pub backend: String,
    /// The handle of the session's record: the new one for [`EventKind::Created`] and
    /// [`EventKind::Regenerated`], the one that ended for [`EventKind::Invalidated`],
    /// [`EventKind::Revoked`] and [`EventKind::Expired`]; `None` for a cookie session or a
    /// session with no record.
    pub handle: Option<SessionHandle>,
    /// When the request that caused it began.
    pub at: OffsetDateTime,
}

/// What happened to a session. Server-side sessions report every kind; cookie sessions, which
/// the server never writes, report [`CookieRejected`](Self::CookieRejected) and
/// [`Expired`](Self::Expired).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// A record was created for the session (its first save, or the first after a logout).
    Created,
    /// The session moved to a new id ([`regenerate_id`](crate::Session::regenerate_id), a
    /// login).
    Regenerated {
        /// The handle under the old id.
        previous: SessionHandle,
    },
    /// The session was tied to a user ([`set_user_id`](crate::Session::set_user_id)); which
    /// user is the app's to log.
    UserSet,
    /// The app ended the session: [`invalidate`](crate::Session::invalidate), a logout, or a
    /// save that left nothing in it.
    Invalidated,
    /// Another of the user's sessions was logged out
    /// ([`revoke_session`](crate::Session::revoke_session)); the event's handle is the one that
    /// ended, and `by` the session that ended it.
    Revoked {
        /// The session that revoked it.
        by: Option<SessionHandle>,
    },
    /// The user's other sessions were logged out
    /// ([`revoke_other_sessions`](crate::Session::revoke_other_sessions)); the event's handle is
    /// the session that stays.
    OthersRevoked {
        /// How many ended.
        count: u64,
    },
    /// A request came with a session that had ended: past its lifetime, or its record gone
    /// (expired, or deleted by another request). A new session starts. The browser's cookie is
    /// not expired (it might be the losing click of a double-submitted login, whose winner set
    /// the cookie that counts), so a browser that keeps sending a dead cookie reports this on
    /// each request until its new session is saved.
    Expired,
    /// A request's cookie was refused, and a new session starts.
    CookieRejected {
        /// Why.
        reason: RejectionReason,
    },
    /// The session was deleted or moved to a new id while a request was using it: the
    /// request's save is refused with a 409 and writes nothing.
    Conflict,
}

impl EventKind {
    /// A short, stable name for logs and metric labels: `created`, `regenerated`, `user_set`,
    /// `invalidated`, `revoked`, `others_revoked`, `expired`, `cookie_rejected`, `conflict`.
    ///
    /// ```
    /// use axum_session_store::session::EventKind;
    /// assert_eq!(EventKind::Created.as_str(), "created");
    /// ```
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Regenerated { .. } => "regenerated",
            Self::UserSet => "user_set",
            Self::Invalidated => "invalidated",
            Self::Revoked { .. } => "revoked",
            Self::OthersRevoked { .. } => "others_revoked",
            Self::Expired => "expired",
            Self::CookieRejected { .. } => "cookie_rejected",
            Self::Conflict => "conflict",
        }
    }
}

/// Why a session cookie was refused: a few kinds, fit for a metric label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectionReason {
    /// Over [`MAX_COOKIE_VALUE_LEN`](crate::cookie::MAX_COOKIE_VALUE_LEN): not decoded.
    TooLong,
    /// Not of the shape the codec writes, or no well-formed id in it.
    Malformed,
    /// The signature or tag does not match: another key, another cookie name, a changed value.
    BadSignature,
    /// Signed longer ago than the max age allows.
    Expired,
    /// Signed further in the future than clock skew explains.
    FromTheFuture,
    /// The authenticated payload is not a JSON object.
    BadPayload,
}

impl RejectionReason {
    /// A short, stable name: `too_long`, `malformed`, `bad_signature`, `expired`,
    /// `from_the_future`, `bad_payload`.
    ///
    /// ```
    /// use axum_session_store::session::RejectionReason;
    /// assert_eq!(RejectionReason::BadSignature.as_str(), "bad_signature");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TooLong => "too_long",
            Self::Malformed => "malformed",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::FromTheFuture => "from_the_future",
            Self::BadPayload => "bad_payload",
        }
    }
}

impl From<&VerifyError> for RejectionReason {
    fn from(error: &VerifyError) -> Self {
        match error {
            VerifyError::TooLong { .. } => Self::TooLong,
            VerifyError::Malformed => Self::Malformed,
            VerifyError::BadSignature => Self::BadSignature,
            VerifyError::Expired { .. } => Self::Expired,
            VerifyError::FromTheFuture { .. } => Self::FromTheFuture,
            VerifyError::BadPayload | VerifyError::NotAnObject => Self::BadPayload,
        }
    }
}

/// What the app gives [`SessionConfigBuilder::events`](crate::SessionConfigBuilder::events) to
/// hear of sessions' lifecycles: an audit trail, a security alert, a metric of its own.
///
/// Delivery is best effort, after the fact: an event is sent only once the change it reports
/// is durable (a failed save sends none), into a bounded buffer
/// ([`event_buffer`](crate::SessionConfigBuilder::event_buffer)) that one task drains, calling
/// `handle` for one event at a time, in order. A request never waits for it: when the buffer
/// is full the event is dropped and counted
/// ([`SessionConfig::dropped_events`](crate::SessionConfig::dropped_events)), and a handler
/// that panics loses only that event.
///
/// ```
/// use axum_session_store::session::{SessionEvent, SessionEvents};
///
/// #[derive(Debug)]
/// struct AuditLog;
///
/// impl SessionEvents for AuditLog {
///     async fn handle(&self, event: SessionEvent) {
///         let handle = event.handle.map(|h| h.to_string()).unwrap_or_default();
///         println!("{} {} {} {handle}", event.at, event.session, event.kind.as_str());
///     }
/// }
///
/// let config = axum_session_store::SessionConfig::builder()
///     .secret_key("an example secret, at least 32 bytes long")
///     .events(AuditLog)
///     .build()?;
/// # Ok::<(), axum_session_store::ConfigError>(())
/// ```
pub trait SessionEvents: Send + Sync + 'static {
    /// Receives one event.
    fn handle(&self, event: SessionEvent) -> impl Future<Output = ()> + Send;
}

impl<E: SessionEvents> SessionEvents for std::sync::Arc<E> {
    fn handle(&self, event: SessionEvent) -> impl Future<Output = ()> + Send {
        (**self).handle(event)
    }
}
