//! The sessions of one user: [`Session::set_user_id`] ties a server-side session to a user, and
//! the user's other sessions can then be listed and revoked ("sign out all other devices").

use std::sync::Arc;

use crate::backend::erased::{DynBackend, DynUserIndex};
use crate::backend::error::BackendError;
use crate::config::keeper::Keeper;
use crate::error::SessionError;
use crate::handles::session::Session;
use crate::id::SessionId;
use crate::reserved::{MAX_USER_ID_LEN, USER_KEY};

/// A server-side session's backend, and the user the session is tied to.
type BackendAndUser = (Arc<dyn DynBackend>, String);

/// A server-side session's index of sessions by user, and the user the session is tied to.
type IndexAndUser = (Arc<dyn DynUserIndex>, String);

impl<N> Session<N> {
    /// Ties this server-side session to the user `user_id` at login, and gives it a new id
    /// ([`regenerate_id`](Self::regenerate_id): the session fixation defence, so that an app
    /// that forgets it is still safe), so that the user's sessions can be listed
    /// ([`user_sessions`](Self::user_sessions)) and revoked
    /// ([`revoke_session`](Self::revoke_session),
    /// [`revoke_other_sessions`](Self::revoke_other_sessions), or the backend's
    /// [`revoke_user_sessions`](crate::backend::UserIndex::revoke_user_sessions) from anywhere, after a
    /// password change say). The user id is compared byte for byte (`"alice "` is not
    /// `"alice"`). It is stored in the session under a reserved key; it marks the session
    /// modified, and [`invalidate`](Self::invalidate) unties it.
    ///
    /// # Errors
    /// [`SessionError::NotRevocable`] for a session kept in its cookie, which the server can
    /// never find again; [`SessionError::InvalidUserId`] for an empty id or one longer than
    /// [`MAX_USER_ID_LEN`] bytes. The session is left unchanged.
    ///
    /// ```
    /// use axum::{routing::post, Router};
    /// use axum_session_store::backend::MemoryBackend;
    /// use axum_session_store::{Session, SessionConfig, SessionError};
    ///
    /// async fn login(session: Session) -> Result<Session, SessionError> {
    ///     session.set_user_id("42")?; // gives the session a new id too
    ///     assert!(session.is_modified());
    ///     assert_eq!(session.user_id().as_deref(), Some("42"));
    ///     Ok(session)
    /// }
    ///
    /// # fn main() -> Result<(), axum_session_store::ConfigError> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder()
    ///     .secret_key(secret)
    ///     .default_backend(MemoryBackend::new())
    ///     .build()?;
    /// let app: Router = Router::new()
    ///     .route("/login", post(login))
    ///     .layer(config.layer())
    ///     .with_state(config);
    /// # Ok(()) }
    /// ```
    pub fn set_user_id(&self, user_id: impl Into<String>) -> Result<(), SessionError> {
        self.tie_to_user(user_id.into(), true)
    }

    /// [`set_user_id`](Self::set_user_id) without a new id. The session keeps the id it had
    /// before the login, so whoever planted or saw that id before (a cookie set by a sibling
    /// subdomain, a shared computer) is logged in as the user: session fixation. Only for
    /// a session whose id is already fresh, such as one tied to a user again after
    /// [`regenerate_id`](Self::regenerate_id) in the same request.
    ///
    /// # Errors
    /// As [`set_user_id`](Self::set_user_id).
    ///
    /// ```
    /// # use axum_session_store::{Session, SessionError};
    /// async fn switch_account(session: Session) -> Result<Session, SessionError> {
    ///     session.regenerate_id(); // the id is fresh already
    ///     session.set_user_id_risking_fixation("43")?;
    ///     Ok(session)
    /// }
    /// ```
    pub fn set_user_id_risking_fixation(
        &self,
        user_id: impl Into<String>,
    ) -> Result<(), SessionError> {
        self.tie_to_user(user_id.into(), false)
    }

    fn tie_to_user(&self, user_id: String, new_id: bool) -> Result<(), SessionError> {
        self.server_backend()?;
        if user_id.is_empty() || user_id.len() > MAX_USER_ID_LEN {
            return Err(SessionError::InvalidUserId {
                session: self.name().to_owned(),
                len: user_id.len(),
            });
        }
        let mut data = self.state.lock();
        if new_id {
            data.regenerate_id();
        }
        data.set_user_id(user_id);
        Ok(())
    }

    /// The user this session is tied to, if [`set_user_id`](Self::set_user_id) tied it.
    ///
    /// ```
    /// # use axum_session_store::Session;
    /// async fn whoami(session: Session) -> String {
    ///     session.user_id().unwrap_or_else(|| "nobody".to_owned())
    /// }
    /// ```
    pub fn user_id(&self) -> Option<String> {
        self.state.lock().meta().user_id.clone()
    }

    /// The ids of the live sessions of this session's user, this one included once it is
    /// saved: for a "your devices" page. (Show [`id`](Self::id) beside them to mark the
    /// current one.)
    ///
    /// A session tied to no user (an anonymous visitor) has none: an empty list.
    ///
    /// # Errors
    /// [`SessionError::NotRevocable`] for a cookie session, and [`SessionError::Backend`] when
    /// the backend fails or cannot list (a Redis Cluster: [`BackendError::is_unsupported`]).
    ///
    /// ```
    /// # use axum_session_store::{Session, SessionError};
    /// async fn devices(session: Session) -> Result<String, SessionError> {
    ///     let ids = session.user_sessions().await?;
    ///     Ok(format!("signed in on {} devices", ids.len()))
    /// }
    /// ```
    pub async fn user_sessions(&self) -> Result<Vec<SessionId>, SessionError> {
        let action = "list the user's sessions";
        let Some((index, user_id)) = self.index_and_user(action)? else {
            return Ok(Vec::new());
        };
        index
            .user_sessions(&user_id)
            .await
            .map_err(|source| self.backend_failed(action, source))
    }

    /// Ends every other session of this session's user, atomically, and returns how many
    /// ended: "sign out all other devices", which OWASP asks for after a password change.
    /// This session stays; a request of a revoked session that runs meanwhile cannot bring
    /// its session back.
    ///
    /// # Errors
    /// As [`user_sessions`](Self::user_sessions).
    ///
    /// ```
    /// use axum::{routing::post, Router};
    /// use axum_session_store::backend::MemoryBackend;
    /// use axum_session_store::{Session, SessionConfig, SessionError};
    ///
    /// async fn sign_out_elsewhere(session: Session) -> Result<String, SessionError> {
    ///     let ended = session.revoke_other_sessions().await?;
    ///     Ok(format!("signed out of {ended} other devices"))
    /// }
    ///
    /// # fn main() -> Result<(), axum_session_store::ConfigError> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder()
    ///     .secret_key(secret)
    ///     .default_backend(MemoryBackend::new())
    ///     .build()?;
    /// let app: Router = Router::new()
    ///     .route("/sign-out-elsewhere", post(sign_out_elsewhere))
    ///     .layer(config.layer())
    ///     .with_state(config);
    /// # Ok(()) }
    /// ```
    pub async fn revoke_other_sessions(&self) -> Result<u64, SessionError> {
        let action = "revoke the user's other sessions";
        let Some((index, user_id)) = self.index_and_user(action)? else {
            return Ok(0);
        };
        let current = self.id();
        index
            .revoke_user_sessions(&user_id, current.as_ref())
            .await
            .map_err(|source| self.backend_failed(action, source))
    }

    /// Ends the session `id` if it is one of this session's user's ("log out this device" on
    /// a devices page), and says whether it did. An id of another user's session, an unknown
    /// or expired one, or any id when this session is tied to no user, ends nothing and
    /// answers `false`: a devices page that passes the id from a form cannot be used to log
    /// out someone else. The id of this session itself logs it out, as
    /// [`invalidate`](Self::invalidate) does: its record is deleted and its cookie expired
    /// when it is saved.
    ///
    /// # Errors
    /// [`SessionError::NotRevocable`] for a cookie session, and [`SessionError::Backend`] when
    /// the backend fails.
    ///
    /// ```
    /// use axum::{extract::Path, routing::post, Router};
    /// use axum_session_store::backend::MemoryBackend;
    /// use axum_session_store::{Session, SessionConfig, SessionError, SessionId};
    ///
    /// async fn log_out_device(session: Session, Path(id): Path<String>) -> Result<String, SessionError> {
    ///     let Some(id) = SessionId::parse(&id) else { return Ok("no such device".into()) };
    ///     Ok(if session.revoke_session(&id).await? { "logged out" } else { "no such device" }.into())
    /// }
    ///
    /// # fn main() -> Result<(), axum_session_store::ConfigError> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).default_backend(MemoryBackend::new()).build()?;
    /// let app: Router = Router::new()
    ///     .route("/devices/{id}/logout", post(log_out_device))
    ///     .layer(config.layer())
    ///     .with_state(config);
    /// # Ok(()) }
    /// ```
    pub async fn revoke_session(&self, id: &SessionId) -> Result<bool, SessionError> {
        let Some((backend, user_id)) = self.backend_and_user()? else {
            return Ok(false);
        };
        if self.id().as_ref() == Some(id) {
            // This very device: a logout, which expires its cookie too when the session is saved.
            self.invalidate();
            return Ok(true);
        }
        let record = backend
            .load(id)
            .await
            .map_err(|source| self.backend_failed("load the session to revoke", source))?;
        let owned = record
            .as_ref()
            .and_then(|record| record.get(USER_KEY))
            .and_then(|user| user.as_str())
            .is_some_and(|owner| owner == user_id);
        if !owned {
            return Ok(false);
        }
        backend
            .delete(id)
            .await
            .map_err(|source| self.backend_failed("revoke the session", source))?;
        Ok(true)
    }

    /// The session's server-side backend, or the error that says a cookie session has none.
    fn server_backend(&self) -> Result<Arc<dyn DynBackend>, SessionError> {
        let profile = self.state.profile();
        match profile.keeper() {
            Keeper::Server { backend, .. } => Ok(backend.clone()),
            Keeper::Cookie(_) => Err(SessionError::NotRevocable {
                session: profile.name().to_owned(),
                backend: profile.backend_name().to_owned(),
            }),
        }
    }

    /// The backend of this server-side session and its user, if it is tied to one.
    fn backend_and_user(&self) -> Result<Option<BackendAndUser>, SessionError> {
        let backend = self.server_backend()?;
        Ok(self.user_id().map(|user_id| (backend, user_id)))
    }

    /// The user index of this server-side session's backend and its user, if it is tied to
    /// one; the error that says `action` needs an index the backend does not keep.
    fn index_and_user(&self, action: &'static str) -> Result<Option<IndexAndUser>, SessionError> {
        self.server_backend()?;
        let Some(user_id) = self.user_id() else {
            return Ok(None);
        };
        match self.state.profile().keeper() {
            Keeper::Server {
                index: Some(index), ..
            } => Ok(Some((index.clone(), user_id))),
            _ => Err(self.backend_failed(
                action,
                BackendError::unsupported(
                    "listing or revoking a user's sessions (it was registered without a \
                     UserIndex: register a backend that implements UserIndex with \
                     Storage::with_user_index)",
                ),
            )),
        }
    }

    fn backend_failed(&self, action: &'static str, source: BackendError) -> SessionError {
        let profile = self.state.profile();
        SessionError::Backend {
            session: profile.name().to_owned(),
            backend: profile.backend_name().to_owned(),
            action,
            source,
        }
    }
}
