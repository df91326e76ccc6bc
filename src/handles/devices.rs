//! A "where you're signed in" page: the sessions of the current user as [`Device`]s, named by
//! opaque handles, and the revocation of one of them.

use time::OffsetDateTime;

use crate::backend::UserSession;
use crate::error::SessionError;
use crate::event::EventKind;
use crate::event_sink::Emitter;
use crate::handle::{HandleKey, SessionHandle};
use crate::handles::session::Session;
use crate::metadata::StoredMetadata;

/// One signed-in session of a user, as a devices page shows it
/// ([`Session::user_sessions`]): never its id, which is a bearer secret, but a
/// [`SessionHandle`] to revoke it by.
///
/// Its times and browser are those [`Metadata`](crate::session::Metadata) records (none when
/// metadata is off, or for a session saved before it was turned on); the label is the app's
/// ([`Session::set_device_label`]).
///
/// ```
/// # use axum_session_store::{Session, SessionError};
/// async fn devices(session: Session) -> Result<String, SessionError> {
///     let mut page = String::new();
///     for device in session.user_sessions().await? {
///         let browser = device.user_agent.as_deref().unwrap_or("an unknown browser");
///         let this = if device.current { " (this device)" } else { "" };
///         page += &format!("{browser}{this}, until {}\n", device.expires_at);
///     }
///     Ok(page)
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Device {
    /// What to pass to [`Session::revoke_session`] to log this device out.
    pub handle: SessionHandle,
    /// Whether it is the session of the request that lists it.
    pub current: bool,
    /// When the session was created, where known.
    pub created: Option<OffsetDateTime>,
    /// When a request last wrote its last-seen time (at most
    /// [`last_seen_interval`](crate::session::Metadata::last_seen_interval) ago when it was
    /// active since).
    pub last_seen: Option<OffsetDateTime>,
    /// When it ends unless used again.
    pub expires_at: OffsetDateTime,
    /// Its browser's `User-Agent`, as last seen, cut to
    /// [`MAX_USER_AGENT_LEN`](crate::session::MAX_USER_AGENT_LEN) bytes.
    pub user_agent: Option<String>,
    /// Its client address, as last seen, in the form the metadata settings chose.
    pub client_address: Option<String>,
    /// The app's label for it ([`Session::set_device_label`]).
    pub label: Option<String>,
}

impl Device {
    /// The most sessions [`Session::user_sessions`] lists, and
    /// [`Session::revoke_session`] looks among: those that expire last.
    pub const LIST_LIMIT: usize = 100;

    fn new(listed: UserSession, handles: &HandleKey, current: Option<&SessionHandle>) -> Self {
        let handle = handles.handle(&listed.id);
        let stored = listed
            .metadata
            .and_then(StoredMetadata::from_owned)
            .unwrap_or_default();
        let time = |at: Option<i64>| at.and_then(|at| OffsetDateTime::from_unix_timestamp(at).ok());
        Self {
            current: current == Some(&handle),
            handle,
            created: time(stored.created),
            last_seen: time(stored.seen),
            expires_at: listed.expires_at,
            user_agent: stored.user_agent,
            client_address: stored.address,
            label: stored.label,
        }
    }
}

impl<N> Session<N> {
    /// The live sessions of this session's user, this one included once it is saved: a "where
    /// you're signed in" page. At most [`Device::LIST_LIMIT`], those that expire last first,
    /// read in one backend call (two on Redis: none per session).
    ///
    /// A session tied to no user (an anonymous visitor) has none: an empty list.
    ///
    /// # Errors
    /// [`SessionError::NotRevocable`] for a cookie session, and [`SessionError::Backend`] when
    /// the backend fails or cannot list (a Redis Cluster:
    /// [`BackendError::is_unsupported`](crate::BackendError::is_unsupported)).
    ///
    /// ```
    /// use axum::{routing::get, Router};
    /// use axum_session_store::backend::MemoryBackend;
    /// use axum_session_store::session::Metadata;
    /// use axum_session_store::{Session, SessionConfig, SessionError};
    ///
    /// async fn devices(session: Session) -> Result<String, SessionError> {
    ///     let devices = session.user_sessions().await?;
    ///     Ok(format!("signed in on {} devices", devices.len()))
    /// }
    ///
    /// # fn main() -> Result<(), axum_session_store::ConfigError> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder()
    ///     .secret_key(secret)
    ///     .default_backend(MemoryBackend::new())
    ///     .metadata(Metadata::new())
    ///     .build()?;
    /// let app: Router = Router::new()
    ///     .route("/devices", get(devices))
    ///     .layer(config.layer())
    ///     .with_state(config);
    /// # Ok(()) }
    /// ```
    pub async fn user_sessions(&self) -> Result<Vec<Device>, SessionError> {
        let listed = self.listed_sessions().await?;
        let handles = self.store.config().handles();
        let current = self.handle();
        Ok(listed
            .into_iter()
            .map(|listed| Device::new(listed, handles, current.as_ref()))
            .collect())
    }

    /// Ends the session `handle` names if it is one of this session's user's ("log out this
    /// device" on a devices page), and says whether it did. A handle of another user's session,
    /// of one that ended, or any handle when this session is tied to no user, ends nothing and
    /// answers `false`: a devices page that takes the handle from a form cannot be used to log
    /// out someone else. This session's own handle logs it out, as
    /// [`invalidate`](Self::invalidate) does: its record is deleted and its cookie expired
    /// when it is saved.
    ///
    /// # Errors
    /// As [`user_sessions`](Self::user_sessions).
    ///
    /// ```
    /// use axum::{extract::Path, routing::post, Router};
    /// use axum_session_store::backend::MemoryBackend;
    /// use axum_session_store::session::SessionHandle;
    /// use axum_session_store::{Session, SessionConfig, SessionError};
    ///
    /// async fn log_out_device(
    ///     session: Session,
    ///     Path(handle): Path<String>,
    /// ) -> Result<String, SessionError> {
    ///     let Ok(handle) = handle.parse::<SessionHandle>() else {
    ///         return Ok("no such device".into());
    ///     };
    ///     let ended = session.revoke_session(&handle).await?;
    ///     Ok(if ended { "logged out" } else { "no such device" }.into())
    /// }
    ///
    /// # fn main() -> Result<(), axum_session_store::ConfigError> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).default_backend(MemoryBackend::new()).build()?;
    /// let app: Router = Router::new()
    ///     .route("/devices/{handle}/logout", post(log_out_device))
    ///     .layer(config.layer())
    ///     .with_state(config);
    /// # Ok(()) }
    /// ```
    pub async fn revoke_session(&self, handle: &SessionHandle) -> Result<bool, SessionError> {
        if self.user_id().is_some() && self.handle().as_ref() == Some(handle) {
            // This very device: a logout, which expires its cookie too when the session is saved.
            self.invalidate();
            return Ok(true);
        }
        let handles = self.store.config().handles();
        let Some(listed) = self
            .listed_sessions()
            .await?
            .into_iter()
            .find(|listed| handles.handle(&listed.id) == *handle)
        else {
            return Ok(false);
        };
        self.server_backend()?
            .delete(&listed.id)
            .await
            .map_err(|source| self.backend_failed("revoke the session", source))?;
        let by = self.handle();
        self.emitter()
            .emit(EventKind::Revoked { by }, Some(&listed.id));
        Ok(true)
    }

    /// The handle of this session: what [`user_sessions`](Self::user_sessions) lists it under,
    /// and what logs and events may carry instead of its id. `None` for a session with no
    /// record yet (or a cookie session). It changes with the id: after
    /// [`regenerate_id`](Self::regenerate_id) or [`set_user_id`](Self::set_user_id) (a login)
    /// the new id, and so the new handle, exists only once the session is saved, so in the same
    /// request this still answers the old handle (or `None` for a session saved for the first
    /// time); the next request, and the events of the save, carry the new one.
    ///
    /// ```
    /// # use axum_session_store::Session;
    /// async fn whoami(session: Session) -> String {
    ///     match session.handle() {
    ///         Some(handle) => format!("session {handle}"),
    ///         None => "no session yet".to_owned(),
    ///     }
    /// }
    /// ```
    pub fn handle(&self) -> Option<SessionHandle> {
        let id = self.id()?;
        Some(self.store.config().handles().handle(&id))
    }

    /// Names this session's device for the devices page ("Ada's laptop"), cut to
    /// [`MAX_LABEL_LEN`](crate::session::MAX_LABEL_LEN) bytes; kept with its metadata, whether
    /// or not [`Metadata`](crate::session::Metadata) is on. It marks the session modified.
    ///
    /// # Errors
    /// [`SessionError::NotRevocable`] for a cookie session, which no devices page lists.
    ///
    /// ```
    /// # use axum_session_store::{Session, SessionError};
    /// async fn name_device(session: Session) -> Result<Session, SessionError> {
    ///     session.set_device_label("Work laptop")?;
    ///     Ok(session)
    /// }
    /// ```
    pub fn set_device_label(&self, label: &str) -> Result<(), SessionError> {
        self.server_backend()?;
        self.state.lock().set_device_label(label);
        Ok(())
    }

    /// What this session sends its lifecycle events through.
    pub(super) fn emitter(&self) -> Emitter<'_> {
        self.store
            .config()
            .emitter(self.state.profile(), self.store.now())
    }

    /// The user's sessions, as the backend lists them.
    async fn listed_sessions(&self) -> Result<Vec<UserSession>, SessionError> {
        let action = "list the user's sessions";
        let Some((index, user_id)) = self.index_and_user(action)? else {
            return Ok(Vec::new());
        };
        index
            .user_sessions(&user_id, Device::LIST_LIMIT)
            .await
            .map_err(|source| self.backend_failed(action, source))
    }
}
