//! [`Conflict`]: what [`SessionLayer::on_conflict`](crate::SessionLayer::on_conflict) hands an
//! application's own answer to a session that changed under a request.

use std::fmt;
use std::sync::Arc;

use axum::http::{Method, Uri};
use axum::response::Response;

/// A request that lost a race for its session: the session was deleted (a logout in another
/// tab) or moved to a new id (the other click of a double-clicked login) while the request
/// ran, so nothing of it was saved and the browser's cookie is left alone.
///
/// By default such a request answers `409 Conflict`; a handler given to
/// [`SessionLayer::on_conflict`](crate::SessionLayer::on_conflict) receives this instead, to
/// answer otherwise (for a login form: a redirect to where the user was going). Whatever it
/// answers, the response carries no session cookie.
///
/// ```
/// use axum::response::{IntoResponse, Redirect};
/// use axum_session_store::session::Conflict;
///
/// fn answer(conflict: Conflict) -> axum::response::Response {
///     // The other click of a double-clicked login won: the browser is logged in by now.
///     let _ = (conflict.session(), conflict.method());
///     Redirect::to(&conflict.uri().to_string()).into_response()
/// }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Conflict {
    session: String,
    method: Method,
    uri: Uri,
}

impl Conflict {
    pub(crate) fn new(session: String, method: Method, uri: Uri) -> Self {
        Self {
            session,
            method,
            uri,
        }
    }

    /// The name of the session that changed (its cookie name).
    ///
    /// ```
    /// # use axum_session_store::session::Conflict;
    /// fn is_login_session(conflict: &Conflict) -> bool {
    ///     conflict.session() == "session"
    /// }
    /// ```
    pub fn session(&self) -> &str {
        &self.session
    }

    /// The method of the request that lost the race.
    ///
    /// ```
    /// # use axum_session_store::session::Conflict;
    /// fn was_a_form_post(conflict: &Conflict) -> bool {
    ///     conflict.method() == axum::http::Method::POST
    /// }
    /// ```
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The URI of the request that lost the race, as the layer received it.
    ///
    /// ```
    /// # use axum_session_store::session::Conflict;
    /// fn path(conflict: &Conflict) -> &str {
    ///     conflict.uri().path()
    /// }
    /// ```
    pub fn uri(&self) -> &Uri {
        &self.uri
    }
}

/// An application's answer to a [`Conflict`], shared by every clone of the layer.
#[derive(Clone)]
pub(crate) struct ConflictHandler(Arc<dyn Fn(Conflict) -> Response + Send + Sync>);

impl ConflictHandler {
    pub(crate) fn new(handler: impl Fn(Conflict) -> Response + Send + Sync + 'static) -> Self {
        Self(Arc::new(handler))
    }

    pub(crate) fn answer(&self, conflict: Conflict) -> Response {
        (self.0)(conflict)
    }
}

impl fmt::Debug for ConflictHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConflictHandler")
    }
}
