//! The sessions of one user: [`Session::set_user_id`] ties a server-side session to a user, and
//! the user's other sessions can then be listed and revoked ("sign out all other devices").

use std::sync::Arc;

use crate::backend::erased::{DynBackend, DynUserIndex};
use crate::backend::error::BackendError;
use crate::config::keeper::Keeper;
use crate::error::SessionError;
use crate::event::EventKind;
use crate::handles::session::Session;
use crate::reserved::MAX_USER_ID_LEN;

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

    /// Ends every other session of this session's user, atomically, and returns how many
    /// ended: "sign out all other devices", which OWASP asks for after a password change.
    /// This session stays; a request of a revoked session that runs meanwhile cannot bring
    /// its session back. A session tied to no user ends nothing and answers 0: check
    /// [`user_id`](Self::user_id) first to answer an anonymous caller with a 401.
    ///
    /// # Errors
    /// [`SessionError::NotRevocable`] for a cookie session, and [`SessionError::Backend`] when
    /// the backend fails or cannot list (a Redis Cluster: [`BackendError::is_unsupported`]).
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
        let count = index
            .revoke_user_sessions(&user_id, current.as_ref())
            .await
            .map_err(|source| self.backend_failed(action, source))?;
        self.emitter()
            .emit(EventKind::OthersRevoked { count }, current.as_ref());
        Ok(count)
    }

    /// The session's server-side backend, or the error that says a cookie session has none.
    pub(super) fn server_backend(&self) -> Result<Arc<dyn DynBackend>, SessionError> {
        let profile = self.state.profile();
        match profile.keeper() {
            Keeper::Server { backend, .. } => Ok(backend.clone()),
            Keeper::Cookie(_) => Err(SessionError::NotRevocable {
                session: profile.name().to_owned(),
                backend: profile.backend_name().to_owned(),
            }),
        }
    }

    /// The user index of this server-side session's backend and its user, if it is tied to
    /// one; the error that says `action` needs an index the backend does not keep.
    pub(super) fn index_and_user(
        &self,
        action: &'static str,
    ) -> Result<Option<IndexAndUser>, SessionError> {
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

    pub(super) fn backend_failed(
        &self,
        action: &'static str,
        source: BackendError,
    ) -> SessionError {
        let profile = self.state.profile();
        SessionError::Backend {
            session: profile.name().to_owned(),
            backend: profile.backend_name().to_owned(),
            action,
            source,
        }
    }
}
