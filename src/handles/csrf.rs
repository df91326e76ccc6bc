//! CSRF protection from the session: each session holds a secret (made on first use, rotated
//! by `regenerate_id()`, dropped by `invalidate()`), and every page gets a token masked afresh
//! from it; [`CsrfLayer`](crate::csrf::CsrfLayer) refuses unsafe requests without a valid one.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::csrf_token;
use crate::error::SessionError;
use crate::handles::session::Session;
use crate::name::DefaultSession;

/// The form field that carries the token, for `application/x-www-form-urlencoded` posts.
pub const FORM_FIELD: &str = "csrf_token";

/// The request header that carries the token, for scripts and other bodies.
pub const HEADER: &str = "x-csrf-token";

impl<N> Session<N> {
    /// Whether this session holds a CSRF secret, so that some token can pass.
    pub(crate) fn has_csrf_secret(&self) -> bool {
        self.state.lock().meta().csrf_secret.is_some()
    }

    /// Whether the request's cookie named a record that no longer exists, so that no token of
    /// it can be checked: it was deleted or moved under the request (the other click of a
    /// double-clicked login), or it expired.
    pub(crate) fn lost_its_record(&self) -> bool {
        self.state.lock().lost_record()
    }

    /// Refuses the request as a conflict: the session's save reports
    /// [`SessionError::SessionGone`], which the session layer answers (`409`, or its
    /// `on_conflict` handler); the error is returned for a caller without that layer.
    pub(crate) fn refuse_as_conflict(&self) -> SessionError {
        self.state.lock().mark_conflicted();
        SessionError::SessionGone {
            session: self.state.name().to_owned(),
        }
    }

    /// A CSRF token for this session, masked afresh on every call: put it in every form (as
    /// the field [`FORM_FIELD`]) or send it as the header [`HEADER`]. The first call
    /// gives the session its secret, which makes it modified.
    ///
    /// # Errors
    /// [`SessionError::Random`] when the OS random generator fails.
    ///
    /// ```
    /// use axum::{routing::get, Router};
    /// use axum_session_store::{Session, SessionConfig, SessionError};
    ///
    /// async fn form(session: Session) -> Result<(Session, String), SessionError> {
    ///     let token = session.csrf_token()?;
    ///     assert!(session.verify_csrf_token(&token));
    ///     Ok((session, format!(r#"<input type="hidden" name="csrf_token" value="{token}">"#)))
    /// }
    ///
    /// # fn main() -> Result<(), axum_session_store::ConfigError> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// let config = SessionConfig::builder().secret_key(secret).build()?;
    /// let app: Router = Router::new().route("/form", get(form)).with_state(config);
    /// # Ok(()) }
    /// ```
    pub fn csrf_token(&self) -> Result<String, SessionError> {
        let random = |source| SessionError::Random {
            session: self.name().to_owned(),
            source,
        };
        let mut data = self.state.lock();
        let secret = match &data.meta().csrf_secret {
            Some(secret) => secret.clone(),
            None => {
                let secret = csrf_token::new_secret().map_err(random)?;
                data.set_csrf_secret(secret.clone());
                secret
            }
        };
        csrf_token::mask(&secret).map_err(random)
    }

    /// Whether `token` is a CSRF token of this session (any masking of its secret), compared
    /// in constant time. False when the session has no secret yet.
    ///
    /// ```
    /// # use axum::extract::FromRequestParts;
    /// # use axum_session_store::{Session, SessionConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// # let config = SessionConfig::builder().secret_key(secret).build()?;
    /// # let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    /// let session: Session = Session::from_request_parts(&mut parts, &config).await?;
    /// let token = session.csrf_token()?;
    /// assert!(session.verify_csrf_token(&token));
    /// assert!(!session.verify_csrf_token("forged"));
    /// # Ok(()) }
    /// ```
    pub fn verify_csrf_token(&self, token: &str) -> bool {
        self.state
            .lock()
            .meta()
            .csrf_secret
            .as_deref()
            .is_some_and(|secret| csrf_token::verify(token, secret))
    }
}

/// A CSRF token of session `N` (default: the default session), as an extractor, to hand to a
/// template: it `Display`s and serializes as the token text, and is masked afresh for every
/// request. Pair it with [`CsrfLayer`](crate::csrf::CsrfLayer), which checks it.
///
/// It gives the session a secret if it has none (the session is then saved): use it with the
/// layer, or return the session from the handler.
///
/// ```
/// use axum::{response::Html, routing::get, Router};
/// use axum_session_store::SessionConfig;
/// use axum_session_store::csrf::{CsrfToken, FORM_FIELD};
///
/// async fn form(csrf: CsrfToken) -> Html<String> {
///     Html(format!(
///         r#"<form method="post"><input type="hidden" name="{FORM_FIELD}" value="{csrf}"><button>Go</button></form>"#
///     ))
/// }
///
/// # fn main() -> Result<(), axum_session_store::ConfigError> {
/// # let secret = "an example secret, at least 32 bytes long";
/// let config = SessionConfig::builder().secret_key(secret).build()?;
/// let app: Router = Router::new()
///     .route("/form", get(form))
///     .layer(config.layer())
///     .with_state(config);
/// # Ok(()) }
/// ```
pub struct CsrfToken<N = DefaultSession> {
    token: String,
    session: Session<N>,
}

impl<N> CsrfToken<N> {
    /// A fresh token of `session`'s secret (what the extractor does).
    ///
    /// # Errors
    /// As [`Session::csrf_token`].
    ///
    /// ```
    /// # use axum::extract::FromRequestParts;
    /// # use axum_session_store::{Session, SessionConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// # let config = SessionConfig::builder().secret_key(secret).build()?;
    /// # let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    /// let session: Session = Session::from_request_parts(&mut parts, &config).await?;
    /// use axum_session_store::csrf::CsrfToken;
    /// let token = CsrfToken::of(session.clone())?;
    /// assert!(session.verify_csrf_token(token.as_str()));
    /// # Ok(()) }
    /// ```
    pub fn of(session: Session<N>) -> Result<Self, SessionError> {
        let token = session.csrf_token()?;
        Ok(Self { token, session })
    }

    /// The token.
    ///
    /// ```
    /// # use axum::extract::FromRequestParts;
    /// # use axum_session_store::{Session, SessionConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// # let config = SessionConfig::builder().secret_key(secret).build()?;
    /// # let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    /// let session: Session = Session::from_request_parts(&mut parts, &config).await?;
    /// use axum_session_store::csrf::CsrfToken;
    /// let token = CsrfToken::of(session)?;
    /// assert!(!token.as_str().is_empty());
    /// # Ok(()) }
    /// ```
    pub fn as_str(&self) -> &str {
        &self.token
    }

    /// The session whose secret the token masks.
    ///
    /// ```
    /// # use axum::extract::FromRequestParts;
    /// # use axum_session_store::{Session, SessionConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let secret = "an example secret, at least 32 bytes long";
    /// # let config = SessionConfig::builder().secret_key(secret).build()?;
    /// # let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    /// let session: Session = Session::from_request_parts(&mut parts, &config).await?;
    /// use axum_session_store::csrf::CsrfToken;
    /// let token = CsrfToken::of(session)?;
    /// assert_eq!(token.session().name(), "session");
    /// # Ok(()) }
    /// ```
    pub fn session(&self) -> &Session<N> {
        &self.session
    }
}

impl<N> fmt::Display for CsrfToken<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.token)
    }
}

impl<N> fmt::Debug for CsrfToken<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token is harmless without the cookie, but logs need neither.
        f.debug_struct("CsrfToken")
            .field("session", &self.session.name())
            .finish_non_exhaustive()
    }
}

impl<N> Serialize for CsrfToken<N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.token)
    }
}
